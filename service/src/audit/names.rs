//! What audit entries are about, by name: the log reads "You paused “Weekday class”", not
//! "reminder 12". Names are today's (a renamed reminder reads with its new name); a deleted
//! reminder or account falls back to the name its entry recorded, if any.

use std::collections::{HashMap, HashSet};

use entity::{audit_log, reminder_runs, reminders, whatsapp_accounts};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect,
    sea_query::SimpleExpr,
};

/// Names by id, of the operator's own things only.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Names {
    pub reminders: HashMap<i64, String>,
    pub accounts: HashMap<i64, String>,
    /// A run by its reminder's name as the run recorded it.
    pub runs: HashMap<i64, String>,
}

impl Names {
    /// The name of `kind` `id`, from the tables or else from the entry's own detail.
    pub fn of(&self, entry: &audit_log::Model) -> Option<String> {
        let id = entry.target_id.as_deref()?.parse::<i64>().ok()?;
        let (known, recorded) = match entry.target_type.as_deref()? {
            "reminder" => (self.reminders.get(&id), "name"),
            "account" => (self.accounts.get(&id), "label"),
            "run" => (self.runs.get(&id), "reminder"),
            _ => return None,
        };
        known.cloned().or_else(|| {
            entry
                .detail
                .as_ref()?
                .get(recorded)?
                .as_str()
                .map(str::to_owned)
        })
    }
}

/// The names `entries` need, in three queries at most.
pub async fn names(
    db: &impl ConnectionTrait,
    operator_id: i64,
    entries: &[audit_log::Model],
) -> Result<Names, DbErr> {
    let ids = |kind: &str| -> Vec<i64> {
        let ids: HashSet<i64> = entries
            .iter()
            .filter(|e| e.target_type.as_deref() == Some(kind))
            .filter_map(|e| e.target_id.as_deref()?.parse().ok())
            .collect();
        ids.into_iter().collect()
    };
    Ok(Names {
        reminders: named::<reminders::Entity>(
            db,
            ids("reminder"),
            [reminders::Column::Id, reminders::Column::Name],
            reminders::Column::OperatorId.eq(operator_id),
        )
        .await?,
        accounts: named::<whatsapp_accounts::Entity>(
            db,
            ids("account"),
            [
                whatsapp_accounts::Column::Id,
                whatsapp_accounts::Column::Label,
            ],
            whatsapp_accounts::Column::OperatorId.eq(operator_id),
        )
        .await?,
        runs: named::<reminder_runs::Entity>(
            db,
            ids("run"),
            [
                reminder_runs::Column::Id,
                reminder_runs::Column::ReminderName,
            ],
            reminder_runs::Column::OperatorId.eq(operator_id),
        )
        .await?,
    })
}

/// `[id, name]` of the rows of `E` among `ids` that `owned` keeps.
async fn named<E: EntityTrait>(
    db: &impl ConnectionTrait,
    ids: Vec<i64>,
    [id, name]: [E::Column; 2],
    owned: SimpleExpr,
) -> Result<HashMap<i64, String>, DbErr> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(E::find()
        .select_only()
        .columns([id, name])
        .filter(owned)
        .filter(id.is_in(ids))
        .into_tuple::<(i64, String)>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}

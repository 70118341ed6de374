//! An operator's account names are unique regardless of case: "Shop" and "shop" are one name,
//! as the operator reads them and as `/pair shop` finds them. Names that already differ only in
//! case are told apart first: every one after the first (by id) gets the lowest free " (2)",
//! " (3)"… suffix, kept within the 64-character limit. The unique index on `lower(label)`
//! replaces the one on `label`; PostgreSQL folds every letter there, SQLite only A–Z, so
//! `service::accounts::add` also compares Unicode-folded names inside its write transaction.

use std::collections::HashSet;

use sea_orm_migration::{
    prelude::*,
    sea_orm::{ConnectionTrait, Statement},
};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// `domain::account::LABEL_MAX_CHARS`, as it was when this migration was written.
const LABEL_MAX_CHARS: usize = 64;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let backend = manager.get_database_backend();
        let rows = db
            .query_all_raw(Statement::from_string(
                backend,
                "SELECT id, operator_id, label FROM whatsapp_accounts ORDER BY id",
            ))
            .await?;
        let mut accounts = Vec::with_capacity(rows.len());
        for row in rows {
            let id: i64 = row.try_get_by_index(0)?;
            let operator_id: i64 = row.try_get_by_index(1)?;
            let label: String = row.try_get_by_index(2)?;
            accounts.push((id, operator_id, label));
        }
        for (id, label) in renames(&accounts) {
            rename(db, backend, id, label).await?;
        }
        // The database's `lower` may fold a letter Rust's does not (PostgreSQL's "İ", say):
        // whatever it still finds alike is told apart the same way, one at a time.
        loop {
            let Some(row) = db
                .query_one_raw(Statement::from_string(
                    backend,
                    "SELECT a.id, a.operator_id, a.label FROM whatsapp_accounts a \
                     WHERE EXISTS (SELECT 1 FROM whatsapp_accounts b \
                     WHERE b.operator_id = a.operator_id AND lower(b.label) = lower(a.label) \
                     AND b.id < a.id) ORDER BY a.id",
                ))
                .await?
            else {
                break;
            };
            let id: i64 = row.try_get_by_index(0)?;
            let operator_id: i64 = row.try_get_by_index(1)?;
            let label: String = row.try_get_by_index(2)?;
            let mut n = 2;
            let free = loop {
                let candidate = suffixed(&label, n);
                let taken = db
                    .query_one_raw(Statement::from_sql_and_values(
                        backend,
                        match backend {
                            sea_orm::DbBackend::Postgres => {
                                "SELECT 1 FROM whatsapp_accounts \
                                 WHERE operator_id = $1 AND lower(label) = lower($2)"
                            }
                            _ => {
                                "SELECT 1 FROM whatsapp_accounts \
                                 WHERE operator_id = ? AND lower(label) = lower(?)"
                            }
                        },
                        [operator_id.into(), candidate.clone().into()],
                    ))
                    .await?
                    .is_some();
                if !taken {
                    break candidate;
                }
                n += 1;
            };
            rename(db, backend, id, free).await?;
        }
        db.execute_unprepared(
            "CREATE UNIQUE INDEX ux_whatsapp_accounts_label_folded \
             ON whatsapp_accounts (operator_id, lower(label))",
        )
        .await?;
        db.execute_unprepared("DROP INDEX ux_whatsapp_accounts_label")
            .await?;
        Ok(())
    }

    /// SQLite too: a crash half-way must not leave names renamed without the index.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    /// The renamed accounts keep their new names.
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("DROP INDEX ux_whatsapp_accounts_label_folded")
            .await?;
        db.execute_unprepared(
            "CREATE UNIQUE INDEX ux_whatsapp_accounts_label \
             ON whatsapp_accounts (operator_id, label)",
        )
        .await?;
        Ok(())
    }
}

async fn rename(
    db: &SchemaManagerConnection<'_>,
    backend: sea_orm::DbBackend,
    id: i64,
    label: String,
) -> Result<(), DbErr> {
    db.execute_raw(Statement::from_sql_and_values(
        backend,
        match backend {
            sea_orm::DbBackend::Postgres => "UPDATE whatsapp_accounts SET label = $1 WHERE id = $2",
            _ => "UPDATE whatsapp_accounts SET label = ? WHERE id = ?",
        },
        [label.into(), id.into()],
    ))
    .await?;
    Ok(())
}

/// The new name of every account whose name an earlier account of its operator already has,
/// regardless of case.
fn renames(accounts: &[(i64, i64, String)]) -> Vec<(i64, String)> {
    let mut taken: HashSet<(i64, String)> = accounts
        .iter()
        .map(|(_, operator_id, label)| (*operator_id, label.to_lowercase()))
        .collect();
    let mut kept = HashSet::new();
    let mut renamed = Vec::new();
    for (id, operator_id, label) in accounts {
        if kept.insert((*operator_id, label.to_lowercase())) {
            continue;
        }
        let free = (2..)
            .map(|n| suffixed(label, n))
            .find(|name| !taken.contains(&(*operator_id, name.to_lowercase())))
            .expect("some suffix is free");
        taken.insert((*operator_id, free.to_lowercase()));
        kept.insert((*operator_id, free.to_lowercase()));
        renamed.push((*id, free));
    }
    renamed
}

/// `label (n)`, the label shortened so the whole stays within the limit.
fn suffixed(label: &str, n: u32) -> String {
    let suffix = format!(" ({n})");
    let room = LABEL_MAX_CHARS - suffix.chars().count();
    let base: String = label.chars().take(room).collect();
    format!("{}{suffix}", base.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_names_that_differ_only_in_case_get_the_lowest_free_suffix() {
        let long = "x".repeat(64);
        let accounts = vec![
            (1, 1, "Shop".to_owned()),
            (2, 1, "shop".to_owned()),
            (3, 1, "Shop (2)".to_owned()),
            (4, 1, "SHOP".to_owned()),
            (5, 2, "shop".to_owned()),
            (6, 1, "Ärger".to_owned()),
            (7, 1, "ärger".to_owned()),
            (8, 1, long.clone()),
            (9, 1, long.to_uppercase()),
        ];
        assert_eq!(
            renames(&accounts),
            [
                (2, "shop (3)".to_owned()),
                (4, "SHOP (4)".to_owned()),
                (7, "ärger (2)".to_owned()),
                (9, format!("{} (2)", "X".repeat(60))),
            ]
        );
    }
}

//! The operator's WhatsApp accounts: list, add, pair, unpair, sync, send a test, delete. Each
//! function touches only the caller's own accounts; an id that is missing or belongs to someone
//! else answers "No such account." either way, so ids reveal nothing about other operators.
//! Changes that need the worker queue a command; its outcome arrives on the live event stream.

use leptos::prelude::*;

use super::AppError;
use crate::wire::{AccountDetail, AccountView};

/// The longest test message, in characters (WhatsApp's own limit is far higher; this keeps
/// a test a test).
pub const TEST_TEXT_MAX_CHARS: usize = 4096;

#[server(endpoint = "list_accounts")]
pub async fn list_accounts() -> Result<Vec<AccountView>, AppError> {
    let (state, me) = super::caller::context().await?;
    let rows = service::accounts::list(&state.db, me.id).await?;
    Ok(rows.into_iter().map(ssr::account_view).collect())
}

/// Adds an unpaired account on the server's configured provider.
#[server(endpoint = "add_account")]
pub async fn add_account(label: String) -> Result<AccountView, AppError> {
    let (state, me) = super::caller::context().await?;
    let label = domain::account::AccountLabel::parse(&label).map_err(|e| {
        super::caller::refuse(crate::components::feedback::sentence(&e.to_string()))
    })?;
    let added = service::accounts::add(
        &state.db,
        service::audit::Actor::Operator,
        me.id,
        &label,
        state.config.wa_provider,
    )
    .await;
    match added {
        Ok(row) => Ok(ssr::account_view(row)),
        Err(service::accounts::AddError::Taken(name)) => Err(super::caller::refuse(format!(
            "You already have an account called “{name}”."
        ))),
        Err(service::accounts::AddError::Db(e)) => Err(super::caller::internal(e)),
    }
}

// `name`: the default struct name would be `AccountDetail`, the DTO's name.
#[server(name = LoadAccountDetail, endpoint = "account_detail")]
pub async fn account_detail(id: i64) -> Result<AccountDetail, AppError> {
    use domain::pairing::Phase;
    use service::bus::events;

    use crate::wire::{DeleteImpactView, PairingView};

    let (state, me) = super::caller::context().await?;
    let db = &state.db;
    // The cursor is read before anything else: every event up to it is reflected below, and
    // the page's live stream starts after it, so nothing falls between the two.
    let cursor = events::latest_id(db).await?;
    let account = ssr::own_account(&state, &me, id).await?;
    let groups = service::accounts::groups(db, id).await?;
    let impact = service::accounts::delete_impact(db, id).await?;
    // An event newer than the cursor arrives over the stream, so it is left out here.
    let phase = events::current_pairing(db, id)
        .await?
        .iter()
        .take_while(|stored| stored.id <= cursor)
        .fold(Phase::Idle, |phase, stored| phase.apply(&stored.event));
    Ok(AccountDetail {
        account,
        groups: groups.into_iter().map(ssr::group_view).collect(),
        impact: DeleteImpactView {
            groups: impact.groups,
            reminders: impact.reminders,
        },
        pairing: PairingView {
            phase,
            event_id: cursor,
        },
    })
}

/// Starts a fresh pairing (or a re-pairing of a linked account): QR codes follow as events.
#[server(endpoint = "pair_account")]
pub async fn pair_account(id: i64) -> Result<(), AppError> {
    let (state, me) = super::caller::context().await?;
    ssr::request(
        &state,
        &me,
        domain::bus::Command::Pair {
            account_id: id,
            phone: None,
        },
    )
    .await
}

/// Reads the phone number to pair by code, or says what is wrong with it as the field's error.
/// The dialog checks with it before asking; [`pair_account_by_code`] checks again.
pub fn pair_phone(raw: &str) -> Result<domain::account::PhoneNumber, String> {
    if raw.trim().is_empty() {
        return Err("Enter the number of the phone to link.".to_owned());
    }
    domain::account::PhoneNumber::parse(raw).map_err(|_| {
        "Enter the number in international form, with its country code: +44 7700 900123, \
         for example."
            .to_owned()
    })
}

/// Starts a fresh pairing by phone number: WhatsApp gives a code to type on that phone
/// (`session.pair_code`), while QR codes rotate beside it as usual.
#[server(endpoint = "pair_account_by_code")]
pub async fn pair_account_by_code(id: i64, phone: String) -> Result<(), AppError> {
    let (state, me) = super::caller::context().await?;
    let phone = pair_phone(&phone).map_err(super::caller::refuse)?;
    ssr::request(
        &state,
        &me,
        domain::bus::Command::Pair {
            account_id: id,
            phone: Some(phone),
        },
    )
    .await
}

/// Logs the linked device out on WhatsApp's side; the account, its groups and reminders stay.
#[server(endpoint = "unpair_account")]
pub async fn unpair_account(id: i64) -> Result<(), AppError> {
    use domain::status::AccountStatus;

    let (state, me) = super::caller::context().await?;
    let account = ssr::own_account(&state, &me, id).await?;
    if account.status == AccountStatus::Unpaired {
        return Err(super::caller::refuse(
            "This account is not linked to a phone, so there is nothing to unpair.",
        ));
    }
    ssr::request(&state, &me, domain::bus::Command::Unpair { account_id: id }).await
}

/// Asks the worker to fetch the account's groups from the phone now.
#[server(endpoint = "sync_groups")]
pub async fn sync_groups(id: i64) -> Result<(), AppError> {
    use domain::status::AccountStatus;

    let (state, me) = super::caller::context().await?;
    let account = ssr::own_account(&state, &me, id).await?;
    if account.status != AccountStatus::Connected {
        return Err(super::caller::refuse(
            "Groups can only be synced while the account is connected.",
        ));
    }
    ssr::request(
        &state,
        &me,
        domain::bus::Command::SyncGroups { account_id: id },
    )
    .await
}

/// Deletes the account with its groups and reminders (run history stays); the worker logs the
/// linked device out.
#[server(endpoint = "delete_account")]
pub async fn delete_account(id: i64) -> Result<(), AppError> {
    let (state, me) = super::caller::context().await?;
    let deleted =
        service::accounts::delete(&state.db, service::audit::Actor::Operator, me.id, id).await?;
    if deleted {
        Ok(())
    } else {
        Err(ssr::no_such_account())
    }
}

/// Simulated accounts only: the "phone" scans the QR code showing now. `phone` (any common
/// spelling of an international number) overrides the simulator's own number.
#[server(endpoint = "simulate_scan")]
pub async fn simulate_scan(id: i64, phone: Option<String>) -> Result<(), AppError> {
    use domain::{account::PhoneNumber, status::Provider};

    let (state, me) = super::caller::context().await?;
    let account = ssr::own_account(&state, &me, id).await?;
    if account.provider != Provider::Sim {
        return Err(super::caller::refuse(
            "Only simulated accounts can simulate a scan; scan the code with a real phone instead.",
        ));
    }
    let phone = match phone.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw) => Some(
            PhoneNumber::parse(raw)
                .map_err(|e| super::caller::refuse(e.to_string()))?
                .digits()
                .to_owned(),
        ),
    };
    ssr::request(
        &state,
        &me,
        domain::bus::Command::SimScan {
            account_id: id,
            phone,
        },
    )
    .await
}

/// Sends `text` to one of the account's current groups now. Returns the request id that the
/// `send_test.done` event carries back with the outcome.
#[server(endpoint = "send_test")]
pub async fn send_test(account_id: i64, group_id: i64, text: String) -> Result<String, AppError> {
    let (state, me) = super::caller::context().await?;
    ssr::own_account(&state, &me, account_id).await?;
    let group = service::accounts::group(&state.db, account_id, group_id)
        .await?
        .ok_or_else(|| super::caller::refuse("No such group on this account."))?;
    if group.archived_at.is_some() {
        return Err(super::caller::refuse(format!(
            "“{}” is archived: the account is no longer in that group.",
            group.name
        )));
    }
    if text.trim().is_empty() {
        return Err(super::caller::refuse("Write the message to send."));
    }
    let chars = text.chars().count();
    if chars > TEST_TEXT_MAX_CHARS {
        return Err(super::caller::refuse(format!(
            "Keep the message to {TEST_TEXT_MAX_CHARS} characters (this one has {chars})."
        )));
    }
    let request_id = uuid::Uuid::new_v4().to_string();
    ssr::request(
        &state,
        &me,
        domain::bus::Command::SendTest {
            account_id,
            group_id,
            request_id: request_id.clone(),
            text,
        },
    )
    .await?;
    Ok(request_id)
}

#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    use sea_orm::prelude::DateTimeUtc;

    use crate::{
        functions::AppError,
        state::{AppState, CurrentOperator},
        wire::{AccountView, GroupView},
    };

    /// The one answer for a missing account and for someone else's.
    pub fn no_such_account() -> AppError {
        crate::functions::caller::refuse("No such account.")
    }

    /// UTC to the minute, as every page shows times.
    pub fn minute(at: &DateTimeUtc) -> String {
        at.format("%Y-%m-%d %H:%M").to_string()
    }

    /// How the pages show an account row.
    pub fn account_view(row: entity::whatsapp_accounts::Model) -> AccountView {
        AccountView {
            id: row.id,
            label: row.label,
            provider: row.provider,
            status: row.status,
            status_reason: row.status_reason,
            phone: row.phone_number.map(|digits| format!("+{digits}")),
            last_seen_at: row.last_seen_at.as_ref().map(minute),
            last_connected_at: row.last_connected_at.as_ref().map(minute),
            created_at: minute(&row.created_at),
        }
    }

    /// How the pages show a group row.
    pub fn group_view(row: entity::whatsapp_groups::Model) -> GroupView {
        GroupView {
            id: row.id,
            name: row.name,
            participants: u32::try_from(row.participant_count).unwrap_or_default(),
            archived: row.archived_at.is_some(),
            last_synced_at: minute(&row.last_synced_at),
        }
    }

    /// One of the caller's accounts; "No such account." for anyone else's.
    pub async fn own_account(
        state: &AppState,
        me: &CurrentOperator,
        id: i64,
    ) -> Result<AccountView, AppError> {
        let row = service::accounts::find(&state.db, me.id, id)
            .await?
            .ok_or_else(no_such_account)?;
        Ok(account_view(row))
    }

    /// Queues `command` for one of the caller's accounts.
    pub async fn request(
        state: &AppState,
        me: &CurrentOperator,
        command: domain::bus::Command,
    ) -> Result<(), AppError> {
        service::accounts::request(&state.db, service::audit::Actor::Operator, me.id, &command)
            .await?
            .map(|_| ())
            .ok_or_else(no_such_account)
    }
}

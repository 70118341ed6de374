//! The command router: claims commands from the bus and hands them, one at a time and in order,
//! to delivery or to the session manager. It claims only the commands of accounts this worker
//! holds the lease of (the condition is part of the claim's UPDATE, so it fences it too): an
//! account's commands run where its session runs.

use std::time::Duration;

use std::sync::Arc;

use domain::bus::Command;
use entity::commands as command_rows;
use sea_orm::{ColumnTrait, Condition, DatabaseConnection};
use service::{
    bus::{self, commands, wake::Waker},
    leases::{self, MAINTENANCE},
};
use tokio::sync::watch;

use crate::{delivery::Delivery, leases::Leases, sessions::SessionsHandle};

/// How often old events and finished commands are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Orphaned claims are looked for every this many heartbeats (the worker's start looks once).
const RELEASE_EVERY_BEATS: u64 = 3;

/// Puts back in line the commands a stopped worker left claimed. `alone` says this worker holds
/// the database (SQLite's lock): then nobody else's claim can be alive, and every one goes back.
pub async fn release_left(db: &DatabaseConnection, alone: bool) -> Result<(), sea_orm::DbErr> {
    let orphaned_after = if alone {
        Duration::ZERO
    } else {
        commands::ORPHANED_AFTER
    };
    let released = commands::release_abandoned(db, orphaned_after).await?;
    if released > 0 {
        tracing::warn!(
            commands = released,
            "re-queued commands left running by a previous run"
        );
    }
    Ok(())
}

/// Runs until `stop` turns true (after the command in hand, if any). The leases' instance names
/// this worker in `commands.claimed_by`: it is this process's alone (a restarted container has
/// the same pid), so it never keeps a dead predecessor's claims alive.
pub async fn run(
    db: DatabaseConnection,
    sessions: SessionsHandle,
    delivery: Arc<Delivery>,
    waker: Waker,
    leases: Leases,
    stop: watch::Receiver<bool>,
) {
    let claimer = leases.instance().to_owned();
    let _keeper = Keeper(tokio::spawn(keep_claims(db.clone(), claimer.clone())));
    consume(db, sessions, delivery, waker, leases, stop).await;
}

/// Stops renewing the claims however the consumer ends, a panic included: claims nobody works
/// on must not look alive.
struct Keeper(tokio::task::JoinHandle<()>);

impl Drop for Keeper {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Renews this worker's claims every [`commands::HEARTBEAT`], and now and then releases the
/// claims of workers that are gone: a peer that died, or the process this one replaced, whose
/// claims still looked alive when it started.
async fn keep_claims(db: DatabaseConnection, claimer: String) {
    let mut beat = tokio::time::interval(commands::HEARTBEAT);
    beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for n in 0u64.. {
        beat.tick().await;
        if let Err(e) = commands::heartbeat(&db, &claimer).await {
            tracing::warn!(error = %e, "renewing this worker's command claims failed");
        }
        if n % RELEASE_EVERY_BEATS == RELEASE_EVERY_BEATS - 1 {
            match commands::release_abandoned(&db, commands::ORPHANED_AFTER).await {
                Ok(0) => {}
                Ok(released) => {
                    tracing::warn!(
                        commands = released,
                        "re-queued commands a stopped worker left"
                    );
                }
                Err(e) => tracing::warn!(error = %e, "releasing orphaned commands failed"),
            }
        }
    }
}

async fn consume(
    db: DatabaseConnection,
    sessions: SessionsHandle,
    delivery: Arc<Delivery>,
    mut waker: Waker,
    leases: Leases,
    mut stop: watch::Receiver<bool>,
) {
    let claimer = leases.instance().to_owned();
    let mut held = leases.subscribe();
    let mut last_prune: Option<tokio::time::Instant> = None;
    loop {
        if *stop.borrow() {
            return;
        }
        let maintains = held.borrow().singletons.contains_key(MAINTENANCE);
        if maintains && last_prune.is_none_or(|t| t.elapsed() >= PRUNE_EVERY) {
            last_prune = Some(tokio::time::Instant::now());
            match bus::prune(&db).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(rows = n, "pruned old events and commands"),
                Err(e) => tracing::warn!(error = %e, "pruning the bus failed"),
            }
        }
        // Accounts this worker runs, by its own word and by the rows' (a lease it is letting
        // go of is out of the first, one a successor took out of the second). Every command
        // names its account.
        let mine = Condition::all()
            .add(command_rows::Column::AccountId.is_in(leases.accounts()))
            .add(leases::held_by(
                &claimer,
                command_rows::Column::AccountId,
                command_rows::Entity,
                db.get_database_backend(),
            ));
        match commands::claim_next(&db, &claimer, mine).await {
            Ok(Some(claimed)) => {
                tracing::debug!(id = claimed.id, command = ?claimed.command, "running command");
                let account_id = claimed.command.account_id();
                let outcome = match claimed.command {
                    command @ (Command::ReminderChanged { .. }
                    | Command::ResumeRun { .. }
                    | Command::CancelRun { .. }
                    | Command::RetryRun { .. }) => delivery.execute(command).await,
                    command => sessions.execute(claimed.id, command).await,
                };
                // The account went to another worker meanwhile: what this one did may not have
                // been recorded (its writes are fenced), so the new holder runs it again — a
                // command is safe to run twice (what it sends is named after its row).
                let result = if leases.holds(account_id) {
                    commands::finish(&db, claimed.id, &claimer, outcome).await
                } else {
                    tracing::warn!(
                        id = claimed.id,
                        account_id,
                        "the account went elsewhere mid-command; handed on"
                    );
                    commands::unclaim(&db, claimed.id, &claimer).await
                };
                if let Err(e) = result {
                    tracing::error!(id = claimed.id, error = %e, "recording a command's outcome failed");
                }
            }
            Ok(None) => {
                tokio::select! {
                    // A new command may name an account nobody holds yet: the keeper looks.
                    _ = waker.wait() => leases.wake(),
                    _ = held.changed() => {}
                    _ = stop.changed() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "claiming a command failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

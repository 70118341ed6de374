//! Claims commands from the bus and hands them, one at a time and in order, to delivery or to the
//! session manager.

use std::time::Duration;

use std::sync::Arc;

use domain::bus::Command;
use sea_orm::DatabaseConnection;
use service::bus::{self, commands, wake::Waker};
use tokio::sync::watch;

use super::SessionsHandle;
use crate::delivery::Delivery;

/// How often old events and finished commands are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Runs until `stop` turns true (after the command in hand, if any). `claimer` names this
/// worker in `commands.claimed_by`.
pub async fn run(
    db: DatabaseConnection,
    sessions: SessionsHandle,
    delivery: Arc<Delivery>,
    mut waker: Waker,
    claimer: String,
    mut stop: watch::Receiver<bool>,
) {
    let mut last_prune: Option<tokio::time::Instant> = None;
    loop {
        if *stop.borrow() {
            return;
        }
        if last_prune.is_none_or(|t| t.elapsed() >= PRUNE_EVERY) {
            last_prune = Some(tokio::time::Instant::now());
            match bus::prune(&db).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(rows = n, "pruned old events and commands"),
                Err(e) => tracing::warn!(error = %e, "pruning the bus failed"),
            }
        }
        match commands::claim_next(&db, &claimer).await {
            Ok(Some(claimed)) => {
                tracing::debug!(id = claimed.id, command = ?claimed.command, "running command");
                let outcome = match claimed.command {
                    command @ (Command::ReminderChanged { .. }
                    | Command::ResumeRun { .. }
                    | Command::CancelRun { .. }) => delivery.execute(command).await,
                    command => sessions.execute(command).await,
                };
                if let Err(e) = commands::finish(&db, claimed.id, outcome).await {
                    tracing::error!(id = claimed.id, error = %e, "recording a command's outcome failed");
                }
            }
            Ok(None) => {
                tokio::select! {
                    _ = waker.wait() => {}
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

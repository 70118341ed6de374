//! Wake-ups: on PostgreSQL a `NOTIFY` sent with the row's transaction wakes listeners at once; on
//! SQLite, which has no notifications, waiters poll. Either way the rows are the truth: a waiter
//! re-reads the table after every wake-up, and a missed notification only costs one poll period.

use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement};
use tokio::sync::watch;

/// How often SQLite waiters poll.
pub const SQLITE_POLL: Duration = Duration::from_millis(200);
/// On PostgreSQL, a re-read at least this often, in case the listener connection was lost.
const PG_FALLBACK_POLL: Duration = Duration::from_secs(5);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Topic {
    Commands,
    Events,
    /// The job queue (`fang_tasks`).
    Jobs,
}

impl Topic {
    fn channel(self) -> &'static str {
        match self {
            Topic::Commands => "herald_commands",
            Topic::Events => "herald_events",
            Topic::Jobs => "herald_jobs",
        }
    }
}

/// Sends the topic's notification; inside a transaction it is delivered at COMMIT.
pub async fn notify(db: &impl ConnectionTrait, topic: Topic) -> Result<(), DbErr> {
    if db.get_database_backend() == DbBackend::Postgres {
        db.execute_raw(Statement::from_string(
            DbBackend::Postgres,
            format!("NOTIFY {}", topic.channel()),
        ))
        .await?;
    }
    Ok(())
}

/// Waits for "maybe something new" on one topic. Cheap to clone: one listener per process.
pub struct Waker {
    notified: Option<watch::Receiver<u64>>,
}

/// A clone waits for notifications from now on: one sent before it existed is not news to it
/// (otherwise a clone taken per wait would never wait again once any notification came).
impl Clone for Waker {
    fn clone(&self) -> Self {
        let notified = self.notified.clone().map(|mut rx| {
            rx.mark_unchanged();
            rx
        });
        Self { notified }
    }
}

impl Waker {
    /// On PostgreSQL, starts a listener task for `topic`; on SQLite, waiting is a poll period.
    pub async fn start(db: &DatabaseConnection, topic: Topic) -> Result<Self, DbErr> {
        if db.get_database_backend() != DbBackend::Postgres {
            return Ok(Self { notified: None });
        }
        let pool = db.get_postgres_connection_pool().clone();
        let mut listener = sea_orm::sqlx::postgres::PgListener::connect_with(&pool)
            .await
            .map_err(|e| DbErr::Custom(format!("LISTEN {}: {e}", topic.channel())))?;
        listener
            .listen(topic.channel())
            .await
            .map_err(|e| DbErr::Custom(format!("LISTEN {}: {e}", topic.channel())))?;
        let (tx, rx) = watch::channel(0u64);
        tokio::spawn(async move {
            loop {
                // `recv` reconnects by itself after a lost connection.
                match listener.recv().await {
                    Ok(_) => {
                        tx.send_modify(|n| *n = n.wrapping_add(1));
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "notification listener failed; retrying");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
                if tx.is_closed() {
                    break;
                }
            }
        });
        Ok(Self { notified: Some(rx) })
    }

    /// Returns after a notification, or after a poll period, whichever comes first.
    pub async fn wait(&mut self) {
        match &mut self.notified {
            None => tokio::time::sleep(SQLITE_POLL).await,
            Some(rx) => {
                let _ = tokio::time::timeout(PG_FALLBACK_POLL, rx.changed()).await;
            }
        }
    }
}

//! Initial schema: Herald's tables, built portably, plus fang's task table in raw SQL.

use sea_orm_migration::sea_orm::DbBackend;
use sea_orm_migration::{prelude::*, schema::*};

use ForeignKeyAction::{Cascade, NoAction, SetNull};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in tables() {
            manager.create_table(table).await?;
        }
        for index in indexes() {
            manager.create_index(index).await?;
        }
        run_all(manager, fang_up(manager.get_database_backend())?).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_all(manager, fang_down(manager.get_database_backend())?).await?;
        // Children before parents; indexes go with their tables.
        for table in tables().iter().rev() {
            let name = table
                .get_table_name()
                .expect("every table is named")
                .clone();
            manager
                .drop_table(Table::drop().table(name).if_exists().take())
                .await?;
        }
        Ok(())
    }
}

/// Herald's tables, parents before children.
fn tables() -> Vec<TableCreateStatement> {
    vec![
        create("operators")
            .col(big_pk_auto("id"))
            // NULL for the local operator of embedded mode, who has no Telegram identity.
            .col(big_integer_null("telegram_user_id"))
            .col(string_len("display_name", 128))
            .col(string_len("timezone", 64))
            .col(ts_null("disabled_at"))
            .col(ts("created_at"))
            .col(ts("updated_at"))
            .finish(),
        create("whatsapp_accounts")
            .col(big_pk_auto("id"))
            .col(big_integer("operator_id"))
            .col(string_len("label", 64))
            .col(status("provider"))
            .col(status("status").default("unpaired"))
            .col(text_null("status_reason"))
            .col(big_integer("session_generation").default(0))
            .col(string_len_null("phone_number", 32))
            .col(ts_null("last_connected_at"))
            .col(ts_null("last_seen_at"))
            .col(blob_null("last_qr_png"))
            .col(ts_null("last_qr_at"))
            .col(ts("created_at"))
            .col(ts("updated_at"))
            .fk("operator_id", "operators", Cascade)
            .finish(),
        create("whatsapp_groups")
            .col(big_pk_auto("id"))
            .col(big_integer("account_id"))
            .col(string_len("jid", 128))
            .col(string_len("name", 256))
            .col(integer("participant_count").default(0))
            .col(ts_null("archived_at"))
            .col(ts("last_synced_at"))
            .col(ts("created_at"))
            .col(ts("updated_at"))
            .fk("account_id", "whatsapp_accounts", Cascade)
            .finish(),
        create("media_files")
            .col(big_pk_auto("id"))
            .col(big_integer("operator_id"))
            .col(string_len("sha256", 64))
            .col(status("kind"))
            .col(string_len("mime_type", 128))
            .col(string_len("original_name", 256))
            // Relative to DATA_DIR so the data directory can move.
            .col(string_len("storage_path", 512))
            .col(big_integer("size_bytes"))
            .col(ts("created_at"))
            .fk("operator_id", "operators", Cascade)
            .finish(),
        create("reminders")
            .col(big_pk_auto("id"))
            .col(big_integer("operator_id"))
            .col(big_integer("account_id"))
            .col(string_len("name", 128))
            .col(string_len("timezone", 64))
            .col(status("status").default("active"))
            // First occurrence as a UTC instant.
            .col(ts("dtstart"))
            // RRULE body without DTSTART; NULL for a one-off.
            .col(text_null("rrule"))
            .col(small_integer_null("send_window_end_hour"))
            .col(ts_null("next_fire_at"))
            .col(ts_null("last_fired_at"))
            .col(ts("created_at"))
            .col(ts("updated_at"))
            .fk("operator_id", "operators", Cascade)
            .fk("account_id", "whatsapp_accounts", Cascade)
            .finish(),
        create("reminder_targets")
            .col(big_pk_auto("id"))
            .col(big_integer("reminder_id"))
            .col(big_integer("group_id"))
            .col(integer("position"))
            .fk("reminder_id", "reminders", Cascade)
            .fk("group_id", "whatsapp_groups", Cascade)
            .finish(),
        create("reminder_messages")
            .col(big_pk_auto("id"))
            .col(big_integer("reminder_id"))
            .col(integer("position"))
            .col(status("kind"))
            // The text, or the caption of a media part.
            .col(text_null("body"))
            .col(big_integer_null("media_file_id"))
            .fk("reminder_id", "reminders", Cascade)
            // A file still used by a reminder must not vanish under it. NO ACTION rather than
            // RESTRICT: both refuse the delete, but SQLite reports a RESTRICT violation as
            // SQLITE_CONSTRAINT_TRIGGER (1811), which `DbErr::sql_err()` does not recognise as a
            // foreign key violation; NO ACTION gives 787 / 23503 on both backends.
            .fk("media_file_id", "media_files", NoAction)
            .finish(),
        // History: snapshots names so it outlives the reminder, account and groups.
        create("reminder_runs")
            .col(big_pk_auto("id"))
            .col(big_integer_null("reminder_id"))
            .col(string_len("reminder_name", 128))
            .col(big_integer_null("account_id"))
            .col(ts("occurrence_at"))
            .col(status("status"))
            .col(text_null("reason"))
            .col(ts_null("started_at"))
            .col(ts_null("finished_at"))
            .col(ts("created_at"))
            .fk("reminder_id", "reminders", SetNull)
            .fk("account_id", "whatsapp_accounts", SetNull)
            .finish(),
        create("reminder_run_targets")
            .col(big_pk_auto("id"))
            .col(big_integer("run_id"))
            .col(big_integer_null("group_id"))
            .col(string_len("group_jid", 128))
            .col(string_len("group_name", 256))
            .col(status("status").default("pending"))
            .col(text_null("reason"))
            .col(string_len_null("wa_message_id", 128))
            .col(big_integer_null("latency_ms"))
            .col(integer("attempts").default(0))
            .col(ts_null("next_attempt_at"))
            .col(ts_null("sent_at"))
            .col(ts("created_at"))
            .col(ts("updated_at"))
            .fk("run_id", "reminder_runs", Cascade)
            .fk("group_id", "whatsapp_groups", SetNull)
            .finish(),
        // Append-only, hence no updated_at.
        create("audit_log")
            .col(big_pk_auto("id"))
            .col(ts("at"))
            .col(big_integer_null("operator_id"))
            .col(string_len("actor", 32))
            .col(string_len("action", 64))
            .col(string_len_null("target_type", 32))
            .col(string_len_null("target_id", 64))
            .col(json_binary_null("detail"))
            .col(string_len_null("client_ip", 64))
            .fk("operator_id", "operators", SetNull)
            .finish(),
        // Keyed by the tower-sessions id; operator_id is NULL before login.
        create("auth_sessions")
            .col(string_len("id", 128).primary_key())
            .col(big_integer_null("operator_id"))
            .col(blob("data"))
            .col(ts("expires_at"))
            .col(ts("created_at"))
            .col(ts("last_seen_at"))
            .col(string_len_null("user_agent", 512))
            .fk("operator_id", "operators", Cascade)
            .finish(),
        create("login_tokens")
            .col(big_pk_auto("id"))
            .col(big_integer("operator_id"))
            // Hex SHA-256 of the token: a leaked database must not yield usable links.
            .col(string_len("token_hash", 64))
            .col(ts("expires_at"))
            .col(ts_null("used_at"))
            .col(ts("created_at"))
            .fk("operator_id", "operators", Cascade)
            .finish(),
        // Server→worker outbox. No foreign key: an account.delete command outlives its row.
        create("commands")
            .col(big_pk_auto("id"))
            .col(string_len("kind", 32))
            .col(big_integer_null("account_id"))
            .col(json_binary("payload"))
            .col(status("status").default("pending"))
            .col(text_null("error"))
            .col(string_len_null("claimed_by", 128))
            .col(ts_null("claimed_at"))
            .col(ts_null("finished_at"))
            .col(ts("created_at"))
            .finish(),
        // Worker→server outbox; `id` is the SSE event id, so it must only grow: AUTOINCREMENT on
        // SQLite never reuses ids, an identity column on PostgreSQL never goes back (but takes
        // ids at INSERT, so concurrent writers may commit them out of order). No foreign keys:
        // events outlive the rows they mention.
        create("events")
            .col(big_pk_auto("id"))
            .col(string_len("kind", 32))
            .col(big_integer_null("operator_id"))
            .col(big_integer_null("account_id"))
            .col(json_binary("payload"))
            .col(ts("created_at"))
            .finish(),
    ]
}

fn indexes() -> Vec<IndexCreateStatement> {
    vec![
        unique(
            "ux_operators_telegram_user_id",
            "operators",
            &["telegram_user_id"],
        ),
        unique(
            "ux_whatsapp_accounts_label",
            "whatsapp_accounts",
            &["operator_id", "label"],
        ),
        index(
            "ix_whatsapp_accounts_status",
            "whatsapp_accounts",
            &["status"],
        ),
        unique(
            "ux_whatsapp_groups_jid",
            "whatsapp_groups",
            &["account_id", "jid"],
        ),
        unique(
            "ux_media_files_sha256",
            "media_files",
            &["operator_id", "sha256"],
        ),
        index("ix_reminders_due", "reminders", &["status", "next_fire_at"]),
        unique(
            "ux_reminder_targets_group",
            "reminder_targets",
            &["reminder_id", "group_id"],
        ),
        unique(
            "ux_reminder_messages_position",
            "reminder_messages",
            &["reminder_id", "position"],
        ),
        // Makes firing an occurrence idempotent: a second scheduler pass cannot double-send.
        unique(
            "ux_reminder_runs_occurrence",
            "reminder_runs",
            &["reminder_id", "occurrence_at"],
        ),
        index(
            "ix_reminder_runs_created_at",
            "reminder_runs",
            &["created_at"],
        ),
        // Foreign keys are not indexed implicitly on PostgreSQL; these two keep deleting an
        // account or group from scanning the whole history.
        index(
            "ix_reminder_runs_account_id",
            "reminder_runs",
            &["account_id"],
        ),
        index(
            "ix_reminder_run_targets_group_id",
            "reminder_run_targets",
            &["group_id"],
        ),
        unique(
            "ux_reminder_run_targets_jid",
            "reminder_run_targets",
            &["run_id", "group_jid"],
        ),
        index(
            "ix_reminder_run_targets_due",
            "reminder_run_targets",
            &["status", "next_attempt_at"],
        ),
        index("ix_audit_log_at", "audit_log", &["at"]),
        index(
            "ix_auth_sessions_expires_at",
            "auth_sessions",
            &["expires_at"],
        ),
        index(
            "ix_auth_sessions_operator_id",
            "auth_sessions",
            &["operator_id"],
        ),
        unique(
            "ux_login_tokens_token_hash",
            "login_tokens",
            &["token_hash"],
        ),
        index("ix_commands_queue", "commands", &["status", "id"]),
        index("ix_events_created_at", "events", &["created_at"]),
    ]
}

/// A CREATE TABLE IF NOT EXISTS that knows its own name, so foreign keys can be named after it.
struct NewTable {
    name: &'static str,
    statement: TableCreateStatement,
}

fn create(name: &'static str) -> NewTable {
    NewTable {
        name,
        statement: Table::create().table(name).if_not_exists().take(),
    }
}

impl NewTable {
    fn col(mut self, column: impl IntoColumnDef) -> Self {
        self.statement.col(column);
        self
    }

    /// A foreign key to `parent.id`, inside CREATE TABLE because SQLite cannot add it later.
    fn fk(mut self, col: &'static str, parent: &'static str, on_delete: ForeignKeyAction) -> Self {
        self.statement.foreign_key(
            ForeignKey::create()
                .name(format!("fk_{}_{col}", self.name))
                .from(self.name, col)
                .to(parent, "id")
                .on_delete(on_delete),
        );
        self
    }

    fn finish(self) -> TableCreateStatement {
        self.statement
    }
}

fn ts(col: &'static str) -> ColumnDef {
    timestamp_with_time_zone(col)
}

fn ts_null(col: &'static str) -> ColumnDef {
    timestamp_with_time_zone_null(col)
}

/// Status and kind columns hold the `domain::status` strings.
fn status(col: &'static str) -> ColumnDef {
    string_len(col, 16)
}

fn index(name: &str, table: &'static str, cols: &[&'static str]) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(table).if_not_exists();
    for &col in cols {
        index.col(col);
    }
    index
}

fn unique(name: &str, table: &'static str, cols: &[&'static str]) -> IndexCreateStatement {
    index(name, table, cols).unique().take()
}

async fn run_all(manager: &SchemaManager<'_>, statements: &[&str]) -> Result<(), DbErr> {
    let db = manager.get_connection();
    for sql in statements {
        db.execute_unprepared(sql).await?;
    }
    Ok(())
}

// fang's own DDL (fang 0.11.0 `*_migrations/.../create_fang_tasks/up.sql`), column for column:
// fang decodes rows with sqlx `Row::get`, which panics on a type mismatch. The only changes are
// `IF NOT EXISTS` (a DO block for the enum type) and, on PostgreSQL, no default for `id`.

/// fang generates every task id itself (`Uuid::new_v4()` bound in `insert_task` and
/// `insert_task_uniq`), so the PostgreSQL id needs no default. That drops fang's
/// `uuid_generate_v4()` default and with it the `uuid-ossp` extension, which only a superuser
/// may create.
const FANG_UP_POSTGRES: &[&str] = &[
    // CREATE TYPE has no IF NOT EXISTS.
    "DO $$ BEGIN
        CREATE TYPE fang_task_state AS ENUM ('new', 'in_progress', 'failed', 'finished', 'retried');
    EXCEPTION WHEN duplicate_object THEN NULL;
    END $$",
    "CREATE TABLE IF NOT EXISTS fang_tasks (
        id uuid PRIMARY KEY,
        metadata jsonb NOT NULL,
        error_message TEXT,
        state fang_task_state DEFAULT 'new' NOT NULL,
        task_type TEXT DEFAULT 'common' NOT NULL,
        uniq_hash TEXT,
        retries INTEGER DEFAULT 0 NOT NULL,
        scheduled_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
        created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
        updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW()
    )",
    "CREATE INDEX IF NOT EXISTS fang_tasks_state_index ON fang_tasks(state)",
    "CREATE INDEX IF NOT EXISTS fang_tasks_type_index ON fang_tasks(task_type)",
    "CREATE INDEX IF NOT EXISTS fang_tasks_scheduled_at_index ON fang_tasks(scheduled_at)",
    "CREATE INDEX IF NOT EXISTS fang_tasks_uniq_hash ON fang_tasks(uniq_hash)",
];

/// fang's own column types. Herald's queue (worker::jobs::queue) writes every timestamp itself,
/// as unix milliseconds; the seconds defaults are never used.
const FANG_UP_SQLITE: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS fang_tasks (
        id BLOB NOT NULL PRIMARY KEY,
        metadata TEXT NOT NULL,
        error_message TEXT,
        state TEXT CHECK ( state IN ('new', 'in_progress', 'failed', 'finished', 'retried') ) NOT NULL DEFAULT 'new',
        task_type TEXT NOT NULL DEFAULT 'common',
        uniq_hash CHAR(64),
        retries INTEGER NOT NULL DEFAULT 0,
        scheduled_at INTEGER NOT NULL DEFAULT (unixepoch('now')),
        created_at INTEGER NOT NULL DEFAULT (unixepoch('now')),
        updated_at INTEGER NOT NULL DEFAULT (unixepoch('now'))
    )",
    "CREATE INDEX IF NOT EXISTS fang_tasks_state_index ON fang_tasks(state)",
    "CREATE INDEX IF NOT EXISTS fang_tasks_type_index ON fang_tasks(task_type)",
    "CREATE INDEX IF NOT EXISTS fang_tasks_scheduled_at_index ON fang_tasks(scheduled_at)",
    "CREATE INDEX IF NOT EXISTS fang_tasks_uniq_hash ON fang_tasks(uniq_hash)",
];

fn fang_up(backend: DbBackend) -> Result<&'static [&'static str], DbErr> {
    match backend {
        DbBackend::Postgres => Ok(FANG_UP_POSTGRES),
        DbBackend::Sqlite => Ok(FANG_UP_SQLITE),
        other => Err(unsupported(other)),
    }
}

fn fang_down(backend: DbBackend) -> Result<&'static [&'static str], DbErr> {
    match backend {
        DbBackend::Postgres => Ok(&[
            "DROP TABLE IF EXISTS fang_tasks",
            "DROP TYPE IF EXISTS fang_task_state",
        ]),
        DbBackend::Sqlite => Ok(&["DROP TABLE IF EXISTS fang_tasks"]),
        other => Err(unsupported(other)),
    }
}

fn unsupported(backend: DbBackend) -> DbErr {
    DbErr::Migration(format!(
        "Herald supports SQLite and PostgreSQL, not {backend:?}"
    ))
}

//! The `herald-server` binary as an operator runs it: configuration errors, signals, logs, and
//! the `login-link`, `pair` and `healthcheck` commands.

mod common;

use std::process::Command;

use common::{TestServer, client};
use runtime::config::TelegramUserId;
use service::operators;
use testkit::TestDb;

fn server_command(cwd: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_herald-server"));
    // Nothing from the developer's environment or .env may leak in.
    command.env_clear().current_dir(cwd);
    command
}

#[test]
fn bad_settings_are_all_listed_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let output = server_command(dir.path())
        .env("DATABASE_URL", "nope://x")
        .env("LOG_FORMAT", "xml")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("DATABASE_URL") && stderr.contains("\"nope\" URL"),
        "{stderr}"
    );
    assert!(
        stderr.contains("LOG_FORMAT") && stderr.contains("xml"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing may be written"
    );
}

#[tokio::test]
async fn stops_cleanly_on_sigterm_and_sigint() {
    for signal in ["TERM", "INT"] {
        let db = TestDb::new().await;
        let dir = tempfile::tempdir().unwrap();
        let port = testkit::free_port();
        let mut child = server_command(dir.path())
            .env("DATABASE_URL", db.url.expose())
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "warn")
            .spawn()
            .unwrap();
        let health = format!("http://127.0.0.1:{port}/api/health");
        testkit::expect_up(&health, "server").await;
        testkit::expect_clean_stop(&mut child, signal).await;
    }
}

#[tokio::test]
async fn healthcheck_exits_zero_only_while_the_server_answers() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let port = testkit::free_port();
    // Bound to every interface, as in a container; the probe goes over loopback.
    let addr = format!("0.0.0.0:{port}");
    let healthcheck = || {
        server_command(dir.path())
            .arg("healthcheck")
            .env("DATABASE_URL", db.url.expose())
            .env("LEPTOS_SITE_ADDR", &addr)
            .output()
            .unwrap()
    };
    let down = healthcheck();
    assert_eq!(down.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&down.stderr);
    assert!(
        stderr.starts_with(&format!(
            "herald-server healthcheck: http://127.0.0.1:{port}/api/health: "
        )),
        "{stderr}"
    );

    let mut child = server_command(dir.path())
        .env("DATABASE_URL", db.url.expose())
        .env("LEPTOS_SITE_ADDR", &addr)
        .env("RUST_LOG", "warn")
        .spawn()
        .unwrap();
    testkit::expect_up(&format!("http://127.0.0.1:{port}/api/health"), "server").await;
    let up = healthcheck();
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );
    testkit::expect_clean_stop(&mut child, "TERM").await;
}

#[tokio::test]
async fn json_logs_are_one_object_per_line_and_never_carry_secrets() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let port = testkit::free_port();
    let token = "123456:AAH-never-print-this-secret-value";
    let mut child = server_command(dir.path())
        .env("DATABASE_URL", db.url.expose())
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "debug")
        .env("TELEGRAM_BOT_TOKEN", token)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let health = format!("http://127.0.0.1:{port}/api/health");
    testkit::expect_up(&health, "server").await;
    testkit::expect_clean_stop(&mut child, "TERM").await;

    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut out).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines.iter().any(|l| l.contains("herald-server listening")),
        "{out}"
    );
    for line in &lines {
        let event: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(
            event["level"].is_string() && event["timestamp"].is_string(),
            "{line}"
        );
    }
    assert!(
        !out.contains("never-print-this"),
        "the bot token leaked into the log"
    );
}

#[tokio::test]
async fn login_link_prints_a_link_the_running_server_accepts() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let output = server_command(dir.path())
        .env("DATABASE_URL", server.db.url.expose())
        .env("PUBLIC_URL", &server.base)
        .arg("login-link")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let link = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    assert!(
        link.starts_with(&format!("{}/login/", server.base)),
        "{link}"
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("single use"));

    // The link's page is public; its token starts a session.
    let page = client().get(&link).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains(r#"action="/auth/login""#)
    );
    let token = link.rsplit('/').next().unwrap();
    let response = server.redeem(&client(), token).await;
    assert_eq!(response.headers()["location"], "/");
}

#[tokio::test]
async fn login_link_asks_which_operator_when_several_are_whitelisted() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let run_before_any_server = server_command(dir.path())
        .env("DATABASE_URL", db.url.expose())
        .arg("login-link")
        .output()
        .unwrap();
    assert_eq!(run_before_any_server.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&run_before_any_server.stderr).contains("start herald-server once")
    );

    // What the server does at start; the command only reads the result.
    let whitelist = [TelegramUserId(111), TelegramUserId(222)];
    operators::sync_whitelist(&db.db, &whitelist, domain::timezone::TimeZone::UTC)
        .await
        .unwrap();
    let run = |args: &[&str]| {
        server_command(dir.path())
            .env("DATABASE_URL", db.url.expose())
            .env("TELEGRAM_ALLOWED_USER_IDS", "111,222")
            .arg("login-link")
            .args(args)
            .output()
            .unwrap()
    };
    let output = run(&[]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--telegram-id") && stderr.contains("111, 222"),
        "{stderr}"
    );

    let output = run(&["--telegram-id", "222"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let output = run(&["--telegram-id", "333"]);
    assert!(String::from_utf8_lossy(&output.stderr).contains("not an active operator"));

    // Its own environment never changes who may sign in: here it has no whitelist at all.
    let output = server_command(dir.path())
        .env("DATABASE_URL", db.url.expose())
        .args(["login-link", "--telegram-id", "111"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        operators::active(&db.db).await.unwrap().len(),
        2,
        "nobody was disabled or added"
    );
}

/// Plays the worker's part for `herald-server pair`: claims its pair command, then reports
/// `steps` (a QR step also stores the code on the row, as the worker does). Returns the account
/// and the phone number the command asked a code for.
async fn act_as_worker(
    db: &TestDb,
    steps: Vec<domain::bus::Event>,
) -> (i64, Option<domain::account::PhoneNumber>) {
    use domain::bus::{Command as BusCommand, Event};
    use entity::whatsapp_accounts;
    use sea_orm::{ActiveModelTrait, Condition, Set};
    use service::bus::{commands, events};

    let mut claimed = None;
    for _ in 0..400 {
        if let Some(c) = commands::claim_next(&db.db, "test-worker", Condition::all())
            .await
            .unwrap()
        {
            claimed = Some(c);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let BusCommand::Pair { account_id, phone } =
        claimed.expect("the CLI asked for a pairing").command
    else {
        panic!("expected a pair command");
    };
    let operator_id = operators::active(&db.db).await.unwrap()[0].id;
    for step in steps {
        let step = match step {
            Event::Pending { generation, .. } => Event::Pending {
                account_id,
                generation,
            },
            Event::Qr {
                generation,
                seq,
                expires_at,
                ..
            } => {
                whatsapp_accounts::ActiveModel {
                    id: Set(account_id),
                    last_qr_code: Set(Some(format!("2@code-number-{seq},key,key,secret"))),
                    ..Default::default()
                }
                .update(&db.db)
                .await
                .unwrap();
                Event::Qr {
                    account_id,
                    generation,
                    seq,
                    expires_at,
                }
            }
            Event::PairCode {
                generation,
                code,
                expires_at,
                ..
            } => Event::PairCode {
                account_id,
                generation,
                code,
                expires_at,
            },
            Event::Paired { generation, .. } => Event::Paired {
                account_id,
                generation,
            },
            Event::Connected { phone, .. } => Event::Connected { account_id, phone },
            Event::Timeout { .. } => Event::Timeout { account_id },
            Event::Error { message, .. } => Event::Error {
                account_id,
                message,
            },
            other => other,
        };
        events::publish(&db.db, Some(operator_id), &step)
            .await
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    (account_id, phone)
}

fn pair_steps(last: domain::bus::Event) -> Vec<domain::bus::Event> {
    use domain::bus::Event;
    let soon = chrono::Utc::now() + chrono::Duration::seconds(60);
    vec![
        Event::Pending {
            account_id: 0,
            generation: 1,
        },
        Event::Qr {
            account_id: 0,
            generation: 1,
            seq: 1,
            expires_at: soon,
        },
        Event::Qr {
            account_id: 0,
            generation: 1,
            seq: 2,
            expires_at: soon,
        },
        last,
    ]
}

/// A database with the local operator, and a working directory, for `herald-server pair`.
async fn pair_setup() -> (TestDb, tempfile::TempDir) {
    let db = TestDb::new().await;
    operators::sync_whitelist(&db.db, &[], domain::timezone::TimeZone::UTC)
        .await
        .unwrap();
    (db, tempfile::tempdir().unwrap())
}

/// `herald-server pair <args>` on `db`, simulated accounts by default, its output captured.
fn spawn_pair(db: &TestDb, dir: &std::path::Path, args: &[&str]) -> std::process::Child {
    server_command(dir)
        .env("DATABASE_URL", db.url.expose())
        .env("WA_PROVIDER", "sim")
        .arg("pair")
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

async fn finished(child: std::process::Child) -> std::process::Output {
    tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn pair_draws_each_code_in_the_terminal_and_exits_when_connected() {
    let (db, dir) = pair_setup().await;
    let child = spawn_pair(&db, dir.path(), &["Front desk"]);
    let steps = pair_steps(domain::bus::Event::Connected {
        account_id: 0,
        phone: "15550100001".into(),
    });
    let (account_id, phone) = act_as_worker(&db, steps).await;
    assert_eq!(phone, None, "a QR pairing");
    let output = finished(child).await;
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("Added the account “Front desk”"),
        "{stderr}"
    );
    // Two codes, each drawn in block characters, then the outcome.
    assert!(
        stdout.contains("Code 1,") && stdout.contains("Code 2,"),
        "{stdout}"
    );
    assert!(stdout.matches('█').count() > 100, "{stdout}");
    assert!(stdout.contains("connected as +15550100001"), "{stdout}");
    let account = service::accounts::find(
        &db.db,
        operators::active(&db.db).await.unwrap()[0].id,
        account_id,
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(account.label, "Front desk");
    assert_eq!(account.provider, domain::status::Provider::Sim);
}

#[tokio::test]
async fn pair_exits_non_zero_when_the_codes_run_out() {
    let (db, dir) = pair_setup().await;
    let child = spawn_pair(&db, dir.path(), &["Gym"]);
    act_as_worker(
        &db,
        pair_steps(domain::bus::Event::Timeout { account_id: 0 }),
    )
    .await;
    let output = finished(child).await;
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("timed out"), "{stderr}");

    let bad = server_command(dir.path())
        .env("DATABASE_URL", db.url.expose())
        .args(["pair", "   "])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("give the account a name"));
}

#[tokio::test]
async fn pair_says_why_a_pairing_failed_in_the_workers_words() {
    let (db, dir) = pair_setup().await;
    let child = spawn_pair(&db, dir.path(), &["Gym"]);
    let reason = "Pairing failed: cannot reach WhatsApp at web.whatsapp.com: DNS lookup failed";
    act_as_worker(
        &db,
        pair_steps(domain::bus::Event::Error {
            account_id: 0,
            message: reason.into(),
        }),
    )
    .await;
    let output = finished(child).await;
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("herald-server pair: {reason}\n")),
        "{stderr}"
    );
}

#[tokio::test]
async fn pair_by_phone_prints_the_code_instead_of_drawing_qr_codes() {
    use domain::bus::Event;
    let (db, dir) = pair_setup().await;
    let child = spawn_pair(
        &db,
        dir.path(),
        &["Front desk", "--phone", "+44 7700 900123"],
    );
    let mut steps = pair_steps(Event::Paired {
        account_id: 0,
        generation: 1,
    });
    // The code arrives after the first QR code, as whatsapp-rust asks for it once connected.
    steps.insert(
        2,
        Event::PairCode {
            account_id: 0,
            generation: 1,
            code: "AB3D-EFGH".into(),
            expires_at: chrono::Utc::now() + chrono::Duration::seconds(180),
        },
    );
    steps.push(Event::Connected {
        account_id: 0,
        phone: "447700900123".into(),
    });
    let (_, phone) = act_as_worker(&db, steps).await;
    assert_eq!(
        phone.as_ref().map(|p| p.digits()),
        Some("447700900123"),
        "the worker is asked for a code for that phone"
    );
    let output = finished(child).await;
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stderr.contains("by phone number +447700900123"), "{stderr}");
    assert!(
        stdout.contains("Pairing code for “Front desk”: AB3D-EFGH"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Link with phone number instead") && stdout.contains("expires in 1"),
        "{stdout}"
    );
    assert!(!stdout.contains('█'), "no QR code is drawn: {stdout}");
    assert!(stdout.contains("Code entered — linking…"), "{stdout}");
    assert!(stdout.contains("connected as +447700900123"), "{stdout}");
}

#[tokio::test]
async fn pair_refuses_a_phone_number_it_cannot_read() {
    let (db, dir) = pair_setup().await;
    for bad in ["12ab", "0044 7700 900123", "+1 555"] {
        let output = server_command(dir.path())
            .env("DATABASE_URL", db.url.expose())
            .args(["pair", "Gym", "--phone", bad])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "{bad}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("--phone") && stderr.contains("international form"),
            "{bad}: {stderr}"
        );
    }
    let missing = server_command(dir.path())
        .env("DATABASE_URL", db.url.expose())
        .args(["pair", "Gym", "--phone"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2), "a usage error");
    assert!(String::from_utf8_lossy(&missing.stderr).contains("--phone <number>"));
    let operator = operators::active(&db.db).await.unwrap()[0].id;
    let gym = domain::account::AccountLabel::parse("Gym").unwrap();
    assert!(
        service::accounts::find_by_label(&db.db, operator, &gym)
            .await
            .unwrap()
            .is_none(),
        "nothing was added or asked for"
    );
}

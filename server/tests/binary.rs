//! The `herald-server` binary as an operator runs it: configuration errors, signals, logs and
//! the `login-link` command.

mod common;

use std::process::Command;

use common::{TestServer, client};
use service::{config::TelegramUserId, operators};
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

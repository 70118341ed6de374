//! Server-side rendering under load (`make bench`): the dashboard and the reminders list of an
//! operator with 10 accounts and 500 reminders, on SQLite, served by this (release) build on
//! loopback and driven by wrk (Debian's) for a fixed time per page. Prints requests per second and
//! latency percentiles; docs/benchmarks.md records them.

#[path = "../tests/common/mod.rs"]
mod common;

use std::process::Command;

use chrono::{Duration, Utc};
use common::TestServer;
use domain::status::{AccountStatus, MessageKind};
use service::{
    audit::Actor,
    operators,
    reminders::{self, PartInput, ReminderInput},
};
use testkit::seed;

const ACCOUNTS: usize = 10;
const REMINDERS: usize = 500;
const GROUPS_PER_ACCOUNT: usize = 12;
/// wrk's connections: a handful of phones and browser tabs at once, and enough to keep both
/// cores busy.
const CONNECTIONS: u32 = 16;
const SECONDS: u32 = 10;

#[tokio::main]
async fn main() {
    if Command::new("wrk").arg("--version").output().is_err() {
        eprintln!("wrk is not installed (scripts/bootstrap.sh test installs it)");
        std::process::exit(2);
    }
    let server = TestServer::start().await;
    let db = &server.db.db;
    let operator = operators::active(db).await.expect("operators")[0].id;
    let mut groups = Vec::new();
    for a in 0..ACCOUNTS {
        let account =
            seed::account(db, operator, &format!("Line {a}"), AccountStatus::Connected).await;
        let mut ids = Vec::new();
        for g in 0..GROUPS_PER_ACCOUNT {
            ids.push(
                seed::group(db, account.id, &format!("Group {a}-{g}"))
                    .await
                    .id,
            );
        }
        groups.push((account.id, ids));
    }
    let now = Utc::now();
    for r in 0..REMINDERS {
        let (account_id, ids) = &groups[r % ACCOUNTS];
        let input = ReminderInput {
            account_id: *account_id,
            name: format!("Reminder {r}"),
            timezone: "Europe/Berlin".to_owned(),
            start_local: (now + Duration::days(1 + (r % 30) as i64)).naive_utc(),
            rrule: (r % 2 == 0).then(|| "FREQ=WEEKLY;BYDAY=MO,WE,FR".to_owned()),
            skip_dates: vec![],
            skip_base: None,
            send_window_end_hour: None,
            parts: vec![PartInput {
                kind: MessageKind::Text,
                body: Some(format!("Reminder {r}: the weekly meeting starts at 9.")),
                media_file_id: None,
            }],
            group_ids: ids.iter().take(1 + r % 4).copied().collect(),
        };
        reminders::create(db, Actor::Cli, operator, &input, now)
            .await
            .expect("reminder created");
    }

    let token = server.link_token(None).await;
    let client = common::client();
    let signed_in = server.redeem(&client, &token).await;
    let cookie = signed_in
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .collect::<Vec<_>>()
        .join("; ");
    assert!(cookie.contains("herald_session"), "signed in: {cookie}");

    println!(
        "SSR under load: {ACCOUNTS} accounts, {REMINDERS} reminders, SQLite, release build, loopback; \
         wrk -c {CONNECTIONS} -t 2 -d {SECONDS}s, br accepted"
    );
    for (page, path) in [("dashboard", "/"), ("reminders list", "/reminders")] {
        let check = client
            .get(server.url(path))
            .send()
            .await
            .expect("the page answers");
        assert_eq!(check.status(), 200, "{page}");
        let html = check.text().await.expect("a page");
        assert!(html.contains("<html"), "{page}");
        let output = Command::new("wrk")
            .args([
                "-c",
                &CONNECTIONS.to_string(),
                "-t",
                "2",
                "-d",
                &format!("{SECONDS}s"),
                "--latency",
                "-H",
                &format!("Cookie: {cookie}"),
                "-H",
                "Accept-Encoding: br, gzip",
                &server.url(path),
            ])
            .output()
            .expect("wrk runs");
        let report = String::from_utf8_lossy(&output.stdout);
        let figure = |label: &str| {
            report
                .lines()
                .find(|line| line.trim_start().starts_with(label))
                .map(|line| line.split_whitespace().nth(1).unwrap_or("?").to_owned())
                .unwrap_or_else(|| "?".to_owned())
        };
        let errors = report
            .lines()
            .filter(|line| line.contains("Non-2xx") || line.contains("Socket errors"))
            .collect::<Vec<_>>();
        println!(
            "  {page:<15} {:>9} req/s   p50 {:>8}   p90 {:>8}   p99 {:>8}   page {:>6} B   {}",
            figure("Requests/sec:"),
            figure("50%"),
            figure("90%"),
            figure("99%"),
            html.len(),
            if errors.is_empty() {
                "no errors".to_owned()
            } else {
                errors.join("; ")
            }
        );
    }
}

//! The reminders list over real HTTP: a page at a time, newest first, with links between pages
//! that keep the filter.

mod common;

use chrono::{Duration, Utc};
use common::TestServer;
use domain::status::{AccountStatus, MessageKind};
use reqwest::StatusCode;
use service::{
    audit::Actor,
    operators,
    reminders::{self, PartInput, ReminderInput},
};
use testkit::seed;

const MADE: usize = 60;

#[tokio::test]
async fn the_list_shows_fifty_reminders_a_page_newest_first() {
    let server = TestServer::start().await;
    let db = &server.db.db;
    let operator = operators::active(db).await.unwrap()[0].id;
    let account = seed::account(db, operator, "Bakery", AccountStatus::Connected).await;
    let group = seed::group(db, account.id, "Customers").await;
    let now = Utc::now();
    for n in 0..MADE {
        let input = ReminderInput {
            account_id: account.id,
            name: format!("Reminder №{n:02}"),
            timezone: "Europe/Berlin".to_owned(),
            start_local: (now + Duration::days(2)).naive_utc(),
            rrule: None,
            skip_dates: vec![],
            skip_base: None,
            send_window_end_hour: None,
            parts: vec![PartInput {
                kind: MessageKind::Text,
                body: Some("Fresh bread at 7".to_owned()),
                media_file_id: None,
            }],
            group_ids: vec![group.id],
        };
        reminders::create(
            db,
            Actor::Cli,
            operator,
            &input,
            now + Duration::seconds(n as i64),
        )
        .await
        .unwrap();
    }
    let client = server.signed_in(None).await;
    let page = |path: &'static str| {
        let client = client.clone();
        let url = server.url(path);
        async move {
            let response = client.get(url).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            response.text().await.unwrap()
        }
    };
    let rows = |html: &str| html.matches("data-testid=\"reminder-row\"").count();

    let first = page("/reminders").await;
    assert_eq!(rows(&first), 50);
    assert!(
        first.contains("Reminder №59"),
        "the newest is on the first page"
    );
    assert!(!first.contains("Reminder №09"), "the oldest ten are not");
    assert!(first.contains("Page 1 of 2 · 60 reminders"));
    assert!(first.contains(r#"href="/reminders?page=2" rel="next""#));
    assert!(!first.contains(r#"rel="prev""#));

    let second = page("/reminders?page=2").await;
    assert_eq!(rows(&second), 10);
    assert!(second.contains("Reminder №00") && second.contains("Reminder №09"));
    assert!(second.contains(r#"href="/reminders" rel="prev""#));
    assert!(!second.contains(r#"rel="next""#));

    // One filtered page: the pager is only there when there is more than one page.
    let active = page("/reminders?status=active").await;
    assert_eq!(rows(&active), 50);
    assert!(active.contains(r#"href="/reminders?status=active&amp;page=2" rel="next""#));
    let none = page("/reminders?status=paused&page=3").await;
    assert!(none.contains("Nothing paused") && !none.contains("class=\"pager\""));
}

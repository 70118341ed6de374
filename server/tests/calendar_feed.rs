//! The calendar feed over real HTTP: a calendar app, with no session, reads the operator's sends
//! to come at the secret link; a replaced or revoked link, or a made-up one, is not found.

mod common;

use chrono::{Duration, Utc};
use common::{TestServer, client};
use domain::status::{AccountStatus, MessageKind};
use reqwest::StatusCode;
use service::{
    audit::Actor,
    calendar, operators,
    reminders::{self, PartInput, ReminderInput},
};
use testkit::seed;

#[tokio::test]
async fn a_calendar_app_reads_the_sends_to_come_until_the_link_is_revoked() {
    let server = TestServer::start().await;
    let db = &server.db.db;
    let operator = operators::active(db).await.unwrap()[0].id;
    let account = seed::account(db, operator, "Bakery", AccountStatus::Connected).await;
    let shop = seed::group(db, account.id, "Shop").await;
    let street = seed::group(db, account.id, "Street").await;
    let now = Utc::now();
    let reminder = reminders::create(
        db,
        Actor::Cli,
        operator,
        &ReminderInput {
            account_id: account.id,
            name: "Bread, warm".to_owned(),
            timezone: "Europe/Berlin".to_owned(),
            start_local: (now + Duration::days(1)).naive_utc(),
            rrule: Some("FREQ=DAILY".to_owned()),
            skip_dates: vec![],
            skip_base: None,
            send_window_end_hour: None,
            parts: vec![PartInput {
                kind: MessageKind::Text,
                body: Some("Fresh bread at 7".to_owned()),
                media_file_id: None,
            }],
            group_ids: vec![shop.id, street.id],
        },
        now,
    )
    .await
    .unwrap();
    let url = calendar::create(db, Actor::Operator, operator, &server.public_url)
        .await
        .unwrap();
    let path = url
        .strip_prefix(&server.base)
        .expect("the link is on the server");

    // A calendar app sends no cookies.
    let app = client();
    let response = app.get(server.url(path)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "text/calendar; charset=utf-8"
    );
    assert_eq!(response.headers()["cache-control"], "private, max-age=300");
    let body = response.text().await.unwrap();
    assert!(body.starts_with("BEGIN:VCALENDAR\r\n"), "{body}");
    let events = body.matches("BEGIN:VEVENT\r\n").count();
    // Daily from tomorrow, for the 60 days the feed covers.
    assert!((59..=60).contains(&events), "{events} events");
    assert!(
        body.contains("SUMMARY:Bread\\, warm → 2 groups\r\n"),
        "{body}"
    );
    assert!(body.contains(&format!(
        "\r\nURL:{}/reminders/{}\r\n",
        server.base, reminder.id
    )));
    let feed = calendar::find(db, operator).await.unwrap().unwrap();
    assert!(feed.last_read_at.is_some());

    // Replaced, the old link is gone; the new one works; revoked, nothing works.
    let replaced = calendar::create(db, Actor::Operator, operator, &server.public_url)
        .await
        .unwrap();
    let status = |path: String| {
        let app = app.clone();
        let url = server.url(&path);
        async move { app.get(url).send().await.unwrap().status() }
    };
    assert_eq!(status(path.to_owned()).await, StatusCode::NOT_FOUND);
    let new_path = replaced.strip_prefix(&server.base).unwrap().to_owned();
    assert_eq!(status(new_path.clone()).await, StatusCode::OK);
    calendar::revoke(db, Actor::Operator, operator)
        .await
        .unwrap();
    assert_eq!(status(new_path).await, StatusCode::NOT_FOUND);
    for made_up in ["/calendar/x.ics", "/calendar/%2e%2e.ics"] {
        let code = status(made_up.to_owned()).await;
        assert!(
            code == StatusCode::NOT_FOUND || code == StatusCode::BAD_REQUEST,
            "{made_up}: {code}"
        );
    }
}

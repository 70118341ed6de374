//! An account's page over real HTTP says what to do about the account's state.

mod common;

use common::TestServer;
use domain::status::AccountStatus;
use reqwest::StatusCode;
use service::operators;
use testkit::seed;

#[tokio::test]
async fn an_accounts_page_says_what_to_do_about_its_state() {
    let server = TestServer::start().await;
    let db = &server.db.db;
    let operator = operators::active(db).await.unwrap()[0].id;
    let client = server.signed_in(None).await;
    for (label, status, expected) in [
        ("Bakery", AccountStatus::LoggedOut, Some("Pair it again")),
        (
            "Gym",
            AccountStatus::Banned,
            Some("WhatsApp banned this number"),
        ),
        ("Florist", AccountStatus::Connected, None),
    ] {
        let account = seed::account(db, operator, label, status).await;
        let response = client
            .get(server.url(&format!("/accounts/{}", account.id)))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let html = response.text().await.unwrap();
        let remedy = html
            .split("data-testid=\"account-remedy\"")
            .nth(1)
            .and_then(|rest| rest.split_once('>'))
            .map(|(_, text)| text.split('<').next().unwrap_or_default());
        match expected {
            Some(words) => assert!(
                remedy.is_some_and(|r| r.contains(words)),
                "{label}: {remedy:?}"
            ),
            None => assert_eq!(remedy, None, "{label}"),
        }
    }
}

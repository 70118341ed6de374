//! Sessions: the cookie's flags, sliding expiry, sign-out, and losing access on leaving the
//! whitelist.

use entity::{auth_sessions, operators as operator_rows};
use reqwest::StatusCode;
use runtime::config::TelegramUserId;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::Value;
use service::operators;
use tower_sessions::{
    SessionStore,
    session::{Id, Record},
};

use crate::audit_actions;
use crate::common::{TestServer, client};

fn session_cookie(response: &reqwest::Response) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("herald_session="))
        .expect("a session cookie is set")
}

#[tokio::test]
async fn the_session_cookie_is_http_only_lax_and_secure_behind_https() {
    let server = TestServer::start().await;
    let token = server.link_token(None).await;
    let cookie = session_cookie(&server.redeem(&client(), &token).await);
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Secure"),
        "plain http cannot carry Secure cookies: {cookie}"
    );
    assert!(
        cookie.contains("Max-Age=2592000"),
        "30 days from the last visit: {cookie}"
    );

    // The database keys the session by a hash of the cookie's id, never the id itself.
    let cookie_id = cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("herald_session=");
    let rows = auth_sessions::Entity::find()
        .all(&server.db.db)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_ne!(rows[0].id, cookie_id);
    assert_eq!(rows[0].id.len(), 64);

    let server = TestServer::start_with(&[("PUBLIC_URL", "https://herald.example.com")]).await;
    let token = server.link_token(None).await;
    let cookie = session_cookie(&server.redeem(&client(), &token).await);
    assert!(
        cookie.contains("Secure") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
}

#[tokio::test]
async fn a_visit_slides_the_expiry_of_a_session_last_written_over_an_hour_ago() {
    let server = TestServer::start().await;
    let operator = server.signed_in(None).await;
    // Age the session: written two hours ago, one day left.
    let row = auth_sessions::Entity::find()
        .one(&server.db.db)
        .await
        .unwrap()
        .unwrap();
    let mut data: serde_json::Map<String, Value> = serde_json::from_slice(&row.data).unwrap();
    let two_hours_ago = chrono::Utc::now().timestamp() - 7200;
    data.insert("touched_at".into(), two_hours_ago.into());
    let mut aged: auth_sessions::ActiveModel = row.into();
    aged.data = Set(serde_json::to_vec(&data).unwrap());
    aged.expires_at = Set(chrono::Utc::now() + chrono::Duration::days(1));
    aged.update(&server.db.db).await.unwrap();

    let visit = operator.get(server.url("/settings")).send().await.unwrap();
    assert_eq!(visit.status(), StatusCode::OK);
    assert!(
        session_cookie(&visit).contains("Max-Age=2592000"),
        "the cookie is re-issued"
    );
    let row = auth_sessions::Entity::find()
        .one(&server.db.db)
        .await
        .unwrap()
        .unwrap();
    assert!(
        row.expires_at > chrono::Utc::now() + chrono::Duration::days(29),
        "{:?}",
        row.expires_at
    );
    assert!(row.last_seen_at.timestamp() > two_hours_ago + 3600);

    // Within the hour, visits do not write at all.
    let again = operator.get(server.url("/settings")).send().await.unwrap();
    assert!(again.headers().get("set-cookie").is_none());
}

#[tokio::test]
async fn an_ended_session_is_not_brought_back_by_a_late_save() {
    let server = TestServer::start().await;
    let store = service::web_sessions::DbSessionStore::new(server.db.db.clone());
    let mut record = Record {
        id: Id::default(),
        data: Default::default(),
        expiry_date: time::OffsetDateTime::now_utc() + time::Duration::days(30),
    };
    store.create(&mut record).await.unwrap();
    store.delete(&record.id).await.unwrap();
    // A request that loaded the session before it ended finishes and saves.
    store.save(&record).await.unwrap();
    assert!(store.load(&record.id).await.unwrap().is_none());
    assert!(
        auth_sessions::Entity::find()
            .all(&server.db.db)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn an_operator_removed_from_the_whitelist_loses_access_at_once() {
    let server = TestServer::start_with(&[("TELEGRAM_ALLOWED_USER_IDS", "42,43")]).await;
    let ops = operator_rows::Entity::find()
        .all(&server.db.db)
        .await
        .unwrap();
    let leaving = ops
        .iter()
        .find(|o| o.telegram_user_id == Some(42))
        .expect("operator 42 synced");
    let operator = server.signed_in(Some(leaving.id)).await;
    assert_eq!(
        operator.get(server.url("/")).send().await.unwrap().status(),
        StatusCode::OK
    );

    let report = operators::sync_whitelist(
        &server.db.db,
        &[TelegramUserId(43)],
        domain::timezone::TimeZone::UTC,
    )
    .await
    .unwrap();
    assert_eq!(report.disabled, 1);

    let response = operator.get(server.url("/")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/login");
    let left = auth_sessions::Entity::find()
        .filter(auth_sessions::Column::OperatorId.eq(leaving.id))
        .all(&server.db.db)
        .await
        .unwrap();
    assert!(left.is_empty(), "their sessions are gone");
    assert!(
        audit_actions(&server)
            .await
            .iter()
            .any(|(a, _)| a == "operator.disabled")
    );
    // Nor can a link issued earlier be used now.
    let refused = service::login_links::issue(
        &server.db.db,
        leaving.id,
        &server.public_url,
        service::audit::Actor::Cli,
    )
    .await;
    assert!(refused.is_err());
}

#[tokio::test]
async fn settings_lists_sessions_and_signs_out_everywhere_else() {
    let server = TestServer::start().await;
    let phone = server.signed_in(None).await;
    let laptop = server.signed_in(None).await;
    let call = |client: &reqwest::Client, name: &str| {
        client
            .post(server.url(&format!("/api/{name}")))
            .header("origin", server.origin())
            .header("content-type", "application/x-www-form-urlencoded")
            .body("")
            .send()
    };

    let sessions: Value = call(&phone, "my_sessions")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sessions = sessions.as_array().unwrap();
    assert_eq!(sessions.len(), 2, "{sessions:?}");
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);

    let ended: Value = call(&phone, "end_other_sessions")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ended, 1);
    assert_eq!(
        laptop.get(server.url("/")).send().await.unwrap().status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        phone
            .get(server.url("/settings"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}

//! One-time sign-in links: redeemed once, stored only as a hash, refused with the reason audited,
//! and rate limited per client.

use entity::{audit_log, login_tokens};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, sea_query::Expr};

use crate::audit_actions;
use crate::common::{TestServer, client};

#[tokio::test]
async fn a_link_signs_in_once_and_only_its_hash_is_stored() {
    let server = TestServer::start().await;
    let token = server.link_token(None).await;

    let rows = login_tokens::Entity::find()
        .all(&server.db.db)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].token_hash.len(), 64);
    assert!(
        !rows[0].token_hash.contains(&token),
        "the token itself is never stored"
    );

    let first = client();
    let response = server.redeem(&first, &token).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/");
    let dashboard = first.get(server.url("/")).send().await.unwrap();
    assert_eq!(dashboard.status(), StatusCode::OK);

    let second = client();
    let response = server.redeem(&second, &token).await;
    assert_eq!(
        response.headers()["location"],
        "/login?link=invalid",
        "a link works once"
    );
    assert_eq!(
        second.get(server.url("/")).send().await.unwrap().status(),
        StatusCode::SEE_OTHER
    );

    let page = client()
        .get(server.url("/login?link=invalid"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("expired or was already used")
    );

    let actions = audit_actions(&server).await;
    assert!(actions.iter().any(|(a, _)| a == "login"), "{actions:?}");
    assert!(
        actions.iter().any(|(a, d)| a == "login.failed"
            && d.as_ref().is_some_and(|d| d["reason"] == "already_used")),
        "{actions:?}"
    );
}

#[tokio::test]
async fn expired_unknown_and_malformed_links_are_refused_with_the_reason_audited() {
    let server = TestServer::start().await;
    let expired = server.link_token(None).await;
    login_tokens::Entity::update_many()
        .col_expr(
            login_tokens::Column::ExpiresAt,
            Expr::value(chrono::Utc::now() - chrono::Duration::seconds(1)),
        )
        .exec(&server.db.db)
        .await
        .unwrap();
    let unknown = "A".repeat(43);

    for (token, reason) in [
        (expired.as_str(), "expired"),
        (unknown.as_str(), "unknown"),
        ("nope", "malformed"),
    ] {
        let response = server.redeem(&client(), token).await;
        assert_eq!(
            response.headers()["location"],
            "/login?link=invalid",
            "{reason}"
        );
        let actions = audit_actions(&server).await;
        assert!(
            actions
                .iter()
                .any(|(a, d)| a == "login.failed"
                    && d.as_ref().is_some_and(|d| d["reason"] == reason)),
            "{reason}: {actions:?}"
        );
    }
}

#[tokio::test]
async fn repeated_bad_redemptions_are_rate_limited_even_with_a_good_link() {
    let server = TestServer::start().await;
    let guesser = client();
    for _ in 0..10 {
        let response = server.redeem(&guesser, &"B".repeat(43)).await;
        assert_eq!(response.headers()["location"], "/login?link=invalid");
    }
    let good = server.link_token(None).await;
    for _ in 0..2 {
        let response = server.redeem(&guesser, &good).await;
        assert_eq!(
            response.headers()["location"],
            "/login?link=too_many_attempts"
        );
    }
    assert_eq!(
        guesser.get(server.url("/")).send().await.unwrap().status(),
        StatusCode::SEE_OTHER
    );

    let row = login_tokens::Entity::find()
        .filter(login_tokens::Column::UsedAt.is_null())
        .one(&server.db.db)
        .await
        .unwrap();
    assert!(row.is_some(), "a refused attempt does not spend the link");
    let lockouts = audit_actions(&server)
        .await
        .into_iter()
        .filter(|(a, _)| a == "login.rate_limited")
        .count();
    assert_eq!(lockouts, 1, "one audit row per lockout, not per attempt");
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_brake_counts_each_forwarded_client() {
    // The test client connects from 127.0.0.1, standing in for the reverse proxy.
    let server = TestServer::start_with(&[("TRUSTED_PROXIES", "127.0.0.1")]).await;
    let from = |client_ip: &'static str| {
        let server = &server;
        move |token: String| async move {
            client()
                .post(server.url("/auth/login"))
                .header("origin", server.origin())
                .header("x-forwarded-for", client_ip)
                .form(&[("token", token)])
                .send()
                .await
                .unwrap()
        }
    };
    let guesser = from("203.0.113.7");
    for _ in 0..10 {
        let response = guesser("B".repeat(43)).await;
        assert_eq!(response.headers()["location"], "/login?link=invalid");
    }
    let good = server.link_token(None).await;
    let response = guesser(good.clone()).await;
    assert_eq!(
        response.headers()["location"],
        "/login?link=too_many_attempts"
    );
    // Another client behind the same proxy is not locked out with the guesser.
    let response = from("198.51.100.4")(good).await;
    assert_eq!(response.headers()["location"], "/");

    let ips: Vec<(String, Option<String>)> = audit_log::Entity::find()
        .order_by_asc(audit_log::Column::Id)
        .all(&server.db.db)
        .await
        .unwrap()
        .into_iter()
        .map(|row| (row.action, row.client_ip))
        .filter(|(action, _)| action.starts_with("login"))
        .collect();
    assert_eq!(ips.first().unwrap().1.as_deref(), Some("203.0.113.7"));
    assert_eq!(
        ips.last().unwrap(),
        &("login".to_owned(), Some("198.51.100.4".to_owned()))
    );
}

#[tokio::test]
async fn without_trusted_proxies_a_forwarded_address_is_ignored() {
    let server = TestServer::start().await;
    for n in 0..11 {
        // A guesser cannot dodge the brake by naming a new address each time.
        let response = client()
            .post(server.url("/auth/login"))
            .header("origin", server.origin())
            .header("x-forwarded-for", format!("203.0.113.{n}"))
            .form(&[("token", "B".repeat(43))])
            .send()
            .await
            .unwrap();
        let expected = if n < 10 {
            "/login?link=invalid"
        } else {
            "/login?link=too_many_attempts"
        };
        assert_eq!(response.headers()["location"], expected, "attempt {n}");
    }
}

#[tokio::test]
async fn the_sign_in_page_points_at_the_telegram_bot_only_when_there_is_one() {
    let without = TestServer::start().await;
    let page = client()
        .get(without.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("herald-server login-link"), "{page}");
    assert!(
        !page.contains("login-by-bot"),
        "no bot, yet the page offers one"
    );

    let with =
        TestServer::start_with(&[("TELEGRAM_BOT_TOKEN", "123456:AAH-sign-in-page-test")]).await;
    let page = client()
        .get(with.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("login-by-bot"), "{page}");
}

//! A real server on a free port, its own database, and clients that sign in the way an operator
//! does: with a one-time link.

#![allow(dead_code)] // each test binary uses a different part of the harness

use reqwest::{Client, StatusCode, redirect::Policy};
use runtime::config::PublicUrl;
use service::{audit::Actor, login_links, operators};
use testkit::TestDb;
use tokio::sync::oneshot;

pub struct TestServer {
    pub base: String,
    pub db: TestDb,
    pub public_url: PublicUrl,
    _stop: oneshot::Sender<()>,
}

impl TestServer {
    /// Embedded mode: no whitelist, one local operator.
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// `vars` are added to (and override) the test defaults.
    pub async fn start_with(vars: &[(&str, &str)]) -> Self {
        let db = TestDb::new().await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let public = format!("http://{addr}");
        let mut all = vec![
            ("DATABASE_URL", db.url.expose()),
            ("LEPTOS_SITE_ADDR", addr.as_str()),
            ("PUBLIC_URL", public.as_str()),
            ("RUST_LOG", "warn"),
        ];
        all.retain(|(k, _)| !vars.iter().any(|(v, _)| v == k));
        all.extend_from_slice(vars);
        let config = testkit::config(&all);
        let public_url = config.public_url.clone();
        let app = server::Application::build_with_listener(config, listener)
            .await
            .expect("server builds");
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(app.run_until_stopped(async {
            let _ = stopped.await;
        }));
        Self {
            base: format!("http://{addr}"),
            db,
            public_url,
            _stop: stop,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The Origin header browsers send from Herald's own pages.
    pub fn origin(&self) -> String {
        self.public_url.url().origin().ascii_serialization()
    }

    /// A fresh login link's token for the operator (the first active one when `None`).
    pub async fn link_token(&self, operator_id: Option<i64>) -> String {
        let operator_id = match operator_id {
            Some(id) => id,
            None => operators::active(&self.db.db).await.unwrap()[0].id,
        };
        let link = login_links::issue(&self.db.db, operator_id, &self.public_url, Actor::Cli)
            .await
            .expect("link issued");
        link.url.rsplit('/').next().unwrap().to_owned()
    }

    /// POSTs a token the way the link page's form does.
    pub async fn redeem(&self, client: &Client, token: &str) -> reqwest::Response {
        client
            .post(self.url("/auth/login"))
            .header("origin", self.origin())
            .form(&[("token", token)])
            .send()
            .await
            .unwrap()
    }

    /// A cookie-keeping client signed in as the operator (the first active one when `None`).
    pub async fn signed_in(&self, operator_id: Option<i64>) -> Client {
        let client = client();
        let token = self.link_token(operator_id).await;
        let response = self.redeem(&client, &token).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            response.headers()["location"],
            "/",
            "signed in lands on the dashboard"
        );
        client
    }
}

/// Keeps cookies, does not follow redirects (tests look at them), and gives up on a response
/// that has not fully arrived in a minute: a hung page fails its test rather than the run.
pub fn client() -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .unwrap()
}

//! The operator's side: the dashboard's server functions (`POST /api/<endpoint>`, form-encoded
//! unless the function takes JSON) with the session cookie a one-time link gives, and each
//! worker's internal listener: its `/health` and the simulator's control routes.

use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};

/// Why a call did not succeed, and whether it may still have taken effect.
#[derive(Debug)]
pub enum CallError {
    /// Answered 4xx: refused before changing anything.
    Refused(String),
    /// Answered 5xx, or no answer: it may or may not have been applied.
    Uncertain(String),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Refused(why) => write!(f, "refused: {why}"),
            Self::Uncertain(why) => write!(f, "uncertain: {why}"),
        }
    }
}

pub type Call<T> = Result<T, CallError>;

pub struct Dashboard {
    client: reqwest::Client,
    base: String,
}

impl Dashboard {
    /// Signs in with a one-time link's token, as the link's page posts it.
    pub async fn sign_in(base: &str, token: &str) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(15))
            .build()?;
        let response = client
            .post(format!("{base}/auth/login"))
            .header("origin", base)
            .form(&[("token", token)])
            .send()
            .await
            .context("posting the login token")?;
        if response.status() != reqwest::StatusCode::SEE_OTHER {
            bail!("signing in answered {}", response.status());
        }
        Ok(Self {
            client,
            base: base.to_owned(),
        })
    }

    async fn answer(response: Result<reqwest::Response, reqwest::Error>) -> Call<Value> {
        let response = response.map_err(|e| CallError::Uncertain(e.to_string()))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| CallError::Uncertain(e.to_string()))?;
        if status.is_success() {
            return Ok(serde_json::from_str(&text).unwrap_or(Value::Null));
        }
        let why = format!("{status}: {}", text.chars().take(300).collect::<String>());
        if status.is_client_error() {
            Err(CallError::Refused(why))
        } else {
            Err(CallError::Uncertain(why))
        }
    }

    async fn form(&self, endpoint: &str, fields: &[(&str, String)]) -> Call<Value> {
        let response = self
            .client
            .post(format!("{}/api/{endpoint}", self.base))
            .header("origin", &self.base)
            .form(fields)
            .send()
            .await;
        Self::answer(response).await
    }

    async fn json(&self, endpoint: &str, body: &Value) -> Call<Value> {
        let response = self
            .client
            .post(format!("{}/api/{endpoint}", self.base))
            .header("origin", &self.base)
            .json(body)
            .send()
            .await;
        Self::answer(response).await
    }

    pub async fn add_account(&self, label: &str) -> Call<i64> {
        let view = self
            .form("add_account", &[("label", label.to_owned())])
            .await?;
        view["id"]
            .as_i64()
            .ok_or_else(|| CallError::Uncertain(format!("no account id in {view}")))
    }

    pub async fn pair_account(&self, id: i64) -> Call<()> {
        self.form("pair_account", &[("id", id.to_string())])
            .await
            .map(drop)
    }

    /// Each account's id and status, as the accounts page lists them.
    pub async fn account_statuses(&self) -> Call<Vec<(i64, String)>> {
        let list = self.form("list_accounts", &[]).await?;
        Ok(list
            .as_array()
            .map(|accounts| {
                accounts
                    .iter()
                    .filter_map(|a| Some((a["id"].as_i64()?, a["status"].as_str()?.to_owned())))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// The group ids the wizard offers for the account.
    pub async fn group_choices(&self, account_id: i64) -> Call<Vec<i64>> {
        let list = self
            .form("group_choices", &[("account_id", account_id.to_string())])
            .await?;
        Ok(list
            .as_array()
            .map(|groups| groups.iter().filter_map(|g| g["id"].as_i64()).collect())
            .unwrap_or_default())
    }

    /// The wizard from start to save: a new draft (or the reminder's edit draft), the draft
    /// saved, then submitted. Answers the reminder's id.
    pub async fn save_reminder(&self, editing: Option<i64>, draft: &Value) -> Call<i64> {
        let draft_id = match editing {
            None => {
                let account_id = draft["account_id"].as_i64().unwrap_or_default();
                let id = self
                    .form("new_draft", &[("account_id", account_id.to_string())])
                    .await
                    .map_err(not_saved)?;
                id.as_i64()
                    .ok_or_else(|| CallError::Uncertain(format!("no draft id in {id}")))?
            }
            Some(reminder_id) => {
                let page = self
                    .form("edit_reminder", &[("reminder_id", reminder_id.to_string())])
                    .await
                    .map_err(not_saved)?;
                page["draft_id"]
                    .as_i64()
                    .ok_or_else(|| CallError::Uncertain(format!("no draft id in {page}")))?
            }
        };
        self.json("save_draft", &json!({ "id": draft_id, "draft": draft }))
            .await
            .map_err(not_saved)?;
        let outcome = self
            .form("submit_draft", &[("id", draft_id.to_string())])
            .await?;
        match outcome["Saved"]["reminder_id"].as_i64() {
            Some(id) => Ok(id),
            None => {
                // Nothing was saved; the draft would wait for the operator, so drop it.
                let _ = self
                    .form("discard_draft", &[("id", draft_id.to_string())])
                    .await;
                Err(CallError::Refused(format!("invalid: {outcome}")))
            }
        }
    }

    pub async fn pause(&self, id: i64) -> Call<()> {
        self.form("pause_reminder", &[("id", id.to_string())])
            .await
            .map(drop)
    }

    pub async fn resume(&self, id: i64) -> Call<()> {
        self.form("resume_reminder", &[("id", id.to_string())])
            .await
            .map(drop)
    }

    pub async fn duplicate(&self, id: i64) -> Call<i64> {
        let copy = self
            .form("duplicate_reminder", &[("id", id.to_string())])
            .await?;
        copy.as_i64()
            .ok_or_else(|| CallError::Uncertain(format!("no copy id in {copy}")))
    }

    pub async fn delete(&self, id: i64) -> Call<()> {
        self.form("delete_reminder", &[("id", id.to_string())])
            .await
            .map(drop)
    }

    pub async fn send_test(&self, account_id: i64, group_id: i64, text: &str) -> Call<()> {
        self.form(
            "send_test",
            &[
                ("account_id", account_id.to_string()),
                ("group_id", group_id.to_string()),
                ("text", text.to_owned()),
            ],
        )
        .await
        .map(drop)
    }

    /// The ids of the runs paused at their send window, newest first (the first page).
    pub async fn paused_runs(&self) -> Call<Vec<i64>> {
        let view = self
            .form("dashboard_runs", &[("status", "paused".to_owned())])
            .await?;
        Ok(view["runs"]
            .as_array()
            .map(|runs| runs.iter().filter_map(|r| r["id"].as_i64()).collect())
            .unwrap_or_default())
    }

    pub async fn resume_run(&self, id: i64) -> Call<()> {
        self.form("resume_run", &[("id", id.to_string())])
            .await
            .map(drop)
    }

    pub async fn cancel_run(&self, id: i64) -> Call<()> {
        self.form("cancel_run", &[("id", id.to_string())])
            .await
            .map(drop)
    }
}

/// A wizard step before the submit failed: drafts aside, nothing changed.
fn not_saved(e: CallError) -> CallError {
    match e {
        CallError::Refused(why) | CallError::Uncertain(why) => {
            CallError::Refused(format!("before submitting: {why}"))
        }
    }
}

/// What a worker's `/health` says it is and holds.
pub struct Held {
    /// The process instance its leases and simulated connections are held by.
    pub instance: String,
    pub accounts: Vec<i64>,
}

/// One worker's internal listener: `/health`, and the simulator's control routes, which act
/// only on the sessions running in that worker.
pub struct WorkerControl {
    client: reqwest::Client,
    base: String,
}

impl WorkerControl {
    pub fn new(port: u16) -> Self {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_default();
        Self {
            client,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    pub fn health_url(&self) -> String {
        format!("{}/health", self.base)
    }

    /// The worker's instance and the accounts it holds; `None` when it does not answer. Read
    /// whatever the status: a worker whose database is away answers 503 with the same body.
    pub async fn held(&self) -> Option<Held> {
        let response = self
            .client
            .get(self.health_url())
            .timeout(Duration::from_secs(1))
            .send()
            .await
            .ok()?;
        let body: Value = response.json().await.ok()?;
        Some(Held {
            instance: body["instance"].as_str()?.to_owned(),
            accounts: body["accounts"]
                .as_array()?
                .iter()
                .filter_map(Value::as_i64)
                .collect(),
        })
    }

    /// Scans the QR code the account's pairing shows; false while there is none to scan.
    pub async fn scan(&self, account_id: i64) -> bool {
        self.client
            .post(format!("{}/sim/accounts/{account_id}/scan", self.base))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
    }

    pub async fn fault(&self, account_id: i64, fault: &Value) -> Result<(), String> {
        let response = self
            .client
            .post(format!("{}/sim/accounts/{account_id}/faults", self.base))
            .json(fault)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!(
                "{}: {}",
                response.status(),
                response.text().await.unwrap_or_default()
            ))
        }
    }
}

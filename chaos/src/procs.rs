//! The real `herald-server` and `herald-worker` binaries, started, killed, paused and restarted
//! as an operator's machines would: configured only through their environment, logs appended to
//! files in the trial's directory.

use std::{
    fs::OpenOptions,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};

/// The Telegram user id of the trial's only operator: alerts go to this chat.
pub const OPERATOR_CHAT: i64 = 777_001;

/// The worker's bot token, which the fake Bot API serves.
pub const BOT_TOKEN: &str = "424242:chaos-harness-bot-token";

/// Everything both binaries are told, and where they are.
pub struct Setup {
    pub bin_dir: PathBuf,
    pub dir: PathBuf,
    pub database_url: String,
    pub server_port: u16,
    pub bot_api_url: String,
    /// `LEASE_TTL_SECS`, when not the worker's default.
    pub lease_ttl_secs: Option<u32>,
}

impl Setup {
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.server_port)
    }

    fn command(&self, binary: &str, log: &str) -> anyhow::Result<Command> {
        let mut command = Command::new(self.bin_dir.join(binary));
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(log))?;
        // Nothing from the caller's environment or a .env file may change the setup.
        command
            .env_clear()
            .current_dir(&self.dir)
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("DATABASE_URL", &self.database_url)
            .env("DATA_DIR", self.dir.join("data"))
            .env("PUBLIC_URL", self.base())
            .env("WA_PROVIDER", "sim")
            .env("TELEGRAM_ALLOWED_USER_IDS", OPERATOR_CHAT.to_string())
            // CHAOS_RUST_LOG widens the binaries' logs when a trial needs a closer look.
            .env(
                "RUST_LOG",
                std::env::var("CHAOS_RUST_LOG").unwrap_or_else(|_| "warn".to_owned()),
            )
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        Ok(command)
    }

    pub fn spawn_server(&self) -> anyhow::Result<Child> {
        let mut command = self.command("herald-server", "server.log")?;
        command.env(
            "LEPTOS_SITE_ADDR",
            format!("127.0.0.1:{}", self.server_port),
        );
        command.spawn().context("starting herald-server")
    }

    /// A worker named `name` (`WORKER_ID`), its health and simulator routes on `port`.
    pub fn spawn_worker(&self, name: &str, port: u16) -> anyhow::Result<Child> {
        let mut command = self.command("herald-worker", &format!("worker-{name}.log"))?;
        command
            .env("WORKER_ID", name)
            .env("WORKER_HEALTH_ADDR", format!("127.0.0.1:{port}"))
            // Pairing in moments; each send takes 150 ms, so kills land mid-send.
            .env("SIM_TIME_SCALE", "0.05")
            .env("SIM_SEND_LATENCY_MS", "3000")
            .env("SIM_GROUP_COUNT", "8")
            .env("SEND_MIN_INTERVAL_MS", "60")
            .env("SEND_JITTER_MS", "30")
            .env("SEND_PER_MINUTE", "100000")
            .env("SEND_PER_HOUR", "10000000")
            .env("FIRE_GRACE_MINUTES", "1")
            .env(
                "SEND_TIMEOUT_SECS",
                std::env::var("CHAOS_SEND_TIMEOUT_SECS").unwrap_or_else(|_| "2".to_owned()),
            )
            .env("TELEGRAM_BOT_TOKEN", BOT_TOKEN)
            .env("TELEGRAM_API_URL", &self.bot_api_url);
        if let Some(ttl) = self.lease_ttl_secs {
            command.env("LEASE_TTL_SECS", ttl.to_string());
        }
        command.spawn().context("starting herald-worker")
    }

    /// `herald-server login-link`: the one-time link's token.
    pub fn login_token(&self) -> anyhow::Result<String> {
        let mut command = self.command("herald-server", "login-link.log")?;
        let output = command
            .arg("login-link")
            .stdout(Stdio::piped())
            .output()
            .context("running herald-server login-link")?;
        if !output.status.success() {
            bail!("herald-server login-link exited with {}", output.status);
        }
        let link = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        link.rsplit('/')
            .next()
            .filter(|token| !token.is_empty())
            .map(str::to_owned)
            .with_context(|| format!("no token in the login link {link:?}"))
    }
}

/// Polls `url` until it answers 2xx, for up to `timeout`.
pub async fn wait_up(url: &str, timeout: Duration) -> bool {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Ok(response) = client.get(url).timeout(Duration::from_secs(2)).send().await
            && response.status().is_success()
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// SIGKILL: no shutdown at all, as a crash or the OOM killer.
pub fn kill9(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// Sends `signal` (`STOP`, `CONT`, `TERM`) to the process.
pub fn signal(child: &Child, signal: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(child.id().to_string())
        .status();
}

/// SIGTERM, then up to `patience` for a clean exit; SIGKILL after that. Answers whether it
/// stopped by itself, and with what.
pub async fn terminate(child: &mut Child, patience: Duration) -> Result<String, String> {
    signal(child, "TERM");
    let deadline = Instant::now() + patience;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return if status.success() {
                Ok(status.to_string())
            } else {
                Err(format!("exited with {status} after SIGTERM"))
            };
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    kill9(child);
    Err(format!(
        "still running {} s after SIGTERM; killed",
        patience.as_secs()
    ))
}

/// A port that was free a moment ago.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Where `herald-server` and `herald-worker` are: beside this binary unless told.
pub fn default_bin_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("target/debug"))
}

//! The worker's memory, printed (not asserted): resident set size of a real `herald-worker`
//! process idle, with 5 WhatsApp Web accounts whose whatsapp-rust clients are built and
//! connecting, and with those plus 50 simulated accounts connected. WhatsApp cannot be reached from here, so the
//! web accounts connect to a local socket that accepts and never answers: each client holds its
//! open connection attempt, as one waiting on a slow network would.

use std::{
    process::{Child, Command as Process, Stdio},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use domain::{
    account::AccountLabel,
    bus::Command,
    status::{AccountStatus, Provider},
};
use entity::whatsapp_accounts;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, DatabaseConnection, EntityTrait};
use service::{accounts, audit::Actor};
use testkit::{TestDb, seed};
use whatsapp_rust::wacore::store::{Device, traits::DeviceStore};

const SIM_ACCOUNTS: usize = 50;
const WEB_ACCOUNTS: usize = 5;

struct WorkerProcess(Child);

impl WorkerProcess {
    async fn start(test: &TestDb, whatsapp_url: &str) -> Self {
        let port = testkit::free_port();
        let data = std::env::temp_dir().join(format!("herald-memory-{port}"));
        let child = Process::new(env!("CARGO_BIN_EXE_herald-worker"))
            .env("DATABASE_URL", test.url.expose())
            .env("DATA_DIR", &data)
            .env("WORKER_HEALTH_ADDR", format!("127.0.0.1:{port}"))
            .env("WA_WEB_URL", whatsapp_url)
            .env("SIM_TIME_SCALE", "0.01")
            .env("SIM_AUTO_SCAN_SECS", "1")
            .env("SIM_GROUP_COUNT", "20")
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .spawn()
            .expect("herald-worker starts");
        testkit::expect_up(&format!("http://127.0.0.1:{port}/health"), "herald-worker").await;
        Self(child)
    }

    /// Resident set size in KiB, from the kernel.
    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.0.id()))
            .expect("/proc is readable");
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS is reported")
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A socket that accepts connections and never says a word; counts them.
async fn silent_server() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/ws/chat", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            held.push(socket);
        }
    });
    (url, accepted)
}

async fn linked_web_account(db: &DatabaseConnection, operator_id: i64, n: usize) {
    let row = seed::account(
        db,
        operator_id,
        &format!("Web {n}"),
        AccountStatus::Connected,
    )
    .await;
    let id = row.id;
    let mut row: whatsapp_accounts::ActiveModel = row.into();
    row.provider = Set(Provider::Web);
    row.update(db).await.unwrap();
    let mut device = Device::new();
    device.pn = Some(format!("1555000{n:04}@s.whatsapp.net").parse().unwrap());
    keystore::DbBackend::new(db.clone(), id)
        .save(&device)
        .await
        .unwrap();
}

async fn settle(worker: &WorkerProcess) -> u64 {
    tokio::time::sleep(Duration::from_secs(2)).await;
    worker.rss_kib()
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

#[tokio::main]
async fn main() {
    let test = TestDb::new().await;
    let db = &test.db;
    let (url, accepted) = silent_server().await;

    let idle = {
        let worker = WorkerProcess::start(&test, &url).await;
        settle(&worker).await
    };

    let operator_id = seed::operator(db, 1001, "UTC").await.id;
    for n in 0..WEB_ACCOUNTS {
        linked_web_account(db, operator_id, n).await;
    }
    let web_only = {
        let worker = WorkerProcess::start(&test, &url).await;
        settle(&worker).await
    };
    let worker = WorkerProcess::start(&test, &url).await;
    for n in 0..SIM_ACCOUNTS {
        let label = AccountLabel::parse(&format!("Sim {n}")).unwrap();
        let account_id = accounts::add(db, Actor::Operator, operator_id, &label, Provider::Sim)
            .await
            .unwrap()
            .id;
        accounts::request(
            db,
            Actor::Operator,
            operator_id,
            &Command::Pair {
                account_id,
                phone: None,
            },
        )
        .await
        .unwrap();
    }
    for _ in 0..600 {
        let connected = whatsapp_accounts::Entity::find()
            .all(db)
            .await
            .unwrap()
            .iter()
            .filter(|a| a.provider == Provider::Sim && a.status == AccountStatus::Connected)
            .count();
        if connected == SIM_ACCOUNTS {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let loaded = settle(&worker).await;
    let connecting = accepted.load(Ordering::SeqCst);
    assert!(
        connecting >= 2 * WEB_ACCOUNTS,
        "only {connecting} web clients reached the socket"
    );

    let per_web = web_only.saturating_sub(idle) as f64 / WEB_ACCOUNTS as f64;
    let per_sim = loaded.saturating_sub(web_only) as f64 / SIM_ACCOUNTS as f64;
    println!("worker resident memory (VmRSS), release build:");
    let row = |what: String, figure: String| println!("  {what:<36} {figure}");
    row("idle, no accounts".into(), mib(idle));
    row(
        format!("{WEB_ACCOUNTS} web clients connecting"),
        mib(web_only),
    );
    row(
        format!("{WEB_ACCOUNTS} web + {SIM_ACCOUNTS} simulated connected"),
        mib(loaded),
    );
    row("per web client".into(), format!("{per_web:.0} KiB"));
    row("per simulated account".into(), format!("{per_sim:.0} KiB"));
}

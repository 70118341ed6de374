//! The whole worker on the simulator, driven the way the server and an operator drive it: commands
//! through the bus, scans and faults through the development control interface, results read
//! from the event stream and the simulator's outbox.

use std::time::Duration;

use domain::{
    account::{AccountLabel, PhoneNumber},
    bus::{Command, Event},
    pairing::Phase,
    status::{AccountStatus, Provider},
};
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};
use service::{accounts, audit::Actor, bus::events};
use testkit::TestDb;
use tokio::sync::oneshot;

struct Running {
    control: String,
    stop: Option<oneshot::Sender<()>>,
    stopped: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Running {
    async fn start(db: &TestDb) -> Self {
        let config = testkit::config(&[
            ("DATABASE_URL", db.url.expose()),
            ("WORKER_HEALTH_ADDR", "127.0.0.1:0"),
            ("WA_PROVIDER", "sim"),
            ("SIM_TIME_SCALE", "0.02"),
            ("SIM_GROUP_COUNT", "300"),
            ("RUST_LOG", "warn"),
        ]);
        let worker = worker::Worker::start(config).await.expect("worker starts");
        let control = format!("http://{}", worker.health_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(worker.run_until_stopped(async {
            let _ = stopped.await;
        }));
        Self {
            control,
            stop: Some(stop),
            stopped: Some(task),
        }
    }

    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.stopped.take().unwrap().await.unwrap().unwrap();
    }

    async fn post(&self, path: &str, body: Value) -> reqwest::StatusCode {
        reqwest::Client::new()
            .post(format!("{}{path}", self.control))
            .json(&body)
            .send()
            .await
            .unwrap()
            .status()
    }
}

async fn operator(db: &DatabaseConnection) -> i64 {
    service::operators::sync_whitelist(db, &[], domain::timezone::TimeZone::UTC)
        .await
        .unwrap();
    service::operators::active(db).await.unwrap()[0].id
}

/// Waits (bounded) for the first event after `after` that `pick` accepts.
async fn wait_for<T>(
    db: &DatabaseConnection,
    operator_id: i64,
    after: i64,
    what: &str,
    pick: impl Fn(&Event) -> Option<T>,
) -> T {
    for _ in 0..400 {
        for stored in events::after(db, operator_id, after, 1000).await.unwrap() {
            if let Some(found) = pick(&stored.event) {
                return found;
            }
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("no {what} event");
}

async fn add(db: &DatabaseConnection, operator_id: i64, label: &str) -> i64 {
    accounts::add(
        db,
        Actor::Operator,
        operator_id,
        &AccountLabel::parse(label).unwrap(),
        Provider::Sim,
    )
    .await
    .unwrap()
    .id
}

async fn request(db: &DatabaseConnection, operator_id: i64, command: Command) {
    accounts::request(db, Actor::Operator, operator_id, &command)
        .await
        .unwrap()
        .expect("the operator's account");
}

/// Pairs through the bus and the simulator's scan; returns the phone it connected as.
async fn pair(
    db: &DatabaseConnection,
    worker: &Running,
    operator_id: i64,
    account_id: i64,
    phone: Option<&str>,
) -> Event {
    let cursor = events::latest_id(db).await.unwrap();
    request(
        db,
        operator_id,
        Command::Pair {
            account_id,
            phone: None,
        },
    )
    .await;
    wait_for(db, operator_id, cursor, "session.qr", |e| {
        matches!(e, Event::Qr { account_id: a, .. } if *a == account_id).then_some(())
    })
    .await;
    let row = accounts::find(db, operator_id, account_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, AccountStatus::Pending);
    assert!(row.last_qr_png.unwrap().starts_with(b"\x89PNG"));
    assert!(row.last_qr_code.unwrap().starts_with("2@"));
    let status = worker
        .post(
            &format!("/sim/accounts/{account_id}/scan"),
            json!({ "phone": phone }),
        )
        .await;
    assert_eq!(status, 204);
    wait_for(db, operator_id, cursor, "pairing outcome", |e| match e {
        Event::Connected { account_id: a, .. } | Event::Duplicate { account_id: a, .. }
            if *a == account_id =>
        {
            Some(e.clone())
        }
        _ => None,
    })
    .await
}

#[tokio::test]
async fn pair_sync_and_send_a_test_message_through_the_simulator() {
    let db = TestDb::new().await;
    let worker = Running::start(&db).await;
    let operator_id = operator(&db.db).await;
    let id = add(&db.db, operator_id, "Bakery").await;
    let cursor = events::latest_id(&db.db).await.unwrap();

    let outcome = pair(&db.db, &worker, operator_id, id, None).await;
    assert!(matches!(outcome, Event::Connected { .. }), "{outcome:?}");
    let synced = wait_for(&db.db, operator_id, cursor, "groups.synced", |e| match e {
        Event::GroupsSynced { total, .. } => Some(*total),
        _ => None,
    })
    .await;
    assert_eq!(synced, 300);
    let groups = accounts::groups(&db.db, id).await.unwrap();
    assert_eq!(groups.len(), 300);

    let cursor = events::latest_id(&db.db).await.unwrap();
    request(
        &db.db,
        operator_id,
        Command::SendTest {
            account_id: id,
            group_id: groups[7].id,
            request_id: "req-1".into(),
            text: "Test message from Herald".into(),
        },
    )
    .await;
    let error = wait_for(&db.db, operator_id, cursor, "send_test.done", |e| match e {
        Event::SendTestDone {
            request_id, error, ..
        } if request_id == "req-1" => Some(error.clone()),
        _ => None,
    })
    .await;
    assert_eq!(error, None);
    let sent: Value = reqwest::get(format!("{}/sim/accounts/{id}/messages", worker.control))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(sent.as_array().unwrap().len(), 1, "{sent}");
    assert_eq!(sent[0]["group_jid"], groups[7].jid.as_str());
    assert_eq!(sent[0]["body"], "Test message from Herald");

    // An injected failure comes back in words.
    assert_eq!(
        worker
            .post(
                &format!("/sim/accounts/{id}/faults"),
                json!({ "fault": "fail_sends", "count": 1 }),
            )
            .await,
        204
    );
    let cursor = events::latest_id(&db.db).await.unwrap();
    request(
        &db.db,
        operator_id,
        Command::SendTest {
            account_id: id,
            group_id: groups[7].id,
            request_id: "req-2".into(),
            text: "again".into(),
        },
    )
    .await;
    let error = wait_for(&db.db, operator_id, cursor, "send_test.done", |e| match e {
        Event::SendTestDone {
            request_id, error, ..
        } if request_id == "req-2" => Some(error.clone()),
        _ => None,
    })
    .await;
    assert_eq!(error.as_deref(), Some("simulated send failure"));
    worker.stop().await;
}

#[tokio::test]
async fn vanished_groups_are_archived_and_the_session_resumes_after_a_restart() {
    let db = TestDb::new().await;
    let worker = Running::start(&db).await;
    let operator_id = operator(&db.db).await;
    let id = add(&db.db, operator_id, "Gym").await;
    let cursor = events::latest_id(&db.db).await.unwrap();
    pair(&db.db, &worker, operator_id, id, None).await;
    wait_for(&db.db, operator_id, cursor, "groups.synced", |e| {
        matches!(e, Event::GroupsSynced { .. }).then_some(())
    })
    .await;

    assert_eq!(
        worker
            .post(
                &format!("/sim/accounts/{id}/faults"),
                json!({ "fault": "set_group_count", "count": 250 }),
            )
            .await,
        204
    );
    let cursor = events::latest_id(&db.db).await.unwrap();
    request(&db.db, operator_id, Command::SyncGroups { account_id: id }).await;
    let archived = wait_for(&db.db, operator_id, cursor, "groups.synced", |e| match e {
        Event::GroupsSynced { archived, .. } => Some(*archived),
        _ => None,
    })
    .await;
    assert_eq!(archived, 50);
    let groups = accounts::groups(&db.db, id).await.unwrap();
    assert_eq!(groups.len(), 300, "archived, not deleted");
    assert_eq!(
        groups.iter().filter(|g| g.archived_at.is_some()).count(),
        50
    );
    assert!(
        groups[..250].iter().all(|g| g.archived_at.is_none()),
        "current groups first"
    );

    // A restart keeps the link: the next worker resumes it from the stored credentials.
    worker.stop().await;
    let row = accounts::find(&db.db, operator_id, id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        row.status,
        AccountStatus::Connected,
        "a clean stop is not a disconnect"
    );
    let cursor = events::latest_id(&db.db).await.unwrap();
    let worker = Running::start(&db).await;
    wait_for(&db.db, operator_id, cursor, "session.connected", |e| {
        matches!(e, Event::Connected { account_id, .. } if *account_id == id).then_some(())
    })
    .await;
    worker.stop().await;
}

#[tokio::test]
async fn two_accounts_scanned_with_the_same_phone() {
    let db = TestDb::new().await;
    let worker = Running::start(&db).await;
    let operator_id = operator(&db.db).await;
    let first = add(&db.db, operator_id, "Bakery").await;
    let second = add(&db.db, operator_id, "Bakery again").await;
    pair(&db.db, &worker, operator_id, first, Some("447700900123")).await;
    let outcome = pair(&db.db, &worker, operator_id, second, Some("447700900123")).await;
    assert_eq!(
        outcome,
        Event::Duplicate {
            account_id: second,
            phone: "447700900123".into(),
            existing_account_id: first,
            existing_label: "Bakery".into(),
        }
    );
    let row = accounts::find(&db.db, operator_id, second)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, AccountStatus::Unpaired);
    let ops: Value = reqwest::get(format!("{}/sim/accounts/{second}/ops", worker.control))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        ops.as_array()
            .unwrap()
            .iter()
            .any(|op| op["op"] == "logged_out" && op["had_credentials"] == true),
        "the duplicate link is removed from the phone: {ops}"
    );
    worker.stop().await;
}

#[tokio::test]
async fn pairing_by_phone_number_shows_a_code_and_links_that_phone() {
    let db = TestDb::new().await;
    let worker = Running::start(&db).await;
    let operator_id = operator(&db.db).await;
    let id = add(&db.db, operator_id, "Florist").await;
    let cursor = events::latest_id(&db.db).await.unwrap();
    let phone = PhoneNumber::parse("+44 7700 900123").unwrap();
    request(
        &db.db,
        operator_id,
        Command::Pair {
            account_id: id,
            phone: Some(phone.clone()),
        },
    )
    .await;
    let (code, expires_at) = wait_for(
        &db.db,
        operator_id,
        cursor,
        "session.pair_code",
        |e| match e {
            Event::PairCode {
                account_id,
                code,
                expires_at,
                ..
            } if *account_id == id => Some((code.clone(), *expires_at)),
            _ => None,
        },
    )
    .await;
    // Shown as WhatsApp shows it, valid 180 s × the time scale.
    assert_eq!(code.len(), 9, "{code}");
    assert_eq!(code.as_bytes()[4], b'-', "{code}");
    let left = expires_at - chrono::Utc::now();
    assert!(
        left > chrono::Duration::zero() && left <= chrono::Duration::milliseconds(3600),
        "{left}"
    );
    let row = accounts::find(&db.db, operator_id, id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, AccountStatus::Pending);
    assert_eq!(row.last_pair_code.as_deref(), Some(code.as_str()));
    assert!(
        row.last_qr_code.is_some(),
        "QR codes rotate beside the code"
    );

    // Typing the code on the phone: the simulator's scan, as that phone.
    let status = worker
        .post(&format!("/sim/accounts/{id}/scan"), json!({}))
        .await;
    assert_eq!(status, 204);
    let connected = wait_for(
        &db.db,
        operator_id,
        cursor,
        "session.connected",
        |e| match e {
            Event::Connected { account_id, phone } if *account_id == id => Some(phone.clone()),
            _ => None,
        },
    )
    .await;
    assert_eq!(connected, "447700900123");
    let row = accounts::find(&db.db, operator_id, id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, AccountStatus::Connected);
    assert_eq!(row.phone_number.as_deref(), Some("447700900123"));
    assert_eq!(row.last_pair_code, None, "cleared with the QR code");
    assert_eq!(row.last_qr_code, None);

    // The dashboard's fold of the pairing: the code, then linked.
    let seen: Vec<Phase> = events::current_pairing(&db.db, id)
        .await
        .unwrap()
        .iter()
        .scan(Phase::Idle, |phase, stored| {
            *phase = phase.clone().apply(&stored.event);
            Some(phase.clone())
        })
        .collect();
    assert!(
        seen.contains(&Phase::PairCode {
            code: code.clone(),
            expires_at
        }),
        "{seen:?}"
    );
    assert!(
        matches!(seen.last(), Some(Phase::Connected { phone }) if phone == "447700900123"),
        "{seen:?}"
    );
    worker.stop().await;
}

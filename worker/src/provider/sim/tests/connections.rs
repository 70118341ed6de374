//! One connection per account across workers sharing a database: a second connection replaces
//! the first, a live one replaced is recorded as an overlap, and a lapsed one is taken over
//! quietly.

use std::{sync::Arc, time::Duration};

use chrono::Utc;
use domain::status::MessageKind;
use entity::sim_connections;
use sea_orm::{ActiveValue::Set, EntityTrait, QueryOrder};
use tokio::{
    sync::mpsc,
    time::{sleep, timeout},
};

use super::{Fixture, Running, config, next_id, text};
use crate::provider::{
    Mandate, MediaFile, Provider, SendError, SessionEvent, SessionKey, StartMode,
    sim::{Fault, SimProvider, default_phone},
};

/// Another worker process over the fixture's database.
fn other_worker(fixture: &Fixture, holder: &str) -> Arc<SimProvider> {
    let sim = SimProvider::new(fixture.db.clone(), config(0.01));
    sim.set_holder(holder);
    sim
}

/// Resumes the account in `sim` with the credentials the fixture stored.
async fn resume_in(sim: &SimProvider, fixture: &Fixture, account_id: i64) -> Running {
    let key = SessionKey {
        account_id,
        generation: 1,
    };
    let (tx, events) = mpsc::unbounded_channel();
    let session = sim
        .start(key, StartMode::Resume, fixture.keys(account_id), tx)
        .await
        .expect("the session starts");
    Running {
        key,
        session,
        events,
    }
}

async fn holder_of(fixture: &Fixture, account_id: i64) -> Option<String> {
    let row = fixture.sim.connection(account_id).await.expect("readable");
    row.map(|row| row.holder)
}

fn file() -> MediaFile {
    MediaFile {
        kind: MessageKind::Image,
        mime_type: "image/png".to_owned(),
        file_name: "poster.png".to_owned(),
        sha256: "ab".repeat(32),
        bytes: vec![1, 2, 3],
    }
}

#[tokio::test]
async fn a_connection_in_another_worker_replaces_a_live_one() {
    let fixture = Fixture::new(config(0.01)).await;
    fixture.sim.set_holder("worker-1");
    let phone = default_phone(1);
    let mut first = fixture.connected(1, &phone).await;
    let jid = first.session.groups().await.expect("groups")[0].jid.clone();
    assert_eq!(holder_of(&fixture, 1).await.as_deref(), Some("worker-1"));

    let worker_2 = other_worker(&fixture, "worker-2");
    let mut second = resume_in(&worker_2, &fixture, 1).await;
    assert_eq!(
        second.next().await,
        SessionEvent::Connected {
            phone: phone.clone()
        }
    );
    let overlaps = worker_2.overlaps().await.expect("readable");
    let overlaps: Vec<_> = overlaps
        .iter()
        .map(|o| (o.account_id, o.replaced.as_str(), o.by.as_str()))
        .collect();
    assert_eq!(overlaps, [(1, "worker-1", "worker-2")]);

    // Whether or not the first worker has noticed yet, nothing it sends leaves.
    assert_eq!(
        first.session.upload(file()).await,
        Err(SendError::NotConnected)
    );
    assert_eq!(
        first.session.send(&jid, &text("late"), &next_id()).await,
        Err(SendError::NotConnected)
    );
    assert_eq!(fixture.sim.sent(1).await.map(|rows| rows.len()), Ok(0));
    let ended = timeout(Duration::from_secs(3), first.next())
        .await
        .expect("the first worker hears within 3 s");
    assert_eq!(
        ended,
        SessionEvent::Disconnected {
            reason: "stream replaced (409): another connection took over this device".to_owned()
        }
    );
    first.session.stop().await;
    assert_eq!(
        holder_of(&fixture, 1).await.as_deref(),
        Some("worker-2"),
        "the replaced session's end leaves the new connection alone"
    );

    assert!(second.session.upload(file()).await.is_ok());
    assert!(
        second
            .session
            .send(&jid, &text("on time"), &next_id())
            .await
            .is_ok()
    );
    assert_eq!(fixture.sim.sent(1).await.map(|rows| rows.len()), Ok(1));
    assert_eq!(worker_2.overlaps().await.map(|o| o.len()), Ok(1));
}

#[tokio::test]
async fn a_lapsed_connection_is_taken_over_without_an_overlap() {
    let fixture = Fixture::new(config(0.01)).await;
    // What a killed worker leaves behind: a connection nobody renews any more.
    let lapsed = Utc::now() - chrono::Duration::seconds(10);
    sim_connections::Entity::insert(sim_connections::ActiveModel {
        account_id: Set(1),
        connection: Set("killed".to_owned()),
        holder: Set("killed-worker".to_owned()),
        since: Set(lapsed - chrono::Duration::minutes(5)),
        seen_at: Set(lapsed),
    })
    .exec_without_returning(&fixture.db)
    .await
    .expect("inserted");

    let running = fixture.connected(1, &default_phone(1)).await;
    let row = fixture
        .sim
        .connection(1)
        .await
        .expect("readable")
        .expect("connected");
    assert_eq!(row.holder, fixture.sim.holder());
    assert_ne!(row.connection, "killed");
    assert_eq!(fixture.sim.overlaps().await, Ok(vec![]));
    assert!(
        running
            .session
            .send(
                &running.session.groups().await.expect("groups")[0].jid,
                &text("hi"),
                &next_id()
            )
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn an_ended_session_lets_its_connection_go() {
    let fixture = Fixture::new(config(0.01)).await;
    let stopped = fixture.connected(1, &default_phone(1)).await;
    let mut dropped = fixture.connected(2, &default_phone(2)).await;
    assert!(holder_of(&fixture, 1).await.is_some());
    stopped.session.stop().await;
    assert_eq!(
        fixture.sim.connection(1).await,
        Ok(None),
        "gone once stop returns"
    );

    fixture.sim.inject(2, Fault::Disconnect).expect("injected");
    assert!(matches!(
        dropped.next().await,
        SessionEvent::Disconnected { .. }
    ));
    // The drop is reported first; the connection goes right after.
    let gone = async {
        while holder_of(&fixture, 2).await.is_some() {
            sleep(Duration::from_millis(10)).await;
        }
    };
    timeout(Duration::from_secs(2), gone)
        .await
        .expect("a dropped connection is let go");
    assert_eq!(fixture.sim.overlaps().await, Ok(vec![]));
}

#[tokio::test]
async fn one_worker_keeps_one_renewed_connection_per_account() {
    let fixture = Fixture::new(config(0.01)).await;
    let holder = fixture.sim.holder();
    assert!(holder.starts_with("sim-"), "{holder}");
    assert_ne!(
        holder,
        SimProvider::new(fixture.db.clone(), config(0.01)).holder(),
        "each provider is its own holder by default"
    );
    for account in 1..=3 {
        fixture.connected(account, &default_phone(account)).await;
    }
    let rows = sim_connections::Entity::find()
        .order_by_asc(sim_connections::Column::AccountId)
        .all(&fixture.db)
        .await
        .expect("readable");
    assert_eq!(
        rows.iter().map(|row| row.account_id).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert!(rows.iter().all(|row| row.holder == holder));
    assert_ne!(rows[0].connection, rows[1].connection);

    let renewed = async {
        loop {
            let row = fixture.sim.connection(1).await.expect("readable");
            let row = row.expect("still connected");
            if row.seen_at > rows[0].seen_at {
                return row;
            }
            sleep(Duration::from_millis(100)).await;
        }
    };
    let renewed = timeout(Duration::from_secs(3), renewed)
        .await
        .expect("renewed every second");
    assert_eq!(renewed.connection, rows[0].connection);
    assert_eq!(renewed.since, rows[0].since);

    // A restart in the same worker replaces its own connection: a reconnect, no overlap.
    let mut restarted = fixture.start(1, 2, StartMode::Resume).await;
    assert!(matches!(
        restarted.next().await,
        SessionEvent::Connected { .. }
    ));
    let rows_now = sim_connections::Entity::find()
        .all(&fixture.db)
        .await
        .expect("readable");
    assert_eq!(rows_now.len(), 3);
    let row = fixture.sim.connection(1).await.expect("readable");
    assert_ne!(
        row.map(|row| row.connection),
        Some(rows[0].connection.clone())
    );
    assert_eq!(fixture.sim.overlaps().await, Ok(vec![]));
}

#[tokio::test]
async fn a_connection_silent_past_its_lifetime_is_dropped_and_never_comes_back() {
    let fixture = Fixture::new(config(0.01)).await;
    fixture.sim.set_holder("worker-1");
    let mut paused = fixture.connected(1, &default_phone(1)).await;
    let jid = paused.session.groups().await.expect("groups")[0]
        .jid
        .clone();
    // What a worker stopped (SIGSTOP) past the connection's lifetime leaves: a connection
    // nobody renewed for 10 s, whose process then wakes up and goes on renewing it.
    sim_connections::Entity::update_many()
        .col_expr(
            sim_connections::Column::SeenAt,
            sea_orm::sea_query::Expr::value(Utc::now() - chrono::Duration::seconds(10)),
        )
        .exec(&fixture.db)
        .await
        .expect("backdated");

    assert_eq!(
        paused.session.send(&jid, &text("late"), &next_id()).await,
        Err(SendError::NotConnected),
        "WhatsApp closed the silent connection: nothing leaves it"
    );
    let ended = timeout(Duration::from_secs(3), paused.next())
        .await
        .expect("the woken worker hears within 3 s");
    assert!(
        matches!(&ended, SessionEvent::Disconnected { reason } if reason.contains("silent")),
        "{ended:?}"
    );

    let worker_2 = other_worker(&fixture, "worker-2");
    let mut taken = resume_in(&worker_2, &fixture, 1).await;
    assert!(matches!(taken.next().await, SessionEvent::Connected { .. }));
    assert_eq!(
        worker_2.overlaps().await,
        Ok(vec![]),
        "a dead connection renewed again is not live"
    );
    assert_eq!(fixture.sim.sent(1).await.map(|rows| rows.len()), Ok(0));
}

/// A worker's leases, once it has lost the account.
struct Lost;

impl Mandate for Lost {
    fn may_connect(&self, _account_id: i64) -> bool {
        false
    }
}

#[tokio::test]
async fn a_session_whose_worker_lost_the_account_before_it_connected_never_connects() {
    let fixture = Fixture::new(config(0.01)).await;
    fixture.sim.set_holder("worker-2");
    let mut live = fixture.connected(1, &default_phone(1)).await;

    // A worker that froze while connecting, and woke after worker-2 took the account over.
    let woken = other_worker(&fixture, "worker-1");
    woken.set_mandate(Arc::new(Lost));
    let mut late = resume_in(&woken, &fixture, 1).await;
    let ended = timeout(Duration::from_secs(3), late.next())
        .await
        .expect("the session ends at once");
    assert!(
        matches!(&ended, SessionEvent::Disconnected { reason } if reason.contains("no longer holds")),
        "{ended:?}"
    );
    assert_eq!(holder_of(&fixture, 1).await.as_deref(), Some("worker-2"));
    assert_eq!(fixture.sim.overlaps().await, Ok(vec![]));
    let jid = live.session.groups().await.expect("groups")[0].jid.clone();
    assert!(
        live.session
            .send(&jid, &text("still here"), &next_id())
            .await
            .is_ok()
    );
    assert!(
        timeout(Duration::from_millis(1500), live.next())
            .await
            .is_err(),
        "the live session hears nothing of it"
    );
}

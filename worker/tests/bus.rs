//! The command/event bus on the test engine: a command is claimed by exactly one of two racing
//! claimers, only claims whose claimer died are released, events become visible in id order even
//! with concurrent publishers, old rows are pruned, and on PostgreSQL a notification wakes a
//! waiter at once.

#[allow(dead_code, unused_imports)]
#[path = "delivery/harness.rs"]
mod harness;

use std::{collections::HashSet, time::Duration};

use chrono::Utc;
use domain::bus::{Command, Event};
use entity::{commands as command_rows, events as event_rows, operators};
use runtime::config::Backend;
use sea_orm::{ActiveModelTrait, ColumnTrait, Condition, EntityTrait, QueryFilter, Set};
use service::{
    bus::{
        self, commands, events,
        wake::{Topic, Waker},
    },
    database,
};
use testkit::TestDb;

/// A whitelisted operator (several may exist, unlike the one local operator).
async fn operator(db: &TestDb) -> i64 {
    static NEXT: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(1000);
    let now = Utc::now();
    operators::ActiveModel {
        telegram_user_id: Set(Some(
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        )),
        display_name: Set("Ops".into()),
        timezone: Set("UTC".into()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&db.db)
    .await
    .unwrap()
    .id
}

#[tokio::test]
async fn a_command_with_two_claimers_runs_once() {
    let test = TestDb::new().await;
    let mut queued = Vec::new();
    for account_id in 0..60 {
        queued.push(
            commands::enqueue(&test.db, &Command::SyncGroups { account_id })
                .await
                .unwrap(),
        );
    }
    // Two pools, as two worker processes would have.
    let claim_all = |name: &'static str| {
        let url = test.url.clone();
        async move {
            let db = database::connect(&url).await.unwrap();
            let mut mine = Vec::new();
            while let Some(claimed) = commands::claim_next(&db, name, Condition::all())
                .await
                .unwrap()
            {
                mine.push(claimed.id);
                commands::finish(&db, claimed.id, name, Ok(()))
                    .await
                    .unwrap();
            }
            mine
        }
    };
    let (a, b) = tokio::join!(claim_all("worker-a"), claim_all("worker-b"));

    let mut all: Vec<i64> = a.iter().chain(&b).copied().collect();
    all.sort();
    assert_eq!(all, queued, "every command claimed exactly once");
    let done = command_rows::Entity::find()
        .filter(command_rows::Column::Status.eq(domain::status::CommandStatus::Done))
        .all(&test.db)
        .await
        .unwrap();
    assert_eq!(done.len(), 60);
    for row in done {
        let expected = if a.contains(&row.id) {
            "worker-a"
        } else {
            "worker-b"
        };
        assert_eq!(row.claimed_by.as_deref(), Some(expected));
    }
}

#[tokio::test]
async fn a_claimed_command_decodes_to_what_was_queued_and_failures_are_kept() {
    let test = TestDb::new().await;
    let command = Command::SendTest {
        account_id: 3,
        group_id: 9,
        request_id: "r-1".into(),
        text: "Class at 6".into(),
    };
    let id = commands::enqueue(&test.db, &command).await.unwrap();
    let claimed = commands::claim_next(&test.db, "w", Condition::all())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claimed.id, id);
    assert_eq!(claimed.command, command);
    assert!(
        commands::claim_next(&test.db, "w", Condition::all())
            .await
            .unwrap()
            .is_none()
    );
    commands::finish(
        &test.db,
        id,
        "w",
        Err("the account is not connected".into()),
    )
    .await
    .unwrap();
    let row = command_rows::Entity::find_by_id(id)
        .one(&test.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, domain::status::CommandStatus::Error);
    assert_eq!(row.error.as_deref(), Some("the account is not connected"));
    assert!(row.finished_at.is_some());
}

#[tokio::test]
async fn commands_a_crashed_worker_left_running_are_released() {
    let test = TestDb::new().await;
    let id = commands::enqueue(
        &test.db,
        &Command::Pair {
            account_id: 1,
            phone: None,
        },
    )
    .await
    .unwrap();
    commands::claim_next(&test.db, "crashed", Condition::all())
        .await
        .unwrap()
        .unwrap();
    crash(&test, id, "crashed").await;
    assert_eq!(
        commands::release_abandoned(&test.db, commands::ORPHANED_AFTER)
            .await
            .unwrap(),
        1
    );
    let again = commands::claim_next(&test.db, "restarted", Condition::all())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.id, id);
}

#[tokio::test]
async fn a_command_a_live_peer_is_running_is_not_released() {
    let test = TestDb::new().await;
    let id = commands::enqueue(&test.db, &Command::SyncGroups { account_id: 1 })
        .await
        .unwrap();
    commands::claim_next(&test.db, "peer", Condition::all())
        .await
        .unwrap()
        .unwrap();
    // Another worker starts meanwhile (several share PostgreSQL).
    assert_eq!(
        commands::release_abandoned(&test.db, commands::ORPHANED_AFTER)
            .await
            .unwrap(),
        0
    );
    assert!(
        commands::claim_next(&test.db, "starting", Condition::all())
            .await
            .unwrap()
            .is_none()
    );
    let row = command_rows::Entity::find_by_id(id)
        .one(&test.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, domain::status::CommandStatus::Running);
    assert_eq!(row.claimed_by.as_deref(), Some("peer"));
}

#[tokio::test]
async fn a_claim_lives_as_long_as_its_claimer_beats() {
    let test = TestDb::new().await;
    let mut ids = Vec::new();
    for account_id in [1, 2] {
        ids.push(
            commands::enqueue(&test.db, &Command::SyncGroups { account_id })
                .await
                .unwrap(),
        );
    }
    commands::claim_next(&test.db, "alive", Condition::all())
        .await
        .unwrap();
    commands::claim_next(&test.db, "dead", Condition::all())
        .await
        .unwrap();
    // Both were claimed an hour ago; only one claimer has beaten since.
    crash(&test, ids[0], "alive").await;
    crash(&test, ids[1], "dead").await;
    assert_eq!(commands::heartbeat(&test.db, "alive").await.unwrap(), 1);
    assert_eq!(
        commands::release_abandoned(&test.db, commands::ORPHANED_AFTER)
            .await
            .unwrap(),
        1
    );
    let again = commands::claim_next(&test.db, "restarted", Condition::all())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.id, ids[1]);
    assert!(
        commands::claim_next(&test.db, "restarted", Condition::all())
            .await
            .unwrap()
            .is_none()
    );
    // A claim just under the limit is still its claimer's.
    let recent = Utc::now() - chrono::Duration::from_std(commands::ORPHANED_AFTER).unwrap()
        + chrono::Duration::seconds(5);
    command_rows::ActiveModel {
        id: Set(ids[0]),
        heartbeat_at: Set(Some(recent)),
        ..Default::default()
    }
    .update(&test.db)
    .await
    .unwrap();
    assert_eq!(
        commands::release_abandoned(&test.db, commands::ORPHANED_AFTER)
            .await
            .unwrap(),
        0
    );
}

/// Makes `id` look like a claim `claimer` took and never finished because its process died.
async fn crash(test: &TestDb, id: i64, claimer: &str) {
    let long_ago = Utc::now() - chrono::Duration::hours(1);
    command_rows::ActiveModel {
        id: Set(id),
        status: Set(domain::status::CommandStatus::Running),
        claimed_by: Set(Some(claimer.to_owned())),
        claimed_at: Set(Some(long_ago)),
        heartbeat_at: Set(Some(long_ago)),
        finished_at: Set(None),
        error: Set(None),
        ..Default::default()
    }
    .update(&test.db)
    .await
    .unwrap();
}

/// A send-test a killed worker claimed and sent, but never marked finished, runs again once a
/// worker releases the orphaned claim; the group still has the message once.
#[tokio::test]
async fn a_send_test_replayed_after_a_crash_reaches_the_group_once() {
    use harness::{Harness, pacing_off};

    let test = TestDb::new().await;
    let data = tempfile::tempdir().unwrap();
    let h = Harness::start(&test, data.path(), pacing_off()).await;
    let (operator_id, account_id) = (h.operator_id, h.account_id);
    let group = h.groups[3].clone();
    let id = commands::enqueue(
        &test.db,
        &Command::SendTest {
            account_id,
            group_id: group.id,
            request_id: "req-1".into(),
            text: "Test message from Herald".into(),
        },
    )
    .await
    .unwrap();
    h.wait("the test message", || async {
        (h.sim.sent(account_id).await.unwrap().len() == 1).then_some(())
    })
    .await;
    let clock = h.clock.clone();
    h.stop().await;

    let cursor = events::latest_id(&test.db).await.unwrap();
    let h = Harness::restart_from(&test, data.path(), clock, pacing_off()).await;
    h.wait("the session to resume", || async {
        let after = events::after(&test.db, operator_id, cursor, 100)
            .await
            .unwrap();
        after
            .iter()
            .any(|e| matches!(e.event, Event::Connected { .. }))
            .then_some(())
    })
    .await;
    // The dead worker's claim, released once the session is up so the replay really sends.
    let cursor = events::latest_id(&test.db).await.unwrap();
    crash(&test, id, "worker-killed").await;
    assert_eq!(
        commands::release_abandoned(&test.db, commands::ORPHANED_AFTER)
            .await
            .unwrap(),
        1
    );
    let error = h
        .wait("the replayed send-test", || async {
            events::after(&test.db, operator_id, cursor, 100)
                .await
                .unwrap()
                .into_iter()
                .find_map(|e| match e.event {
                    Event::SendTestDone {
                        request_id, error, ..
                    } if request_id == "req-1" => Some(error),
                    _ => None,
                })
        })
        .await;
    assert_eq!(error, None, "WhatsApp accepts the repeated send");
    let sent = h.sim.sent(account_id).await.unwrap();
    assert_eq!(
        sent.len(),
        1,
        "the group has the test message once: {sent:?}"
    );
    assert_eq!(sent[0].group_jid, group.jid);
    h.stop().await;
    let row = command_rows::Entity::find_by_id(id)
        .one(&test.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, domain::status::CommandStatus::Done);
    // The restarted worker's instance (`WORKER_ID/<suffix>`), not the dead one's name.
    let claimer = row.claimed_by.unwrap();
    assert!(claimer.contains('/'), "{claimer}");
}

#[tokio::test]
async fn events_become_visible_in_id_order_with_concurrent_publishers() {
    let test = TestDb::new().await;
    let operator_id = operator(&test).await;
    const PUBLISHERS: i64 = 4;
    const EACH: i64 = 25;
    let publish = |n: i64| {
        let db = test.db.clone();
        async move {
            for i in 0..EACH {
                let event = Event::Timeout {
                    account_id: n * 1000 + i,
                };
                events::publish(&db, Some(operator_id), &event)
                    .await
                    .unwrap();
            }
        }
    };
    // A reader tailing `id > cursor` while the publishers run must see every event exactly once.
    let tail = async {
        let mut cursor = 0;
        let mut seen = Vec::new();
        for _ in 0..2000 {
            for stored in events::after(&test.db, operator_id, cursor, 7)
                .await
                .unwrap()
            {
                assert!(stored.id > cursor);
                cursor = stored.id;
                seen.push(stored.event.account_id());
            }
            if seen.len() as i64 == PUBLISHERS * EACH {
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        seen
    };
    let (seen, ..) = tokio::join!(tail, publish(0), publish(1), publish(2), publish(3));

    let unique: HashSet<i64> = seen.iter().copied().collect();
    assert_eq!(seen.len() as i64, PUBLISHERS * EACH, "nothing skipped");
    assert_eq!(unique.len(), seen.len(), "nothing twice");
}

#[tokio::test]
async fn events_are_scoped_to_their_operator() {
    let test = TestDb::new().await;
    let mine = operator(&test).await;
    let theirs = operator(&test).await;
    events::publish(&test.db, Some(theirs), &Event::Timeout { account_id: 1 })
        .await
        .unwrap();
    let id = events::publish(&test.db, Some(mine), &Event::Timeout { account_id: 2 })
        .await
        .unwrap();
    let visible = events::after(&test.db, mine, 0, 100).await.unwrap();
    assert_eq!(visible.len(), 1);
    assert_eq!(visible[0].id, id);
    assert_eq!(events::latest_id(&test.db).await.unwrap(), id);
}

#[tokio::test]
async fn pruning_removes_day_old_events_and_finished_commands_only() {
    let test = TestDb::new().await;
    let operator_id = operator(&test).await;
    let old = events::publish(
        &test.db,
        Some(operator_id),
        &Event::Timeout { account_id: 1 },
    )
    .await
    .unwrap();
    let fresh = events::publish(
        &test.db,
        Some(operator_id),
        &Event::Timeout { account_id: 2 },
    )
    .await
    .unwrap();
    let long_ago = Utc::now() - chrono::Duration::hours(25);
    event_rows::ActiveModel {
        id: Set(old),
        created_at: Set(long_ago),
        ..Default::default()
    }
    .update(&test.db)
    .await
    .unwrap();
    let finished = commands::enqueue(
        &test.db,
        &Command::Pair {
            account_id: 1,
            phone: None,
        },
    )
    .await
    .unwrap();
    let waiting = commands::enqueue(
        &test.db,
        &Command::Pair {
            account_id: 2,
            phone: None,
        },
    )
    .await
    .unwrap();
    let claimed = commands::claim_next(&test.db, "w", Condition::all())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claimed.id, finished);
    commands::finish(&test.db, finished, "w", Ok(()))
        .await
        .unwrap();
    command_rows::ActiveModel {
        id: Set(finished),
        finished_at: Set(Some(long_ago)),
        ..Default::default()
    }
    .update(&test.db)
    .await
    .unwrap();

    assert_eq!(bus::prune(&test.db).await.unwrap(), 2);
    let left: Vec<i64> = event_rows::Entity::find()
        .all(&test.db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(left, [fresh]);
    let left: Vec<i64> = command_rows::Entity::find()
        .all(&test.db)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(left, [waiting], "unfinished commands are never pruned");
}

#[tokio::test]
async fn a_waiter_wakes_promptly_after_a_new_command() {
    let test = TestDb::new().await;
    let mut waker = Waker::start(&test.db, Topic::Commands).await.unwrap();
    let limit = match test.backend() {
        // NOTIFY: well under the 5 s fallback poll.
        Backend::Postgres => Duration::from_secs(2),
        // No notifications: one poll period, which must stay within 250 ms.
        Backend::Sqlite => Duration::from_millis(400),
    };
    let db = test.db.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        commands::enqueue(
            &db,
            &Command::Pair {
                account_id: 1,
                phone: None,
            },
        )
        .await
        .unwrap();
    });
    let started = std::time::Instant::now();
    waker.wait().await;
    assert!(
        started.elapsed() < limit,
        "woke after {:?}",
        started.elapsed()
    );
    // The wake-up may have come with the insert's commit or just before it on SQLite's poll.
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(
        commands::claim_next(&test.db, "w", Condition::all())
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn a_claimer_that_lost_its_claim_does_not_overwrite_the_new_outcome() {
    let test = TestDb::new().await;
    let id = commands::enqueue(&test.db, &Command::SyncGroups { account_id: 4 })
        .await
        .unwrap();
    commands::claim_next(&test.db, "stalled", Condition::all())
        .await
        .unwrap()
        .unwrap();
    // Its heartbeat stopped long enough for the claim to be released and taken again.
    command_rows::ActiveModel {
        id: Set(id),
        heartbeat_at: Set(Some(Utc::now() - chrono::Duration::minutes(5))),
        ..Default::default()
    }
    .update(&test.db)
    .await
    .unwrap();
    assert_eq!(
        commands::release_abandoned(&test.db, commands::ORPHANED_AFTER)
            .await
            .unwrap(),
        1
    );
    commands::claim_next(&test.db, "successor", Condition::all())
        .await
        .unwrap()
        .unwrap();
    commands::finish(&test.db, id, "successor", Ok(()))
        .await
        .unwrap();
    commands::finish(&test.db, id, "stalled", Err("timed out".into()))
        .await
        .unwrap();
    let row = command_rows::Entity::find_by_id(id)
        .one(&test.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (row.status, row.error),
        (domain::status::CommandStatus::Done, None)
    );
}

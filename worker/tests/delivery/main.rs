mod changes;
mod due;
mod failures;
mod harness;
mod on_demand;
mod pacing;
mod replays;
mod retries;

use std::time::Duration;

use chrono::{DateTime, TimeZone as _, Utc};
use domain::{
    bus::Event,
    status::{MessageKind, ReminderStatus, RunStatus, TargetStatus},
};
use entity::{reminder_run_targets, reminders};
use sea_orm::{DatabaseConnection, EntityTrait};
use service::{audit::Actor, reminders::PartInput};
use testkit::TestDb;
use worker::provider::sim::SimOp;

use harness::*;

#[tokio::test]
async fn a_one_off_fires_at_its_time_and_reaches_every_group_once() {
    let test = TestDb::new().await;
    let data = tempfile::tempdir().unwrap();
    let h = Harness::start(&test, data.path(), pacing_off()).await;
    let reminder = h.create(h.input("Standup", local(8, 10), &[0, 1, 2])).await;
    assert_eq!(reminder.next_fire_at, Some(at(8, 10, 0)));

    h.clock.set(at(8, 9, 59));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(h.runs(reminder.id).await.is_empty(), "nothing fires early");
    assert!(h.sim.sent(h.account_id).await.unwrap().is_empty());

    h.clock.set(at(8, 10, 0));
    let run = h.settled_run(reminder.id, at(8, 10, 0)).await;
    assert_eq!(run.status, RunStatus::Success);
    assert_eq!(
        run.fire_lag_ms,
        Some(0),
        "fired on the delivery clock's dot"
    );
    let targets = h.targets(run.id).await;
    assert_eq!(targets.len(), 3);
    for (target, group) in targets.iter().zip(&h.groups) {
        assert_eq!(target.group_jid, group.jid);
        assert_eq!(target.status, TargetStatus::Sent);
        assert_eq!(target.attempts, 1);
        assert!(target.wa_message_id.is_some());
        assert_eq!(target.latency_ms, Some(0));
    }
    let sent = h.sim.sent(h.account_id).await.unwrap();
    let mut jids: Vec<_> = sent.iter().map(|m| m.group_jid.clone()).collect();
    jids.sort();
    jids.dedup();
    assert_eq!((sent.len(), jids.len()), (3, 3), "each group exactly once");
    assert!(sent.iter().all(|m| m.body == "Standup: see you there"));

    let reminder = reminders::Entity::find_by_id(reminder.id)
        .one(&h.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reminder.status, ReminderStatus::Ended);
    assert_eq!(reminder.next_fire_at, None);
    assert!(h.events().await.iter().any(|e| matches!(
        e,
        Event::RunFinished { run_id, status: RunStatus::Success, counts, .. }
            if *run_id == run.id && counts.sent == 3
    )));
    h.stop().await;
}

#[tokio::test]
async fn a_recurring_reminder_moves_to_its_next_occurrence_and_ends_after_its_count() {
    let test = TestDb::new().await;
    let data = tempfile::tempdir().unwrap();
    let h = Harness::start(&test, data.path(), pacing_off()).await;
    let mut input = h.input("Daily", local(9, 0), &[3]);
    input.rrule = Some("FREQ=DAILY;COUNT=2".to_owned());
    let reminder = h.create(input).await;

    h.clock.set(at(9, 0, 0));
    assert_eq!(
        h.settled_run(reminder.id, at(9, 0, 0)).await.status,
        RunStatus::Success
    );
    let moved = reminders::Entity::find_by_id(reminder.id)
        .one(&h.db)
        .await
        .unwrap()
        .unwrap();
    let tomorrow = Utc.with_ymd_and_hms(2027, 1, 5, 9, 0, 0).unwrap();
    assert_eq!(
        (moved.status, moved.next_fire_at),
        (ReminderStatus::Active, Some(tomorrow))
    );

    h.clock.set(tomorrow);
    assert_eq!(
        h.settled_run(reminder.id, tomorrow).await.status,
        RunStatus::Success
    );
    let ended = reminders::Entity::find_by_id(reminder.id)
        .one(&h.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (ended.status, ended.next_fire_at),
        (ReminderStatus::Ended, None)
    );
    assert_eq!(h.runs(reminder.id).await.len(), 2);
    assert_eq!(h.sim.sent(h.account_id).await.unwrap().len(), 2);
    h.stop().await;
}

#[tokio::test]
async fn a_closing_send_window_pauses_the_run_and_resuming_sends_the_rest() {
    let test = TestDb::new().await;
    let data = tempfile::tempdir().unwrap();
    let rules = one_a_minute();
    let h = Harness::start(&test, data.path(), rules).await;
    let mut input = h.input("Windowed", local(9, 57), &[0, 1, 2, 3, 4]);
    input.send_window_end_hour = Some(10);
    let reminder = h.create(input).await;
    h.clock.set(at(9, 57, 0));
    h.sent_count(1).await;
    let paused = h
        .tick_until_run(
            reminder.id,
            at(9, 57, 0),
            chrono::Duration::seconds(1),
            |s| s != RunStatus::Running,
        )
        .await;
    assert_eq!(paused.status, RunStatus::Paused);
    let statuses: Vec<_> = h
        .targets(paused.id)
        .await
        .iter()
        .map(|t| t.status)
        .collect();
    use TargetStatus::{Pending, Sent};
    assert_eq!(statuses, [Sent, Sent, Sent, Pending, Pending]);
    let stopped = reminders::Entity::find_by_id(reminder.id)
        .one(&h.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stopped.status, ReminderStatus::Paused);
    assert!(h.events().await.iter().any(|e| matches!(
        e,
        Event::RunAlert { run_id, status: RunStatus::Paused, .. } if *run_id == paused.id
    )));

    service::runs::resume(&h.db, Actor::Operator, h.operator_id, paused.id)
        .await
        .unwrap();
    let run = h
        .tick_until_run(
            reminder.id,
            at(9, 57, 0),
            chrono::Duration::seconds(1),
            |s| s == RunStatus::Success,
        )
        .await;
    assert_eq!(run.status, RunStatus::Success);
    assert!(run.resumed_at.is_some());
    assert_eq!(h.sim.sent(h.account_id).await.unwrap().len(), 5);
    let resumed = reminders::Entity::find_by_id(reminder.id)
        .one(&h.db)
        .await
        .unwrap()
        .unwrap();
    // A one-off has nothing left after its run: resuming ends it rather than re-arming it.
    assert_eq!(resumed.status, ReminderStatus::Ended);
    h.stop().await;
}

#[tokio::test]
async fn cancelling_a_paused_run_skips_the_rest() {
    let test = TestDb::new().await;
    let data = tempfile::tempdir().unwrap();
    let rules = one_a_minute();
    let h = Harness::start(&test, data.path(), rules).await;
    let mut input = h.input("Weekly window", local(9, 59), &[0, 1, 2]);
    input.rrule = Some("FREQ=WEEKLY;BYDAY=MO".to_owned());
    input.send_window_end_hour = Some(10);
    let reminder = h.create(input).await;
    h.clock.set(at(9, 59, 0));
    h.sent_count(1).await;
    let paused = h
        .tick_until_run(
            reminder.id,
            at(9, 59, 0),
            chrono::Duration::seconds(1),
            |s| s != RunStatus::Running,
        )
        .await;
    assert_eq!(paused.status, RunStatus::Paused);

    service::runs::cancel(&h.db, Actor::Operator, h.operator_id, paused.id)
        .await
        .unwrap();
    let run = h
        .wait("the cancellation", || async {
            h.runs(reminder.id)
                .await
                .into_iter()
                .find(|r| r.status == RunStatus::Cancelled)
        })
        .await;
    let statuses: Vec<_> = h.targets(run.id).await.iter().map(|t| t.status).collect();
    assert_eq!(
        statuses,
        [
            TargetStatus::Sent,
            TargetStatus::Skipped,
            TargetStatus::Skipped
        ]
    );
    // The reminder the pause stopped fires again from next week.
    let next_week = Utc.with_ymd_and_hms(2027, 1, 11, 9, 59, 0).unwrap();
    let active = h
        .wait("the reminder to resume", || async {
            reminders::Entity::find_by_id(reminder.id)
                .one(&h.db)
                .await
                .unwrap()
                .filter(|r| r.status == ReminderStatus::Active)
        })
        .await;
    assert_eq!(active.next_fire_at, Some(next_week));
    h.stop().await;
}

#[tokio::test]
async fn an_occurrence_missed_while_down_fires_late_within_grace_and_is_recorded_beyond() {
    let test = TestDb::new().await;
    let data = tempfile::tempdir().unwrap();
    let h = Harness::start(&test, data.path(), pacing_off()).await;
    let late = h.create(h.input("Late", local(8, 30), &[0])).await;
    let lost = h.create(h.input("Lost", local(8, 20), &[1])).await;
    let clock = h.clock.clone();
    h.stop().await;

    // Down from 08:00 to 08:35: "Late" is 5 min overdue, "Lost" 15 min.
    clock.set(at(8, 35, 0));
    let h = Harness::restart_from(&test, data.path(), clock, pacing_off()).await;
    // The session comes back while the clock moves on a little.
    let run = h
        .tick_until_run(late.id, at(8, 30, 0), chrono::Duration::seconds(1), |s| {
            s != RunStatus::Running
        })
        .await;
    assert_eq!(run.status, RunStatus::Success);
    let lag = run.fire_lag_ms.unwrap();
    assert!((5 * 60 * 1000..6 * 60 * 1000).contains(&lag), "{lag}");
    let latency = h.targets(run.id).await[0].latency_ms.unwrap();
    assert!(
        (5 * 60 * 1000..6 * 60 * 1000).contains(&latency),
        "{latency}"
    );

    let missed = h.settled_run(lost.id, at(8, 20, 0)).await;
    assert_eq!(missed.status, RunStatus::Skipped);
    assert!(missed.reason.as_deref().unwrap().starts_with("missed"));
    assert_eq!(missed.fire_lag_ms, None, "a missed occurrence never fired");
    assert!(h.targets(missed.id).await.is_empty());
    assert!(h.events().await.iter().any(|e| matches!(
        e,
        Event::Missed { reminder_id, occurrences: 1, first, .. }
            if *reminder_id == lost.id && *first == at(8, 20, 0)
    )));
    let sent = h.sim.sent(h.account_id).await.unwrap();
    assert_eq!(sent.len(), 1, "the missed one is not sent");
    h.stop().await;
}

/// When the queued media sweep is next due (it is a daily cron job on the delivery clock).
async fn next_sweep(db: &DatabaseConnection) -> Option<DateTime<Utc>> {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            "SELECT scheduled_at FROM fang_tasks WHERE metadata->>'type' = 'SweepMedia' \
             AND state IN ('new', 'retried')"
        }
        _ => {
            "SELECT scheduled_at FROM fang_tasks WHERE json_extract(metadata, '$.type') = \
             'SweepMedia' AND state IN ('new', 'retried')"
        }
    };
    let row = db
        .query_one_raw(Statement::from_string(backend, sql))
        .await
        .unwrap()?;
    match backend {
        DbBackend::Postgres => row.try_get::<DateTime<Utc>>("", "scheduled_at").ok(),
        _ => DateTime::from_timestamp_millis(row.try_get::<i64>("", "scheduled_at").ok()?),
    }
}

#[tokio::test]
async fn the_media_sweep_runs_daily_as_a_job() {
    let test = TestDb::new().await;
    let data = tempfile::tempdir().unwrap();
    let h = Harness::start(&test, data.path(), pacing_off()).await;
    let first = Utc.with_ymd_and_hms(2027, 1, 5, 3, 30, 0).unwrap();
    assert_eq!(next_sweep(&h.db).await, Some(first));
    // A file nothing uses, and past its retention by then.
    let stored = service::media::store(
        &h.db,
        data.path(),
        Actor::Operator,
        h.operator_id,
        MessageKind::Document,
        "old.txt",
        Some("text/plain"),
        futures_util::stream::iter([Ok::<_, std::io::Error>(b"old notes".to_vec())]),
    )
    .await
    .unwrap();
    let path = service::media::path(data.path(), &stored).unwrap();
    h.clock
        .set(stored.created_at + service::media::RETENTION + chrono::Duration::days(1));
    h.wait("the sweep to remove the file", || async {
        (!path.exists()).then_some(())
    })
    .await;
    let next = h
        .wait("the next sweep to be queued", || async {
            next_sweep(&h.db).await.filter(|at| *at > first)
        })
        .await;
    assert_eq!(next.format("%H:%M").to_string(), "03:30");
    h.stop().await;
}

#[tokio::test]
async fn a_graceful_stop_lets_the_send_under_way_finish_and_the_next_start_sends_the_rest() {
    let test = TestDb::new().await;
    let data = tempfile::tempdir().unwrap();
    let rules = one_a_minute();
    let h = Harness::start_with(&test, data.path(), settings(rules), 400).await;
    let reminder = h
        .create(h.input("Interrupted", local(8, 10), &[0, 1, 2]))
        .await;
    h.clock.set(at(8, 10, 0));
    // Stop while the first group's send is on its way (each takes 0.4 s).
    let in_flight = h
        .wait("a send under way", || async {
            let run = h.runs(reminder.id).await.pop()?;
            h.targets(run.id)
                .await
                .into_iter()
                .find(|t| t.status == TargetStatus::Sending)
        })
        .await;
    let clock = h.clock.clone();
    h.stop().await;
    let stopped = reminder_run_targets::Entity::find_by_id(in_flight.id)
        .one(&test.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stopped.status,
        TargetStatus::Sent,
        "the send under way finished"
    );

    let h = Harness::restart_from(&test, data.path(), clock, rules).await;
    let run = h
        .tick_until_run(
            reminder.id,
            at(8, 10, 0),
            chrono::Duration::seconds(1),
            |s| s != RunStatus::Running,
        )
        .await;
    assert_eq!(run.status, RunStatus::Success);
    for target in h.targets(run.id).await {
        assert_eq!((target.status, target.attempts), (TargetStatus::Sent, 1));
    }
    assert_eq!(h.sim.sent(h.account_id).await.unwrap().len(), 3);
    h.stop().await;
}

#[tokio::test]
async fn media_goes_up_once_per_run_and_a_missing_file_fails_media_missing() {
    let test = TestDb::new().await;
    let data = tempfile::tempdir().unwrap();
    let h = Harness::start(&test, data.path(), pacing_off()).await;
    // The smallest PNG the store accepts by its bytes.
    let png: Vec<u8> = [
        &b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89"[..],
        b"\0\0\0\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\0\0\0\0IEND\xaeB`\x82",
    ]
    .concat();
    let image = service::media::store(
        &h.db,
        data.path(),
        Actor::Operator,
        h.operator_id,
        MessageKind::Image,
        "poster.png",
        Some("image/png"),
        futures_util::stream::iter([Ok::<_, std::io::Error>(png)]),
    )
    .await
    .unwrap();
    let mut input = h.input("Poster", local(8, 40), &[0, 1, 2]);
    input.parts.push(PartInput {
        kind: MessageKind::Image,
        body: Some("This week's poster".to_owned()),
        media_file_id: Some(image.id),
    });
    let reminder = h.create(input.clone()).await;
    h.clock.set(at(8, 40, 0));
    let run = h.settled_run(reminder.id, at(8, 40, 0)).await;
    assert_eq!(run.status, RunStatus::Success);
    let uploads = h
        .sim
        .ops(h.account_id)
        .into_iter()
        .filter(|op| matches!(op, SimOp::Uploaded { sha256 } if *sha256 == image.sha256))
        .count();
    assert_eq!(uploads, 1, "uploaded once for three groups");
    let sent = h.sim.sent(h.account_id).await.unwrap();
    let images: Vec<_> = sent
        .iter()
        .filter(|m| m.kind == MessageKind::Image)
        .collect();
    assert_eq!(images.len(), 3);
    assert!(images.iter().all(|m| m.body == "This week's poster"
        && m.media_sha256.as_deref() == Some(image.sha256.as_str())));
    // Each group got the text first, then the image.
    for group in &h.groups[..3] {
        let kinds: Vec<_> = sent
            .iter()
            .filter(|m| m.group_jid == group.jid)
            .map(|m| m.kind)
            .collect();
        assert_eq!(kinds, [MessageKind::Text, MessageKind::Image]);
    }

    // The file vanishes from disk: no placeholder goes out, the groups fail media_missing.
    std::fs::remove_file(service::media::path(data.path(), &image).unwrap()).unwrap();
    input.name = "Poster again".to_owned();
    input.start_local = local(8, 50);
    let again = h.create(input).await;
    h.clock.set(at(8, 50, 0));
    let run = h.settled_run(again.id, at(8, 50, 0)).await;
    assert_eq!(run.status, RunStatus::Failed);
    for target in h.targets(run.id).await {
        assert_eq!(target.status, TargetStatus::Failed);
        assert!(
            target
                .reason
                .as_deref()
                .unwrap()
                .starts_with("media_missing"),
            "{target:?}"
        );
    }
    assert_eq!(
        h.sim.sent(h.account_id).await.unwrap().len(),
        6,
        "nothing more was sent"
    );
    assert!(h.events().await.iter().any(|e| matches!(
        e,
        Event::RunAlert { run_id, status: RunStatus::Failed, .. } if *run_id == run.id
    )));
    h.stop().await;
}

mod changes;
mod due;
mod harness;

use std::time::Duration;

use chrono::{DateTime, TimeZone as _, Utc};
use domain::{
    bus::Event,
    pacing::Rules,
    status::{MessageKind, ReminderStatus, RunStatus, TargetStatus},
};
use entity::{reminder_run_targets, reminders};
use sea_orm::{DatabaseConnection, EntityTrait};
use service::{accounts, audit::Actor, reminders::PartInput};
use testkit::TestDb;
use worker::provider::sim::{Fault, SimOp};

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
async fn transient_failures_retry_after_30_s_2_min_and_10_min_then_give_up() {
    let test = TestDb::new().await;
    let data = tempfile::tempdir().unwrap();
    let h = Harness::start(&test, data.path(), pacing_off()).await;

    // Three failures, then the fourth attempt goes through.
    h.sim
        .inject(h.account_id, Fault::FailSends { count: 3 })
        .unwrap();
    let first = h.create(h.input("Retried", local(8, 5), &[0])).await;
    h.clock.set(at(8, 5, 0));
    let target = |reminder_id: i64, attempts: i32| {
        let h = &h;
        async move {
            let run = h.runs(reminder_id).await.pop()?;
            let t = h.targets(run.id).await.pop()?;
            (t.attempts == attempts && t.status == TargetStatus::Pending).then_some(t)
        }
    };
    let t = h.wait("the first failure", || target(first.id, 1)).await;
    assert_eq!(t.next_attempt_at, Some(at(8, 5, 30)));
    h.clock.set(at(8, 5, 29));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        h.targets(t.run_id).await[0].attempts,
        1,
        "no retry before its time"
    );
    h.clock.set(at(8, 5, 30));
    let t = h.wait("the second failure", || target(first.id, 2)).await;
    assert_eq!(t.next_attempt_at, Some(at(8, 7, 30)));
    h.clock.set(at(8, 7, 30));
    let t = h.wait("the third failure", || target(first.id, 3)).await;
    assert_eq!(t.next_attempt_at, Some(at(8, 17, 30)));
    h.clock.set(at(8, 17, 30));
    let run = h.settled_run(first.id, at(8, 5, 0)).await;
    assert_eq!(run.status, RunStatus::Success);
    let done = &h.targets(run.id).await[0];
    assert_eq!((done.status, done.attempts), (TargetStatus::Sent, 4));
    assert_eq!(done.latency_ms, Some(12 * 60 * 1000 + 30_000));

    // Four failures: the target fails, the run fails, and the operator is told.
    h.sim
        .inject(h.account_id, Fault::FailSends { count: 4 })
        .unwrap();
    let second = h.create(h.input("Doomed", local(9, 0), &[1])).await;
    for (attempts, moment) in [at(9, 0, 0), at(9, 0, 30), at(9, 2, 30)]
        .into_iter()
        .enumerate()
    {
        h.clock.set(moment);
        h.wait("a failed attempt", || {
            target(second.id, attempts as i32 + 1)
        })
        .await;
    }
    h.clock.set(at(9, 12, 30));
    let run = h.settled_run(second.id, at(9, 0, 0)).await;
    assert_eq!(run.status, RunStatus::Failed);
    let failed = &h.targets(run.id).await[0];
    assert_eq!((failed.status, failed.attempts), (TargetStatus::Failed, 4));
    assert!(
        failed
            .reason
            .as_deref()
            .unwrap()
            .contains("gave up after 4 attempts"),
        "{failed:?}"
    );
    assert!(h.events().await.iter().any(|e| matches!(
        e,
        Event::RunAlert { run_id, status: RunStatus::Failed, .. } if *run_id == run.id
    )));
    h.stop().await;
}

#[tokio::test]
async fn a_permanent_error_fails_at_once_and_the_run_is_partial() {
    let test = TestDb::new().await;
    let data = tempfile::tempdir().unwrap();
    let h = Harness::start(&test, data.path(), pacing_off()).await;
    // The account leaves its last group on WhatsApp's side; Herald has not synced since.
    h.sim
        .inject(h.account_id, Fault::SetGroupCount { count: 11 })
        .unwrap();
    let last = (0..h.groups.len())
        .max_by_key(|&i| h.groups[i].jid.clone())
        .unwrap();
    let first = usize::from(last == 0);
    let reminder = h
        .create(h.input("Mixed", local(8, 30), &[first, last]))
        .await;
    h.clock.set(at(8, 30, 0));
    let run = h.settled_run(reminder.id, at(8, 30, 0)).await;
    assert_eq!(run.status, RunStatus::Partial);
    let targets = h.targets(run.id).await;
    assert_eq!(targets[0].status, TargetStatus::Sent);
    assert_eq!(
        (targets[1].status, targets[1].attempts),
        (TargetStatus::Failed, 1)
    );
    assert!(
        targets[1]
            .reason
            .as_deref()
            .unwrap()
            .contains("not a participant")
    );
    assert!(h.events().await.iter().any(|e| matches!(
        e,
        Event::RunAlert { run_id, status: RunStatus::Partial, .. } if *run_id == run.id
    )));
    h.stop().await;
}

#[tokio::test]
async fn an_offline_account_skips_its_groups_with_a_reason_and_an_alert() {
    let test = TestDb::new().await;
    let data = tempfile::tempdir().unwrap();
    let h = Harness::start(&test, data.path(), pacing_off()).await;
    let reminder = h.create(h.input("Offline", local(8, 20), &[0, 1])).await;
    h.sim.inject(h.account_id, Fault::LogOut).unwrap();
    h.wait("the account to be logged out", || async {
        let row = accounts::find(&h.db, h.operator_id, h.account_id)
            .await
            .unwrap()?;
        (row.status == domain::status::AccountStatus::LoggedOut).then_some(())
    })
    .await;
    h.clock.set(at(8, 20, 0));
    let run = h.settled_run(reminder.id, at(8, 20, 0)).await;
    assert_eq!(run.status, RunStatus::Skipped);
    for target in h.targets(run.id).await {
        assert_eq!(target.status, TargetStatus::Skipped);
        assert_eq!(
            target.reason.as_deref(),
            Some("the account was not connected (logged_out)")
        );
    }
    assert!(h.sim.sent(h.account_id).await.unwrap().is_empty());
    assert!(h.events().await.iter().any(|e| matches!(
        e,
        Event::AccountOffline { run_id, label, .. } if *run_id == run.id && label == "Bakery"
    )));
    h.stop().await;
}

#[tokio::test]
async fn pacing_holds_the_interval_and_the_per_minute_cap_in_the_simulators_timestamps() {
    let test = TestDb::new().await;
    let data = tempfile::tempdir().unwrap();
    let rules = Rules {
        min_interval: Duration::from_secs(3),
        jitter: Duration::from_secs(1),
        per_minute: 5,
        per_hour_global: 5000,
    };
    let h = Harness::start(&test, data.path(), rules).await;
    let reminder = h
        .create(h.input("Paced", local(8, 1), &(0..12).collect::<Vec<_>>()))
        .await;
    h.clock.set(at(8, 1, 0));
    h.sent_count(1).await;
    let run = h
        .tick_until_run(
            reminder.id,
            at(8, 1, 0),
            chrono::Duration::milliseconds(250),
            |s| s != RunStatus::Running,
        )
        .await;
    assert_eq!(run.status, RunStatus::Success);
    let times: Vec<_> = h
        .sim
        .sent(h.account_id)
        .await
        .unwrap()
        .iter()
        .map(|m| m.sent_at)
        .collect();
    assert_eq!(times.len(), 12);
    domain::pacing::check(&times, &rules).expect("sends respect the pacing rules");
    // Five a minute: the 6th and the 11th each open a new minute.
    assert!(
        times[5] - times[0] >= chrono::Duration::seconds(60),
        "{times:?}"
    );
    assert!(
        times[10] - times[5] >= chrono::Duration::seconds(60),
        "{times:?}"
    );
    h.stop().await;
}

#[tokio::test]
async fn the_global_hourly_cap_holds_sends_for_the_next_hour() {
    let test = TestDb::new().await;
    let data = tempfile::tempdir().unwrap();
    let rules = Rules {
        per_hour_global: 4,
        ..pacing_off()
    };
    let h = Harness::start(&test, data.path(), rules).await;
    let reminder = h
        .create(h.input("Capped", local(8, 1), &(0..6).collect::<Vec<_>>()))
        .await;
    h.clock.set(at(8, 1, 0));
    h.wait("four sends", || async {
        (h.sim.sent(h.account_id).await.unwrap().len() == 4).then_some(())
    })
    .await;
    h.tick_until(at(9, 0, 0), chrono::Duration::minutes(1))
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        h.sim.sent(h.account_id).await.unwrap().len(),
        4,
        "the cap holds for an hour"
    );
    h.tick_until_run(
        reminder.id,
        at(8, 1, 0),
        chrono::Duration::seconds(5),
        |s| s == RunStatus::Success,
    )
    .await;
    assert_eq!(
        h.settled_run(reminder.id, at(8, 1, 0)).await.status,
        RunStatus::Success
    );
    let times: Vec<_> = h
        .sim
        .sent(h.account_id)
        .await
        .unwrap()
        .iter()
        .map(|m| m.sent_at)
        .collect();
    assert!(
        times[4] - times[0] >= chrono::Duration::hours(1),
        "{times:?}"
    );
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
async fn a_send_that_times_out_is_unknown_and_never_sent_again() {
    let test = TestDb::new().await;
    let data = tempfile::tempdir().unwrap();
    let mut slow = settings(pacing_off());
    slow.send_timeout = Duration::from_millis(200);
    // Sends take half a second of real time: longer than the timeout.
    let h = Harness::start_with(&test, data.path(), slow, 500).await;
    let reminder = h.create(h.input("Slow", local(8, 15), &[0])).await;
    h.clock.set(at(8, 15, 0));
    let run = h.settled_run(reminder.id, at(8, 15, 0)).await;
    assert_eq!(run.status, RunStatus::Failed);
    let target = &h.targets(run.id).await[0];
    assert_eq!((target.status, target.attempts), (TargetStatus::Unknown, 1));
    assert!(
        target.reason.as_deref().unwrap().contains("not re-sent"),
        "{target:?}"
    );
    assert_eq!(target.next_attempt_at, None);
    // Past every retry delay: still one attempt.
    h.tick_until(at(8, 30, 0), chrono::Duration::minutes(1))
        .await;
    assert_eq!(h.targets(run.id).await[0].attempts, 1);
    assert!(h.events().await.iter().any(|e| matches!(
        e,
        Event::TargetsUnknown { run_id, groups, .. }
            if *run_id == run.id && groups == &[h.groups[0].name.clone()]
    )));
    h.stop().await;
}

#[tokio::test]
async fn a_rate_limit_holds_the_account_back_before_its_next_send() {
    let test = TestDb::new().await;
    let data = tempfile::tempdir().unwrap();
    let h = Harness::start(&test, data.path(), pacing_off()).await;
    h.sim
        .inject(h.account_id, Fault::RateLimit { count: 1 })
        .unwrap();
    let reminder = h.create(h.input("Limited", local(8, 25), &[0, 1])).await;
    h.clock.set(at(8, 25, 0));
    let run = h
        .tick_until_run(
            reminder.id,
            at(8, 25, 0),
            chrono::Duration::seconds(1),
            |s| s != RunStatus::Running,
        )
        .await;
    assert_eq!(run.status, RunStatus::Success);
    let sent = h.sim.sent(h.account_id).await.unwrap();
    assert_eq!(sent.len(), 2);
    assert!(
        sent.iter().all(|m| m.sent_at >= at(8, 26, 0)),
        "nothing went out during the minute's hold: {sent:?}"
    );
    let limited = h
        .targets(run.id)
        .await
        .into_iter()
        .find(|t| t.group_jid == h.groups[0].jid)
        .unwrap();
    assert_eq!(limited.attempts, 2);
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

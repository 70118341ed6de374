//! Delivery under change and failure: the operator edits or pauses a reminder mid-run or just
//! after it came due, the worker restarts late in a long run, an upload hangs. Each test counts
//! what reached the groups in the simulator's outbox, not in Herald's own records.

use std::time::Duration;

use chrono::{DateTime, TimeZone as _, Utc};
use domain::{
    bus::Event,
    status::{MessageKind, ReminderStatus, RunStatus, TargetStatus},
};
use entity::{reminder_run_parts, reminder_runs, reminders};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use service::{
    audit::Actor,
    reminders::{PartInput, ReminderInput},
};
use testkit::TestDb;
use worker::{clock::Clock, provider::sim::Fault};

use super::harness::*;

fn texts(bodies: &[&str]) -> Vec<PartInput> {
    bodies
        .iter()
        .map(|body| PartInput {
            kind: MessageKind::Text,
            body: Some((*body).to_owned()),
            media_file_id: None,
        })
        .collect()
}

fn tomorrow(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 1, 5, h, m, 0).unwrap()
}

impl Harness {
    /// What the simulator delivered to the `i`th group, in order.
    async fn bodies_in(&self, i: usize) -> Vec<String> {
        self.sim
            .sent(self.account_id)
            .await
            .unwrap()
            .into_iter()
            .filter(|m| m.group_jid == self.groups[i].jid)
            .map(|m| m.body)
            .collect()
    }

    /// The message the run kept to send, part by part.
    async fn run_bodies(&self, run_id: i64) -> Vec<String> {
        reminder_run_parts::Entity::find()
            .filter(reminder_run_parts::Column::RunId.eq(run_id))
            .order_by_asc(reminder_run_parts::Column::Position)
            .all(&self.db)
            .await
            .unwrap()
            .into_iter()
            .map(|p| p.body.unwrap_or_default())
            .collect()
    }

    /// Moves the clock a second at a time until the simulator has sent `n` messages.
    async fn tick_until_sent(&self, n: usize) {
        for _ in 0..20_000 {
            if self.sim.sent(self.account_id).await.unwrap().len() >= n {
                return;
            }
            self.clock.advance(chrono::Duration::seconds(1));
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("timed out ticking towards {n} sends");
    }

    /// As [`Harness::wait`], for up to a minute.
    async fn wait_long<T, F, Fut>(&self, what: &str, check: F) -> T
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        for _ in 0..600 {
            if let Some(found) = check().await {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("timed out waiting for {what}");
    }

    async fn edit(&self, reminder_id: i64, input: &ReminderInput) -> reminders::Model {
        service::reminders::update(
            &self.db,
            Actor::Operator,
            self.operator_id,
            reminder_id,
            input,
            self.clock.now(),
        )
        .await
        .expect("a valid edit")
    }

    async fn reminder(&self, id: i64) -> reminders::Model {
        reminders::Entity::find_by_id(id)
            .one(&self.db)
            .await
            .unwrap()
            .unwrap()
    }

    /// Starts a daily two-part reminder at 08:10 to the first group whose second part fails
    /// once, and waits for the retry to be due: part one is out, part two waits 30 s.
    async fn half_sent(&self) -> (ReminderInput, reminders::Model) {
        let mut input = self.input("Two parts", local(8, 10), &[0]);
        input.rrule = Some("FREQ=DAILY;COUNT=2".to_owned());
        input.parts = texts(&["one", "two"]);
        let reminder = self.create(input.clone()).await;
        self.sim
            .inject(
                self.account_id,
                Fault::FailSendsAfter { after: 1, count: 1 },
            )
            .unwrap();
        self.clock.set(at(8, 10, 0));
        self.wait("part one out and part two waiting", || async {
            let run = self.runs(reminder.id).await.pop()?;
            let t = self.targets(run.id).await.pop()?;
            (t.status == TargetStatus::Pending && t.parts_sent == 1).then_some(())
        })
        .await;
        (input, reminder)
    }
}

#[tokio::test]
async fn an_edit_mid_run_changes_the_next_occurrence_only() {
    let test = TestDb::new().await;
    let data = tempfile::tempdir().unwrap();
    let h = Harness::start(&test, data.path(), pacing_off()).await;
    let (mut input, reminder) = h.half_sent().await;

    // A part is prepended while the retry waits.
    input.parts = texts(&["zero", "one", "two"]);
    h.edit(reminder.id, &input).await;
    h.clock.set(at(8, 10, 30));
    let run = h.settled_run(reminder.id, at(8, 10, 0)).await;
    assert_eq!(run.status, RunStatus::Success);
    assert_eq!(h.bodies_in(0).await, ["one", "two"], "no part twice");
    assert_eq!(h.run_bodies(run.id).await, ["one", "two"]);

    // The next occurrence sends the edited message.
    h.clock.set(tomorrow(8, 10));
    let next = h.settled_run(reminder.id, tomorrow(8, 10)).await;
    assert_eq!(next.status, RunStatus::Success);
    assert_eq!(h.bodies_in(0).await, ["one", "two", "zero", "one", "two"]);
    assert_eq!(h.run_bodies(next.id).await, ["zero", "one", "two"]);
    h.stop().await;
}

#[tokio::test]
async fn shortening_the_message_mid_run_still_sends_the_runs_last_part() {
    let test = TestDb::new().await;
    let data = tempfile::tempdir().unwrap();
    let h = Harness::start(&test, data.path(), pacing_off()).await;
    let (mut input, reminder) = h.half_sent().await;

    input.parts = texts(&["one"]);
    h.edit(reminder.id, &input).await;
    h.clock.set(at(8, 10, 30));
    let run = h.settled_run(reminder.id, at(8, 10, 0)).await;
    assert_eq!(run.status, RunStatus::Success);
    assert_eq!(h.bodies_in(0).await, ["one", "two"]);
    let target = &h.targets(run.id).await[0];
    assert_eq!((target.status, target.parts_sent), (TargetStatus::Sent, 2));
    assert!(
        target
            .wa_message_id
            .as_deref()
            .is_some_and(|id| !id.is_empty()),
        "sent means a message went out: {target:?}"
    );
    h.stop().await;
}

#[tokio::test]
async fn an_occurrence_due_while_down_survives_an_edit_and_fires_late_within_grace() {
    let test = TestDb::new().await;
    let data = tempfile::tempdir().unwrap();
    let h = Harness::start(&test, data.path(), pacing_off()).await;
    let mut input = h.input("Daily", local(9, 0), &[0]);
    input.rrule = Some("FREQ=DAILY".to_owned());
    let reminder = h.create(input.clone()).await;
    let clock = h.clock.clone();
    h.stop().await;

    // Down at 09:00; the operator rewords it at 09:03; the worker is back at 09:06.
    clock.set(at(9, 3, 0));
    input.parts = texts(&["Reworded"]);
    let edited = edit_while_down(&test, &reminder, &input, clock.now()).await;
    assert_eq!(edited.next_fire_at, Some(tomorrow(9, 0)));
    clock.set(at(9, 6, 0));
    let h = Harness::restart_from(&test, data.path(), clock, pacing_off()).await;
    let run = h
        .tick_until_run(
            reminder.id,
            at(9, 0, 0),
            chrono::Duration::seconds(1),
            |s| s != RunStatus::Running,
        )
        .await;
    assert_eq!(run.status, RunStatus::Success);
    assert_eq!(h.bodies_in(0).await, ["Reworded"]);
    let after = h.reminder(reminder.id).await;
    assert_eq!(
        (after.status, after.next_fire_at),
        (ReminderStatus::Active, Some(tomorrow(9, 0)))
    );
    h.stop().await;
}

#[tokio::test]
async fn an_occurrence_due_while_down_and_then_rescheduled_is_recorded_not_sent() {
    let test = TestDb::new().await;
    let data = tempfile::tempdir().unwrap();
    let h = Harness::start(&test, data.path(), pacing_off()).await;
    let mut input = h.input("Moved", local(9, 0), &[0]);
    input.rrule = Some("FREQ=DAILY".to_owned());
    let reminder = h.create(input.clone()).await;
    let clock = h.clock.clone();
    h.stop().await;

    // Down at 09:00; at 09:03 the operator moves it to 10:00: 10:00 replaces 09:00.
    clock.set(at(9, 3, 0));
    input.start_local = local(10, 0);
    let edited = edit_while_down(&test, &reminder, &input, clock.now()).await;
    assert_eq!(edited.next_fire_at, Some(at(10, 0, 0)));
    clock.set(at(9, 6, 0));
    let h = Harness::restart_from(&test, data.path(), clock, pacing_off()).await;
    let replaced = h.settled_run(reminder.id, at(9, 0, 0)).await;
    assert_eq!(replaced.status, RunStatus::Skipped);
    assert!(
        replaced.reason.as_deref().unwrap().contains("rescheduled"),
        "{replaced:?}"
    );
    assert!(h.events().await.iter().any(|e| matches!(
        e,
        Event::RunAlert { run_id, status: RunStatus::Skipped, .. } if *run_id == replaced.id
    )));
    assert!(h.bodies_in(0).await.is_empty());
    h.clock.set(at(10, 0, 0));
    h.settled_run(reminder.id, at(10, 0, 0)).await;
    assert_eq!(h.bodies_in(0).await.len(), 1, "sent once, at its new time");
    h.stop().await;
}

/// An edit saved through the reminder service while no worker runs.
async fn edit_while_down(
    test: &TestDb,
    reminder: &reminders::Model,
    input: &ReminderInput,
    now: DateTime<Utc>,
) -> reminders::Model {
    service::reminders::update(
        &test.db,
        Actor::Operator,
        reminder.operator_id,
        reminder.id,
        input,
        now,
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn an_occurrence_due_while_down_and_then_paused_is_recorded_with_an_alert() {
    let test = TestDb::new().await;
    let data = tempfile::tempdir().unwrap();
    let h = Harness::start(&test, data.path(), pacing_off()).await;
    let reminder = h.create(h.input("Paused late", local(9, 0), &[0])).await;
    let clock = h.clock.clone();
    h.stop().await;

    // Due at 09:00 while down; paused at 09:02, before the worker could fire it.
    clock.set(at(9, 2, 0));
    service::reminders::pause(
        &test.db,
        Actor::Operator,
        reminder.operator_id,
        reminder.id,
        None,
        clock.now(),
    )
    .await
    .unwrap();
    clock.set(at(9, 4, 0));
    let h = Harness::restart_from(&test, data.path(), clock, pacing_off()).await;
    let run = h.settled_run(reminder.id, at(9, 0, 0)).await;
    assert_eq!(run.status, RunStatus::Skipped);
    assert!(run.reason.as_deref().unwrap().contains("paused"), "{run:?}");
    assert!(
        h.bodies_in(0).await.is_empty(),
        "a paused reminder sends nothing"
    );
    assert!(h.events().await.iter().any(|e| matches!(
        e,
        Event::RunAlert { run_id, status: RunStatus::Skipped, .. } if *run_id == run.id
    )));
    h.stop().await;
}

#[tokio::test]
async fn a_restart_late_in_a_long_run_waits_for_the_account_and_sends_the_rest() {
    let test = TestDb::new().await;
    let data = tempfile::tempdir().unwrap();
    let rules = one_a_minute();
    let h = Harness::start(&test, data.path(), rules).await;
    let all: Vec<usize> = (0..12).collect();
    let reminder = h.create(h.input("Long", local(8, 10), &all)).await;
    h.clock.set(at(8, 10, 0));
    // Nine groups out (one a minute), then the worker stops.
    h.tick_until_sent(9).await;
    let clock = h.clock.clone();
    h.stop().await;

    // Back at 08:21: past the grace window counted from the run's start, not from the stop.
    clock.set(at(8, 21, 0));
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
    let mut jids: Vec<_> = h
        .sim
        .sent(h.account_id)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.group_jid)
        .collect();
    jids.sort();
    let sent = jids.len();
    jids.dedup();
    assert_eq!((sent, jids.len()), (12, 12), "each group once");
    h.stop().await;
}

#[tokio::test]
async fn a_disconnect_late_in_a_long_run_waits_for_the_account_and_sends_the_rest() {
    let test = TestDb::new().await;
    let data = tempfile::tempdir().unwrap();
    let h = Harness::start(&test, data.path(), one_a_minute()).await;
    let all: Vec<usize> = (0..12).collect();
    let reminder = h.create(h.input("Long", local(8, 10), &all)).await;
    h.clock.set(at(8, 10, 0));
    // Eleven groups out, one a minute; the connection drops just before the twelfth, over ten
    // minutes (the grace window) after the run started.
    h.tick_until_sent(11).await;
    assert!(h.clock.now() > at(8, 20, 0));
    h.sim.inject(h.account_id, Fault::Disconnect).unwrap();
    // Slow ticks: the session reconnects after about two seconds of real time.
    let run = h
        .tick_until_run(
            reminder.id,
            at(8, 10, 0),
            chrono::Duration::milliseconds(200),
            |s| s != RunStatus::Running,
        )
        .await;
    assert_eq!(run.status, RunStatus::Success);
    assert_eq!(h.sim.sent(h.account_id).await.unwrap().len(), 12);
    h.stop().await;
}

#[tokio::test]
async fn a_hung_upload_times_out_and_is_retried_then_fails_with_an_alert() {
    let test = TestDb::new().await;
    let data = tempfile::tempdir().unwrap();
    let mut quick = settings(pacing_off());
    quick.send_timeout = Duration::from_millis(100);
    let h = Harness::start_with(&test, data.path(), quick, 0).await;
    let stored = service::media::store(
        &h.db,
        data.path(),
        Actor::Operator,
        h.operator_id,
        MessageKind::Document,
        "notes.txt",
        Some("text/plain"),
        futures_util::stream::iter([Ok::<_, std::io::Error>(b"minutes".to_vec())]),
    )
    .await
    .unwrap();
    let mut input = h.input("Notes", local(8, 20), &[0]);
    input.parts.push(PartInput {
        kind: MessageKind::Document,
        body: None,
        media_file_id: Some(stored.id),
    });
    let reminder = h.create(input).await;

    // The first upload hangs: it is given up on and tried again; the run then goes through.
    h.sim
        .inject(h.account_id, Fault::HangUploads { count: 1 })
        .unwrap();
    h.clock.set(at(8, 20, 0));
    let run = h
        .tick_until_run(
            reminder.id,
            at(8, 20, 0),
            chrono::Duration::seconds(5),
            |s| s != RunStatus::Running,
        )
        .await;
    assert_eq!(run.status, RunStatus::Success);
    assert_eq!(h.bodies_in(0).await.len(), 2);

    // Every upload hangs: the groups fail and the operator hears of it.
    h.sim
        .inject(h.account_id, Fault::HangUploads { count: 100 })
        .unwrap();
    let mut input = h.input("Notes again", local(9, 0), &[1]);
    input.parts.push(PartInput {
        kind: MessageKind::Document,
        body: None,
        media_file_id: Some(stored.id),
    });
    let again = h.create(input).await;
    h.clock.set(at(9, 0, 0));
    let run = h
        .tick_until_run(again.id, at(9, 0, 0), chrono::Duration::seconds(1), |s| {
            s != RunStatus::Running
        })
        .await;
    assert_eq!(run.status, RunStatus::Failed);
    assert!(h.bodies_in(1).await.is_empty());
    assert!(h.events().await.iter().any(|e| matches!(
        e,
        Event::RunAlert { run_id, status: RunStatus::Failed, .. } if *run_id == run.id
    )));
    h.stop().await;
}

#[tokio::test]
async fn a_long_message_is_never_taken_for_an_abandoned_send() {
    let test = TestDb::new().await;
    let data = tempfile::tempdir().unwrap();
    let mut short = settings(pacing_off());
    // A send may take 2 s, so a claim unrenewed for 6 s counts as abandoned; the sweep looks
    // every 6 s. Each part takes 1.5 s: the eight parts take twice the cut-off.
    short.send_timeout = Duration::from_secs(2);
    let h = Harness::start_with(&test, data.path(), short, 1500).await;
    let mut input = h.input("Long read", local(8, 30), &[0]);
    let bodies: Vec<String> = (1..=8).map(|i| format!("chapter {i}")).collect();
    input.parts = texts(&bodies.iter().map(String::as_str).collect::<Vec<_>>());
    let reminder = h.create(input).await;
    h.clock.set(at(8, 30, 0));
    // The delivery clock keeps pace with real time while the parts go out.
    let clock = h.clock.clone();
    let ticking = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            clock.advance(chrono::Duration::milliseconds(100));
        }
    });
    // What has gone out is on record while the rest is still sending (a crash now loses
    // nothing of it).
    h.wait_long("parts recorded as they go", || async {
        let run = h.runs(reminder.id).await.pop()?;
        let target = h.targets(run.id).await.pop()?;
        let out = h.bodies_in(0).await.len();
        (target.status == TargetStatus::Sending && target.parts_sent >= 2)
            .then(|| assert!(out >= 2, "{out} delivered, {} recorded", target.parts_sent))
    })
    .await;
    let run = h
        .wait_long("the run to settle", || async {
            h.runs(reminder.id)
                .await
                .into_iter()
                .find(|r| r.status != RunStatus::Running)
        })
        .await;
    ticking.abort();
    assert_eq!(run.status, RunStatus::Success);
    assert_eq!(h.bodies_in(0).await, bodies);
    let target = &h.targets(run.id).await[0];
    assert_eq!((target.status, target.parts_sent), (TargetStatus::Sent, 8));
    assert!(
        !h.events()
            .await
            .iter()
            .any(|e| matches!(e, Event::TargetsUnknown { .. })),
        "no false alarm of an interrupted send"
    );
    h.stop().await;
}

#[tokio::test]
async fn a_reminder_deleted_mid_run_and_put_back_with_undo_finishes_its_run() {
    let test = TestDb::new().await;
    let data = tempfile::tempdir().unwrap();
    let h = Harness::start(&test, data.path(), pacing_off()).await;
    let (_, reminder) = h.half_sent().await;

    service::reminders::delete(
        &h.db,
        Actor::Operator,
        h.operator_id,
        reminder.id,
        h.clock.now(),
    )
    .await
    .unwrap();
    // The second part comes due while the reminder is deleted: the run waits for Undo instead
    // of closing its group.
    h.clock.set(at(8, 10, 30));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let run = reminder_runs::Entity::find()
        .one(&h.db)
        .await
        .unwrap()
        .expect("the run is kept");
    assert_eq!(run.status, RunStatus::Running, "{run:?}");

    service::reminders::restore(
        &h.db,
        Actor::Operator,
        h.operator_id,
        reminder.id,
        h.clock.now(),
    )
    .await
    .unwrap();
    let run = h.settled_run(reminder.id, at(8, 10, 0)).await;
    assert_eq!(run.status, RunStatus::Success);
    assert_eq!(h.bodies_in(0).await, ["one", "two"], "each part once");
    h.stop().await;
}

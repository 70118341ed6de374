//! Failed sends: transient errors retry on a schedule then give up, permanent ones fail at once,
//! an offline account skips its groups, and a send that times out is never repeated.

use std::time::Duration;

use domain::{
    bus::Event,
    status::{RunStatus, TargetStatus},
};
use service::accounts;
use testkit::TestDb;
use worker::provider::sim::Fault;

use super::harness::*;

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

//! The operator's retry of the groups a run did not reach: the run's own message goes to each
//! of them once (counted in the simulator's outbox), never to a group it reached, to one that
//! may have it only when the operator confirmed that, and a retry carried out twice sends
//! nothing more.

use std::collections::HashMap;

use domain::{
    bus::{Command, UnknownSend},
    status::{AccountStatus, RunStatus, TargetStatus},
};
use entity::reminder_run_targets;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use service::{accounts, audit::Actor, runs::RunActionError};
use testkit::TestDb;
use worker::provider::sim::Fault;

use super::harness::*;

#[tokio::test]
async fn a_run_skipped_while_its_account_was_offline_is_retried_once_to_each_group() {
    let test = TestDb::new().await;
    let data = tempfile::tempdir().unwrap();
    let mut h = Harness::start(&test, data.path(), pacing_off()).await;
    let reminder = h.create(h.input("Offline", local(8, 20), &[0, 1])).await;
    h.sim.inject(h.account_id, Fault::LogOut).unwrap();
    h.wait("the account to be logged out", || async {
        let row = accounts::find(&h.db, h.operator_id, h.account_id)
            .await
            .unwrap()?;
        (row.status == AccountStatus::LoggedOut).then_some(())
    })
    .await;
    h.clock.set(at(8, 20, 0));
    let run = h.settled_run(reminder.id, at(8, 20, 0)).await;
    assert_eq!(run.status, RunStatus::Skipped);
    assert!(h.outbox().await.is_empty());

    // Paired again (its groups are synced already), then connected: a retry before that would
    // only skip them again.
    h.pair().await;
    h.wait("the account to be connected", || async {
        let row = accounts::find(&h.db, h.operator_id, h.account_id)
            .await
            .unwrap()?;
        (row.status == AccountStatus::Connected).then_some(())
    })
    .await;
    service::runs::retry(&h.db, Actor::Operator, h.operator_id, run.id)
        .await
        .unwrap();
    let retried = h
        .tick_until_run(
            reminder.id,
            at(8, 20, 0),
            chrono::Duration::seconds(1),
            |s| s == RunStatus::Success,
        )
        .await;
    assert_eq!(retried.id, run.id, "the same run, not a new one");
    let expected: HashMap<String, usize> = [0, 1]
        .iter()
        .map(|&g| (h.groups[g].jid.clone(), 1))
        .collect();
    assert_eq!(h.outbox().await, expected);
    assert!(
        h.targets(run.id)
            .await
            .iter()
            .all(|t| t.status == TargetStatus::Sent)
    );

    // Nothing is left to retry: a second request is refused, and the command carried out
    // again (a worker that died before recording it done) sends nothing more.
    assert!(matches!(
        service::runs::retry(&h.db, Actor::Operator, h.operator_id, run.id).await,
        Err(RunActionError::NotRetryable(RunStatus::Success))
    ));
    let again = Command::RetryRun {
        account_id: h.account_id,
        run_id: run.id,
        unknown: Vec::new(),
    };
    h.delivery.execute(again).await.unwrap();
    h.tick_until(at(8, 25, 0), chrono::Duration::seconds(10))
        .await;
    assert_eq!(h.outbox().await, expected);
    h.stop().await;
}

#[tokio::test]
async fn a_partial_runs_retry_sends_only_to_the_group_that_failed() {
    let test = TestDb::new().await;
    let data = tempfile::tempdir().unwrap();
    let h = Harness::start(&test, data.path(), pacing_off()).await;
    // The account leaves its last group on WhatsApp's side: sends there fail for good.
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

    // Back in the group, the operator retries what did not go out.
    h.sim
        .inject(h.account_id, Fault::SetGroupCount { count: 12 })
        .unwrap();
    service::runs::retry(&h.db, Actor::Operator, h.operator_id, run.id)
        .await
        .unwrap();
    let retried = h
        .tick_until_run(
            reminder.id,
            at(8, 30, 0),
            chrono::Duration::seconds(1),
            |s| s == RunStatus::Success,
        )
        .await;
    assert!(retried.finished_at.is_some());
    // Its retry delays start afresh: the retry is its first attempt, not one past the last.
    let retried_target = &h.targets(run.id).await[1];
    assert_eq!(
        (retried_target.status, retried_target.attempts),
        (TargetStatus::Sent, 1)
    );
    let expected: HashMap<String, usize> = [first, last]
        .iter()
        .map(|&g| (h.groups[g].jid.clone(), 1))
        .collect();
    assert_eq!(h.outbox().await, expected);
    h.stop().await;
}

#[tokio::test]
async fn a_group_that_may_have_the_run_is_sent_it_only_by_the_confirmed_retry_and_once() {
    let test = TestDb::new().await;
    let data = tempfile::tempdir().unwrap();
    let h = Harness::start(&test, data.path(), pacing_off()).await;
    // The account leaves its last two groups on WhatsApp's side: sends there fail for good.
    h.sim
        .inject(h.account_id, Fault::SetGroupCount { count: 10 })
        .unwrap();
    let mut by_jid: Vec<usize> = (0..h.groups.len()).collect();
    by_jid.sort_by_key(|&i| h.groups[i].jid.clone());
    let (failed, unknown) = (by_jid[10], by_jid[11]);
    let reminder = h
        .create(h.input("Unsure", local(8, 40), &[failed, unknown]))
        .await;
    h.clock.set(at(8, 40, 0));
    let run = h.settled_run(reminder.id, at(8, 40, 0)).await;
    assert_eq!(run.status, RunStatus::Failed);
    // One send was cut off by a stop and reported unknown, as the sweep leaves it: WhatsApp
    // never got it, but Herald cannot know that.
    let unknown_target = h
        .targets(run.id)
        .await
        .into_iter()
        .find(|t| t.group_jid == h.groups[unknown].jid)
        .unwrap();
    reminder_run_targets::Entity::update_many()
        .col_expr(
            reminder_run_targets::Column::Status,
            Expr::value(TargetStatus::Unknown),
        )
        .col_expr(
            reminder_run_targets::Column::Reason,
            Expr::value("unknown: Herald stopped while sending"),
        )
        .filter(reminder_run_targets::Column::Id.eq(unknown_target.id))
        .exec(&h.db)
        .await
        .unwrap();
    assert!(h.outbox().await.is_empty());
    h.sim
        .inject(h.account_id, Fault::SetGroupCount { count: 12 })
        .unwrap();

    // The one-tap retry sends to the failed group only.
    service::runs::retry(&h.db, Actor::Operator, h.operator_id, run.id)
        .await
        .unwrap();
    let retried = h
        .tick_until_run(
            reminder.id,
            at(8, 40, 0),
            chrono::Duration::seconds(1),
            |s| s == RunStatus::Partial,
        )
        .await;
    assert!(retried.finished_at.is_some());
    let failed_only: HashMap<String, usize> = [(h.groups[failed].jid.clone(), 1)].into();
    assert_eq!(h.outbox().await, failed_only);

    // Confirmed, the retry sends to the group that may have it: once.
    service::runs::retry_including_unknown(&h.db, Actor::Operator, h.operator_id, run.id)
        .await
        .unwrap();
    h.tick_until_run(
        reminder.id,
        at(8, 40, 0),
        chrono::Duration::seconds(1),
        |s| s == RunStatus::Success,
    )
    .await;
    let both: HashMap<String, usize> = [failed, unknown]
        .iter()
        .map(|&g| (h.groups[g].jid.clone(), 1))
        .collect();
    assert_eq!(h.outbox().await, both);

    // Nothing is left to retry: a request is refused, and both commands carried out again
    // send nobody the message a third time.
    assert!(matches!(
        service::runs::retry_including_unknown(&h.db, Actor::Operator, h.operator_id, run.id).await,
        Err(RunActionError::NotRetryable(RunStatus::Success))
    ));
    let confirmed = UnknownSend {
        target_id: unknown_target.id,
        claim_no: unknown_target.claim_no,
    };
    for unknown in [Vec::new(), vec![confirmed]] {
        let again = Command::RetryRun {
            account_id: h.account_id,
            run_id: run.id,
            unknown,
        };
        h.delivery.execute(again).await.unwrap();
    }
    h.tick_until(at(8, 45, 0), chrono::Duration::seconds(10))
        .await;
    assert_eq!(h.outbox().await, both);
    h.stop().await;
}

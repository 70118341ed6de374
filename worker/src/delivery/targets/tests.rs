//! Outcomes land only on the claim that sent them: a late one from an earlier claim of the same
//! target never overwrites a later claim, whatever the status between.

use std::time::Duration;

use chrono::TimeZone as _;
use domain::status::AccountStatus;
use sea_orm::{ActiveModelTrait, Set};
use service::leases::{self, Timing};
use testkit::TestDb;

use super::*;

/// The operator's confirmation of resending the send `claim` left unknown.
fn confirmed(claim: Claim) -> UnknownSend {
    UnknownSend {
        target_id: claim.target_id,
        claim_no: claim.number,
    }
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 1, 4, 8, 0, 0).unwrap()
}

/// A run already rolled up with one target reported unknown.
async fn unknown_target(db: &impl ConnectionTrait) -> targets::Model {
    let now = now();
    let run = runs::ActiveModel {
        reminder_name: Set("Finished".to_owned()),
        occurrence_at: Set(now),
        status: Set(RunStatus::Failed),
        created_at: Set(now),
        finished_at: Set(Some(now)),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
    targets::ActiveModel {
        run_id: Set(run.id),
        group_jid: Set("1@g.us".to_owned()),
        group_name: Set("Choir".to_owned()),
        status: Set(TargetStatus::Unknown),
        attempts: Set(1),
        parts_sent: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_retry_never_reopens_a_target_reported_unknown() {
    let test = TestDb::new().await;
    let target = unknown_target(&test.db).await;
    let now = target.updated_at;
    let retry = Outcome::Retry {
        at: now + chrono::Duration::seconds(30),
        reason: "simulated send failure".to_owned(),
        parts_sent: 1,
    };
    settle(&test.db, Claim::of(&target), &retry, now)
        .await
        .unwrap();
    let after = find(&test, target.id).await;
    assert_eq!(after.status, TargetStatus::Failed, "{after:?}");
    assert_eq!(after.next_attempt_at, None);
    assert!(after.reason.unwrap().contains("already reported unknown"));
}

#[tokio::test]
async fn the_truth_of_a_send_replaces_an_unknown() {
    let test = TestDb::new().await;
    let target = unknown_target(&test.db).await;
    let sent = Outcome::Sent {
        wa_message_id: "3EB0AA".to_owned(),
        latency_ms: 5,
        parts_sent: 2,
    };
    settle(&test.db, Claim::of(&target), &sent, target.updated_at)
        .await
        .unwrap();
    let after = find(&test, target.id).await;
    assert_eq!((after.status, after.parts_sent), (TargetStatus::Sent, 2));
}

async fn find(test: &TestDb, target_id: i64) -> targets::Model {
    targets::Entity::find_by_id(target_id)
        .one(&test.db)
        .await
        .unwrap()
        .unwrap()
}

/// A running run of a connected account whose lease `fence` holds, with one pending target
/// in one of the account's current groups.
async fn pending_target(test: &TestDb) -> (runs::Model, targets::Model, Fence) {
    let db = &test.db;
    let operator = testkit::seed::operator(db, 7001, "UTC").await;
    let account = testkit::seed::account(db, operator.id, "Shop", AccountStatus::Connected).await;
    let group = testkit::seed::group(db, account.id, "Choir").await;
    leases::keep_rows(db).await.unwrap();
    let lease = leases::account(account.id);
    let ttl = Timing::with_ttl(Duration::from_secs(600));
    let epoch = leases::acquire(db, &lease, "a/1", ttl)
        .await
        .unwrap()
        .expect("a free lease is taken");
    let fence = Fence {
        lease,
        holder: "a/1".to_owned(),
        epoch,
    };
    let run = runs::ActiveModel {
        operator_id: Set(Some(operator.id)),
        account_id: Set(Some(account.id)),
        reminder_name: Set("Rehearsal".to_owned()),
        occurrence_at: Set(now()),
        status: Set(RunStatus::Running),
        created_at: Set(now()),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
    let target = targets::ActiveModel {
        run_id: Set(run.id),
        group_id: Set(Some(group.id)),
        group_jid: Set(group.jid),
        group_name: Set(group.name),
        status: Set(TargetStatus::Pending),
        created_at: Set(now()),
        updated_at: Set(now()),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
    (run, target, fence)
}

/// What the sweep does to a claim left unrenewed: `sending → unknown`, its claim number kept.
async fn sweep_to_unknown(test: &TestDb, target_id: i64) {
    targets::Entity::update_many()
        .col_expr(targets::Column::Status, Expr::value(TargetStatus::Unknown))
        .filter(targets::Column::Id.eq(target_id))
        .filter(targets::Column::Status.eq(TargetStatus::Sending))
        .exec(&test.db)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_late_outcome_of_a_claim_swept_to_unknown_never_lands_on_the_claim_after_a_retry() {
    let test = TestDb::new().await;
    let (run, target, fence) = pending_target(&test).await;
    let a = claim(&test.db, target.id, now(), &fence)
        .await
        .unwrap()
        .map(|row| Claim::of(&row))
        .expect("the first sender claims it");
    // A's sender freezes mid-send; the sweep reports the send unknown and the run rolls up.
    sweep_to_unknown(&test, target.id).await;
    set_run_status(
        &test.db,
        run.id,
        RunStatus::Running,
        RunStatus::Failed,
        None,
        now(),
    )
    .await
    .unwrap();
    // The operator retries, unknown groups included, and a new sender claims it.
    let later = now() + chrono::Duration::minutes(5);
    assert!(
        reopen_run(&test.db, run.id, RunStatus::Failed, later)
            .await
            .unwrap()
    );
    assert_eq!(
        reopen_unreached(&test.db, &run, &[], later).await.unwrap(),
        0,
        "a plain retry leaves it alone"
    );
    assert_eq!(
        reopen_unreached(&test.db, &run, &[confirmed(a)], later)
            .await
            .unwrap(),
        1
    );
    let b = claim(&test.db, target.id, later, &fence)
        .await
        .unwrap()
        .expect("the retry's sender claims it");
    assert_eq!(b.claim_no, a.number + 1);

    // A wakes: its renewal before a next part finds the target taken, and none of its outcomes
    // lands on B's claim.
    assert_eq!(
        renew_claim(&test.db, a, 1, later, &fence).await.unwrap(),
        Renewal::Taken
    );
    assert_eq!(
        find(&test, target.id).await,
        b,
        "A's renewal left B's claim as it was"
    );
    let outcomes = [
        Outcome::Sent {
            wa_message_id: "3EB0A1".to_owned(),
            latency_ms: 5,
            parts_sent: 1,
        },
        Outcome::Failed {
            reason: "A's late failure".to_owned(),
            parts_sent: 0,
        },
        Outcome::Retry {
            at: later + chrono::Duration::seconds(30),
            reason: "A's late retry".to_owned(),
            parts_sent: 0,
        },
        Outcome::Unknown {
            reason: "A's late unknown".to_owned(),
            parts_sent: 0,
        },
        Outcome::Released { parts_sent: 0 },
    ];
    for outcome in &outcomes {
        assert!(
            !settle(&test.db, a, outcome, later).await.unwrap(),
            "{outcome:?}"
        );
        let after = find(&test, target.id).await;
        assert_eq!(after, b, "A's {outcome:?} landed on B's claim");
    }

    // B's own renewal and outcome still land.
    let b = Claim::of(&b);
    assert_eq!(
        renew_claim(&test.db, b, 0, later, &fence).await.unwrap(),
        Renewal::Renewed
    );
    let sent = Outcome::Sent {
        wa_message_id: "3EB0B1".to_owned(),
        latency_ms: 5,
        parts_sent: 1,
    };
    assert!(settle(&test.db, b, &sent, later).await.unwrap());
    assert_eq!(find(&test, target.id).await.status, TargetStatus::Sent);
}

#[tokio::test]
async fn a_frozen_senders_late_truth_still_corrects_its_own_unknown() {
    let test = TestDb::new().await;
    let (_, target, fence) = pending_target(&test).await;
    let a = claim(&test.db, target.id, now(), &fence)
        .await
        .unwrap()
        .unwrap();
    sweep_to_unknown(&test, target.id).await;
    let sent = Outcome::Sent {
        wa_message_id: "3EB0A1".to_owned(),
        latency_ms: 5,
        parts_sent: 1,
    };
    // Not its claim any more (the sweep reported it), but the truth replaces the guess.
    assert!(!settle(&test.db, Claim::of(&a), &sent, now()).await.unwrap());
    assert_eq!(find(&test, target.id).await.status, TargetStatus::Sent);
}

#[tokio::test]
async fn an_outcome_repeated_after_its_answer_was_lost_never_lands_on_the_next_claim() {
    let test = TestDb::new().await;
    let (_, target, fence) = pending_target(&test).await;
    let a = claim(&test.db, target.id, now(), &fence)
        .await
        .unwrap()
        .unwrap();
    let retry_at = now() + chrono::Duration::seconds(30);
    let retry = Outcome::Retry {
        at: retry_at,
        reason: "simulated send failure".to_owned(),
        parts_sent: 0,
    };
    assert!(
        settle(&test.db, Claim::of(&a), &retry, now())
            .await
            .unwrap()
    );
    let b = claim(&test.db, target.id, retry_at, &fence)
        .await
        .unwrap()
        .expect("due again after its delay");
    // A handed-back claim gives its attempt back, so attempts alone cannot tell these apart.
    let released = Outcome::Released { parts_sent: 0 };
    assert!(
        settle(&test.db, Claim::of(&b), &released, retry_at)
            .await
            .unwrap()
    );
    let c = claim(&test.db, target.id, retry_at, &fence)
        .await
        .unwrap()
        .expect("taken again by the account's holder");
    assert_eq!(c.attempts, b.attempts);
    for stale in [a, b] {
        let stale = Claim::of(&stale);
        assert_eq!(
            renew_claim(&test.db, stale, 0, retry_at, &fence)
                .await
                .unwrap(),
            Renewal::Taken
        );
        // What a sender repeats when the database's answer to its first write was lost.
        for outcome in [&retry, &released] {
            assert!(!settle(&test.db, stale, outcome, retry_at).await.unwrap());
        }
        assert_eq!(find(&test, target.id).await, c);
    }
}

#[tokio::test]
async fn a_late_sent_lands_on_its_group_reopened_but_not_yet_claimed_again() {
    let test = TestDb::new().await;
    let (run, target, fence) = pending_target(&test).await;
    let a = claim(&test.db, target.id, now(), &fence)
        .await
        .unwrap()
        .map(|row| Claim::of(&row))
        .unwrap();
    sweep_to_unknown(&test, target.id).await;
    set_run_status(
        &test.db,
        run.id,
        RunStatus::Running,
        RunStatus::Failed,
        None,
        now(),
    )
    .await
    .unwrap();
    let later = now() + chrono::Duration::minutes(5);
    reopen_run(&test.db, run.id, RunStatus::Failed, later)
        .await
        .unwrap();
    // A confirmation names the claim that left it unknown: one of another claim reopens nothing.
    let stale = UnknownSend {
        claim_no: a.number + 1,
        ..confirmed(a)
    };
    assert_eq!(
        reopen_unreached(&test.db, &run, &[stale], later)
            .await
            .unwrap(),
        0
    );
    reopen_unreached(&test.db, &run, &[confirmed(a)], later)
        .await
        .unwrap();

    // A wakes before the retry's sender claims: the group has it, so it is not sent again.
    let sent = Outcome::Sent {
        wa_message_id: "3EB0A2".to_owned(),
        latency_ms: 5,
        parts_sent: 1,
    };
    assert!(!settle(&test.db, a, &sent, later).await.unwrap());
    assert_eq!(find(&test, target.id).await.status, TargetStatus::Sent);
    assert_eq!(
        claim(&test.db, target.id, later, &fence).await.unwrap(),
        None
    );
}

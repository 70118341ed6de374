//! Upcoming fires and past runs, and the operator's actions on a run.

use chrono::{DateTime, Utc};
use domain::{
    bus::{Command, UnknownSend},
    status::{MessageKind, ReminderStatus, RunStatus, TargetStatus},
};
use entity::{reminder_run_parts, reminder_run_targets, reminder_runs};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, Set,
};
use service::{
    audit::Actor,
    reminders::{self, ReminderInput},
    runs::{self, RunActionError},
};

use crate::{World, now, utc};

#[tokio::test]
async fn lists_upcoming_fires_and_history() {
    let w = World::new().await;
    let weekly = w.create(&w.weekly()).await;
    let one_off = w.create(&w.one_off()).await;
    let paused = w
        .create(&ReminderInput {
            name: "Later".into(),
            ..w.one_off()
        })
        .await;
    reminders::pause(w.db(), Actor::Operator, w.me.id, paused.id, None, now())
        .await
        .unwrap();

    let all: Vec<i64> = reminders::list(w.db(), w.me.id, None)
        .await
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(all, [weekly.id, one_off.id, paused.id]);
    let only_paused = reminders::list(w.db(), w.me.id, Some(ReminderStatus::Paused))
        .await
        .unwrap();
    assert_eq!(only_paused.len(), 1);
    assert_eq!(only_paused[0].id, paused.id);

    let fires: Vec<(i64, DateTime<Utc>)> = reminders::upcoming(w.db(), w.me.id, 4)
        .await
        .unwrap()
        .into_iter()
        .map(|(r, at)| (r.id, at))
        .collect();
    assert_eq!(
        fires,
        [
            (one_off.id, utc(2031, 3, 4, 9, 0)),
            (weekly.id, utc(2031, 3, 5, 7, 30)),
            (weekly.id, utc(2031, 3, 10, 7, 30)),
            (weekly.id, utc(2031, 3, 12, 7, 30)),
        ]
    );

    let older = w.run(&weekly, RunStatus::Success).await;
    let newer = reminder_runs::ActiveModel {
        reminder_id: Set(Some(weekly.id)),
        reminder_name: Set(weekly.name.clone()),
        account_id: Set(Some(weekly.account_id)),
        occurrence_at: Set(utc(2031, 3, 5, 7, 30)),
        status: Set(RunStatus::Running),
        created_at: Set(utc(2031, 3, 5, 7, 30)),
        operator_id: Set(Some(w.me.id)),
        ..Default::default()
    }
    .insert(w.db())
    .await
    .unwrap()
    .id;
    let history = reminders::runs(w.db(), w.me.id, weekly.id, 10)
        .await
        .unwrap();
    assert_eq!(
        history.iter().map(|h| h.run.id).collect::<Vec<_>>(),
        [newer, older]
    );
    assert!(
        reminders::runs(w.db(), w.other.id, weekly.id, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn only_a_paused_run_can_be_resumed_or_cancelled() {
    let w = World::new().await;
    let reminder = w.create(&w.one_off()).await;
    let finished = w.run(&reminder, RunStatus::Success).await;
    let refused = runs::resume(w.db(), Actor::Operator, w.me.id, finished).await;
    assert!(
        matches!(refused, Err(RunActionError::NotPaused(RunStatus::Success))),
        "{refused:?}"
    );

    let mut row = reminder_runs::Entity::find_by_id(finished)
        .one(w.db())
        .await
        .unwrap()
        .unwrap()
        .into_active_model();
    row.status = Set(RunStatus::Paused);
    row.update(w.db()).await.unwrap();
    assert!(matches!(
        runs::resume(w.db(), Actor::Operator, w.other.id, finished).await,
        Err(RunActionError::NotFound)
    ));
    assert!(matches!(
        runs::cancel(w.db(), Actor::Operator, w.me.id, i64::MAX).await,
        Err(RunActionError::NotFound)
    ));

    runs::resume(w.db(), Actor::Operator, w.me.id, finished)
        .await
        .unwrap();
    runs::cancel(w.db(), Actor::Operator, w.me.id, finished)
        .await
        .unwrap();
    let queued: Vec<Command> = w.commands().await.into_iter().skip(1).collect();
    assert_eq!(
        queued,
        [
            Command::ResumeRun {
                account_id: w.me.account,
                run_id: finished
            },
            Command::CancelRun {
                account_id: w.me.account,
                run_id: finished
            },
        ]
    );
    assert_eq!(
        w.audit("run", finished).await,
        ["run.resumed", "run.cancelled"]
    );
}

#[tokio::test]
async fn only_a_run_that_left_groups_unreached_with_its_own_message_can_be_retried() {
    let w = World::new().await;
    let reminder = w.create(&w.one_off()).await;
    let retry = |run| runs::retry(w.db(), Actor::Operator, w.me.id, run);
    // Sent, or cancelled by the operator: nothing to retry.
    for status in [RunStatus::Success, RunStatus::Cancelled, RunStatus::Paused] {
        let run = w.run(&reminder, status).await;
        let refused = retry(run).await;
        assert!(
            matches!(refused, Err(RunActionError::NotRetryable(s)) if s == status),
            "{refused:?}"
        );
        reminder_runs::Entity::delete_by_id(run)
            .exec(w.db())
            .await
            .unwrap();
    }
    // A missed occurrence recorded no message of its own.
    let missed = w.run(&reminder, RunStatus::Skipped).await;
    assert!(matches!(
        retry(missed).await,
        Err(RunActionError::NoMessage)
    ));
    reminder_run_parts::ActiveModel {
        run_id: Set(missed),
        position: Set(0),
        kind: Set(MessageKind::Text),
        body: Set(Some("Standup in 10 minutes".into())),
        ..Default::default()
    }
    .insert(w.db())
    .await
    .unwrap();
    // Every group reached or possibly reached, or no longer the account's: none is sent it
    // again.
    let target = |status, group: i64| reminder_run_targets::ActiveModel {
        run_id: Set(missed),
        group_id: Set(Some(group)),
        group_jid: Set(format!("{status}-{group}@g.us")),
        group_name: Set(format!("{status} group")),
        status: Set(status),
        attempts: Set(1),
        parts_sent: Set(0),
        created_at: Set(now()),
        updated_at: Set(now()),
        ..Default::default()
    };
    for (status, group) in [
        (TargetStatus::Sent, w.me.groups[0]),
        (TargetStatus::Unknown, w.me.groups[1]),
        (TargetStatus::Skipped, w.me.archived_group),
    ] {
        target(status, group).insert(w.db()).await.unwrap();
    }
    assert!(matches!(
        retry(missed).await,
        Err(RunActionError::NothingToRetry)
    ));
    target(TargetStatus::Failed, w.me.groups[0])
        .insert(w.db())
        .await
        .unwrap();
    let run = reminder_runs::Entity::find_by_id(missed)
        .one(w.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(runs::unreached(w.db(), &run, &[]).await.unwrap(), 1);
    let unknown = runs::unknown_sends(w.db(), &run).await.unwrap();
    assert_eq!(unknown.len(), 1);
    assert_eq!(runs::unreached(w.db(), &run, &unknown).await.unwrap(), 2);
    assert!(matches!(
        runs::retry(w.db(), Actor::Operator, w.other.id, missed).await,
        Err(RunActionError::NotFound)
    ));
    retry(missed).await.unwrap();
    assert_eq!(
        w.commands().await.last(),
        Some(&Command::RetryRun {
            account_id: w.me.account,
            run_id: missed,
            unknown: Vec::new(),
        })
    );
    assert_eq!(w.audit("run", missed).await, ["run.retried"]);

    // A file the run sent that has expired (the sweep clears it from the parts), or a reminder
    // deleted since: it cannot be sent again.
    reminder_run_parts::ActiveModel {
        run_id: Set(missed),
        position: Set(1),
        kind: Set(MessageKind::Image),
        body: Set(Some("the agenda".into())),
        media_file_id: Set(None),
        ..Default::default()
    }
    .insert(w.db())
    .await
    .unwrap();
    assert!(matches!(
        retry(missed).await,
        Err(RunActionError::MediaGone)
    ));
    let mut orphan = run.into_active_model();
    orphan.reminder_id = Set(None);
    orphan.update(w.db()).await.unwrap();
    assert!(matches!(
        retry(missed).await,
        Err(RunActionError::ReminderGone)
    ));
}

#[tokio::test]
async fn groups_that_may_already_have_a_run_are_retried_only_when_asked_and_audited_so() {
    let w = World::new().await;
    let reminder = w.create(&w.one_off()).await;
    let run_id = w.run(&reminder, RunStatus::Failed).await;
    let queued = w.commands().await.len();
    reminder_run_parts::ActiveModel {
        run_id: Set(run_id),
        position: Set(0),
        kind: Set(MessageKind::Text),
        body: Set(Some("Standup in 10 minutes".into())),
        ..Default::default()
    }
    .insert(w.db())
    .await
    .unwrap();
    let target = |status, group: i64| reminder_run_targets::ActiveModel {
        run_id: Set(run_id),
        group_id: Set(Some(group)),
        group_jid: Set(format!("{group}@g.us")),
        group_name: Set(format!("Group {group}")),
        status: Set(status),
        attempts: Set(1),
        parts_sent: Set(0),
        created_at: Set(now()),
        updated_at: Set(now()),
        ..Default::default()
    };
    let plain = || runs::retry(w.db(), Actor::Operator, w.me.id, run_id);
    let with_unknown = || runs::retry_including_unknown(w.db(), Actor::Operator, w.me.id, run_id);

    // The only group that may have it is no longer the account's: nothing to send, either way.
    target(TargetStatus::Unknown, w.me.archived_group)
        .insert(w.db())
        .await
        .unwrap();
    for refused in [plain().await, with_unknown().await] {
        assert!(
            matches!(refused, Err(RunActionError::NothingToRetry)),
            "{refused:?}"
        );
    }
    // A failed group alone: a plain retry would send, but there is no unknown one to include.
    target(TargetStatus::Failed, w.me.groups[0])
        .insert(w.db())
        .await
        .unwrap();
    assert!(matches!(
        with_unknown().await,
        Err(RunActionError::NothingToRetry)
    ));
    assert_eq!(w.commands().await.len(), queued, "a refusal queues nothing");
    assert!(w.audit("run", run_id).await.is_empty());

    // One that may have it and is still the account's: only the confirmed retry includes it.
    let unsure = target(TargetStatus::Unknown, w.me.groups[1])
        .insert(w.db())
        .await
        .unwrap();
    plain().await.unwrap();
    with_unknown().await.unwrap();
    // The confirmed one names the send it confirmed, under the claim that left it unknown.
    let retry = |unknown| Command::RetryRun {
        account_id: w.me.account,
        run_id,
        unknown,
    };
    let confirmed = UnknownSend {
        target_id: unsure.id,
        claim_no: unsure.claim_no,
    };
    assert_eq!(
        w.commands().await[queued..],
        [retry(Vec::new()), retry(vec![confirmed])]
    );
    assert_eq!(w.audit("run", run_id).await, ["run.retried", "run.retried"]);
    let details: Vec<serde_json::Value> = entity::audit_log::Entity::find()
        .filter(entity::audit_log::Column::TargetType.eq("run"))
        .filter(entity::audit_log::Column::TargetId.eq(run_id.to_string()))
        .order_by_asc(entity::audit_log::Column::Id)
        .all(w.db())
        .await
        .unwrap()
        .into_iter()
        .filter_map(|row| row.detail)
        .collect();
    assert_eq!(
        details,
        [false, true].map(|include_unknown| serde_json::json!({
            "reminder": reminder.name,
            "include_unknown": include_unknown,
        }))
    );
}

#[tokio::test]
async fn the_next_fires_are_the_soonest_whichever_reminder_was_created_first() {
    let w = World::new().await;
    let weekly = w.create(&w.weekly()).await;
    let one_off = w.create(&w.one_off()).await;
    let sooner = w
        .create(&ReminderInput {
            name: "Sooner".into(),
            start_local: w.one_off().start_local - chrono::TimeDelta::hours(20),
            ..w.one_off()
        })
        .await;
    let w = &w;
    let next = |limit| async move {
        reminders::upcoming(w.db(), w.me.id, limit)
            .await
            .unwrap()
            .into_iter()
            .map(|(r, at)| (r.id, at))
            .collect::<Vec<_>>()
    };
    assert_eq!(next(1).await, [(sooner.id, utc(2031, 3, 3, 13, 0))]);
    assert_eq!(
        next(3).await,
        [
            (sooner.id, utc(2031, 3, 3, 13, 0)),
            (one_off.id, utc(2031, 3, 4, 9, 0)),
            (weekly.id, utc(2031, 3, 5, 7, 30)),
        ]
    );
}

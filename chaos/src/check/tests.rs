//! The delivery count and the reading back of alerts, on tables built by hand.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use domain::{
    bus::Event,
    status::{MessageKind, RunStatus, TargetStatus},
};
use entity::{reminder_run_parts, reminder_run_targets, reminder_runs, sim_messages, sim_overlaps};

use super::{
    Findings, Tables,
    alerts::{Message, event_key, message_key},
    deliveries::deliveries,
    overlaps::overlaps,
    runs::occurrences,
};
use crate::model;

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap_or_default()
}

fn run(id: i64, status: RunStatus) -> reminder_runs::Model {
    reminder_runs::Model {
        id,
        reminder_id: Some(1),
        reminder_name: model::name(0, 0),
        account_id: Some(1),
        occurrence_at: at(0),
        status,
        reason: None,
        started_at: None,
        finished_at: None,
        created_at: at(0),
        operator_id: Some(1),
        resumed_at: None,
        fire_lag_ms: None,
    }
}

fn target(
    id: i64,
    run_id: i64,
    status: TargetStatus,
    parts_sent: i32,
) -> reminder_run_targets::Model {
    reminder_run_targets::Model {
        id,
        run_id,
        group_id: Some(id),
        group_jid: format!("g{id}"),
        group_name: format!("Group {id}"),
        status,
        reason: (status != TargetStatus::Sent).then(|| "why".to_owned()),
        wa_message_id: None,
        latency_ms: None,
        attempts: 1,
        next_attempt_at: None,
        sent_at: None,
        created_at: at(0),
        updated_at: at(0),
        parts_sent,
        claimed_at: None,
        claimed_by: None,
        claim_no: 0,
    }
}

fn part(id: i64, run_id: i64, position: i32) -> reminder_run_parts::Model {
    reminder_run_parts::Model {
        id,
        run_id,
        position,
        kind: MessageKind::Text,
        body: Some(format!("run {run_id} part {position}")),
        media_file_id: None,
    }
}

fn delivered(id: i64, group: i64, body: &str) -> sim_messages::Model {
    sim_messages::Model {
        id,
        account_id: 1,
        group_jid: format!("g{group}"),
        kind: MessageKind::Text,
        body: body.to_owned(),
        wa_message_id: format!("3EB0{id}"),
        sent_at: at(1),
        media_sha256: None,
        repeats: 0,
    }
}

fn tables(targets: Vec<reminder_run_targets::Model>, outbox: Vec<sim_messages::Model>) -> Tables {
    Tables {
        runs: vec![run(7, RunStatus::Partial)],
        targets,
        parts: vec![part(1, 7, 0), part(2, 7, 1)],
        outbox,
        overlaps: Vec::new(),
        events: Vec::new(),
    }
}

fn checked(t: &Tables) -> Findings {
    let mut f = Findings::default();
    deliveries(t, &[], &mut f);
    f
}

#[test]
fn a_part_delivered_twice_to_a_group_is_a_duplicate() {
    let t = tables(
        vec![target(1, 7, TargetStatus::Sent, 2)],
        vec![
            delivered(1, 1, "run 7 part 0"),
            delivered(2, 1, "run 7 part 0"),
            delivered(3, 1, "run 7 part 1"),
        ],
    );
    let f = checked(&t);
    assert_eq!(f.duplicates.len(), 1, "{f:?}");
    assert!(f.other.is_empty(), "{f:?}");
}

#[test]
fn a_part_recorded_sent_and_missing_from_the_outbox_is_found() {
    let t = tables(
        vec![target(1, 7, TargetStatus::Sent, 2)],
        vec![delivered(1, 1, "run 7 part 0")],
    );
    let f = checked(&t);
    assert_eq!(f.other.len(), 1, "{f:?}");
    assert!(f.other[0].contains("part 1"), "{f:?}");
}

#[test]
fn an_unknown_send_may_or_may_not_have_arrived_but_nothing_after_it() {
    let landed = tables(
        vec![target(1, 7, TargetStatus::Unknown, 0)],
        vec![delivered(1, 1, "run 7 part 0")],
    );
    assert!(!checked(&landed).failed());
    let lost = tables(vec![target(1, 7, TargetStatus::Unknown, 0)], Vec::new());
    assert!(!checked(&lost).failed());
    let beyond = tables(
        vec![target(1, 7, TargetStatus::Unknown, 0)],
        vec![
            delivered(1, 1, "run 7 part 0"),
            delivered(2, 1, "run 7 part 1"),
        ],
    );
    assert_eq!(checked(&beyond).other.len(), 1);
}

#[test]
fn a_failed_target_with_a_delivery_disagrees_with_the_outbox() {
    let t = tables(
        vec![target(1, 7, TargetStatus::Failed, 1)],
        vec![
            delivered(1, 1, "run 7 part 0"),
            delivered(2, 1, "run 7 part 1"),
        ],
    );
    let f = checked(&t);
    assert_eq!(f.other.len(), 1, "{f:?}");
    assert!(f.other[0].contains("beyond"), "{f:?}");
}

#[test]
fn a_delivery_of_no_run_part_is_found_and_tests_are_counted_apart() {
    let t = tables(
        vec![target(1, 7, TargetStatus::Skipped, 0)],
        vec![
            delivered(1, 1, "something else"),
            delivered(2, 1, "chaos-test-1"),
            delivered(3, 2, "chaos-test-1"),
        ],
    );
    let mut f = Findings::default();
    deliveries(&t, &["chaos-test-1".to_owned()], &mut f);
    assert_eq!(f.other.len(), 1, "{f:?}");
    assert_eq!(f.duplicates.len(), 1, "{f:?}");
}

#[test]
fn alert_messages_read_back_to_their_events() {
    let labels = HashMap::from([(1, "Chaos A".to_owned())]);
    let link = "http://127.0.0.1:1/reminders/runs/42";
    let cases = [
        (
            format!("⚠️ “Chaos r1 v0” was only partly sent: 3 of 4 groups. {link}"),
            Event::RunAlert {
                account_id: 1,
                run_id: 42,
                reminder_id: Some(1),
                reminder_name: "Chaos r1 v0".into(),
                status: RunStatus::Partial,
                counts: Default::default(),
            },
        ),
        (
            format!("❓ “Chaos r1 v0”: the send to Group 1 was interrupted or never answered. {link}"),
            Event::TargetsUnknown {
                account_id: 1,
                run_id: 42,
                reminder_name: "Chaos r1 v0".into(),
                groups: vec!["Group 1".into()],
            },
        ),
        (
            "⏭ “Chaos r2 v1” was missed on Mon 7 Dec 10:00: Herald was not running, so nothing was sent.".to_owned(),
            Event::Missed {
                account_id: 1,
                reminder_id: 2,
                reminder_name: "Chaos r2 v1".into(),
                occurrences: 1,
                first: at(0),
                last: at(0),
            },
        ),
        (
            "⚠️ Chaos A was logged out of WhatsApp (401: gone). /pair Chaos A to link it again.".to_owned(),
            Event::LoggedOut {
                account_id: 1,
                reason: "401: gone".into(),
            },
        ),
        (
            "🚫 WhatsApp banned Chaos A until Mon 7 Dec 10:00 (402: banned). Herald stopped sending from it.".to_owned(),
            Event::Banned {
                account_id: 1,
                reason: "402: banned".into(),
                until: Some(at(0)),
            },
        ),
    ];
    for (text, event) in cases {
        let Message::Alert(key) = message_key(&text) else {
            panic!("not read as an alert: {text}");
        };
        assert_eq!(Some(key), event_key(&event, &labels), "{text}");
    }
    assert!(matches!(
        message_key("⏳ 12 earlier alerts were raised while Herald was down"),
        Message::Summary(12)
    ));
}

#[test]
fn a_live_connection_replaced_is_an_overlap_and_a_dead_ones_is_not() {
    let replaced = |id: i64, holder: &str| sim_overlaps::Model {
        id,
        account_id: 1,
        replaced: holder.to_owned(),
        by: "w2/b".to_owned(),
        at: at(10),
    };
    let mut t = tables(Vec::new(), Vec::new());
    t.overlaps = vec![replaced(1, "w1/killed"), replaced(2, "w1/paused")];
    let ended = [
        ("w1/killed".to_owned(), at(9)),
        // Ended only after the overlap: it was live when replaced.
        ("w1/paused".to_owned(), at(11)),
    ];
    let mut f = Findings::default();
    overlaps(&t, &ended, &mut f);
    assert_eq!(f.overlaps.len(), 1, "{f:?}");
    assert!(f.overlaps[0].contains("w1/paused"), "{f:?}");
    assert_eq!(f.notes.len(), 1, "{f:?}");
}

/// A one-off reminder due at `at(10)`, created at 0, edited (same schedule) at 12 and deleted
/// at `deleted`, with no run.
fn edited_then_deleted(deleted: i64) -> model::Reminder {
    let schedule = model::Schedule {
        zone: chrono_tz::UTC,
        start: at(10).naive_utc(),
        repeat: model::Repeat::Once,
    };
    let version = |name: &str| model::Version {
        name: name.to_owned(),
        parts: vec!["hello".to_owned()],
        schedule: schedule.clone(),
        group_ids: vec![1],
        window_end_hour: None,
    };
    let op = |kind, secs: i64| model::Op {
        kind,
        sent: at(secs),
        answered: at(secs) + chrono::TimeDelta::milliseconds(50),
    };
    model::Reminder {
        local: 0,
        id: Some(1),
        account_id: 1,
        versions: vec![version("Chaos r0 v0"), version("Chaos r0 v1")],
        ops: vec![
            op(model::OpKind::Create(0), 0),
            op(model::OpKind::Edit(1), 12),
            op(model::OpKind::Delete, deleted),
        ],
        uncertain: false,
        unedited_copy: false,
    }
}

#[test]
fn an_occurrence_carried_over_by_an_edit_and_deleted_while_its_worker_was_away_is_not_lost() {
    let reminders = [edited_then_deleted(14)];
    let t = Tables {
        runs: Vec::new(),
        targets: Vec::new(),
        parts: Vec::new(),
        outbox: Vec::new(),
        overlaps: Vec::new(),
        events: Vec::new(),
    };
    let mut f = Findings::default();
    occurrences(&t, &reminders, &[(at(3), at(30))], at(60), &mut f);
    assert!(f.lost.is_empty(), "{:?}", f.lost);
    assert!(
        f.notes
            .iter()
            .any(|n| n.contains("was not fired before the reminder was deleted")),
        "{:?}",
        f.notes
    );

    // The worker was there all along: the owed occurrence should have fired before the deletion.
    let mut f = Findings::default();
    occurrences(&t, &reminders, &[], at(60), &mut f);
    assert_eq!(f.lost.len(), 1, "{:?}", f.lost);
}

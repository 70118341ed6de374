//! Every way a submission is refused: all problems at once, reported by field.

use chrono::Duration;
use domain::{
    recurrence::{End, Frequency, Spec},
    status::MessageKind,
};
use entity::reminder_targets;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use service::reminders::{self, PartInput, ReminderInput};

use crate::{World, local, now, text, utc};

#[tokio::test]
async fn every_problem_is_reported_at_once() {
    let w = World::new().await;
    let input = ReminderInput {
        account_id: w.other.account,
        name: "   ".into(),
        timezone: "Mars/Olympus".into(),
        send_window_end_hour: Some(24),
        parts: vec![PartInput {
            kind: MessageKind::Text,
            body: Some("  ".into()),
            media_file_id: Some(w.me.image),
        }],
        group_ids: vec![],
        ..w.one_off()
    };
    let errors = w.refused(&input).await;
    assert_eq!(errors.get("name"), Some("Give the reminder a name"));
    assert_eq!(
        errors.get("account"),
        Some("Choose one of your WhatsApp accounts")
    );
    assert_eq!(
        errors.get("timezone"),
        Some("“Mars/Olympus” is not a time zone Herald knows; choose one such as Europe/London")
    );
    assert_eq!(
        errors.get("window"),
        Some("The send window must end at an hour from 0 to 23")
    );
    assert_eq!(errors.get("parts[0].body"), Some("Write the message text"));
    assert_eq!(
        errors.get("parts[0].media"),
        Some("A text message cannot carry a file; choose image, video or document")
    );
    assert_eq!(errors.get("targets"), Some("Choose at least one group"));
    assert_eq!(errors.len(), 7, "{errors}");
}

/// WhatsApp takes at most 65,536 characters in a message: a text or caption longer is refused
/// at save with its count, one that long (in characters of several bytes) is kept whole.
#[tokio::test]
async fn a_part_longer_than_whatsapp_takes_is_refused() {
    let w = World::new().await;
    let part = |body: String| PartInput {
        kind: MessageKind::Text,
        body: Some(body),
        media_file_id: None,
    };
    let errors = w
        .refused(&ReminderInput {
            parts: vec![part("ok".into()), part("x".repeat(65_537))],
            ..w.one_off()
        })
        .await;
    assert_eq!(
        errors.get("parts[1].body"),
        Some("WhatsApp takes at most 65,536 characters in one message; this has 65,537")
    );
    assert_eq!(errors.len(), 1, "{errors}");
    let longest = "é".repeat(65_536);
    let reminder = w
        .create(&ReminderInput {
            parts: vec![part(longest.clone())],
            ..w.one_off()
        })
        .await;
    let saved = service::reminders::detail(w.db(), w.me.id, reminder.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        saved.parts[0].message.body.as_deref(),
        Some(longest.as_str())
    );
}

#[tokio::test]
async fn names_are_short_single_line_text() {
    let w = World::new().await;
    for (name, message) in [
        ("x".repeat(129), "Keep the name to 128 characters or fewer"),
        (
            "two\nlines".into(),
            "A name cannot contain line breaks, tabs or other control characters",
        ),
    ] {
        let errors = w
            .refused(&ReminderInput {
                name,
                ..w.one_off()
            })
            .await;
        assert_eq!(errors.get("name"), Some(message));
        assert_eq!(errors.len(), 1, "{errors}");
    }
    // 128 characters of several bytes each fit.
    let name = "é".repeat(128);
    let reminder = w
        .create(&ReminderInput {
            name: name.clone(),
            ..w.one_off()
        })
        .await;
    assert_eq!(reminder.name, name);
}

#[tokio::test]
async fn a_one_off_in_the_past_is_refused_within_a_grace_minute() {
    let w = World::new().await;
    let utc_zone = |start_local| ReminderInput {
        timezone: "UTC".into(),
        start_local,
        ..w.one_off()
    };
    let errors = w.refused(&utc_zone(local(2031, 3, 3, 9, 58))).await;
    assert_eq!(errors.get("start"), Some("That time has already passed"));
    assert_eq!(errors.len(), 1, "{errors}");

    // In its own zone: 17:58 in Kuala Lumpur is 09:58 UTC, also past.
    let errors = w
        .refused(&ReminderInput {
            start_local: local(2031, 3, 3, 17, 58),
            ..w.one_off()
        })
        .await;
    assert_eq!(errors.get("start"), Some("That time has already passed"));

    // Thirty seconds ago is "now": it is saved and fires at once.
    let just_now = now() - Duration::seconds(30);
    let reminder = w.create(&utc_zone(just_now.naive_utc())).await;
    assert_eq!(reminder.next_fire_at, Some(just_now));
}

#[tokio::test]
async fn recurrences_must_be_expressible_and_have_a_future() {
    let w = World::new().await;
    let hourly = "FREQ=HOURLY;INTERVAL=2";
    let expected = Spec::from_rrule(hourly).unwrap_err().to_string();
    let errors = w
        .refused(&ReminderInput {
            rrule: Some(hourly.into()),
            ..w.weekly()
        })
        .await;
    assert_eq!(errors.get("recurrence"), Some(expected.as_str()));
    assert_eq!(errors.len(), 1, "{errors}");

    let over = Spec {
        end: End::After(2),
        ..Spec::every(Frequency::Daily, 1)
    };
    let errors = w
        .refused(&ReminderInput {
            start_local: local(2031, 2, 1, 9, 0),
            rrule: Some(over.to_rrule()),
            ..w.weekly()
        })
        .await;
    assert_eq!(
        errors.get("recurrence"),
        Some("This schedule has no occurrences left after now; check when it ends")
    );

    // A recurrence that began long ago but goes on is fine.
    let reminder = w
        .create(&ReminderInput {
            start_local: local(2030, 1, 6, 8, 30),
            rrule: Some(
                Spec {
                    end: End::Never,
                    ..over
                }
                .to_rrule(),
            ),
            ..w.weekly()
        })
        .await;
    assert_eq!(reminder.next_fire_at, Some(utc(2031, 3, 4, 7, 30)));
}

#[tokio::test]
async fn message_parts_must_be_complete_and_match_their_files() {
    let w = World::new().await;
    let errors = w
        .refused(&ReminderInput {
            parts: vec![],
            ..w.one_off()
        })
        .await;
    assert_eq!(errors.get("parts"), Some("Add at least one message"));

    let media = |kind, media_file_id| PartInput {
        kind,
        body: None,
        media_file_id,
    };
    let errors = w
        .refused(&ReminderInput {
            parts: vec![
                text("fine"),
                media(MessageKind::Image, None),
                media(MessageKind::Video, Some(w.me.image)),
                media(MessageKind::Image, Some(w.other.image)),
                media(MessageKind::Document, Some(i64::MAX)),
            ],
            ..w.one_off()
        })
        .await;
    assert_eq!(errors.get("parts[0].body"), None);
    assert_eq!(errors.get("parts[1].media"), Some("Attach a file"));
    assert_eq!(
        errors.get("parts[2].media"),
        Some("This file is an image, not a video")
    );
    let gone = Some("That file is not among your uploads; upload it again");
    assert_eq!(errors.get("parts[3].media"), gone);
    assert_eq!(errors.get("parts[4].media"), gone);
    assert_eq!(errors.len(), 4, "{errors}");

    // A caption is optional; a blank one is stored as none.
    let reminder = w
        .create(&ReminderInput {
            parts: vec![PartInput {
                kind: MessageKind::Image,
                body: Some(" ".into()),
                media_file_id: Some(w.me.image),
            }],
            ..w.one_off()
        })
        .await;
    let detail = reminders::detail(w.db(), w.me.id, reminder.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(detail.parts[0].message.body, None);
}

#[tokio::test]
async fn targets_are_current_groups_of_the_account_each_once() {
    let w = World::new().await;
    let errors = w
        .refused(&ReminderInput {
            group_ids: vec![w.me.groups[0], w.other.groups[0], w.me.archived_group],
            ..w.one_off()
        })
        .await;
    let targets: Vec<&str> = errors
        .iter()
        .filter(|e| e.field == "targets")
        .map(|e| e.message.as_str())
        .collect();
    assert_eq!(
        targets,
        [
            "One of the chosen groups is not a group of this account",
            "“Old club” is archived: the account is no longer in that group",
        ]
    );
    assert_eq!(errors.len(), 2, "{errors}");

    let [a, b] = w.me.groups;
    let reminder = w
        .create(&ReminderInput {
            group_ids: vec![b, a, b, a],
            ..w.one_off()
        })
        .await;
    let stored: Vec<(i64, i32)> = reminder_targets::Entity::find()
        .filter(reminder_targets::Column::ReminderId.eq(reminder.id))
        .order_by_asc(reminder_targets::Column::Position)
        .all(w.db())
        .await
        .unwrap()
        .into_iter()
        .map(|t| (t.group_id, t.position))
        .collect();
    assert_eq!(stored, [(b, 0), (a, 1)]);
}

//! The wizard's draft: fires, schedule problems and what each step still needs.

use chrono::{DateTime, TimeZone as _, Utc};
use domain::{
    recurrence::{End, Frequency, Spec},
    status::MessageKind,
    timezone::TimeZone,
};

use super::{DraftPart, FireTime, MediaRef, ReminderDraft, Step};

fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
}

fn complete() -> ReminderDraft {
    ReminderDraft {
        account_id: Some(1),
        name: "Stand-up".into(),
        parts: vec![DraftPart {
            kind: MessageKind::Text,
            body: "In 10 minutes".into(),
            media: None,
        }],
        timezone: "Europe/London".into(),
        date: "2031-03-03".into(),
        time: "09:00".into(),
        repeat: None,
        also: Vec::new(),
        skip: Vec::new(),
        skip_base: None,
        window_end_hour: None,
        group_ids: vec![7],
    }
}

#[test]
fn steps_run_in_order_and_read_from_their_urls() {
    let slugs: Vec<_> = Step::ALL.iter().map(|s| s.slug()).collect();
    assert_eq!(slugs, ["account", "message", "when", "groups", "review"]);
    for step in Step::ALL {
        assert_eq!(Step::parse(step.slug()), Some(step));
    }
    assert_eq!(Step::parse("Account"), None);
    assert_eq!(Step::Account.previous(), None);
    assert_eq!(Step::Account.next(), Some(Step::Message));
    assert_eq!(Step::Review.previous(), Some(Step::Groups));
    assert_eq!(Step::Review.next(), None);
    assert_eq!(Step::When.number(), 3);
}

#[test]
fn a_new_draft_starts_at_the_next_full_hour_in_the_operators_zone() {
    let zone: TimeZone = "Asia/Kuala_Lumpur".parse().unwrap();
    // 23:40 in Kuala Lumpur (UTC+8): the next full hour is tomorrow's midnight.
    let draft = ReminderDraft::new(4, zone, at(2031, 3, 3, 15, 40, 12));
    assert_eq!(draft.account_id, Some(4));
    assert_eq!(
        (draft.date.as_str(), draft.time.as_str()),
        ("2031-03-04", "00:00")
    );
    assert_eq!(draft.timezone, "Asia/Kuala_Lumpur");
    assert_eq!(draft.parts.len(), 1);
}

#[test]
fn each_step_names_what_it_still_needs() {
    let now = at(2031, 3, 1, 12, 0, 0);
    assert_eq!(complete().first_incomplete(now), None);

    let mut draft = complete();
    draft.account_id = None;
    draft.name = "  ".into();
    draft.parts.push(DraftPart {
        kind: MessageKind::Image,
        body: "caption".into(),
        media: None,
    });
    draft.parts[0].body = String::new();
    draft.group_ids.clear();
    let fields = |draft: &ReminderDraft, step| -> Vec<String> {
        draft
            .problems(step, now)
            .into_iter()
            .map(|p| p.field)
            .collect()
    };
    assert_eq!(fields(&draft, Step::Account), ["account"]);
    assert_eq!(
        fields(&draft, Step::Message),
        ["name", "part-0-body", "part-1-file"]
    );
    assert_eq!(fields(&draft, Step::When), Vec::<String>::new());
    assert_eq!(fields(&draft, Step::Groups), ["groups"]);
    assert_eq!(draft.first_incomplete(now), Some(Step::Account));

    draft.parts[1].media = Some(MediaRef {
        id: 1,
        kind: MessageKind::Image,
        mime_type: "image/png".into(),
        original_name: "a.png".into(),
        size_bytes: 10,
    });
    assert_eq!(fields(&draft, Step::Message), ["name", "part-0-body"]);

    // A caption longer than WhatsApp takes is named, with the count.
    draft.parts[1].body = "x".repeat(domain::message::MAX_CHARS + 1);
    let problems = draft.problems(Step::Message, now);
    assert_eq!(problems[2].field, "part-1-body");
    assert_eq!(
        problems[2].message,
        "Part 2: WhatsApp takes at most 65,536 characters in one message; this has 65,537."
    );
}

#[test]
fn the_schedule_explains_what_is_wrong_with_it() {
    let now = at(2031, 3, 1, 12, 0, 0);
    let mut draft = complete();
    draft.timezone = "Mars/Olympus".into();
    assert!(draft.schedule().unwrap_err().contains("Mars/Olympus"));
    draft.timezone = "UTC".into();
    draft.time = "9 o'clock".into();
    assert_eq!(
        draft.schedule().unwrap_err(),
        "Enter a time, such as 09:00."
    );
    draft.time = "09:00".into();
    draft.date = "2031-02-28".into();
    assert_eq!(
        draft.upcoming(now, 5).unwrap_err(),
        "That time has passed; pick a time in the future."
    );
    assert_eq!(draft.problems(Step::When, now)[0].field, "when");
}

#[test]
fn a_time_just_passed_may_still_be_saved_as_the_server_allows() {
    let mut draft = complete();
    draft.timezone = "UTC".into();
    draft.date = "2031-03-01".into();
    draft.time = "12:00".into();
    assert!(draft.upcoming(at(2031, 3, 1, 12, 0, 59), 1).is_ok());
    assert!(draft.upcoming(at(2031, 3, 1, 12, 1, 1), 1).is_err());
}

#[test]
fn upcoming_fires_are_local_wall_times() {
    let mut draft = complete();
    draft.date = "2031-03-24".into(); // a Monday; London moves to summer time on the 30th
    draft.repeat = Some(Spec {
        end: End::After(3),
        ..Spec::every(Frequency::Weekly, 1)
    });
    let times: Vec<String> = draft
        .upcoming(at(2031, 3, 1, 0, 0, 0), 5)
        .unwrap()
        .iter()
        .map(|t| t.format("%a %d %H:%M").to_string())
        .collect();
    assert_eq!(times, ["Mon 24 09:00", "Mon 31 09:00", "Mon 07 09:00"]);
}

#[test]
fn a_fire_shows_the_operators_own_time_only_when_it_reads_differently() {
    let zone = |name: &str| name.parse::<TimeZone>().unwrap();
    // 09:00 in Tokyo is midnight in UTC, the same day.
    let fire = at(2027, 4, 13, 0, 0, 0);
    assert_eq!(
        FireTime::new(fire, zone("Asia/Tokyo"), Some(zone("UTC"))),
        FireTime {
            at: "Tue 13 Apr 2027, 09:00".into(),
            yours: Some("00:00".into())
        }
    );
    // 08:00 in Tokyo is the evening before in UTC: the date comes too.
    let fire = at(2027, 4, 12, 23, 0, 0);
    assert_eq!(
        FireTime::new(fire, zone("Asia/Tokyo"), Some(zone("UTC"))).yours,
        Some("Mon 12 Apr, 23:00".into())
    );
    // The same wall clock, or no zone of the operator's known: nothing beside it.
    assert_eq!(
        FireTime::new(fire, zone("UTC"), Some(zone("UTC"))).yours,
        None
    );
    assert_eq!(
        FireTime::new(
            at(2027, 1, 12, 9, 0, 0),
            zone("Europe/London"),
            Some(zone("UTC"))
        )
        .yours,
        None,
        "London is on GMT in January"
    );
    assert_eq!(FireTime::new(fire, zone("Asia/Tokyo"), None).yours, None);
}

#[test]
fn an_edit_names_the_steps_it_changes_as_saving_would_store_them() {
    let before = ReminderDraft {
        repeat: Some(Spec::every(Frequency::Weekly, 1)),
        group_ids: vec![1, 2],
        ..complete()
    };
    assert_eq!(before.changed_steps(&before), Vec::<Step>::new());

    // What saving stores the same is no change: trailing spaces, groups in another order.
    let same = ReminderDraft {
        name: "Stand-up  ".into(),
        group_ids: vec![2, 1],
        ..before.clone()
    };
    assert_eq!(same.changed_steps(&before), Vec::<Step>::new());

    let later = ReminderDraft {
        time: "10:00".into(),
        ..before.clone()
    };
    assert_eq!(later.changed_steps(&before), [Step::When]);
    let skipping = ReminderDraft {
        skip: vec![chrono::NaiveDate::from_ymd_opt(2031, 3, 10).unwrap()],
        ..before.clone()
    };
    assert_eq!(skipping.changed_steps(&before), [Step::When]);

    let mut both = ReminderDraft {
        group_ids: vec![1],
        ..before.clone()
    };
    both.parts[0].body = "In 5 minutes".into();
    assert_eq!(both.changed_steps(&before), [Step::Message, Step::Groups]);
    let moved = ReminderDraft {
        account_id: Some(2),
        ..before.clone()
    };
    assert_eq!(moved.changed_steps(&before), [Step::Account]);
}

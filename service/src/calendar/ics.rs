//! The agenda as an iCalendar (RFC 5545) document: one event per send to come, from when it
//! fires to when its last group is expected. Times are UTC, so no VTIMEZONE is needed and every
//! calendar app shows them on its own clock.

use chrono::{DateTime, Duration, Utc};

use crate::agenda::Send;

/// The shortest event written: a send to a single group still shows as a block in a calendar.
const SHORTEST: Duration = Duration::minutes(5);

/// The longest: however slow the pacing, an event stays within a day (and a four-digit year).
const LONGEST: Duration = Duration::days(1);

/// RFC 5545 §3.1: lines longer than 75 octets are folded.
const LINE_OCTETS: usize = 75;

/// The document for `sends`, each linking to its reminder under `base_url` (no trailing slash).
/// `host` makes the event UIDs unique to this installation.
pub fn document(sends: &[Send], now: DateTime<Utc>, base_url: &str, host: &str) -> String {
    let mut out = String::new();
    for line in [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Herald//Reminder sends//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "X-WR-CALNAME:Herald sends",
        "REFRESH-INTERVAL;VALUE=DURATION:PT1H",
        "X-PUBLISHED-TTL:PT1H",
    ] {
        push(&mut out, line);
    }
    for send in sends {
        event(&mut out, send, now, base_url, host);
    }
    push(&mut out, "END:VCALENDAR");
    out
}

fn event(out: &mut String, send: &Send, now: DateTime<Utc>, base_url: &str, host: &str) {
    let end = send
        .last_group_at
        .clamp(send.at + SHORTEST, send.at + LONGEST);
    let groups = match send.groups {
        1 => "1 group".to_owned(),
        n => format!("{n} groups"),
    };
    let mut description = format!("Sent by {} to {groups}.", send.account_label);
    if let Some(behind) = &send.behind {
        description.push_str(&format!(
            " It queues behind “{behind}” on the same account."
        ));
    }
    push(out, "BEGIN:VEVENT");
    // Stable per occurrence, so a calendar updates the event rather than adding another.
    push(
        out,
        &format!(
            "UID:reminder-{}-{}@{}",
            send.reminder_id,
            send.at.timestamp(),
            text(host)
        ),
    );
    push(out, &format!("DTSTAMP:{}", stamp(now)));
    push(out, &format!("DTSTART:{}", stamp(send.at)));
    push(out, &format!("DTEND:{}", stamp(end)));
    push(
        out,
        &format!("SUMMARY:{}", text(&format!("{} → {groups}", send.name))),
    );
    push(out, &format!("DESCRIPTION:{}", text(&description)));
    push(
        out,
        &format!("URL:{base_url}/reminders/{}", send.reminder_id),
    );
    push(out, "TRANSP:TRANSPARENT");
    push(out, "END:VEVENT");
}

fn stamp(at: DateTime<Utc>) -> String {
    at.format("%Y%m%dT%H%M%SZ").to_string()
}

/// A TEXT value (RFC 5545 §3.3.11): backslashes, semicolons, commas and newlines escaped.
fn text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Appends `line`, folded at 75 octets without splitting a character, ending in CRLF.
fn push(out: &mut String, line: &str) {
    let mut octets = 0;
    for c in line.chars() {
        if octets + c.len_utf8() > LINE_OCTETS {
            out.push_str("\r\n ");
            // The leading space of a continuation line counts toward its 75.
            octets = 1;
        }
        out.push(c);
        octets += c.len_utf8();
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use domain::status::AccountStatus;

    use super::*;

    fn send(name: &str) -> Send {
        let at = Utc.with_ymd_and_hms(2027, 1, 5, 9, 0, 0).unwrap();
        Send {
            reminder_id: 7,
            name: name.to_owned(),
            account_id: 1,
            account_label: "Bakery".to_owned(),
            account_status: AccountStatus::Connected,
            groups: 12,
            at,
            last_group_at: at + Duration::minutes(11),
            behind: None,
        }
    }

    #[test]
    fn each_send_is_an_event_from_its_fire_to_its_last_group() {
        let now = Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap();
        let doc = document(
            &[send("Bread")],
            now,
            "https://herald.example",
            "herald.example",
        );
        assert!(doc.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"));
        assert!(doc.ends_with("END:VCALENDAR\r\n"));
        for line in [
            "UID:reminder-7-1799139600@herald.example",
            "DTSTART:20270105T090000Z",
            "DTEND:20270105T091100Z",
            "SUMMARY:Bread → 12 groups",
            "DESCRIPTION:Sent by Bakery to 12 groups.",
            "URL:https://herald.example/reminders/7",
        ] {
            assert!(doc.contains(&format!("\r\n{line}\r\n")), "{line} in {doc}");
        }
    }

    #[test]
    fn text_is_escaped_and_long_lines_fold_between_characters() {
        let name = format!("Sale; 50%, today\\tomorrow\nnow {}", "é".repeat(80));
        let doc = document(&[send(&name)], Utc::now(), "https://h", "h");
        let unfolded = doc.replace("\r\n ", "");
        assert!(unfolded.contains("SUMMARY:Sale\\; 50%\\, today\\\\tomorrow\\nnow éé"));
        for line in doc.split("\r\n") {
            assert!(line.len() <= LINE_OCTETS, "{} octets: {line}", line.len());
        }
    }
}

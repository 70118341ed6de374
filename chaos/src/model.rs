//! What the harness asked for, kept on its own side: every reminder's saved versions (schedule,
//! message, groups) and when each change was requested and answered. The checks compare the
//! database and the simulator's outbox against this, not against Herald's own view of it.

use chrono::{
    DateTime, Datelike, Days, NaiveDate, NaiveDateTime, TimeDelta, TimeZone, Utc, Weekday,
};
use chrono_tz::Tz;
use serde_json::{Value, json};

/// How long after its time a reminder may still be saved to fire at once (the server's rule):
/// an occurrence this close before a save may fire without being owed.
pub const SAVE_GRACE: TimeDelta = TimeDelta::seconds(60);

#[derive(Clone, Debug, PartialEq)]
pub enum Repeat {
    Once,
    /// Every day; `count` ends it after that many occurrences counted from the start date.
    Daily {
        count: Option<u32>,
    },
    /// Every week on these weekdays (Monday first).
    Weekly {
        weekdays: Vec<Weekday>,
    },
}

#[derive(Clone, Debug)]
pub struct Schedule {
    pub zone: Tz,
    pub start: NaiveDateTime,
    pub repeat: Repeat,
}

impl Schedule {
    /// The wizard's `repeat` field.
    pub fn spec(&self) -> Value {
        let (frequency, weekdays, end) = match &self.repeat {
            Repeat::Once => return Value::Null,
            Repeat::Daily { count } => (
                "daily",
                Vec::new(),
                count.map_or(json!("never"), |n| json!({ "after": n })),
            ),
            Repeat::Weekly { weekdays } => (
                "weekly",
                weekdays.iter().map(|d| d.to_string()).collect(),
                json!("never"),
            ),
        };
        json!({
            "frequency": frequency,
            "interval": 1,
            "weekdays": weekdays,
            "month_day": null,
            "end": end,
        })
    }

    /// Every occurrence from `from` to `to`, both included.
    pub fn occurrences(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<DateTime<Utc>> {
        let at = |date: NaiveDate| {
            self.zone
                .from_local_datetime(&date.and_time(self.start.time()))
                .single()
                .map(|t| t.with_timezone(&Utc))
        };
        let in_range = |t: &DateTime<Utc>| from <= *t && *t <= to;
        let first = self.start.date();
        let dates: Vec<NaiveDate> = match &self.repeat {
            Repeat::Once => vec![first],
            _ => {
                let lo = from
                    .with_timezone(&self.zone)
                    .date_naive()
                    .checked_sub_days(Days::new(1))
                    .unwrap_or(first)
                    .max(first);
                let hi = to
                    .with_timezone(&self.zone)
                    .date_naive()
                    .checked_add_days(Days::new(1))
                    .unwrap_or(lo);
                lo.iter_days()
                    .take_while(|d| *d <= hi)
                    .filter(|d| match &self.repeat {
                        Repeat::Once => false,
                        Repeat::Daily { count } => {
                            count.is_none_or(|n| (*d - first).num_days() < i64::from(n))
                        }
                        Repeat::Weekly { weekdays } => weekdays.contains(&d.weekday()),
                    })
                    .collect()
            }
        };
        dates.into_iter().filter_map(at).filter(in_range).collect()
    }
}

#[derive(Clone, Debug)]
pub struct Version {
    pub name: String,
    pub parts: Vec<String>,
    pub schedule: Schedule,
    pub group_ids: Vec<i64>,
    pub window_end_hour: Option<u8>,
}

impl Version {
    pub fn draft(&self, account_id: i64) -> Value {
        json!({
            "account_id": account_id,
            "name": self.name,
            "parts": self.parts.iter().map(|body| json!({ "kind": "text", "body": body, "media": null })).collect::<Vec<_>>(),
            "timezone": self.schedule.zone.name(),
            "date": self.schedule.start.format("%Y-%m-%d").to_string(),
            "time": self.schedule.start.format("%H:%M:%S").to_string(),
            "repeat": self.schedule.spec(),
            "window_end_hour": self.window_end_hour,
            "group_ids": self.group_ids,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpKind {
    /// Created active with this version.
    Create(usize),
    /// Duplicated from another reminder: paused, with this version.
    Copy(usize),
    /// Edited to this version; a paused reminder stays paused.
    Edit(usize),
    Pause,
    Resume,
    Delete,
}

/// A change that took effect, between the request (`sent`) and its answer (`answered`).
#[derive(Clone, Copy, Debug)]
pub struct Op {
    pub kind: OpKind,
    pub sent: DateTime<Utc>,
    pub answered: DateTime<Utc>,
}

#[derive(Debug)]
pub struct Reminder {
    /// The harness's own number for it, in names and bodies.
    pub local: usize,
    pub id: Option<i64>,
    pub account_id: i64,
    pub versions: Vec<Version>,
    pub ops: Vec<Op>,
    /// A change may or may not have been applied (a 5xx, or no answer): its schedule cannot be
    /// followed any more, so only the checks that need no schedule apply to it.
    pub uncertain: bool,
    /// The copy was never edited, so it shares its source's bodies: it is never resumed.
    pub unedited_copy: bool,
}

/// A stretch of time a version was armed: occurrences in `required` must have a run; those in
/// `allowed` may have one (a change's request and answer bracket the moment it applied).
#[derive(Debug)]
pub struct Armed {
    pub version: usize,
    pub required: (DateTime<Utc>, DateTime<Utc>),
    pub allowed: (DateTime<Utc>, DateTime<Utc>),
}

impl Reminder {
    pub fn paused(&self) -> bool {
        let mut paused = false;
        for op in &self.ops {
            match op.kind {
                OpKind::Create(_) | OpKind::Resume => paused = false,
                OpKind::Copy(_) | OpKind::Pause | OpKind::Delete => paused = true,
                OpKind::Edit(_) => {}
            }
        }
        paused
    }

    pub fn deleted(&self) -> bool {
        self.deleted_at().is_some()
    }

    /// When the operator asked for the reminder's deletion.
    pub fn deleted_at(&self) -> Option<DateTime<Utc>> {
        self.ops
            .iter()
            .find(|op| op.kind == OpKind::Delete)
            .map(|op| op.sent)
    }

    pub fn current(&self) -> Option<&Version> {
        self.ops.iter().rev().find_map(|op| match op.kind {
            OpKind::Create(v) | OpKind::Copy(v) | OpKind::Edit(v) => self.versions.get(v),
            _ => None,
        })
    }

    /// The stretches it was armed, up to `end`.
    pub fn armed(&self, end: DateTime<Utc>) -> Vec<Armed> {
        let mut stretches = Vec::new();
        let mut state: Option<(usize, Op)> = None;
        let mut active = false;
        for op in &self.ops {
            if active && let Some((version, began)) = state {
                stretches.push(Armed {
                    version,
                    required: (began.answered, op.sent),
                    allowed: (began.sent - SAVE_GRACE, op.answered),
                });
            }
            let version = state.map(|(v, _)| v);
            (active, state) = match op.kind {
                OpKind::Create(v) => (true, Some((v, *op))),
                OpKind::Copy(v) => (false, Some((v, *op))),
                OpKind::Edit(v) => (active, Some((v, *op))),
                OpKind::Pause | OpKind::Delete => (false, version.map(|v| (v, *op))),
                OpKind::Resume => (true, version.map(|v| (v, *op))),
            };
        }
        if active && let Some((version, began)) = state {
            stretches.push(Armed {
                version,
                required: (began.answered, end),
                allowed: (began.sent - SAVE_GRACE, end),
            });
        }
        stretches
    }
}

/// The name the harness gives version `version` of reminder `local`; runs keep it, so a run of a
/// deleted reminder can still be traced.
pub fn name(local: usize, version: usize) -> String {
    format!("Chaos r{local} v{version}")
}

/// Reads [`name`] back.
pub fn parse_name(name: &str) -> Option<(usize, usize)> {
    let rest = name.strip_prefix("Chaos r")?;
    let (local, version) = rest.split_once(" v")?;
    Some((local.parse().ok()?, version.parse().ok()?))
}

/// A part's body: unique per trial, reminder, version and part.
pub fn body(trial: u64, local: usize, version: usize, part: usize, words: &str) -> String {
    format!("[{trial:x}] r{local}.v{version}.p{part}: {words}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    fn local(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").unwrap_or_default()
    }

    #[test]
    fn a_daily_schedule_fires_at_its_local_time_each_day_from_its_start() {
        let schedule = Schedule {
            zone: chrono_tz::Asia::Kolkata,
            start: local("2027-01-05 09:30:15"),
            repeat: Repeat::Daily { count: Some(2) },
        };
        let all = schedule.occurrences(utc("2027-01-01T00:00:00Z"), utc("2027-01-31T00:00:00Z"));
        assert_eq!(
            all,
            vec![utc("2027-01-05T04:00:15Z"), utc("2027-01-06T04:00:15Z")]
        );
        let weekly = Schedule {
            repeat: Repeat::Weekly {
                weekdays: vec![Weekday::Mon],
            },
            ..schedule
        };
        // 5 January 2027 is a Tuesday: the first Monday after it is the 11th.
        assert_eq!(
            weekly.occurrences(utc("2027-01-01T00:00:00Z"), utc("2027-01-12T00:00:00Z")),
            vec![utc("2027-01-11T04:00:15Z")]
        );
    }

    #[test]
    fn armed_stretches_follow_edits_pauses_and_resumes() {
        let op = |kind, sent: i64| Op {
            kind,
            sent: utc("2027-01-05T00:00:00Z") + TimeDelta::seconds(sent),
            answered: utc("2027-01-05T00:00:00Z") + TimeDelta::seconds(sent + 1),
        };
        let reminder = Reminder {
            local: 0,
            id: Some(1),
            account_id: 1,
            versions: Vec::new(),
            ops: vec![
                op(OpKind::Create(0), 0),
                op(OpKind::Edit(1), 10),
                op(OpKind::Pause, 20),
                op(OpKind::Edit(2), 30),
                op(OpKind::Resume, 40),
                op(OpKind::Delete, 50),
            ],
            uncertain: false,
            unedited_copy: false,
        };
        let armed = reminder.armed(utc("2027-01-06T00:00:00Z"));
        let stretches: Vec<(usize, i64, i64)> = armed
            .iter()
            .map(|a| {
                let base = utc("2027-01-05T00:00:00Z");
                (
                    a.version,
                    (a.required.0 - base).num_seconds(),
                    (a.required.1 - base).num_seconds(),
                )
            })
            .collect();
        assert_eq!(stretches, vec![(0, 1, 10), (1, 11, 20), (2, 41, 50)]);
        assert_eq!(
            reminder.deleted_at(),
            Some(utc("2027-01-05T00:00:00Z") + TimeDelta::seconds(50))
        );
    }

    #[test]
    fn names_read_back() {
        assert_eq!(parse_name(&name(12, 3)), Some((12, 3)));
        assert_eq!(parse_name("Opening hours"), None);
    }
}

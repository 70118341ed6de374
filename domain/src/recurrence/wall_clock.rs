//! Local wall times to instants. The two are not one-to-one: when clocks spring forward a range
//! of local times never happens (a gap), and when they fall back a range happens twice (a fold).

use chrono::{DateTime, Days, FixedOffset, NaiveDateTime, Offset, TimeDelta, TimeZone, Utc};

use crate::timezone::Zone;

pub(crate) enum Resolved {
    Single(DateTime<Utc>),
    Fold {
        earlier: DateTime<Utc>,
        later: DateTime<Utc>,
    },
    Gap {
        /// The local time read with the offset from before the change, so it lands as far past
        /// the change as it was into the gap: 02:30 in a one-hour gap happens at 03:30.
        shifted: DateTime<Utc>,
        /// The first instant after the gap.
        transition: DateTime<Utc>,
    },
}

impl Resolved {
    /// When a reminder set for this local time fires: a time in a gap moves forward by the
    /// gap's length, and a time in a fold fires once, at its first pass.
    pub(crate) fn fire_at(&self) -> DateTime<Utc> {
        match *self {
            Resolved::Single(at) => at,
            Resolved::Fold { earlier, .. } => earlier,
            Resolved::Gap { shifted, .. } => shifted,
        }
    }
}

/// `None` only at the edges of the representable range.
pub(crate) fn resolve(tz: Zone, local: NaiveDateTime) -> Option<Resolved> {
    match tz.from_local_datetime(&local) {
        chrono::MappedLocalTime::Single(at) => Some(Resolved::Single(at.to_utc())),
        chrono::MappedLocalTime::Ambiguous(a, b) => {
            let (a, b) = (a.to_utc(), b.to_utc());
            Some(Resolved::Fold {
                earlier: a.min(b),
                later: a.max(b),
            })
        }
        chrono::MappedLocalTime::None => gap(tz, local),
    }
}

fn gap(tz: Zone, local: NaiveDateTime) -> Option<Resolved> {
    // A day either side of the gap the offsets are those from before and after the change:
    // zones do not change their offset twice within a couple of days.
    let before = offset_at(tz, local.checked_sub_days(Days::new(1))?);
    let after = offset_at(tz, local.checked_add_days(Days::new(1))?);
    let shifted = local.checked_sub_offset(before)?;
    // `early` still has the old offset and `late` already the new one; halve the distance until
    // `late` is the change itself (offsets change on whole seconds).
    let mut early = local.checked_sub_offset(after)?;
    let mut late = shifted;
    while late - early > TimeDelta::seconds(1) {
        let middle = early + (late - early) / 2;
        if offset_at(tz, middle) == before {
            early = middle;
        } else {
            late = middle;
        }
    }
    Some(Resolved::Gap {
        shifted: shifted.and_utc(),
        transition: late.and_utc(),
    })
}

fn offset_at(tz: Zone, utc: NaiveDateTime) -> FixedOffset {
    tz.offset_from_utc_datetime(&utc).fix()
}

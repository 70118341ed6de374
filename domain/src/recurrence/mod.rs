//! Repeating reminders: the rule the wizard builds ([`Spec`]), its RFC 5545 RRULE form, and the
//! instants a [`Schedule`] fires at. The browser previews the same occurrences the worker fires.
//!
//! Occurrences are worked out in local wall time, so "every Monday at 09:00" follows the
//! reminder's calendar and clock, then mapped to instants in its zone: a time that a clock change
//! skips moves forward by the length of the skip, and a time that happens twice fires once, at
//! the first pass.

mod dates;
mod error;
mod rfc5545;
mod schedule;
pub mod skip_dates;
mod spec;
mod summary;
pub(crate) mod wall_clock;

pub use error::RuleError;
pub use schedule::{MAX_SKIPPED, MIN_INTERVAL, SAVE_GRACE, Schedule};
pub use spec::{End, Frequency, LAST_DAY, MAX_TIMES, NthWeekday, Spec, WORKING_WEEK};

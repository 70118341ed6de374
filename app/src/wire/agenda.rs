//! Wire types of the agenda: the sends to come, by day on the operator's clock.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgendaView {
    /// 7 or 30.
    pub days: u32,
    /// The operator's zone, which every time here is in.
    pub timezone: String,
    /// Only days with sends, soonest first.
    pub by_day: Vec<AgendaDay>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgendaDay {
    /// "Tue 8 Dec 2026".
    pub label: String,
    pub sends: Vec<AgendaSend>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgendaSend {
    pub reminder_id: i64,
    pub name: String,
    /// "09:00".
    pub time: String,
    /// When its last group is expected, "09:04"; with the date when that is another day.
    pub last_group: String,
    pub account_id: i64,
    pub account_label: String,
    /// Its account's state ("Logged out") when it is not connected.
    pub account_problem: Option<String>,
    pub groups: usize,
    /// The reminder whose run it will start behind, on the same account.
    pub behind: Option<String>,
}

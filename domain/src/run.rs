//! One run (an occurrence sent to its groups): the tally of its targets and the status it rolls
//! up to. The worker, the dashboard and the Telegram bot all read a run through these.

use serde::{Deserialize, Serialize};

use crate::status::{RunStatus, TargetStatus};

/// How many of a run's targets are in each state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunCounts {
    pub pending: u32,
    pub sending: u32,
    pub sent: u32,
    pub failed: u32,
    pub skipped: u32,
    pub unknown: u32,
}

impl RunCounts {
    pub fn add(&mut self, status: TargetStatus, n: u32) {
        let slot = match status {
            TargetStatus::Pending => &mut self.pending,
            TargetStatus::Sending => &mut self.sending,
            TargetStatus::Sent => &mut self.sent,
            TargetStatus::Failed => &mut self.failed,
            TargetStatus::Skipped => &mut self.skipped,
            TargetStatus::Unknown => &mut self.unknown,
        };
        *slot += n;
    }

    pub fn total(&self) -> u32 {
        self.pending + self.sending + self.sent + self.failed + self.skipped + self.unknown
    }

    /// Targets still to be decided.
    pub fn open(&self) -> u32 {
        self.pending + self.sending
    }

    /// The status of a run whose targets are all decided: all sent → success; none sent →
    /// failed, or skipped when nothing was even tried; some → partial. A target whose delivery
    /// is unknown counts as not sent: the operator has to look.
    pub fn roll_up(&self) -> RunStatus {
        match (self.sent, self.total()) {
            (_, 0) => RunStatus::Skipped,
            (sent, total) if sent == total => RunStatus::Success,
            (0, _) if self.failed == 0 && self.unknown == 0 => RunStatus::Skipped,
            (0, _) => RunStatus::Failed,
            _ => RunStatus::Partial,
        }
    }
}

impl FromIterator<TargetStatus> for RunCounts {
    fn from_iter<I: IntoIterator<Item = TargetStatus>>(iter: I) -> Self {
        let mut counts = Self::default();
        for status in iter {
            counts.add(status, 1);
        }
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use TargetStatus::*;

    fn roll(statuses: &[TargetStatus]) -> RunStatus {
        statuses.iter().copied().collect::<RunCounts>().roll_up()
    }

    #[test]
    fn rolls_up_as_the_operator_reads_it() {
        assert_eq!(roll(&[Sent, Sent]), RunStatus::Success);
        assert_eq!(roll(&[Sent, Failed]), RunStatus::Partial);
        assert_eq!(roll(&[Sent, Unknown]), RunStatus::Partial);
        assert_eq!(roll(&[Sent, Skipped]), RunStatus::Partial);
        assert_eq!(roll(&[Failed, Failed]), RunStatus::Failed);
        assert_eq!(roll(&[Unknown, Skipped]), RunStatus::Failed);
        assert_eq!(roll(&[Skipped, Skipped]), RunStatus::Skipped);
        assert_eq!(roll(&[]), RunStatus::Skipped);
    }

    #[test]
    fn open_targets_are_pending_or_sending() {
        let counts: RunCounts = [Pending, Sending, Sent].into_iter().collect();
        assert_eq!((counts.open(), counts.total()), (2, 3));
    }
}

//! When a lease lapses by this process's own clock.

use std::{collections::HashMap, time::Duration};

use service::leases::Timing;
use tokio::time::Instant;

/// When each lease lapses by this process's monotonic clock (which goes on while the process is
/// stopped): the moment the acquire or renewal that last kept it was asked, before the database
/// set its expiry, plus its lifetime less two renewals' margin, the same margin the renewer
/// stops at when the database does not answer.
pub(super) struct Deadlines {
    valid_for: Duration,
    until: HashMap<String, Instant>,
}

impl Deadlines {
    pub(super) fn new(timing: Timing) -> Self {
        Self {
            valid_for: timing.ttl.saturating_sub(timing.renew_every * 2),
            until: HashMap::new(),
        }
    }

    pub(super) fn kept(&mut self, lease: String, asked: Instant) {
        let until = asked + self.valid_for;
        let entry = self.until.entry(lease).or_insert(until);
        *entry = (*entry).max(until);
    }

    pub(super) fn current(&self, lease: &str, now: Instant) -> bool {
        self.until.get(lease).is_some_and(|until| now < *until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_lapses_locally_two_renewals_before_the_database_lets_a_peer_take_it() {
        let timing = Timing::with_ttl(Duration::from_secs(5));
        let mut deadlines = Deadlines::new(timing);
        let asked = Instant::now();
        assert!(!deadlines.current("account:1", asked), "never kept");
        deadlines.kept("account:1".to_owned(), asked);
        assert!(deadlines.current("account:1", asked + Duration::from_millis(2_999)));
        assert!(
            !deadlines.current("account:1", asked + Duration::from_secs(3)),
            "a process woken after a pause holds nothing"
        );
        assert!(!deadlines.current("account:2", asked));
    }

    #[test]
    fn a_late_answer_to_an_older_renewal_never_shortens_a_lease() {
        let mut deadlines = Deadlines::new(Timing::with_ttl(Duration::from_secs(5)));
        let first = Instant::now();
        let second = first + Duration::from_secs(1);
        deadlines.kept("telegram".to_owned(), second);
        deadlines.kept("telegram".to_owned(), first);
        assert!(deadlines.current("telegram", second + Duration::from_millis(2_500)));
    }
}

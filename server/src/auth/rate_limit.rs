//! Slows down guessing: a client that fails too many link redemptions is refused for a while,
//! even with a valid link. In memory: a restart forgets, which is fine for a brake.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

pub struct FailedLogins {
    max_failures: usize,
    window: Duration,
    failures: Mutex<HashMap<IpAddr, Vec<Instant>>>,
}

impl FailedLogins {
    pub fn new(max_failures: usize, window: Duration) -> Self {
        Self {
            max_failures,
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Is this client still allowed to try?
    pub fn allows(&self, ip: IpAddr, now: Instant) -> bool {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let recent = failures.entry(ip).or_default();
        recent.retain(|t| now.duration_since(*t) < self.window);
        let allowed = recent.len() < self.max_failures;
        if recent.is_empty() {
            failures.remove(&ip);
        }
        allowed
    }

    pub fn record_failure(&self, ip: IpAddr, now: Instant) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.entry(ip).or_default().push(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_after_the_limit_until_the_window_passes() {
        let limiter = FailedLogins::new(3, Duration::from_secs(60));
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.allows(a, t0));
            limiter.record_failure(a, t0);
        }
        assert!(!limiter.allows(a, t0 + Duration::from_secs(59)));
        assert!(limiter.allows(b, t0), "other clients are unaffected");
        assert!(
            limiter.allows(a, t0 + Duration::from_secs(61)),
            "the window slides"
        );
    }
}

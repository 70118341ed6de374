//! Slows down guessing: a client that fails too many link redemptions is refused for a while,
//! even with a valid link. In memory: a restart forgets, which is fine for a brake.
//!
//! Clients are keyed by IPv4 address or IPv6 /64 (one host usually owns a whole /64), and the
//! table is bounded: past `MAX_CLIENTS`, idle clients are dropped, then the stalest.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

const MAX_CLIENTS: usize = 10_000;

pub struct FailedLogins {
    max_failures: usize,
    window: Duration,
    clients: Mutex<HashMap<IpAddr, Client>>,
}

#[derive(Default)]
struct Client {
    failures: Vec<Instant>,
    refusal_reported: bool,
}

/// Whether a client may try to sign in now.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// `first` is true once per lockout, so the audit log gets one row, not one per attempt.
    Refused {
        first: bool,
    },
}

impl FailedLogins {
    pub fn new(max_failures: usize, window: Duration) -> Self {
        Self {
            max_failures,
            window,
            clients: Mutex::new(HashMap::new()),
        }
    }

    pub fn check(&self, ip: IpAddr, now: Instant) -> Verdict {
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        let Some(client) = clients.get_mut(&key(ip)) else {
            return Verdict::Allowed;
        };
        client
            .failures
            .retain(|t| now.duration_since(*t) < self.window);
        if client.failures.len() < self.max_failures {
            client.refusal_reported = false;
            return Verdict::Allowed;
        }
        let first = !client.refusal_reported;
        client.refusal_reported = true;
        Verdict::Refused { first }
    }

    pub fn record_failure(&self, ip: IpAddr, now: Instant) {
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        if clients.len() >= MAX_CLIENTS && !clients.contains_key(&key(ip)) {
            clients.retain(|_, c| {
                c.failures
                    .last()
                    .is_some_and(|t| now.duration_since(*t) < self.window)
            });
            if clients.len() >= MAX_CLIENTS
                && let Some(stalest) = clients
                    .iter()
                    .min_by_key(|(_, c)| c.failures.last().copied())
                    .map(|(k, _)| *k)
            {
                clients.remove(&stalest);
            }
        }
        clients.entry(key(ip)).or_default().failures.push(now);
    }
}

fn key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        },
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
            assert_eq!(limiter.check(a, t0), Verdict::Allowed);
            limiter.record_failure(a, t0);
        }
        let t1 = t0 + Duration::from_secs(59);
        assert_eq!(limiter.check(a, t1), Verdict::Refused { first: true });
        assert_eq!(
            limiter.check(a, t1),
            Verdict::Refused { first: false },
            "reported once"
        );
        assert_eq!(
            limiter.check(b, t1),
            Verdict::Allowed,
            "other clients are unaffected"
        );
        assert_eq!(
            limiter.check(a, t0 + Duration::from_secs(61)),
            Verdict::Allowed,
            "the window slides"
        );
    }

    #[test]
    fn an_ipv6_host_cannot_escape_by_rotating_addresses_in_its_64() {
        let limiter = FailedLogins::new(2, Duration::from_secs(60));
        let t0 = Instant::now();
        limiter.record_failure("2001:db8:1:2::1".parse().unwrap(), t0);
        limiter.record_failure("2001:db8:1:2::ffff".parse().unwrap(), t0);
        assert_eq!(
            limiter.check("2001:db8:1:2:abcd::9".parse().unwrap(), t0),
            Verdict::Refused { first: true }
        );
        assert_eq!(
            limiter.check("2001:db8:1:3::1".parse().unwrap(), t0),
            Verdict::Allowed
        );
    }

    #[test]
    fn the_table_stays_bounded() {
        let limiter = FailedLogins::new(5, Duration::from_secs(60));
        let t0 = Instant::now();
        for i in 0..(MAX_CLIENTS as u32 + 50) {
            limiter.record_failure(
                IpAddr::V4(i.into()),
                t0 + Duration::from_millis(u64::from(i)),
            );
        }
        assert!(limiter.clients.lock().unwrap().len() <= MAX_CLIENTS);
    }
}

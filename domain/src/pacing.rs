//! How fast Herald sends through WhatsApp: a pause with jitter between one account's messages, a
//! per-minute cap per account, and an hourly cap over all accounts. The caller supplies the time
//! and the randomness, so the maths is exact and testable.

use std::{collections::VecDeque, time::Duration};

use chrono::{DateTime, TimeDelta, Utc};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rules {
    /// The usual pause between two sends of one account.
    pub min_interval: Duration,
    /// The pause varies by up to this much either way, so sends do not look machine-timed.
    pub jitter: Duration,
    /// Sends per account in any 60 s; 0 means no cap.
    pub per_minute: u32,
    /// Sends over all accounts in any hour; 0 means no cap.
    pub per_hour_global: u32,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            min_interval: Duration::from_secs(3),
            jitter: Duration::from_secs(1),
            per_minute: 20,
            per_hour_global: 5000,
        }
    }
}

impl Rules {
    /// How long one account takes to make `sends` sends under these rules, leaving jitter out
    /// (it averages to nothing): the minimum interval between each two, and no more than the
    /// per-minute cap in any minute. What the agenda expects a run to take.
    pub fn time_for(&self, sends: u32) -> TimeDelta {
        let gaps = i32::try_from(sends.saturating_sub(1)).unwrap_or(i32::MAX);
        let by_interval = delta(self.min_interval)
            .checked_mul(gaps)
            .unwrap_or(TimeDelta::MAX);
        let by_cap = match self.per_minute {
            0 => TimeDelta::zero(),
            cap => MINUTE
                .checked_mul(i32::try_from(sends.saturating_sub(1) / cap).unwrap_or(i32::MAX))
                .unwrap_or(TimeDelta::MAX),
        };
        by_interval.max(by_cap)
    }

    /// No pacing at all: every send may start at once.
    pub fn off() -> Self {
        Rules {
            min_interval: Duration::ZERO,
            jitter: Duration::ZERO,
            per_minute: 0,
            per_hour_global: 0,
        }
    }
}

const MINUTE: TimeDelta = TimeDelta::seconds(60);
const HOUR: TimeDelta = TimeDelta::seconds(3600);

/// One account's sender.
#[derive(Clone, Debug)]
pub struct Pacer {
    min_interval: TimeDelta,
    jitter: TimeDelta,
    last: Option<DateTime<Utc>>,
    recent: Recent,
}

impl Pacer {
    pub fn new(rules: &Rules) -> Self {
        Pacer {
            min_interval: delta(rules.min_interval),
            jitter: delta(rules.jitter),
            last: None,
            recent: Recent::new(MINUTE, rules.per_minute),
        }
    }

    /// The earliest instant the next send may start: not before `now`, a pause after the last
    /// send (the minimum interval plus `jitter_unit` ∈ [-1, 1] times the jitter, never
    /// negative), and without putting more than the per-minute cap in any 60 s. A unit outside
    /// [-1, 1] is clamped to it, and one that is not a number counts as 0.
    pub fn next_slot(&self, now: DateTime<Utc>, jitter_unit: f64) -> DateTime<Utc> {
        let unit = if jitter_unit.is_finite() {
            jitter_unit.clamp(-1.0, 1.0)
        } else {
            0.0
        };
        let swing =
            TimeDelta::try_milliseconds((self.jitter.num_milliseconds() as f64 * unit) as i64)
                .unwrap_or(TimeDelta::zero());
        let pause = self
            .min_interval
            .checked_add(&swing)
            .unwrap_or(self.min_interval)
            .max(TimeDelta::zero());
        let after_last = self.last.map_or(now, |last| {
            last.checked_add_signed(pause)
                .unwrap_or(DateTime::<Utc>::MAX_UTC)
        });
        now.max(after_last).max(self.recent.next_slot(now))
    }

    /// Records a send; sends are recorded in time order (a reserved future slot is not a send).
    pub fn record(&mut self, at: DateTime<Utc>) {
        self.last = Some(self.last.map_or(at, |last| last.max(at)));
        self.recent.record(at);
    }
}

/// The hourly cap shared by all accounts.
#[derive(Clone, Debug)]
pub struct HourlyCap(Recent);

impl HourlyCap {
    pub fn new(per_hour: u32) -> Self {
        HourlyCap(Recent::new(HOUR, per_hour))
    }

    pub fn next_slot(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now.max(self.0.next_slot(now))
    }

    /// Records a send; sends are recorded in time order (a reserved future slot is not a send).
    pub fn record(&mut self, at: DateTime<Utc>) {
        self.0.record(at);
    }
}

/// Confirms one account's sorted send times kept to `rules`: gaps of at least the minimum
/// interval less the jitter, and no 60 s holding more than the per-minute cap.
pub fn check(sends: &[DateTime<Utc>], rules: &Rules) -> Result<(), String> {
    sorted(sends)?;
    let least = delta(rules.min_interval.saturating_sub(rules.jitter));
    if let Some(pair) = sends.windows(2).find(|pair| pair[1] - pair[0] < least) {
        return Err(format!(
            "sends at {} and {} are closer than {} ms",
            pair[0],
            pair[1],
            least.num_milliseconds()
        ));
    }
    check_cap(sends, MINUTE, rules.per_minute)
}

/// Confirms all accounts' sorted send times kept to the hourly cap.
pub fn check_global(sends: &[DateTime<Utc>], rules: &Rules) -> Result<(), String> {
    check_cap(sends, HOUR, rules.per_hour_global)
}

fn sorted(sends: &[DateTime<Utc>]) -> Result<(), String> {
    match sends.windows(2).find(|pair| pair[1] < pair[0]) {
        Some(pair) => Err(format!(
            "send times are not sorted: {} after {}",
            pair[1], pair[0]
        )),
        None => Ok(()),
    }
}

fn check_cap(sends: &[DateTime<Utc>], window: TimeDelta, cap: u32) -> Result<(), String> {
    sorted(sends)?;
    if cap == 0 {
        return Ok(());
    }
    let span = (cap as usize).saturating_add(1);
    match sends
        .windows(span)
        .find(|run| run[span - 1] - run[0] < window)
    {
        Some(run) => Err(format!(
            "{span} sends between {} and {}, more than {cap} within {} s",
            run[0],
            run[span - 1],
            window.num_seconds()
        )),
        None => Ok(()),
    }
}

/// The sends that still count toward a cap: those within the window, at most `cap` of them.
#[derive(Clone, Debug)]
struct Recent {
    window: TimeDelta,
    cap: usize,
    sends: VecDeque<DateTime<Utc>>,
}

impl Recent {
    fn new(window: TimeDelta, cap: u32) -> Self {
        Recent {
            window,
            cap: cap as usize,
            sends: VecDeque::new(),
        }
    }

    /// With `cap` sends in the window, the next may start once the oldest has left it.
    fn next_slot(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        match self.sends.front() {
            Some(oldest) if self.cap > 0 && self.sends.len() >= self.cap => oldest
                .checked_add_signed(self.window)
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
            _ => now,
        }
    }

    fn record(&mut self, at: DateTime<Utc>) {
        if self.cap == 0 {
            return;
        }
        let position = self.sends.partition_point(|sent| *sent <= at);
        self.sends.insert(position, at);
        let Some(&newest) = self.sends.back() else {
            return;
        };
        while self.sends.len() > self.cap
            || self
                .sends
                .front()
                .is_some_and(|oldest| newest - *oldest >= self.window)
        {
            self.sends.pop_front();
        }
    }
}

fn delta(duration: Duration) -> TimeDelta {
    TimeDelta::from_std(duration).unwrap_or(TimeDelta::MAX)
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    #[test]
    fn the_time_for_a_run_follows_the_interval_or_the_cap_whichever_is_slower() {
        let rules = Rules {
            min_interval: Duration::from_secs(3),
            jitter: Duration::from_secs(1),
            per_minute: 10,
            per_hour_global: 0,
        };
        assert_eq!(rules.time_for(0), TimeDelta::zero());
        assert_eq!(rules.time_for(1), TimeDelta::zero());
        // Ten sends: nine 3 s gaps, within one minute's cap.
        assert_eq!(rules.time_for(10), TimeDelta::seconds(27));
        // Twenty-one: the cap lets ten a minute, so the last starts two minutes in.
        assert_eq!(rules.time_for(21), TimeDelta::minutes(2));
        assert_eq!(Rules::off().time_for(500), TimeDelta::zero());
    }

    fn t0() -> DateTime<Utc> {
        NaiveDate::from_ymd_opt(2027, 1, 5)
            .and_then(|day| day.and_hms_opt(9, 0, 0))
            .expect("test time")
            .and_utc()
    }

    fn secs(s: i64) -> TimeDelta {
        TimeDelta::seconds(s)
    }

    #[test]
    fn the_pause_after_a_send_is_the_interval_plus_bounded_jitter() {
        let mut pacer = Pacer::new(&Rules::default());
        assert_eq!(pacer.next_slot(t0(), 1.0), t0(), "nothing sent yet");
        pacer.record(t0());
        let cases = [
            (0.0, secs(3)),
            (1.0, secs(4)),
            (-1.0, secs(2)),
            (0.5, TimeDelta::milliseconds(3500)),
            (7.0, secs(4)),
            (-7.0, secs(2)),
            (f64::NAN, secs(3)),
        ];
        for (unit, pause) in cases {
            assert_eq!(pacer.next_slot(t0(), unit), t0() + pause, "{unit}");
        }
        // A caller that is already late is not held back further.
        assert_eq!(pacer.next_slot(t0() + secs(10), 1.0), t0() + secs(10));
    }

    #[test]
    fn jitter_larger_than_the_interval_never_goes_below_zero() {
        let rules = Rules {
            min_interval: Duration::from_secs(1),
            jitter: Duration::from_secs(5),
            ..Rules::default()
        };
        let mut pacer = Pacer::new(&rules);
        pacer.record(t0());
        assert_eq!(pacer.next_slot(t0(), -1.0), t0());
        // Still never before the last send.
        assert_eq!(pacer.next_slot(t0() - secs(1), -1.0), t0());
    }

    #[test]
    fn the_send_past_the_per_minute_cap_waits_for_the_window() {
        let rules = Rules {
            min_interval: Duration::from_secs(1),
            jitter: Duration::ZERO,
            ..Rules::default()
        };
        let mut pacer = Pacer::new(&rules);
        for i in 0..20 {
            let now = t0() + secs(i);
            assert_eq!(pacer.next_slot(now, 0.0), now, "send {}", i + 1);
            pacer.record(now);
        }
        // The 21st would be the 21st within a minute of the first.
        assert_eq!(pacer.next_slot(t0() + secs(20), 0.0), t0() + secs(60));
        pacer.record(t0() + secs(60));
        assert_eq!(pacer.next_slot(t0() + secs(60), 0.0), t0() + secs(61));
    }

    #[test]
    fn the_hourly_cap_holds_over_all_accounts() {
        let mut cap = HourlyCap::new(3);
        for minutes in [0, 10, 20] {
            let at = t0() + TimeDelta::minutes(minutes);
            assert_eq!(cap.next_slot(at), at);
            cap.record(at);
        }
        assert_eq!(
            cap.next_slot(t0() + TimeDelta::minutes(30)),
            t0() + TimeDelta::hours(1)
        );
        assert_eq!(
            cap.next_slot(t0() + TimeDelta::minutes(61)),
            t0() + TimeDelta::minutes(61)
        );
    }

    #[test]
    fn pacing_off_never_waits() {
        let huge = Rules {
            min_interval: Duration::ZERO,
            jitter: Duration::ZERO,
            per_minute: u32::MAX,
            per_hour_global: u32::MAX,
        };
        for rules in [Rules::off(), huge] {
            let mut pacer = Pacer::new(&rules);
            let mut cap = HourlyCap::new(rules.per_hour_global);
            for _ in 0..1000 {
                pacer.record(t0());
                cap.record(t0());
            }
            assert_eq!(pacer.next_slot(t0(), 1.0), t0());
            assert_eq!(cap.next_slot(t0()), t0());
        }
    }

    #[test]
    fn only_sends_that_still_count_are_remembered() {
        let mut pacer = Pacer::new(&Rules::default());
        let mut cap = HourlyCap::new(5000);
        let mut uncapped = Pacer::new(&Rules::off());
        let mut by_time = Pacer::new(&Rules {
            per_minute: u32::MAX,
            ..Rules::off()
        });
        for i in 0..20_000 {
            pacer.record(t0() + secs(i));
            cap.record(t0() + secs(i));
            uncapped.record(t0() + secs(i));
            by_time.record(t0() + TimeDelta::milliseconds(100 * i));
        }
        assert_eq!(pacer.recent.sends.len(), 20);
        assert_eq!(cap.0.sends.len(), 3600);
        assert_eq!(uncapped.recent.sends.len(), 0);
        assert_eq!(by_time.recent.sends.len(), 600);
    }

    #[test]
    fn paced_sends_pass_the_check() {
        let rules = Rules {
            per_hour_global: 400,
            ..Rules::default()
        };
        let mut accounts: Vec<(Pacer, Vec<DateTime<Utc>>)> =
            (0..3).map(|_| (Pacer::new(&rules), Vec::new())).collect();
        let mut cap = HourlyCap::new(rules.per_hour_global);
        let mut everyone = Vec::new();
        let mut now = t0();
        let mut seed = 1u64;
        for _ in 0..1500 {
            // Whichever account may send soonest does, and records the send as it starts.
            let (account, at) = accounts
                .iter()
                .enumerate()
                .map(|(i, (pacer, _))| {
                    seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                    let unit = (seed >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0;
                    (i, pacer.next_slot(now, unit).max(cap.next_slot(now)))
                })
                .min_by_key(|(_, at)| *at)
                .expect("three accounts");
            now = at;
            let (pacer, sent) = &mut accounts[account];
            pacer.record(at);
            cap.record(at);
            sent.push(at);
            everyone.push(at);
        }
        for (_, sent) in &accounts {
            assert!(sent.len() > 400, "every account sent");
            assert_eq!(check(sent, &rules), Ok(()));
        }
        assert_eq!(check_global(&everyone, &rules), Ok(()));
        // The hourly cap, not the per-account pacing, set the pace.
        assert!(everyone[everyone.len() - 1] - everyone[0] > TimeDelta::hours(3));
    }

    #[test]
    fn the_check_catches_each_kind_of_violation() {
        let rules = Rules::default();
        let every = |gap_ms: i64, n: i64| -> Vec<DateTime<Utc>> {
            (0..n)
                .map(|i| t0() + TimeDelta::milliseconds(gap_ms * i))
                .collect()
        };
        assert_eq!(check(&every(3000, 20), &rules), Ok(()));
        let close = check(&every(1500, 2), &rules).unwrap_err();
        assert!(close.contains("closer than 2000 ms"), "{close}");
        // 21 sends 2.5 s apart: each gap is fine, the minute is not.
        let burst = check(&every(2500, 21), &rules).unwrap_err();
        assert!(burst.contains("more than 20 within 60 s"), "{burst}");
        let mut unsorted = every(3000, 3);
        unsorted.swap(1, 2);
        assert!(check(&unsorted, &rules).unwrap_err().contains("not sorted"));
        assert!(
            check_global(&unsorted, &rules)
                .unwrap_err()
                .contains("not sorted")
        );
        let hourly = Rules {
            per_hour_global: 10,
            ..rules
        };
        assert!(check_global(&every(60_000, 11), &hourly).is_err());
        assert_eq!(check_global(&every(360_000, 11), &hourly), Ok(()));
    }

    #[test]
    fn huge_durations_do_not_overflow() {
        let rules = Rules {
            min_interval: Duration::MAX,
            jitter: Duration::MAX,
            ..Rules::default()
        };
        let mut pacer = Pacer::new(&rules);
        pacer.record(t0());
        for unit in [-1.0, 0.0, 1.0] {
            assert!(pacer.next_slot(t0(), unit) > t0() + TimeDelta::days(365 * 1000));
        }
    }
}

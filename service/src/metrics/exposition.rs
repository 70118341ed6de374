//! The scrape's text, written by prometheus-client. Its registry is built per scrape around one
//! collector of the figures just read: a counter is the database's count, not a number this
//! process kept since it started, and the fire-lag histogram is the database's buckets.
//!
//! Prometheus's text format (0.0.4) rather than OpenMetrics: `promtool check metrics`, the
//! deploy check's lint, reads only that format, and it names counters' families as before
//! (`# TYPE herald_sends_total counter`).

use std::fmt;

use domain::status::TargetStatus;
use prometheus_client::{
    collector::Collector,
    encoding::{DescriptorEncoder, EncodeMetric, NoLabelSet, prometheus_text},
    metrics::{MetricType, TypedMetric, counter::ConstCounter, gauge::ConstGauge},
    registry::Registry,
};
use runtime::build_info;

use super::{Histogram, Process, Snapshot};

/// The `Content-Type` of a scrape.
pub use prometheus_text::CONTENT_TYPE;

pub fn render(process: &Process, snapshot: Option<&Snapshot>) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Figures {
        process: process.clone(),
        snapshot: snapshot.cloned(),
    }));
    let mut text = String::new();
    prometheus_text::encode(&mut text, &registry)
        .expect("a String takes every write, and the collector fails only on a failed write");
    text
}

/// One scrape's figures: the process's own always, the database's when it answered.
#[derive(Debug)]
struct Figures {
    process: Process,
    snapshot: Option<Snapshot>,
}

impl Collector for Figures {
    fn encode(&self, mut out: DescriptorEncoder) -> fmt::Result {
        out.encode_descriptor(
            "herald_build",
            "The running build; always 1.",
            None,
            MetricType::Info,
        )?
        .encode_info(&[
            ("process", self.process.name),
            ("version", build_info::VERSION),
            ("commit", build_info::COMMIT),
        ])?;
        single(
            &mut out,
            "process_start_time_seconds",
            "Start time of the process since the Unix epoch, in seconds.",
            ConstGauge::new(self.process.started_at.timestamp_millis() as f64 / 1000.0),
        )?;
        single(
            &mut out,
            "herald_database_up",
            "1 when the database answered this scrape; the other herald_ figures are absent when 0.",
            ConstGauge::new(u64::from(self.snapshot.is_some())),
        )?;
        let Some(s) = &self.snapshot else {
            return Ok(());
        };
        labelled(
            &mut out,
            "herald_sessions",
            "WhatsApp accounts by session status.",
            "status",
            s.sessions
                .iter()
                .map(|(k, n)| (k.as_str(), ConstGauge::new(*n))),
        )?;
        labelled(
            &mut out,
            "herald_sends",
            "Sends (one run to one group) decided, by outcome.",
            "outcome",
            s.sends
                .iter()
                .filter(|(k, _)| is_decided(*k))
                .map(|(k, n)| (k.as_str(), ConstCounter::new(*n))),
        )?;
        labelled(
            &mut out,
            "herald_sends_pending",
            "Sends not decided yet: waiting their turn, or under way.",
            "status",
            s.sends
                .iter()
                .filter(|(k, _)| !is_decided(*k))
                .map(|(k, n)| (k.as_str(), ConstGauge::new(*n))),
        )?;
        out.encode_descriptor(
            "herald_fire_lag_seconds",
            "From a reminder occurrence's due time to its run starting.",
            None,
            MetricType::Histogram,
        )?
        .encode_histogram::<NoLabelSet>(
            s.fire_lag.sum,
            s.fire_lag.count,
            &per_bucket(&s.fire_lag),
            None,
        )?;
        single(
            &mut out,
            "herald_fires_due",
            "Reminder occurrences due and not yet fired (delivery's backlog).",
            ConstGauge::new(s.fires_due),
        )?;
        labelled(
            &mut out,
            "herald_queue_tasks",
            "Maintenance-queue tasks by state.",
            "state",
            s.queue.iter().map(|(k, n)| (*k, ConstGauge::new(*n))),
        )?;
        single(
            &mut out,
            "herald_queue_due_tasks",
            "Maintenance-queue tasks due now and not yet taken (the queue's depth).",
            ConstGauge::new(s.queue_due),
        )?;
        labelled(
            &mut out,
            "herald_commands",
            "Server-to-worker commands kept, by status (finished ones are pruned after a day).",
            "status",
            s.commands
                .iter()
                .map(|(k, n)| (k.as_str(), ConstGauge::new(*n))),
        )?;
        single(
            &mut out,
            "herald_commands_oldest_pending_seconds",
            "Age of the oldest command the worker has not picked up; 0 when none waits.",
            ConstGauge::new(s.oldest_pending_command_secs),
        )?;
        single(
            &mut out,
            "herald_events_retained",
            "Worker-to-dashboard events kept for live pages (pruned after a day).",
            ConstGauge::new(s.events_retained),
        )
    }
}

/// A send is decided once nothing more will happen to it.
fn is_decided(status: TargetStatus) -> bool {
    !matches!(status, TargetStatus::Pending | TargetStatus::Sending)
}

/// A family of one unlabelled sample. A counter's name is given without `_total`, which the
/// encoder adds.
fn single<M: EncodeMetric + TypedMetric>(
    out: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    metric: M,
) -> fmt::Result {
    metric.encode(out.encode_descriptor(name, help, None, M::TYPE)?)
}

/// A family whose samples differ in one label's value.
fn labelled<'a, M: EncodeMetric + TypedMetric>(
    out: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    label: &str,
    samples: impl Iterator<Item = (&'a str, M)>,
) -> fmt::Result {
    let mut family = out.encode_descriptor(name, help, None, M::TYPE)?;
    for (value, metric) in samples {
        metric.encode(family.encode_family(&[(label, value)])?)?;
    }
    Ok(())
}

/// The database counts buckets cumulatively; the encoder takes each bucket's own observations
/// and sums them back up.
fn per_bucket(histogram: &Histogram) -> Vec<(f64, u64)> {
    let mut below = 0;
    histogram
        .buckets
        .iter()
        .map(|&(bound, cumulative)| {
            let own = cumulative.saturating_sub(below);
            below = cumulative;
            (bound, own)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone as _, Utc};

    use super::*;

    fn process() -> Process {
        Process {
            name: "server",
            started_at: Utc.timestamp_millis_opt(1_930_294_800_250).unwrap(),
        }
    }

    #[test]
    fn without_the_database_only_the_process_reports() {
        let text = render(&process(), None);
        let expected = format!(
            "# HELP herald_build_info The running build; always 1.\n\
             # TYPE herald_build_info gauge\n\
             herald_build_info{{process=\"server\",version=\"{}\",commit=\"{}\"}} 1\n\
             # HELP process_start_time_seconds Start time of the process since the Unix epoch, in seconds.\n\
             # TYPE process_start_time_seconds gauge\n\
             process_start_time_seconds 1930294800.25\n\
             # HELP herald_database_up 1 when the database answered this scrape; the other herald_ figures are absent when 0.\n\
             # TYPE herald_database_up gauge\n\
             herald_database_up 0\n",
            build_info::VERSION,
            build_info::COMMIT,
        );
        assert_eq!(text, expected);
    }

    #[test]
    fn a_histogram_keeps_the_databases_cumulative_buckets() {
        let snapshot = Snapshot {
            sessions: Vec::new(),
            sends: vec![(TargetStatus::Sent, 7), (TargetStatus::Pending, 2)],
            fire_lag: Histogram {
                buckets: vec![(0.05, 1), (1.0, 3), (2.5, 3)],
                sum: 2.25,
                count: 4,
            },
            fires_due: 0,
            queue: Vec::new(),
            queue_due: 0,
            commands: Vec::new(),
            oldest_pending_command_secs: 0.0,
            events_retained: 0,
        };
        let text = render(&process(), Some(&snapshot));
        assert!(
            text.contains(
                "# TYPE herald_sends_total counter\n\
                 herald_sends_total{outcome=\"sent\"} 7\n\
                 # HELP herald_sends_pending "
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "# TYPE herald_fire_lag_seconds histogram\n\
                 herald_fire_lag_seconds_bucket{le=\"0.05\"} 1\n\
                 herald_fire_lag_seconds_bucket{le=\"1\"} 3\n\
                 herald_fire_lag_seconds_bucket{le=\"2.5\"} 3\n\
                 herald_fire_lag_seconds_bucket{le=\"+Inf\"} 4\n\
                 herald_fire_lag_seconds_sum 2.25\n\
                 herald_fire_lag_seconds_count 4\n"
            ),
            "{text}"
        );
    }
}

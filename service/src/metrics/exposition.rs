//! Prometheus's text exposition format (version 0.0.4), written by hand: Herald's metrics are a
//! dozen families read from the database at scrape time, which needs no client library's
//! registry of live counters.

use std::fmt::Write as _;

/// The `Content-Type` of a scrape.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[derive(Clone, Copy)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Counter => "counter",
            Self::Gauge => "gauge",
            Self::Histogram => "histogram",
        }
    }
}

/// Cumulative bucket counts by upper bound, as a Prometheus histogram reports them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Histogram {
    /// `(upper bound, observations <= bound)`, bounds ascending; `+Inf` is added on output.
    pub buckets: Vec<(f64, u64)>,
    pub sum: f64,
    pub count: u64,
}

/// One scrape's text, family by family.
#[derive(Default)]
pub struct Exposition {
    text: String,
}

impl Exposition {
    pub fn new() -> Self {
        Self::default()
    }

    /// A family with one unlabelled sample.
    pub fn single(&mut self, name: &str, kind: Kind, help: &str, value: f64) {
        self.family(name, kind, help, &[(&[], value)]);
    }

    /// A family and its samples; each sample is its labels and value.
    pub fn family(
        &mut self,
        name: &str,
        kind: Kind,
        help: &str,
        samples: &[(&[(&str, &str)], f64)],
    ) {
        self.header(name, kind, help);
        for (labels, value) in samples {
            self.sample(name, labels, *value);
        }
    }

    pub fn histogram(&mut self, name: &str, help: &str, histogram: &Histogram) {
        self.header(name, Kind::Histogram, help);
        let bucket = format!("{name}_bucket");
        for (bound, count) in &histogram.buckets {
            self.sample(&bucket, &[("le", &format_value(*bound))], *count as f64);
        }
        self.sample(&bucket, &[("le", "+Inf")], histogram.count as f64);
        self.sample(&format!("{name}_sum"), &[], histogram.sum);
        self.sample(&format!("{name}_count"), &[], histogram.count as f64);
    }

    pub fn finish(self) -> String {
        self.text
    }

    fn header(&mut self, name: &str, kind: Kind, help: &str) {
        let help = help.replace('\\', r"\\").replace('\n', r"\n");
        let _ = writeln!(self.text, "# HELP {name} {help}");
        let _ = writeln!(self.text, "# TYPE {name} {}", kind.as_str());
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.text.push_str(name);
        if !labels.is_empty() {
            self.text.push('{');
            for (i, (label, value)) in labels.iter().enumerate() {
                if i > 0 {
                    self.text.push(',');
                }
                let _ = write!(self.text, "{label}=\"{}\"", escape_label(value));
            }
            self.text.push('}');
        }
        let _ = writeln!(self.text, " {}", format_value(value));
    }
}

/// Label values escape backslash, double quote and newline.
fn escape_label(value: &str) -> String {
    value
        .replace('\\', r"\\")
        .replace('"', "\\\"")
        .replace('\n', r"\n")
}

/// Whole numbers without a fraction (counts read best that way), infinities as Prometheus spells them.
fn format_value(value: f64) -> String {
    if value.is_infinite() {
        return if value > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    if value.is_nan() {
        return "NaN".to_owned();
    }
    if value.fract() == 0.0 && value.abs() < 1e15 {
        return format!("{}", value as i64);
    }
    format!("{value}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_have_help_type_and_escaped_labels() {
        let mut out = Exposition::new();
        out.family(
            "herald_things",
            Kind::Gauge,
            "Things.\nOn two lines, with a \\.",
            &[
                (&[("status", "ok")], 3.0),
                (&[("status", "say \"hi\"\\\n")], 0.5),
            ],
        );
        out.single("herald_up", Kind::Counter, "Up.", 1.0);
        assert_eq!(
            out.finish(),
            "# HELP herald_things Things.\\nOn two lines, with a \\\\.\n\
             # TYPE herald_things gauge\n\
             herald_things{status=\"ok\"} 3\n\
             herald_things{status=\"say \\\"hi\\\"\\\\\\n\"} 0.5\n\
             # HELP herald_up Up.\n\
             # TYPE herald_up counter\n\
             herald_up 1\n"
        );
    }

    #[test]
    fn a_histogram_ends_with_inf_sum_and_count() {
        let mut out = Exposition::new();
        out.histogram(
            "lag_seconds",
            "Lag.",
            &Histogram {
                buckets: vec![(0.05, 1), (1.0, 3)],
                sum: 2.25,
                count: 4,
            },
        );
        assert_eq!(
            out.finish(),
            "# HELP lag_seconds Lag.\n\
             # TYPE lag_seconds histogram\n\
             lag_seconds_bucket{le=\"0.05\"} 1\n\
             lag_seconds_bucket{le=\"1\"} 3\n\
             lag_seconds_bucket{le=\"+Inf\"} 4\n\
             lag_seconds_sum 2.25\n\
             lag_seconds_count 4\n"
        );
    }

    #[test]
    fn values_print_as_prometheus_reads_them() {
        assert_eq!(format_value(12.0), "12");
        assert_eq!(format_value(0.025), "0.025");
        assert_eq!(format_value(f64::INFINITY), "+Inf");
        assert_eq!(format_value(1.7e9), "1700000000");
    }
}

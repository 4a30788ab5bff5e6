//! Latency histograms and their summaries (count, mean, p50/p90/p99, max) in milliseconds.

use std::sync::Mutex;
use std::time::Duration;

use hdrhistogram::{CreationError, Histogram};
use serde::Serialize;

/// Largest latency recorded without saturating: two minutes, in microseconds.
const MAX_MICROS: u64 = 120_000_000;

/// Significant decimal digits kept per value (0.1 % relative error).
const SIGNIFICANT_DIGITS: u8 = 3;

/// A latency histogram with microsecond resolution.
pub struct Latency {
    histogram: Histogram<u64>,
}

/// What a histogram says, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Summary {
    /// Samples.
    pub count: u64,
    /// Mean.
    pub mean_ms: f64,
    /// Median.
    pub p50_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Largest sample.
    pub max_ms: f64,
}

impl Latency {
    /// An empty histogram (fails only if the bounds above were made invalid).
    pub fn new() -> Result<Self, CreationError> {
        let histogram = Histogram::new_with_bounds(1, MAX_MICROS, SIGNIFICANT_DIGITS)?;
        Ok(Latency { histogram })
    }

    /// Records one sample (values over two minutes count as two minutes).
    pub fn record(&mut self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(MAX_MICROS);
        self.histogram
            .saturating_record(micros.clamp(1, MAX_MICROS));
    }

    /// The summary.
    pub fn summary(&self) -> Summary {
        let h = &self.histogram;
        if h.is_empty() {
            return Summary::default();
        }
        let ms = |micros: u64| micros as f64 / 1000.0;
        Summary {
            count: h.len(),
            mean_ms: h.mean() / 1000.0,
            p50_ms: ms(h.value_at_quantile(0.50)),
            p90_ms: ms(h.value_at_quantile(0.90)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            max_ms: ms(h.max()),
        }
    }
}

/// A histogram many client tasks record into.
pub struct SharedLatency(Mutex<Latency>);

impl SharedLatency {
    /// An empty histogram.
    pub fn new() -> Result<Self, CreationError> {
        Ok(SharedLatency(Mutex::new(Latency::new()?)))
    }

    /// Records one sample.
    pub fn record(&self, latency: Duration) {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .record(latency);
    }

    /// The summary so far.
    pub fn summary(&self) -> Summary {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .summary()
    }
}

impl Summary {
    /// `p50 0.412 / p90 … / p99 … / max … ms (n=…)`, for the human report.
    pub fn line(&self) -> String {
        if self.count == 0 {
            return "no samples".into();
        }
        format!(
            "p50 {:.3} / p90 {:.3} / p99 {:.3} / max {:.3} ms (mean {:.3}, n={})",
            self.p50_ms, self.p90_ms, self.p99_ms, self.max_ms, self.mean_ms, self.count
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= b * 0.002
    }

    #[test]
    fn percentiles_of_one_to_a_thousand_milliseconds() {
        let mut l = Latency::new().unwrap();
        for ms in 1..=1000 {
            l.record(Duration::from_millis(ms));
        }
        let s = l.summary();
        assert_eq!(s.count, 1000);
        assert!(close(s.p50_ms, 500.0), "{s:?}");
        assert!(close(s.p90_ms, 900.0), "{s:?}");
        assert!(close(s.p99_ms, 990.0), "{s:?}");
        assert!(close(s.max_ms, 1000.0), "{s:?}");
        assert!(close(s.mean_ms, 500.5), "{s:?}");
    }

    #[test]
    fn sub_millisecond_values_keep_microseconds() {
        let mut l = Latency::new().unwrap();
        for _ in 0..99 {
            l.record(Duration::from_micros(120));
        }
        l.record(Duration::from_micros(3_500));
        let s = l.summary();
        assert_eq!(s.p50_ms, 0.120);
        assert_eq!(s.p99_ms, 0.120);
        assert!(close(s.max_ms, 3.5), "{s:?}");
    }

    #[test]
    fn extremes_saturate_instead_of_failing() {
        let mut l = Latency::new().unwrap();
        l.record(Duration::ZERO);
        l.record(Duration::from_secs(3600));
        let s = l.summary();
        assert_eq!(s.count, 2);
        assert!(s.max_ms <= 120_001.0 * 1.001, "{s:?}");
        assert_eq!(Latency::new().unwrap().summary(), Summary::default());
    }
}

//! Summaries of a few dozen samples (the `tunnel` runs): nearest-rank percentiles, p50
//! (min–max), medians of per-round ratios, and the unit conversions the reports use. The
//! histograms of [`crate::stats`] are for thousands of samples; these keep every value exact.

use std::time::Duration;

use serde::Serialize;

/// p50 / p95 / max of durations, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Spread {
    /// Samples.
    pub count: usize,
    /// Smallest.
    pub min: f64,
    /// Median (nearest rank: the lower middle value of an even count).
    pub p50: f64,
    /// 95th percentile (nearest rank).
    pub p95: f64,
    /// Largest.
    pub max: f64,
}

impl Spread {
    /// The spread of `values`; all zero when there are none.
    pub fn of(values: &[f64]) -> Spread {
        let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        sorted.sort_by(f64::total_cmp);
        let (Some(&min), Some(&max)) = (sorted.first(), sorted.last()) else {
            return Spread::default();
        };
        Spread {
            count: sorted.len(),
            min,
            p50: nearest_rank(&sorted, 0.50),
            p95: nearest_rank(&sorted, 0.95),
            max,
        }
    }

    /// `p50 X / p95 Y / max Z` with `unit`, for the human report.
    pub fn p95_line(&self, unit: &str) -> String {
        if self.count == 0 {
            return "no samples".into();
        }
        format!(
            "p50 {:.1} / p95 {:.1} / max {:.1} {unit} (n={})",
            self.p50, self.p95, self.max, self.count
        )
    }

    /// `X (min–max)` with `unit` and `decimals` digits, for the human report.
    pub fn range_line(&self, unit: &str, decimals: usize) -> String {
        if self.count == 0 {
            return "no samples".into();
        }
        format!(
            "{:.d$} ({:.d$}–{:.d$}) {unit} (n={})",
            self.p50,
            self.min,
            self.max,
            self.count,
            d = decimals
        )
    }
}

/// The value at quantile `q` of sorted, non-empty `sorted`: the ⌈q·n⌉-th smallest.
fn nearest_rank(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    let rank = (q * n as f64).ceil() as usize;
    sorted[rank.clamp(1, n) - 1]
}

/// Milliseconds in `d`.
pub fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Megabytes (10⁶ bytes) per second for `bytes` in `elapsed`; zero for no time.
pub fn megabytes_per_second(bytes: u64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 {
        bytes as f64 / 1e6 / secs
    } else {
        0.0
    }
}

/// Percent of one core each of `processes` used: `cpu_secs` of CPU over `wall_secs`, shared
/// evenly.
pub fn percent_of_core_each(cpu_secs: f64, wall_secs: f64, processes: usize) -> f64 {
    if wall_secs > 0.0 && processes > 0 {
        cpu_secs / wall_secs / processes as f64 * 100.0
    } else {
        0.0
    }
}

/// `a ÷ b` round by round (rounds where either is missing or `b` is zero are skipped), and the
/// median of those ratios: how two alternated configurations compare when the machine's
/// speed drifts between rounds.
pub fn round_ratios(a: &[Option<f64>], b: &[Option<f64>]) -> (Vec<f64>, Option<f64>) {
    let ratios: Vec<f64> = a
        .iter()
        .zip(b)
        .filter_map(|(x, y)| match (x, y) {
            (Some(x), Some(y)) if *y != 0.0 => Some(x / y),
            _ => None,
        })
        .collect();
    let median = (!ratios.is_empty()).then(|| Spread::of(&ratios).p50);
    (ratios, median)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles_of_twenty() {
        let values: Vec<f64> = (1..=20).rev().map(f64::from).collect();
        let s = Spread::of(&values);
        assert_eq!(s.count, 20);
        assert_eq!(s.min, 1.0);
        assert_eq!(s.p50, 10.0);
        assert_eq!(s.p95, 19.0);
        assert_eq!(s.max, 20.0);
    }

    #[test]
    fn small_and_odd_counts() {
        let s = Spread::of(&[30.0, 10.0, 20.0, 50.0, 40.0]);
        assert_eq!((s.min, s.p50, s.p95, s.max), (10.0, 30.0, 50.0, 50.0));
        let one = Spread::of(&[7.5]);
        assert_eq!((one.min, one.p50, one.p95, one.max), (7.5, 7.5, 7.5, 7.5));
        let two = Spread::of(&[2.0, 1.0]);
        assert_eq!((two.p50, two.p95), (1.0, 2.0));
    }

    #[test]
    fn empty_and_non_finite_samples() {
        assert_eq!(Spread::of(&[]), Spread::default());
        assert_eq!(Spread::of(&[f64::NAN, f64::INFINITY]), Spread::default());
        let s = Spread::of(&[f64::NAN, 3.0]);
        assert_eq!((s.count, s.p50), (1, 3.0));
        assert_eq!(Spread::default().p95_line("ms"), "no samples");
        assert_eq!(Spread::default().range_line("MB/s", 1), "no samples");
    }

    #[test]
    fn report_lines() {
        let s = Spread::of(&[12.0, 10.0, 31.25]);
        assert_eq!(s.p95_line("ms"), "p50 12.0 / p95 31.2 / max 31.2 ms (n=3)");
        assert_eq!(s.range_line("MB/s", 1), "12.0 (10.0–31.2) MB/s (n=3)");
        assert_eq!(s.range_line("x", 3), "12.000 (10.000–31.250) x (n=3)");
    }

    #[test]
    fn units() {
        assert_eq!(millis(Duration::from_micros(1500)), 1.5);
        assert_eq!(
            megabytes_per_second(100_000_000, Duration::from_secs(4)),
            25.0
        );
        assert_eq!(megabytes_per_second(5, Duration::ZERO), 0.0);
        // 0.6 CPU-seconds over 30 s for two gateways: 1 % of a core each.
        assert!((percent_of_core_each(0.6, 30.0, 2) - 1.0).abs() < 1e-12);
        assert_eq!(percent_of_core_each(1.0, 0.0, 2), 0.0);
        assert_eq!(percent_of_core_each(1.0, 1.0, 0), 0.0);
    }

    #[test]
    fn ratios_pair_rounds_and_skip_gaps() {
        let a = [Some(20.0), Some(30.0), None, Some(10.0), Some(8.0)];
        let b = [Some(10.0), Some(10.0), Some(5.0), Some(0.0), Some(16.0)];
        let (ratios, median) = round_ratios(&a, &b);
        assert_eq!(ratios, vec![2.0, 3.0, 0.5]);
        assert_eq!(median, Some(2.0));
        assert_eq!(round_ratios(&[None], &[Some(1.0)]), (vec![], None));
    }
}

//! A strict sliding-window limit: at most `max` events in any `window`. SPEC §7 says "never a
//! 6th within 60 s"; this keeps the last `max` timestamps and refuses while the oldest is
//! younger than the window, which is exactly that rule (governor's GCRA would need a burst and
//! period tuned to approximate it, and it reads its own clock, not the service's).

use std::collections::VecDeque;
use std::time::Duration;

use chrono::{DateTime, Utc};

/// At most `max` events in any `window`.
#[derive(Debug, Clone)]
pub struct StrictWindow {
    max: usize,
    window: chrono::Duration,
    /// Timestamps of the last `max` admitted events, oldest first.
    recent: VecDeque<DateTime<Utc>>,
}

impl StrictWindow {
    /// A limit of `max` events per `window`.
    pub fn new(max: u32, window: Duration) -> Self {
        StrictWindow {
            max: max.max(1) as usize,
            window: chrono::Duration::from_std(window).unwrap_or(chrono::Duration::MAX),
            recent: VecDeque::new(),
        }
    }

    /// Admits an event at `now`, or says how long until one would be admitted.
    pub fn admit(&mut self, now: DateTime<Utc>) -> Result<(), Duration> {
        if self.recent.len() >= self.max {
            if let Some(oldest) = self.recent.front() {
                let free_at = *oldest + self.window;
                if now < free_at {
                    return Err((free_at - now).to_std().unwrap_or(Duration::from_secs(1)));
                }
            }
            self.recent.pop_front();
        }
        self.recent.push_back(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_a_sixth_within_the_window() {
        let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let mut w = StrictWindow::new(5, Duration::from_secs(60));
        for i in 0..5 {
            assert!(w.admit(t0 + chrono::Duration::seconds(i)).is_ok());
        }
        let wait = w.admit(t0 + chrono::Duration::seconds(10)).unwrap_err();
        assert_eq!(wait, Duration::from_secs(50));
        assert!(w.admit(t0 + chrono::Duration::seconds(59)).is_err());
        assert!(w.admit(t0 + chrono::Duration::seconds(60)).is_ok());
        assert!(
            w.admit(t0 + chrono::Duration::seconds(60)).is_err(),
            "the 2nd slot frees at 61 s"
        );
        // One event per second for ten minutes: never more than 5 in any 60 s.
        let mut w = StrictWindow::new(5, Duration::from_secs(60));
        let admitted: Vec<i64> = (0..600)
            .filter(|s| w.admit(t0 + chrono::Duration::seconds(*s)).is_ok())
            .collect();
        for (i, s) in admitted.iter().enumerate() {
            let in_window = admitted[i..].iter().take_while(|x| **x < s + 60).count();
            assert!(in_window <= 5);
        }
        assert_eq!(admitted.len(), 50);
    }
}

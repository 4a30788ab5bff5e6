//! Connection attempts per client IP, checked on accept before any TLS or WebSocket work, so
//! one address cannot make the broker spend its handshakes on a flood. A refused attempt is
//! closed at once (there is no MQTT session yet to answer with a CONNACK); the refusal is
//! logged and counted. Repeated *authentication* failures are the lockout's business
//! (actors' `GatewayLockout`), not this one's.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Addresses tracked before idle ones are pruned.
pub const PRUNE_THRESHOLD: usize = 10_000;

/// Admits connection attempts per IP: `per_minute` sustained, in bursts of up to
/// `per_minute` (GCRA: one attempt's worth of credit comes back every `60 s / per_minute`).
pub struct Admission {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
}

impl Admission {
    /// A limit of `per_minute` attempts per address (0 is treated as 1).
    pub fn new(per_minute: u32) -> Self {
        let n = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(Duration::from_secs(60) / n.get())
            .unwrap_or_else(|| Quota::per_minute(n))
            .allow_burst(n);
        Admission {
            limiter: RateLimiter::keyed(quota),
        }
    }

    /// Whether an attempt from `ip` may proceed now.
    pub fn admit(&self, ip: IpAddr) -> bool {
        if self.limiter.len() > PRUNE_THRESHOLD {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(&ip).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_of_the_limit_then_refusals_per_address() {
        let a = Admission::new(3);
        let one = IpAddr::from([10, 0, 0, 1]);
        let two = IpAddr::from([10, 0, 0, 2]);
        assert!((0..3).all(|_| a.admit(one)));
        assert!(!a.admit(one));
        assert!(a.admit(two), "another address has its own budget");
    }
}

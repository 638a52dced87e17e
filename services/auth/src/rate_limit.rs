//! Per-address rate limits for login, registration and password reset.
//!
//! A generic cell rate algorithm (GCRA): each address may send `limit` requests at once and then
//! one every `window / limit`, so a burst is allowed but the long-run rate is bounded. Counters
//! live in memory, per replica: they only need to slow one address down, while the per-account
//! failed-login counters, which must hold across replicas, live in PostgreSQL
//! ([`crate::store::login_failures`]).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::AuthError;

/// Addresses tracked before expired entries are swept.
const SWEEP_AT: usize = 10_000;

/// The per-address limiter.
#[derive(Debug)]
pub struct AddressLimiter {
    enabled: bool,
    window: Duration,
    interval: Duration,
    /// Per address, the theoretical arrival time of its next request.
    tats: Mutex<HashMap<Option<IpAddr>, Instant>>,
}

impl AddressLimiter {
    /// `limit` requests per `window` per address; `enabled: false` lets everything through.
    pub fn new(enabled: bool, limit: u32, window: Duration) -> Self {
        let limit = limit.max(1);
        Self { enabled, window, interval: window / limit, tats: Mutex::new(HashMap::new()) }
    }

    /// Counts one request from `address` (`None` when unknown: all such share one budget).
    pub fn check(&self, address: Option<IpAddr>) -> Result<(), AuthError> {
        self.check_at(address, Instant::now())
    }

    fn check_at(&self, address: Option<IpAddr>, now: Instant) -> Result<(), AuthError> {
        if !self.enabled {
            return Ok(());
        }
        let mut tats = self.tats.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if tats.len() >= SWEEP_AT {
            tats.retain(|_, tat| *tat > now);
        }
        let tat = tats.get(&address).copied().filter(|tat| *tat > now).unwrap_or(now);
        let next = tat + self.interval;
        let ahead = next - now;
        if ahead > self.window {
            let wait = ahead - self.window;
            // Round up, so a client that waits exactly Retry-After gets through.
            let retry_after_secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            tracing::info!(client.address = ?address, "per-address rate limit reached");
            return Err(AuthError::RateLimited { retry_after_secs });
        }
        tats.insert(address, next);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> Option<IpAddr> {
        Some(IpAddr::from([203, 0, 113, last]))
    }

    #[test]
    fn a_burst_up_to_the_limit_passes_then_the_rate_is_bounded() {
        let limiter = AddressLimiter::new(true, 3, Duration::from_secs(60));
        let start = Instant::now();
        for _ in 0..3 {
            limiter.check_at(ip(1), start).unwrap();
        }
        match limiter.check_at(ip(1), start) {
            Err(AuthError::RateLimited { retry_after_secs }) => assert_eq!(retry_after_secs, 20),
            other => panic!("expected a rate limit, got {other:?}"),
        }
        // Another address has its own budget.
        limiter.check_at(ip(2), start).unwrap();
        // One interval later, one more request fits.
        limiter.check_at(ip(1), start + Duration::from_secs(20)).unwrap();
        assert!(limiter.check_at(ip(1), start + Duration::from_secs(20)).is_err());
    }

    #[test]
    fn disabled_limits_let_everything_through() {
        let limiter = AddressLimiter::new(false, 1, Duration::from_secs(60));
        for _ in 0..100 {
            limiter.check(ip(1)).unwrap();
        }
    }
}

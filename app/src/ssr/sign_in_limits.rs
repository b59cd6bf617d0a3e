//! Sign-in rate limits: so many attempts a minute from one client address, and so many for one
//! account, whichever runs out first; and as many new accounts a minute from one address (each
//! costs an argon2id hash, 19 MiB and tens of milliseconds, so unlimited sign-ups are a cheap way
//! to load the server). The limiting itself is the `governor` crate (GCRA): a
//! spent attempt comes back after 60/N seconds, so a person locked out by someone else's
//! guessing waits seconds, not hours, and the answer says how long (429 + Retry-After).
//!
//! The counts live in this process: with several instances behind a proxy each counts on its
//! own, so an attacker spreading over N instances gets N times the attempts (README, "Scaling
//! out"). The client address is the TCP peer unless the server is told it sits behind a proxy
//! that appends to `X-Forwarded-For`; then it is that header's last entry (what our proxy saw).

use axum::http::{request::Parts, HeaderMap};
use governor::{clock::Clock, DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::time::Duration;

/// Keys kept before forgetting the ones whose attempts have all come back.
const TIDY_ABOVE: usize = 10_000;

pub struct SignInLimits {
    per_address: DefaultKeyedRateLimiter<IpAddr>,
    per_account: DefaultKeyedRateLimiter<String>,
    sign_ups: DefaultKeyedRateLimiter<IpAddr>,
    trust_forwarded_for: bool,
}

impl std::fmt::Debug for SignInLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInLimits")
            .field("trust_forwarded_for", &self.trust_forwarded_for)
            .finish_non_exhaustive()
    }
}

/// Which limit refused an attempt, and when the next one may come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub retry_after: Duration,
}

impl Refused {
    /// Whole seconds, rounded up, at least 1: what `Retry-After` carries.
    pub fn retry_after_secs(&self) -> u64 {
        let secs = self.retry_after.as_secs() + u64::from(self.retry_after.subsec_nanos() > 0);
        secs.max(1)
    }
}

impl SignInLimits {
    /// `per_address` and `per_account` attempts a minute (each also the largest burst).
    pub fn new(
        per_address: NonZeroU32,
        per_account: NonZeroU32,
        trust_forwarded_for: bool,
    ) -> Self {
        SignInLimits {
            per_address: RateLimiter::keyed(Quota::per_minute(per_address)),
            per_account: RateLimiter::keyed(Quota::per_minute(per_account)),
            sign_ups: RateLimiter::keyed(Quota::per_minute(per_address)),
            trust_forwarded_for,
        }
    }

    /// Spends one of the client address's sign-ups (as many a minute as its sign-in attempts).
    pub fn sign_up(&self, client: Option<IpAddr>) -> Result<(), Refused> {
        self.tidy();
        match client {
            Some(address) => self
                .sign_ups
                .check_key(&address)
                .map_err(|not_until| refused(&self.sign_ups, not_until)),
            None => Ok(()),
        }
    }

    /// Spends one attempt of the client's address and one of the account named by `email`.
    /// An address already refused does not spend the account's attempt, so a flood from one
    /// place cannot also lock the account.
    pub fn attempt(&self, client: Option<IpAddr>, email: &str) -> Result<(), Refused> {
        self.tidy();
        if let Some(address) = client {
            self.per_address
                .check_key(&address)
                .map_err(|not_until| refused(&self.per_address, not_until))?;
        }
        self.per_account
            .check_key(&account_key(email))
            .map_err(|not_until| refused(&self.per_account, not_until))
    }

    /// The address the request came from, as this server may believe it.
    pub fn client_address(&self, parts: &Parts) -> Option<IpAddr> {
        if self.trust_forwarded_for {
            if let Some(address) = last_forwarded_for(&parts.headers) {
                return Some(address);
            }
        }
        parts
            .extensions
            .get::<axum::extract::ConnectInfo<SocketAddr>>()
            .map(|info| info.0.ip())
    }

    fn tidy(&self) {
        if self.per_address.len() > TIDY_ABOVE {
            self.per_address.retain_recent();
        }
        if self.per_account.len() > TIDY_ABOVE {
            self.per_account.retain_recent();
        }
        if self.sign_ups.len() > TIDY_ABOVE {
            self.sign_ups.retain_recent();
        }
    }
}

fn refused<K: std::hash::Hash + Eq + Clone>(
    limiter: &DefaultKeyedRateLimiter<K>,
    not_until: governor::NotUntil<<governor::clock::DefaultClock as Clock>::Instant>,
) -> Refused {
    Refused {
        retry_after: not_until.wait_time_from(limiter.clock().now()),
    }
}

/// Email addresses differ only in case and surrounding spaces for the same account.
fn account_key(email: &str) -> String {
    email.trim().to_lowercase()
}

/// The last address in `X-Forwarded-For`: the one our own proxy appended.
fn last_forwarded_for(headers: &HeaderMap) -> Option<IpAddr> {
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .next_back()
        .and_then(|entry| entry.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(per_address: u32, per_account: u32, trust: bool) -> SignInLimits {
        SignInLimits::new(
            NonZeroU32::new(per_address).expect("nonzero"),
            NonZeroU32::new(per_account).expect("nonzero"),
            trust,
        )
    }

    fn ip(text: &str) -> Option<IpAddr> {
        text.parse().ok()
    }

    #[test]
    fn an_account_is_limited_whatever_the_address_and_case() {
        let limits = limits(100, 3, false);
        for n in 0..3 {
            let address = ip(&format!("10.0.0.{n}"));
            assert_eq!(limits.attempt(address, "Ann@Example.com "), Ok(()));
        }
        let refused = limits
            .attempt(ip("10.0.0.9"), "ann@example.com")
            .expect_err("the fourth attempt on one account is refused");
        // 3 a minute: the next attempt comes back within 20 s.
        assert!(
            refused.retry_after <= Duration::from_secs(20),
            "{refused:?}"
        );
        assert!(
            (1..=20).contains(&refused.retry_after_secs()),
            "{refused:?}"
        );
        assert_eq!(limits.attempt(ip("10.0.0.9"), "bob@example.com"), Ok(()));
    }

    #[test]
    fn an_address_is_limited_across_accounts_without_spending_theirs() {
        let limits = limits(2, 2, false);
        assert_eq!(limits.attempt(ip("192.0.2.1"), "a@example.com"), Ok(()));
        assert_eq!(limits.attempt(ip("192.0.2.1"), "b@example.com"), Ok(()));
        assert!(limits.attempt(ip("192.0.2.1"), "c@example.com").is_err());
        assert!(limits.attempt(ip("192.0.2.1"), "c@example.com").is_err());
        // c's attempts were not spent by the refused address.
        assert_eq!(limits.attempt(ip("192.0.2.2"), "c@example.com"), Ok(()));
        assert_eq!(limits.attempt(ip("192.0.2.3"), "c@example.com"), Ok(()));
    }

    #[test]
    fn sign_ups_are_limited_per_address_apart_from_sign_ins() {
        let limits = limits(2, 5, false);
        assert_eq!(limits.sign_up(ip("192.0.2.1")), Ok(()));
        assert_eq!(limits.sign_up(ip("192.0.2.1")), Ok(()));
        assert!(limits.sign_up(ip("192.0.2.1")).is_err());
        assert_eq!(limits.sign_up(ip("192.0.2.2")), Ok(()));
        assert_eq!(limits.attempt(ip("192.0.2.1"), "a@example.com"), Ok(()));
    }

    #[test]
    fn forwarded_for_counts_only_when_trusted_and_then_its_last_entry() {
        let request = |forwarded: &str| {
            let (mut parts, ()) = axum::http::Request::builder()
                .header("x-forwarded-for", forwarded)
                .body(())
                .expect("request")
                .into_parts();
            parts
                .extensions
                .insert(axum::extract::ConnectInfo(SocketAddr::from((
                    [127, 0, 0, 1],
                    9,
                ))));
            parts
        };
        let spoofed = request("6.6.6.6, 203.0.113.7");
        assert_eq!(
            limits(1, 1, false).client_address(&spoofed),
            ip("127.0.0.1"),
            "untrusted: the TCP peer"
        );
        assert_eq!(
            limits(1, 1, true).client_address(&spoofed),
            ip("203.0.113.7"),
            "trusted: the entry our proxy appended, not the client's own"
        );
        assert_eq!(
            limits(1, 1, true).client_address(&request("not an address")),
            ip("127.0.0.1")
        );
    }
}

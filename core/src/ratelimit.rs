//! Rate limits: fixed windows counted in the cache, so every instance sharing Redis
//! shares the counts. A cache outage fails open: refusing all logins because Redis is
//! down would turn a speed problem into an outage.
//!
//! Limits are per client address for the unauthenticated endpoints (registration, login)
//! and per volunteer for scanning and signing up. Scanning is deliberately not limited per address:
//! mobile carriers put thousands of phones behind one address (CGNAT), and an event's
//! Wi-Fi does the same.

use std::time::Duration;

mod use_cases;

/// At most `max` requests per `per`; `max = 0` turns the limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Requests allowed per window.
    pub max: u64,
    /// The window.
    pub per: Duration,
}

impl Limit {
    /// `max` per minute.
    pub const fn per_minute(max: u64) -> Self {
        Self { max, per: Duration::from_secs(60) }
    }
}

/// The limits in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Registrations per client address.
    pub registration_per_client: Limit,
    /// Logins (and bootstrap attempts) per client address.
    pub login_per_client: Limit,
    /// Scans per volunteer.
    pub scans_per_volunteer: Limit,
    /// Sign-ups per volunteer (each attempt counts, refused or not): a script grabbing
    /// places, or hammering a full slot, is slowed to a person's pace.
    pub signups_per_volunteer: Limit,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            registration_per_client: Limit::per_minute(120),
            login_per_client: Limit::per_minute(300),
            scans_per_volunteer: Limit::per_minute(30),
            signups_per_volunteer: Limit::per_minute(10),
        }
    }
}

/// One subject's count under a limit in the window `now` falls in: the cache key it is
/// counted under, and the answer once the window's allowance is used up. Taken apart from
/// counting so that a caller can count together with another cache request (the scan path
/// counts with its presence read: one Redis round trip instead of two).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    key: String,
    ttl: Duration,
    max: u64,
    /// The window's end, in seconds since the epoch.
    ends_at: i64,
    retry_after_secs: u64,
}

impl Window {
    /// The window of `limit` for `subject` under `scope` at `now` (seconds since the
    /// epoch); `None` when the limit is off.
    pub fn of(scope: &str, subject: &str, limit: Limit, now: i64) -> Option<Self> {
        if limit.max == 0 {
            return None;
        }
        let length = i64::try_from(limit.per.as_secs().max(1)).unwrap_or(i64::MAX);
        let index = now.div_euclid(length);
        let ends_at = index.saturating_add(1).saturating_mul(length);
        Some(Self {
            key: format!("limit:{scope}:{subject}:{index}"),
            // A second longer than the window, so the count outlives every hit in it.
            ttl: Duration::from_secs(u64::try_from(length).unwrap_or(u64::MAX).saturating_add(1)),
            max: limit.max,
            ends_at,
            retry_after_secs: u64::try_from(ends_at - now).unwrap_or(1).max(1),
        })
    }

    /// The cache key the hits are counted under.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// How long the count must live.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// When the window ends, in seconds since the epoch.
    pub fn ends_at(&self) -> i64 {
        self.ends_at
    }

    /// `rate_limited`, with the seconds to the window's end, once `hits` (this request's
    /// included) exceed the allowance.
    pub fn judge(&self, hits: u64) -> Result<(), crate::error::CoreError> {
        if hits > self.max { Err(self.refusal()) } else { Ok(()) }
    }

    /// The refusal of a request over the allowance.
    pub fn refusal(&self) -> crate::error::CoreError {
        crate::error::CoreError::RateLimited { retry_after_secs: self.retry_after_secs }
    }
}

/// The subjects this instance has refused under one limit, each until its window ends: a
/// further request from one of them is refused before it costs anything, which is what the
/// shared count would answer (it only grows until the window ends). A flood of scans from
/// one volunteer then never queues behind the lock they share with other volunteers.
///
/// Bounded: past [`Refused::MAX`] subjects the ended windows are dropped, and if that is
/// not enough, all of them (the shared count still refuses; only the shortcut is lost).
#[derive(Debug, Default)]
pub struct Refused {
    until: std::sync::Mutex<std::collections::HashMap<i64, i64>>,
}

impl Refused {
    /// The most subjects remembered.
    pub const MAX: usize = 10_000;

    /// Remembers that `subject` was refused in the window that ends at `ends_at`.
    pub fn note(&self, subject: i64, ends_at: i64, now: i64) {
        let mut until = self.until.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if until.len() >= Self::MAX {
            until.retain(|_, end| *end > now);
            if until.len() >= Self::MAX {
                until.clear();
            }
        }
        until.insert(subject, ends_at);
    }

    /// Whether `subject` was refused in a window that has not ended by `now`.
    pub fn is_refused(&self, subject: i64, now: i64) -> bool {
        let until = self.until.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        !until.is_empty() && until.get(&subject).is_some_and(|end| *end > now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_is_the_fixed_minute_now_falls_in() {
        let minute = Limit::per_minute(2);
        let w = Window::of("scan", "7", minute, 120 + 45).expect("on");
        assert_eq!(w.key(), "limit:scan:7:2");
        assert_eq!(w.ends_at(), 180);
        assert_eq!(w.ttl(), Duration::from_secs(61));
        assert!(w.judge(1).is_ok() && w.judge(2).is_ok());
        assert!(matches!(w.judge(3), Err(crate::error::CoreError::RateLimited { retry_after_secs: 15 })));
        // The last second of a window still waits one second, never zero.
        let last = Window::of("scan", "7", minute, 179).expect("on");
        assert!(matches!(last.judge(3), Err(crate::error::CoreError::RateLimited { retry_after_secs: 1 })));
        assert_eq!(Window::of("scan", "7", Limit::per_minute(0), 165), None);
    }

    #[test]
    fn a_refusal_is_remembered_until_its_window_ends_and_the_memory_stays_bounded() {
        let refused = Refused::default();
        assert!(!refused.is_refused(7, 100));
        refused.note(7, 120, 100);
        assert!(refused.is_refused(7, 119));
        assert!(!refused.is_refused(7, 120), "a new window starts afresh");
        assert!(!refused.is_refused(8, 100), "only the subject refused");
        for subject in 0..(Refused::MAX as i64 * 3) {
            refused.note(1_000 + subject, 200 + subject, 150 + subject);
            assert!(refused.is_refused(1_000 + subject, 150 + subject));
        }
        let kept = refused.until.lock().expect("not poisoned").len();
        assert!(kept <= Refused::MAX, "{kept} remembered");
    }
}

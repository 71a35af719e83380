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

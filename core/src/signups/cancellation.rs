//! Cancelling an activity (活动取消): an organiser calls it off (weather, a venue lost).
//! From then on arrivals are refused (`activity_cancelled`, recorded as refused scans;
//! departures of anyone still inside are taken, so their time is not lost), sign-ups and
//! changes to recruitment are closed (`activity_cancelled`), the public page says so, and
//! everyone signed up (holding a place or waiting) is told, in the app and by WeChat where
//! they subscribed.
//!
//! ```text
//! organiser ── POST /api/v1/activities/{id}/cancellation {reason} ──► store: one row (once)
//!                                                                     + audit entry
//!           ◄── 200 {cancelled_at, reason} ── drop the rule here ◄────┘
//!                                             PUBLISH <prefix>:live:admission ──► every
//!                                               instance drops its copy of the rule
//!                                             notify every live sign-up (keyed: once each)
//! ```
//!
//! The scan path reads the cancellation with the walk-in rule, from the same per-instance
//! copy ([`super::WALK_IN_RULE_FRESH`]). Before answering, the instance that cancels drops
//! its copy and announces the change to every other instance through Redis, which drop
//! theirs as they hear it: an arrival after the answer is refused on any instance. Only an
//! instance that missed the announcement (its subscription was down) may admit arrivals
//! until its copy lapses. Sign-ups are left as they were (the organisation's record of whom
//! it expected); the notice tells the volunteer. Cancelling again answers the cancellation
//! as it stands and tells nobody twice.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

mod use_cases;

/// Cancelling an activity.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancellationRequest {
    /// Why, 1–500 characters: told to everyone signed up.
    pub reason: String,
}

/// An activity's cancellation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ActivityCancellation {
    /// The activity.
    pub activity_id: i64,
    /// Why.
    pub reason: String,
    /// When (+08:00).
    #[serde(with = "crate::activity::shanghai_time")]
    #[schema(value_type = String)]
    pub cancelled_at: DateTime<Utc>,
}

//! Sign-ups on and around the day: who may check in where walk-ins are not admitted (on
//! the scan path), the reminders before the start, and who never came.

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use serde::Serialize;
use utoipa::ToSchema;

use super::{Signup, SignupStatus};

mod use_cases;

/// How long an instance trusts its copy of who may check in at an activity (whether it was
/// cancelled, and, where it admits no walk-ins, who is approved). Only a volunteer found on
/// it is let in on the copy's word; one missing from it is looked up in the store before
/// being refused, so an approval counts at once. A change that takes admission away (a
/// cancellation, a decline, a sign-up cancelled) is announced to every instance, which drops
/// its copy when it hears it ([`Hourmark::admission_changed`]); this lifetime is the bound
/// only for an instance that missed the announcement (its Redis subscription dropped), or
/// whose reload of the rule read the store just before the change and finished just after
/// the announcement arrived (a window one store read wide).
pub const WALK_IN_RULE_FRESH: std::time::Duration = std::time::Duration::from_secs(10);

/// Who may arrive at an activity, as an instance keeps it for [`WALK_IN_RULE_FRESH`].
#[derive(Debug)]
pub(crate) enum Admission {
    /// Anyone (no recruitment, or walk-ins admitted).
    Anyone,
    /// Only these volunteers (approved sign-ups), and any approved since.
    Approved(std::collections::HashSet<i64>),
    /// Nobody: the activity was cancelled.
    Cancelled,
}

/// The reminders an approved volunteer gets before their activity: (stage, the window of
/// start times it is for, from now). An activity starting within the hour gets the hour's
/// reminder only, so a volunteer approved 30 minutes before hears once, not twice.
const REMINDERS: [(&str, chrono::TimeDelta, chrono::TimeDelta); 2] = [
    ("remind_hour", chrono::TimeDelta::zero(), chrono::TimeDelta::hours(1)),
    ("remind_day", chrono::TimeDelta::hours(1), chrono::TimeDelta::hours(24)),
];
/// Most reminders of one stage sent in one run of the job (the next run sends the rest).
const REMINDERS_PER_RUN: i64 = 1000;

/// Approved volunteers who did not come. See [`Hourmark::no_shows`].
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NoShows {
    /// Whether the activity has ended (before, the list says who has not come yet).
    pub ended: bool,
    /// When the list was recorded, at finalisation (+08:00); absent while it is still
    /// worked out from the scans on each request.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::activity::shanghai_time::option::serialize"
    )]
    #[schema(value_type = Option<String>)]
    pub recorded_at: Option<DateTime<Utc>>,
    /// Whether the activity was cancelled: then nobody was expected, and the list is empty.
    pub cancelled: bool,
    /// Their sign-ups, by slot order and then by id.
    pub no_shows: Vec<Signup>,
}

/// The approved sign-ups whose volunteers are not among those who came.
fn absent(signups: Vec<Signup>, came: &HashSet<i64>) -> Vec<Signup> {
    signups.into_iter().filter(|s| s.status == SignupStatus::Approved && !came.contains(&s.volunteer_id)).collect()
}

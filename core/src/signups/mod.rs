//! Recruitment and sign-ups before the day (issue 17), so organisers know whom to expect.
//!
//! An organiser publishes an activity for recruitment: named slots (roles or shifts), each
//! with its places; requirements (a minimum age on the activity's day, registered skills);
//! a sign-up deadline; a cancellation cut-off; and whether approval is needed, a waiting
//! list is kept and walk-ins may scan in. Volunteers sign up for one slot per activity.
//!
//! ```text
//! volunteer                      server (any instance)                     store
//!   │ POST /mp/v1/activities/{id}/signups {slot_id}
//!   │──────────────────────────────►│ rate limit · deadline · consent ·
//!   │                               │ age and skills
//!   │                               │── sign_up ──────────────────────────►│ lock the slot's row
//!   │                               │                                      │ places taken < capacity?
//!   │                               │                                      │   yes: pending / approved
//!   │                               │                                      │   no:  waitlisted, or full
//!   │◄── 201 {status} / 409 ────────│◄─────────────────────────────────────│ commit (lock released)
//!
//! cancel / decline ──► lock the slot ──► free the place ──► first on the waiting list
//!                                                           moves up (same transaction)
//!                                                           ──► notified after commit
//! ```
//!
//! A slot's places are held by its `pending` and `approved` sign-ups: a sign-up waiting
//! for approval holds its place, so approving never overfills a slot. Every change to who
//! holds a place locks the slot first (on SQLite the single writer does the same), which is
//! what makes the last place go to exactly one of two volunteers signing up at once.
//!
//! Leaving the waiting list is allowed at any time: a wait-listed volunteer holds no place
//! the organiser plans with. The cancellation cut-off binds only those holding a place.
//!
//! Walk-ins: where the activity admits none, a check-in by a volunteer without an approved
//! sign-up is refused (`walk_in_refused`, recorded as a refused scan). `on_the_day` holds
//! how the scan path reads that rule without a query, the reminders, and the no-shows.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{CoreError, ErrorCode};

mod use_cases;

mod cancellation;
mod on_the_day;
mod public;
mod training;

pub use cancellation::{ActivityCancellation, CancellationRequest};
pub(crate) use on_the_day::Admission;
pub use on_the_day::{NoShows, WALK_IN_RULE_FRESH};
pub use public::{PublicRecruitment, share_url};
pub use training::{TrainingCompletion, TrainingCompletionRequest};

/// Most slots one activity recruits for.
pub const MAX_SLOTS: usize = 50;
/// Most skills an activity may require.
pub const MAX_REQUIRED_SKILLS: usize = 10;

fn yes() -> bool {
    true
}

/// A slot as the organiser describes it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SlotRequest {
    /// The role or shift, 1–40 characters, distinct within the activity (e.g. "北门引导 上午").
    /// Slots are matched by name when recruitment is published again.
    pub name: String,
    /// Places, 1–100 000.
    pub capacity: u32,
}

/// Publishing (or republishing) an activity for recruitment.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecruitmentRequest {
    /// 1–50 slots. A slot left out is removed, which only a slot nobody ever signed up
    /// for may be; a slot's places cannot fall below those taken.
    pub slots: Vec<SlotRequest>,
    /// Minimum age in whole years on the activity's start day (Beijing time), 1–100.
    #[serde(default)]
    pub min_age: Option<u8>,
    /// Skills a volunteer must have registered (each, exactly as registered), at most 10.
    #[serde(default)]
    pub required_skills: Vec<String>,
    /// A training volunteers must have completed, by its name (1–100 characters, e.g.
    /// "赛事志愿者岗前培训"); the organisation records who completed it
    /// (`POST /api/v1/activities/{id}/training-completions`). None: no training needed.
    #[serde(default)]
    pub required_training: Option<String>,
    /// Sign-ups close at this instant: RFC 3339, or local Beijing time without an offset;
    /// not after the activity's end.
    #[serde(with = "crate::activity::shanghai_time")]
    #[schema(value_type = String, example = "2026-12-11T20:00:00+08:00")]
    pub signup_deadline: DateTime<Utc>,
    /// Volunteers holding a place may cancel until this instant; not after the activity's end.
    #[serde(with = "crate::activity::shanghai_time")]
    #[schema(value_type = String, example = "2026-12-11T12:00:00+08:00")]
    pub cancel_cutoff: DateTime<Utc>,
    /// Sign-ups wait for an organiser's approval (holding their place meanwhile). Default false.
    #[serde(default)]
    pub approval_required: bool,
    /// A full slot keeps a waiting list that moves up by itself. Default true.
    #[serde(default = "yes")]
    pub waitlist: bool,
    /// Volunteers who did not sign up may scan in on the day. Default true; when false, a
    /// check-in needs an approved sign-up (`walk_in_refused` otherwise).
    #[serde(default = "yes")]
    pub walk_ins: bool,
}

/// A validated recruitment to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRecruitment {
    /// The activity.
    pub activity_id: i64,
    /// Slots, in order: (name, capacity).
    pub slots: Vec<(String, u32)>,
    /// Minimum age.
    pub min_age: Option<u8>,
    /// Required skills.
    pub required_skills: Vec<String>,
    /// Required training, by name.
    pub required_training: Option<String>,
    /// Sign-ups close.
    pub signup_deadline: DateTime<Utc>,
    /// Cancellations close.
    pub cancel_cutoff: DateTime<Utc>,
    /// Approval needed.
    pub approval_required: bool,
    /// Waiting list kept.
    pub waitlist: bool,
    /// Walk-ins allowed.
    pub walk_ins: bool,
    /// Who published.
    pub by: i64,
    /// When.
    pub at: DateTime<Utc>,
}

/// A slot with its places.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct RecruitmentSlot {
    /// Its id: what a volunteer signs up for.
    pub id: i64,
    /// The role or shift.
    pub name: String,
    /// Places.
    pub capacity: u32,
    /// Approved sign-ups: whom the board will expect.
    pub approved: u32,
    /// Sign-ups waiting for approval (they hold a place).
    pub pending: u32,
    /// On the waiting list.
    pub waitlisted: u32,
    /// Places nobody holds.
    pub places_left: u32,
}

/// An activity's recruitment.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Recruitment {
    /// The activity.
    pub activity_id: i64,
    /// Its slots, in the organiser's order.
    pub slots: Vec<RecruitmentSlot>,
    /// Minimum age on the day.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_age: Option<u8>,
    /// Skills required.
    pub required_skills: Vec<String>,
    /// A training volunteers must have completed (recorded by the organisation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub required_training: Option<String>,
    /// Sign-ups close (+08:00).
    #[serde(with = "crate::activity::shanghai_time")]
    #[schema(value_type = String)]
    pub signup_deadline: DateTime<Utc>,
    /// Cancellations close (+08:00).
    #[serde(with = "crate::activity::shanghai_time")]
    #[schema(value_type = String)]
    pub cancel_cutoff: DateTime<Utc>,
    /// Approval needed.
    pub approval_required: bool,
    /// Waiting list kept.
    pub waitlist: bool,
    /// Walk-ins allowed (when not, a check-in needs an approved sign-up).
    pub walk_ins: bool,
    /// First published (+08:00).
    #[serde(with = "crate::activity::shanghai_time")]
    #[schema(value_type = String)]
    pub published_at: DateTime<Utc>,
    /// Last changed (+08:00).
    #[serde(with = "crate::activity::shanghai_time")]
    #[schema(value_type = String)]
    pub updated_at: DateTime<Utc>,
}

/// Where a sign-up stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SignupStatus {
    /// Holds a place, waiting for an organiser's approval.
    Pending,
    /// Holds a place: expected on the day.
    Approved,
    /// On the slot's waiting list; moves up when a place frees.
    Waitlisted,
    /// Declined by an organiser, with a reason.
    Declined,
    /// Cancelled by the volunteer.
    Cancelled,
}

crate::stored_names!(SignupStatus {
    Pending => "pending",
    Approved => "approved",
    Waitlisted => "waitlisted",
    Declined => "declined",
    Cancelled => "cancelled",
});

impl SignupStatus {
    /// Whether the sign-up still counts (holds a place or waits for one).
    pub fn is_live(self) -> bool {
        matches!(self, Self::Pending | Self::Approved | Self::Waitlisted)
    }
}

/// The statuses that hold a place.
pub const HOLDING: [SignupStatus; 2] = [SignupStatus::Pending, SignupStatus::Approved];
/// The statuses that count as signed up.
pub const LIVE: [SignupStatus; 3] = [SignupStatus::Pending, SignupStatus::Approved, SignupStatus::Waitlisted];

/// A volunteer's sign-up for one slot of an activity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Signup {
    /// Its id.
    pub id: i64,
    /// The activity.
    pub activity_id: i64,
    /// The activity's name.
    pub activity_name: String,
    /// When the activity starts (+08:00).
    #[serde(with = "crate::activity::shanghai_time")]
    #[schema(value_type = String)]
    pub starts_at: DateTime<Utc>,
    /// The slot.
    pub slot_id: i64,
    /// The slot's name.
    pub slot_name: String,
    /// The volunteer.
    pub volunteer_id: i64,
    /// Their name.
    pub volunteer_name: String,
    /// Where it stands.
    pub status: SignupStatus,
    /// Place on the slot's waiting list (1 is next), while wait-listed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waitlist_position: Option<u32>,
    /// Why it was declined.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When an organiser approved or declined it (+08:00).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::activity::shanghai_time::option::serialize"
    )]
    #[schema(value_type = Option<String>)]
    pub decided_at: Option<DateTime<Utc>>,
    /// When the volunteer signed up (+08:00).
    #[serde(with = "crate::activity::shanghai_time")]
    #[schema(value_type = String)]
    pub created_at: DateTime<Utc>,
    /// When it last changed (+08:00).
    #[serde(with = "crate::activity::shanghai_time")]
    #[schema(value_type = String)]
    pub updated_at: DateTime<Utc>,
    /// The activity's cancellation, if the organiser called it off: the sign-up keeps its
    /// status (the organisation's record of whom it expected), so this is what tells the
    /// volunteer, and the page, that there is nothing left to attend or cancel.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activity_cancellation: Option<Box<ActivityCancellation>>,
}

/// Signing up.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignupRequest {
    /// The slot (from the activity's recruitment).
    pub slot_id: i64,
}

/// An organiser's decision on one sign-up.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignupDecision {
    /// Approve a pending sign-up (true) or decline a live one (false).
    pub approve: bool,
    /// Why: required to decline (1–500 characters, shown to the volunteer).
    #[serde(default)]
    pub reason: Option<String>,
}

/// Approving many pending sign-ups at once.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkApproval {
    /// These sign-ups (1–500 of the activity's; those not pending are left as they are);
    /// or none with `all`.
    #[serde(default)]
    pub ids: Vec<i64>,
    /// Every pending sign-up of the activity.
    #[serde(default)]
    pub all: bool,
}

/// How publishing went in the store.
#[derive(Debug, Clone, PartialEq)]
pub enum Publishing {
    /// Stored; these wait-listed sign-ups moved up into places added.
    Published(Vec<Signup>),
    /// A slot left out has sign-ups and cannot be removed (nothing changed).
    SlotInUse(String),
    /// A slot's places would fall below those taken (nothing changed).
    BelowTaken {
        /// The slot's name.
        slot: String,
        /// Places taken now.
        taken: u32,
    },
}

/// How a sign-up went in the store.
#[derive(Debug, Clone, PartialEq)]
pub enum Placing {
    /// Stored: holding a place (pending or approved) or on the waiting list.
    Placed(Signup),
    /// No place left and no waiting list (nothing stored).
    Full,
    /// The volunteer already has a live sign-up for the activity (nothing stored).
    Duplicate,
    /// The slot is not the activity's.
    NoSuchSlot,
}

/// A sign-up that left its place, and those who moved up into it.
#[derive(Debug, Clone, PartialEq)]
pub struct Freed {
    /// The cancelled or declined sign-up.
    pub signup: Signup,
    /// Wait-listed sign-ups that moved up, in order.
    pub moved_up: Vec<Signup>,
}

/// A minimum age on a day: whole years, birthdays as [`crate::identity::id_number::age_on`] counts them.
fn old_enough(birth: Option<chrono::NaiveDate>, day: chrono::NaiveDate, min_age: u8) -> bool {
    birth.is_some_and(|b| crate::identity::id_number::age_on(b, day) >= u32::from(min_age))
}

/// The required skills a volunteer lacks, in the activity's order.
fn missing_skills<'a>(required: &'a [String], held: &[String]) -> Vec<&'a str> {
    required.iter().filter(|r| !held.iter().any(|h| h == *r)).map(String::as_str).collect()
}

fn reason_text(reason: &str) -> Result<String, CoreError> {
    crate::text::clean(reason, 500, "reason", crate::text::Lines::Many)
}

impl RecruitmentRequest {
    fn validate(
        self,
        activity: &crate::activity::Activity,
        by: i64,
        at: DateTime<Utc>,
    ) -> Result<NewRecruitment, CoreError> {
        if self.slots.is_empty() || self.slots.len() > MAX_SLOTS {
            return Err(CoreError::refused(ErrorCode::InvalidBody, "slots 须为 1 至 50 个岗位"));
        }
        let mut slots = Vec::with_capacity(self.slots.len());
        for slot in self.slots {
            let name = crate::text::clean(&slot.name, 40, "slots[].name", crate::text::Lines::One)?;
            if !(1..=100_000).contains(&slot.capacity) {
                return Err(CoreError::refused(ErrorCode::InvalidBody, "slots[].capacity 须在 1 至 100000 之间"));
            }
            if slots.iter().any(|(n, _)| *n == name) {
                return Err(CoreError::refused(ErrorCode::InvalidBody, "岗位名称不能重复"));
            }
            slots.push((name, slot.capacity));
        }
        if self.min_age.is_some_and(|a| !(1..=100).contains(&a)) {
            return Err(CoreError::refused(ErrorCode::InvalidBody, "min_age 须在 1 至 100 之间"));
        }
        if self.required_skills.len() > MAX_REQUIRED_SKILLS {
            return Err(CoreError::refused(ErrorCode::InvalidBody, "required_skills 最多 10 项"));
        }
        let mut required_skills = crate::identity::registration::validate_skills(self.required_skills)?;
        required_skills.dedup();
        let required_training = match self.required_training.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(name) => Some(crate::text::clean(name, 100, "required_training", crate::text::Lines::One)?),
        };
        if self.signup_deadline > activity.ends_at || self.cancel_cutoff > activity.ends_at {
            return Err(CoreError::refused(ErrorCode::InvalidBody, "报名截止与取消截止时间不能晚于活动结束时间"));
        }
        Ok(NewRecruitment {
            activity_id: activity.id,
            slots,
            min_age: self.min_age,
            required_skills,
            required_training,
            signup_deadline: self.signup_deadline,
            cancel_cutoff: self.cancel_cutoff,
            approval_required: self.approval_required,
            waitlist: self.waitlist,
            walk_ins: self.walk_ins,
            by,
            at,
        })
    }
}

#[cfg(test)]
mod tests;

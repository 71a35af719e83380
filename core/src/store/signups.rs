//! Recruitment's and sign-ups' storage: a narrow trait, implemented once for both engines
//! in `shared/signups.rs`.
//!
//! Every write that changes who holds a slot's places (signing up, cancelling, declining,
//! publishing new places) runs in one transaction that first locks the slot (PostgreSQL:
//! `select … for update`; SQLite: the single writer), counts the places taken, and moves
//! the waiting list up into any place free before it commits.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreResult;
use crate::audit::AuditEvent;
use crate::signups::{Freed, NewRecruitment, Placing, Publishing, Recruitment, Signup, SignupStatus};

/// What recruitment keeps.
#[async_trait]
pub trait SignupStore: Send + Sync {
    /// An activity's recruitment with its slots' places, if published.
    async fn recruitment(&self, activity_id: i64) -> StoreResult<Option<Recruitment>>;
    /// Publishes or changes recruitment, with its audit entry, in one transaction: slots
    /// matched by name are updated, new ones added, those left out removed; the waiting
    /// lists move up into places added. Nothing changes when a removed slot has sign-ups
    /// or a slot's places would fall below those taken.
    async fn publish_recruitment(&self, new: &NewRecruitment, audit: &AuditEvent) -> StoreResult<Publishing>;
    /// Signs a volunteer up for a slot of an activity: a place if one is free (pending or
    /// approved, as the recruitment says), else the waiting list if kept, else `Full`.
    async fn sign_up(
        &self,
        activity_id: i64,
        slot_id: i64,
        volunteer_id: i64,
        at: DateTime<Utc>,
    ) -> StoreResult<Placing>;
    /// One sign-up.
    async fn signup(&self, id: i64) -> StoreResult<Option<Signup>>;
    /// An activity's sign-ups, by slot order and then by id.
    async fn activity_signups(&self, activity_id: i64) -> StoreResult<Vec<Signup>>;
    /// A volunteer's sign-ups, newest first.
    async fn volunteer_signups(&self, volunteer_id: i64) -> StoreResult<Vec<Signup>>;
    /// Records an activity's no-shows (these sign-ups of it) in one transaction, once:
    /// false, and nothing written, when they were recorded already.
    async fn record_no_shows(
        &self,
        activity_id: i64,
        signup_ids: &[i64],
        by: i64,
        at: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// An activity's recorded no-shows (by slot order, then id) and when they were
    /// recorded; `None` until recorded.
    async fn recorded_no_shows(&self, activity_id: i64) -> StoreResult<Option<(DateTime<Utc>, Vec<Signup>)>>;
    /// Approved sign-ups of activities starting in `(after, until]` whose volunteer has no
    /// notification keyed `signup:<id>:<stage>` yet: the reminders still to send (at most
    /// `limit`, soonest first).
    async fn due_signup_reminders(
        &self,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
        stage: &str,
        limit: i64,
    ) -> StoreResult<Vec<Signup>>;
    /// Cancels a sign-up that is in one of `from`, moving the waiting list up; `None`
    /// (nothing changed) if it was in none of them.
    async fn cancel_signup(&self, id: i64, from: &[SignupStatus], at: DateTime<Utc>) -> StoreResult<Option<Freed>>;
    /// Declines a live sign-up with its reason and audit entry, moving the waiting list
    /// up; `None` (nothing changed) if it was no longer live.
    async fn decline_signup(
        &self,
        id: i64,
        by: i64,
        reason: &str,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> StoreResult<Option<Freed>>;
    /// Approves an activity's pending sign-ups (those in `ids`, or all), with `audit`
    /// (its detail gains `signup_ids`, the ids approved), in one transaction; answers those
    /// approved. Places are not counted: a pending sign-up already holds its place.
    async fn approve_signups(
        &self,
        activity_id: i64,
        ids: Option<&[i64]>,
        by: i64,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> StoreResult<Vec<Signup>>;
}

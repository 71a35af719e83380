//! Stars' storage: a narrow trait, implemented once for both engines in `shared/stars.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreResult;
use crate::audit::AuditEvent;
use crate::stars::{NewStarApplication, StarApplication, StarApplicationStatus, StarReview, StarRule};

/// What stars keep.
#[async_trait]
pub trait StarStore: Send + Sync {
    /// A province's rule, if it set one.
    async fn star_rule(&self, province_code: &str) -> StoreResult<Option<StarRule>>;
    /// Sets a province's rule with its audit entry.
    async fn put_star_rule(
        &self,
        province_code: &str,
        rule: &StarRule,
        by: i64,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    /// Confirmed register minutes (in confirmed batches, reversals included) by the region
    /// of the organisation that recorded them.
    async fn confirmed_minutes_by_region(&self, volunteer_id: i64) -> StoreResult<Vec<(String, i64)>>;
    /// Stores an application; `None` if one is already pending.
    async fn add_star_application(&self, new: &NewStarApplication) -> StoreResult<Option<StarApplication>>;
    /// One application.
    async fn star_application(&self, id: i64) -> StoreResult<Option<StarApplication>>;
    /// A volunteer's applications, newest first.
    async fn star_applications_of(&self, volunteer_id: i64) -> StoreResult<Vec<StarApplication>>;
    /// Every pending application, oldest first.
    async fn pending_star_applications(&self) -> StoreResult<Vec<StarApplication>>;
    /// Decides a pending application with its audit entry; `None` if no longer pending.
    #[allow(clippy::too_many_arguments)]
    async fn decide_star_application(
        &self,
        id: i64,
        to: StarApplicationStatus,
        by: i64,
        reason: &str,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> StoreResult<Option<StarApplication>>;
    /// Raises a review of a grant, unless one is open already.
    async fn raise_star_review(&self, grant: &StarApplication, hours: u32, at: DateTime<Utc>) -> StoreResult<()>;
    /// One review.
    async fn star_review(&self, id: i64) -> StoreResult<Option<StarReview>>;
    /// Every open review, oldest first.
    async fn open_star_reviews(&self) -> StoreResult<Vec<StarReview>>;
    /// Decides an open review with its audit entry (revoking marks the grant revoked, in the
    /// same transaction); `None` if it was no longer open.
    async fn decide_star_review(
        &self,
        id: i64,
        revoke: bool,
        by: i64,
        reason: &str,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> StoreResult<Option<StarReview>>;
}

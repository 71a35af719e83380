//! Organisations, their status, and recorders' qualification.
//!
//! One area of [`Store`](super::Store): a narrow trait whose implementation is written once
//! for both engines, in `shared/organisations.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreResult;
use crate::audit::AuditEvent;
use crate::identity::{NewOrganisation, Organisation, OrganisationStatus};
use crate::qualification::{NewQualificationEvent, QualificationEvent};

/// Organisations, their status, and recorders' qualification.
#[async_trait]
pub trait OrganisationStore: Send + Sync {
    /// Creates an organisation in `status`; a taken name is `organisation_name_taken`.
    async fn create_organisation(
        &self,
        new: &NewOrganisation,
        status: OrganisationStatus,
        at: DateTime<Utc>,
    ) -> StoreResult<Organisation>;
    /// Creates an organisation in `status` on a staff member's word, with the organisation
    /// event (`reason`) and `audit` (its subject id set to the new organisation's), in one
    /// transaction; a taken name is `organisation_name_taken`.
    async fn create_organisation_audited(
        &self,
        new: &NewOrganisation,
        status: OrganisationStatus,
        staff_id: i64,
        reason: &str,
        audit: &AuditEvent,
    ) -> StoreResult<Organisation>;
    /// Moves an organisation from one of `from` to `to`, recording who did it and why, in
    /// one transaction. `None` when it was not in one of `from` (nothing changes).
    #[allow(clippy::too_many_arguments)]
    async fn change_organisation_status(
        &self,
        id: i64,
        from: &[OrganisationStatus],
        to: OrganisationStatus,
        staff_id: i64,
        reason: Option<&str>,
        at: DateTime<Utc>,
    ) -> StoreResult<Option<Organisation>>;
    /// The ids of an organisation's activities.
    async fn activity_ids_of(&self, organisation_id: i64) -> StoreResult<Vec<i64>>;
    /// One organisation.
    async fn get_organisation(&self, id: i64) -> StoreResult<Option<Organisation>>;
    /// Organisations (in one status, if given), by id.
    async fn list_organisations(&self, status: Option<OrganisationStatus>) -> StoreResult<Vec<Organisation>>;
    /// Gives a recorder `event.qualification` if they still hold `event.previous`, appending
    /// the history entry and `audit`, in one transaction. `None` (nothing written) when
    /// their certificate is no longer `event.previous`.
    async fn record_qualification(
        &self,
        event: &NewQualificationEvent,
        audit: &AuditEvent,
    ) -> StoreResult<Option<QualificationEvent>>;
    /// A recorder's qualification history, oldest first.
    async fn qualification_history(&self, staff_id: i64) -> StoreResult<Vec<QualificationEvent>>;
}

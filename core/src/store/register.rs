//! The register and the reporting batches sent from it.
//!
//! One area of [`Store`](super::Store): a narrow trait whose implementation is written once
//! for both engines, in `shared/register.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreResult;
use crate::audit::AuditEvent;
use crate::publicity::{Recording, RegisterRow};
use crate::reporting::{BatchStatus, ReportBatch};

/// The register and the reporting batches sent from it.
#[async_trait]
pub trait RegisterStore: Send + Sync {
    /// Appends the recordings' entries to the register, each chained to the one before, in
    /// one transaction serialised against other appends: a recording's entries go in if its
    /// guard still holds under that serialisation, and nothing of it if not. Answers, for
    /// each recording in order, whether it went in.
    async fn append_register(&self, recordings: &[Recording], at: DateTime<Utc>) -> StoreResult<Vec<bool>>;
    /// The entries that currently stand for publicity entries (each one's original or
    /// latest replacement), of those in the register.
    async fn standing_register_entries(&self, publicity_entry_ids: &[i64]) -> StoreResult<Vec<RegisterRow>>;
    /// Puts every register entry of an organisation not in a submitted or confirmed batch
    /// into a new submitted batch for `county_code`, in one transaction serialised against
    /// other batches; `None` when there is nothing to send.
    async fn create_batch(
        &self,
        organisation_id: i64,
        county_code: &str,
        by: i64,
        at: DateTime<Utc>,
    ) -> StoreResult<Option<ReportBatch>>;
    /// Every batch, by id.
    async fn report_batches(&self) -> StoreResult<Vec<ReportBatch>>;
    /// A page of a batch's register entries after `after`, in order.
    async fn batch_entries(&self, batch_id: i64, after: i64, limit: i64) -> StoreResult<Vec<RegisterRow>>;
    /// Confirms or returns a submitted batch with its audit entry; `None` if it was no
    /// longer submitted.
    #[allow(clippy::too_many_arguments)]
    async fn decide_batch(
        &self,
        id: i64,
        to: BatchStatus,
        by: i64,
        reason: Option<&str>,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> StoreResult<Option<ReportBatch>>;
    /// A volunteer's minutes in confirmed batches.
    async fn confirmed_minutes(&self, volunteer_id: i64) -> StoreResult<i64>;
    /// How many publicity entries are marked recorded but have no original register entry.
    async fn recorded_without_register_entry(&self) -> StoreResult<u64>;
    /// Register entries after `after`, in order.
    async fn register_page(&self, after: i64, limit: i64) -> StoreResult<Vec<RegisterRow>>;
}

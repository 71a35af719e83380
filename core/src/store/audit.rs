//! The audit trail.
//!
//! One area of [`Store`](super::Store): a narrow trait whose implementation is written once
//! for both engines, in `shared/audit.rs`.

use async_trait::async_trait;

use super::StoreResult;
use crate::audit::AuditEvent;

/// The audit trail.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends an audit entry on its own (for reads, which change nothing else).
    async fn add_audit(&self, audit: &AuditEvent) -> StoreResult<()>;
    /// Audit entries about a subject, oldest first.
    async fn audit_events(&self, subject_kind: &str, subject_id: i64) -> StoreResult<Vec<AuditEvent>>;
}

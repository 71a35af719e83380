//! The audit log: who did what to whom, and when. Append-only; written in the same
//! transaction as the change it records, so neither exists without the other.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

/// One audit entry.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AuditEvent {
    /// When.
    #[serde(with = "crate::activity::shanghai_time")]
    #[schema(value_type = String)]
    pub at: DateTime<Utc>,
    /// `volunteer`, `staff` or `system`.
    pub actor_kind: String,
    /// The actor's id, if not the system.
    pub actor_id: Option<i64>,
    /// What was done, e.g. `device_rebound`.
    pub action: String,
    /// What it was done to, e.g. `volunteer`.
    pub subject_kind: String,
    /// Its id.
    pub subject_id: Option<i64>,
    /// Details (never personal numbers in clear).
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

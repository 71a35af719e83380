//! Reporting to civil affairs: an organisation sends its register entries in batches to
//! the county-level civil-affairs department of its region, which confirms a batch
//! (确认无误) or returns it with reasons for correction. Only entries in a confirmed batch
//! count for certificates, stars and the time bank, and only they may be published beyond
//! the organisation; a returned batch's entries may be sent again.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

mod use_cases;

/// Where a batch stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BatchStatus {
    /// Sent; waiting for the county's department.
    Submitted,
    /// Confirmed: its entries count.
    Confirmed,
    /// Returned with reasons: its entries may be sent again once corrected.
    Returned,
}

crate::stored_names!(BatchStatus {
    Submitted => "submitted",
    Confirmed => "confirmed",
    Returned => "returned",
});

/// A batch of register entries sent to civil affairs.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReportBatch {
    /// Its id.
    pub id: i64,
    /// Whose entries.
    pub organisation_id: i64,
    /// The county-level department it went to (GB/T 2260).
    pub county_code: String,
    /// Where it stands.
    pub status: BatchStatus,
    /// How many register entries.
    pub entries: u32,
    /// Their minutes (reversals count negative).
    pub minutes: i64,
    /// Sent by.
    pub submitted_by: i64,
    /// Sent when.
    #[serde(with = "crate::activity::shanghai_time")]
    #[schema(value_type = String)]
    pub submitted_at: DateTime<Utc>,
    /// Decided by.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<i64>,
    /// The reasons a batch was returned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Returning a batch.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchReturn {
    /// What must be corrected, 1–1000 characters.
    pub reason: String,
}

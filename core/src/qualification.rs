//! Recorders' qualification over time (云南省志愿服务记录实施办法, point 2): a recorder
//! holds a certificate from civil affairs (持证上岗) and passes an annual review (年审).
//!
//! The civil-affairs department whose region covers the recorder's organisation records
//! each review passed and each certificate renewed. A lapsed recorder is qualified again
//! the moment one is recorded, with the same login: the gates read the staff row, which
//! changes in the same transaction as the append-only history entry and the audit entry.
//! Administrators and civil-affairs officers list the staff they oversee with where each
//! recorder's qualification stands. The pure rules (states, the next due date, the warning)
//! live beside [`RecorderQualification`].

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{CoreError, ErrorCode};
use crate::identity::{Organisation, QualificationStatus, RecorderQualification, Staff};

mod use_cases;

/// What changed a recorder's qualification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QualificationEventKind {
    /// An annual review (年审) passed: the due date moved on.
    AnnualReview,
    /// The certificate renewed: a new number, issue date and due date.
    Renewal,
}

crate::stored_names!(QualificationEventKind {
    AnnualReview => "annual_review",
    Renewal => "renewal",
});

/// An annual review passed.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnnualReview {
    /// The day the review was passed (today if absent); not in the future, not before the
    /// certificate's issue date.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date)]
    pub reviewed_on: Option<NaiveDate>,
}

/// One entry of a recorder's qualification history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct QualificationEvent {
    /// Its id.
    pub id: i64,
    /// The recorder.
    pub staff_id: i64,
    /// A review or a renewal.
    pub kind: QualificationEventKind,
    /// The day the review was passed (reviews only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Date)]
    pub reviewed_on: Option<NaiveDate>,
    /// The certificate before.
    pub previous: RecorderQualification,
    /// The certificate after: what the recorder holds from now on.
    pub qualification: RecorderQualification,
    /// The civil-affairs officer who recorded it.
    pub recorded_by: i64,
    /// When (+08:00).
    #[serde(with = "crate::activity::shanghai_time")]
    #[schema(value_type = String)]
    pub recorded_at: DateTime<Utc>,
}

/// A history entry as the store appends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewQualificationEvent {
    /// The recorder.
    pub staff_id: i64,
    /// A review or a renewal.
    pub kind: QualificationEventKind,
    /// The day the review was passed (reviews only).
    pub reviewed_on: Option<NaiveDate>,
    /// The certificate the staff row must still hold for the change to apply.
    pub previous: RecorderQualification,
    /// The certificate it holds afterwards.
    pub qualification: RecorderQualification,
    /// The officer.
    pub recorded_by: i64,
    /// When.
    pub at: DateTime<Utc>,
}

/// A staff member as an overseer lists them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OverseenStaff {
    /// Who: role, organisation id, a recorder's certificate.
    pub staff: Staff,
    /// Their organisation (organisers, recorders and leaders).
    pub organisation: Option<Organisation>,
    /// Where their recorder qualification stands today (`none` for everyone but recorders).
    pub qualification: QualificationStatus,
}

/// A review or renewal just recorded, and where the recorder stands now.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QualificationChange {
    /// The history entry.
    pub event: QualificationEvent,
    /// The recorder after it.
    pub recorder: OverseenStaff,
}

/// A recorder's qualification and its history.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QualificationHistory {
    /// The recorder today.
    pub recorder: OverseenStaff,
    /// Every review and renewal recorded, oldest first.
    pub history: Vec<QualificationEvent>,
}

/// How many times a review or renewal is recomputed when another one lands in between.
const CONCURRENT_ATTEMPTS: usize = 3;

/// A certificate as an administrator or officer types it: the number trimmed, 1–40
/// characters; the review due no earlier than the issue.
pub(crate) fn validate_certificate(mut q: RecorderQualification) -> Result<RecorderQualification, CoreError> {
    q.certificate_number = crate::identity::line_text(&q.certificate_number, 40, "certificate_number")?;
    if q.review_due_on < q.issued_on {
        return Err(CoreError::refused(ErrorCode::InvalidBody, "年审日期不能早于发证日期"));
    }
    Ok(q)
}

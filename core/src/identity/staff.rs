//! Staff: the first administrator's bootstrap, creating staff members with the invite
//! that enrols their first passkey, a staff member's own profile (with a recorder's
//! qualification and its warning), and the gate for recorders' work.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::identity::{Staff, StaffRole};
use crate::tokens::IssuedToken;
use uuid::Uuid;

mod use_cases;

/// A staff member with a fresh token.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StaffWithToken {
    /// The staff member.
    pub staff: Staff,
    /// Their token.
    #[serde(flatten)]
    pub token: IssuedToken,
}

/// What an administrator sends to create a staff member.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStaff {
    /// Their name.
    pub name: String,
    /// The name they will sign in with: 3–32 lower-case letters, digits, `.`, `_`, `-`.
    pub login: String,
    /// Their role.
    pub role: StaffRole,
    /// Required for organisers; absent otherwise.
    #[serde(default)]
    pub organisation_id: Option<i64>,
    /// Required for officers (GB/T 2260, six digits); absent otherwise.
    #[serde(default)]
    pub region_code: Option<String>,
    /// For officers: `civil_affairs` (the default) or `youth_league`; absent otherwise.
    #[serde(default)]
    pub agency: Option<crate::identity::Agency>,
    /// Required for recorders: their certificate; absent otherwise.
    #[serde(default)]
    pub qualification: Option<crate::identity::RecorderQualification>,
}

/// A staff member as the store creates them.
#[derive(Debug, Clone, Copy)]
pub struct StaffRecord<'a> {
    /// Their name.
    pub name: &'a str,
    /// Their (validated) login.
    pub login: &'a str,
    /// Their role.
    pub role: StaffRole,
    /// Their organisation.
    pub organisation_id: Option<i64>,
    /// An officer's region.
    pub region_code: Option<&'a str>,
    /// An officer's body.
    pub agency: Option<crate::identity::Agency>,
    /// A recorder's certificate.
    pub qualification: Option<&'a crate::identity::RecorderQualification>,
    /// The user handle their passkeys will carry.
    pub webauthn_user_id: Uuid,
}

/// A staff member's own view of themselves.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StaffProfile {
    /// Who.
    pub staff: Staff,
    /// For recorders: whether the qualification is valid today (a lapsed recorder may
    /// still read, but not finalise or issue anything).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qualification_valid: Option<bool>,
    /// For recorders, from 30 days before the annual review is due, and once it has
    /// lapsed: what to tell them, so the review is not missed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qualification_warning: Option<QualificationWarning>,
}

/// A recorder's warning that their annual review is due soon (or was missed).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QualificationWarning {
    /// The sentence to show (Chinese).
    pub message: String,
    /// The review due date.
    #[schema(value_type = String, format = Date)]
    pub review_due_on: chrono::NaiveDate,
    /// Days to it: 0 on the day, negative once lapsed.
    pub days_left: i64,
}

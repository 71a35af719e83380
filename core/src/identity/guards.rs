//! Who may do what, as pure rules over a [`Principal`]: the checks every staff use case
//! starts with. Kept apart from the context so that the areas that call them do not
//! import from it.

use crate::error::{CoreError, ErrorCode};
use crate::identity::{Principal, Staff, StaffRole};

/// The principal a staff member signs in as.
pub(crate) fn staff_principal(staff: &Staff) -> Principal {
    Principal::Staff { id: staff.id, role: staff.role, organisation_id: staff.organisation_id }
}

/// The staff id of an administrator; anyone else is `forbidden`.
pub(crate) fn require_administrator(by: &Principal) -> Result<i64, CoreError> {
    match by {
        Principal::Staff { id, role: StaffRole::Administrator, .. } => Ok(*id),
        _ => Err(CoreError::code(ErrorCode::Forbidden)),
    }
}

/// The staff id of a caller who may manage `organisation_id`'s activities.
pub(crate) fn require_manager_of(by: &Principal, organisation_id: i64) -> Result<i64, CoreError> {
    match by {
        Principal::Staff { id, role: StaffRole::Administrator, .. } => Ok(*id),
        // Leaders run the activities they are given; they do not create or assign.
        Principal::Staff { role: StaffRole::Leader, .. } => Err(CoreError::code(ErrorCode::Forbidden)),
        Principal::Staff { id, organisation_id: Some(org), .. } if *org == organisation_id => Ok(*id),
        _ => Err(CoreError::code(ErrorCode::Forbidden)),
    }
}

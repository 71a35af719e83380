//! Activities as use cases: creating one, reading one through the cache tiers (every scan
//! does), deciding who may manage it, and its leaders. Editing is in
//! [`crate::activity_edit`]; the types and their validation in [`crate::activity`].

use std::sync::Arc;
use std::time::Duration as StdDuration;

use crate::activity::{Activity, NewActivity};
use crate::error::{CoreError, ErrorCode};
use crate::hourmark::Hourmark;
use crate::identity::guards::require_manager_of;
use crate::identity::{Principal, Staff, StaffRole};

/// How long the shared cache keeps an activity snapshot.
const SHARED_ACTIVITY_TTL: StdDuration = StdDuration::from_secs(300);

impl Hourmark {
    /// Creates an activity in an organisation the caller manages.
    pub async fn create_activity(&self, by: &Principal, new: NewActivity) -> Result<Activity, CoreError> {
        let staff_id = require_manager_of(by, new.organisation_id)?;
        let new = new.validate()?;
        match self.inner().store.get_organisation(new.organisation_id).await? {
            None => return Err(CoreError::refused(ErrorCode::InvalidBody, "organisation_id 所指的组织不存在")),
            // An applicant may plan while it waits for approval; a revoked organisation
            // has lost the right to record, so nothing new starts under it.
            Some(org) if org.status == crate::identity::OrganisationStatus::Revoked => {
                return Err(CoreError::refused(
                    ErrorCode::OrganisationRevoked,
                    "该组织已被撤销记录资格，不能再创建活动",
                ));
            }
            Some(_) => {}
        }
        let activity = self.inner().store.create_activity(&new, staff_id, self.now()).await?;
        if u32::try_from(activity.id).is_err() {
            // Codes carry the id in 32 bits; four billion activities is far off, but say so.
            return Err(CoreError::Internal("activity ids have outgrown the 32-bit code field".into()));
        }
        Ok(activity)
    }

    /// An activity, if it exists (no access check: internal and scan-path use).
    pub async fn activity(&self, id: i64) -> Result<Option<Arc<Activity>>, CoreError> {
        let load = || async { Ok(self.inner().store.get_activity(id).await?.map(Arc::new)) };
        self.inner().activities.get_or_load(&*self.inner().cache, id, |_| SHARED_ACTIVITY_TTL, load).await
    }

    /// Drops an activity's cached snapshot here and in the shared cache.
    pub(crate) async fn forget_activity(&self, id: i64) {
        self.inner().activities.forget(&*self.inner().cache, &id).await;
    }

    /// An activity the caller may manage; others' activities are `not_found`, so their
    /// existence is not revealed.
    pub async fn managed_activity(&self, by: &Principal, id: i64) -> Result<Arc<Activity>, CoreError> {
        let not_found = || CoreError::refused(ErrorCode::NotFound, "活动不存在");
        let activity = self.activity(id).await?.ok_or_else(not_found)?;
        match by {
            Principal::Staff { role: StaffRole::Administrator, .. } => Ok(activity),
            // A leader sees only the activities they lead; the rest of the organisation's
            // activities do not exist for them.
            Principal::Staff { id, role: StaffRole::Leader, organisation_id: Some(org) }
                if *org == activity.organisation_id =>
            {
                if self.inner().store.is_activity_leader(activity.id, *id).await? {
                    Ok(activity)
                } else {
                    Err(not_found())
                }
            }
            Principal::Staff { organisation_id: Some(org), .. } if *org == activity.organisation_id => Ok(activity),
            Principal::Staff { .. } => Err(not_found()),
            Principal::Volunteer { .. } => Err(CoreError::code(ErrorCode::Forbidden)),
        }
    }

    /// Makes `staff_id`, a leader of the activity's organisation, one of its leaders
    /// (the organisation's organisers and recorders, and administrators). Idempotent.
    pub async fn assign_leader(&self, by: &Principal, activity_id: i64, staff_id: i64) -> Result<(), CoreError> {
        let activity = self.managed_activity(by, activity_id).await?;
        require_manager_of(by, activity.organisation_id)?;
        let leader = self.inner().store.get_staff(staff_id).await?;
        match leader {
            Some(s) if s.role == StaffRole::Leader && s.organisation_id == Some(activity.organisation_id) => {}
            _ => return Err(CoreError::refused(ErrorCode::InvalidBody, "只能指派本组织的活动负责人")),
        }
        self.inner().store.assign_activity_leader(activity_id, staff_id, self.now()).await
    }

    /// Ends `staff_id`'s leadership of the activity. `not_found` if they were not leading it.
    pub async fn unassign_leader(&self, by: &Principal, activity_id: i64, staff_id: i64) -> Result<(), CoreError> {
        let activity = self.managed_activity(by, activity_id).await?;
        require_manager_of(by, activity.organisation_id)?;
        if self.inner().store.remove_activity_leader(activity_id, staff_id).await? {
            Ok(())
        } else {
            Err(CoreError::code(ErrorCode::NotFound))
        }
    }

    /// The activity's leaders.
    pub async fn activity_leaders(&self, by: &Principal, activity_id: i64) -> Result<Vec<Staff>, CoreError> {
        self.managed_activity(by, activity_id).await?;
        self.inner().store.activity_leaders(activity_id).await
    }
}

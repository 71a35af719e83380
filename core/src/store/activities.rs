//! Activities, their leaders and their screen keys.
//!
//! One area of [`Store`](super::Store): a narrow trait whose implementation is written once
//! for both engines, in `shared/activities.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreResult;
use crate::activity::{Activity, NewActivity};
use crate::audit::AuditEvent;
use crate::identity::Staff;

/// Activities, their leaders and their screen keys.
#[async_trait]
pub trait ActivityStore: Send + Sync {
    /// Makes a staff member one of an activity's leaders (no-op if already).
    async fn assign_activity_leader(&self, activity_id: i64, staff_id: i64, at: DateTime<Utc>) -> StoreResult<()>;
    /// Ends a leadership; `false` if there was none.
    async fn remove_activity_leader(&self, activity_id: i64, staff_id: i64) -> StoreResult<bool>;
    /// Whether a staff member leads an activity.
    async fn is_activity_leader(&self, activity_id: i64, staff_id: i64) -> StoreResult<bool>;
    /// An activity's leaders, by id.
    async fn activity_leaders(&self, activity_id: i64) -> StoreResult<Vec<Staff>>;
    /// Stores a screen key's grant; its id.
    /// The key and its audit entry are written in one transaction; the entry's `detail`
    /// gains the new key's `screen_key_id`.
    async fn add_screen_key(&self, key: &crate::screen_keys::NewScreenKey, audit: &AuditEvent) -> StoreResult<i64>;
    /// A screen key by id.
    async fn screen_key(&self, id: i64) -> StoreResult<Option<crate::screen_keys::ScreenKeyRecord>>;
    /// An activity's screen keys, oldest first.
    async fn screen_keys(&self, activity_id: i64) -> StoreResult<Vec<crate::screen_keys::ScreenKeyRecord>>;
    /// Revokes a screen key with its audit entry, in one transaction; `None` (nothing
    /// written) if there is no such key or it was already revoked.
    async fn revoke_screen_key(
        &self,
        id: i64,
        by: i64,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> StoreResult<Option<crate::screen_keys::ScreenKeyRecord>>;
    /// Creates an activity from validated input.
    async fn create_activity(&self, new: &NewActivity, created_by: i64, at: DateTime<Utc>) -> StoreResult<Activity>;
    /// One activity.
    async fn get_activity(&self, id: i64) -> StoreResult<Option<Activity>>;
    /// Replaces an activity's editable fields (everything but its organisation and
    /// creator) with its audit entry, in one transaction; `None` if there is no such activity.
    async fn update_activity(
        &self,
        id: i64,
        changes: &NewActivity,
        audit: &AuditEvent,
    ) -> StoreResult<Option<Activity>>;
}

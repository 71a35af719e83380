//! Notifications and their WeChat deliveries.
//!
//! One area of [`Store`](super::Store): a narrow trait whose implementation is written once
//! for both engines, in `shared/notifications.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreResult;
use crate::notification::{DeliveryOutcome, NewNotification, Notification, PendingDelivery};

/// Notifications and their WeChat deliveries.
#[async_trait]
pub trait NotificationStore: Send + Sync {
    /// Stores notifications, skipping any already written (same volunteer and key), and
    /// queues a WeChat delivery, due `now`, for each that asks for one.
    async fn add_notifications(&self, notifications: &[NewNotification], now: DateTime<Utc>) -> StoreResult<()>;
    /// A volunteer's notifications, newest first (at most 100), or only the unread.
    async fn notifications(&self, volunteer_id: i64, unread_only: bool) -> StoreResult<Vec<Notification>>;
    /// Marks a volunteer's notifications read (these, or all with `None`); how many changed.
    async fn mark_notifications_read(
        &self,
        volunteer_id: i64,
        ids: Option<&[i64]>,
        at: DateTime<Utc>,
    ) -> StoreResult<u64>;
    /// Claims up to `limit` WeChat deliveries due by `now`, moving their next attempt to
    /// `lease_until` so no other instance takes them meanwhile.
    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<PendingDelivery>>;
    /// Records what became of a delivery attempt.
    async fn finish_delivery(
        &self,
        notification_id: i64,
        outcome: &DeliveryOutcome,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
}

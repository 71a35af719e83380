//! Notifications and their WeChat deliveries, on both engines.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::Engine;
use crate::notification::{DeliveryOutcome, NewNotification, Notification, NotificationKind, PendingDelivery};
use crate::store::codec::{List, RowTimes, Stamp};
use crate::store::{NotificationStore, StoreResult, corrupt};

#[async_trait]
impl NotificationStore for Engine {
    async fn add_notifications(&self, notifications: &[NewNotification], now: DateTime<Utc>) -> StoreResult<()> {
        if notifications.is_empty() {
            return Ok(());
        }
        let mut tx = self.writer().begin().await?;
        for n in notifications {
            let id: Option<i64> = sqlx::query_scalar(
                r"insert into notification (volunteer_id, dedupe_key, body, created_at, kind, data)
                  values ($1, $2, $3, $4, $5, $6)
                  on conflict (volunteer_id, dedupe_key) do nothing returning id",
            )
            .bind(n.volunteer_id)
            .bind(&n.key)
            .bind(&n.body)
            .bind(Stamp(n.created_at))
            .bind(n.kind.as_str())
            .bind(n.data.to_string())
            .fetch_optional(&mut *tx)
            .await?;
            if let (Some(id), true) = (id, n.push) {
                sqlx::query(r"insert into wechat_delivery (notification_id, next_attempt_at) values ($1, $2)")
                    .bind(id)
                    .bind(Stamp(now))
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn notifications(&self, volunteer_id: i64, unread_only: bool) -> StoreResult<Vec<Notification>> {
        let rows = sqlx::query(
            r"select id, kind, body, data, created_at, read_at from notification
              where volunteer_id = $1 and (not $2 or read_at is null)
              order by created_at desc, id desc limit 100",
        )
        .bind(volunteer_id)
        .bind(unread_only)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|row| {
                let kind: String = row.try_get("kind")?;
                let data: String = row.try_get("data")?;
                Ok(Notification {
                    id: row.try_get("id")?,
                    kind: NotificationKind::parse(&kind).ok_or_else(|| corrupt("notification kind"))?,
                    body: row.try_get("body")?,
                    data: serde_json::from_str(&data).map_err(|_| corrupt("notification data"))?,
                    created_at: row.time("created_at")?,
                    read_at: row.maybe_time("read_at")?,
                })
            })
            .collect()
    }

    async fn mark_notifications_read(
        &self,
        volunteer_id: i64,
        ids: Option<&[i64]>,
        at: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let done = sqlx::query(concat!(
            "update notification set read_at = $2 where volunteer_id = $1 and read_at is null and ($3 is null or id",
            member_of!("$3"),
            ")"
        ))
        .bind(volunteer_id)
        .bind(Stamp(at))
        .bind(ids.map(List))
        .execute(self.writer())
        .await?;
        Ok(done.rows_affected())
    }

    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<PendingDelivery>> {
        // `skip locked`: instances running the job at once take different deliveries (on
        // SQLite the single writer makes the claim exclusive).
        let mut tx = self.writer().begin().await?;
        let claimed: Vec<(i64, i32)> = sqlx::query_as(concat!(
            r"update wechat_delivery set next_attempt_at = $2
              where notification_id in (
                  select notification_id from wechat_delivery
                  where status = 'pending' and next_attempt_at <= $1
                  order by next_attempt_at limit $3",
            skip_locked!(),
            ") returning notification_id, attempts"
        ))
        .bind(Stamp(now))
        .bind(Stamp(lease_until))
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        let ids: Vec<i64> = claimed.iter().map(|(id, _)| *id).collect();
        let attempts: std::collections::HashMap<i64, i32> = claimed.into_iter().collect();
        let rows = sqlx::query(concat!(
            r"select n.id as notification_id, n.kind, n.body, n.data, w.openid
              from notification n left join wechat_binding w on w.volunteer_id = n.volunteer_id
              where n.id",
            member_of!("$1"),
            " order by n.id"
        ))
        .bind(List(&ids))
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        rows.iter()
            .map(|row| {
                let notification_id: i64 = row.try_get("notification_id")?;
                let kind: String = row.try_get("kind")?;
                let data: String = row.try_get("data")?;
                let attempts = attempts.get(&notification_id).copied().ok_or_else(|| corrupt("claimed delivery"))?;
                Ok(PendingDelivery {
                    notification_id,
                    openid: row.try_get("openid")?,
                    kind: NotificationKind::parse(&kind).ok_or_else(|| corrupt("notification kind"))?,
                    body: row.try_get("body")?,
                    data: serde_json::from_str(&data).map_err(|_| corrupt("notification data"))?,
                    attempts: u32::try_from(attempts).map_err(|_| corrupt("attempts"))?,
                })
            })
            .collect()
    }

    async fn finish_delivery(
        &self,
        notification_id: i64,
        outcome: &DeliveryOutcome,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let (status, next, error): (&str, Option<DateTime<Utc>>, Option<&str>) = match outcome {
            DeliveryOutcome::Sent => ("sent", None, None),
            DeliveryOutcome::Skipped(why) => ("skipped", None, Some(why)),
            DeliveryOutcome::Retry(when, why) => ("pending", Some(*when), Some(why)),
            DeliveryOutcome::Failed(why) => ("failed", None, Some(why)),
        };
        sqlx::query(
            r"update wechat_delivery
              set status = $2, attempts = attempts + case when $2 = 'skipped' then 0 else 1 end,
                  next_attempt_at = coalesce($3, next_attempt_at), last_error = $4,
                  finished_at = case when $2 = 'pending' then null else $5 end
              where notification_id = $1 and status = 'pending'",
        )
        .bind(notification_id)
        .bind(status)
        .bind(next.map(Stamp))
        .bind(error)
        .bind(Stamp(at))
        .execute(self.writer())
        .await?;
        Ok(())
    }
}

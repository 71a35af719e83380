//! Notifications and their WeChat deliveries, on SQLite.
//!
//! Times are Unix milliseconds; writes go through the single writer.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{QueryBuilder, Row, Sqlite};

use super::{SqliteStore, from_ms, ms};
use crate::notification::{DeliveryOutcome, NewNotification, Notification, NotificationKind, PendingDelivery};
use crate::store::{NotificationStore, StoreResult, corrupt};

#[async_trait]
impl NotificationStore for SqliteStore {
    async fn add_notifications(&self, notifications: &[NewNotification], now: DateTime<Utc>) -> StoreResult<()> {
        if notifications.is_empty() {
            return Ok(());
        }
        let mut tx = self.write.begin().await?;
        for n in notifications {
            let id: Option<i64> = sqlx::query_scalar(
                r"insert into notification (volunteer_id, dedupe_key, body, created_at, kind, data)
                  values ($1, $2, $3, $4, $5, $6)
                  on conflict (volunteer_id, dedupe_key) do nothing returning id",
            )
            .bind(n.volunteer_id)
            .bind(&n.key)
            .bind(&n.body)
            .bind(ms(n.created_at))
            .bind(n.kind.as_str())
            .bind(n.data.to_string())
            .fetch_optional(&mut *tx)
            .await?;
            if let (Some(id), true) = (id, n.push) {
                sqlx::query(r"insert into wechat_delivery (notification_id, next_attempt_at) values ($1, $2)")
                    .bind(id)
                    .bind(ms(now))
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
        .fetch_all(&self.read)
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
                    created_at: from_ms(row.try_get("created_at")?)?,
                    read_at: row.try_get::<Option<i64>, _>("read_at")?.map(from_ms).transpose()?,
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
        let mut query: QueryBuilder<Sqlite> = QueryBuilder::new("update notification set read_at = ");
        query.push_bind(ms(at)).push(" where volunteer_id = ").push_bind(volunteer_id).push(" and read_at is null");
        if let Some(ids) = ids {
            query.push(" and id in (");
            let mut list = query.separated(", ");
            for id in ids {
                list.push_bind(*id);
            }
            list.push_unseparated(")");
        }
        Ok(query.build().execute(&self.write).await?.rows_affected())
    }

    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<PendingDelivery>> {
        // SQLite's single writer makes the claim exclusive.
        let mut tx = self.write.begin().await?;
        let claimed: Vec<(i64, i64)> = sqlx::query_as(
            r"update wechat_delivery set next_attempt_at = $2
              where notification_id in (
                  select notification_id from wechat_delivery
                  where status = 'pending' and next_attempt_at <= $1
                  order by next_attempt_at limit $3)
              returning notification_id, attempts",
        )
        .bind(ms(now))
        .bind(ms(lease_until))
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        let mut out = Vec::with_capacity(claimed.len());
        for (notification_id, attempts) in claimed {
            let row = sqlx::query(
                r"select n.kind, n.body, n.data, w.openid
                  from notification n left join wechat_binding w on w.volunteer_id = n.volunteer_id
                  where n.id = $1",
            )
            .bind(notification_id)
            .fetch_one(&mut *tx)
            .await?;
            let kind: String = row.try_get("kind")?;
            let data: String = row.try_get("data")?;
            out.push(PendingDelivery {
                notification_id,
                openid: row.try_get("openid")?,
                kind: NotificationKind::parse(&kind).ok_or_else(|| corrupt("notification kind"))?,
                body: row.try_get("body")?,
                data: serde_json::from_str(&data).map_err(|_| corrupt("notification data"))?,
                attempts: u32::try_from(attempts).map_err(|_| corrupt("attempts"))?,
            });
        }
        tx.commit().await?;
        out.sort_by_key(|d| d.notification_id);
        Ok(out)
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
        .bind(next.map(ms))
        .bind(error)
        .bind(ms(at))
        .execute(&self.write)
        .await?;
        Ok(())
    }
}

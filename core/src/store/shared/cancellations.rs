//! Activity cancellations, on both engines.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Engine, insert_audit};
use crate::audit::AuditEvent;
use crate::signups::ActivityCancellation;
use crate::store::codec::{List, RowTimes, Stamp};
use crate::store::{CancellationStore, StoreResult};

#[async_trait]
impl CancellationStore for Engine {
    async fn cancel_activity(
        &self,
        activity_id: i64,
        reason: &str,
        by: i64,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> StoreResult<Option<ActivityCancellation>> {
        let mut tx = self.writer().begin().await?;
        let inserted = sqlx::query(
            r"insert into activity_cancellation (activity_id, reason, cancelled_by, cancelled_at)
              values ($1, $2, $3, $4)
              on conflict (activity_id) do nothing",
        )
        .bind(activity_id)
        .bind(reason)
        .bind(by)
        .bind(Stamp(at))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            return Ok(None);
        }
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(Some(ActivityCancellation { activity_id, reason: reason.to_owned(), cancelled_at: at }))
    }

    async fn activity_cancellation(&self, activity_id: i64) -> StoreResult<Option<ActivityCancellation>> {
        let row = sqlx::query(r"select reason, cancelled_at from activity_cancellation where activity_id = $1")
            .bind(activity_id)
            .fetch_optional(self.reader())
            .await?;
        row.map(|r| {
            Ok(ActivityCancellation {
                activity_id,
                reason: r.try_get("reason")?,
                cancelled_at: r.time("cancelled_at")?,
            })
        })
        .transpose()
    }

    async fn cancellations_among(&self, activity_ids: &[i64]) -> StoreResult<Vec<ActivityCancellation>> {
        let rows = sqlx::query(concat!(
            "select activity_id, reason, cancelled_at from activity_cancellation where activity_id",
            member_of!("$1"),
            " order by activity_id"
        ))
        .bind(List(activity_ids))
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ActivityCancellation {
                    activity_id: r.try_get("activity_id")?,
                    reason: r.try_get("reason")?,
                    cancelled_at: r.time("cancelled_at")?,
                })
            })
            .collect()
    }
}

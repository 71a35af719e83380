//! The audit trail, on both engines.

use async_trait::async_trait;
use sqlx::Row;

use super::{Engine, insert_audit};
use crate::audit::AuditEvent;
use crate::store::codec::RowTimes;
use crate::store::{AuditStore, StoreResult, corrupt};

#[async_trait]
impl AuditStore for Engine {
    async fn add_audit(&self, audit: &AuditEvent) -> StoreResult<()> {
        let mut conn = self.writer().acquire().await?;
        insert_audit(&mut conn, audit).await
    }

    async fn audit_events(&self, subject_kind: &str, subject_id: i64) -> StoreResult<Vec<AuditEvent>> {
        let rows = sqlx::query(
            r"select at, actor_kind, actor_id, action, subject_kind, subject_id, detail from audit_event
              where subject_kind = $1 and subject_id = $2 order by id",
        )
        .bind(subject_kind)
        .bind(subject_id)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|row| {
                let detail: String = row.try_get("detail")?;
                Ok(AuditEvent {
                    at: row.time("at")?,
                    actor_kind: row.try_get("actor_kind")?,
                    actor_id: row.try_get("actor_id")?,
                    action: row.try_get("action")?,
                    subject_kind: row.try_get("subject_kind")?,
                    subject_id: row.try_get("subject_id")?,
                    detail: serde_json::from_str(&detail).map_err(|_| corrupt("audit detail"))?,
                })
            })
            .collect()
    }
}

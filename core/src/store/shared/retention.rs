//! Erasing expired credentials (see [`crate::store::retention`]). On both engines.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{Engine, insert_audit};
use crate::store::StoreResult;
use crate::store::codec::Stamp;
use crate::store::retention::{ERASE_EXPIRED, Erased, RetentionStore};

#[async_trait]
impl RetentionStore for Engine {
    async fn erase_expired(
        &self,
        expired_before: DateTime<Utc>,
        now: DateTime<Utc>,
        failed_import_rows: u64,
    ) -> StoreResult<Erased> {
        let before = Stamp(expired_before);
        let mut tx = self.writer().begin().await?;
        let mut counts = [0_u64; 4];
        for (count, sql) in counts.iter_mut().zip(ERASE_EXPIRED) {
            *count = sqlx::query(sql).bind(before).execute(&mut *tx).await?.rows_affected();
        }
        let erased = Erased::from_counts(counts, failed_import_rows);
        if erased.total() > 0 {
            insert_audit(&mut tx, &erased.audit(now)).await?;
        }
        tx.commit().await?;
        Ok(erased)
    }
}

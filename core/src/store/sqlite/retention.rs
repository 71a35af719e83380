//! SQLite: erasing expired credentials (see [`crate::store::retention`]).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{SqliteStore, insert_audit, ms};
use crate::store::StoreResult;
use crate::store::retention::{Erased, RetentionStore};

#[async_trait]
impl RetentionStore for SqliteStore {
    async fn erase_expired(
        &self,
        expired_before: DateTime<Utc>,
        now: DateTime<Utc>,
        failed_import_rows: u64,
    ) -> StoreResult<Erased> {
        let before = ms(expired_before);
        let mut tx = self.write.begin().await?;
        let mut counts = [0_u64; 4];
        for (count, sql) in counts.iter_mut().zip([
            r"delete from sms_code where expires_at < $1",
            r"delete from access_token where expires_at < $1",
            r"delete from staff_invite where expires_at < $1",
            // Rows of a roster import cut off part way (a crash): staged more than a day ago.
            r"delete from roster_staging where created_at < $1",
        ]) {
            *count = sqlx::query(sql).bind(before).execute(&mut *tx).await?.rows_affected();
        }
        let erased = Erased {
            sms_codes: counts[0],
            access_tokens: counts[1],
            staff_invites: counts[2],
            abandoned_roster_rows: counts[3],
            failed_import_rows,
        };
        if erased.total() > 0 {
            insert_audit(&mut tx, &erased.audit(now)).await?;
        }
        tx.commit().await?;
        Ok(erased)
    }
}

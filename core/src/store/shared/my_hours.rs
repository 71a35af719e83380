//! A volunteer's own view of their hours (see [`crate::store::my_hours`]). On both engines.

use async_trait::async_trait;

use super::Engine;
use crate::store::StoreResult;
use crate::store::my_hours::MyHoursStore;

#[async_trait]
impl MyHoursStore for Engine {
    async fn confirmed_publicity_entries(&self, volunteer_id: i64) -> StoreResult<Vec<i64>> {
        Ok(sqlx::query_scalar(
            r"select r.publicity_entry_id from register_entry r
              where r.volunteer_id = $1 and r.kind = 'original' and r.publicity_entry_id is not null
                and exists (select 1 from report_item i join report_batch b on b.id = i.batch_id
                            where i.register_seq = r.seq and b.status = 'confirmed')",
        )
        .bind(volunteer_id)
        .fetch_all(self.reader())
        .await?)
    }
}

//! The volunteers who served in a region (see [`crate::store::region_volunteers`]). On both engines.

use async_trait::async_trait;

use super::Engine;
use crate::store::StoreResult;
use crate::store::region_volunteers::RegionVolunteerStore;

#[async_trait]
impl RegionVolunteerStore for Engine {
    async fn volunteers_served_in(
        &self,
        region_prefix: &str,
        number_prefix: &str,
        after: &str,
        limit: u32,
    ) -> StoreResult<Vec<i64>> {
        Ok(sqlx::query_scalar(
            r"select v.id from visible_volunteer v
              where v.volunteer_number like $2 || '%' and v.volunteer_number > $3
                and exists (select 1 from scan s
                            join activity a on a.id = s.activity_id
                            join organisation o on o.id = a.organisation_id
                            where s.volunteer_id = v.id and s.direction is not null
                              and o.region_code like $1 || '%')
              order by v.volunteer_number
              limit $4",
        )
        .bind(region_prefix)
        .bind(number_prefix)
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(self.reader())
        .await?)
    }
}

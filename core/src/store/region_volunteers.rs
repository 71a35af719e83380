//! Storage behind an officer's list of the volunteers who served in their region.

use async_trait::async_trait;

use super::StoreResult;

/// The volunteers a region has seen.
#[async_trait]
pub trait RegionVolunteerStore {
    /// The ids of volunteers who scanned at an activity of an organisation whose region
    /// code starts with `region_prefix` (`53` a province, `5301` a city, `530102` a
    /// district): the same test that lets an officer open a volunteer
    /// (`volunteer_service_regions`), so everyone listed can be opened. Ordered by
    /// volunteer number, only numbers after `after` and starting with `number_prefix`
    /// (digits; empty for all), at most `limit`.
    async fn volunteers_served_in(
        &self,
        region_prefix: &str,
        number_prefix: &str,
        after: &str,
        limit: u32,
    ) -> StoreResult<Vec<i64>>;
}

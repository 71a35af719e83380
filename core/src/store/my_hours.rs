//! Storage behind a volunteer's own view of their hours: which of their publicity entries
//! civil affairs has confirmed.

use async_trait::async_trait;

use super::StoreResult;

/// A volunteer's hours, as they see them.
#[async_trait]
pub trait MyHoursStore {
    /// The publicity entries of this volunteer whose original register entry is in a
    /// report batch civil affairs confirmed.
    async fn confirmed_publicity_entries(&self, volunteer_id: i64) -> StoreResult<Vec<i64>>;
}

//! Opening the store a URL names.

use std::sync::Arc;

use super::StoreResult;
use super::contract::Store;
use super::postgres::PostgresStore;
use super::sqlite::SqliteStore;
use crate::error::CoreError;

/// Opens the store a URL names: `postgres://…` / `postgresql://…`, or `sqlite:…`.
pub async fn connect(url: &str) -> StoreResult<Arc<dyn Store>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PostgresStore::connect(url).await?))
    } else if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect(url).await?))
    } else {
        Err(CoreError::Internal(format!(
            "unsupported database URL scheme in {:?}: use postgres:// or sqlite:",
            url.split(':').next().unwrap_or_default()
        )))
    }
}

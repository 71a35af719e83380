//! The national calendar and its regional overlays.
//!
//! One area of [`Store`](super::Store): a narrow trait whose implementation is written once
//! for both engines, in `shared/calendar.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreResult;
use crate::calendar::{Overlay, YearArrangement};

/// The national calendar and its regional overlays.
#[async_trait]
pub trait CalendarStore: Send + Sync {
    /// Years of the national calendar added by officers.
    async fn calendar_years(&self) -> StoreResult<Vec<YearArrangement>>;
    /// Adds a year; `false` if that year is already there.
    async fn add_calendar_year(&self, year: &YearArrangement, by: i64, at: DateTime<Utc>) -> StoreResult<bool>;
    /// Every regional overlay.
    async fn calendar_overlays(&self) -> StoreResult<Vec<Overlay>>;
    /// Removes a region's overlay for a day; `false` if there was none.
    async fn remove_calendar_overlay(&self, region_code: &str, day: chrono::NaiveDate) -> StoreResult<bool>;
    /// Sets (or replaces) a region's overlay for a day.
    async fn put_calendar_overlay(&self, overlay: &Overlay, by: i64, at: DateTime<Utc>) -> StoreResult<()>;
}

//! The national calendar and its regional overlays, on both engines.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Engine, parse_day};
use crate::calendar::{Overlay, OverlayKind, YearArrangement};
use crate::error::CoreError;
use crate::store::codec::Stamp;
use crate::store::{CalendarStore, StoreResult, corrupt};

#[async_trait]
impl CalendarStore for Engine {
    async fn calendar_years(&self) -> StoreResult<Vec<YearArrangement>> {
        let rows: Vec<String> =
            sqlx::query_scalar(r"select data from calendar_year order by year").fetch_all(self.reader()).await?;
        rows.iter().map(|data| serde_json::from_str(data).map_err(|_| corrupt("calendar year"))).collect()
    }

    async fn add_calendar_year(&self, year: &YearArrangement, by: i64, at: DateTime<Utc>) -> StoreResult<bool> {
        let data = serde_json::to_string(year).map_err(|e| CoreError::Internal(e.to_string()))?;
        let done = sqlx::query(
            r"insert into calendar_year (year, data, added_by, added_at) values ($1, $2, $3, $4)
              on conflict (year) do nothing",
        )
        .bind(year.year)
        .bind(data)
        .bind(by)
        .bind(Stamp(at))
        .execute(self.writer())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn calendar_overlays(&self) -> StoreResult<Vec<Overlay>> {
        let rows = sqlx::query(r"select region_code, day, kind, name from calendar_overlay order by region_code, day")
            .fetch_all(self.reader())
            .await?;
        rows.iter()
            .map(|row| {
                let day: String = row.try_get("day")?;
                let kind: String = row.try_get("kind")?;
                Ok(Overlay {
                    region_code: row.try_get("region_code")?,
                    day: parse_day(&day)?,
                    kind: OverlayKind::parse(&kind).ok_or_else(|| corrupt("overlay kind"))?,
                    name: row.try_get("name")?,
                })
            })
            .collect()
    }

    async fn remove_calendar_overlay(&self, region_code: &str, day: chrono::NaiveDate) -> StoreResult<bool> {
        let removed = sqlx::query(r"delete from calendar_overlay where region_code = $1 and day = $2")
            .bind(region_code)
            .bind(day.format("%Y-%m-%d").to_string())
            .execute(self.writer())
            .await?;
        Ok(removed.rows_affected() == 1)
    }

    async fn put_calendar_overlay(&self, overlay: &Overlay, by: i64, at: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(
            r"insert into calendar_overlay (region_code, day, kind, name, created_by, created_at)
              values ($1, $2, $3, $4, $5, $6)
              on conflict (region_code, day) do update set kind = excluded.kind, name = excluded.name,
                  created_by = excluded.created_by, created_at = excluded.created_at",
        )
        .bind(&overlay.region_code)
        .bind(overlay.day.format("%Y-%m-%d").to_string())
        .bind(overlay.kind.as_str())
        .bind(&overlay.name)
        .bind(by)
        .bind(Stamp(at))
        .execute(self.writer())
        .await?;
        Ok(())
    }
}

//! Stars, on both engines.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{DbRow, Engine, insert_audit};
use crate::audit::AuditEvent;
use crate::stars::{NewStarApplication, StarApplication, StarApplicationStatus, StarReview, StarRule};
use crate::store::codec::{RowTimes, Stamp};
use crate::store::{StarStore, StoreResult, corrupt};

fn application_from(row: &DbRow) -> StoreResult<StarApplication> {
    let status: String = row.try_get("status")?;
    let stars: i32 = row.try_get("stars")?;
    let hours: i32 = row.try_get("hours")?;
    let threshold: i32 = row.try_get("threshold_hours")?;
    Ok(StarApplication {
        id: row.try_get("id")?,
        volunteer_id: row.try_get("volunteer_id")?,
        stars: u8::try_from(stars).map_err(|_| corrupt("stars"))?,
        hours: u32::try_from(hours).unwrap_or(0),
        threshold_hours: u32::try_from(threshold).unwrap_or(0),
        decide_region: row.try_get("decide_region")?,
        status: StarApplicationStatus::parse(&status).ok_or_else(|| corrupt("star application status"))?,
        decided_by: row.try_get("decided_by")?,
        decided_at: row.maybe_time("decided_at")?,
        reason: row.try_get("reason")?,
        created_at: row.time("created_at")?,
    })
}

fn review_from(row: &DbRow) -> StoreResult<StarReview> {
    let stars: i32 = row.try_get("stars")?;
    let hours: i32 = row.try_get("hours")?;
    let threshold: i32 = row.try_get("threshold_hours")?;
    Ok(StarReview {
        id: row.try_get("id")?,
        application_id: row.try_get("application_id")?,
        volunteer_id: row.try_get("volunteer_id")?,
        stars: u8::try_from(stars).map_err(|_| corrupt("stars"))?,
        hours: u32::try_from(hours).unwrap_or(0),
        threshold_hours: u32::try_from(threshold).unwrap_or(0),
        decide_region: row.try_get("decide_region")?,
        status: row.try_get("status")?,
        reason: row.try_get("reason")?,
        created_at: row.time("created_at")?,
    })
}

fn int(v: u32) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

#[async_trait]
impl StarStore for Engine {
    async fn star_rule(&self, province_code: &str) -> StoreResult<Option<StarRule>> {
        let row = sqlx::query(r"select thresholds, complaint_block_days from star_rule where province_code = $1")
            .bind(province_code)
            .fetch_optional(self.reader())
            .await?;
        row.map(|row| {
            let thresholds: String = row.try_get("thresholds")?;
            let days: i32 = row.try_get("complaint_block_days")?;
            Ok(StarRule {
                thresholds: serde_json::from_str(&thresholds).map_err(|_| corrupt("star thresholds"))?,
                complaint_block_days: u32::try_from(days).unwrap_or(0),
            })
        })
        .transpose()
    }

    async fn put_star_rule(
        &self,
        province_code: &str,
        rule: &StarRule,
        by: i64,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.writer().begin().await?;
        sqlx::query(
            r"insert into star_rule (province_code, thresholds, complaint_block_days, set_by, set_at)
              values ($1, $2, $3, $4, $5)
              on conflict (province_code) do update set thresholds = excluded.thresholds,
                  complaint_block_days = excluded.complaint_block_days, set_by = excluded.set_by, set_at = excluded.set_at",
        )
        .bind(province_code)
        .bind(serde_json::to_string(&rule.thresholds).unwrap_or_default())
        .bind(int(rule.complaint_block_days))
        .bind(by)
        .bind(Stamp(at))
        .execute(&mut *tx)
        .await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn confirmed_minutes_by_region(&self, volunteer_id: i64) -> StoreResult<Vec<(String, i64)>> {
        let rows = sqlx::query(
            r"select o.region_code, cast(sum(r.minutes) as bigint) as minutes
              from register_entry r join organisation o on o.id = r.organisation_id
              where r.volunteer_id = $1
                and exists (select 1 from report_item i join report_batch b on b.id = i.batch_id
                            where i.register_seq = r.seq and b.status = 'confirmed')
              group by o.region_code order by o.region_code",
        )
        .bind(volunteer_id)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(|row| Ok((row.try_get("region_code")?, row.try_get("minutes")?))).collect()
    }

    async fn add_star_application(&self, new: &NewStarApplication) -> StoreResult<Option<StarApplication>> {
        let row = sqlx::query(
            r"insert into star_application (volunteer_id, stars, hours, threshold_hours, decide_region, created_at)
              values ($1, $2, $3, $4, $5, $6)
              on conflict (volunteer_id) where status = 'pending' do nothing
              returning *",
        )
        .bind(new.volunteer_id)
        .bind(i32::from(new.stars))
        .bind(int(new.hours))
        .bind(int(new.threshold_hours))
        .bind(&new.decide_region)
        .bind(Stamp(new.at))
        .fetch_optional(self.writer())
        .await?;
        row.as_ref().map(application_from).transpose()
    }

    async fn star_application(&self, id: i64) -> StoreResult<Option<StarApplication>> {
        let row =
            sqlx::query(r"select * from star_application where id = $1").bind(id).fetch_optional(self.reader()).await?;
        row.as_ref().map(application_from).transpose()
    }

    async fn star_applications_of(&self, volunteer_id: i64) -> StoreResult<Vec<StarApplication>> {
        let rows = sqlx::query(r"select * from star_application where volunteer_id = $1 order by id desc")
            .bind(volunteer_id)
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(application_from).collect()
    }

    async fn pending_star_applications(&self) -> StoreResult<Vec<StarApplication>> {
        let rows = sqlx::query(r"select * from star_application where status = 'pending' order by id")
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(application_from).collect()
    }

    async fn decide_star_application(
        &self,
        id: i64,
        to: StarApplicationStatus,
        by: i64,
        reason: &str,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> StoreResult<Option<StarApplication>> {
        let mut tx = self.writer().begin().await?;
        let row = sqlx::query(
            r"update star_application set status = $2, decided_by = $3, decided_at = $4, reason = $5
              where id = $1 and status = 'pending'
              returning *",
        )
        .bind(id)
        .bind(to.as_str())
        .bind(by)
        .bind(Stamp(at))
        .bind(reason)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(None) };
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(Some(application_from(&row)?))
    }

    async fn raise_star_review(&self, grant: &StarApplication, hours: u32, at: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(
            r"insert into star_review (application_id, volunteer_id, stars, hours, threshold_hours, decide_region, created_at)
              values ($1, $2, $3, $4, $5, $6, $7)
              on conflict (application_id) where status = 'open' do nothing",
        )
        .bind(grant.id)
        .bind(grant.volunteer_id)
        .bind(i32::from(grant.stars))
        .bind(int(hours))
        .bind(int(grant.threshold_hours))
        .bind(&grant.decide_region)
        .bind(Stamp(at))
        .execute(self.writer())
        .await?;
        Ok(())
    }

    async fn star_review(&self, id: i64) -> StoreResult<Option<StarReview>> {
        let row =
            sqlx::query(r"select * from star_review where id = $1").bind(id).fetch_optional(self.reader()).await?;
        row.as_ref().map(review_from).transpose()
    }

    async fn open_star_reviews(&self) -> StoreResult<Vec<StarReview>> {
        let rows = sqlx::query(r"select * from star_review where status = 'open' order by id")
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(review_from).collect()
    }

    async fn decide_star_review(
        &self,
        id: i64,
        revoke: bool,
        by: i64,
        reason: &str,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> StoreResult<Option<StarReview>> {
        let mut tx = self.writer().begin().await?;
        let row = sqlx::query(
            r"update star_review set status = $2, decided_by = $3, decided_at = $4, reason = $5
              where id = $1 and status = 'open'
              returning *",
        )
        .bind(id)
        .bind(if revoke { "revoked" } else { "kept" })
        .bind(by)
        .bind(Stamp(at))
        .bind(reason)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let review = review_from(&row)?;
        if revoke {
            sqlx::query(
                r"update star_application set status = 'revoked', reason = $2 where id = $1 and status = 'granted'",
            )
            .bind(review.application_id)
            .bind(reason)
            .execute(&mut *tx)
            .await?;
        }
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(Some(review))
    }
}

//! Publicity: entries, their periods and rules, and objections, on both engines.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Conn, DbRow, Engine, correct_finalised, insert_audit, parse_day};
use crate::audit::AuditEvent;
use crate::publicity::{BoardFilter, NewPublicity, Objection, ObjectionStatus, PublicityRow, PublicityStatus, Restart};
use crate::store::codec::{RowTimes, Stamp};
use crate::store::{PublicityStore, StoreResult, corrupt};

/// The publicity columns, with the activity's and organisation's names.
macro_rules! publicity_select {
    () => {
        "select p.id, p.activity_id, p.volunteer_id, p.local_day, p.minutes, p.published_on, p.working_days, \
         p.ends_on, p.status, a.name as activity_name, a.organisation_id, o.name as organisation_name, o.region_code, p.restart_reason, \
         exists (select 1 from objection j where j.publicity_entry_id = p.id and j.status = 'open') as objection_open \
         from publicity_entry p join activity a on a.id = p.activity_id join organisation o on o.id = a.organisation_id"
    };
}

fn publicity_from_row(row: &DbRow) -> StoreResult<PublicityRow> {
    let day: String = row.try_get("local_day")?;
    let published_on: String = row.try_get("published_on")?;
    let ends_on: Option<String> = row.try_get("ends_on")?;
    let status: String = row.try_get("status")?;
    let count = |column: &str| -> StoreResult<u32> {
        u32::try_from(row.try_get::<i32, _>(column)?).map_err(|_| corrupt("count"))
    };
    Ok(PublicityRow {
        id: row.try_get("id")?,
        activity_id: row.try_get("activity_id")?,
        volunteer_id: row.try_get("volunteer_id")?,
        day: parse_day(&day)?,
        minutes: count("minutes")?,
        published_on: parse_day(&published_on)?,
        working_days: count("working_days")?,
        ends_on: ends_on.as_deref().map(parse_day).transpose()?,
        status: PublicityStatus::parse(&status).ok_or_else(|| corrupt("publicity status"))?,
        objection_open: row.try_get("objection_open")?,
        activity_name: row.try_get("activity_name")?,
        organisation_id: row.try_get("organisation_id")?,
        organisation_name: row.try_get("organisation_name")?,
        region_code: row.try_get("region_code")?,
        restart_reason: row.try_get("restart_reason")?,
    })
}

/// The objection columns every query returns (never the contact).
macro_rules! objection_columns {
    () => {
        "id, publicity_entry_id, reason, status, raised_at, decided_by, decision_reason, corrected_minutes"
    };
}

fn objection_from_row(row: &DbRow) -> StoreResult<Objection> {
    let status: String = row.try_get("status")?;
    Ok(Objection {
        id: row.try_get("id")?,
        entry_id: row.try_get("publicity_entry_id")?,
        reason: row.try_get("reason")?,
        status: ObjectionStatus::parse(&status).ok_or_else(|| corrupt("objection status"))?,
        raised_at: row.time("raised_at")?,
        decided_by: row.try_get("decided_by")?,
        decision_reason: row.try_get("decision_reason")?,
        corrected_minutes: row.try_get::<Option<i32>, _>("corrected_minutes")?.and_then(|m| u32::try_from(m).ok()),
    })
}

/// Starts a publicity entry's period again with corrected minutes, on a connection. A
/// recorded entry starts again too: its register entry stands until the new period ends.
async fn restart_entry(conn: &mut Conn, id: i64, restart: &Restart) -> StoreResult<bool> {
    let restarted = sqlx::query(
        r"update publicity_entry set minutes = $2, published_on = $3, ends_on = $4, status = $5, restart_reason = $6
          where id = $1",
    )
    .bind(id)
    .bind(i32::try_from(restart.minutes).unwrap_or(i32::MAX))
    .bind(restart.published_on.format("%Y-%m-%d").to_string())
    .bind(restart.ends_on.map(|d| d.format("%Y-%m-%d").to_string()))
    .bind(if restart.ends_on.is_some() { "in_publicity" } else { "held" })
    .bind(&restart.reason)
    .execute(&mut *conn)
    .await?;
    Ok(restarted.rows_affected() == 1)
}

#[async_trait]
impl PublicityStore for Engine {
    async fn publicity_in_progress(
        &self,
        after: i64,
        limit: i64,
        filter: &BoardFilter,
    ) -> StoreResult<Vec<PublicityRow>> {
        let rows = sqlx::query(concat!(
            publicity_select!(),
            " where p.status in ('in_publicity', 'held') and p.id > $1 \
              and (cast($3 as bigint) is null or a.organisation_id = $3) and (cast($4 as bigint) is null or p.activity_id = $4) \
              and (cast($5 as text) is null or p.local_day = $5) \
              order by p.id limit $2"
        ))
        .bind(after)
        .bind(limit)
        .bind(filter.organisation_id)
        .bind(filter.activity_id)
        .bind(filter.day.map(|d| d.format("%Y-%m-%d").to_string()))
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(publicity_from_row).collect()
    }

    async fn publicity_held(&self) -> StoreResult<Vec<PublicityRow>> {
        let rows = sqlx::query(concat!(publicity_select!(), " where p.status = 'held' order by p.id"))
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(publicity_from_row).collect()
    }

    async fn set_publicity_end(&self, id: i64, ends_on: chrono::NaiveDate) -> StoreResult<()> {
        sqlx::query(
            r"update publicity_entry set ends_on = $2, status = 'in_publicity' where id = $1 and status = 'held'",
        )
        .bind(id)
        .bind(ends_on.format("%Y-%m-%d").to_string())
        .execute(self.writer())
        .await?;
        Ok(())
    }

    async fn publicity_due(&self, today: chrono::NaiveDate, after: i64, limit: i64) -> StoreResult<Vec<PublicityRow>> {
        let rows = sqlx::query(concat!(
            publicity_select!(),
            " where p.status = 'in_publicity' and p.ends_on < $1 and p.id > $2 \
              and not exists (select 1 from objection j where j.publicity_entry_id = p.id and j.status = 'open') \
              order by p.id limit $3"
        ))
        .bind(today.format("%Y-%m-%d").to_string())
        .bind(after)
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(publicity_from_row).collect()
    }

    async fn publicity_entry(&self, id: i64) -> StoreResult<Option<PublicityRow>> {
        let row = sqlx::query(concat!(publicity_select!(), " where p.id = $1"))
            .bind(id)
            .fetch_optional(self.reader())
            .await?;
        row.as_ref().map(publicity_from_row).transpose()
    }

    async fn add_publicity(&self, activity_id: i64, p: &NewPublicity, at: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(
            r"insert into publicity_entry (activity_id, volunteer_id, local_day, minutes, published_on, working_days,
                                           ends_on, status, created_at)
              values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
              on conflict (activity_id, volunteer_id, local_day) do nothing",
        )
        .bind(activity_id)
        .bind(p.volunteer_id)
        .bind(p.day.format("%Y-%m-%d").to_string())
        .bind(i32::try_from(p.minutes).unwrap_or(i32::MAX))
        .bind(p.published_on.format("%Y-%m-%d").to_string())
        .bind(i32::try_from(p.working_days).unwrap_or(i32::MAX))
        .bind(p.ends_on.map(|d| d.format("%Y-%m-%d").to_string()))
        .bind(if p.ends_on.is_some() { "in_publicity" } else { "held" })
        .bind(Stamp(at))
        .execute(self.writer())
        .await?;
        Ok(())
    }

    async fn publicity_entry_for(
        &self,
        activity_id: i64,
        volunteer_id: i64,
        day: chrono::NaiveDate,
    ) -> StoreResult<Option<PublicityRow>> {
        let row = sqlx::query(concat!(
            publicity_select!(),
            " where p.activity_id = $1 and p.volunteer_id = $2 and p.local_day = $3"
        ))
        .bind(activity_id)
        .bind(volunteer_id)
        .bind(day.format("%Y-%m-%d").to_string())
        .fetch_optional(self.reader())
        .await?;
        row.as_ref().map(publicity_from_row).transpose()
    }

    async fn restart_publicity(&self, id: i64, restart: &Restart) -> StoreResult<bool> {
        let mut conn = self.writer().acquire().await?;
        restart_entry(&mut conn, id, restart).await
    }

    async fn add_objection(
        &self,
        entry_id: i64,
        contact_sealed: &str,
        reason: &str,
        raised_by: Option<i64>,
        at: DateTime<Utc>,
    ) -> StoreResult<Option<Objection>> {
        let mut tx = self.writer().begin().await?;
        // Lock the entry: the register job's marking waits for this objection, or this
        // objection sees the entry recorded.
        let status: Option<String> =
            sqlx::query_scalar(concat!("select status from publicity_entry where id = $1", for_update!()))
                .bind(entry_id)
                .fetch_optional(&mut *tx)
                .await?;
        if status.as_deref() != Some("in_publicity") && status.as_deref() != Some("held") {
            return Ok(None);
        }
        let row = sqlx::query(concat!(
            r"insert into objection (publicity_entry_id, contact_sealed, reason, raised_by_staff, raised_at)
              values ($1, $2, $3, $4, $5) returning ",
            objection_columns!()
        ))
        .bind(entry_id)
        .bind(contact_sealed)
        .bind(reason)
        .bind(raised_by)
        .bind(Stamp(at))
        .fetch_one(&mut *tx)
        .await?;
        let objection = objection_from_row(&row)?;
        tx.commit().await?;
        Ok(Some(objection))
    }

    async fn objection(&self, id: i64) -> StoreResult<Option<Objection>> {
        let row = sqlx::query(concat!("select ", objection_columns!(), " from objection where id = $1"))
            .bind(id)
            .fetch_optional(self.reader())
            .await?;
        row.as_ref().map(objection_from_row).transpose()
    }

    async fn objections_of_activity(&self, activity_id: i64) -> StoreResult<Vec<Objection>> {
        let rows = sqlx::query(concat!(
            "select ",
            objection_columns!(),
            " from objection where publicity_entry_id in (select id from publicity_entry where activity_id = $1) order by id"
        ))
        .bind(activity_id)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(objection_from_row).collect()
    }

    async fn decide_objection(
        &self,
        id: i64,
        entry: &PublicityRow,
        by: i64,
        reason: &str,
        restart: Option<&Restart>,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> StoreResult<Option<Objection>> {
        let mut tx = self.writer().begin().await?;
        let row = sqlx::query(concat!(
            r"update objection set status = $2, decided_by = $3, decision_reason = $4, decided_at = $5,
                                   corrected_minutes = $6
              where id = $1 and status = 'open' returning ",
            objection_columns!()
        ))
        .bind(id)
        .bind(if restart.is_some() { "upheld" } else { "dismissed" })
        .bind(by)
        .bind(reason)
        .bind(Stamp(at))
        .bind(restart.map(|r| i32::try_from(r.minutes).unwrap_or(i32::MAX)))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let objection = objection_from_row(&row)?;
        if let Some(restart) = restart {
            let session = (entry.activity_id, entry.volunteer_id, entry.day);
            correct_finalised(&mut tx, session, restart.minutes, reason, (by, None), at).await?;
            restart_entry(&mut tx, entry.id, restart).await?;
        }
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(Some(objection))
    }

    async fn publicity_rule(&self, scope: &str) -> StoreResult<Option<u32>> {
        let days: Option<i32> = sqlx::query_scalar(r"select working_days from publicity_rule where scope = $1")
            .bind(scope)
            .fetch_optional(self.reader())
            .await?;
        Ok(days.and_then(|d| u32::try_from(d).ok()))
    }

    async fn put_publicity_rule(&self, scope: &str, working_days: u32, by: i64, at: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(
            r"insert into publicity_rule (scope, working_days, set_by, set_at) values ($1, $2, $3, $4)
              on conflict (scope) do update set working_days = excluded.working_days, set_by = excluded.set_by,
                  set_at = excluded.set_at",
        )
        .bind(scope)
        .bind(i32::try_from(working_days).unwrap_or(i32::MAX))
        .bind(by)
        .bind(Stamp(at))
        .execute(self.writer())
        .await?;
        Ok(())
    }
}

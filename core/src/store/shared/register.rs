//! The register and the reporting batches sent from it, on both engines.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{DbRow, Engine, insert_audit, register_from_row, serialise};
use crate::audit::AuditEvent;
use crate::publicity::{NewRegisterEntry, RegisterGuard, RegisterRow};
use crate::reporting::{BatchStatus, ReportBatch};
use crate::store::Serialised;
use crate::store::codec::{RowTimes, Stamp};
use crate::store::{RegisterStore, StoreResult, corrupt};

/// The register columns every query returns.
macro_rules! register_columns {
    () => {
        "seq, kind, publicity_entry_id, organisation_id, volunteer_id, minutes, content, previous_hash, hash"
    };
}

/// The batch columns every query returns.
macro_rules! batch_columns {
    () => {
        "id, organisation_id, county_code, status, entries, minutes, submitted_by, submitted_at, decided_by, reason"
    };
}

fn batch_from_row(row: &DbRow) -> StoreResult<ReportBatch> {
    let status: String = row.try_get("status")?;
    Ok(ReportBatch {
        id: row.try_get("id")?,
        organisation_id: row.try_get("organisation_id")?,
        county_code: row.try_get("county_code")?,
        status: BatchStatus::parse(&status).ok_or_else(|| corrupt("batch status"))?,
        entries: u32::try_from(row.try_get::<i32, _>("entries")?).map_err(|_| corrupt("entries"))?,
        minutes: i64::from(row.try_get::<i32, _>("minutes")?),
        submitted_by: row.try_get("submitted_by")?,
        submitted_at: row.time("submitted_at")?,
        decided_by: row.try_get("decided_by")?,
        reason: row.try_get("reason")?,
    })
}

#[async_trait]
impl RegisterStore for Engine {
    async fn append_register(
        &self,
        entries: &[NewRegisterEntry],
        guard: &RegisterGuard,
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = self.writer().begin().await?;
        serialise(&mut tx, Serialised::RegisterAppend).await?;
        let RegisterGuard::Recording { entry_id, minutes, published_on, standing } = guard;
        // The entry that stands for this publicity entry now (an original or the latest
        // replacement): still the one the reversal was built against, or none for a first
        // recording.
        let stands: Option<i64> = sqlx::query_scalar(
            r"select max(seq) from register_entry
              where publicity_entry_id = $1 and kind in ('original', 'replacement')",
        )
        .bind(entry_id)
        .fetch_one(&mut *tx)
        .await?;
        if stands != *standing {
            return Ok(false);
        }
        let marked = sqlx::query(
                    r"update publicity_entry set status = 'recorded', recorded_at = $2
                      where id = $1 and status = 'in_publicity' and minutes = $3 and published_on = $4
                        and not exists (select 1 from objection j where j.publicity_entry_id = $1 and j.status = 'open')",
                )
                .bind(entry_id)
                .bind(Stamp(at))
                .bind(i32::try_from(*minutes).unwrap_or(i32::MAX))
                .bind(published_on.format("%Y-%m-%d").to_string())
                .execute(&mut *tx)
                .await?;
        let holds = marked.rows_affected() == 1;
        if !holds {
            return Ok(false);
        }
        let last = sqlx::query(r"select seq, hash from register_entry order by seq desc limit 1")
            .fetch_optional(&mut *tx)
            .await?;
        let (mut seq, mut previous): (i64, Vec<u8>) = match last {
            Some(row) => (row.try_get("seq")?, row.try_get("hash")?),
            None => (0, crate::publicity::GENESIS.to_vec()),
        };
        for entry in entries {
            seq += 1;
            let hash =
                crate::publicity::chain_hash(&previous, entry.kind, Some(entry.publicity_entry_id), &entry.content);
            sqlx::query(
                r"insert into register_entry (seq, kind, publicity_entry_id, organisation_id, volunteer_id, minutes,
                                              content, previous_hash, hash, created_at)
                  values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(seq)
            .bind(entry.kind.as_str())
            .bind(entry.publicity_entry_id)
            .bind(entry.organisation_id)
            .bind(entry.volunteer_id)
            .bind(i32::try_from(entry.minutes).unwrap_or_default())
            .bind(&entry.content)
            .bind(&previous)
            .bind(hash.as_slice())
            .bind(Stamp(at))
            .execute(&mut *tx)
            .await?;
            previous = hash.to_vec();
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn standing_register_entry(&self, publicity_entry_id: i64) -> StoreResult<Option<RegisterRow>> {
        let row = sqlx::query(concat!(
            "select ",
            register_columns!(),
            " from register_entry where publicity_entry_id = $1 and kind in ('original', 'replacement') \
              order by seq desc limit 1"
        ))
        .bind(publicity_entry_id)
        .fetch_optional(self.reader())
        .await?;
        row.as_ref().map(register_from_row).transpose()
    }

    async fn create_batch(
        &self,
        organisation_id: i64,
        county_code: &str,
        by: i64,
        at: DateTime<Utc>,
    ) -> StoreResult<Option<ReportBatch>> {
        let mut tx = self.writer().begin().await?;
        serialise(&mut tx, Serialised::ReportBatch).await?;
        let rows = sqlx::query(
            r"select seq, minutes, kind, content from register_entry r
              where r.organisation_id = $1
                and not exists (select 1 from report_item i join report_batch b on b.id = i.batch_id
                                where i.register_seq = r.seq and b.status in ('submitted', 'confirmed'))
              order by seq",
        )
        .bind(organisation_id)
        .fetch_all(&mut *tx)
        .await?;
        // A correction waits while the entry it corrects is in a batch still pending: a
        // batch never confirms a reversal without what it reverses.
        let pending: std::collections::HashSet<i64> = sqlx::query_scalar(
            r"select i.register_seq from report_item i join report_batch b on b.id = i.batch_id
              where b.status = 'submitted'",
        )
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .collect();
        let mut kept = Vec::with_capacity(rows.len());
        for row in rows {
            let kind: String = row.try_get("kind")?;
            let corrects = if kind == "original" {
                None
            } else {
                let content: String = row.try_get("content")?;
                let content: serde_json::Value =
                    serde_json::from_str(&content).map_err(|_| corrupt("register content"))?;
                content["reverses"].as_i64().or_else(|| content["replaces"].as_i64())
            };
            if corrects.is_none_or(|seq| !pending.contains(&seq)) {
                kept.push(row);
            }
        }
        let rows = kept;
        if rows.is_empty() {
            return Ok(None);
        }
        let seqs = rows.iter().map(|r| r.try_get::<i64, _>("seq")).collect::<Result<Vec<_>, _>>()?;
        let minutes: i64 =
            rows.iter().map(|r| r.try_get::<i32, _>("minutes").map(i64::from)).sum::<Result<i64, _>>()?;
        let row = sqlx::query(concat!(
            r"insert into report_batch (organisation_id, county_code, status, entries, minutes, submitted_by, submitted_at)
              values ($1, $2, 'submitted', $3, $4, $5, $6) returning ",
            batch_columns!()
        ))
        .bind(organisation_id)
        .bind(county_code)
        .bind(i32::try_from(seqs.len()).unwrap_or(i32::MAX))
        .bind(i32::try_from(minutes).unwrap_or(i32::MAX))
        .bind(by)
        .bind(Stamp(at))
        .fetch_one(&mut *tx)
        .await?;
        let batch = batch_from_row(&row)?;
        for seq in seqs {
            sqlx::query(r"insert into report_item (batch_id, register_seq) values ($1, $2)")
                .bind(batch.id)
                .bind(seq)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(Some(batch))
    }

    async fn report_batches(&self) -> StoreResult<Vec<ReportBatch>> {
        let rows = sqlx::query(concat!("select ", batch_columns!(), " from report_batch order by id"))
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(batch_from_row).collect()
    }

    async fn batch_entries(&self, batch_id: i64, after: i64, limit: i64) -> StoreResult<Vec<RegisterRow>> {
        let rows = sqlx::query(concat!(
            "select ",
            register_columns!(),
            " from register_entry where seq in (select register_seq from report_item where batch_id = $1) \
              and seq > $2 order by seq limit $3"
        ))
        .bind(batch_id)
        .bind(after)
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(register_from_row).collect()
    }

    async fn decide_batch(
        &self,
        id: i64,
        to: BatchStatus,
        by: i64,
        reason: Option<&str>,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> StoreResult<Option<ReportBatch>> {
        let mut tx = self.writer().begin().await?;
        let row = sqlx::query(concat!(
            r"update report_batch set status = $2, decided_by = $3, reason = $4, decided_at = $5
              where id = $1 and status = 'submitted' returning ",
            batch_columns!()
        ))
        .bind(id)
        .bind(to.as_str())
        .bind(by)
        .bind(reason)
        .bind(Stamp(at))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let batch = batch_from_row(&row)?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(Some(batch))
    }

    async fn confirmed_minutes(&self, volunteer_id: i64) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            r"select cast(coalesce(sum(r.minutes), 0) as bigint) from register_entry r
              where r.volunteer_id = $1 and exists (select 1 from report_item i join report_batch b on b.id = i.batch_id
                                                 where i.register_seq = r.seq and b.status = 'confirmed')",
        )
        .bind(volunteer_id)
        .fetch_one(self.reader())
        .await?)
    }

    async fn recorded_without_register_entry(&self) -> StoreResult<u64> {
        let missing: i64 = sqlx::query_scalar(
            r"select count(*) from publicity_entry p where p.status = 'recorded'
              and not exists (select 1 from register_entry r where r.publicity_entry_id = p.id and r.kind = 'original')",
        )
        .fetch_one(self.reader())
        .await?;
        Ok(u64::try_from(missing).unwrap_or_default())
    }

    async fn register_page(&self, after: i64, limit: i64) -> StoreResult<Vec<RegisterRow>> {
        let rows = sqlx::query(concat!(
            "select ",
            register_columns!(),
            " from register_entry where seq > $1 order by seq limit $2"
        ))
        .bind(after)
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(register_from_row).collect()
    }
}

//! The register and the reporting batches sent from it, on both engines.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{QueryBuilder, Row};

use super::{Db, DbRow, Engine, insert_audit, register_from_row, serialise};
use crate::audit::AuditEvent;
use crate::publicity::{NewRegisterEntry, Recording, RegisterGuard, RegisterRow};
use crate::reporting::{BatchStatus, ReportBatch};
use crate::store::Serialised;
use crate::store::codec::{List, RowTimes, Stamp};
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

/// Whether a recording's guard holds, marking its publicity entry recorded if it does.
async fn guard_holds(
    tx: &mut <Db as sqlx::Database>::Connection,
    guard: &RegisterGuard,
    at: DateTime<Utc>,
) -> StoreResult<bool> {
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
    Ok(marked.rows_affected() == 1)
}

#[async_trait]
impl RegisterStore for Engine {
    async fn append_register(&self, recordings: &[Recording], at: DateTime<Utc>) -> StoreResult<Vec<bool>> {
        let mut tx = self.writer().begin().await?;
        serialise(&mut tx, Serialised::RegisterAppend).await?;
        let mut held = Vec::with_capacity(recordings.len());
        let mut appending: Vec<&NewRegisterEntry> = Vec::new();
        for recording in recordings {
            let holds = guard_holds(&mut tx, &recording.guard, at).await?;
            if holds {
                appending.extend(&recording.entries);
            }
            held.push(holds);
        }
        let last = sqlx::query(r"select seq, hash from register_entry order by seq desc limit 1")
            .fetch_optional(&mut *tx)
            .await?;
        let (mut seq, mut previous): (i64, Vec<u8>) = match last {
            Some(row) => (row.try_get("seq")?, row.try_get("hash")?),
            None => (0, crate::publicity::GENESIS.to_vec()),
        };
        // Many entries to a statement: advancing publicity records a page of entries at
        // once. Ten values a row stays far below either engine's limit on bound values.
        for chunk in appending.chunks(500) {
            let mut query: QueryBuilder<Db> = QueryBuilder::new(
                "insert into register_entry (seq, kind, publicity_entry_id, organisation_id, volunteer_id, minutes, \
                 content, previous_hash, hash, created_at) ",
            );
            query.push_values(chunk, |mut row, entry| {
                seq += 1;
                let hash =
                    crate::publicity::chain_hash(&previous, entry.kind, Some(entry.publicity_entry_id), &entry.content);
                row.push_bind(seq)
                    .push_bind(entry.kind.as_str())
                    .push_bind(entry.publicity_entry_id)
                    .push_bind(entry.organisation_id)
                    .push_bind(entry.volunteer_id)
                    .push_bind(i32::try_from(entry.minutes).unwrap_or_default())
                    .push_bind(entry.content.clone())
                    .push_bind(std::mem::replace(&mut previous, hash.to_vec()))
                    .push_bind(hash.to_vec())
                    .push_bind(Stamp(at));
            });
            // Not kept prepared: each row count is its own statement text (see the scan
            // batch's shapes in `sqlite/scan_batches.rs`), and these are occasional.
            query.build().persistent(false).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(held)
    }

    async fn standing_register_entries(&self, publicity_entry_ids: &[i64]) -> StoreResult<Vec<RegisterRow>> {
        if publicity_entry_ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(concat!(
            "select ",
            register_columns!(),
            " from register_entry where seq in (select max(seq) from register_entry where publicity_entry_id",
            member_of!("$1"),
            " and kind in ('original', 'replacement') group by publicity_entry_id) order by seq"
        ))
        .bind(List(publicity_entry_ids))
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(register_from_row).collect()
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
            // Only a correction's content is needed (to find what it corrects): a
            // province's batch holds a million originals.
            r"select seq, minutes, kind, case when kind = 'original' then null else content end as content
              from register_entry r
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
                let content: String = row.try_get::<Option<String>, _>("content")?.unwrap_or_default();
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
        for chunk in seqs.chunks(1000) {
            let mut query: QueryBuilder<Db> = QueryBuilder::new("insert into report_item (batch_id, register_seq) ");
            query.push_values(chunk, |mut row, seq| {
                row.push_bind(batch.id).push_bind(*seq);
            });
            // Not kept prepared: each row count is its own statement text (see the scan
            // batch's shapes in `sqlite/scan_batches.rs`), and these are occasional.
            query.build().persistent(false).execute(&mut *tx).await?;
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
            // Both sides bounded by `after`: without `r.seq > $2` PostgreSQL merge-joined
            // the register from its first entry on every page (0.8 s a page half way
            // through a batch of a million).
            " from report_item i join register_entry r on r.seq = i.register_seq \
              where i.batch_id = $1 and i.register_seq > $2 and r.seq > $2 order by i.register_seq limit $3"
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

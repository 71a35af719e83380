//! Roster imports on PostgreSQL. A roster is staged 500 rows at a
//! time through `unnest`, each chunk its own transaction, and published by one transaction
//! of a few set-based statements. SQLite publishes in slices behind the import's state
//! because its single writer would hold scans for the whole publish; here readers never
//! wait for a writer (MVCC) and a scan writes no row the publish writes or locks, so one
//! transaction stalls nobody (37–74 ms for the slowest scan during a 100,000-row import,
//! BENCHMARKS.md) and the import goes straight to `published`.
//!
//! Only the roster import is here: its staging, publishing and clean-up are written for
//! this engine alone. The rest of the exchange store is shared (`shared/exchange.rs`).

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::PostgresStore;
use super::shared::exchange::{DISCARD_FAILED, int, known_volunteer_from};
use super::shared::rows::insert_audit;
use crate::error::CoreError;
use crate::roster::import::{NewRosterImport, RosterImportState};
use crate::roster::{RosterEntry, RosterImportRecord};
use crate::store::exchange::{KnownVolunteer, import_record, staged_consents};
use crate::store::volunteers::{VOLUNTEER_DATA, insert_volunteers};
use crate::store::{StoreResult, skills_json, volunteer_conflict};

/// Stages one chunk of a roster through `unnest`; a new volunteer's number already taken
/// (registered or staged) is drawn again and the row retried.
async fn stage_chunk(
    tx: &mut sqlx::PgConnection,
    staging_key: &str,
    first: u32,
    chunk: Vec<RosterEntry>,
    at: chrono::DateTime<chrono::Utc>,
) -> StoreResult<()> {
    let (mut existing, mut existing_at) = (Vec::new(), Vec::new());
    let mut new = Vec::new();
    for (position, entry) in (i32::try_from(first).unwrap_or(i32::MAX)..).zip(chunk) {
        match entry {
            RosterEntry::Existing { volunteer_id } => {
                existing.push(volunteer_id);
                existing_at.push(position);
            }
            RosterEntry::New { volunteer, consents } => new.push((position, volunteer, staged_consents(&consents))),
        }
    }
    sqlx::query(
        r"insert into roster_staging (staging_key, position, volunteer_id, created_at)
          select $1, p, v, $4 from unnest($2::integer[], $3::bigint[]) as t(p, v)",
    )
    .bind(staging_key)
    .bind(&existing_at)
    .bind(&existing)
    .bind(at)
    .execute(&mut *tx)
    .await?;
    let mut pending: Vec<usize> = (0..new.len()).collect();
    for _ in 0..5 {
        if pending.is_empty() {
            return Ok(());
        }
        let pick = |f: &dyn Fn(&crate::identity::StoredVolunteer) -> String| -> Vec<String> {
            pending.iter().map(|i| f(&new[*i].1)).collect()
        };
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            r"insert into roster_staging (staging_key, position, {VOLUNTEER_DATA}, consents, created_at)
              select $1, p, n, nm, g, bm, it, ids, idl, ps, pl, sk, cs, $14
              from unnest($2::integer[], $3::text[], $4::text[], $5::smallint[], $6::text[], $7::text[], $8::text[],
                          $9::bytea[], $10::text[], $11::bytea[], $12::text[], $13::text[])
                   as t(p, n, nm, g, bm, it, ids, idl, ps, pl, sk, cs)
              where not exists (select 1 from volunteer where volunteer_number = t.n)
              on conflict (volunteer_number) do nothing
              returning position"
        )))
        .bind(staging_key)
        .bind(pending.iter().map(|i| new[*i].0).collect::<Vec<_>>())
        .bind(pick(&|v| v.volunteer_number.clone()))
        .bind(pick(&|v| v.name.clone()))
        .bind(pending.iter().map(|i| i16::from(new[*i].1.gender.code())).collect::<Vec<_>>())
        .bind(pick(&|v| v.birth_month.clone()))
        .bind(pick(&|v| v.id_type.as_str().to_owned()))
        .bind(pick(&|v| v.id_number_sealed.clone()))
        .bind(pending.iter().map(|i| new[*i].1.id_number_lookup.to_vec()).collect::<Vec<_>>())
        .bind(pick(&|v| v.phone_sealed.clone()))
        .bind(pending.iter().map(|i| new[*i].1.phone_lookup.to_vec()).collect::<Vec<_>>())
        .bind(pick(&|v| skills_json(&v.skills)))
        .bind(pending.iter().map(|i| new[*i].2.clone()).collect::<Vec<_>>())
        .bind(at)
        .fetch_all(&mut *tx)
        .await?;
        let staged: std::collections::HashSet<i32> =
            rows.iter().map(|r| r.try_get::<i32, _>("position")).collect::<Result<_, _>>()?;
        let mut still = Vec::new();
        for i in pending {
            if !staged.contains(&new[i].0) {
                new[i].1.volunteer_number = crate::identity::registration::new_volunteer_number()?;
                still.push(i);
            }
        }
        pending = still;
    }
    if pending.is_empty() { Ok(()) } else { Err(CoreError::Internal("could not draw free volunteer numbers".into())) }
}

impl PostgresStore {
    pub(super) async fn volunteers_by_lookups_here(
        &self,
        ids: &[[u8; 32]],
        phones: &[[u8; 32]],
    ) -> StoreResult<Vec<KnownVolunteer>> {
        if ids.is_empty() && phones.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<Vec<u8>> = ids.iter().map(|h| h.to_vec()).collect();
        let phones: Vec<Vec<u8>> = phones.iter().map(|h| h.to_vec()).collect();
        let rows = sqlx::query(
            r"select id, id_number_lookup, phone_lookup from visible_volunteer
              where id_number_lookup = any($1) or phone_lookup = any($2)",
        )
        .bind(&ids)
        .bind(&phones)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(known_volunteer_from).collect()
    }

    pub(super) async fn stage_roster_here(
        &self,
        staging_key: &str,
        first: u32,
        entries: Vec<RosterEntry>,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        stage_chunk(&mut tx, staging_key, first, entries, at).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn publish_roster_here(
        &self,
        staging_key: &str,
        import: &NewRosterImport,
    ) -> StoreResult<RosterImportRecord> {
        let mut tx = self.pool.begin().await?;
        let (rows, registered, linked) = import.counts;
        let id: i64 = sqlx::query_scalar(
            r"insert into roster_import (organisation_id, imported_by, file_digest, data_rows, registered, linked,
                                        created_at, state, staging_key, file_name)
              values ($1, $2, $3, $4, $5, $6, $7, 'published', $8, $9) returning id",
        )
        .bind(import.organisation_id)
        .bind(import.imported_by)
        .bind(&import.file_digest)
        .bind(int(rows))
        .bind(int(registered))
        .bind(int(linked))
        .bind(import.at)
        .bind(staging_key)
        .bind(import.file_name.as_deref())
        .fetch_one(&mut *tx)
        .await?;
        let mut audit = import.audit.clone();
        audit.detail["roster_import_id"] = serde_json::json!(id);
        insert_audit(&mut tx, &audit).await?;
        sqlx::query(insert_volunteers(&format!(
            r"select {VOLUNTEER_DATA}, null, null::timestamptz, $3, $2
              from roster_staging where staging_key = $1 and volunteer_id is null order by position"
        )))
        .bind(staging_key)
        .bind(import.at)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(volunteer_conflict)?;
        sqlx::query(
            r"insert into consent (volunteer_id, purpose, granted, notice_version, recorded_at, roster_import_id)
              select v.id, c.value ->> 'purpose', (c.value ->> 'granted')::boolean, c.value ->> 'notice_version', $2, $3
              from roster_staging s join volunteer v on v.volunteer_number = s.volunteer_number
                   cross join lateral jsonb_array_elements(s.consents::jsonb) with ordinality as c(value, n)
              where s.staging_key = $1 and s.volunteer_id is null order by s.position, c.n",
        )
        .bind(staging_key)
        .bind(import.at)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            r"insert into roster_member (organisation_id, volunteer_id, roster_import_id, created_at)
              select $2, coalesce(s.volunteer_id, v.id), $3, $4
              from roster_staging s left join volunteer v on s.volunteer_id is null and v.volunteer_number = s.volunteer_number
              where s.staging_key = $1 order by s.position
              on conflict (organisation_id, volunteer_id) do nothing",
        )
        .bind(staging_key)
        .bind(import.organisation_id)
        .bind(id)
        .bind(import.at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(import_record(id, import, 0, RosterImportState::Published))
    }

    pub(super) async fn discard_failed_roster_rows_here(&self, limit: i64) -> StoreResult<u64> {
        // Children first: a table is reached only once the one before it is empty.
        for sql in DISCARD_FAILED {
            let gone = sqlx::query(sql).bind(limit).execute(&self.pool).await?.rows_affected();
            if gone > 0 {
                return Ok(gone);
            }
        }
        Ok(0)
    }
}

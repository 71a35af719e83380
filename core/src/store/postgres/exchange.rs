//! Exchange exports and roster imports on PostgreSQL. A roster is staged 500 rows at a
//! time through `unnest`, each chunk its own transaction, and published by one transaction
//! of a few set-based statements. SQLite publishes in slices behind the import's state
//! because its single writer would hold scans for the whole publish; here readers never
//! wait for a writer (MVCC) and a scan writes no row the publish writes or locks, so one
//! transaction stalls nobody (37–74 ms for the slowest scan during a 100,000-row import,
//! BENCHMARKS.md) and the import goes straight to `published`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::{PostgresStore, insert_audit, register_from_row};
use crate::audit::AuditEvent;
use crate::error::CoreError;
use crate::exchange::{ExchangeExport, ExchangeKind, NewExchangeExport};
use crate::publicity::RegisterRow;
use crate::roster::import::{NewRosterImport, PastRosterImport, RosterImportState};
use crate::roster::{RosterEntry, RosterImportRecord};
use crate::store::exchange::{
    KnownVolunteer, PAST_IMPORT_COLUMNS, VISIBLE_ROSTER_MEMBER, import_record, staged_consents,
};
use crate::store::volunteers::{VOLUNTEER_DATA, insert_volunteers};
use crate::store::{ExchangeStore, StoreResult, corrupt, skills_json, volunteer_conflict};

/// A register entry in a confirmed batch (only `$2`'s when it is not null).
const CONFIRMED: &str = r"exists (select 1 from report_item i join report_batch b on b.id = i.batch_id
                                   where i.register_seq = r.seq and b.status = 'confirmed'
                                     and ($2::bigint is null or b.id = $2))";

const EXPORT_COLUMNS: &str =
    "id, organisation_id, kind, batch_id, organisation_code, items, held_for_consent, exported_by, exported_at";

fn export_from(row: &PgRow) -> StoreResult<ExchangeExport> {
    let kind: String = row.try_get("kind")?;
    Ok(ExchangeExport {
        id: row.try_get("id")?,
        organisation_id: row.try_get("organisation_id")?,
        kind: ExchangeKind::parse(&kind).ok_or_else(|| corrupt("exchange kind"))?,
        batch_id: row.try_get("batch_id")?,
        organisation_code: row.try_get("organisation_code")?,
        items: u32::try_from(row.try_get::<i32, _>("items")?).unwrap_or(0),
        held_for_consent: u32::try_from(row.try_get::<i32, _>("held_for_consent")?).unwrap_or(0),
        exported_by: row.try_get("exported_by")?,
        exported_at: row.try_get("exported_at")?,
    })
}

fn hash32(bytes: Vec<u8>) -> StoreResult<[u8; 32]> {
    bytes.try_into().map_err(|_| corrupt("lookup hash"))
}

fn int(v: u32) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

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

/// The rows of failed imports, deleted children first, up to `$1` per statement.
const DISCARD_FAILED: [&str; 3] = [
    r"delete from consent where id in
          (select c.id from consent c join roster_import i on i.id = c.roster_import_id
           where i.state = 'failed' limit $1)",
    r"delete from roster_member where (organisation_id, volunteer_id) in
          (select m.organisation_id, m.volunteer_id from roster_member m join roster_import i on i.id = m.roster_import_id
           where i.state = 'failed' limit $1)",
    r"delete from volunteer where id in
          (select v.id from volunteer v join roster_import i on i.id = v.roster_import_id
           where i.state = 'failed' limit $1)",
];

#[async_trait]
impl ExchangeStore for PostgresStore {
    async fn volunteers_by_lookups(&self, ids: &[[u8; 32]], phones: &[[u8; 32]]) -> StoreResult<Vec<KnownVolunteer>> {
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
        rows.iter()
            .map(|row| {
                Ok((
                    row.try_get("id")?,
                    hash32(row.try_get("id_number_lookup")?)?,
                    hash32(row.try_get("phone_lookup")?)?,
                ))
            })
            .collect()
    }

    async fn stage_roster(
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

    async fn publish_roster(&self, staging_key: &str, import: &NewRosterImport) -> StoreResult<RosterImportRecord> {
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

    async fn record_refused_roster_import(
        &self,
        import: &NewRosterImport,
        refused: u32,
    ) -> StoreResult<RosterImportRecord> {
        let (rows, registered, linked) = import.counts;
        let id: i64 = sqlx::query_scalar(
            r"insert into roster_import (organisation_id, imported_by, file_digest, data_rows, registered, linked,
                                        created_at, state, file_name, refused_rows)
              values ($1, $2, $3, $4, $5, $6, $7, 'refused', $8, $9) returning id",
        )
        .bind(import.organisation_id)
        .bind(import.imported_by)
        .bind(&import.file_digest)
        .bind(int(rows))
        .bind(int(registered))
        .bind(int(linked))
        .bind(import.at)
        .bind(import.file_name.as_deref())
        .bind(int(refused))
        .fetch_one(&self.pool)
        .await?;
        Ok(import_record(id, import, refused, RosterImportState::Refused))
    }

    async fn roster_imports(&self, organisation_id: i64, limit: i64) -> StoreResult<Vec<PastRosterImport>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            r"select {PAST_IMPORT_COLUMNS} from roster_import i join staff s on s.id = i.imported_by
              where i.organisation_id = $1 order by i.id desc limit $2"
        )))
        .bind(organisation_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let count = |row: &PgRow, name: &str| -> StoreResult<u32> {
            Ok(u32::try_from(Row::try_get::<i32, _>(row, name)?).unwrap_or(0))
        };
        rows.iter()
            .map(|row| {
                let state: String = row.try_get("state")?;
                Ok(PastRosterImport {
                    import: RosterImportRecord {
                        id: row.try_get("id")?,
                        organisation_id: row.try_get("organisation_id")?,
                        imported_by: row.try_get("imported_by")?,
                        file_digest: row.try_get("file_digest")?,
                        rows: count(row, "data_rows")?,
                        registered: count(row, "registered")?,
                        linked: count(row, "linked")?,
                        refused_rows: count(row, "refused_rows")?,
                        file_name: row.try_get("file_name")?,
                        state: RosterImportState::parse(&state).ok_or_else(|| corrupt("roster import state"))?,
                        created_at: row.try_get("created_at")?,
                    },
                    imported_by_name: row.try_get("imported_by_name")?,
                })
            })
            .collect()
    }

    async fn discard_roster_staging(&self, staging_key: &str, limit: i64) -> StoreResult<u64> {
        let gone = sqlx::query(
            r"delete from roster_staging where staging_key = $1 and position in
                  (select position from roster_staging where staging_key = $1 order by position limit $2)",
        )
        .bind(staging_key)
        .bind(limit)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(gone)
    }

    async fn abandon_roster_imports(&self, staging_key: Option<&str>) -> StoreResult<u64> {
        // Publishing is one transaction here, so no import is ever seen `publishing`; kept
        // for the contract.
        Ok(sqlx::query(
            r"update roster_import set state = 'failed'
              where state = 'publishing' and ($1::text is null or staging_key = $1)",
        )
        .bind(staging_key)
        .execute(&self.pool)
        .await?
        .rows_affected())
    }

    async fn discard_failed_roster_rows(&self, limit: i64) -> StoreResult<u64> {
        // Children first: a table is reached only once the one before it is empty.
        for sql in DISCARD_FAILED {
            let gone = sqlx::query(sql).bind(limit).execute(&self.pool).await?.rows_affected();
            if gone > 0 {
                return Ok(gone);
            }
        }
        Ok(0)
    }

    async fn exchange_candidates(
        &self,
        organisation_id: i64,
        kind: ExchangeKind,
        batch_id: Option<i64>,
    ) -> StoreResult<Vec<(i64, Option<i64>)>> {
        let sql = match kind {
            ExchangeKind::ServiceRecords => format!(
                r"select r.seq as subject, r.volunteer_id as volunteer from register_entry r
                  where r.organisation_id = $1 and {CONFIRMED}
                    and not exists (select 1 from exchange_export_item x where x.organisation_id = $1
                                    and x.kind = 'service_records' and x.subject_id = r.seq)
                  order by r.seq"
            ),
            ExchangeKind::Activities => format!(
                r"select p.activity_id as subject, null::bigint as volunteer
                  from register_entry r join publicity_entry p on p.id = r.publicity_entry_id
                  where r.organisation_id = $1 and {CONFIRMED}
                    and not exists (select 1 from exchange_export_item x where x.organisation_id = $1
                                    and x.kind = 'activities' and x.subject_id = p.activity_id)
                  group by p.activity_id order by min(r.seq)"
            ),
            ExchangeKind::Volunteers => format!(
                r"select c.v as subject, c.v as volunteer from (
                      select m.volunteer_id as v from roster_member m
                      where m.organisation_id = $1 and {VISIBLE_ROSTER_MEMBER} and $2::bigint is null
                      union
                      select r.volunteer_id as v from register_entry r where r.organisation_id = $1 and {CONFIRMED}
                  ) c
                  where not exists (select 1 from exchange_export_item x where x.organisation_id = $1
                                    and x.kind = 'volunteers' and x.subject_id = c.v)
                  order by c.v"
            ),
        };
        let rows =
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(organisation_id).bind(batch_id).fetch_all(&self.pool).await?;
        rows.iter().map(|row| Ok((row.try_get("subject")?, row.try_get("volunteer")?))).collect()
    }

    async fn record_exchange_export(
        &self,
        new: &NewExchangeExport,
        subjects: &[i64],
        audit: &AuditEvent,
    ) -> StoreResult<Option<ExchangeExport>> {
        let mut tx = self.pool.begin().await?;
        let id: i64 = sqlx::query_scalar(
            r"insert into exchange_export (organisation_id, kind, batch_id, organisation_code, items, held_for_consent,
                                           exported_by, exported_at)
              values ($1, $2, $3, $4, 0, $5, $6, $7) returning id",
        )
        .bind(new.organisation_id)
        .bind(new.kind.as_str())
        .bind(new.batch_id)
        .bind(new.organisation_code.as_deref())
        .bind(int(new.held_for_consent))
        .bind(new.exported_by)
        .bind(new.exported_at)
        .fetch_one(&mut *tx)
        .await?;
        let inserted = sqlx::query(
            r"insert into exchange_export_item (export_id, position, organisation_id, kind, subject_id)
              select $1, t.ord, $2, $3, t.s from unnest($4::bigint[]) with ordinality as t(s, ord)
              on conflict (organisation_id, kind, subject_id) do nothing",
        )
        .bind(id)
        .bind(new.organisation_id)
        .bind(new.kind.as_str())
        .bind(subjects)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            return Ok(None);
        }
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "update exchange_export set items = $2 where id = $1 returning {EXPORT_COLUMNS}"
        )))
        .bind(id)
        .bind(i32::try_from(inserted).unwrap_or(i32::MAX))
        .fetch_one(&mut *tx)
        .await?;
        let mut audit = audit.clone();
        audit.detail["export_id"] = serde_json::json!(id);
        audit.detail["items"] = serde_json::json!(inserted);
        insert_audit(&mut tx, &audit).await?;
        tx.commit().await?;
        Ok(Some(export_from(&row)?))
    }

    async fn exchange_exports(&self, organisation_id: i64) -> StoreResult<Vec<ExchangeExport>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "select {EXPORT_COLUMNS} from exchange_export where organisation_id = $1 order by id desc"
        )))
        .bind(organisation_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(export_from).collect()
    }

    async fn exchange_export(&self, id: i64) -> StoreResult<Option<ExchangeExport>> {
        let row =
            sqlx::query(sqlx::AssertSqlSafe(format!("select {EXPORT_COLUMNS} from exchange_export where id = $1")))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        row.as_ref().map(export_from).transpose()
    }

    async fn exchange_export_items(&self, export_id: i64, after: i64, limit: i64) -> StoreResult<Vec<(i64, i64)>> {
        let rows = sqlx::query(
            r"select position, subject_id from exchange_export_item
              where export_id = $1 and position > $2 order by position limit $3",
        )
        .bind(export_id)
        .bind(i32::try_from(after).unwrap_or(i32::MAX))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|row| Ok((i64::from(row.try_get::<i32, _>("position")?), row.try_get("subject_id")?))).collect()
    }

    async fn register_rows(&self, seqs: &[i64]) -> StoreResult<Vec<RegisterRow>> {
        let rows = sqlx::query(
            r"select seq, kind, publicity_entry_id, organisation_id, volunteer_id, minutes, content, previous_hash, hash
              from register_entry where seq = any($1) order by seq",
        )
        .bind(seqs)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(register_from_row).collect()
    }
}

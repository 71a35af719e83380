//! Exchange exports and roster imports on PostgreSQL. A roster's rows go in 500 at a time
//! through `unnest`, so a 100,000-row roster is a few hundred statements in one
//! transaction, not half a million.

use async_trait::async_trait;
use sqlx::Row;
use sqlx::postgres::PgRow;
use tokio::sync::mpsc;

use super::{PostgresStore, insert_audit, register_from_row};
use crate::audit::AuditEvent;
use crate::error::CoreError;
use crate::exchange::{ExchangeExport, ExchangeKind, NewExchangeExport};
use crate::publicity::RegisterRow;
use crate::roster::import::NewRosterImport;
use crate::roster::{RosterEntry, RosterImportRecord};
use crate::store::exchange::KnownVolunteer;
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

/// Writes one chunk of a roster.
async fn write_chunk(
    tx: &mut sqlx::PgConnection,
    import_id: i64,
    organisation_id: i64,
    at: chrono::DateTime<chrono::Utc>,
    chunk: Vec<RosterEntry>,
) -> StoreResult<()> {
    let mut members: Vec<i64> = Vec::with_capacity(chunk.len());
    let mut new = Vec::new();
    for entry in chunk {
        match entry {
            RosterEntry::Existing { volunteer_id } => members.push(volunteer_id),
            RosterEntry::New { volunteer, consents } => new.push((volunteer, consents)),
        }
    }
    // Volunteer numbers are random: a taken one is drawn again, and the row retried.
    let mut pending: Vec<usize> = (0..new.len()).collect();
    let mut ids: Vec<i64> = vec![0; new.len()];
    for _ in 0..5 {
        if pending.is_empty() {
            break;
        }
        let pick = |f: &dyn Fn(&crate::identity::StoredVolunteer) -> String| -> Vec<String> {
            pending.iter().map(|i| f(&new[*i].0)).collect()
        };
        let numbers = pick(&|v| v.volunteer_number.clone());
        let rows = sqlx::query(
            r"insert into volunteer (volunteer_number, name, gender, birth_month, id_type, id_number_sealed,
                                     id_number_lookup, phone_sealed, phone_lookup, skills, created_at)
              select n, nm, g, bm, it, ids, idl, ps, pl, sk, $11
              from unnest($1::text[], $2::text[], $3::smallint[], $4::text[], $5::text[], $6::text[],
                          $7::bytea[], $8::text[], $9::bytea[], $10::text[]) as t(n, nm, g, bm, it, ids, idl, ps, pl, sk)
              on conflict (volunteer_number) do nothing
              returning id, volunteer_number",
        )
        .bind(&numbers)
        .bind(pick(&|v| v.name.clone()))
        .bind(pending.iter().map(|i| i16::from(new[*i].0.gender.code())).collect::<Vec<_>>())
        .bind(pick(&|v| v.birth_month.clone()))
        .bind(pick(&|v| v.id_type.as_str().to_owned()))
        .bind(pick(&|v| v.id_number_sealed.clone()))
        .bind(pending.iter().map(|i| new[*i].0.id_number_lookup.to_vec()).collect::<Vec<_>>())
        .bind(pick(&|v| v.phone_sealed.clone()))
        .bind(pending.iter().map(|i| new[*i].0.phone_lookup.to_vec()).collect::<Vec<_>>())
        .bind(pick(&|v| skills_json(&v.skills)))
        .bind(at)
        .fetch_all(&mut *tx)
        .await
        .map_err(volunteer_conflict)?;
        let mut by_number = std::collections::HashMap::with_capacity(rows.len());
        for row in rows {
            by_number.insert(row.try_get::<String, _>("volunteer_number")?, row.try_get::<i64, _>("id")?);
        }
        let mut still = Vec::new();
        for i in pending {
            match by_number.get(&new[i].0.volunteer_number) {
                Some(id) => ids[i] = *id,
                None => {
                    new[i].0.volunteer_number = crate::identity::registration::new_volunteer_number()?;
                    still.push(i);
                }
            }
        }
        pending = still;
    }
    if !pending.is_empty() {
        return Err(CoreError::Internal("could not draw free volunteer numbers".into()));
    }
    let (mut cv, mut cp, mut cg, mut cn, mut ca) = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (i, (_, consents)) in new.iter().enumerate() {
        for c in consents {
            cv.push(ids[i]);
            cp.push(c.purpose.as_str().to_owned());
            cg.push(c.granted);
            cn.push(c.notice_version.clone());
            ca.push(c.recorded_at);
        }
    }
    sqlx::query(
        r"insert into consent (volunteer_id, purpose, granted, notice_version, recorded_at, roster_import_id)
          select v, p, g, n, a, $6
          from unnest($1::bigint[], $2::text[], $3::boolean[], $4::text[], $5::timestamptz[]) as t(v, p, g, n, a)",
    )
    .bind(&cv)
    .bind(&cp)
    .bind(&cg)
    .bind(&cn)
    .bind(&ca)
    .bind(import_id)
    .execute(&mut *tx)
    .await?;
    members.extend(ids);
    sqlx::query(
        r"insert into roster_member (organisation_id, volunteer_id, roster_import_id, created_at)
          select $1, v, $3, $4 from unnest($2::bigint[]) as t(v)
          on conflict (organisation_id, volunteer_id) do nothing",
    )
    .bind(organisation_id)
    .bind(&members)
    .bind(import_id)
    .bind(at)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

#[async_trait]
impl ExchangeStore for PostgresStore {
    async fn volunteers_by_lookups(&self, ids: &[[u8; 32]], phones: &[[u8; 32]]) -> StoreResult<Vec<KnownVolunteer>> {
        if ids.is_empty() && phones.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<Vec<u8>> = ids.iter().map(|h| h.to_vec()).collect();
        let phones: Vec<Vec<u8>> = phones.iter().map(|h| h.to_vec()).collect();
        let rows = sqlx::query(
            r"select id, id_number_lookup, phone_lookup from volunteer
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

    async fn import_roster(
        &self,
        import: &NewRosterImport,
        entries: &mut mpsc::Receiver<Result<Vec<RosterEntry>, CoreError>>,
    ) -> StoreResult<RosterImportRecord> {
        let mut tx = self.pool.begin().await?;
        let (rows, registered, linked) = import.counts;
        let id: i64 = sqlx::query_scalar(
            r"insert into roster_import (organisation_id, imported_by, file_digest, data_rows, registered, linked, created_at)
              values ($1, $2, $3, $4, $5, $6, $7) returning id",
        )
        .bind(import.organisation_id)
        .bind(import.imported_by)
        .bind(&import.file_digest)
        .bind(int(rows))
        .bind(int(registered))
        .bind(int(linked))
        .bind(import.at)
        .fetch_one(&mut *tx)
        .await?;
        let mut audit = import.audit.clone();
        audit.detail["roster_import_id"] = serde_json::json!(id);
        insert_audit(&mut tx, &audit).await?;
        while let Some(chunk) = entries.recv().await {
            write_chunk(&mut tx, id, import.organisation_id, import.at, chunk?).await?;
        }
        tx.commit().await?;
        Ok(RosterImportRecord {
            id,
            organisation_id: import.organisation_id,
            imported_by: import.imported_by,
            file_digest: import.file_digest.clone(),
            rows,
            registered,
            linked,
            created_at: import.at,
        })
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
                      select m.volunteer_id as v from roster_member m where m.organisation_id = $1 and $2::bigint is null
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

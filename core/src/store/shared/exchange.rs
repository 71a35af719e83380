//! Exchange exports and roster imports, on both engines. A roster import's staging,
//! publishing and clean-up differ by engine and are in `postgres/roster_import.rs` and
//! `sqlite/roster_import.rs`; what is here is the same on both.
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{DbRow, Engine, insert_audit, register_from_row};
use crate::audit::AuditEvent;
use crate::exchange::{ExchangeExport, ExchangeKind, NewExchangeExport};
use crate::publicity::RegisterRow;
use crate::roster::import::{NewRosterImport, PastRosterImport, RosterImportState};
use crate::roster::{RosterEntry, RosterImportRecord};
use crate::store::codec::{List, RowTimes, Stamp};
use crate::store::exchange::{KnownVolunteer, PAST_IMPORT_COLUMNS, VISIBLE_ROSTER_MEMBER, import_record};
use crate::store::{ExchangeStore, StoreResult, corrupt};

/// A register entry in a confirmed batch (only `$2`'s when it is not null).
const CONFIRMED: &str = r"exists (select 1 from report_item i join report_batch b on b.id = i.batch_id
                                   where i.register_seq = r.seq and b.status = 'confirmed'
                                     and (cast($2 as bigint) is null or b.id = $2))";

const EXPORT_COLUMNS: &str =
    "id, organisation_id, kind, batch_id, organisation_code, items, held_for_consent, exported_by, exported_at";

fn export_from(row: &DbRow) -> StoreResult<ExchangeExport> {
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
        exported_at: row.time("exported_at")?,
    })
}

fn hash32(bytes: Vec<u8>) -> StoreResult<[u8; 32]> {
    bytes.try_into().map_err(|_| corrupt("lookup hash"))
}

/// A volunteer found by ID or phone number, from a row of `id, id_number_lookup,
/// phone_lookup` (each engine looks them up its own way).
pub(in crate::store) fn known_volunteer_from(row: &DbRow) -> StoreResult<KnownVolunteer> {
    Ok((row.try_get("id")?, hash32(row.try_get("id_number_lookup")?)?, hash32(row.try_get("phone_lookup")?)?))
}

/// The rows of failed imports, deleted children first, up to `$1` per statement.
pub(in crate::store) const DISCARD_FAILED: [&str; 3] = [
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

/// A count as PostgreSQL's `integer` holds it.
pub(in crate::store) fn int(v: u32) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

#[async_trait]
impl ExchangeStore for Engine {
    async fn volunteers_by_lookups(&self, ids: &[[u8; 32]], phones: &[[u8; 32]]) -> StoreResult<Vec<KnownVolunteer>> {
        self.volunteers_by_lookups_here(ids, phones).await
    }

    async fn stage_roster(
        &self,
        staging_key: &str,
        first: u32,
        entries: Vec<RosterEntry>,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.stage_roster_here(staging_key, first, entries, at).await
    }

    async fn publish_roster(&self, staging_key: &str, import: &NewRosterImport) -> StoreResult<RosterImportRecord> {
        self.publish_roster_here(staging_key, import).await
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
        .bind(Stamp(import.at))
        .bind(import.file_name.as_deref())
        .bind(int(refused))
        .fetch_one(self.writer())
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
        .fetch_all(self.reader())
        .await?;
        let count = |row: &DbRow, name: &str| -> StoreResult<u32> {
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
                        created_at: row.time("created_at")?,
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
        .execute(self.writer())
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
        .execute(self.writer())
        .await?
        .rows_affected())
    }

    async fn discard_failed_roster_rows(&self, limit: i64) -> StoreResult<u64> {
        self.discard_failed_roster_rows_here(limit).await
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
                r"select p.activity_id as subject, cast(null as bigint) as volunteer
                  from register_entry r join publicity_entry p on p.id = r.publicity_entry_id
                  where r.organisation_id = $1 and {CONFIRMED}
                    and not exists (select 1 from exchange_export_item x where x.organisation_id = $1
                                    and x.kind = 'activities' and x.subject_id = p.activity_id)
                  group by p.activity_id order by min(r.seq)"
            ),
            ExchangeKind::Volunteers => format!(
                r"select c.v as subject, c.v as volunteer from (
                      select m.volunteer_id as v from roster_member m
                      where m.organisation_id = $1 and {VISIBLE_ROSTER_MEMBER} and cast($2 as bigint) is null
                      union
                      select r.volunteer_id as v from register_entry r where r.organisation_id = $1 and {CONFIRMED}
                  ) c
                  where not exists (select 1 from exchange_export_item x where x.organisation_id = $1
                                    and x.kind = 'volunteers' and x.subject_id = c.v)
                  order by c.v"
            ),
        };
        let rows =
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(organisation_id).bind(batch_id).fetch_all(self.reader()).await?;
        rows.iter().map(|row| Ok((row.try_get("subject")?, row.try_get("volunteer")?))).collect()
    }

    async fn record_exchange_export(
        &self,
        new: &NewExchangeExport,
        subjects: &[i64],
        audit: &AuditEvent,
    ) -> StoreResult<Option<ExchangeExport>> {
        let mut tx = self.writer().begin().await?;
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
        .bind(Stamp(new.exported_at))
        .fetch_one(&mut *tx)
        .await?;
        // `where true` tells SQLite's parser the upsert clause is not a join's.
        let inserted = sqlx::query(concat!(
            "insert into exchange_export_item (export_id, position, organisation_id, kind, subject_id)
              select $1, t.position, $2, $3, t.value from ",
            numbered!("$4"),
            " where true on conflict (organisation_id, kind, subject_id) do nothing"
        ))
        .bind(id)
        .bind(new.organisation_id)
        .bind(new.kind.as_str())
        .bind(List(subjects))
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
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(export_from).collect()
    }

    async fn exchange_export(&self, id: i64) -> StoreResult<Option<ExchangeExport>> {
        let row =
            sqlx::query(sqlx::AssertSqlSafe(format!("select {EXPORT_COLUMNS} from exchange_export where id = $1")))
                .bind(id)
                .fetch_optional(self.reader())
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
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(|row| Ok((i64::from(row.try_get::<i32, _>("position")?), row.try_get("subject_id")?))).collect()
    }

    async fn register_rows(&self, seqs: &[i64]) -> StoreResult<Vec<RegisterRow>> {
        let rows = sqlx::query(concat!(
            r"select seq, kind, publicity_entry_id, organisation_id, volunteer_id, minutes, content, previous_hash, hash
              from register_entry where seq",
            member_of!("$1"),
            " order by seq"
        ))
        .bind(List(seqs))
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(register_from_row).collect()
    }
}

//! Exchange exports and roster imports on SQLite (times are Unix milliseconds). Every
//! write goes through the single writer, so a roster is staged a chunk at a time, each
//! chunk a short transaction, and published in slices of [`PUBLISH_SLICE`] rows, each a
//! short transaction of a few set-based statements, invisible until a last one flips the
//! import to `published`: scans wait for a chunk or a slice, never for the whole import.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::{SqliteStore, from_ms, insert_audit, ms, register_from_row};
use crate::audit::AuditEvent;
use crate::error::CoreError;
use crate::exchange::{ExchangeExport, ExchangeKind, NewExchangeExport};
use crate::publicity::RegisterRow;
use crate::roster::import::{NewRosterImport, PastRosterImport, RosterImportState};
use crate::roster::{RosterEntry, RosterImportRecord};
use crate::store::exchange::{
    KnownVolunteer, PAST_IMPORT_COLUMNS, PUBLISH_SLICE, VISIBLE_ROSTER_MEMBER, import_record, staged_consents,
};
use crate::store::volunteers::{VOLUNTEER_DATA, insert_volunteers};
use crate::store::{ExchangeStore, StoreResult, corrupt, skills_json, volunteer_conflict};

/// A register entry in a confirmed batch (only `$2`'s when it is not null).
const CONFIRMED: &str = r"exists (select 1 from report_item i join report_batch b on b.id = i.batch_id
                                   where i.register_seq = r.seq and b.status = 'confirmed'
                                     and ($2 is null or b.id = $2))";

const EXPORT_COLUMNS: &str =
    "id, organisation_id, kind, batch_id, organisation_code, items, held_for_consent, exported_by, exported_at";

fn export_from(row: &SqliteRow) -> StoreResult<ExchangeExport> {
    let kind: String = row.try_get("kind")?;
    Ok(ExchangeExport {
        id: row.try_get("id")?,
        organisation_id: row.try_get("organisation_id")?,
        kind: ExchangeKind::parse(&kind).ok_or_else(|| corrupt("exchange kind"))?,
        batch_id: row.try_get("batch_id")?,
        organisation_code: row.try_get("organisation_code")?,
        items: u32::try_from(row.try_get::<i64, _>("items")?).unwrap_or(0),
        held_for_consent: u32::try_from(row.try_get::<i64, _>("held_for_consent")?).unwrap_or(0),
        exported_by: row.try_get("exported_by")?,
        exported_at: from_ms(row.try_get("exported_at")?)?,
    })
}

fn hash32(bytes: Vec<u8>) -> StoreResult<[u8; 32]> {
    bytes.try_into().map_err(|_| corrupt("lookup hash"))
}

fn placeholders(from: usize, count: usize) -> String {
    (from..from + count).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ")
}

/// Stages one row; a new volunteer's number already taken (registered or staged) is drawn
/// again.
async fn stage_entry(
    tx: &mut sqlx::SqliteConnection,
    staging_key: &str,
    position: i64,
    entry: RosterEntry,
    at: i64,
) -> StoreResult<()> {
    let (mut volunteer, consents) = match entry {
        RosterEntry::Existing { volunteer_id } => {
            sqlx::query(
                r"insert into roster_staging (staging_key, position, volunteer_id, created_at) values ($1, $2, $3, $4)",
            )
            .bind(staging_key)
            .bind(position)
            .bind(volunteer_id)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            return Ok(());
        }
        RosterEntry::New { volunteer, consents } => (volunteer, consents),
    };
    let consents = staged_consents(&consents);
    // Volunteer numbers are random: one taken is drawn again.
    for _ in 0..5 {
        let v = &volunteer;
        let staged = sqlx::query(sqlx::AssertSqlSafe(format!(
            r"insert into roster_staging (staging_key, position, {VOLUNTEER_DATA}, consents, created_at)
              select $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14
              where not exists (select 1 from volunteer where volunteer_number = $3)
              on conflict (volunteer_number) do nothing"
        )))
        .bind(staging_key)
        .bind(position)
        .bind(&v.volunteer_number)
        .bind(&v.name)
        .bind(i64::from(v.gender.code()))
        .bind(&v.birth_month)
        .bind(v.id_type.as_str())
        .bind(&v.id_number_sealed)
        .bind(v.id_number_lookup.as_slice())
        .bind(&v.phone_sealed)
        .bind(v.phone_lookup.as_slice())
        .bind(skills_json(&v.skills))
        .bind(&consents)
        .bind(at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if staged == 1 {
            return Ok(());
        }
        volunteer.volunteer_number = crate::identity::registration::new_volunteer_number()?;
    }
    Err(CoreError::Internal("could not draw a free volunteer number".into()))
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

/// Publishes the staged rows at positions `from` to `from + PUBLISH_SLICE - 1` under import
/// `id`: its new volunteers, their consents, and every row's roster link, all naming the
/// import, so they stay invisible until it is `published`.
async fn publish_slice(
    tx: &mut sqlx::SqliteConnection,
    staging_key: &str,
    id: i64,
    import: &NewRosterImport,
    from: i64,
) -> StoreResult<()> {
    let at = ms(import.at);
    sqlx::query(insert_volunteers(&format!(
        r"select {VOLUNTEER_DATA}, null, null, $3, $2
          from roster_staging where staging_key = $1 and position >= $4 and position < $4 + $5
                                and volunteer_id is null
          order by position"
    )))
    .bind(staging_key)
    .bind(at)
    .bind(id)
    .bind(from)
    .bind(PUBLISH_SLICE)
    .execute(&mut *tx)
    .await
    .map_err(volunteer_conflict)?;
    sqlx::query(
        r"insert into consent (volunteer_id, purpose, granted, notice_version, recorded_at, roster_import_id)
          select v.id, json_extract(c.value, '$.purpose'), json_extract(c.value, '$.granted'),
                 json_extract(c.value, '$.notice_version'), $2, $3
          from roster_staging s join volunteer v on v.volunteer_number = s.volunteer_number,
               json_each(s.consents) c
          where s.staging_key = $1 and s.position >= $4 and s.position < $4 + $5 and s.volunteer_id is null
          order by s.position, c.key",
    )
    .bind(staging_key)
    .bind(at)
    .bind(id)
    .bind(from)
    .bind(PUBLISH_SLICE)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        r"insert into roster_member (organisation_id, volunteer_id, roster_import_id, created_at)
          select $2, coalesce(s.volunteer_id, v.id), $3, $4
          from roster_staging s left join volunteer v on s.volunteer_id is null and v.volunteer_number = s.volunteer_number
          where s.staging_key = $1 and s.position >= $5 and s.position < $5 + $6
          on conflict (organisation_id, volunteer_id) do nothing",
    )
    .bind(staging_key)
    .bind(import.organisation_id)
    .bind(id)
    .bind(at)
    .bind(from)
    .bind(PUBLISH_SLICE)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

#[async_trait]
impl ExchangeStore for SqliteStore {
    async fn volunteers_by_lookups(&self, ids: &[[u8; 32]], phones: &[[u8; 32]]) -> StoreResult<Vec<KnownVolunteer>> {
        if ids.is_empty() && phones.is_empty() {
            return Ok(Vec::new());
        }
        // Bound one by one so both unique indexes are used (at most 1,000 parameters).
        let sql = format!(
            "select id, id_number_lookup, phone_lookup from visible_volunteer where id_number_lookup in ({}) or phone_lookup in ({})",
            if ids.is_empty() { "null".to_owned() } else { placeholders(1, ids.len()) },
            if phones.is_empty() { "null".to_owned() } else { placeholders(ids.len() + 1, phones.len()) },
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for hash in ids.iter().chain(phones) {
            query = query.bind(hash.as_slice());
        }
        let rows = query.fetch_all(&self.read).await?;
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
        let mut tx = self.write.begin().await?;
        for (position, entry) in (i64::from(first)..).zip(entries) {
            stage_entry(&mut tx, staging_key, position, entry, ms(at)).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn publish_roster(&self, staging_key: &str, import: &NewRosterImport) -> StoreResult<RosterImportRecord> {
        let _only_publish = self.roster_publish.lock().await;
        // What an import that failed before this one left goes first: its invisible rows
        // still hold roster links (which this one's would otherwise defer to) and unique
        // ID and phone numbers.
        while self.discard_failed_roster_rows(PUBLISH_SLICE).await? > 0 {}
        let (rows, registered, linked) = import.counts;
        let at = ms(import.at);
        // Recorded first, unpublished: from here on its rows name it, and nobody sees them.
        let id: i64 = sqlx::query_scalar(
            r"insert into roster_import (organisation_id, imported_by, file_digest, data_rows, registered, linked,
                                        created_at, state, staging_key, file_name)
              values ($1, $2, $3, $4, $5, $6, $7, 'publishing', $8, $9) returning id",
        )
        .bind(import.organisation_id)
        .bind(import.imported_by)
        .bind(&import.file_digest)
        .bind(i64::from(rows))
        .bind(i64::from(registered))
        .bind(i64::from(linked))
        .bind(at)
        .bind(staging_key)
        .bind(import.file_name.as_deref())
        .fetch_one(&self.write)
        .await?;
        let published: StoreResult<()> = async {
            for from in (0..i64::from(rows)).step_by(usize::try_from(PUBLISH_SLICE).unwrap_or(1)) {
                let mut tx = self.write.begin().await?;
                publish_slice(&mut tx, staging_key, id, import, from).await?;
                tx.commit().await?;
            }
            // The flip: one short transaction makes the whole import visible at once.
            let mut tx = self.write.begin().await?;
            let flipped =
                sqlx::query(r"update roster_import set state = 'published' where id = $1 and state = 'publishing'")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
            if flipped != 1 {
                return Err(CoreError::Internal("the roster import was abandoned while it was published".into()));
            }
            let mut audit = import.audit.clone();
            audit.detail["roster_import_id"] = serde_json::json!(id);
            insert_audit(&mut tx, &audit).await?;
            tx.commit().await?;
            Ok(())
        }
        .await;
        if let Err(e) = published {
            // Its rows stay invisible; discard_failed_roster_rows deletes them.
            if let Err(marking) =
                sqlx::query(r"update roster_import set state = 'failed' where id = $1 and state = 'publishing'")
                    .bind(id)
                    .execute(&self.write)
                    .await
            {
                tracing::warn!(error = %marking, "a failed roster import could not be marked failed");
            }
            return Err(e);
        }
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
        .bind(i64::from(rows))
        .bind(i64::from(registered))
        .bind(i64::from(linked))
        .bind(ms(import.at))
        .bind(import.file_name.as_deref())
        .bind(i64::from(refused))
        .fetch_one(&self.write)
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
        .fetch_all(&self.read)
        .await?;
        let count = |row: &SqliteRow, name: &str| -> StoreResult<u32> {
            Ok(u32::try_from(Row::try_get::<i64, _>(row, name)?).unwrap_or(0))
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
                        created_at: from_ms(row.try_get("created_at")?)?,
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
        .execute(&self.write)
        .await?
        .rows_affected();
        Ok(gone)
    }

    async fn abandon_roster_imports(&self, staging_key: Option<&str>) -> StoreResult<u64> {
        Ok(sqlx::query(
            r"update roster_import set state = 'failed'
              where state = 'publishing' and ($1 is null or staging_key = $1)",
        )
        .bind(staging_key)
        .execute(&self.write)
        .await?
        .rows_affected())
    }

    async fn discard_failed_roster_rows(&self, limit: i64) -> StoreResult<u64> {
        // Children first: a table is reached only once the one before it is empty.
        for sql in &DISCARD_FAILED[..2] {
            let gone = sqlx::query(*sql).bind(limit).execute(&self.write).await?.rows_affected();
            if gone > 0 {
                return Ok(gone);
            }
        }
        // With foreign keys on, SQLite looks for children of every deleted volunteer in each
        // of the ~25 tables that refer to `volunteer`, most without an index on the column
        // (a scan of `scan` per row). A failed import's volunteers have no children left:
        // nobody could see them to refer to them, and their consents and roster links went
        // above. So the check is turned off for this one statement on the writer.
        let mut conn = self.write.acquire().await?;
        sqlx::query("pragma foreign_keys = off").execute(&mut *conn).await?;
        let gone = sqlx::query(DISCARD_FAILED[2]).bind(limit).execute(&mut *conn).await;
        if sqlx::query("pragma foreign_keys = on").execute(&mut *conn).await.is_err() {
            // Never hand back a writer without its checks.
            drop(conn.detach());
        }
        Ok(gone?.rows_affected())
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
                r"select p.activity_id as subject, null as volunteer
                  from register_entry r join publicity_entry p on p.id = r.publicity_entry_id
                  where r.organisation_id = $1 and {CONFIRMED}
                    and not exists (select 1 from exchange_export_item x where x.organisation_id = $1
                                    and x.kind = 'activities' and x.subject_id = p.activity_id)
                  group by p.activity_id order by min(r.seq)"
            ),
            ExchangeKind::Volunteers => format!(
                r"select c.v as subject, c.v as volunteer from (
                      select m.volunteer_id as v from roster_member m
                      where m.organisation_id = $1 and $2 is null and {VISIBLE_ROSTER_MEMBER}
                      union
                      select r.volunteer_id as v from register_entry r where r.organisation_id = $1 and {CONFIRMED}
                  ) c
                  where not exists (select 1 from exchange_export_item x where x.organisation_id = $1
                                    and x.kind = 'volunteers' and x.subject_id = c.v)
                  order by c.v"
            ),
        };
        let rows =
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(organisation_id).bind(batch_id).fetch_all(&self.read).await?;
        rows.iter().map(|row| Ok((row.try_get("subject")?, row.try_get("volunteer")?))).collect()
    }

    async fn record_exchange_export(
        &self,
        new: &NewExchangeExport,
        subjects: &[i64],
        audit: &AuditEvent,
    ) -> StoreResult<Option<ExchangeExport>> {
        let mut tx = self.write.begin().await?;
        let id: i64 = sqlx::query_scalar(
            r"insert into exchange_export (organisation_id, kind, batch_id, organisation_code, items, held_for_consent,
                                           exported_by, exported_at)
              values ($1, $2, $3, $4, 0, $5, $6, $7) returning id",
        )
        .bind(new.organisation_id)
        .bind(new.kind.as_str())
        .bind(new.batch_id)
        .bind(new.organisation_code.as_deref())
        .bind(i64::from(new.held_for_consent))
        .bind(new.exported_by)
        .bind(ms(new.exported_at))
        .fetch_one(&mut *tx)
        .await?;
        // `where true` tells SQLite's parser the upsert clause is not a join's.
        let inserted = sqlx::query(
            r"insert into exchange_export_item (export_id, position, organisation_id, kind, subject_id)
              select $1, key + 1, $2, $3, value from json_each($4) where true
              on conflict (organisation_id, kind, subject_id) do nothing",
        )
        .bind(id)
        .bind(new.organisation_id)
        .bind(new.kind.as_str())
        .bind(serde_json::to_string(subjects).unwrap_or_else(|_| "[]".into()))
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
        .bind(i64::try_from(inserted).unwrap_or(i64::MAX))
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
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(export_from).collect()
    }

    async fn exchange_export(&self, id: i64) -> StoreResult<Option<ExchangeExport>> {
        let row =
            sqlx::query(sqlx::AssertSqlSafe(format!("select {EXPORT_COLUMNS} from exchange_export where id = $1")))
                .bind(id)
                .fetch_optional(&self.read)
                .await?;
        row.as_ref().map(export_from).transpose()
    }

    async fn exchange_export_items(&self, export_id: i64, after: i64, limit: i64) -> StoreResult<Vec<(i64, i64)>> {
        let rows = sqlx::query(
            r"select position, subject_id from exchange_export_item
              where export_id = $1 and position > $2 order by position limit $3",
        )
        .bind(export_id)
        .bind(after)
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(|row| Ok((row.try_get("position")?, row.try_get("subject_id")?))).collect()
    }

    async fn register_rows(&self, seqs: &[i64]) -> StoreResult<Vec<RegisterRow>> {
        let rows = sqlx::query(
            r"select seq, kind, publicity_entry_id, organisation_id, volunteer_id, minutes, content, previous_hash, hash
              from register_entry where seq in (select value from json_each($1)) order by seq",
        )
        .bind(serde_json::to_string(seqs).unwrap_or_else(|_| "[]".into()))
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(register_from_row).collect()
    }
}

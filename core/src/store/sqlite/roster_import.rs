//! Exchange exports and roster imports on SQLite (times are Unix milliseconds). Every
//! write goes through the single writer, so a roster is staged a chunk at a time, each
//! chunk a short transaction, and published in slices of [`PUBLISH_SLICE`] rows, each a
//! short transaction of a few set-based statements, invisible until a last one flips the
//! import to `published`: scans wait for a chunk or a slice, never for the whole import.
//!
//! Only the roster import is here: its staging, publishing and clean-up are written for
//! this engine alone. The rest of the exchange store is shared (`shared/exchange.rs`).

use chrono::{DateTime, Utc};

use super::SqliteStore;
use super::shared::exchange::{DISCARD_FAILED, known_volunteer_from};
use super::shared::rows::insert_audit;
use crate::error::CoreError;
use crate::roster::import::{NewRosterImport, RosterImportState};
use crate::roster::{RosterEntry, RosterImportRecord};
use crate::store::codec::Stamp;
use crate::store::exchange::{KnownVolunteer, PUBLISH_SLICE, import_record, staged_consents};
use crate::store::volunteers::{VOLUNTEER_DATA, bind_volunteer_data, insert_volunteers};
use crate::store::{ExchangeStore, StoreResult, volunteer_conflict};

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
    at: Stamp,
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
        .bind(position);
        let staged = bind_volunteer_data!(staged, v).bind(&consents).bind(at).execute(&mut *tx).await?.rows_affected();
        if staged == 1 {
            return Ok(());
        }
        volunteer.volunteer_number = crate::identity::registration::new_volunteer_number()?;
    }
    Err(CoreError::Internal("could not draw a free volunteer number".into()))
}

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
    let at = Stamp(import.at);
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

impl SqliteStore {
    pub(super) async fn volunteers_by_lookups_here(
        &self,
        ids: &[[u8; 32]],
        phones: &[[u8; 32]],
    ) -> StoreResult<Vec<KnownVolunteer>> {
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
        rows.iter().map(known_volunteer_from).collect()
    }

    pub(super) async fn stage_roster_here(
        &self,
        staging_key: &str,
        first: u32,
        entries: Vec<RosterEntry>,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        for (position, entry) in (i64::from(first)..).zip(entries) {
            stage_entry(&mut tx, staging_key, position, entry, Stamp(at)).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn publish_roster_here(
        &self,
        staging_key: &str,
        import: &NewRosterImport,
    ) -> StoreResult<RosterImportRecord> {
        let _only_publish = self.roster_publish.lock().await;
        // What an import that failed before this one left goes first: its invisible rows
        // still hold roster links (which this one's would otherwise defer to) and unique
        // ID and phone numbers.
        while self.discard_failed_roster_rows(PUBLISH_SLICE).await? > 0 {}
        let (rows, registered, linked) = import.counts;
        let at = Stamp(import.at);
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

    pub(super) async fn discard_failed_roster_rows_here(&self, limit: i64) -> StoreResult<u64> {
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
}

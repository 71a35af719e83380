//! The scan statement written for PostgreSQL alone: the batch insert of the group commit
//! (the hot path). The rest of the scan store is shared (`shared/scans.rs`), its read of
//! accepted scans after a cursor through the engine's `accepted_after!`.

use sqlx::Row;
use sqlx::postgres::PgRow;
use uuid::Uuid;

use super::PostgresStore;
use crate::attendance::Direction;
use crate::store::{NewScan, StoreResult};

/// The batch insert with what it leaves out: the first statement a row whose nonce was used
/// before (any other conflict fails it), the second a row that meets any conflict.
macro_rules! insert_scans {
    ($on_conflict:literal) => {
        concat!(
            r"insert into scan (id, volunteer_id, client_nonce, activity_id, gate, direction, outcome, server_time,
                                client_time, code_window, key_id, distance_m, accuracy_m, device_id, answer_status, answer,
                                geofence, client_network, seq, uploaded_at)
              select * from unnest($1::uuid[], $2::bigint[], $3::uuid[], $4::bigint[], $5::smallint[], $6::text[],
                                   $7::text[], $8::timestamptz[], $9::timestamptz[], $10::bigint[], $11::smallint[],
                                   $12::float8[], $13::float8[], $14::text[], $15::smallint[], $16::text[], $17::text[],
                                   $18::text[], $19::integer[], $20::timestamptz[])
              ",
            $on_conflict,
            " returning id"
        )
    };
}

/// See [`insert_scans!`].
const INSERT_SCANS: (&str, &str) =
    (insert_scans!("on conflict (volunteer_id, client_nonce) do nothing"), insert_scans!("on conflict do nothing"));

impl PostgresStore {
    pub(super) async fn insert_scan_batch(&self, scans: &[NewScan]) -> StoreResult<Vec<bool>> {
        if scans.is_empty() {
            return Ok(Vec::new());
        }
        // One statement for the whole batch: arrays in, one row per element out, `returning`
        // telling which rows were new. A nonce used before (a phone's retry, even twice in
        // one batch) is a conflict the first statement expects, and leaves its row out. A
        // volunteer's scan number already taken (by another instance, which decided on the
        // same state) is rarer, and fails that statement as a whole; the batch is then
        // written by the second, which leaves out a row on any conflict. Not by the second
        // alone: before each row goes in, PostgreSQL looks in every unique index a
        // statement's conflicts may come from (a descent of each), about a fifth of a row's
        // cost with three of them (BENCHMARKS.md "One index fewer, one check fewer"). The
        // writer sorts the batch by volunteer, so two instances' batches take their index
        // locks in one order and cannot deadlock.
        let rows = match self.insert_scan_rows(INSERT_SCANS.0, scans).await {
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                self.insert_scan_rows(INSERT_SCANS.1, scans).await?
            }
            rows => rows?,
        };
        let written: std::collections::HashSet<Uuid> =
            rows.iter().map(|r| r.try_get::<Uuid, _>("id")).collect::<Result<_, _>>()?;
        Ok(scans.iter().map(|s| written.contains(&s.id)).collect())
    }

    async fn insert_scan_rows(&self, statement: &'static str, scans: &[NewScan]) -> Result<Vec<PgRow>, sqlx::Error> {
        sqlx::query(statement)
            .bind(scans.iter().map(|s| s.id).collect::<Vec<_>>())
            .bind(scans.iter().map(|s| s.volunteer_id).collect::<Vec<_>>())
            .bind(scans.iter().map(|s| s.client_nonce).collect::<Vec<_>>())
            .bind(scans.iter().map(|s| s.activity_id).collect::<Vec<_>>())
            .bind(scans.iter().map(|s| s.gate.map(i16::from)).collect::<Vec<_>>())
            .bind(scans.iter().map(|s| s.direction.map(Direction::as_str)).collect::<Vec<_>>())
            .bind(scans.iter().map(|s| s.outcome.as_str()).collect::<Vec<_>>())
            .bind(scans.iter().map(|s| s.server_time).collect::<Vec<_>>())
            .bind(scans.iter().map(|s| s.client_time).collect::<Vec<_>>())
            .bind(scans.iter().map(|s| s.code_window.map(i64::from)).collect::<Vec<_>>())
            .bind(scans.iter().map(|s| s.key_id.map(i16::from)).collect::<Vec<_>>())
            .bind(scans.iter().map(|s| s.distance_m).collect::<Vec<_>>())
            .bind(scans.iter().map(|s| s.accuracy_m).collect::<Vec<_>>())
            .bind(scans.iter().map(|s| s.device_id.as_deref()).collect::<Vec<_>>())
            .bind(scans.iter().map(|s| s.answer.status as i16).collect::<Vec<_>>())
            .bind(scans.iter().map(|s| s.answer.body.as_str()).collect::<Vec<_>>())
            .bind(scans.iter().map(|s| s.geofence.map(crate::geo::Geofence::as_str)).collect::<Vec<_>>())
            .bind(scans.iter().map(|s| s.network.as_deref()).collect::<Vec<_>>())
            .bind(scans.iter().map(|s| s.seq.map(|n| i32::try_from(n).unwrap_or(i32::MAX))).collect::<Vec<_>>())
            .bind(scans.iter().map(|s| s.uploaded_at).collect::<Vec<_>>())
            .fetch_all(&self.pool)
            .await
    }
}

//! The two scan statements written for SQLite alone: the batch insert of the group commit
//! (the hot path) and the read of accepted scans after a cursor. The rest of the scan
//! store is shared (`shared/scans.rs`).

use sqlx::{QueryBuilder, Row, Sqlite};
use uuid::Uuid;

use super::SqliteStore;
use super::shared::scans::accepted_scan_from_row;
use crate::attendance::Direction;
use crate::store::codec::Stamp;
use crate::store::{NewScan, NumberedScan, ScanCursor, StoreResult};

impl SqliteStore {
    pub(super) async fn insert_scan_batch(&self, scans: &[NewScan]) -> StoreResult<Vec<bool>> {
        if scans.is_empty() {
            return Ok(Vec::new());
        }
        // 21 columns per row; SQLite allows 32 766 bound values, so chunk well below that.
        let mut written = std::collections::HashSet::with_capacity(scans.len());
        let mut tx = self.write.begin().await?;
        for chunk in scans.chunks(1024) {
            let mut query: QueryBuilder<Sqlite> = QueryBuilder::new(
                "insert into scan (id, volunteer_id, client_nonce, activity_id, gate, direction, outcome, server_time, \
                 client_time, code_window, key_id, distance_m, accuracy_m, device_id, answer_status, answer, created_at, \
                 geofence, client_network, seq, uploaded_at) ",
            );
            query.push_values(chunk, |mut row, s| {
                row.push_bind(s.id)
                    .push_bind(s.volunteer_id)
                    .push_bind(s.client_nonce)
                    .push_bind(s.activity_id)
                    .push_bind(s.gate.map(i64::from))
                    .push_bind(s.direction.map(Direction::as_str))
                    .push_bind(s.outcome.as_str())
                    .push_bind(Stamp(s.server_time))
                    .push_bind(s.client_time.map(Stamp))
                    .push_bind(s.code_window.map(i64::from))
                    .push_bind(s.key_id.map(i64::from))
                    .push_bind(s.distance_m)
                    .push_bind(s.accuracy_m)
                    .push_bind(s.device_id.as_deref())
                    .push_bind(i64::from(s.answer.status))
                    .push_bind(s.answer.body.as_str())
                    .push_bind(Stamp(s.server_time))
                    .push_bind(s.geofence.map(crate::geo::Geofence::as_str))
                    .push_bind(s.network.as_deref())
                    .push_bind(s.seq.map(i64::from))
                    .push_bind(s.uploaded_at.map(Stamp));
            });
            // A repeated nonce, or a scan number already taken, writes nothing.
            query.push(" on conflict do nothing returning id");
            for row in query.build().fetch_all(&mut *tx).await? {
                written.insert(row.try_get::<Uuid, _>("id")?);
            }
        }
        tx.commit().await?;
        Ok(scans.iter().map(|s| written.contains(&s.id)).collect())
    }

    pub(super) async fn accepted_scans_after_cursor(
        &self,
        activity_id: i64,
        after: Option<ScanCursor>,
    ) -> StoreResult<(Vec<NumberedScan>, Option<ScanCursor>)> {
        // One writer, so rows are numbered in the order they were committed: a reader sees
        // a prefix, and the next read starts after the last row of this one.
        let rows = sqlx::query(
            r"select s.rowid as row_number, s.id, s.volunteer_id, v.name, s.server_time, s.direction, s.gate, s.seq
              from scan s join volunteer v on v.id = s.volunteer_id
              where s.activity_id = $1 and s.direction is not null and ($2 is null or s.rowid > $2)",
        )
        .bind(activity_id)
        .bind(after.map(|c| c.0))
        .fetch_all(&self.read)
        .await?;
        let mut next = after;
        let scans = rows
            .iter()
            .map(|row| {
                let row_number: i64 = row.try_get("row_number")?;
                next = Some(ScanCursor(next.map_or(row_number, |n| n.0.max(row_number))));
                Ok(NumberedScan {
                    scan: accepted_scan_from_row(row)?,
                    seq: u32::try_from(row.try_get::<i64, _>("seq")?).unwrap_or(0),
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        Ok((scans, next))
    }
}

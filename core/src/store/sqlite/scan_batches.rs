//! The scan statement written for SQLite alone: the batch insert of the group commit
//! (the hot path). The rest of the scan store is shared (`shared/scans.rs`), its read of
//! accepted scans after a cursor through the engine's `accepted_after!`.

use sqlx::{QueryBuilder, Row, Sqlite};
use uuid::Uuid;

use super::SqliteStore;
use crate::attendance::Direction;
use crate::store::codec::Stamp;
use crate::store::{NewScan, StoreResult};

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
}

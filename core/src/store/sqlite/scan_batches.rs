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
        let mut written = std::collections::HashSet::with_capacity(scans.len());
        let mut tx = self.write.begin().await?;
        let mut rest = scans;
        while !rest.is_empty() {
            let rows = statement_rows(rest.len());
            let (chunk, after) = rest.split_at(rows);
            rest = after;
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

/// The statement shapes a batch is written in, largest first. Each distinct row count is
/// its own SQL text, prepared once and kept in the connection's statement cache; a batch
/// cut to whatever size the group commit gathered made up to a hundred shapes, each
/// program up to 1 024 rows long, and the cache held tens of megabytes of them under load
/// (BENCHMARKS.md, "Capacity"). Eight shapes, the powers of two, keep it to a few hundred
/// kilobytes, and a batch of any size is at most `n / 128 + 7` statements in its one
/// transaction.
const STATEMENT_ROWS: [usize; 8] = [128, 64, 32, 16, 8, 4, 2, 1];

/// How many rows the next statement of a batch with `remaining` rows left writes.
fn statement_rows(remaining: usize) -> usize {
    STATEMENT_ROWS.into_iter().find(|rows| *rows <= remaining).unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_is_cut_into_the_few_kept_shapes() {
        let cut = |mut n: usize| {
            let mut shapes = Vec::new();
            while n > 0 {
                let rows = statement_rows(n);
                shapes.push(rows);
                n -= rows;
            }
            shapes
        };
        assert_eq!(cut(1), vec![1]);
        assert_eq!(cut(300), vec![128, 128, 32, 8, 4]);
        assert_eq!(cut(41), vec![32, 8, 1]);
        for n in 1..2_000 {
            let shapes = cut(n);
            assert_eq!(shapes.iter().sum::<usize>(), n);
            assert!(shapes.iter().all(|rows| STATEMENT_ROWS.contains(rows)));
            assert!(shapes.len() <= n / 128 + 7, "{n} rows took {} statements", shapes.len());
        }
    }
}

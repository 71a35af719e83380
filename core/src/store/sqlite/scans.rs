//! Scans: the hot write path, replayed answers, and the reads of accepted scans, on SQLite.
//!
//! Times are Unix milliseconds; writes go through the single writer.

use async_trait::async_trait;
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite};
use uuid::Uuid;

use super::{SqliteStore, from_ms, ms};
use crate::attendance::Direction;
use crate::geo::LatLng;
use crate::review::rules::ScanEvidence;
use crate::review::{ScanElsewhere, StoredScanEvidence};
use crate::store::{
    AcceptedScan, NewScan, NumberedScan, ScanCursor, ScanStore, StoreResult, StoredAnswer, corrupt, parse_direction,
};

/// An accepted scan from a row of `id, volunteer_id, name, server_time, direction, gate`.
fn accepted_scan_from_row(row: &SqliteRow) -> StoreResult<AcceptedScan> {
    Ok(AcceptedScan {
        id: row.try_get("id")?,
        volunteer_id: row.try_get("volunteer_id")?,
        volunteer_name: row.try_get("name")?,
        at: from_ms(row.try_get("server_time")?)?,
        direction: parse_direction(row.try_get("direction")?)?,
        gate: row.try_get::<Option<i64>, _>("gate")?.and_then(|g| u8::try_from(g).ok()),
    })
}

/// The columns [`evidence_from_row`] reads (`s` the scan, `v` its volunteer).
macro_rules! evidence_columns {
    () => {
        "s.id, s.volunteer_id, v.name, s.server_time, s.direction, s.outcome, s.client_time, s.code_window, \
         s.distance_m, s.accuracy_m, s.geofence, s.device_id, s.client_network, s.uploaded_at"
    };
}

/// A scan as review reads it, from a row of the columns `evidence_columns!` names.
fn evidence_from_row(row: &SqliteRow) -> StoreResult<StoredScanEvidence> {
    let direction: Option<String> = row.try_get("direction")?;
    let geofence: Option<String> = row.try_get("geofence")?;
    Ok(StoredScanEvidence {
        evidence: ScanEvidence {
            id: row.try_get("id")?,
            volunteer_id: row.try_get("volunteer_id")?,
            at: from_ms(row.try_get("server_time")?)?,
            direction: direction.as_deref().map(parse_direction).transpose()?,
            client_time: row.try_get::<Option<i64>, _>("client_time")?.map(from_ms).transpose()?,
            uploaded_at: row.try_get::<Option<i64>, _>("uploaded_at")?.map(from_ms).transpose()?,
            code_shown_at: None,
            distance_m: row.try_get("distance_m")?,
            accuracy_m: row.try_get("accuracy_m")?,
            geofence: geofence.as_deref().and_then(crate::geo::Geofence::parse),
            device_id: row.try_get("device_id")?,
            network: row.try_get("client_network")?,
        },
        volunteer_name: row.try_get("name")?,
        outcome: row.try_get("outcome")?,
        code_window: row.try_get::<Option<i64>, _>("code_window")?.and_then(|w| u32::try_from(w).ok()),
    })
}

#[async_trait]
impl ScanStore for SqliteStore {
    async fn scan_evidence(&self, activity_id: i64) -> StoreResult<Vec<StoredScanEvidence>> {
        let rows = sqlx::query(concat!(
            "select ",
            evidence_columns!(),
            " from scan s join volunteer v on v.id = s.volunteer_id where s.activity_id = $1 order by s.server_time, s.id"
        ))
        .bind(activity_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(evidence_from_row).collect()
    }

    async fn scan_evidence_of(&self, activity_id: i64, volunteers: &[i64]) -> StoreResult<Vec<StoredScanEvidence>> {
        if volunteers.is_empty() {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(concat!(
            "select ",
            evidence_columns!(),
            " from scan s join volunteer v on v.id = s.volunteer_id where s.activity_id = $1 and s.volunteer_id in (select value from json_each($2)) order by s.server_time, s.id"
        ))
        .bind(activity_id)
        .bind(serde_json::to_string(volunteers).map_err(|e| crate::error::CoreError::Internal(e.to_string()))?)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(evidence_from_row).collect()
    }

    async fn scans_elsewhere(&self, activity_id: i64) -> StoreResult<Vec<ScanElsewhere>> {
        let rows = sqlx::query(
            r"select s.volunteer_id, s.activity_id, a.latitude, a.longitude, a.starts_at, a.ends_at, s.server_time,
                     s.direction
              from scan s
              join activity a on a.id = s.activity_id
              join activity here on here.id = $1
              where s.direction is not null and s.activity_id <> $1
                and s.server_time between here.starts_at - 86400000 and here.ends_at + 86400000
                and s.volunteer_id in (select volunteer_id from scan where activity_id = $1 and direction is not null)
              order by s.volunteer_id, s.activity_id, s.server_time",
        )
        .bind(activity_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| {
                let direction: String = row.try_get("direction")?;
                Ok(ScanElsewhere {
                    volunteer_id: row.try_get("volunteer_id")?,
                    activity_id: row.try_get("activity_id")?,
                    venue: LatLng { lat: row.try_get("latitude")?, lng: row.try_get("longitude")? },
                    schedule: crate::attendance::Schedule {
                        starts_at: from_ms(row.try_get("starts_at")?)?,
                        ends_at: from_ms(row.try_get("ends_at")?)?,
                    },
                    at: from_ms(row.try_get("server_time")?)?,
                    direction: parse_direction(&direction)?,
                })
            })
            .collect()
    }

    async fn served_with_organisation(&self, volunteer_id: i64, organisation_id: i64) -> StoreResult<bool> {
        let row = sqlx::query(
            r"select 1 as one where exists (
                  select 1 from scan s join activity a on a.id = s.activity_id
                  where s.volunteer_id = $1 and a.organisation_id = $2 and s.direction is not null)
              or exists (
                  select 1 from late_entry l join activity a on a.id = l.activity_id
                  where l.volunteer_id = $1 and a.organisation_id = $2 and l.status = 'approved')",
        )
        .bind(volunteer_id)
        .bind(organisation_id)
        .fetch_optional(&self.read)
        .await?;
        Ok(row.is_some())
    }

    async fn insert_scans(&self, scans: &[NewScan]) -> StoreResult<Vec<bool>> {
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
                    .push_bind(ms(s.server_time))
                    .push_bind(s.client_time.map(ms))
                    .push_bind(s.code_window.map(i64::from))
                    .push_bind(s.key_id.map(i64::from))
                    .push_bind(s.distance_m)
                    .push_bind(s.accuracy_m)
                    .push_bind(s.device_id.as_deref())
                    .push_bind(i64::from(s.answer.status))
                    .push_bind(s.answer.body.as_str())
                    .push_bind(ms(s.server_time))
                    .push_bind(s.geofence.map(crate::geo::Geofence::as_str))
                    .push_bind(s.network.as_deref())
                    .push_bind(s.seq.map(i64::from))
                    .push_bind(s.uploaded_at.map(ms));
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

    async fn find_scan_answer(&self, volunteer_id: i64, nonce: Uuid) -> StoreResult<Option<StoredAnswer>> {
        let row = sqlx::query(r"select answer_status, answer from scan where volunteer_id = $1 and client_nonce = $2")
            .bind(volunteer_id)
            .bind(nonce)
            .fetch_optional(&self.read)
            .await?;
        row.map(|row| {
            Ok(StoredAnswer {
                status: u16::try_from(row.try_get::<i64, _>("answer_status")?).map_err(|_| corrupt("status"))?,
                body: row.try_get("answer")?,
            })
        })
        .transpose()
    }

    async fn accepted_scans(&self, activity_id: i64, volunteer_id: Option<i64>) -> StoreResult<Vec<AcceptedScan>> {
        let rows = sqlx::query(
            r"select s.id, s.volunteer_id, v.name, s.server_time, s.direction, s.gate
              from scan s join volunteer v on v.id = s.volunteer_id
              where s.activity_id = $1 and s.direction is not null and ($2 is null or s.volunteer_id = $2)
              order by s.server_time, s.id",
        )
        .bind(activity_id)
        .bind(volunteer_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(accepted_scan_from_row).collect()
    }

    async fn accepted_scans_after(
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

    async fn count_scans(&self, volunteer_id: i64) -> StoreResult<i64> {
        let row = sqlx::query(r"select count(*) as n from scan where volunteer_id = $1")
            .bind(volunteer_id)
            .fetch_one(&self.read)
            .await?;
        Ok(row.try_get("n")?)
    }
}

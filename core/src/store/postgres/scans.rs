//! Scans: the hot write path, replayed answers, and the reads of accepted scans, on PostgreSQL.

use async_trait::async_trait;
use sqlx::Row;
use sqlx::postgres::PgRow;
use uuid::Uuid;

use super::PostgresStore;
use crate::attendance::Direction;
use crate::geo::LatLng;
use crate::review::rules::ScanEvidence;
use crate::review::{ScanElsewhere, StoredScanEvidence};
use crate::store::{
    AcceptedScan, NewScan, NumberedScan, ScanCursor, ScanStore, StoreResult, StoredAnswer, corrupt, parse_direction,
};

/// An accepted scan from a row of `id, volunteer_id, name, server_time, direction, gate`.
fn accepted_scan_from_row(row: &PgRow) -> StoreResult<AcceptedScan> {
    Ok(AcceptedScan {
        id: row.try_get("id")?,
        volunteer_id: row.try_get("volunteer_id")?,
        volunteer_name: row.try_get("name")?,
        at: row.try_get("server_time")?,
        direction: parse_direction(row.try_get("direction")?)?,
        gate: row.try_get::<Option<i16>, _>("gate")?.and_then(|g| u8::try_from(g).ok()),
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
fn evidence_from_row(row: &PgRow) -> StoreResult<StoredScanEvidence> {
    let direction: Option<String> = row.try_get("direction")?;
    let geofence: Option<String> = row.try_get("geofence")?;
    Ok(StoredScanEvidence {
        evidence: ScanEvidence {
            id: row.try_get("id")?,
            volunteer_id: row.try_get("volunteer_id")?,
            at: row.try_get("server_time")?,
            direction: direction.as_deref().map(parse_direction).transpose()?,
            client_time: row.try_get("client_time")?,
            uploaded_at: row.try_get("uploaded_at")?,
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
impl ScanStore for PostgresStore {
    async fn scan_evidence(&self, activity_id: i64) -> StoreResult<Vec<StoredScanEvidence>> {
        let rows = sqlx::query(concat!(
            "select ",
            evidence_columns!(),
            " from scan s join volunteer v on v.id = s.volunteer_id where s.activity_id = $1 order by s.server_time, s.id"
        ))
        .bind(activity_id)
        .fetch_all(&self.pool)
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
            " from scan s join volunteer v on v.id = s.volunteer_id where s.activity_id = $1 and s.volunteer_id = any($2) order by s.server_time, s.id"
        ))
        .bind(activity_id)
        .bind(volunteers)
        .fetch_all(&self.pool)
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
                and s.server_time between here.starts_at - interval '1 day' and here.ends_at + interval '1 day'
                and s.volunteer_id in (select volunteer_id from scan where activity_id = $1 and direction is not null)
              order by s.volunteer_id, s.activity_id, s.server_time",
        )
        .bind(activity_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let direction: String = row.try_get("direction")?;
                Ok(ScanElsewhere {
                    volunteer_id: row.try_get("volunteer_id")?,
                    activity_id: row.try_get("activity_id")?,
                    venue: LatLng { lat: row.try_get("latitude")?, lng: row.try_get("longitude")? },
                    schedule: crate::attendance::Schedule {
                        starts_at: row.try_get("starts_at")?,
                        ends_at: row.try_get("ends_at")?,
                    },
                    at: row.try_get("server_time")?,
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
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.is_some())
    }

    async fn insert_scans(&self, scans: &[NewScan]) -> StoreResult<Vec<bool>> {
        if scans.is_empty() {
            return Ok(Vec::new());
        }
        // One statement for the whole batch: arrays in, one row per element out. `on conflict
        // do nothing` makes a repeated nonce (even twice in one batch) or a volunteer's scan
        // number already taken by another instance a no-op, and `returning` tells which rows
        // were new. The writer sorts the batch by volunteer, so two instances' batches take
        // their index locks in one order and cannot deadlock.
        let rows = sqlx::query(
            r"insert into scan (id, volunteer_id, client_nonce, activity_id, gate, direction, outcome, server_time,
                                client_time, code_window, key_id, distance_m, accuracy_m, device_id, answer_status, answer,
                                geofence, client_network, seq, uploaded_at)
              select * from unnest($1::uuid[], $2::bigint[], $3::uuid[], $4::bigint[], $5::smallint[], $6::text[],
                                   $7::text[], $8::timestamptz[], $9::timestamptz[], $10::bigint[], $11::smallint[],
                                   $12::float8[], $13::float8[], $14::text[], $15::smallint[], $16::text[], $17::text[],
                                   $18::text[], $19::integer[], $20::timestamptz[])
              on conflict do nothing
              returning id",
        )
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
        .await?;
        let written: std::collections::HashSet<Uuid> =
            rows.iter().map(|r| r.try_get::<Uuid, _>("id")).collect::<Result<_, _>>()?;
        Ok(scans.iter().map(|s| written.contains(&s.id)).collect())
    }

    async fn find_scan_answer(&self, volunteer_id: i64, nonce: Uuid) -> StoreResult<Option<StoredAnswer>> {
        let row = sqlx::query(r"select answer_status, answer from scan where volunteer_id = $1 and client_nonce = $2")
            .bind(volunteer_id)
            .bind(nonce)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            Ok(StoredAnswer {
                status: u16::try_from(row.try_get::<i16, _>("answer_status")?).map_err(|_| corrupt("status"))?,
                body: row.try_get("answer")?,
            })
        })
        .transpose()
    }

    async fn accepted_scans(&self, activity_id: i64, volunteer_id: Option<i64>) -> StoreResult<Vec<AcceptedScan>> {
        let rows = sqlx::query(
            r"select s.id, s.volunteer_id, v.name, s.server_time, s.direction, s.gate
              from scan s join volunteer v on v.id = s.volunteer_id
              where s.activity_id = $1 and s.direction is not null and ($2::bigint is null or s.volunteer_id = $2)
              order by s.server_time, s.id",
        )
        .bind(activity_id)
        .bind(volunteer_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(accepted_scan_from_row).collect()
    }

    async fn accepted_scans_after(
        &self,
        activity_id: i64,
        after: Option<ScanCursor>,
    ) -> StoreResult<(Vec<NumberedScan>, Option<ScanCursor>)> {
        // The horizon comes from the statement's own snapshot: every transaction older than
        // its xmin had finished, so a scan of one of them is in this read or an earlier one,
        // and the next read starts there. Scans of transactions still running then are
        // read again next time (callers keep each volunteer's scans by number).
        let rows = sqlx::query(
            r"select s.id, s.volunteer_id, v.name, s.server_time, s.direction, s.gate, s.seq,
                     pg_snapshot_xmin(pg_current_snapshot())::text::bigint as horizon
              from scan s join volunteer v on v.id = s.volunteer_id
              where s.activity_id = $1 and s.direction is not null
                and ($2::bigint is null or s.recorded_by_xact >= $2::bigint::text::xid8)",
        )
        .bind(activity_id)
        .bind(after.map(|c| c.0))
        .fetch_all(&self.pool)
        .await?;
        let mut next = after;
        let scans = rows
            .iter()
            .map(|row| {
                next = Some(ScanCursor(row.try_get("horizon")?));
                Ok(NumberedScan {
                    scan: accepted_scan_from_row(row)?,
                    seq: u32::try_from(row.try_get::<i32, _>("seq")?).unwrap_or(0),
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        Ok((scans, next))
    }

    async fn count_scans(&self, volunteer_id: i64) -> StoreResult<i64> {
        let row = sqlx::query(r"select count(*) as n from scan where volunteer_id = $1")
            .bind(volunteer_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("n")?)
    }
}

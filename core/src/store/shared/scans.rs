//! Scans: the hot write path, replayed answers, and the reads of accepted scans, on both engines.

use async_trait::async_trait;
use sqlx::Row;
use uuid::Uuid;

use super::{DbRow, Engine};
use crate::geo::LatLng;
use crate::review::rules::ScanEvidence;
use crate::review::{ScanElsewhere, StoredScanEvidence};
use crate::store::codec::{List, RowTimes};
use crate::store::{
    AcceptedScan, NewScan, NumberedScan, ScanCursor, ScanStore, StoreResult, StoredAnswer, corrupt, parse_direction,
};

/// An accepted scan from a row of `id, volunteer_id, name, server_time, direction, gate`.
fn accepted_scan_from_row(row: &DbRow) -> StoreResult<AcceptedScan> {
    Ok(AcceptedScan {
        id: row.try_get("id")?,
        volunteer_id: row.try_get("volunteer_id")?,
        volunteer_name: row.try_get("name")?,
        at: row.time("server_time")?,
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
fn evidence_from_row(row: &DbRow) -> StoreResult<StoredScanEvidence> {
    let direction: Option<String> = row.try_get("direction")?;
    let geofence: Option<String> = row.try_get("geofence")?;
    Ok(StoredScanEvidence {
        evidence: ScanEvidence {
            id: row.try_get("id")?,
            volunteer_id: row.try_get("volunteer_id")?,
            at: row.time("server_time")?,
            direction: direction.as_deref().map(parse_direction).transpose()?,
            client_time: row.maybe_time("client_time")?,
            uploaded_at: row.maybe_time("uploaded_at")?,
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

/// What a live board's book reads of an activity's scans, every one and those after a
/// cursor (`accepted_after!`); public so that a test can ask PostgreSQL how it plans them.
///
/// The name comes only with a volunteer's first scan (number 1), the one the book meets
/// them by; later scans carry an empty one. Joined to every scan, the volunteers were read
/// whole for each read of new scans (a hash join over the volunteer table, 17 ms of
/// PostgreSQL for a second's 8 000 scans at an activity of 20 000, once a second for
/// every watched activity), where a volunteer's name is needed once (BENCHMARKS.md,
/// "Fifty boards at 8 000 scans/s, with headroom").
pub const NUMBERED_SCANS_AFTER: (&str, &str) = accepted_after!(from "scan s":
    "s.id, s.volunteer_id,
     case when s.seq = 1 then (select v.name from volunteer v where v.id = s.volunteer_id) else '' end as name,
     s.server_time, s.direction, s.gate, cast(s.seq as bigint) as seq");

macro_rules! accepted_scans {
    ($accepted_and_whose:literal) => {
        concat!(
            r"select s.id, s.volunteer_id, v.name, s.server_time, s.direction, s.gate
              from scan s join volunteer v on v.id = s.volunteer_id
              where s.activity_id = $1 and ",
            $accepted_and_whose,
            " order by s.server_time, s.id"
        )
    };
}

/// An activity's accepted scans (`$1`), every volunteer's and one volunteer's (`$2`), public
/// so that a test can ask both engines how they plan them.
///
/// One volunteer's are read by `scan_volunteer_order_uq (activity_id, volunteer_id, seq)`
/// whatever the plan: a presence reload on the scan path and a volunteer's own hours read
/// a handful of rows, at an activity that may have 200 000. So the statement is its own,
/// not one with `($2 is null or s.volunteer_id = $2)`, which a plan made for every value of
/// `$2` (SQLite's always, PostgreSQL's generic one) cannot look up by volunteer. And it
/// says "accepted" by the outcome (`scan_accepted_has_direction_ck` makes that the same
/// as a direction): by the direction, it would match the partial index of when scans were
/// recorded, `(activity_id, recorded_by_xact) where direction is not null`, which
/// PostgreSQL takes when its statistics predate the activity (one row expected) and which
/// holds every volunteer's scans of the activity.
pub const ACCEPTED_SCANS: (&str, &str) = (
    accepted_scans!("s.direction is not null"),
    accepted_scans!("s.outcome in ('checked_in', 'checked_out') and s.volunteer_id = $2"),
);

impl Engine {
    /// Reads with an `accepted_after!` pair of statements (every scan without a cursor,
    /// those after it with one): the rows by `read`, and the cursor to read from next time
    /// (the greatest mark: on either engine a later read's is never less).
    async fn accepted_after_cursor<T>(
        &self,
        (every, after_cursor): (&'static str, &'static str),
        activity_id: i64,
        after: Option<ScanCursor>,
        read: impl Fn(&DbRow) -> StoreResult<T>,
    ) -> StoreResult<(Vec<T>, Option<ScanCursor>)> {
        let rows = match after {
            None => sqlx::query(every).bind(activity_id).fetch_all(self.reader()).await?,
            Some(cursor) => sqlx::query(after_cursor).bind(activity_id).bind(cursor.0).fetch_all(self.reader()).await?,
        };
        let mut next = after;
        let scans = rows
            .iter()
            .map(|row| {
                let mark: i64 = row.try_get("cursor_mark")?;
                next = Some(ScanCursor(next.map_or(mark, |n| n.0.max(mark))));
                read(row)
            })
            .collect::<StoreResult<Vec<_>>>()?;
        Ok((scans, next))
    }
}

#[async_trait]
impl ScanStore for Engine {
    async fn scan_evidence(&self, activity_id: i64) -> StoreResult<Vec<StoredScanEvidence>> {
        let rows = sqlx::query(concat!(
            "select ",
            evidence_columns!(),
            " from scan s join volunteer v on v.id = s.volunteer_id where s.activity_id = $1 order by s.server_time, s.id"
        ))
        .bind(activity_id)
        .fetch_all(self.reader())
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
            " from scan s join volunteer v on v.id = s.volunteer_id where s.activity_id = $1 and s.volunteer_id",
            member_of!("$2"),
            " order by s.server_time, s.id"
        ))
        .bind(activity_id)
        .bind(List(volunteers))
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(evidence_from_row).collect()
    }

    async fn scans_elsewhere(&self, activity_id: i64, volunteers: Option<&[i64]>) -> StoreResult<Vec<ScanElsewhere>> {
        macro_rules! elsewhere {
            ($whose:expr) => {
                concat!(
                    r"select s.volunteer_id, s.activity_id, a.latitude, a.longitude, a.starts_at, a.ends_at,
                             s.server_time, s.direction
                      from scan s
                      join activity a on a.id = s.activity_id
                      join activity here on here.id = $1
                      where s.direction is not null and s.activity_id <> $1
                        and s.server_time between here.starts_at - ",
                    one_day!(),
                    " and here.ends_at + ",
                    one_day!(),
                    " and s.volunteer_id",
                    $whose,
                    " order by s.volunteer_id, s.activity_id, s.server_time"
                )
            };
        }
        let rows = match volunteers {
            None => {
                sqlx::query(elsewhere!(
                    " in (select volunteer_id from scan where activity_id = $1 and direction is not null)"
                ))
                .bind(activity_id)
                .fetch_all(self.reader())
                .await?
            }
            Some(volunteers) => {
                sqlx::query(elsewhere!(member_of!("$2")))
                    .bind(activity_id)
                    .bind(List(volunteers))
                    .fetch_all(self.reader())
                    .await?
            }
        };
        rows.iter()
            .map(|row| {
                let direction: String = row.try_get("direction")?;
                Ok(ScanElsewhere {
                    volunteer_id: row.try_get("volunteer_id")?,
                    activity_id: row.try_get("activity_id")?,
                    venue: LatLng { lat: row.try_get("latitude")?, lng: row.try_get("longitude")? },
                    schedule: crate::attendance::Schedule {
                        starts_at: row.time("starts_at")?,
                        ends_at: row.time("ends_at")?,
                    },
                    at: row.time("server_time")?,
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
        .fetch_optional(self.reader())
        .await?;
        Ok(row.is_some())
    }

    async fn insert_scans(&self, scans: &[NewScan]) -> StoreResult<Vec<bool>> {
        self.insert_scan_batch(scans).await
    }

    async fn find_scan_answer(&self, volunteer_id: i64, nonce: Uuid) -> StoreResult<Option<StoredAnswer>> {
        let row = sqlx::query(r"select answer_status, answer from scan where volunteer_id = $1 and client_nonce = $2")
            .bind(volunteer_id)
            .bind(nonce)
            .fetch_optional(self.reader())
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
        let rows = match volunteer_id {
            None => sqlx::query(ACCEPTED_SCANS.0).bind(activity_id).fetch_all(self.reader()).await?,
            Some(volunteer_id) => {
                sqlx::query(ACCEPTED_SCANS.1).bind(activity_id).bind(volunteer_id).fetch_all(self.reader()).await?
            }
        };
        rows.iter().map(accepted_scan_from_row).collect()
    }

    async fn accepted_scans_after(
        &self,
        activity_id: i64,
        after: Option<ScanCursor>,
    ) -> StoreResult<(Vec<NumberedScan>, Option<ScanCursor>)> {
        self.accepted_after_cursor(NUMBERED_SCANS_AFTER, activity_id, after, |row| {
            Ok(NumberedScan {
                scan: accepted_scan_from_row(row)?,
                seq: u32::try_from(row.try_get::<i64, _>("seq")?).unwrap_or(0),
            })
        })
        .await
    }

    async fn accepted_evidence_after(
        &self,
        activity_id: i64,
        after: Option<ScanCursor>,
    ) -> StoreResult<(Vec<StoredScanEvidence>, Option<ScanCursor>)> {
        self.accepted_after_cursor(accepted_after!(evidence_columns!()), activity_id, after, evidence_from_row).await
    }

    async fn count_scans(&self, volunteer_id: i64) -> StoreResult<i64> {
        let row = sqlx::query(r"select count(*) as n from scan where volunteer_id = $1")
            .bind(volunteer_id)
            .fetch_one(self.reader())
            .await?;
        Ok(row.try_get("n")?)
    }
}

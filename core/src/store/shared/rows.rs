//! Rows and writes several areas share, on both engines: the staff, finalised-session and
//! register rows, a correction of finalised minutes, and the audit entry that goes into
//! the transaction of the change it records.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Conn, DbRow};
use crate::audit::AuditEvent;
use crate::identity::{Agency, Staff, StaffRole};
use crate::publicity::{RegisterKind, RegisterRow};
use crate::review::finalise::{FinalisedSession, MinutesSource};
use crate::store::codec::Stamp;
use crate::store::{StoreResult, corrupt};

pub(super) fn parse_day(text: &str) -> StoreResult<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| corrupt("day"))
}

pub(super) fn finalised_from_row(row: &DbRow) -> StoreResult<FinalisedSession> {
    let day: String = row.try_get("local_day")?;
    let source: String = row.try_get("source")?;
    let minutes = |column: &str| -> StoreResult<u32> {
        u32::try_from(row.try_get::<i32, _>(column)?).map_err(|_| corrupt("minutes"))
    };
    Ok(FinalisedSession {
        volunteer_id: row.try_get("volunteer_id")?,
        day: parse_day(&day)?,
        scan_minutes: minutes("scan_minutes")?,
        final_minutes: minutes("final_minutes")?,
        source: MinutesSource::parse(&source).ok_or_else(|| corrupt("minutes source"))?,
    })
}

pub(super) fn register_from_row(row: &DbRow) -> StoreResult<RegisterRow> {
    let kind: String = row.try_get("kind")?;
    Ok(RegisterRow {
        seq: row.try_get("seq")?,
        kind: RegisterKind::parse(&kind).ok_or_else(|| corrupt("register kind"))?,
        publicity_entry_id: row.try_get("publicity_entry_id")?,
        organisation_id: row.try_get("organisation_id")?,
        volunteer_id: row.try_get("volunteer_id")?,
        minutes: i64::from(row.try_get::<i32, _>("minutes")?),
        content: row.try_get("content")?,
        previous_hash: row.try_get("previous_hash")?,
        hash: row.try_get("hash")?,
    })
}

/// Sets a finalised session's minutes and records the correction (old and new minutes,
/// who, when, why) on a transaction; `None` if there is no such finalised session.
pub(super) async fn correct_finalised(
    conn: &mut Conn,
    (activity_id, volunteer_id, day): (i64, i64, chrono::NaiveDate),
    minutes: u32,
    reason: &str,
    (by, approved_by): (i64, Option<i64>),
    at: DateTime<Utc>,
) -> StoreResult<Option<FinalisedSession>> {
    let day = day.format("%Y-%m-%d").to_string();
    let old: Option<i32> = sqlx::query_scalar(concat!(
        "select final_minutes from finalised_session where activity_id = $1 and volunteer_id = $2 and local_day = $3",
        for_update!()
    ))
    .bind(activity_id)
    .bind(volunteer_id)
    .bind(&day)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(old) = old else { return Ok(None) };
    sqlx::query(
        r"insert into session_correction (activity_id, volunteer_id, local_day, old_minutes, new_minutes, reason,
                                          corrected_by, corrected_at, approved_by)
          values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(activity_id)
    .bind(volunteer_id)
    .bind(&day)
    .bind(old)
    .bind(i32::try_from(minutes).unwrap_or(i32::MAX))
    .bind(reason)
    .bind(by)
    .bind(Stamp(at))
    .bind(approved_by)
    .execute(&mut *conn)
    .await?;
    let row = sqlx::query(
        r"update finalised_session set final_minutes = $4
          where activity_id = $1 and volunteer_id = $2 and local_day = $3
          returning volunteer_id, local_day, scan_minutes, final_minutes, 'corrected' as source",
    )
    .bind(activity_id)
    .bind(volunteer_id)
    .bind(&day)
    .bind(i32::try_from(minutes).unwrap_or(i32::MAX))
    .fetch_one(&mut *conn)
    .await?;
    Ok(Some(finalised_from_row(&row)?))
}

pub(super) fn qualification_from_row(row: &DbRow) -> StoreResult<Option<crate::identity::RecorderQualification>> {
    let number: Option<String> = row.try_get("certificate_number")?;
    let Some(certificate_number) = number else { return Ok(None) };
    let date = |column: &str| -> StoreResult<chrono::NaiveDate> {
        let text: String = row.try_get(column)?;
        chrono::NaiveDate::parse_from_str(&text, "%Y-%m-%d").map_err(|_| corrupt("certificate date"))
    };
    Ok(Some(crate::identity::RecorderQualification {
        certificate_number,
        issued_on: date("certificate_issued_on")?,
        review_due_on: date("review_due_on")?,
    }))
}

pub(super) fn staff_from_row(row: &DbRow) -> StoreResult<Staff> {
    Ok(Staff {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        login: row.try_get("login")?,
        role: StaffRole::parse(row.try_get("role")?).ok_or_else(|| corrupt("role"))?,
        organisation_id: row.try_get("organisation_id")?,
        region_code: row.try_get("region_code")?,
        agency: match row.try_get::<Option<String>, _>("agency")? {
            Some(a) => Some(Agency::parse(&a).ok_or_else(|| corrupt("agency"))?),
            None => None,
        },
        qualification: qualification_from_row(row)?,
    })
}

pub(in crate::store) async fn insert_audit(conn: &mut Conn, audit: &AuditEvent) -> StoreResult<()> {
    sqlx::query(
        r"insert into audit_event (at, actor_kind, actor_id, action, subject_kind, subject_id, detail)
          values ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(Stamp(audit.at))
    .bind(&audit.actor_kind)
    .bind(audit.actor_id)
    .bind(&audit.action)
    .bind(&audit.subject_kind)
    .bind(audit.subject_id)
    .bind(audit.detail.to_string())
    .execute(conn)
    .await?;
    Ok(())
}

//! The SQLite store: the embedded default, so Hourmark runs with no other service.
//!
//! SQLite allows one writer at a time, so every write goes through a pool of exactly one
//! connection (no `SQLITE_BUSY` storms under load) while reads use their own pool. The
//! database runs in WAL mode with `synchronous = FULL`: a commit is on disk before the
//! scan is acknowledged, and readers never block the writer. Times are stored as integer
//! milliseconds (UTC) so they order exactly.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous};
use sqlx::{Row, SqlitePool};

use super::{Store, StoreResult, corrupt, pending};
use crate::audit::AuditEvent;
use crate::error::CoreError;
use crate::identity::{Agency, Staff, StaffRole};
use crate::publicity::{RegisterKind, RegisterRow};
use crate::review::finalise::{FinalisedSession, MinutesSource};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");

/// SQLite with one writer connection and a small pool of readers.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    write: SqlitePool,
    read: SqlitePool,
    /// Held for the whole of a roster import's publish. Its slices are separate
    /// transactions, so without it two imports' slices interleave: a roster link the
    /// second finds already written by the first is left to the first, and is lost with
    /// the first's rows if the first then fails. One SQLite database has one server, so
    /// an in-process lock serialises every publish.
    roster_publish: std::sync::Arc<tokio::sync::Mutex<()>>,
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn from_ms(v: i64) -> StoreResult<DateTime<Utc>> {
    DateTime::from_timestamp_millis(v).ok_or_else(|| corrupt("timestamp"))
}

impl SqliteStore {
    /// Opens (creating the file and its folder if missing) the database a `sqlite:` URL names.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        if let Some(parent) = options.get_filename().parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent)
                .map_err(|e| CoreError::Internal(format!("cannot create {}: {e}", parent.display())))?;
        }
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            // A failed write can leave the driver and SQLite disagreeing about the open
            // transaction: SQLite rolls a transaction back by itself on some errors (an I/O
            // error, a full disk), the driver's rollback then fails, and it still counts the
            // transaction open. Its next `begin` would then be a savepoint and its `commit` a
            // release of it, inside a transaction that is never committed, while the caller
            // is told "committed": with the disk full for a moment, every scan after it was
            // acknowledged and lost. So a connection still in a transaction when it comes
            // back (after the ping that flushes a dropped transaction's rollback) is closed,
            // and the next write gets a fresh one.
            .after_release(|conn, _| {
                Box::pin(async move {
                    sqlx::Connection::ping(conn).await?;
                    Ok(!sqlx::Connection::is_in_transaction(conn))
                })
            })
            .connect_with(options.clone())
            .await?;
        let read = SqlitePoolOptions::new().max_connections(4).connect_with(options).await?;
        Ok(Self { write, read, roster_publish: std::sync::Arc::default() })
    }
}

fn qualification_from_row(row: &SqliteRow) -> StoreResult<Option<crate::identity::RecorderQualification>> {
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

fn staff_from_row(row: &SqliteRow) -> StoreResult<Staff> {
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

/// The staff columns every query returns.
macro_rules! staff_columns {
    () => {
        "id, name, login, role, organisation_id, region_code, certificate_number, certificate_issued_on, \
         review_due_on, webauthn_user_id, agency"
    };
}

// The areas come after the macros above, which a module sees only below their definition.
mod activities;
mod audit;
mod calendar;
mod cancellations;
mod certificates;
mod corrections;
mod exchange;
mod my_hours;
mod notifications;
mod organisations;
mod publicity;
mod record;
mod region_volunteers;
mod register;
mod retention;
mod review;
mod scans;
mod session_corrections;
mod sessions;
mod signups;
mod sms_code;
mod staff;
mod stars;
mod time_bank;
mod trainings;
mod volunteers;

fn parse_day(text: &str) -> StoreResult<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| corrupt("day"))
}

fn finalised_from_row(row: &SqliteRow) -> StoreResult<FinalisedSession> {
    let day: String = row.try_get("local_day")?;
    let source: String = row.try_get("source")?;
    let minutes = |column: &str| -> StoreResult<u32> {
        u32::try_from(row.try_get::<i64, _>(column)?).map_err(|_| corrupt("minutes"))
    };
    Ok(FinalisedSession {
        volunteer_id: row.try_get("volunteer_id")?,
        day: parse_day(&day)?,
        scan_minutes: minutes("scan_minutes")?,
        final_minutes: minutes("final_minutes")?,
        source: MinutesSource::parse(&source).ok_or_else(|| corrupt("minutes source"))?,
    })
}

fn register_from_row(row: &SqliteRow) -> StoreResult<RegisterRow> {
    let kind: String = row.try_get("kind")?;
    Ok(RegisterRow {
        seq: row.try_get("seq")?,
        kind: RegisterKind::parse(&kind).ok_or_else(|| corrupt("register kind"))?,
        publicity_entry_id: row.try_get("publicity_entry_id")?,
        organisation_id: row.try_get("organisation_id")?,
        volunteer_id: row.try_get("volunteer_id")?,
        minutes: row.try_get::<i64, _>("minutes")?,
        content: row.try_get("content")?,
        previous_hash: row.try_get("previous_hash")?,
        hash: row.try_get("hash")?,
    })
}

/// Sets a finalised session's minutes and records the correction (old and new minutes,
/// who, when, why) on a transaction; `None` if there is no such finalised session.
async fn correct_finalised(
    conn: &mut sqlx::SqliteConnection,
    (activity_id, volunteer_id, day): (i64, i64, chrono::NaiveDate),
    minutes: u32,
    reason: &str,
    (by, approved_by): (i64, Option<i64>),
    at: DateTime<Utc>,
) -> StoreResult<Option<FinalisedSession>> {
    let day = day.format("%Y-%m-%d").to_string();
    let old: Option<i64> = sqlx::query_scalar(
        r"select final_minutes from finalised_session where activity_id = $1 and volunteer_id = $2 and local_day = $3",
    )
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
    .bind(i64::from(minutes))
    .bind(reason)
    .bind(by)
    .bind(ms(at))
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
    .bind(i64::from(minutes))
    .fetch_one(&mut *conn)
    .await?;
    Ok(Some(finalised_from_row(&row)?))
}

async fn insert_audit(conn: &mut sqlx::SqliteConnection, audit: &AuditEvent) -> StoreResult<()> {
    sqlx::query(
        r"insert into audit_event (at, actor_kind, actor_id, action, subject_kind, subject_id, detail)
          values ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(ms(audit.at))
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

#[async_trait]
impl Store for SqliteStore {
    async fn migrate(&self) -> StoreResult<()> {
        MIGRATOR.run(&self.write).await.map_err(|e| CoreError::Internal(format!("migration failed: {e}")))
    }

    async fn pending_migrations(&self) -> StoreResult<Vec<i64>> {
        let applied: Vec<i64> =
            sqlx::query_scalar("select version from _sqlx_migrations where success").fetch_all(&self.read).await?;
        Ok(pending(&MIGRATOR, &applied))
    }
}

//! The PostgreSQL store: the production engine.

use async_trait::async_trait;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use std::str::FromStr;
use std::time::Duration;

use super::{Store, StoreResult, pending};
use crate::error::CoreError;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// PostgreSQL behind a connection pool.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects (lazily verifying with one connection).
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let options = PgConnectOptions::from_str(url)?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await?;
        Ok(Self { pool })
    }

    /// The pool, for tests and tools.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Where the shared area files read; one pool serves reads and writes here.
    fn reader(&self) -> &PgPool {
        &self.pool
    }

    /// Where the shared area files write.
    fn writer(&self) -> &PgPool {
        &self.pool
    }
}

/// The names the area files written once for both engines (`shared/`) use for this one.
type Engine = PostgresStore;
/// This engine.
type Db = sqlx::Postgres;
/// A connection of this engine.
type Conn = sqlx::PgConnection;
/// A row of this engine.
type DbRow = PgRow;

/// The staff columns every query returns.
macro_rules! staff_columns {
    () => {
        "id, name, login, role, organisation_id, region_code, certificate_number, certificate_issued_on, \
         review_due_on, webauthn_user_id, agency"
    };
}

/// `column member_of!("$n")`: whether the column's value is in the [`List`] bound as `$n`.
///
/// [`List`]: super::codec::List
macro_rules! member_of {
    ($list:literal) => {
        concat!(" = any(", $list, ")")
    };
}

/// Locks the rows a select in a transaction reads until it ends (`for update`).
macro_rules! for_update {
    () => {
        " for update"
    };
    ($table:literal) => {
        concat!(" for update of ", $table)
    };
}

/// Locks the rows a select in a transaction reads, passing over rows another transaction
/// holds (`for update skip locked`): instances claiming work at once take different rows.
macro_rules! skip_locked {
    () => {
        " for update skip locked"
    };
}

/// One day, as a time is added to or taken from in this engine (an interval).
macro_rules! one_day {
    () => {
        "interval '1 day'"
    };
}

/// The elements of the [`List`] bound as `$n`, as a table `t(value, position)` numbered
/// from 1 in the list's order.
///
/// [`List`]: super::codec::List
macro_rules! numbered {
    ($list:literal) => {
        concat!("unnest(", $list, ") with ordinality as t(value, position)")
    };
}

/// The accepted scans of the activity bound as `$1`, read as `$columns` (of `s` the scan,
/// `v` its volunteer), each row with the `cursor_mark` to read from next time: two
/// statements, every one and those recorded after the cursor bound as `$2`.
///
/// The mark comes from the statement's own snapshot: every transaction older than its
/// xmin had finished, so a scan of one of them is in this read or an earlier one, and the
/// next read starts there. Scans of transactions still running then are read again next
/// time (readers skip the scans they hold).
///
/// Why two statements and an `order by`: a live board reads an activity's new scans once
/// a second, and only `scan_activity_recorded_ix` finds them without reading the rest.
/// With one statement (`$2 is null or …`) and statistics that predate the activity (its
/// id unseen, so one row expected), PostgreSQL took the other index on `activity_id` and
/// filtered every scan of the activity on each read: 113 ms at 150 000 scans, growing
/// with the event (BENCHMARKS.md, "Mixed load"). Asked for the cursor's order, the
/// index that gives it costs less than the one that needs a sort, whatever the estimates.
macro_rules! accepted_after {
    (from $from:literal: $($columns:tt)*) => {
        (
            concat!(
                "select ", $($columns)*, ", pg_snapshot_xmin(pg_current_snapshot())::text::bigint as cursor_mark
                 from ", $from, "
                 where s.activity_id = $1 and s.direction is not null"
            ),
            concat!(
                "select ", $($columns)*, ", pg_snapshot_xmin(pg_current_snapshot())::text::bigint as cursor_mark
                 from ", $from, "
                 where s.activity_id = $1 and s.direction is not null
                   and s.recorded_by_xact >= $2::bigint::text::xid8
                 order by s.recorded_by_xact"
            ),
        )
    };
    ($($columns:tt)*) => {
        accepted_after!(from "scan s join volunteer v on v.id = s.volunteer_id": $($columns)*)
    };
}

// The areas come after the macros above, which a module sees only below their definition.
mod roster_import;
mod scan_batches;
#[path = "shared/mod.rs"]
mod shared;
mod volunteers;

/// The statements a live board's reads of new scans run on PostgreSQL (see
/// `accepted_after!`), and the reads of an activity's accepted scans on either engine, for
/// tests of their plans.
#[doc(hidden)]
pub use shared::scans::{ACCEPTED_SCANS, NUMBERED_SCANS_AFTER as POSTGRES_NUMBERED_SCANS_AFTER};

/// Holds `what` for the rest of the transaction `conn` is in (an advisory lock).
async fn serialise(conn: &mut sqlx::PgConnection, what: super::Serialised) -> StoreResult<()> {
    sqlx::query("select pg_advisory_xact_lock($1)").bind(what as i64).execute(conn).await?;
    Ok(())
}

#[async_trait]
impl Store for PostgresStore {
    async fn migrate(&self) -> StoreResult<()> {
        MIGRATOR.run(&self.pool).await.map_err(|e| CoreError::Internal(format!("migration failed: {e}")))
    }

    async fn pending_migrations(&self) -> StoreResult<Vec<i64>> {
        let applied: Vec<i64> =
            sqlx::query_scalar("select version from _sqlx_migrations where success").fetch_all(&self.pool).await?;
        Ok(pending(&MIGRATOR, &applied))
    }
}

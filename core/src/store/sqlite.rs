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
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous};

use super::{Store, StoreResult, pending};
use crate::error::CoreError;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");

/// The writer's page cache, as SQLite's `cache_size` (negative: KiB), 16 MiB against the
/// default 2. Three of the scan table's indexes are ordered by volunteer, so each batch's
/// pages are spread over every volunteer at the activity; with the default cache the
/// single writer spent its time re-reading them from the operating system, and at 8 000
/// scans/s open loop it fell behind (7 522/s, p99 3.5 s); with this one it held 8 000/s
/// (p99 148 ms) for 14 MB more memory (BENCHMARKS.md, "Capacity"). Readers keep the default.
const WRITER_CACHE_SIZE: &str = "-16384";

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
            .connect_with(options.clone().pragma("cache_size", WRITER_CACHE_SIZE))
            .await?;
        let read = SqlitePoolOptions::new().max_connections(4).connect_with(options).await?;
        Ok(Self { write, read, roster_publish: std::sync::Arc::default() })
    }

    /// Where the shared area files read: the pool of readers.
    fn reader(&self) -> &SqlitePool {
        &self.read
    }

    /// Where the shared area files write: the single writer.
    fn writer(&self) -> &SqlitePool {
        &self.write
    }
}

/// The names the area files written once for both engines (`shared/`) use for this one.
type Engine = SqliteStore;
/// This engine.
type Db = sqlx::Sqlite;
/// A connection of this engine.
type Conn = sqlx::SqliteConnection;
/// A row of this engine.
type DbRow = SqliteRow;

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
        concat!(" in (select value from json_each(", $list, "))")
    };
}

/// Locks the rows a select in a transaction reads until it ends: nothing on SQLite,
/// whose one writer already keeps every other write out.
macro_rules! for_update {
    () => {
        ""
    };
    ($table:literal) => {
        ""
    };
}

/// Locks the rows a select in a transaction reads, passing over rows another transaction
/// holds: nothing on SQLite, whose one writer already keeps every
/// other write out.
macro_rules! skip_locked {
    () => {
        ""
    };
}

/// One day, as a time is added to or taken from in this engine (milliseconds).
macro_rules! one_day {
    () => {
        "86400000"
    };
}

/// The elements of the [`List`] bound as `$n`, as a table `t(value, position)` numbered
/// from 1 in the list's order.
///
/// [`List`]: super::codec::List
macro_rules! numbered {
    ($list:literal) => {
        concat!("(select key + 1 as position, value from json_each(", $list, ")) as t")
    };
}

/// The accepted scans of the activity bound as `$1`, read as `$columns` (of `s` the scan,
/// `v` its volunteer), each row with the `cursor_mark` to read from next time: two
/// statements, every one and those recorded after the cursor bound as `$2` (as on
/// PostgreSQL, where the split decides the plan).
///
/// One writer, so rows are numbered in the order they were committed: a reader sees a
/// prefix, and the next read starts after the last row of this one.
macro_rules! accepted_after {
    (from $from:literal: $($columns:tt)*) => {
        (
            concat!(
                "select ", $($columns)*, ", s.rowid as cursor_mark
                 from ", $from, "
                 where s.activity_id = $1 and s.direction is not null"
            ),
            concat!(
                "select ", $($columns)*, ", s.rowid as cursor_mark
                 from ", $from, "
                 where s.activity_id = $1 and s.direction is not null and s.rowid > $2
                 order by s.rowid"
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

/// Nothing to take: the single writer runs one write transaction at a time.
#[allow(clippy::unused_async)]
async fn serialise(_conn: &mut sqlx::SqliteConnection, _what: super::Serialised) -> StoreResult<()> {
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

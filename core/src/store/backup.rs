//! Backing up and restoring the SQLite file (`hourmark backup` / `hourmark restore`).
//!
//! A backup is `VACUUM INTO` a new file: SQLite copies one consistent read transaction, so
//! the server may keep running (and writing) meanwhile, and the copy needs no WAL file
//! beside it. Files are written next to their final name under a temporary one and only
//! then linked into place, so a crash never leaves a half-written file under the real
//! name, and an existing file is never overwritten by a backup.
//!
//! PostgreSQL has its own tools (pg_dump, base backups with WAL archiving for
//! point-in-time recovery); these functions refuse it and the README says how.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, Row};

use crate::error::CoreError;

/// Why a backup or restore was refused; each says what to do instead.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The database is PostgreSQL.
    #[error(
        "HOURMARK_DATABASE_URL names PostgreSQL: back it up with pg_dump / pg_restore (or base backups with \
         WAL archiving for point-in-time recovery), as the README's \"Backup and restore\" section describes"
    )]
    Postgres,
    /// The URL is neither `sqlite:` nor PostgreSQL.
    #[error("HOURMARK_DATABASE_URL is not a sqlite: URL")]
    NotSqlite,
    /// The file to write exists.
    #[error("{0} already exists: choose a new file name (a backup never overwrites a file)")]
    TargetExists(PathBuf),
    /// The database to restore into exists and `--force` was not given.
    #[error(
        "the database {0} already exists: stop every server using it and run restore again with --force to \
         replace it"
    )]
    DatabaseExists(PathBuf),
    /// The database to back up does not exist.
    #[error("there is no database at {0} to back up")]
    NoDatabase(PathBuf),
    /// The file to restore is not a Hourmark SQLite database.
    #[error("{path} is not a Hourmark SQLite database: {why}")]
    NotHourmark {
        /// The file given.
        path: PathBuf,
        /// What is wrong with it.
        why: String,
    },
    /// Reading or writing a file failed.
    #[error("{0}")]
    Io(String),
}

impl From<BackupError> for CoreError {
    fn from(e: BackupError) -> Self {
        CoreError::Internal(e.to_string())
    }
}

/// The database file a `sqlite:` URL names, or why there is none.
pub fn sqlite_path(database_url: &str) -> Result<PathBuf, BackupError> {
    if database_url.starts_with("postgres://") || database_url.starts_with("postgresql://") {
        return Err(BackupError::Postgres);
    }
    if !database_url.starts_with("sqlite:") {
        return Err(BackupError::NotSqlite);
    }
    let options = SqliteConnectOptions::from_str(database_url).map_err(|_| BackupError::NotSqlite)?;
    Ok(options.get_filename().to_path_buf())
}

/// A name in `target`'s folder that no one else will pick, for writing before the rename.
fn partial_name(target: &Path) -> Result<PathBuf, BackupError> {
    let name = target.file_name().ok_or_else(|| BackupError::Io(format!("{} is not a file name", target.display())))?;
    let mut partial = std::ffi::OsString::from(".");
    partial.push(name);
    partial.push(format!(".partial-{}", uuid::Uuid::new_v4().simple()));
    Ok(target.with_file_name(partial))
}

/// Flushes a finished file to disk before it is given its real name.
fn sync_file(path: &Path) -> Result<(), BackupError> {
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| BackupError::Io(format!("cannot flush {}: {e}", path.display())))
}

/// Gives `partial` the name `target` only if `target` does not exist (a hard link fails
/// rather than overwrite), then drops the temporary name.
fn link_into_place(partial: &Path, target: &Path) -> Result<(), BackupError> {
    let linked = std::fs::hard_link(partial, target);
    let _ = std::fs::remove_file(partial);
    match linked {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(BackupError::TargetExists(target.into())),
        Err(e) => Err(BackupError::Io(format!("cannot create {}: {e}", target.display()))),
    }
}

/// Writes a consistent copy of the database `database_url` names to `target`, which must
/// not exist. Safe while servers are writing to the database.
pub async fn backup_sqlite(database_url: &str, target: &Path) -> Result<(), BackupError> {
    let source = sqlite_path(database_url)?;
    if target.exists() {
        return Err(BackupError::TargetExists(target.into()));
    }
    if !source.exists() {
        return Err(BackupError::NoDatabase(source));
    }
    let partial = partial_name(target)?;
    let copied = async {
        // Read-only: a backup must never be what changes the database it copies.
        let mut conn = SqliteConnectOptions::new()
            .filename(&source)
            .read_only(true)
            .busy_timeout(std::time::Duration::from_secs(30))
            .connect()
            .await
            .map_err(|e| BackupError::Io(format!("cannot open {}: {e}", source.display())))?;
        let into = partial.to_str().ok_or_else(|| BackupError::Io("the backup path is not UTF-8".into()))?;
        sqlx::query("vacuum into ?")
            .bind(into)
            .execute(&mut conn)
            .await
            .map_err(|e| BackupError::Io(format!("cannot copy the database: {e}")))?;
        conn.close().await.map_err(|e| BackupError::Io(e.to_string()))?;
        sync_file(&partial)
    }
    .await;
    if let Err(e) = copied {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    link_into_place(&partial, target)
}

/// Checks that `file` is a SQLite database with Hourmark's migrations table and register.
async fn check_hourmark_file(file: &Path) -> Result<(), BackupError> {
    let not = |why: String| BackupError::NotHourmark { path: file.into(), why };
    if !file.is_file() {
        return Err(not("there is no such file".into()));
    }
    let mut conn = SqliteConnectOptions::new()
        .filename(file)
        .read_only(true)
        .connect()
        .await
        .map_err(|e| not(format!("it does not open ({e})")))?;
    let checked = async {
        let ok: String = sqlx::query_scalar("pragma quick_check")
            .fetch_one(&mut conn)
            .await
            .map_err(|e| not(format!("it does not read as SQLite ({e})")))?;
        if ok != "ok" {
            return Err(not(format!("SQLite's check fails: {ok}")));
        }
        for table in ["_sqlx_migrations", "register_entry"] {
            let found = sqlx::query("select 1 from sqlite_master where type = 'table' and name = ?")
                .bind(table)
                .fetch_optional(&mut conn)
                .await
                .map_err(|e| not(e.to_string()))?;
            if found.is_none() {
                return Err(not(format!("it has no {table} table")));
            }
        }
        let failed = sqlx::query("select version from _sqlx_migrations where not success limit 1")
            .fetch_optional(&mut conn)
            .await
            .map_err(|e| not(e.to_string()))?;
        if let Some(row) = failed {
            let version: i64 = row.try_get(0).map_err(|e| not(e.to_string()))?;
            return Err(not(format!("its migration {version} did not finish")));
        }
        Ok(())
    }
    .await;
    let _ = conn.close().await;
    checked
}

/// Restores the backup `file` as the database `database_url` names. Refuses a file that
/// is not a Hourmark database, and an existing database unless `force` (which the caller
/// may give only with every server on it stopped: its WAL files are removed too, since a
/// stale WAL replayed onto another database would corrupt it).
pub async fn restore_sqlite(file: &Path, database_url: &str, force: bool) -> Result<PathBuf, BackupError> {
    let target = sqlite_path(database_url)?;
    check_hourmark_file(file).await?;
    if target.exists() && !force {
        return Err(BackupError::DatabaseExists(target));
    }
    if let Some(parent) = target.parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)
            .map_err(|e| BackupError::Io(format!("cannot create {}: {e}", parent.display())))?;
    }
    let partial = partial_name(&target)?;
    if let Err(e) = std::fs::copy(file, &partial)
        .map_err(|e| BackupError::Io(format!("cannot copy {}: {e}", file.display())))
        .and_then(|_| sync_file(&partial))
    {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    if force {
        for suffix in ["-wal", "-shm"] {
            let mut side = target.clone().into_os_string();
            side.push(suffix);
            match std::fs::remove_file(&side) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    let _ = std::fs::remove_file(&partial);
                    return Err(BackupError::Io(format!("cannot remove {}: {e}", PathBuf::from(side).display())));
                }
            }
        }
        std::fs::rename(&partial, &target).map_err(|e| {
            let _ = std::fs::remove_file(&partial);
            BackupError::Io(format!("cannot replace {}: {e}", target.display()))
        })?;
    } else {
        link_into_place(&partial, &target).map_err(|e| match e {
            BackupError::TargetExists(t) => BackupError::DatabaseExists(t),
            other => other,
        })?;
    }
    Ok(target)
}

//! How storage failed, in the store's own words: the domain sees a [`StorageError`]
//! (a conflict on a named constraint, an outage, or something else), never the driver's
//! error. Which driver errors are outages is decided here, once for both engines.

/// How storage failed, without the driver's types: the domain needs to know only whether
/// a named unique constraint refused the write (to answer with its own code), whether the
/// database is unreachable right now (503: retry with the same nonce), or neither.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    /// A unique constraint refused the write: PostgreSQL's constraint name, or SQLite's
    /// message (which names the table and columns).
    #[error("storage conflict on {0}")]
    Conflict(String),
    /// Not reachable right now: lost connections, a closed or exhausted pool, connection
    /// failures, shutdown, serialization conflicts, a busy SQLite file.
    #[error("storage unavailable: {0}")]
    Outage(String),
    /// Anything else (logged, answered as `internal`).
    #[error("storage: {0}")]
    Other(String),
}

impl StorageError {
    /// Whether a unique constraint whose name (or SQLite message) contains `name` refused
    /// the write.
    pub fn is_conflict_on(&self, name: &str) -> bool {
        matches!(self, Self::Conflict(what) if what.contains(name))
    }
}

impl From<sqlx::Error> for StorageError {
    fn from(e: sqlx::Error) -> Self {
        let error = if let sqlx::Error::Database(db) = &e
            && db.kind() == sqlx::error::ErrorKind::UniqueViolation
        {
            Self::Conflict(db.constraint().map(str::to_owned).unwrap_or_else(|| db.message().to_owned()))
        } else if is_outage(&e) {
            Self::Outage(e.to_string())
        } else {
            Self::Other(e.to_string())
        };
        let kind = match error {
            Self::Conflict(_) => "conflict",
            Self::Outage(_) => "outage",
            Self::Other(_) => "other",
        };
        metrics::counter!(crate::metrics::STORAGE_ERRORS, "kind" => kind).increment(1);
        error
    }
}

/// Whether a driver error means "not reachable right now" rather than "this request is
/// wrong": lost connections, a closed or exhausted pool, and the SQLSTATE classes for
/// connection failures, shutdown and serialization conflicts (SQLite: busy, locked).
/// A full disk is one too (PostgreSQL's `disk_full`; SQLite's `SQLITE_FULL`, and its
/// I/O errors, which is how a write refused by the system shows): nothing about the
/// request is wrong, it can be retried with its nonce once there is space again.
fn is_outage(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(db) => {
            db.code().is_some_and(|c| {
                c.starts_with("08")
                    || c.starts_with("57P0")
                    || c == "40001"
                    || c == "40P01"
                    || c == "53300"
                    || c == "53100"
                    || c == "5"
                    || c == "6"
            }) || is_sqlite_out_of_space(db.as_ref())
        }
        _ => false,
    }
}

/// Whether SQLite failed to write: `SQLITE_FULL` (13) or any `SQLITE_IOERR` (10, with
/// its extended codes `10 + 256·n`). SQLite reports extended codes, and only SQLite's are
/// read so, since a numeric PostgreSQL SQLSTATE could share the low byte.
fn is_sqlite_out_of_space(db: &dyn sqlx::error::DatabaseError) -> bool {
    db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some()
        && db.code().and_then(|c| c.parse::<u32>().ok()).is_some_and(|code| matches!(code & 0xff, 10 | 13))
}

/// Whether a driver error is a unique-constraint violation (both engines report it so).
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.kind() == sqlx::error::ErrorKind::UniqueViolation)
}

//! Storage: one trait, two engines.
//!
//! PostgreSQL is the production store; SQLite is the embedded default, so Hourmark runs on
//! a bare machine. Both implement [`Store`] with the same behaviour (the end-to-end suite
//! runs against each), and each is free to use its engine's strengths on the hot path:
//! PostgreSQL inserts a whole batch of scans with one `unnest` statement, SQLite with one
//! multi-row insert on its single writer connection.
//!
//! [`Store`] is the supertrait of one narrow trait per area (scans, staff, publicity, …).
//! An area's trait is in `store/<area>.rs`, and its implementation is written once for
//! both engines in `shared/<area>.rs`. That file is mounted twice, inside `postgres.rs`
//! and inside `sqlite.rs` (`#[path]`), and each mount sees that engine's names:
//!
//! - `Engine`, `Db`, `Conn` and `DbRow`: the store, the database, a connection, a row;
//! - `reader()` and `writer()`: the pools reads and writes go to (one pool on PostgreSQL,
//!   the reader pool and the single writer on SQLite);
//! - the macros `member_of!` (a value in a bound [`codec::List`]), `for_update!`,
//!   `skip_locked!` and `one_day!`, which write the few words the engines spell differently;
//! - `serialise`, which holds a [`Serialised`] write for the rest of a transaction (an
//!   advisory lock on PostgreSQL; SQLite's single writer already does).
//!
//! Times cross into either engine as [`codec::Stamp`] (`timestamptz` or milliseconds), and
//! integers are read at PostgreSQL's width (SQLite reads any width). What only one engine
//! can say stays in its own folder: the batch insert of scans (`unnest` against a
//! multi-row insert) and the cursor after it (snapshot horizon against row number), and the
//! roster import's staging (`postgres/exchange.rs`, `sqlite/exchange.rs`). A `dyn Store`
//! calls every area's methods without the area traits in scope.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::attendance::Direction;
use crate::error::CoreError;
use crate::error::ErrorCode;
use crate::identity::{Principal, TokenHash};

mod activities;
mod audit;
pub mod backup;
mod calendar;
mod cancellations;
mod certificates;
mod codec;
mod corrections;
pub mod exchange;
pub mod my_hours;
mod notifications;
mod organisations;
mod postgres;
mod publicity;
mod record;
pub mod region_volunteers;
mod register;
pub mod retention;
mod review;
mod scans;
mod session_corrections;
mod sessions;
mod signups;
pub mod sms_code;
// The area files in `shared/` are mounted in both engines' modules, once with PostgreSQL's
// names and once with SQLite's: that is how each area's SQL is written only once.
#[allow(clippy::duplicate_mod)]
mod sqlite;
mod staff;
mod stars;
mod time_bank;
mod volunteers;

pub use activities::ActivityStore;
pub use audit::AuditStore;
pub use calendar::CalendarStore;
mod trainings;

pub use cancellations::CancellationStore;
pub use certificates::CertificateStore;
pub use corrections::CorrectionStore;
pub use exchange::ExchangeStore;
pub use notifications::NotificationStore;
pub use organisations::OrganisationStore;
pub use postgres::PostgresStore;
pub use publicity::PublicityStore;
pub use record::RecordStore;
pub use register::RegisterStore;
pub use review::ReviewStore;
pub use scans::ScanStore;
pub use session_corrections::SessionCorrectionStore;
pub use sessions::SessionStore;
pub use signups::SignupStore;
pub use sqlite::SqliteStore;
pub use staff::StaffStore;
pub use stars::StarStore;
pub use time_bank::TimeBankStore;
pub use trainings::TrainingStore;
pub use volunteers::VolunteerStore;

/// Shorthand for store results.
pub type StoreResult<T> = Result<T, CoreError>;

/// A scan to record, accepted or refused, with the answer the volunteer gets.
#[derive(Debug, Clone, PartialEq)]
pub struct NewScan {
    /// Assigned by the server before the write (UUIDv7: time-ordered).
    pub id: Uuid,
    /// Who scanned.
    pub volunteer_id: i64,
    /// The client's idempotency key; unique per volunteer.
    pub client_nonce: Uuid,
    /// The activity the code named, when the code could be read.
    pub activity_id: Option<i64>,
    /// The gate the code named.
    pub gate: Option<u8>,
    /// Set for accepted scans only.
    pub direction: Option<Direction>,
    /// For accepted scans: the volunteer's accepted scans at the activity before this one,
    /// plus one. Unique per (activity, volunteer), so a decision made on a state another
    /// instance has already moved on from cannot be written (see `attendance::scan`).
    pub seq: Option<u32>,
    /// `checked_in`, `checked_out`, or the refusal's error code.
    pub outcome: String,
    /// When the server took the scan; for a late upload, the scan time the phone claimed.
    pub server_time: DateTime<Utc>,
    /// For a late upload only: when it reached the server (see `attendance::offline`).
    pub uploaded_at: Option<DateTime<Utc>>,
    /// What the phone's clock said.
    pub client_time: Option<DateTime<Utc>>,
    /// The code's time window.
    pub code_window: Option<u32>,
    /// The key id the code was signed with.
    pub key_id: Option<u8>,
    /// Distance from the activity's location, metres. The position itself is not kept.
    pub distance_m: Option<f64>,
    /// The phone's reported accuracy, metres.
    pub accuracy_m: Option<f64>,
    /// The geofence verdict, when a location was used.
    pub geofence: Option<crate::geo::Geofence>,
    /// The device the scan came from.
    pub device_id: Option<String>,
    /// A keyed digest of the client's network address (never the address).
    pub network: Option<String>,
    /// The exact answer, replayed for a retry with the same nonce.
    pub answer: StoredAnswer,
}

/// An answer as sent: HTTP status and JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAnswer {
    /// HTTP status.
    pub status: u16,
    /// The JSON body, verbatim.
    pub body: String,
}

/// An accepted scan, as the minutes derivation and the live board read it.
#[derive(Debug, Clone, PartialEq)]
pub struct AcceptedScan {
    /// The scan's id.
    pub id: Uuid,
    /// Who.
    pub volunteer_id: i64,
    /// Their name.
    pub volunteer_name: String,
    /// When the server took it.
    pub at: DateTime<Utc>,
    /// In or out.
    pub direction: Direction,
    /// The gate it was taken at.
    pub gate: Option<u8>,
}

/// Everything Hourmark keeps, behind one interface: every area's trait, one a line (so areas
/// added in parallel merge without conflict), and the migrations.
#[async_trait]
pub trait Store:
    CertificateStore
    + ExchangeStore
    + StarStore
    + TimeBankStore
    + SignupStore
    + TrainingStore
    + CancellationStore
    + sms_code::SmsCodeStore
    + my_hours::MyHoursStore
    + region_volunteers::RegionVolunteerStore
    + CalendarStore
    + StaffStore
    + SessionStore
    + OrganisationStore
    + ActivityStore
    + VolunteerStore
    + CorrectionStore
    + ScanStore
    + ReviewStore
    + SessionCorrectionStore
    + RecordStore
    + NotificationStore
    + PublicityStore
    + RegisterStore
    + AuditStore
    + retention::RetentionStore
    + Send
    + Sync
    + std::fmt::Debug
{
    /// Applies pending migrations.
    async fn migrate(&self) -> StoreResult<()>;
    /// The versions of this build's migrations the database has not applied (empty when
    /// it is up to date). Fails when the database does not answer.
    async fn pending_migrations(&self) -> StoreResult<Vec<i64>>;
}

/// Where a reader of an activity's accepted scans got to, for
/// [`ScanStore::accepted_scans_after`]. Each engine gives it its own meaning: on PostgreSQL the
/// oldest transaction still running when the scans were read (every transaction before it
/// had finished, so nothing older can still appear); on SQLite, whose one writer commits
/// in row order, the last row read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanCursor(pub i64);

/// An accepted scan and its number in its volunteer's order at the activity (1, 2, …).
#[derive(Debug, Clone)]
pub struct NumberedScan {
    /// The scan.
    pub scan: AcceptedScan,
    /// Its number: one more than the volunteer's previous accepted scan there.
    pub seq: u32,
}

/// A stored session (bearer token) as its owner may see it: never the token itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSession {
    /// The token's hash.
    pub hash: TokenHash,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// A console session's idle limit, minutes.
    pub idle_minutes: Option<u32>,
    /// A console session's last use.
    pub last_seen_at: Option<DateTime<Utc>>,
}

/// The owner column and id of a principal's tokens.
fn token_owner(principal: &Principal) -> (&'static str, i64) {
    match principal {
        Principal::Staff { id, .. } => ("staff_id", *id),
        Principal::Volunteer { id } => ("volunteer_id", *id),
    }
}

fn hash_from(bytes: Vec<u8>) -> StoreResult<TokenHash> {
    bytes.try_into().map_err(|_| corrupt("token hash"))
}

/// The up migrations of `migrator` whose versions are not in `applied`.
fn pending(migrator: &sqlx::migrate::Migrator, applied: &[i64]) -> Vec<i64> {
    migrator
        .iter()
        .filter(|m| !m.migration_type.is_down_migration() && !applied.contains(&m.version))
        .map(|m| m.version)
        .collect()
}

/// Opens the store a URL names: `postgres://…` / `postgresql://…`, or `sqlite:…`.
pub async fn connect(url: &str) -> StoreResult<Arc<dyn Store>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PostgresStore::connect(url).await?))
    } else if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect(url).await?))
    } else {
        Err(CoreError::Internal(format!(
            "unsupported database URL scheme in {:?}: use postgres:// or sqlite:",
            url.split(':').next().unwrap_or_default()
        )))
    }
}

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

impl From<sqlx::Error> for CoreError {
    fn from(e: sqlx::Error) -> Self {
        Self::Storage(e.into())
    }
}

impl From<sqlx::migrate::MigrateError> for CoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        Self::Storage(StorageError::Other(format!("migration: {e}")))
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

/// Maps a unique violation on the volunteer table to its refusal. PostgreSQL names the
/// constraint; SQLite names the column in its message. A taken volunteer number stays a
/// storage conflict (`volunteer_number`), for the caller to draw another.
fn volunteer_conflict(e: sqlx::Error) -> CoreError {
    let e = StorageError::from(e);
    if e.is_conflict_on("wechat_binding") {
        CoreError::code(ErrorCode::WechatAlreadyBound)
    } else if e.is_conflict_on("id_number") {
        CoreError::code(ErrorCode::IdNumberTaken)
    } else if e.is_conflict_on("phone") {
        CoreError::code(ErrorCode::PhoneTaken)
    } else {
        CoreError::Storage(e)
    }
}

fn skills_json(skills: &[String]) -> String {
    serde_json::to_string(skills).unwrap_or_else(|_| "[]".to_owned())
}

fn parse_skills(json: &str) -> StoreResult<Vec<String>> {
    serde_json::from_str(json).map_err(|_| corrupt("skills"))
}

/// Whether a driver error is a unique-constraint violation (both engines report it so).
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.kind() == sqlx::error::ErrorKind::UniqueViolation)
}

/// Parses a stored direction.
fn parse_direction(s: &str) -> StoreResult<Direction> {
    Direction::parse(s).ok_or_else(|| CoreError::Internal(format!("stored direction {s:?}")))
}

/// Writes that must not run two at a time, each in its own transaction until it ends
/// (an engine's `serialise`). PostgreSQL takes an advisory lock; SQLite's single writer
/// already runs one write transaction at a time.
#[derive(Debug, Clone, Copy)]
enum Serialised {
    /// The first administrator's bootstrap: only one may be created.
    Bootstrap = 7_240_001,
    /// Appending to the register's hash chain.
    RegisterAppend = 7_240_002,
    /// Gathering an organisation's register entries into a report batch.
    ReportBatch = 7_240_003,
}

fn corrupt(what: &str) -> CoreError {
    CoreError::Internal(format!("stored {what} does not parse"))
}

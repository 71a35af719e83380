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
//! roster import's staging and publishing (`postgres/roster_import.rs`,
//! `sqlite/roster_import.rs`). A `dyn Store` calls every area's methods without the area
//! traits in scope.
//!
//! This file only declares and re-exports, so that the modules below import one another
//! in one direction: the area traits (`<area>.rs`) over the domain's types, [`Store`]
//! over them (`contract.rs`), the engines over that, and [`connect`] (`open.rs`) over the
//! engines. How storage fails ([`StorageError`], `error.rs`) and how values cross into
//! the engines (`codec.rs`) are below them all.

mod activities;
mod audit;
pub mod backup;
mod calendar;
mod cancellations;
mod certificates;
mod codec;
mod contract;
mod corrections;
pub mod error;
pub mod exchange;
pub mod my_hours;
mod notifications;
mod open;
mod organisations;
mod postgres;
#[doc(hidden)]
pub use postgres::{ACCEPTED_SCANS, POSTGRES_NUMBERED_SCANS_AFTER};
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
pub use contract::Store;
pub(crate) use contract::{Serialised, pending};
pub use corrections::CorrectionStore;
pub use error::StorageError;
pub(crate) use error::is_unique_violation;
pub use exchange::ExchangeStore;
pub use notifications::NotificationStore;
pub use open::connect;
pub use organisations::OrganisationStore;
pub use postgres::PostgresStore;
pub use publicity::PublicityStore;
pub use record::RecordStore;
pub use register::RegisterStore;
pub use review::{FlaggedDays, ReviewStore};
pub use scans::ScanStore;
pub use scans::{AcceptedScan, NewScan, NumberedScan, ScanCursor, StoredAnswer};
pub use session_corrections::SessionCorrectionStore;
pub use sessions::SessionStore;
pub use sessions::StoredSession;
pub use signups::SignupStore;
pub use sqlite::SqliteStore;
pub use staff::StaffStore;
pub use stars::StarStore;
pub use time_bank::TimeBankStore;
pub use trainings::TrainingStore;
pub use volunteers::{NewRegistration, VolunteerStore};

pub use crate::error::StoreResult;
pub(crate) use codec::{
    corrupt, hash_from, parse_direction, parse_skills, skills_json, token_owner, volunteer_conflict,
};

//! Exchange and roster storage: a narrow trait, implemented once for both engines in
//! `shared/exchange.rs`, except the roster import's staging and publishing, which each
//! engine writes in its own `roster_import.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreResult;
use crate::audit::AuditEvent;
use crate::exchange::{ExchangeExport, ExchangeKind, NewExchangeExport};
use crate::publicity::RegisterRow;
use crate::roster::import::NewRosterImport;
use crate::roster::import::PastRosterImport;
use crate::roster::{RosterEntry, RosterImportRecord};

/// Rows of a roster published per transaction on SQLite: short enough (well under a second
/// in a debug build) that a scan waiting for the single writer is not held long.
pub const PUBLISH_SLICE: i64 = 2_000;

/// Roster links `m` every reader may see: not those of an import still publishing or
/// failed (volunteers have the view `visible_volunteer` for the same rule).
pub(crate) const VISIBLE_ROSTER_MEMBER: &str = "(m.roster_import_id is null or exists (select 1 from roster_import i
                                 where i.id = m.roster_import_id and i.state = 'published'))";

/// A registered volunteer found by keyed hash: (id, ID-number hash, phone hash).
pub type KnownVolunteer = (i64, [u8; 32], [u8; 32]);

/// What exchange with the national system and roster imports keep.
#[async_trait]
pub trait ExchangeStore: Send + Sync {
    /// Registered volunteers whose ID-number hash is one of `ids` or whose phone hash is
    /// one of `phones`.
    async fn volunteers_by_lookups(&self, ids: &[[u8; 32]], phones: &[[u8; 32]]) -> StoreResult<Vec<KnownVolunteer>>;
    /// Stages one chunk of a roster under `staging_key`, at positions from `first`, in its
    /// own short transaction; nothing staged is visible outside the staging table. A new
    /// volunteer's number already taken (registered or staged) is drawn again.
    async fn stage_roster(
        &self,
        staging_key: &str,
        first: u32,
        entries: Vec<RosterEntry>,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Publishes what is staged under `staging_key`: the import record and its audit entry,
    /// each new volunteer with their consents (recorded at the import's time), and every
    /// row's roster membership. All or nothing as every reader sees it: on PostgreSQL one
    /// transaction; on SQLite slices of [`PUBLISH_SLICE`] rows, each its own transaction,
    /// invisible (the import `publishing`) until a last short transaction flips the import
    /// to `published`. A failure part way sets the import `failed` and leaves its rows,
    /// invisible, for [`ExchangeStore::discard_failed_roster_rows`]. The staged rows stay
    /// until [`ExchangeStore::discard_roster_staging`].
    async fn publish_roster(&self, staging_key: &str, import: &NewRosterImport) -> StoreResult<RosterImportRecord>;
    /// Records an import refused for its rows (`refused` of them): state `refused`, nobody
    /// registered or linked, no audit entry (nothing changed).
    async fn record_refused_roster_import(
        &self,
        import: &NewRosterImport,
        refused: u32,
    ) -> StoreResult<RosterImportRecord>;
    /// The organisation's latest `limit` imports, newest first, in every state, with the
    /// name of who made each.
    async fn roster_imports(&self, organisation_id: i64, limit: i64) -> StoreResult<Vec<PastRosterImport>>;
    /// Deletes up to `limit` rows staged under `staging_key` (each call a short
    /// transaction) → how many went.
    async fn discard_roster_staging(&self, staging_key: &str, limit: i64) -> StoreResult<u64>;
    /// Sets imports still `publishing` to `failed`: the one staged under `staging_key`, or
    /// every one (`None`, at start-up: the process that published them is gone) → how many.
    async fn abandon_roster_imports(&self, staging_key: Option<&str>) -> StoreResult<u64>;
    /// Deletes up to `limit` rows (consents, roster links, then volunteers) written by
    /// `failed` imports, each call a short transaction → how many went. Nobody ever saw
    /// them: they are not visible while their import is not `published`.
    async fn discard_failed_roster_rows(&self, limit: i64) -> StoreResult<u64>;

    /// What could go in the organisation's next export of `kind`, in order, each with the
    /// volunteer whose consent decides it (none for activities): confirmed (in a confirmed
    /// batch; only `batch_id`'s when given) and not yet exported by the organisation.
    /// Volunteers are those on the roster and those with confirmed entries.
    async fn exchange_candidates(
        &self,
        organisation_id: i64,
        kind: ExchangeKind,
        batch_id: Option<i64>,
    ) -> StoreResult<Vec<(i64, Option<i64>)>>;
    /// Records an export with its items and audit entry; a subject another export took
    /// meanwhile is left out. `None` (nothing written) when none is left.
    async fn record_exchange_export(
        &self,
        new: &NewExchangeExport,
        subjects: &[i64],
        audit: &AuditEvent,
    ) -> StoreResult<Option<ExchangeExport>>;
    /// The organisation's exports, newest first.
    async fn exchange_exports(&self, organisation_id: i64) -> StoreResult<Vec<ExchangeExport>>;
    /// One export.
    async fn exchange_export(&self, id: i64) -> StoreResult<Option<ExchangeExport>>;
    /// A page of an export's items: (position, subject) after `after`, in order.
    async fn exchange_export_items(&self, export_id: i64, after: i64, limit: i64) -> StoreResult<Vec<(i64, i64)>>;
    /// The register entries with these sequence numbers.
    async fn register_rows(&self, seqs: &[i64]) -> StoreResult<Vec<RegisterRow>>;
}

/// A new volunteer's paper consents as staged: a JSON list of
/// `{purpose, granted, notice_version}` (the time is the import's).
pub(crate) fn staged_consents(consents: &[crate::identity::ConsentRecord]) -> String {
    let list: Vec<serde_json::Value> = consents
        .iter()
        .map(|c| {
            serde_json::json!({"purpose": c.purpose.as_str(), "granted": c.granted, "notice_version": c.notice_version})
        })
        .collect();
    serde_json::Value::Array(list).to_string()
}

/// The columns a past import is read with (`i` the import, `s` its staff member).
pub(crate) const PAST_IMPORT_COLUMNS: &str = "i.id, i.organisation_id, i.imported_by, i.file_digest, i.data_rows, \
     i.registered, i.linked, i.refused_rows, i.file_name, i.state, i.created_at, s.name as imported_by_name";

/// A roster import's record as [`ExchangeStore::publish_roster`] and
/// [`ExchangeStore::record_refused_roster_import`] answer it.
pub(crate) fn import_record(
    id: i64,
    import: &NewRosterImport,
    refused_rows: u32,
    state: crate::roster::import::RosterImportState,
) -> RosterImportRecord {
    let (rows, registered, linked) = import.counts;
    RosterImportRecord {
        id,
        organisation_id: import.organisation_id,
        imported_by: import.imported_by,
        file_digest: import.file_digest.clone(),
        rows,
        registered,
        linked,
        refused_rows,
        file_name: import.file_name.clone(),
        state,
        created_at: import.at,
    }
}

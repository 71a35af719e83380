//! The roster use cases: the dry run and the all-or-nothing import.
//!
//! ```text
//! upload ─► pass 1 (blocking thread: read row, check, keyed hashes) ─► chunks of 500 ─►
//!           async: duplicates in the file, lookups against registered volunteers
//!           └─► report (the dry run ends here; an import with any refusal stops here)
//!       ─► pass 2 (blocking thread: read again, seal ID and phone) ─► chunks ─►
//!           store: each chunk staged in its own short transaction (roster_staging)
//!       ─► publish: the roster, its volunteers, their paper consents, rows naming the
//!           import (PostgreSQL: one transaction; SQLite: slices of 2,000 rows, then one
//!           short transaction flips the import to `published`)
//!       ─► staged rows discarded (after the publish, or after a failure); a failed
//!           publish's rows deleted in short deletes
//! ```
//!
//! Staging and slicing keep "all or nothing" as seen from outside: nothing staged is
//! visible, and a published row is visible only once its import is `published` (readers
//! go through `visible_volunteer`). Both exist for SQLite's single writer: a 100,000-row
//! import in one transaction held it for the import's whole length, and scans waited; now
//! they wait at most for one chunk or one slice. What a failed or cut-off import left is
//! deleted by the import itself, by the next import, or at start-up
//! ([`Hourmark::recover_roster_imports`]).
//!
//! Memory stays bounded by the file itself plus two keyed hashes per row: rows are never
//! collected, chunks flow through a channel of two.

use std::collections::HashMap;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::mpsc;
use utoipa::ToSchema;

use super::sheet::{SheetEncoding, read_rows};
use super::{RosterLayout, RosterReport, RowProblem, RowRefusal, ValidRow, validate_row};
use crate::audit::AuditEvent;
use crate::error::{CoreError, ErrorCode};
use crate::hourmark::Hourmark;
use crate::identity::pii::{PiiField, PiiVault};
use crate::identity::{ConsentPurpose, ConsentRecord, Principal, StaffRole, StoredVolunteer};

/// Rows per chunk between the reading thread and the database.
const CHUNK: usize = 500;

/// Where a roster import stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RosterImportState {
    /// Being published (SQLite, in slices): none of it visible yet.
    Publishing,
    /// Imported: its volunteers are registered and on the roster.
    Published,
    /// Failed part way (someone registered one of its ID numbers meanwhile, or the server
    /// stopped): nothing of it was ever visible, and what it wrote is deleted.
    Failed,
    /// Refused for its rows (`roster_invalid`): nothing was written but this record.
    Refused,
}

crate::stored_names!(RosterImportState {
    Publishing => "publishing",
    Published => "published",
    Failed => "failed",
    Refused => "refused",
});

/// The longest file name kept with an import, in characters.
pub const FILE_NAME_MAX: usize = 255;

/// A recorded roster import.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RosterImportRecord {
    /// Its id.
    pub id: i64,
    /// The organisation whose roster it is.
    pub organisation_id: i64,
    /// Who imported it (staff id).
    pub imported_by: i64,
    /// SHA-256 of the file, hex.
    pub file_digest: String,
    /// Data rows.
    pub rows: u32,
    /// Volunteers registered by it.
    pub registered: u32,
    /// Volunteers already registered, linked to the roster.
    pub linked: u32,
    /// Rows refused by the checks (only a refused import has any).
    pub refused_rows: u32,
    /// The file's name as the uploader's browser gave it, if it did.
    pub file_name: Option<String>,
    /// Where it stands.
    pub state: RosterImportState,
    /// When.
    #[serde(with = "crate::activity::shanghai_time")]
    #[schema(value_type = String)]
    pub created_at: DateTime<Utc>,
}

/// One of an organisation's past imports, with who made it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PastRosterImport {
    /// The import.
    #[serde(flatten)]
    pub import: RosterImportRecord,
    /// The name of the staff member who made it.
    pub imported_by_name: String,
}

/// One roster row as the store writes it.
#[derive(Debug)]
pub enum RosterEntry {
    /// A volunteer to register, with the consents they gave on paper.
    New {
        /// The volunteer (number assigned; the store draws another if it is taken).
        volunteer: Box<StoredVolunteer>,
        /// Their consents.
        consents: Vec<ConsentRecord>,
    },
    /// A registered volunteer, linked to the roster.
    Existing {
        /// Who.
        volunteer_id: i64,
    },
}

/// What the store keeps of an import besides its rows.
#[derive(Debug, Clone)]
pub struct NewRosterImport {
    /// Whose roster.
    pub organisation_id: i64,
    /// Who imported it.
    pub imported_by: i64,
    /// SHA-256 of the file, hex.
    pub file_digest: String,
    /// The file's name, as the uploader gave it (checked).
    pub file_name: Option<String>,
    /// Data rows, volunteers to register, volunteers to link.
    pub counts: (u32, u32, u32),
    /// When.
    pub at: DateTime<Utc>,
    /// The audit entry.
    pub audit: AuditEvent,
}

/// A checked row with its keyed hashes.
struct Parsed {
    row: ValidRow,
    id_lookup: [u8; 32],
    phone_lookup: [u8; 32],
}

fn id_lookup(vault: &PiiVault, row: &ValidRow) -> [u8; 32] {
    // As registration computes it: the document type is part of what is unique.
    vault.lookup(PiiField::IdNumber, &format!("{}:{}", row.id_number.id_type().as_str(), row.id_number.as_str()))
}

/// Reads the file on a blocking thread, sending checked rows in chunks. `into` turns each
/// chunk into what the receiver wants (pass 1: as is; pass 2: store entries).
fn read_in_background<T: Send + 'static>(
    bytes: Bytes,
    encoding: SheetEncoding,
    today: chrono::NaiveDate,
    vault: PiiVault,
    capacity: usize,
    into: impl Fn(Vec<Result<Parsed, RowRefusal>>) -> Result<T, CoreError> + Send + 'static,
) -> mpsc::Receiver<Result<T, CoreError>> {
    let (tx, rx) = mpsc::channel(capacity);
    tokio::task::spawn_blocking(move || {
        let mut layout: Option<RosterLayout> = None;
        let mut chunk = Vec::with_capacity(CHUNK);
        let stopped = || CoreError::Internal("roster reader: receiver gone".into());
        let result = read_rows(&bytes, encoding, |number, cells| {
            let Some(layout) = layout.as_ref() else {
                layout = Some(RosterLayout::roster(&cells)?);
                return Ok(());
            };
            let parsed = validate_row(layout, number, &cells, today).map(|row| Parsed {
                id_lookup: id_lookup(&vault, &row),
                phone_lookup: vault.lookup(PiiField::Phone, &row.phone),
                row,
            });
            chunk.push(parsed);
            if chunk.len() == CHUNK {
                let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK));
                tx.blocking_send(into(full)).map_err(|_| stopped())?;
            }
            Ok(())
        });
        let last = match result {
            Ok(()) if layout.is_none() => Err(CoreError::refused(ErrorCode::RosterFormat, "文件没有表头行")),
            Ok(()) => into(chunk),
            Err(e) => Err(e),
        };
        let _ = tx.blocking_send(last);
    });
    rx
}

/// What pass 1 leaves for pass 2: the registered volunteers found, by keyed ID hash.
type Registered = HashMap<[u8; 32], i64>;

impl Hourmark {
    /// The staff id of whoever may import the organisation's roster: its organisers and
    /// administrators.
    async fn roster_importer(&self, by: &Principal, organisation_id: i64) -> Result<i64, CoreError> {
        let staff_id = match by {
            Principal::Staff { id, role: StaffRole::Administrator, .. } => *id,
            Principal::Staff { id, role: StaffRole::Organiser, organisation_id: Some(org) }
                if *org == organisation_id =>
            {
                *id
            }
            Principal::Staff { organisation_id: Some(org), .. } if *org == organisation_id => {
                return Err(CoreError::refused(ErrorCode::Forbidden, "花名册由本组织的组织者导入"));
            }
            Principal::Staff { role: StaffRole::Officer, .. } | Principal::Volunteer { .. } => {
                return Err(CoreError::refused(ErrorCode::Forbidden, "花名册由本组织的组织者导入"));
            }
            Principal::Staff { .. } => return Err(CoreError::refused(ErrorCode::NotFound, "没有这个组织")),
        };
        self.store()
            .get_organisation(organisation_id)
            .await?
            .ok_or_else(|| CoreError::refused(ErrorCode::NotFound, "没有这个组织"))?;
        Ok(staff_id)
    }

    fn today(&self) -> chrono::NaiveDate {
        self.now().with_timezone(&chrono_tz::Asia::Shanghai).date_naive()
    }

    /// Checks a roster without writing anything: every refused row and why, and how many
    /// volunteers it would register or link.
    pub async fn roster_dry_run(
        &self,
        by: &Principal,
        organisation_id: i64,
        file: Bytes,
        encoding: SheetEncoding,
    ) -> Result<RosterReport, CoreError> {
        self.roster_importer(by, organisation_id).await?;
        Ok(self.check_roster(file, encoding).await?.0)
    }

    async fn check_roster(
        &self,
        file: Bytes,
        encoding: SheetEncoding,
    ) -> Result<(RosterReport, Registered), CoreError> {
        let mut chunks = read_in_background(file, encoding, self.today(), self.vault().clone(), 2, Ok);
        let mut report = RosterReport::default();
        let mut seen_ids: HashMap<[u8; 32], u32> = HashMap::new();
        let mut seen_phones: HashMap<[u8; 32], u32> = HashMap::new();
        let mut registered = Registered::new();
        while let Some(chunk) = chunks.recv().await {
            let chunk = chunk?;
            let ids: Vec<[u8; 32]> = chunk.iter().filter_map(|p| p.as_ref().ok().map(|p| p.id_lookup)).collect();
            let phones: Vec<[u8; 32]> = chunk.iter().filter_map(|p| p.as_ref().ok().map(|p| p.phone_lookup)).collect();
            let known = self.store().volunteers_by_lookups(&ids, &phones).await?;
            for parsed in chunk {
                report.rows += 1;
                let parsed = match parsed {
                    Ok(parsed) => parsed,
                    Err(refused) => {
                        report.refused.push(refused);
                        continue;
                    }
                };
                let row = parsed.row.row;
                let duplicate = |first: u32, what: &str| RowRefusal {
                    row,
                    problem: RowProblem::DuplicateInFile,
                    detail: format!("{what}与第 {first} 行重复"),
                };
                if let Some(first) = seen_ids.get(&parsed.id_lookup) {
                    report.refused.push(duplicate(*first, "证件号码"));
                    continue;
                }
                if let Some(first) = seen_phones.get(&parsed.phone_lookup) {
                    report.refused.push(duplicate(*first, "手机号码"));
                    continue;
                }
                seen_ids.insert(parsed.id_lookup, row);
                seen_phones.insert(parsed.phone_lookup, row);
                if let Some(known) = known.iter().find(|k| k.1 == parsed.id_lookup) {
                    report.already_registered += 1;
                    registered.insert(parsed.id_lookup, known.0);
                } else if known.iter().any(|k| k.2 == parsed.phone_lookup) {
                    report.refused.push(RowRefusal {
                        row,
                        problem: RowProblem::PhoneTaken,
                        detail: "该手机号码已由另一位志愿者登记".into(),
                    });
                } else {
                    report.new_volunteers += 1;
                }
            }
        }
        Ok((report, registered))
    }

    /// Imports a roster, all or nothing: a roster with any refused row is refused whole
    /// (`roster_invalid`, naming the first rows; the dry run lists them all) and nothing
    /// is written but the record of the refused attempt. Registers the new volunteers with
    /// the consents they signed on paper, links those already registered, and records the
    /// import (with `file_name`, as the uploader's browser gave it). Audited.
    pub async fn import_roster(
        &self,
        by: &Principal,
        organisation_id: i64,
        file: Bytes,
        encoding: SheetEncoding,
        file_name: Option<&str>,
    ) -> Result<RosterImportRecord, CoreError> {
        let staff_id = self.roster_importer(by, organisation_id).await?;
        let file_name = checked_file_name(file_name)?;
        let now = self.now();
        let digest = hex(ring::digest::digest(&ring::digest::SHA256, &file).as_ref());
        let (report, registered) = self.check_roster(file.clone(), encoding).await?;
        let mut new = NewRosterImport {
            organisation_id,
            imported_by: staff_id,
            file_digest: digest.clone(),
            file_name,
            counts: (report.rows, report.new_volunteers, report.already_registered),
            at: now,
            audit: AuditEvent {
                at: now,
                actor_kind: "staff".into(),
                actor_id: Some(staff_id),
                action: "roster_import".into(),
                subject_kind: "organisation".into(),
                subject_id: Some(organisation_id),
                detail: serde_json::json!({
                    "file_digest": digest,
                    "rows": report.rows,
                    "registered": report.new_volunteers,
                    "linked": report.already_registered,
                }),
            },
        };
        if !report.refused.is_empty() {
            // Kept so the desk lists the attempt; nobody is registered or linked.
            new.counts = (report.rows, 0, 0);
            let refused = u32::try_from(report.refused.len()).unwrap_or(u32::MAX);
            self.store().record_refused_roster_import(&new, refused).await?;
            let first: Vec<String> =
                report.refused.iter().take(10).map(|r| format!("第 {} 行：{}", r.row, r.detail)).collect();
            return Err(CoreError::refused(
                ErrorCode::RosterInvalid,
                format!(
                    "花名册有 {} 行未通过校验，未导入任何数据。{}{}",
                    report.refused.len(),
                    first.join("；"),
                    if report.refused.len() > 10 { "……（试运行可查看全部）" } else { "" }
                ),
            ));
        }
        if report.rows == 0 {
            return Err(CoreError::refused(ErrorCode::RosterFormat, "花名册没有数据行"));
        }
        let vault = self.vault().clone();
        let mut entries = read_in_background(file, encoding, self.today(), vault.clone(), 2, move |chunk| {
            chunk.into_iter().map(|parsed| to_entry(&vault, &registered, parsed, now)).collect()
        });
        // What an earlier import left (it failed, or was cut off) is deleted by the publish
        // itself, first, on the engine that can leave any (SQLite, under its publish lock).
        let staging = Staging::new(self.clone());
        let published = self.stage_and_publish(&staging.key, &new, &mut entries).await;
        staging.discard().await;
        published
    }

    /// Stages the chunks as they come, each in its own short transaction, then publishes
    /// them, all at once as readers see it ([`crate::store::ExchangeStore::publish_roster`]).
    async fn stage_and_publish(
        &self,
        staging_key: &str,
        import: &NewRosterImport,
        entries: &mut mpsc::Receiver<Result<Vec<RosterEntry>, CoreError>>,
    ) -> Result<RosterImportRecord, CoreError> {
        let mut staged = 0u32;
        while let Some(chunk) = entries.recv().await {
            let chunk = chunk?;
            let len = u32::try_from(chunk.len()).unwrap_or(u32::MAX);
            self.store().stage_roster(staging_key, staged, chunk, import.at).await?;
            staged = staged.saturating_add(len);
        }
        if staged != import.counts.0 {
            // The file was read twice; a different count means it changed in between.
            return Err(CoreError::Internal(format!("roster read {staged} rows, checked {}", import.counts.0)));
        }
        self.store().publish_roster(staging_key, import).await
    }

    /// The organisation's past imports, newest first (the latest [`PAST_IMPORTS`]):
    /// published, failed, refused, or being published. For those who may import it.
    pub async fn past_roster_imports(
        &self,
        by: &Principal,
        organisation_id: i64,
    ) -> Result<Vec<PastRosterImport>, CoreError> {
        self.roster_importer(by, organisation_id).await?;
        self.store().roster_imports(organisation_id, PAST_IMPORTS).await
    }

    /// At start-up: an import still `publishing` was cut off with the process that ran it
    /// (only SQLite ever leaves one, and a SQLite database has one server). It is set
    /// `failed`, and what it and any other failed import left is deleted.
    pub async fn recover_roster_imports(&self) -> Result<u64, CoreError> {
        let abandoned = self.store().abandon_roster_imports(None).await?;
        if abandoned > 0 {
            tracing::warn!(abandoned, "roster imports cut off while publishing; their rows are deleted");
        }
        try_discard_failed_rows(self).await;
        Ok(abandoned)
    }
}

/// How many past imports the list holds.
pub const PAST_IMPORTS: i64 = 100;

/// A file name as kept: trimmed, none when blank; refused when longer than
/// [`FILE_NAME_MAX`] or holding control characters (it is shown on a page and in lists).
fn checked_file_name(name: Option<&str>) -> Result<Option<String>, CoreError> {
    let Some(name) = name.map(str::trim).filter(|n| !n.is_empty()) else { return Ok(None) };
    if name.chars().count() > FILE_NAME_MAX || name.chars().any(char::is_control) {
        return Err(CoreError::refused(
            ErrorCode::InvalidParameter,
            format!("文件名不能超过 {FILE_NAME_MAX} 个字符，也不能含有控制字符"),
        ));
    }
    Ok(Some(name.to_owned()))
}

/// Rows staged per delete when discarding, so each delete is a short write.
const DISCARD: i64 = 2_000;

/// One import's staged rows. They are discarded once the import is published or has
/// failed; if the import's task is dropped part way (the client went away), they are
/// discarded in the background; if the process dies, the retention job erases them a day
/// later.
struct Staging {
    key: String,
    hourmark: Option<Hourmark>,
}

impl Staging {
    fn new(hourmark: Hourmark) -> Self {
        Self { key: uuid::Uuid::new_v4().simple().to_string(), hourmark: Some(hourmark) }
    }

    async fn discard(mut self) {
        if let Some(hourmark) = self.hourmark.take() {
            discard_staged(&hourmark, &self.key).await;
        }
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if let Some(hourmark) = self.hourmark.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let key = std::mem::take(&mut self.key);
            runtime.spawn(async move { discard_staged(&hourmark, &key).await });
        }
    }
}

async fn discard_staged(hourmark: &Hourmark, key: &str) {
    // An import whose publish was cut off here (the request went away) is failed first;
    // then what it (or a publish that failed) wrote, never visible, is deleted.
    if let Err(e) = hourmark.store().abandon_roster_imports(Some(key)).await {
        tracing::warn!(error = %e, "marking a cut-off roster import failed did not work");
    }
    try_discard_failed_rows(hourmark).await;
    loop {
        match hourmark.store().discard_roster_staging(key, DISCARD).await {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) => {
                // The retention job erases what is left, a day on.
                tracing::warn!(error = %e, "discarding a roster's staged rows failed");
                return;
            }
        }
    }
}

/// Deletes what failed imports published, in short deletes → how many rows went. What a
/// failure leaves is deleted by the next import, the retention job, or the next start.
pub(crate) async fn discard_failed_rows(hourmark: &Hourmark) -> Result<u64, CoreError> {
    let mut gone = 0;
    loop {
        match hourmark.store().discard_failed_roster_rows(DISCARD).await? {
            0 => return Ok(gone),
            n => gone += n,
        }
    }
}

/// [`discard_failed_rows`] where a failure only delays the clean-up: it is logged.
async fn try_discard_failed_rows(hourmark: &Hourmark) {
    if let Err(e) = discard_failed_rows(hourmark).await {
        tracing::warn!(error = %e, "deleting a failed roster import's rows failed");
    }
}

fn to_entry(
    vault: &PiiVault,
    registered: &Registered,
    parsed: Result<Parsed, RowRefusal>,
    now: DateTime<Utc>,
) -> Result<RosterEntry, CoreError> {
    // The file was checked a moment ago; a refusal now means it changed underneath.
    let parsed =
        parsed.map_err(|r| CoreError::refused(ErrorCode::RosterInvalid, format!("第 {} 行：{}", r.row, r.detail)))?;
    if let Some(volunteer_id) = registered.get(&parsed.id_lookup) {
        return Ok(RosterEntry::Existing { volunteer_id: *volunteer_id });
    }
    let row = parsed.row;
    let seal = |field, value: &str| vault.seal(field, value).map_err(|e| CoreError::Internal(e.to_string()));
    let volunteer = StoredVolunteer {
        id: 0,
        volunteer_number: crate::identity::registration::new_volunteer_number()?,
        name: row.name,
        gender: row.gender,
        birth_month: row.birth_month,
        id_type: row.id_number.id_type(),
        id_number_sealed: seal(PiiField::IdNumber, row.id_number.as_str())?,
        id_number_lookup: parsed.id_lookup,
        phone_sealed: seal(PiiField::Phone, &row.phone)?,
        phone_lookup: parsed.phone_lookup,
        skills: row.skills,
        device_id: None,
        device_bound_at: None,
    };
    let consents =
        [(ConsentPurpose::Record, true), (ConsentPurpose::Publicity, row.publicity), (ConsentPurpose::Location, false)]
            .into_iter()
            .map(|(purpose, granted)| ConsentRecord {
                purpose,
                granted,
                notice_version: row.notice_version.clone(),
                recorded_at: now,
            })
            .collect();
    Ok(RosterEntry::New { volunteer: Box::new(volunteer), consents })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

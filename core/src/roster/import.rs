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
use super::{RosterLayout, RowRefusal, ValidRow, validate_row};
use crate::audit::AuditEvent;
use crate::error::{CoreError, ErrorCode};
use crate::identity::pii::{PiiField, PiiVault};
use crate::identity::{ConsentPurpose, ConsentRecord, StoredVolunteer};

mod use_cases;

pub(crate) use use_cases::discard_failed_rows;

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

//! The data inventory (个人信息清单): every stored column that holds personal data, what
//! it holds, why, on which legal basis under the PIPL (个人信息保护法), who can read it,
//! how long it is kept, and how it is protected at rest.
//!
//! Declared once, here, and generated into the rest: `GET /api/v1/data-inventory` for
//! administrators and `docs/data-inventory.md` (a test checks the file matches
//! [`render_markdown`]). Another test reads the migrated schema's catalogue and fails when
//! a table gains a column that is not declared here, either as personal (a
//! [`PersonalField`]) or as not personal in itself (`other_columns`), and when a new table
//! is neither in [`PERSONAL_TABLES`] nor in [`NOT_PERSONAL_TABLES`]: a migration cannot add
//! personal data without someone saying what it is for.
//!
//! Retention says what the code does today, not what it should: where nothing erases a
//! row, it says so.

use serde::Serialize;
use utoipa::ToSchema;

/// Whose data a table holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DataSubject {
    /// Volunteers (志愿者), including minors and their guardians.
    Volunteer,
    /// Staff of organisations, civil-affairs officers and administrators.
    Staff,
    /// Members of the public who complain or object.
    Public,
    /// Whoever acted: a volunteer, a staff member or the system.
    Anyone,
}

/// The legal basis for processing, as PIPL article 13 lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LegalBasis {
    /// Art. 13(1): the person's consent (for sensitive data, separate consent, art. 29;
    /// under 14, the guardian's, art. 31). Withdrawable (art. 15).
    Consent,
    /// Art. 13(2): necessary for human-resources management under lawful rules (staff
    /// accounts and their work).
    HumanResources,
    /// Art. 13(3): necessary to fulfil a statutory duty: the Regulations on Volunteer
    /// Service (志愿服务条例) require organisations to record volunteers' basic
    /// information, service, training, awards and evaluations truthfully.
    StatutoryDuty,
}

impl LegalBasis {
    /// How the inventory names it.
    pub fn describe(self) -> &'static str {
        match self {
            LegalBasis::Consent => "consent (PIPL art. 13(1); separate consent for sensitive data, art. 29)",
            LegalBasis::HumanResources => "human-resources management (PIPL art. 13(2))",
            LegalBasis::StatutoryDuty => "statutory duty: volunteer service records (PIPL art. 13(3); 志愿服务条例)",
        }
    }
}

/// How a value is kept at rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Protection {
    /// Encrypted (AES-256-GCM) under the PII keys from configuration, never the database.
    Sealed,
    /// A keyed hash (HMAC under the PII lookup key): finds a value, cannot show it.
    KeyedHash,
    /// A plain hash (SHA-256) of a random secret: checks it, cannot show it.
    Hashed,
    /// Stored as is; protected by access control and the database's own protection.
    Plain,
}

/// One personal column.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct PersonalField {
    /// The column.
    pub column: &'static str,
    /// What it holds.
    pub holds: &'static str,
    /// How it is kept.
    pub protection: Protection,
    /// A basis other than the table's, for this column.
    pub basis: Option<LegalBasis>,
}

const fn field(column: &'static str, holds: &'static str, protection: Protection) -> PersonalField {
    PersonalField { column, holds, protection, basis: None }
}

const fn plain(column: &'static str, holds: &'static str) -> PersonalField {
    field(column, holds, Protection::Plain)
}

const fn by_consent(column: &'static str, holds: &'static str, protection: Protection) -> PersonalField {
    PersonalField { column, holds, protection, basis: Some(LegalBasis::Consent) }
}

/// A table holding personal data.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct PersonalTable {
    /// The table.
    pub table: &'static str,
    /// Whose data.
    pub subject: DataSubject,
    /// Why it is kept.
    pub purpose: &'static str,
    /// The basis for its columns (a column may name another).
    pub basis: LegalBasis,
    /// Who can read it, through which part of the API.
    pub readers: &'static str,
    /// How long it is kept.
    pub retention: &'static str,
    /// Its personal columns.
    pub fields: &'static [PersonalField],
    /// Its other columns: keys, references to a person already listed (`volunteer_id`,
    /// `*_by` naming the staff member who acted), times and states that say nothing about
    /// a person on their own.
    pub other_columns: &'static [&'static str],
}

/// The declarations themselves: what each table holds, table by table.
mod tables;

pub use tables::{NOT_PERSONAL_TABLES, ONE_ENGINE_ONLY, PERSONAL_TABLES};

/// What is made of the declarations: the served rows, the document, the check against
/// the database's catalogue.
mod report;

pub use report::{disagreements, inventory_for, render_markdown, rows};

/// One row of the inventory as served and written: one personal column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct InventoryRow {
    /// `table.column`.
    pub column: String,
    /// Whose data.
    pub subject: DataSubject,
    /// What it holds.
    pub holds: String,
    /// Why it is kept.
    pub purpose: String,
    /// The legal basis.
    pub legal_basis: LegalBasis,
    /// Who can read it.
    pub readers: String,
    /// How long it is kept.
    pub retention: String,
    /// How it is kept at rest.
    pub protection: Protection,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_is_declared_once_and_every_row_says_what_it_holds() {
        let mut tables: Vec<_> =
            PERSONAL_TABLES.iter().map(|t| t.table).chain(NOT_PERSONAL_TABLES.iter().map(|(t, _)| *t)).collect();
        let count = tables.len();
        tables.sort_unstable();
        tables.dedup();
        assert_eq!(tables.len(), count, "a table is declared twice");
        for row in rows() {
            assert!(!row.holds.is_empty() && !row.purpose.is_empty(), "{row:?}");
        }
    }

    #[test]
    fn sealed_identity_numbers_are_declared_sealed() {
        let row = |c: &str| rows().into_iter().find(|r| r.column == c).expect(c);
        assert_eq!(row("volunteer.id_number_sealed").protection, Protection::Sealed);
        assert_eq!(row("volunteer.phone_sealed").protection, Protection::Sealed);
        assert_eq!(row("volunteer.skills").legal_basis, LegalBasis::Consent);
    }
}

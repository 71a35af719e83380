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

/// The whole inventory, one row per personal column, in declaration order.
pub fn rows() -> Vec<InventoryRow> {
    PERSONAL_TABLES
        .iter()
        .flat_map(|t| {
            t.fields.iter().map(|f| InventoryRow {
                column: format!("{}.{}", t.table, f.column),
                subject: t.subject,
                holds: f.holds.to_owned(),
                purpose: t.purpose.to_owned(),
                legal_basis: f.basis.unwrap_or(t.basis),
                readers: t.readers.to_owned(),
                retention: t.retention.to_owned(),
                protection: f.protection,
            })
        })
        .collect()
}

/// The inventory for `by`: administrators only (it maps where every personal value is,
/// which is for whoever answers for the installation's data protection).
pub fn inventory_for(by: &crate::identity::Principal) -> Result<Vec<InventoryRow>, crate::error::CoreError> {
    crate::identity::guards::require_administrator(by)?;
    Ok(rows())
}

/// `docs/data-inventory.md`, generated.
pub fn render_markdown() -> String {
    use std::fmt::Write as _;
    let mut out = String::from(
        "# Data inventory (个人信息清单)\n\n\
         Generated from `core/src/data_inventory.rs` (`HOURMARK_REGENERATE_DOCS=1 cargo nextest run -E \
         'test(/data_inventory/)'` rewrites it); do not edit by hand. Administrators read the same \
         facts at `GET /api/v1/data-inventory`. A test fails when a migration adds a column or a table \
         this inventory does not classify.\n\n\
         Protection: **sealed** = encrypted with AES-256-GCM under the PII keys from configuration \
         (never stored in the database); **keyed hash** = HMAC under the PII lookup key (finds a value, \
         cannot show it); **hashed** = SHA-256 of a random secret; **plain** = stored as is, behind \
         access control. ID and phone numbers are masked in every answer but the volunteer's own.\n\n\
         Legal bases (PIPL art. 13): ",
    );
    let bases = [LegalBasis::StatutoryDuty, LegalBasis::Consent, LegalBasis::HumanResources];
    let named: Vec<_> = bases.iter().map(|b| b.describe()).collect();
    let _ = writeln!(out, "{}.\n", named.join("; "));
    for table in PERSONAL_TABLES {
        let _ = writeln!(out, "## `{}`\n", table.table);
        let _ = writeln!(out, "- whose: {}", subject_name(table.subject));
        let _ = writeln!(out, "- purpose: {}", table.purpose);
        let _ = writeln!(out, "- legal basis: {}", table.basis.describe());
        let _ = writeln!(out, "- who can read it: {}", table.readers);
        let _ = writeln!(out, "- retention: {}", table.retention);
        let _ = writeln!(out, "- other columns (not personal on their own): {}\n", table.other_columns.join(", "));
        out.push_str("| column | holds | protection | basis (if not the table's) |\n|---|---|---|---|\n");
        for f in table.fields {
            let basis = f.basis.filter(|b| *b != table.basis).map_or("", |b| b.describe());
            let _ = writeln!(out, "| `{}` | {} | {} | {} |", f.column, f.holds, protection_name(f.protection), basis);
        }
        out.push('\n');
    }
    out.push_str("## Tables without personal data\n\n| table | what it holds |\n|---|---|\n");
    for (table, why) in NOT_PERSONAL_TABLES {
        let _ = writeln!(out, "| `{table}` | {why} |");
    }
    out
}

fn subject_name(subject: DataSubject) -> &'static str {
    match subject {
        DataSubject::Volunteer => "volunteers",
        DataSubject::Staff => "staff",
        DataSubject::Public => "members of the public (and the volunteer concerned)",
        DataSubject::Anyone => "whoever acted or holds the session",
    }
}

fn protection_name(protection: Protection) -> &'static str {
    match protection {
        Protection::Sealed => "**sealed**",
        Protection::KeyedHash => "keyed hash",
        Protection::Hashed => "hashed",
        Protection::Plain => "plain",
    }
}

/// What the catalogue has that the inventory does not say, and the reverse: empty when
/// they agree. `catalogue` is every (table, columns) of the migrated schema, migration
/// bookkeeping excluded.
pub fn disagreements(catalogue: &[(String, Vec<String>)]) -> Vec<String> {
    let mut problems = Vec::new();
    for (table, columns) in catalogue {
        if let Some(declared) = PERSONAL_TABLES.iter().find(|t| t.table == table) {
            for column in columns {
                let known = declared.fields.iter().any(|f| f.column == column)
                    || declared.other_columns.contains(&column.as_str());
                if !known {
                    problems.push(format!(
                        "{table}.{column} is not in the data inventory: add it to core/src/data_inventory.rs as a \
                         personal field (with what it holds) or among the table's other columns"
                    ));
                }
            }
            for declared_column in
                declared.fields.iter().map(|f| f.column).chain(declared.other_columns.iter().copied())
            {
                let optional = ONE_ENGINE_ONLY.contains(&format!("{table}.{declared_column}").as_str());
                if !optional && !columns.iter().any(|c| c == declared_column) {
                    problems.push(format!("{table}.{declared_column} is in the data inventory but not in the schema"));
                }
            }
        } else if !NOT_PERSONAL_TABLES.iter().any(|(t, _)| t == table) {
            problems.push(format!(
                "table {table} is not classified: add it to PERSONAL_TABLES or NOT_PERSONAL_TABLES in \
                 core/src/data_inventory.rs"
            ));
        }
    }
    for table in PERSONAL_TABLES.iter().map(|t| t.table).chain(NOT_PERSONAL_TABLES.iter().map(|(t, _)| *t)) {
        if !catalogue.iter().any(|(t, _)| t == table) {
            problems.push(format!("table {table} is in the data inventory but not in the schema"));
        }
    }
    problems
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

//! What is made of the declarations: the inventory as served, the Markdown document, and
//! the check of the declarations against the database's own catalogue.

use super::tables::{NOT_PERSONAL_TABLES, ONE_ENGINE_ONLY, PERSONAL_TABLES};
use super::{DataSubject, InventoryRow, LegalBasis, Protection};

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

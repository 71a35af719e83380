//! The register: an append-only chain in which each entry carries the SHA-256 of the one
//! before it, what an entry records, how the chain is checked, and the reversal and
//! replacement a correction of a recorded day appends.

use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::CoreError;

mod use_cases;

/// What a register entry records (its canonical JSON is what the hash covers).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegisterContent {
    /// Who: id, public number and name.
    pub volunteer_id: i64,
    /// The public volunteer number.
    pub volunteer_number: String,
    /// Their name.
    pub volunteer_name: String,
    /// What activity.
    pub activity_id: i64,
    /// Its name.
    pub activity_name: String,
    /// The day served.
    pub day: NaiveDate,
    /// Where.
    pub place: String,
    /// For whom (服务对象).
    pub recipients: String,
    /// What was done.
    pub content: String,
    /// Minutes.
    pub minutes: u32,
    /// The evaluation (grade and comment), if one was made.
    pub evaluation: Option<String>,
    /// The activity's leaders.
    pub leaders: Vec<String>,
    /// The recorder who finalised it.
    pub recorder: Option<String>,
    /// The organisation.
    pub organisation_id: i64,
    /// Its name.
    pub organisation_name: String,
}

/// What kind of register entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RegisterKind {
    /// A publicity entry recorded at the end of its period.
    Original,
    /// Cancels the entry it names (its minutes count negative).
    Reversal,
    /// Takes the reversed entry's place with corrected content.
    Replacement,
}

crate::stored_names!(RegisterKind {
    Original => "original",
    Reversal => "reversal",
    Replacement => "replacement",
});

/// An entry to append.
#[derive(Debug, Clone)]
pub struct NewRegisterEntry {
    /// Original, reversal or replacement.
    pub kind: RegisterKind,
    /// The publicity entry it records.
    pub publicity_entry_id: i64,
    /// Copied from the content, for reports.
    pub organisation_id: i64,
    /// Copied from the content, for reports.
    pub volunteer_id: i64,
    /// Copied from the content (negative for a reversal).
    pub minutes: i64,
    /// Canonical JSON: what the hash covers.
    pub content: String,
}

/// What must still hold, under the register's serialisation, for an append to go ahead.
#[derive(Debug, Clone)]
pub enum RegisterGuard {
    /// Recording a publicity entry at the end of its period: it is still in publicity
    /// with these minutes and publication day (not restarted meanwhile), and no objection
    /// to it is open. It is marked recorded in the same transaction.
    Recording {
        /// The publicity entry.
        entry_id: i64,
        /// Its minutes when the content was built.
        minutes: u32,
        /// Its publication day when the content was built.
        published_on: NaiveDate,
        /// For an entry published again after a correction: the register entry that stood
        /// for it when the reversal and replacement were built, still the one that stands.
        standing: Option<i64>,
    },
}

/// A publicity entry's way into the register: the entries that record it, appended only
/// if `guard` still holds when they are.
#[derive(Debug, Clone)]
pub struct Recording {
    /// An original, or a reversal and a replacement.
    pub entries: Vec<NewRegisterEntry>,
    /// What must still hold.
    pub guard: RegisterGuard,
}

/// A reversal's content: which entry it cancels, why, and that entry's content.
#[derive(Debug, Clone, Serialize)]
pub struct Reversal {
    /// The cancelled entry.
    pub reverses: i64,
    /// Why.
    pub reason: String,
    /// What it cancels.
    pub entry: serde_json::Value,
}

/// A replacement's content: the corrected entry, which one it replaces and why.
#[derive(Debug, Clone, Serialize)]
pub struct Replacement {
    /// The reversed entry.
    pub replaces: i64,
    /// Why.
    pub reason: String,
    /// The corrected content.
    #[serde(flatten)]
    pub content: RegisterContent,
}

/// A stored register entry.
#[derive(Debug, Clone)]
pub struct RegisterRow {
    /// Its position in the chain, from 1.
    pub seq: i64,
    /// Original, reversal or replacement.
    pub kind: RegisterKind,
    /// The publicity entry it records.
    pub publicity_entry_id: Option<i64>,
    /// Copied from the content.
    pub organisation_id: i64,
    /// Copied from the content.
    pub volunteer_id: i64,
    /// Copied from the content (negative for a reversal).
    pub minutes: i64,
    /// Canonical JSON.
    pub content: String,
    /// The previous entry's hash (zeros for the first).
    pub previous_hash: Vec<u8>,
    /// This entry's hash.
    pub hash: Vec<u8>,
}

/// The outcome of checking the whole register.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct RegisterCheck {
    /// Entries checked.
    pub entries: u64,
    /// The first entry whose link or hash does not hold, if any.
    pub first_broken: Option<i64>,
    /// Publicity entries marked recorded that have no original in the register (an entry
    /// removed from the end of the chain leaves one of these behind).
    pub recorded_without_entry: u64,
}

impl RegisterCheck {
    /// Whether the register holds: every link, and every recorded entry present.
    pub fn holds(&self) -> bool {
        self.first_broken.is_none() && self.recorded_without_entry == 0
    }
}

/// The hash an entry must carry: SHA-256 over the previous hash, the entry's kind and
/// publicity entry, and its content.
pub fn chain_hash(previous: &[u8], kind: RegisterKind, publicity_entry_id: Option<i64>, content: &str) -> [u8; 32] {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(previous);
    ctx.update(format!("{}\n{}\n", kind.as_str(), publicity_entry_id.unwrap_or(0)).as_bytes());
    ctx.update(content.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// Whether the columns copied out of an entry's content still say what the content says
/// (the hash covers the content, so a changed column shows here).
fn columns_agree(row: &RegisterRow) -> bool {
    let Ok(content) = serde_json::from_str::<serde_json::Value>(&row.content) else { return false };
    let shape = match row.kind {
        RegisterKind::Original => content.get("reverses").is_none() && content.get("replaces").is_none(),
        RegisterKind::Reversal => content["reverses"].is_i64(),
        RegisterKind::Replacement => content["replaces"].is_i64(),
    };
    if !shape {
        return false;
    }
    let (entry, sign) = match row.kind {
        RegisterKind::Reversal => (&content["entry"], -1),
        _ => (&content, 1),
    };
    entry["organisation_id"].as_i64() == Some(row.organisation_id)
        && entry["volunteer_id"].as_i64() == Some(row.volunteer_id)
        && entry["minutes"].as_i64().map(|m| m * sign) == Some(row.minutes)
}

/// The first link of the chain points at this.
pub const GENESIS: [u8; 32] = [0; 32];

/// The reversal of the entry that `standing` is and its replacement with `content`.
pub(super) fn correction_entries(
    entry_id: i64,
    standing: &RegisterRow,
    reason: String,
    content: RegisterContent,
) -> Result<Vec<NewRegisterEntry>, CoreError> {
    let old: serde_json::Value =
        serde_json::from_str(&standing.content).map_err(|e| CoreError::Internal(e.to_string()))?;
    let reversal = Reversal { reverses: standing.seq, reason: reason.clone(), entry: old };
    let replacement = Replacement { replaces: standing.seq, reason, content };
    Ok(vec![
        NewRegisterEntry {
            kind: RegisterKind::Reversal,
            publicity_entry_id: entry_id,
            organisation_id: standing.organisation_id,
            volunteer_id: standing.volunteer_id,
            minutes: -standing.minutes,
            content: canonical(&reversal)?,
        },
        NewRegisterEntry {
            kind: RegisterKind::Replacement,
            publicity_entry_id: entry_id,
            organisation_id: replacement.content.organisation_id,
            volunteer_id: replacement.content.volunteer_id,
            minutes: i64::from(replacement.content.minutes),
            content: canonical(&replacement)?,
        },
    ])
}

/// Canonical JSON of a register entry's content.
pub(super) fn canonical<T: Serialize>(value: &T) -> Result<String, CoreError> {
    serde_json::to_string(value).map_err(|e| CoreError::Internal(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_hash_covers_the_previous_one_and_the_content() {
        let hash = |previous: &[u8], content: &str| chain_hash(previous, RegisterKind::Original, Some(1), content);
        let first = hash(&GENESIS, "{\"a\":1}");
        let second = hash(&first, "{\"a\":2}");
        assert_ne!(first, second);
        assert_eq!(hash(&GENESIS, "{\"a\":1}"), first, "deterministic");
        assert_ne!(hash(&GENESIS, "{\"a\":3}"), first, "content matters");
        assert_ne!(hash(&second, "{\"a\":1}"), first, "the link matters");
        assert_ne!(chain_hash(&GENESIS, RegisterKind::Replacement, Some(1), "{\"a\":1}"), first, "the kind matters");
        assert_ne!(chain_hash(&GENESIS, RegisterKind::Original, Some(2), "{\"a\":1}"), first, "the entry matters");
    }
}

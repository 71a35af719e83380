//! Consent rules: who may take part, and what their data may be used for.
//!
//! 个人信息保护法: processing needs consent for its purpose; publishing and precise
//! location need *separate* consent (Art. 25, 29); a child under 14 needs a guardian's
//! consent (Art. 31). The volunteer regulation adds that minors take part with a
//! guardian's consent. So: under 14, nothing beyond registration without a guardian's
//! consent; 14 to 17, no taking part without it; 18 and over, their own consent.
//!
//! Consent is append-only history; the newest decision per purpose is in force.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::id_number::age_on;
use super::{ConsentPurpose, ConsentRecord};

/// Where a volunteer stands as a minor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AgeBand {
    /// Under 14: a guardian consents to any processing beyond registration.
    Under14,
    /// 14 to 17: a guardian consents to taking part.
    Minor,
    /// 18 or over.
    Adult,
}

/// The latest possible birth date for a `YYYY-MM` birth month (the month's last day): when
/// only the month is known, a volunteer is treated as the youngest they could be.
pub fn latest_birth_date(birth_month: &str) -> Option<NaiveDate> {
    let first = NaiveDate::parse_from_str(&format!("{birth_month}-01"), "%Y-%m-%d").ok()?;
    let next = if first.month() == 12 {
        NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)?
    };
    next.pred_opt()
}

/// The age band on `today` of someone born on `birth`.
pub fn age_band(birth: NaiveDate, today: NaiveDate) -> AgeBand {
    match age_on(birth, today) {
        0..=13 => AgeBand::Under14,
        14..=17 => AgeBand::Minor,
        _ => AgeBand::Adult,
    }
}

/// The decision in force for each purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
pub struct ConsentState {
    /// Processing for the service record.
    pub record: bool,
    /// Publicity of a masked name and hours.
    pub publicity: bool,
    /// Location at scan time.
    pub location: bool,
    /// A guardian's consent is recorded.
    pub guardian: bool,
}

impl ConsentState {
    /// The state a history leads to (oldest first): the newest decision per purpose.
    pub fn from_history(history: &[ConsentRecord]) -> Self {
        let mut state = Self::default();
        for c in history {
            match c.purpose {
                ConsentPurpose::Record => state.record = c.granted,
                ConsentPurpose::Publicity => state.publicity = c.granted,
                ConsentPurpose::Location => state.location = c.granted,
                ConsentPurpose::Guardian => state.guardian = c.granted,
            }
        }
        state
    }
}

/// What the scan path needs to know about a volunteer, decided once and cached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanPermission {
    /// The record consent stands.
    pub record: bool,
    /// A minor without the guardian's consent that taking part needs.
    pub needs_guardian: bool,
    /// The phone's location may be used.
    pub location: bool,
    /// The device scans must come from, when one is bound.
    #[serde(default)]
    pub device: Option<String>,
}

impl ScanPermission {
    /// Applies the rules: a minor (under 18) takes part only with a guardian's consent, and
    /// an under-14's location is used only with it too.
    pub fn decide(state: ConsentState, band: AgeBand) -> Self {
        let guardian_ok = band == AgeBand::Adult || state.guardian;
        Self {
            record: state.record,
            needs_guardian: !guardian_ok,
            location: state.location && (band != AgeBand::Under14 || state.guardian),
            device: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    #[test]
    fn age_bands_change_on_the_birthdays() {
        let birth = d("2012-06-15");
        assert_eq!(age_band(birth, d("2026-06-14")), AgeBand::Under14);
        assert_eq!(age_band(birth, d("2026-06-15")), AgeBand::Minor);
        assert_eq!(age_band(birth, d("2030-06-14")), AgeBand::Minor);
        assert_eq!(age_band(birth, d("2030-06-15")), AgeBand::Adult);
        // Born on 29 February: a year older on 1 March in common years.
        let leap = d("2012-02-29");
        assert_eq!(age_band(leap, d("2026-02-28")), AgeBand::Under14);
        assert_eq!(age_band(leap, d("2026-03-01")), AgeBand::Minor);
    }

    #[test]
    fn a_birth_month_alone_counts_from_its_last_day() {
        assert_eq!(latest_birth_date("2012-06"), Some(d("2012-06-30")));
        assert_eq!(latest_birth_date("2012-12"), Some(d("2012-12-31")));
        assert_eq!(latest_birth_date("2012-02"), Some(d("2012-02-29")));
        assert_eq!(latest_birth_date("2012-13"), None);
        let birth = latest_birth_date("2012-06").expect("date");
        assert_eq!(age_band(birth, d("2026-06-29")), AgeBand::Under14);
        assert_eq!(age_band(birth, d("2026-06-30")), AgeBand::Minor);
    }

    #[test]
    fn the_newest_decision_per_purpose_is_in_force() {
        let at = chrono::DateTime::from_timestamp(1_800_000_000, 0).expect("time");
        let rec = |purpose, granted| ConsentRecord { purpose, granted, notice_version: "v1".into(), recorded_at: at };
        let history = [
            rec(ConsentPurpose::Record, true),
            rec(ConsentPurpose::Location, true),
            rec(ConsentPurpose::Location, false),
            rec(ConsentPurpose::Publicity, false),
            rec(ConsentPurpose::Publicity, true),
        ];
        let state = ConsentState::from_history(&history);
        assert_eq!(state, ConsentState { record: true, publicity: true, location: false, guardian: false });
    }

    #[test]
    fn minors_take_part_only_with_a_guardian() {
        let full = ConsentState { record: true, publicity: false, location: true, guardian: false };
        let with_guardian = ConsentState { guardian: true, ..full };
        let adult = ScanPermission::decide(full, AgeBand::Adult);
        assert_eq!(adult, ScanPermission { record: true, needs_guardian: false, location: true, device: None });
        let minor = ScanPermission::decide(full, AgeBand::Minor);
        assert!(minor.needs_guardian);
        assert!(minor.location, "a 14-17 year old's own location consent counts");
        let child = ScanPermission::decide(full, AgeBand::Under14);
        assert!(child.needs_guardian);
        assert!(!child.location, "an under-14's location needs the guardian too");
        let child = ScanPermission::decide(with_guardian, AgeBand::Under14);
        assert_eq!(child, ScanPermission { record: true, needs_guardian: false, location: true, device: None });
        let withdrawn = ScanPermission::decide(ConsentState { record: false, ..with_guardian }, AgeBand::Adult);
        assert!(!withdrawn.record);
    }
}

//! The publicity period a publication gets: one pure rule, used when entries are published,
//! when a held entry is given its end, when an entry starts again after a correction, and
//! by the public preview, so what the preview says is what a publication gets.

use chrono::{Days, NaiveDate};
use serde::Serialize;
use utoipa::ToSchema;

use crate::calendar::{Calendar, CalendarGap};

/// Whether the calendar knows when a period ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PeriodStatus {
    /// Every day the count needs is known: the period has an end.
    Ends,
    /// A day the count needs lies where the calendar lacks a State Council notice: the
    /// entry waits until an administrator adds it.
    Held,
}

/// The period of a publication on `published_on` lasting `working_days` full working days
/// after it, by a region's calendar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PublicityPeriod {
    /// The day of publication (Asia/Shanghai); it does not count.
    #[schema(value_type = String, format = Date)]
    pub published_on: NaiveDate,
    /// How many full working days it lasts.
    pub working_days: u32,
    /// `ends` or `held`.
    pub status: PeriodStatus,
    /// The working days counted, in order; empty while held.
    #[schema(value_type = Vec<String>)]
    pub counted_days: Vec<NaiveDate>,
    /// The last day of the period (objections until its end, Asia/Shanghai); absent while
    /// held.
    #[schema(value_type = Option<String>, format = Date)]
    pub ends_on: Option<NaiveDate>,
    /// The day the entry enters the register (from 00:00 Asia/Shanghai), unless an
    /// objection is open then; absent while held.
    #[schema(value_type = Option<String>, format = Date)]
    pub recorded_from: Option<NaiveDate>,
    /// While held: the year whose State Council notice the count waits for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiting_for_year: Option<i32>,
    /// While held: why, for people.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_because: Option<String>,
}

impl PublicityPeriod {
    /// Counts the period on `calendar`. Held only when a day the count needs is unknown
    /// (see [`crate::calendar::NEW_YEAR_REACHES_BACK_TO`]): days after the last one
    /// counted are never looked at.
    pub fn count(calendar: &Calendar, published_on: NaiveDate, working_days: u32) -> Self {
        match calendar.working_days_after(published_on, working_days) {
            Ok(counted_days) => {
                let ends_on = counted_days.last().copied().unwrap_or(published_on);
                Self {
                    published_on,
                    working_days,
                    status: PeriodStatus::Ends,
                    counted_days,
                    ends_on: Some(ends_on),
                    recorded_from: ends_on.checked_add_days(Days::new(1)),
                    waiting_for_year: None,
                    held_because: None,
                }
            }
            Err(CalendarGap { year }) => Self {
                published_on,
                working_days,
                status: PeriodStatus::Held,
                counted_days: Vec::new(),
                ends_on: None,
                recorded_from: None,
                waiting_for_year: Some(year),
                held_because: Some(format!(
                    "等待国务院办公厅关于{year}年部分节假日安排的通知：公示期所需的日期尚无法确定是否为工作日"
                )),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    /// Publications on each day from 18 to 31 December 2026, for 3 and for 5 working days,
    /// with no 2027 notice: only a count that needs 29 December or later is held.
    /// December 2026: the 21st is a Monday; 26/27 are a weekend; 29–31 need the 2027 notice.
    #[test]
    fn the_year_end_holds_only_counts_that_need_the_missing_notice() {
        let calendar = Calendar::national(&[]);
        // (published on, end for 3 working days, end for 5), None where held.
        let expected: [(&str, Option<&str>, Option<&str>); 14] = [
            ("2026-12-18", Some("2026-12-23"), Some("2026-12-25")),
            ("2026-12-19", Some("2026-12-23"), Some("2026-12-25")),
            ("2026-12-20", Some("2026-12-23"), Some("2026-12-25")),
            ("2026-12-21", Some("2026-12-24"), Some("2026-12-28")),
            ("2026-12-22", Some("2026-12-25"), None),
            ("2026-12-23", Some("2026-12-28"), None),
            ("2026-12-24", None, None),
            ("2026-12-25", None, None),
            ("2026-12-26", None, None),
            ("2026-12-27", None, None),
            ("2026-12-28", None, None),
            ("2026-12-29", None, None),
            ("2026-12-30", None, None),
            ("2026-12-31", None, None),
        ];
        for (published, three, five) in expected {
            for (n, end) in [(3, three), (5, five)] {
                let period = PublicityPeriod::count(&calendar, d(published), n);
                assert_eq!(period.published_on, d(published));
                assert_eq!(period.working_days, n);
                match end {
                    Some(end) => {
                        assert_eq!(period.status, PeriodStatus::Ends, "{published} n={n}");
                        assert_eq!(period.ends_on, Some(d(end)), "{published} n={n}");
                        assert_eq!(period.recorded_from, d(end).succ_opt(), "{published} n={n}");
                        assert_eq!(period.counted_days.len(), n as usize, "{published} n={n}");
                        assert!(period.counted_days.iter().all(|c| *c > d(published) && *c <= d(end)));
                        assert_eq!(period.waiting_for_year, None);
                    }
                    None => {
                        assert_eq!(period.status, PeriodStatus::Held, "{published} n={n}");
                        assert_eq!((period.ends_on, period.recorded_from), (None, None), "{published} n={n}");
                        assert!(period.counted_days.is_empty());
                        assert_eq!(period.waiting_for_year, Some(2027), "{published} n={n}");
                        assert!(period.held_because.as_deref().is_some_and(|why| why.contains("2027")));
                    }
                }
            }
        }
    }

    /// Once the 2027 notice is known, nothing at the year end is held; a 2027 arrangement
    /// that makes 31 December a day off moves the ends accordingly.
    #[test]
    fn the_year_end_counts_once_the_next_notice_is_known() {
        use crate::calendar::{NamedDays, Notice, YearArrangement};
        let year = |holidays: Vec<NamedDays>| YearArrangement {
            year: 2027,
            source: Notice {
                title: "国务院办公厅关于2027年部分节假日安排的通知".into(),
                document: None,
                published: None,
                url: None,
            },
            holidays,
            workdays: vec![],
        };
        let plain = Calendar::national(&[year(vec![NamedDays { name: "元旦".into(), days: vec![d("2027-01-01")] }])]);
        let period = PublicityPeriod::count(&plain, d("2026-12-24"), 3);
        assert_eq!(period.counted_days, vec![d("2026-12-25"), d("2026-12-28"), d("2026-12-29")]);
        assert_eq!((period.ends_on, period.recorded_from), (Some(d("2026-12-29")), Some(d("2026-12-30"))));
        assert_eq!(PublicityPeriod::count(&plain, d("2026-12-31"), 5).ends_on, Some(d("2027-01-08")));
        let long = Calendar::national(&[year(vec![NamedDays {
            name: "元旦".into(),
            days: vec![d("2026-12-31"), d("2027-01-01"), d("2027-01-02"), d("2027-01-03")],
        }])]);
        assert_eq!(PublicityPeriod::count(&long, d("2026-12-28"), 3).ends_on, Some(d("2027-01-04")));
    }

    #[test]
    fn a_period_in_a_year_without_any_data_is_held_for_that_year() {
        let period = PublicityPeriod::count(&Calendar::national(&[]), d("2027-03-10"), 3);
        assert_eq!((period.status, period.waiting_for_year), (PeriodStatus::Held, Some(2027)));
        let period = PublicityPeriod::count(&Calendar::national(&[]), d("2025-09-30"), 3);
        assert_eq!(period.counted_days, vec![d("2025-10-09"), d("2025-10-10"), d("2025-10-11")]);
    }
}

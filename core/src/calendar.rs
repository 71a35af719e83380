//! The working-day calendar: national holidays and make-up working days (调休) as the
//! State Council publishes them each year, kept as data in the repository
//! (`calendar/national/*.json`, with each year's notice), plus years an officer adds
//! without a release and regional overlays (Yunnan's prefectures declare their own ethnic
//! holidays).
//!
//! The calendar never assumes plain weekdays for a year it has no data for: asking about
//! such a day is a [`CalendarGap`], and whatever depends on it (a publicity period) waits.
//! The last days of December need the next year's notice too, because a 元旦 arrangement
//! can move a weekend there; how far back it can reach is [`NEW_YEAR_REACHES_BACK_TO`].

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The national data shipped with Hourmark, one file per State Council notice.
const NATIONAL: &[&str] = &[
    include_str!("../../calendar/national/2015.json"),
    include_str!("../../calendar/national/2016.json"),
    include_str!("../../calendar/national/2017.json"),
    include_str!("../../calendar/national/2018.json"),
    include_str!("../../calendar/national/2019.json"),
    include_str!("../../calendar/national/2020.json"),
    include_str!("../../calendar/national/2021.json"),
    include_str!("../../calendar/national/2022.json"),
    include_str!("../../calendar/national/2023.json"),
    include_str!("../../calendar/national/2024.json"),
    include_str!("../../calendar/national/2025.json"),
    include_str!("../../calendar/national/2026.json"),
];

/// Where a year's arrangement comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Notice {
    /// The notice's title.
    pub title: String,
    /// Its document number, e.g. 国办发明电〔2024〕12号.
    pub document: Option<String>,
    /// When it was published.
    #[schema(value_type = Option<String>, format = Date)]
    pub published: Option<NaiveDate>,
    /// Where it was published.
    pub url: Option<String>,
}

/// Named days: one festival's days off, or its make-up working days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NamedDays {
    /// The festival.
    pub name: String,
    /// The days.
    #[schema(value_type = Vec<String>)]
    pub days: Vec<NaiveDate>,
}

/// One year's national arrangement, as the State Council published it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct YearArrangement {
    /// The year.
    pub year: i32,
    /// The notice.
    pub source: Notice,
    /// Days off.
    pub holidays: Vec<NamedDays>,
    /// Weekend days made working days.
    pub workdays: Vec<NamedDays>,
}

impl YearArrangement {
    /// Checks that the arrangement is internally sound: days near its year, make-up days on
    /// weekends, no day both off and working.
    pub fn validate(&self) -> Result<(), String> {
        if !(2000..=2100).contains(&self.year) {
            return Err(format!("year {} is out of range", self.year));
        }
        let near = |d: &NaiveDate| (self.year - 1..=self.year).contains(&d.year());
        let off: BTreeSet<NaiveDate> = self.holidays.iter().flat_map(|h| h.days.iter().copied()).collect();
        let work: BTreeSet<NaiveDate> = self.workdays.iter().flat_map(|w| w.days.iter().copied()).collect();
        if let Some(d) = off.iter().chain(work.iter()).find(|d| !near(d)) {
            return Err(format!("{d} is not in {} (or the end of the year before)", self.year));
        }
        if let Some(d) = work.iter().find(|d| !is_weekend(**d)) {
            return Err(format!("make-up working day {d} is not a weekend day"));
        }
        if let Some(d) = off.intersection(&work).next() {
            return Err(format!("{d} is both a day off and a working day"));
        }
        if self.holidays.is_empty() {
            return Err("a year without holidays is not a State Council arrangement".into());
        }
        Ok(())
    }
}

/// A regional change to the national calendar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Overlay {
    /// The region it applies to, and every region below it (GB/T 2260).
    pub region_code: String,
    /// The day.
    #[schema(value_type = String, format = Date)]
    pub day: NaiveDate,
    /// `off` or `work`.
    pub kind: OverlayKind,
    /// Why (e.g. 火把节).
    pub name: String,
}

/// What an overlay makes of its day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OverlayKind {
    /// A day off.
    Off,
    /// A working day.
    Work,
}

crate::stored_names!(OverlayKind {
    Off => "off",
    Work => "work",
});

/// The calendar has no data for the year a question needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no holiday arrangement for {year} yet: the State Council's notice has not been added")]
pub struct CalendarGap {
    /// The missing year.
    pub year: i32,
}

/// The earliest day of December that a New Year (元旦) arrangement has ever changed: from
/// this day on, a December day can only be classified once the next year's notice is known,
/// since that notice may make it a working day or a day off; a December day before it
/// depends on its own year's notice alone. A count that needs only days before it is never
/// held for a missing notice.
///
/// Of the notices shipped (2015–2026), two reach back into December, and none further than
/// the 29th:
/// - 国办发明电〔2018〕15号 (the 2019 notice): Saturday 2018-12-29 a working day, 2018-12-30
///   and 2018-12-31 off;
/// - 国办发明电〔2022〕16号 (the 2023 notice): Saturday 2022-12-31 off.
///
/// 元旦 is one day off, joined to a weekend next to it into at most three days; when
/// 1 January is a Tuesday, that moves the Saturday before it, the 29th. The test
/// `the_new_year_bound_is_the_earliest_day_any_notice_reached` checks this value against
/// every shipped file, so a file shipped later that reaches further back fails it (a year
/// an administrator adds through the API is not checked against it).
pub const NEW_YEAR_REACHES_BACK_TO: u32 = 29;

fn is_weekend(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

/// Why a day is, or is not, a working day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DayReason {
    /// Monday to Friday, not changed by any notice or overlay.
    Weekday,
    /// Saturday or Sunday, not changed by any notice or overlay.
    Weekend,
    /// A day off of a festival period in the State Council's notice.
    Festival,
    /// A weekend day the State Council's notice made a working day (调休上班).
    MakeUpDay,
    /// A day off the region (or a region above it) declared.
    RegionalDayOff,
    /// A working day the region (or a region above it) declared.
    RegionalWorkingDay,
    /// Not known: the notice of the year it needs has not been added.
    Unknown,
}

/// A day of a region's calendar, and why it is or is not a working day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CalendarDay {
    /// The day.
    #[schema(value_type = String, format = Date)]
    pub day: NaiveDate,
    /// Whether it counts as a working day; absent (`null`) while it is unknown.
    pub working: Option<bool>,
    /// Why.
    pub reason: DayReason,
    /// The festival (e.g. 春节) or the regional overlay's name (e.g. 火把节).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// For an unknown day: the year whose State Council notice it waits for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiting_for_year: Option<i32>,
}

/// A day a notice or an overlay sets, with why.
#[derive(Debug, Clone, PartialEq, Eq)]
struct MarkedDay {
    working: bool,
    reason: DayReason,
    name: String,
}

/// A region's working-day calendar.
#[derive(Debug, Clone, Default)]
pub struct Calendar {
    years: BTreeMap<i32, Notice>,
    /// Days a notice or an overlay sets; any other day of a known year follows the week.
    marked: BTreeMap<NaiveDate, MarkedDay>,
}

impl Calendar {
    /// The national calendar shipped with Hourmark, plus `added` years.
    pub fn national(added: &[YearArrangement]) -> Self {
        let mut calendar = Self::default();
        for text in NATIONAL {
            match serde_json::from_str::<YearArrangement>(text) {
                Ok(year) => calendar.add_year(&year),
                Err(e) => tracing::error!(error = %e, "a shipped calendar file does not parse"),
            }
        }
        for year in added {
            calendar.add_year(year);
        }
        calendar
    }

    fn add_year(&mut self, year: &YearArrangement) {
        self.years.insert(year.year, year.source.clone());
        let festivals = year.holidays.iter().map(|h| (h, false, DayReason::Festival));
        let make_up = year.workdays.iter().map(|w| (w, true, DayReason::MakeUpDay));
        for (named, working, reason) in festivals.chain(make_up) {
            for day in &named.days {
                self.marked.insert(*day, MarkedDay { working, reason, name: named.name.clone() });
            }
        }
    }

    /// This calendar with a region's overlays applied (the overlays of the region and of
    /// every region above it).
    pub fn with_overlays(mut self, overlays: &[Overlay]) -> Self {
        for o in overlays {
            let (working, reason) = match o.kind {
                OverlayKind::Off => (false, DayReason::RegionalDayOff),
                OverlayKind::Work => (true, DayReason::RegionalWorkingDay),
            };
            self.marked.insert(o.day, MarkedDay { working, reason, name: o.name.clone() });
        }
        self
    }

    /// The years with data, and their notices.
    pub fn years(&self) -> &BTreeMap<i32, Notice> {
        &self.years
    }

    /// Whether `day` can be classified: its year's notice is known, and from
    /// [`NEW_YEAR_REACHES_BACK_TO`] December on, the next year's too.
    fn covers(&self, day: NaiveDate) -> Result<(), CalendarGap> {
        if !self.years.contains_key(&day.year()) {
            return Err(CalendarGap { year: day.year() });
        }
        if day.month() == 12 && day.day() >= NEW_YEAR_REACHES_BACK_TO && !self.years.contains_key(&(day.year() + 1)) {
            return Err(CalendarGap { year: day.year() + 1 });
        }
        Ok(())
    }

    /// Whether `day` is a working day.
    pub fn is_working_day(&self, day: NaiveDate) -> Result<bool, CalendarGap> {
        self.covers(day)?;
        Ok(self.marked.get(&day).map_or_else(|| !is_weekend(day), |m| m.working))
    }

    /// `day` as the calendar sees it, and why: what the public calendar shows.
    pub fn describe(&self, day: NaiveDate) -> CalendarDay {
        if let Err(CalendarGap { year }) = self.covers(day) {
            return CalendarDay {
                day,
                working: None,
                reason: DayReason::Unknown,
                name: None,
                waiting_for_year: Some(year),
            };
        }
        let (working, reason, name) = match self.marked.get(&day) {
            Some(m) => (m.working, m.reason, Some(m.name.clone())),
            None if is_weekend(day) => (false, DayReason::Weekend, None),
            None => (true, DayReason::Weekday, None),
        };
        CalendarDay { day, working: Some(working), reason, name, waiting_for_year: None }
    }

    /// The first `n` full working days after `day` (not counting `day` itself), in order.
    /// Only the days up to the `n`-th are looked at, so a gap after it does not matter.
    pub fn working_days_after(&self, day: NaiveDate, n: u32) -> Result<Vec<NaiveDate>, CalendarGap> {
        let mut found = Vec::with_capacity(n as usize);
        let mut d = day;
        while found.len() < n as usize {
            d = d.succ_opt().ok_or(CalendarGap { year: day.year() + 1 })?;
            if self.is_working_day(d)? {
                found.push(d);
            }
        }
        Ok(found)
    }

    /// The `n`-th full working day after `day` (not counting `day` itself): publicity
    /// published on `day` for `n` working days ends at the end of this day.
    pub fn nth_working_day_after(&self, day: NaiveDate, n: u32) -> Result<NaiveDate, CalendarGap> {
        Ok(self.working_days_after(day, n)?.last().copied().unwrap_or(day))
    }
}

#[cfg(test)]
mod tests;

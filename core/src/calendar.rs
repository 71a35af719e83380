//! The working-day calendar: national holidays and make-up working days (调休) as the
//! State Council publishes them each year, kept as data in the repository
//! (`calendar/national/*.json`, with each year's notice), plus years an officer adds
//! without a release and regional overlays (Yunnan's prefectures declare their own ethnic
//! holidays).
//!
//! The calendar never assumes plain weekdays for a year it has no data for: asking about
//! such a day is a [`CalendarGap`], and whatever depends on it (a publicity period) waits.
//! Late December needs the next year's notice too, because a 元旦 arrangement can move a
//! weekend in the last days of the year (2018-12-29 became a working day by the 2019
//! notice).

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

impl OverlayKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Work => "work",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "off" => Some(Self::Off),
            "work" => Some(Self::Work),
            _ => None,
        }
    }
}

/// The calendar has no data for the year a question needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no holiday arrangement for {year} yet: the State Council's notice has not been added")]
pub struct CalendarGap {
    /// The missing year.
    pub year: i32,
}

fn is_weekend(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

/// A region's working-day calendar.
#[derive(Debug, Clone, Default)]
pub struct Calendar {
    years: BTreeMap<i32, Notice>,
    off: BTreeSet<NaiveDate>,
    work: BTreeSet<NaiveDate>,
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
        self.off.extend(year.holidays.iter().flat_map(|h| h.days.iter().copied()));
        self.work.extend(year.workdays.iter().flat_map(|w| w.days.iter().copied()));
    }

    /// This calendar with a region's overlays applied (the overlays of the region and of
    /// every region above it).
    pub fn with_overlays(mut self, overlays: &[Overlay]) -> Self {
        for o in overlays {
            match o.kind {
                OverlayKind::Off => {
                    self.work.remove(&o.day);
                    self.off.insert(o.day);
                }
                OverlayKind::Work => {
                    self.off.remove(&o.day);
                    self.work.insert(o.day);
                }
            }
        }
        self
    }

    /// The years with data, and their notices.
    pub fn years(&self) -> &BTreeMap<i32, Notice> {
        &self.years
    }

    /// Whether `day` can be classified: its year's notice is known, and for the last week
    /// of December, the next year's too.
    fn covers(&self, day: NaiveDate) -> Result<(), CalendarGap> {
        if !self.years.contains_key(&day.year()) {
            return Err(CalendarGap { year: day.year() });
        }
        if day.month() == 12 && day.day() >= 25 && !self.years.contains_key(&(day.year() + 1)) {
            return Err(CalendarGap { year: day.year() + 1 });
        }
        Ok(())
    }

    /// Whether `day` is a working day.
    pub fn is_working_day(&self, day: NaiveDate) -> Result<bool, CalendarGap> {
        self.covers(day)?;
        Ok(if self.work.contains(&day) {
            true
        } else if self.off.contains(&day) {
            false
        } else {
            !is_weekend(day)
        })
    }

    /// The `n`-th full working day after `day` (not counting `day` itself): publicity
    /// published on `day` for `n` working days ends at the end of this day.
    pub fn nth_working_day_after(&self, day: NaiveDate, n: u32) -> Result<NaiveDate, CalendarGap> {
        let mut found = 0;
        let mut d = day;
        while found < n {
            d = d.succ_opt().ok_or(CalendarGap { year: day.year() + 1 })?;
            if self.is_working_day(d)? {
                found += 1;
            }
        }
        Ok(d)
    }
}

#[cfg(test)]
mod tests;

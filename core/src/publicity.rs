//! Publicity (公示) and the register.
//!
//! Finalising an activity publishes each volunteer's finalised day. The period ends at the
//! end of the N-th full working day after the day of publication (N = 3), by the
//! calendar of the organisation's region, in Asia/Shanghai; while the calendar lacks a
//! year the entry is held, and says so. A public board lists what is in publicity: the
//! activity, the day, a masked name for volunteers who consented to publicity (an
//! anonymous line otherwise), and the hours; never an ID or phone number.
//!
//! When a period has ended the entry enters the register: an append-only chain in which
//! each entry carries the SHA-256 of the one before it, so editing any row breaks every
//! link after it ([`Hourmark::verify_register`] finds the first). Moving an entry into the
//! register and marking it recorded is one transaction, so a crash between entries loses
//! or duplicates nothing, and two instances doing it at once write each entry once.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{CoreError, ErrorCode};

mod board_cache;
mod calendars;
mod correction;
mod objection;
mod period;
mod register;

pub(crate) use board_cache::BoardCache;
pub use board_cache::{BoardFormat, BoardQuery};
pub use objection::{NewObjection, Objection, ObjectionDecision, ObjectionStatus, Restart};
pub use period::{PeriodStatus, PublicityPeriod};
pub use register::{
    GENESIS, NewRegisterEntry, Recording, RegisterCheck, RegisterContent, RegisterGuard, RegisterKind, RegisterRow,
    Replacement, Reversal, chain_hash,
};

mod use_cases;

/// Working days a period lasts by default (云南省志愿服务记录实施办法: at least 3).
pub const DEFAULT_WORKING_DAYS: u32 = 3;

/// The longest period a province or an organisation may set, in working days.
pub const MAX_WORKING_DAYS: u32 = 30;

/// The most days the public calendar shows at once: a year, leap day included.
pub const MAX_CALENDAR_DAYS: i64 = 366;

/// Where a publicity entry stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PublicityStatus {
    /// In its period.
    InPublicity,
    /// Waiting for the calendar: the year's holiday notice has not been added.
    Held,
    /// In the register.
    Recorded,
}

crate::stored_names!(PublicityStatus {
    InPublicity => "in_publicity",
    Held => "held",
    Recorded => "recorded",
});

/// A finalised day to publish.
#[derive(Debug, Clone)]
pub struct NewPublicity {
    /// Who.
    pub volunteer_id: i64,
    /// The day served.
    pub day: NaiveDate,
    /// Minutes.
    pub minutes: u32,
    /// Published on (local).
    pub published_on: NaiveDate,
    /// Period length.
    pub working_days: u32,
    /// The period's last working day, if the calendar knows it.
    pub ends_on: Option<NaiveDate>,
}

/// A publicity entry with what the board and the register need.
#[derive(Debug, Clone)]
pub struct PublicityRow {
    /// Its id.
    pub id: i64,
    /// The activity.
    pub activity_id: i64,
    /// Who.
    pub volunteer_id: i64,
    /// The day served.
    pub day: NaiveDate,
    /// Minutes.
    pub minutes: u32,
    /// Published on.
    pub published_on: NaiveDate,
    /// Period length.
    pub working_days: u32,
    /// The period's last working day.
    pub ends_on: Option<NaiveDate>,
    /// Where it stands.
    pub status: PublicityStatus,
    /// Whether an objection to it is open (it is not recorded until a recorder decides).
    pub objection_open: bool,
    /// The activity's name.
    pub activity_name: String,
    /// The organisation running the activity.
    pub organisation_id: i64,
    /// The organisation's name.
    pub organisation_name: String,
    /// The organisation's region.
    pub region_code: String,
    /// Why it was published again, if it was (a correction, an upheld objection).
    pub restart_reason: Option<String>,
}

/// How long publicity lasts for an organisation or a province.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublicityDays {
    /// The organisation it applies to (wins over its province's setting).
    #[serde(default)]
    pub organisation_id: Option<i64>,
    /// Or the province (XX0000) it applies to.
    #[serde(default)]
    pub province_code: Option<String>,
    /// Working days, 3 to 30.
    pub working_days: u32,
}

/// A region's working-day calendar over a range of days.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RegionCalendar {
    /// The region (GB/T 2260); its overlays and those of the regions above it apply.
    pub region_code: String,
    /// The first day shown.
    #[schema(value_type = String, format = Date)]
    pub from: NaiveDate,
    /// The last day shown.
    #[schema(value_type = String, format = Date)]
    pub to: NaiveDate,
    /// Each day from `from` to `to`.
    pub days: Vec<crate::calendar::CalendarDay>,
}

/// The period a publication would get.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PeriodPreview {
    /// The region whose calendar counts it.
    pub region_code: String,
    /// The organisation whose configured length was used, if one was asked about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organisation_id: Option<i64>,
    /// The period.
    #[serde(flatten)]
    pub period: PublicityPeriod,
}

/// A region code as the public calendar takes it: six GB/T 2260 digits.
fn require_region_code(region_code: &str) -> Result<(), CoreError> {
    if crate::identity::is_region_code(region_code) {
        Ok(())
    } else {
        Err(CoreError::refused(ErrorCode::RegionCodeInvalid, "region_code 须为六位数字的行政区划代码（GB/T 2260）"))
    }
}

/// What the board shows instead of a name when the volunteer (or, under 14, the
/// guardian) did not consent to publicity: plainly says a name is withheld, so nobody
/// reads it as a person called 志愿者.
pub const UNNAMED: &str = "未公开姓名";

/// Which entries of the public board to show; every part optional, all parts must match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct BoardFilter {
    /// Only this organisation's activities.
    pub organisation_id: Option<i64>,
    /// Only this activity.
    pub activity_id: Option<i64>,
    /// Only this day served.
    pub day: Option<NaiveDate>,
}

impl BoardFilter {
    /// Ids are positive: a zero or negative one is a mistake in the link, said so rather
    /// than answered with an empty board.
    fn check(&self) -> Result<(), CoreError> {
        for (name, id) in [("organisation_id", self.organisation_id), ("activity_id", self.activity_id)] {
            if id.is_some_and(|id| id <= 0) {
                return Err(CoreError::refused(ErrorCode::InvalidParameter, format!("{name} 须为正整数")));
            }
        }
        Ok(())
    }
}

/// One line of the public board.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BoardLine {
    /// The entry (to raise an objection against).
    pub entry_id: i64,
    /// The activity (to filter the board by).
    pub activity_id: i64,
    /// The activity.
    pub activity: String,
    /// The organisation (to filter the board by).
    pub organisation_id: i64,
    /// The organisation.
    pub organisation: String,
    /// The day served.
    #[schema(value_type = String, format = Date)]
    pub day: NaiveDate,
    /// `张*三` for volunteers who consented to publicity; `未公开姓名` otherwise.
    pub name: String,
    /// Hours, to one decimal: kept for older clients; a few minutes round to `0.0`, so
    /// show `minutes` instead.
    pub hours: f64,
    /// The minutes served, exactly.
    pub minutes: u32,
    /// The last working day of the period (objections until its end); absent while held
    /// for the calendar.
    #[schema(value_type = Option<String>, format = Date)]
    pub ends_on: Option<NaiveDate>,
    /// `in_publicity`, `held` (waiting for the calendar) or `objection_pending`.
    pub status: BoardStatus,
}

/// Where a line of the public board stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BoardStatus {
    /// 公示中: in its period.
    InPublicity,
    /// 待公布节假日安排: waiting for a State Council notice the calendar lacks; no end yet.
    Held,
    /// 异议处理中: an objection is open; the entry is not recorded, even after `ends_on`,
    /// until a recorder upholds (its publicity starts again) or dismisses it.
    ObjectionPending,
}

impl BoardStatus {
    /// Where an entry stands, as the public sees it: an open objection says more than the
    /// period does, since it is what the recording waits for.
    pub fn of(row: &PublicityRow) -> Self {
        match row.status {
            _ if row.objection_open => Self::ObjectionPending,
            PublicityStatus::Held => Self::Held,
            PublicityStatus::InPublicity | PublicityStatus::Recorded => Self::InPublicity,
        }
    }

    /// What the board page says.
    pub fn label(self) -> &'static str {
        match self {
            Self::InPublicity => "公示中",
            Self::Held => "待公布节假日安排",
            Self::ObjectionPending => "异议处理中",
        }
    }
}

/// What a volunteer is told when one of their days is published.
pub(crate) fn publicity_started(entry: &PublicityRow) -> crate::notification::HoursNotice {
    crate::notification::HoursNotice::PublicityStarted {
        volunteer_id: entry.volunteer_id,
        activity: entry.activity_name.clone(),
        day: entry.day,
        minutes: entry.minutes,
        ends_on: entry.ends_on,
        activity_id: entry.activity_id,
        published_on: entry.published_on,
    }
}

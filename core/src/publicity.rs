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

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::calendar::{Calendar, CalendarGap};
use crate::error::CoreError;
use crate::hourmark::Hourmark;

/// Working days a period lasts by default (云南省志愿服务记录实施办法: at least 3).
pub const DEFAULT_WORKING_DAYS: u32 = 3;

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

impl PublicityStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InPublicity => "in_publicity",
            Self::Held => "held",
            Self::Recorded => "recorded",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "in_publicity" => Self::InPublicity,
            "held" => Self::Held,
            "recorded" => Self::Recorded,
            _ => return None,
        })
    }
}

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
    /// The activity's name.
    pub activity_name: String,
    /// The organisation's name.
    pub organisation_name: String,
    /// The organisation's region.
    pub region_code: String,
}

/// One line of the public board.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BoardLine {
    /// The entry (to raise an objection against).
    pub entry_id: i64,
    /// The activity.
    pub activity: String,
    /// The organisation.
    pub organisation: String,
    /// The day served.
    #[schema(value_type = String, format = Date)]
    pub day: NaiveDate,
    /// `张*三` for volunteers who consented to publicity; `志愿者` otherwise.
    pub name: String,
    /// Hours, to one decimal.
    pub hours: f64,
    /// The last working day of the period; absent while held.
    #[schema(value_type = Option<String>, format = Date)]
    pub ends_on: Option<NaiveDate>,
    /// `in_publicity`, or `held` (waiting for the calendar).
    pub status: PublicityStatus,
}

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

/// A stored register entry.
#[derive(Debug, Clone)]
pub struct RegisterRow {
    /// Its position in the chain, from 1.
    pub seq: i64,
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
}

/// The hash an entry must carry: SHA-256 over the previous hash and the content.
pub fn chain_hash(previous: &[u8], content: &str) -> [u8; 32] {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(previous);
    ctx.update(content.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// The first link of the chain points at this.
pub const GENESIS: [u8; 32] = [0; 32];

impl Hourmark {
    /// The calendar of a region: the national one, the years officers added, and the
    /// overlays of the region and the regions above it.
    pub async fn calendar_for(&self, region_code: &str) -> Result<Calendar, CoreError> {
        let added = self.store().calendar_years().await?;
        let overlays: Vec<_> = self
            .store()
            .calendar_overlays()
            .await?
            .into_iter()
            .filter(|o| crate::identity::region_covers(&o.region_code, region_code))
            .collect();
        Ok(Calendar::national(&added).with_overlays(&overlays))
    }

    /// The publicity entries for an activity's finalised days published `today`.
    pub(crate) async fn publicity_for(
        &self,
        organisation_region: &str,
        sessions: &[crate::review::finalise::FinalisedSession],
        today: NaiveDate,
    ) -> Result<Vec<NewPublicity>, CoreError> {
        let calendar = self.calendar_for(organisation_region).await?;
        let working_days = DEFAULT_WORKING_DAYS;
        let ends_on = match calendar.nth_working_day_after(today, working_days) {
            Ok(day) => Some(day),
            Err(CalendarGap { year }) => {
                tracing::warn!(year, "publicity held: the calendar has no data for {year}");
                None
            }
        };
        Ok(sessions
            .iter()
            .filter(|s| s.final_minutes > 0)
            .map(|s| NewPublicity {
                volunteer_id: s.volunteer_id,
                day: s.day,
                minutes: s.final_minutes,
                published_on: today,
                working_days,
                ends_on,
            })
            .collect())
    }

    /// The public board: every entry in publicity or held, with masked names only for
    /// volunteers who consented (and, under 14, whose guardian did).
    pub async fn publicity_board(&self) -> Result<Vec<BoardLine>, CoreError> {
        let rows = self.store().publicity_in_progress(1000).await?;
        let mut lines = Vec::with_capacity(rows.len());
        for row in rows {
            let name = self.publicity_name(row.volunteer_id).await?.unwrap_or_else(|| "志愿者".to_owned());
            lines.push(BoardLine {
                entry_id: row.id,
                activity: row.activity_name,
                organisation: row.organisation_name,
                day: row.day,
                name,
                hours: (f64::from(row.minutes) / 6.0).round() / 10.0,
                ends_on: row.ends_on,
                status: row.status,
            });
        }
        Ok(lines)
    }

    /// Moves publicity along: gives held entries their end once the calendar knows it,
    /// and moves every entry whose period has ended into the register. Idempotent; safe on
    /// every instance at once. Returns how many entries entered the register.
    pub async fn advance_publicity(&self) -> Result<usize, CoreError> {
        let today = self.now().with_timezone(&chrono_tz::Asia::Shanghai).date_naive();
        for row in self.store().publicity_held().await? {
            let calendar = self.calendar_for(&row.region_code).await?;
            if let Ok(ends_on) = calendar.nth_working_day_after(row.published_on, row.working_days) {
                self.store().set_publicity_end(row.id, ends_on).await?;
            }
        }
        let mut recorded = 0;
        for row in self.store().publicity_due(today).await? {
            let content = self.register_content(&row).await?;
            let json = serde_json::to_string(&content).map_err(|e| CoreError::Internal(e.to_string()))?;
            if self.store().append_register(row.id, &json, self.now()).await? {
                recorded += 1;
            }
        }
        Ok(recorded)
    }

    async fn register_content(&self, row: &PublicityRow) -> Result<RegisterContent, CoreError> {
        let activity = self
            .store()
            .get_activity(row.activity_id)
            .await?
            .ok_or_else(|| CoreError::Internal("a published activity is missing".into()))?;
        let volunteer = self
            .store()
            .get_volunteer(row.volunteer_id)
            .await?
            .ok_or_else(|| CoreError::Internal("a published volunteer is missing".into()))?;
        let evaluation = self
            .store()
            .evaluations(row.activity_id)
            .await?
            .into_iter()
            .find(|e| e.volunteer_id == row.volunteer_id)
            .map(|e| format!("{}：{}", e.grade.as_str(), e.comment));
        let leaders = self.store().activity_leaders(row.activity_id).await?.into_iter().map(|s| s.name).collect();
        let recorder = match self.store().finalisation(row.activity_id).await? {
            Some(f) => self.store().get_staff(f.finalised_by).await?.map(|s| s.name),
            None => None,
        };
        Ok(RegisterContent {
            volunteer_id: volunteer.id,
            volunteer_number: volunteer.volunteer_number,
            volunteer_name: volunteer.name,
            activity_id: activity.id,
            activity_name: activity.name,
            day: row.day,
            place: activity.address,
            recipients: activity.recipients,
            content: activity.content,
            minutes: row.minutes,
            evaluation,
            leaders,
            recorder,
            organisation_id: activity.organisation_id,
            organisation_name: row.organisation_name.clone(),
        })
    }

    /// Checks the whole register, link by link, and reports the first entry that does not
    /// hold (a changed content, hash or link).
    pub async fn verify_register(&self) -> Result<RegisterCheck, CoreError> {
        let mut previous = GENESIS.to_vec();
        let mut expected_seq = 1;
        let mut entries = 0;
        let mut after = 0;
        loop {
            let page = self.store().register_page(after, 1000).await?;
            if page.is_empty() {
                return Ok(RegisterCheck { entries, first_broken: None });
            }
            for row in page {
                entries += 1;
                let holds = row.seq == expected_seq
                    && row.previous_hash == previous
                    && row.hash == chain_hash(&row.previous_hash, &row.content);
                if !holds {
                    return Ok(RegisterCheck { entries, first_broken: Some(row.seq) });
                }
                previous = row.hash;
                expected_seq += 1;
                after = row.seq;
            }
        }
    }

    /// The register's entries after `seq` (for officers and the verifier).
    pub async fn register_entries(&self, after: i64, limit: i64) -> Result<Vec<RegisterRow>, CoreError> {
        self.store().register_page(after, limit).await
    }

    /// When an activity was finalised, for the record.
    pub async fn published_at(&self, activity_id: i64) -> Result<Option<DateTime<Utc>>, CoreError> {
        Ok(self.store().finalisation(activity_id).await?.map(|f| f.finalised_at))
    }
}

impl Hourmark {
    /// Adds a newly published national year (administrators and civil-affairs officers):
    /// no release needed. A year already known is refused.
    pub async fn add_calendar_year(
        &self,
        by: &crate::identity::Principal,
        year: crate::calendar::YearArrangement,
    ) -> Result<crate::calendar::YearArrangement, CoreError> {
        use crate::error::ErrorCode;
        let staff_id = self.require_calendar_editor(by).await?.0;
        year.validate().map_err(|why| CoreError::refused(ErrorCode::InvalidBody, why))?;
        if Calendar::national(&[]).years().contains_key(&year.year) {
            return Err(CoreError::refused(ErrorCode::InvalidBody, format!("{} 年的安排已随系统提供", year.year)));
        }
        if !self.store().add_calendar_year(&year, staff_id, self.now()).await? {
            return Err(CoreError::refused(ErrorCode::InvalidBody, format!("{} 年的安排已添加", year.year)));
        }
        Ok(year)
    }

    /// Sets a regional day off or working day (civil-affairs officers, for their region or
    /// one below it).
    pub async fn put_calendar_overlay(
        &self,
        by: &crate::identity::Principal,
        overlay: crate::calendar::Overlay,
    ) -> Result<crate::calendar::Overlay, CoreError> {
        use crate::error::ErrorCode;
        let (staff_id, region) = self.require_calendar_editor(by).await?;
        let Some(region) = region else {
            return Err(CoreError::refused(ErrorCode::Forbidden, "地方节假日由当地民政部门设置"));
        };
        if !crate::identity::region_covers(&region, &overlay.region_code) {
            return Err(CoreError::refused(ErrorCode::Forbidden, "只能设置本辖区的节假日"));
        }
        let name = overlay.name.trim();
        if name.is_empty() || name.chars().count() > 40 || name.chars().any(char::is_control) {
            return Err(CoreError::refused(ErrorCode::InvalidBody, "name 须为 1 至 40 个字符"));
        }
        let overlay = crate::calendar::Overlay { name: name.to_owned(), ..overlay };
        self.store().put_calendar_overlay(&overlay, staff_id, self.now()).await?;
        Ok(overlay)
    }

    /// The years the calendar knows, with their notices.
    pub async fn calendar_years(&self) -> Result<Vec<(i32, crate::calendar::Notice)>, CoreError> {
        let added = self.store().calendar_years().await?;
        Ok(Calendar::national(&added).years().iter().map(|(y, n)| (*y, n.clone())).collect())
    }

    /// Administrators (no region) and civil-affairs officers (their region).
    async fn require_calendar_editor(
        &self,
        by: &crate::identity::Principal,
    ) -> Result<(i64, Option<String>), CoreError> {
        use crate::identity::{Principal, StaffRole};
        match by {
            Principal::Staff { id, role: StaffRole::Administrator, .. } => Ok((*id, None)),
            Principal::Staff { id, role: StaffRole::Officer, .. } => Ok((*id, Some(self.officer_region(*id).await?))),
            _ => Err(CoreError::code(crate::error::ErrorCode::Forbidden)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_hash_covers_the_previous_one_and_the_content() {
        let first = chain_hash(&GENESIS, "{\"a\":1}");
        let second = chain_hash(&first, "{\"a\":2}");
        assert_ne!(first, second);
        assert_eq!(chain_hash(&GENESIS, "{\"a\":1}"), first, "deterministic");
        assert_ne!(chain_hash(&GENESIS, "{\"a\":3}"), first, "content matters");
        assert_ne!(chain_hash(&second, "{\"a\":1}"), first, "the link matters");
    }
}

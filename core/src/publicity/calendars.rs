//! Working-day calendars as civil affairs keeps them: national years, regional overlays,
//! and the preview of a publicity period that an officer checks before a change.

use chrono::NaiveDate;

use super::period::PublicityPeriod;
use super::{
    DEFAULT_WORKING_DAYS, MAX_CALENDAR_DAYS, MAX_WORKING_DAYS, PeriodPreview, RegionCalendar, require_region_code,
};
use crate::calendar::Calendar;
use crate::error::{CoreError, ErrorCode};
use crate::hourmark::Hourmark;

impl Hourmark {
    /// Adds a newly published national year (administrators: it changes every period in
    /// the country): no release needed. A year already known is refused.
    pub async fn add_calendar_year(
        &self,
        by: &crate::identity::Principal,
        year: crate::calendar::YearArrangement,
    ) -> Result<crate::calendar::YearArrangement, CoreError> {
        use crate::error::ErrorCode;
        let staff_id = crate::identity::guards::require_administrator(by)?;
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
        let name = crate::identity::line_text(&overlay.name, 40, "name")?;
        let overlay = crate::calendar::Overlay { name, ..overlay };
        self.store().put_calendar_overlay(&overlay, staff_id, self.now()).await?;
        Ok(overlay)
    }

    /// Removes a regional day off or working day set by mistake (civil-affairs officers,
    /// for their region or one below it). `not_found` if there was none.
    pub async fn remove_calendar_overlay(
        &self,
        by: &crate::identity::Principal,
        region_code: &str,
        day: NaiveDate,
    ) -> Result<(), CoreError> {
        let (_, region) = self.require_calendar_editor(by).await?;
        match region {
            Some(region) if crate::identity::region_covers(&region, region_code) => {}
            _ => return Err(CoreError::refused(ErrorCode::Forbidden, "只能设置本辖区的节假日")),
        }
        if self.store().remove_calendar_overlay(region_code, day).await? {
            Ok(())
        } else {
            Err(CoreError::refused(ErrorCode::NotFound, "没有这条地方节假日设置"))
        }
    }

    /// The years the calendar knows, with their notices.
    pub async fn calendar_years(&self) -> Result<Vec<(i32, crate::calendar::Notice)>, CoreError> {
        let added = self.store().calendar_years().await?;
        Ok(Calendar::national(&added).years().iter().map(|(y, n)| (*y, n.clone())).collect())
    }

    /// A region's working-day calendar from `from` to `to` (both included, at most
    /// [`MAX_CALENDAR_DAYS`]): each day, whether it counts and why, with the overlays of the
    /// region and the regions above it, exactly as publicity periods there are counted.
    /// Public: the calendar is public law and regional notices.
    pub async fn region_calendar(
        &self,
        region_code: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<RegionCalendar, CoreError> {
        require_region_code(region_code)?;
        if to < from {
            return Err(CoreError::refused(ErrorCode::DateRangeInvalid, "结束日期 to 早于开始日期 from"));
        }
        if (to - from).num_days() + 1 > MAX_CALENDAR_DAYS {
            return Err(CoreError::refused(
                ErrorCode::DateRangeInvalid,
                format!("一次最多查询 {MAX_CALENDAR_DAYS} 天"),
            ));
        }
        let calendar = self.calendar_for(region_code).await?;
        let days = from.iter_days().take_while(|d| *d <= to).map(|d| calendar.describe(d)).collect();
        Ok(RegionCalendar { region_code: region_code.to_owned(), from, to, days })
    }

    /// The period a publication on `published_on` (today, Asia/Shanghai, if absent) would
    /// get, counted by the same rule a real publication is ([`PublicityPeriod::count`]):
    /// for an approved organisation (its region and its configured length), or for a region
    /// with `working_days` (3 to 30; the province's setting if absent). Public.
    pub async fn preview_publicity_period(
        &self,
        region_code: Option<&str>,
        organisation_id: Option<i64>,
        working_days: Option<u32>,
        published_on: Option<NaiveDate>,
    ) -> Result<PeriodPreview, CoreError> {
        let (region_code, working_days) = match (organisation_id, region_code, working_days) {
            (Some(id), None, None) => {
                let organisation = self
                    .store()
                    .get_organisation(id)
                    .await?
                    .filter(|o| o.status == crate::identity::OrganisationStatus::Approved)
                    .ok_or_else(|| CoreError::refused(ErrorCode::NotFound, "没有这个记录机构"))?;
                let days = self.publicity_days(&organisation).await?;
                (organisation.region_code, days)
            }
            (Some(_), _, _) => {
                return Err(CoreError::refused(
                    ErrorCode::InvalidParameter,
                    "organisation_id 已决定地区和公示期长度，不能再指定 region_code 或 working_days",
                ));
            }
            (None, Some(region), days) => {
                require_region_code(region)?;
                let days = match days {
                    Some(n) if (DEFAULT_WORKING_DAYS..=MAX_WORKING_DAYS).contains(&n) => n,
                    Some(_) => {
                        return Err(CoreError::refused(
                            ErrorCode::InvalidParameter,
                            format!("working_days 须为 {DEFAULT_WORKING_DAYS} 至 {MAX_WORKING_DAYS}"),
                        ));
                    }
                    None => self.provincial_publicity_days(region).await?,
                };
                (region.to_owned(), days)
            }
            (None, None, _) => {
                return Err(CoreError::refused(ErrorCode::InvalidParameter, "须指定 region_code 或 organisation_id"));
            }
        };
        let published_on =
            published_on.unwrap_or_else(|| self.now().with_timezone(&chrono_tz::Asia::Shanghai).date_naive());
        let calendar = self.calendar_for(&region_code).await?;
        let period = PublicityPeriod::count(&calendar, published_on, working_days);
        Ok(PeriodPreview { region_code, organisation_id, period })
    }

    /// Administrators (no region) and civil-affairs officers (their region).
    pub(super) async fn require_calendar_editor(
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

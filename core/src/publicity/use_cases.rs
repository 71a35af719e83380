//! The use cases of publicity (`impl Hourmark`), apart from its types and rules in the
//! parent module, which the store and the context import without importing these.

use super::period::PublicityPeriod;
use super::register::{NewRegisterEntry, Recording, RegisterGuard, RegisterKind, RegisterRow};
use super::register::{canonical, correction_entries};
use super::*;
use crate::calendar::Calendar;
use crate::error::{CoreError, ErrorCode};
use crate::hourmark::Hourmark;
use crate::identity::Principal;
use chrono::NaiveDate;
use std::collections::HashMap;

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

    /// How many working days an organisation's publicity lasts: the longest of its own
    /// setting, its province's and [`DEFAULT_WORKING_DAYS`] (an organisation may lengthen
    /// its province's period, never shorten it).
    pub async fn publicity_days(&self, organisation: &crate::identity::Organisation) -> Result<u32, CoreError> {
        let own = self.store().publicity_rule(&format!("org:{}", organisation.id)).await?;
        Ok(own.unwrap_or(0).max(self.provincial_publicity_days(&organisation.region_code).await?))
    }

    /// How many working days publicity lasts in a region for an organisation without a
    /// setting of its own: its province's setting, at least [`DEFAULT_WORKING_DAYS`].
    pub(super) async fn provincial_publicity_days(&self, region_code: &str) -> Result<u32, CoreError> {
        let province = format!("{}0000", &region_code[..2.min(region_code.len())]);
        let provincial = self.store().publicity_rule(&province).await?;
        Ok(provincial.unwrap_or(0).max(DEFAULT_WORKING_DAYS))
    }

    /// Sets how many working days publicity lasts (at least 3) for an organisation
    /// (administrators, civil-affairs officers of its region) or a province
    /// (administrators, the province's civil-affairs officers).
    pub async fn set_publicity_days(&self, by: &Principal, rule: PublicityDays) -> Result<PublicityDays, CoreError> {
        if !(DEFAULT_WORKING_DAYS..=MAX_WORKING_DAYS).contains(&rule.working_days) {
            return Err(CoreError::refused(
                ErrorCode::InvalidBody,
                format!("working_days 须为 {DEFAULT_WORKING_DAYS} 至 {MAX_WORKING_DAYS}"),
            ));
        }
        let (staff_id, region) = self.require_calendar_editor(by).await?;
        let (scope, covered) = match (&rule.organisation_id, &rule.province_code) {
            (Some(id), None) => {
                let org = self
                    .store()
                    .get_organisation(*id)
                    .await?
                    .ok_or_else(|| CoreError::refused(ErrorCode::NotFound, "没有这个组织"))?;
                (format!("org:{id}"), org.region_code)
            }
            (None, Some(code)) if crate::identity::is_region_code(code) && code.ends_with("0000") => {
                (code.clone(), code.clone())
            }
            _ => {
                return Err(CoreError::refused(
                    ErrorCode::InvalidBody,
                    "须指定 organisation_id 或省级 province_code（XX0000）之一",
                ));
            }
        };
        if let Some(region) = region
            && !(crate::identity::region_covers(&region, &covered)
                && (rule.organisation_id.is_some() || region.ends_with("0000")))
        {
            return Err(CoreError::refused(ErrorCode::Forbidden, "只能设置本辖区的公示期"));
        }
        self.store().put_publicity_rule(&scope, rule.working_days, staff_id, self.now()).await?;
        Ok(rule)
    }

    /// The publicity entries for an activity's finalised days published `today`.
    pub(crate) async fn publicity_for(
        &self,
        organisation: &crate::identity::Organisation,
        sessions: &[crate::review::finalise::FinalisedSession],
        today: NaiveDate,
    ) -> Result<Vec<NewPublicity>, CoreError> {
        let calendar = self.calendar_for(&organisation.region_code).await?;
        let working_days = self.publicity_days(organisation).await?;
        let period = PublicityPeriod::count(&calendar, today, working_days);
        if let Some(year) = period.waiting_for_year {
            tracing::warn!(year, "publicity held: the calendar has no data for {year}");
        }
        let ends_on = period.ends_on;
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

    /// A page of the public board: entries in publicity or held that match `filter`,
    /// after entry `after`, at most `limit` (1–500), with masked names only for volunteers
    /// who consented (and, under 14, whose guardian did).
    pub async fn publicity_board(
        &self,
        after: i64,
        limit: i64,
        filter: &BoardFilter,
    ) -> Result<Vec<BoardLine>, CoreError> {
        filter.check()?;
        let rows = self.store().publicity_in_progress(after, limit.clamp(1, 500), filter).await?;
        let names = self.publicity_names(&rows.iter().map(|r| r.volunteer_id).collect::<Vec<_>>()).await?;
        let mut lines = Vec::with_capacity(rows.len());
        for row in rows {
            let name = names.get(&row.volunteer_id).cloned().unwrap_or_else(|| UNNAMED.to_owned());
            let status = BoardStatus::of(&row);
            lines.push(BoardLine {
                entry_id: row.id,
                activity_id: row.activity_id,
                activity: row.activity_name,
                organisation_id: row.organisation_id,
                organisation: row.organisation_name,
                day: row.day,
                name,
                hours: (f64::from(row.minutes) / 6.0).round() / 10.0,
                minutes: row.minutes,
                ends_on: row.ends_on,
                status,
            });
        }
        Ok(lines)
    }

    /// The public board's answer for `query`: `render` applied to the board's lines, or
    /// the same answer rendered less than `public_board_fresh` ago on this instance (see
    /// `super::board_cache`).
    ///
    /// # Errors
    /// Whatever reading the board or `render` fails with; a failure is not kept.
    pub async fn public_board_answer(
        &self,
        query: super::BoardQuery,
        render: impl FnOnce(Vec<BoardLine>) -> Result<bytes::Bytes, CoreError>,
    ) -> Result<bytes::Bytes, CoreError> {
        let cache = &self.inner().public_board;
        if let Some(kept) = cache.get(&query).await {
            return Ok(kept);
        }
        let generation = cache.generation();
        let body = render(self.publicity_board(query.after, query.limit, &query.filter).await?)?;
        cache.keep(query, body.clone(), generation).await;
        Ok(body)
    }

    /// Forgets every kept answer of the public board: something it shows changed here.
    pub(crate) fn public_board_changed(&self) {
        self.inner().public_board.forget();
    }

    /// Moves publicity along: gives held entries their end once the calendar knows it,
    /// and moves every entry whose period has ended into the register. Idempotent; safe on
    /// every instance at once. Returns how many entries entered the register.
    pub async fn advance_publicity(&self) -> Result<usize, CoreError> {
        // First, carry any correction a crash left half done: the finalised session is the
        // truth, publicity and the register follow it.
        for (activity_id, session, reason) in self.store().unpublished_corrections(100).await? {
            tracing::warn!(activity_id, volunteer_id = session.volunteer_id, day = %session.day,
                "carrying a correction that did not reach publicity or the register");
            // One day that cannot be carried (its activity gone, the store failing on it)
            // must not stop every other entry from reaching the register: log it, go on.
            // The correction's own reason goes to the register, not a made-up one.
            let reason = reason.unwrap_or_else(|| "补记：已定稿记录的更正".to_owned());
            if let Err(e) = self.carry_correction(activity_id, &session, &reason).await {
                tracing::error!(error = %e, activity_id, volunteer_id = session.volunteer_id,
                    "could not carry a correction; the next run tries again");
            }
        }
        let today = self.now().with_timezone(&chrono_tz::Asia::Shanghai).date_naive();
        for row in self.store().publicity_held().await? {
            let calendar = self.calendar_for(&row.region_code).await?;
            if let Some(ends_on) = PublicityPeriod::count(&calendar, row.published_on, row.working_days).ends_on {
                self.store().set_publicity_end(row.id, ends_on).await?;
                self.public_board_changed();
            }
        }
        let mut recorded = 0;
        let mut after = 0;
        loop {
            let due = self.store().publicity_due(today, after, RECORD_PAGE).await?;
            let Some(last) = due.last() else { break };
            after = last.id;
            let whole_page = due.len() as i64 == RECORD_PAGE;
            recorded += self.record(due).await?;
            if !whole_page {
                break;
            }
        }
        Ok(recorded)
    }

    /// Records entries whose period has ended: what they share read once, their entries
    /// appended in one transaction, their volunteers told. Returns how many went in (an
    /// entry changed meanwhile, by a restart or an objection, stays for a later run).
    async fn record(&self, due: Vec<PublicityRow>) -> Result<usize, CoreError> {
        let mut activities = HashMap::new();
        for row in &due {
            if let std::collections::hash_map::Entry::Vacant(vacant) = activities.entry(row.activity_id) {
                vacant.insert(self.activity_record(row.activity_id).await?);
            }
        }
        let volunteers: HashMap<i64, _> = self
            .store()
            .get_volunteers(&due.iter().map(|r| r.volunteer_id).collect::<Vec<_>>())
            .await?
            .into_iter()
            .map(|v| (v.id, v))
            .collect();
        let standing: HashMap<i64, RegisterRow> = self
            .store()
            .standing_register_entries(&due.iter().map(|r| r.id).collect::<Vec<_>>())
            .await?
            .into_iter()
            .filter_map(|r| Some((r.publicity_entry_id?, r)))
            .collect();
        let mut recordings = Vec::with_capacity(due.len());
        for row in &due {
            let volunteer = volunteers
                .get(&row.volunteer_id)
                .ok_or_else(|| CoreError::Internal("a published volunteer is missing".into()))?;
            let content = activities[&row.activity_id].content(row, volunteer);
            // An entry published again after a correction of what the register already
            // holds: its period is over, so now the reversal and replacement go in.
            let standing = standing.get(&row.id);
            let entries = match standing {
                None => vec![NewRegisterEntry {
                    kind: RegisterKind::Original,
                    publicity_entry_id: row.id,
                    organisation_id: content.organisation_id,
                    volunteer_id: content.volunteer_id,
                    minutes: i64::from(content.minutes),
                    content: canonical(&content)?,
                }],
                Some(standing) => {
                    let reason = row.restart_reason.clone().unwrap_or_else(|| "更正".to_owned());
                    correction_entries(row.id, standing, reason, content)?
                }
            };
            let guard = RegisterGuard::Recording {
                entry_id: row.id,
                minutes: row.minutes,
                published_on: row.published_on,
                standing: standing.map(|s| s.seq),
            };
            recordings.push(Recording { entries, guard });
        }
        let appended = self.store().append_register(&recordings, self.now()).await?;
        self.public_board_changed();
        let notices: Vec<_> = due
            .into_iter()
            .zip(appended)
            .filter(|(_, appended)| *appended)
            .map(|(row, _)| crate::notification::HoursNotice::Recorded {
                volunteer_id: row.volunteer_id,
                activity: row.activity_name,
                day: row.day,
                minutes: row.minutes,
                entry_id: row.id,
                published_on: row.published_on,
            })
            .collect();
        let recorded = notices.len();
        self.notify_all(notices).await;
        Ok(recorded)
    }
}

/// Entries recorded together: one transaction each, and what they share read once. The
/// register's appends are serialised, so a page holds other appends back while it goes
/// in; a few hundred keep that to a fraction of a second.
const RECORD_PAGE: i64 = 500;

//! The use cases of finalising (`impl Hourmark`), apart from its types and rules in the
//! parent module, which the store and the context import without importing these.

use super::super::{FlagStatus, scheduled_minutes_on, validate_reason};
use super::*;
use crate::attendance::{ScanFact, Schedule, derive_minutes};
use crate::audit::AuditEvent;
use crate::error::{CoreError, ErrorCode};
use crate::hourmark::Hourmark;
use crate::identity::Principal;
use chrono::NaiveDate;
use std::collections::BTreeMap;

impl Hourmark {
    /// Asks for a late entry (a qualified recorder of the organisation).
    pub async fn request_late_entry(
        &self,
        by: &Principal,
        activity_id: i64,
        request: LateEntryRequest,
    ) -> Result<LateEntry, CoreError> {
        let checked = self.checked_late_entry(by, activity_id, request).await?;
        self.store_late_entry(activity_id, checked).await
    }

    /// Stores a late entry [`Hourmark::checked_late_entry`] let through.
    pub(crate) async fn store_late_entry(
        &self,
        activity_id: i64,
        checked: CheckedLateEntry,
    ) -> Result<LateEntry, CoreError> {
        let CheckedLateEntry { staff_id, new, evidence, reason } = checked;
        self.store().add_late_entry(activity_id, &new, &evidence, &reason, staff_id, self.now()).await
    }

    /// Every check of a late-entry request, without writing (historic imports check a
    /// whole file before writing any of it).
    pub(crate) async fn checked_late_entry(
        &self,
        by: &Principal,
        activity_id: i64,
        request: LateEntryRequest,
    ) -> Result<CheckedLateEntry, CoreError> {
        let activity = self.reviewable_activity(by, activity_id).await?;
        let staff_id = self.require_recorder_of(by, activity.organisation_id).await?;
        let evidence = crate::identity::bounded_text(&request.evidence, 1000, "evidence")?;
        let reason = validate_reason(&request.reason)?;
        if self.store().is_finalised(activity_id).await? {
            return Err(CoreError::code(ErrorCode::ActivityFinalised));
        }
        let volunteer_id = match (request.volunteer_id, request.volunteer_number.as_deref()) {
            (Some(id), None) => {
                if self.store().get_volunteer(id).await?.is_none() {
                    return Err(CoreError::refused(ErrorCode::InvalidBody, "volunteer_id 所指的志愿者不存在"));
                }
                id
            }
            (None, Some(number)) => self
                .store()
                .volunteer_id_by_number(number.trim())
                .await?
                .ok_or_else(|| CoreError::refused(ErrorCode::InvalidBody, "没有这个志愿者编号"))?,
            _ => {
                return Err(CoreError::refused(
                    ErrorCode::InvalidBody,
                    "请填写 volunteer_number（志愿者编号）或 volunteer_id 之一",
                ));
            }
        };
        let new = NewLateEntry {
            volunteer_id,
            day: request.day,
            minutes: request.minutes,
            evidence: request.evidence,
            reason: request.reason,
        };
        let schedule = Schedule { starts_at: activity.starts_at, ends_at: activity.ends_at };
        let cap = scheduled_minutes_on(&schedule, new.day);
        if new.minutes == 0 || new.minutes > cap {
            return Err(CoreError::refused(
                ErrorCode::MinutesOverCap,
                format!("补录时长须为 1 至 {cap} 分钟（当日计划时长）"),
            ));
        }
        self.require_within_organisation_limit(activity_id, new.minutes).await?;
        let scans = self.store().accepted_scans(activity_id, Some(new.volunteer_id)).await?;
        let facts: Vec<ScanFact> = scans.iter().map(|s| ScanFact { at: s.at, direction: s.direction }).collect();
        let report = derive_minutes(&facts, &schedule, &self.settings().checkin.minutes, None);
        if report.per_day.iter().any(|d| d.day == new.day && d.minutes > 0) {
            return Err(CoreError::refused(
                ErrorCode::InvalidBody,
                "该志愿者当日已有扫码时长；如需更改，请在审核中调整",
            ));
        }
        Ok(CheckedLateEntry { staff_id, new, evidence, reason })
    }

    /// An activity's late entries.
    pub async fn late_entries(&self, by: &Principal, activity_id: i64) -> Result<Vec<LateEntry>, CoreError> {
        self.reviewable_activity(by, activity_id).await?;
        self.store().late_entries(activity_id).await
    }

    /// The volunteer with this card number, for a reviewer finding one person among an
    /// activity's thousands (`None` when no volunteer has it). Says nothing more than
    /// whether the number exists: callers look the id up among the activity's own.
    pub async fn reviewed_volunteer_by_number(
        &self,
        by: &Principal,
        activity_id: i64,
        number: &str,
    ) -> Result<Option<i64>, CoreError> {
        self.reviewable_activity(by, activity_id).await?;
        self.store().volunteer_id_by_number(number.trim()).await
    }

    /// Who the activity's late entries and objections are about, for its reviewers: each
    /// volunteer's number and name by id (a late entry's volunteer may never have scanned
    /// there), the publicity entry each objection disputes, and the names of the recorders
    /// who asked for or decided its late entries and corrections.
    pub async fn review_subjects(&self, by: &Principal, activity_id: i64) -> Result<ReviewSubjects, CoreError> {
        self.reviewable_activity(by, activity_id).await?;
        let mut subjects = ReviewSubjects::default();
        let late = self.store().late_entries(activity_id).await?;
        let corrections = self.store().session_correction_proposals(activity_id).await?;
        let mut staff: Vec<i64> = late
            .iter()
            .flat_map(|e| [Some(e.requested_by), e.decided_by])
            .chain(corrections.iter().flat_map(|c| [Some(c.proposed_by), c.decided_by]))
            .flatten()
            .collect();
        staff.sort_unstable();
        staff.dedup();
        for id in staff {
            if let Some(person) = self.store().get_staff(id).await? {
                subjects.staff.insert(id, person.name);
            }
        }
        let mut ids: Vec<i64> = late.iter().map(|e| e.volunteer_id).collect();
        for objection in self.store().objections_of_activity(activity_id).await? {
            if let Some(entry) = self.store().publicity_entry(objection.entry_id).await? {
                ids.push(entry.volunteer_id);
                subjects.disputed.insert(entry.id, entry);
            }
        }
        ids.sort_unstable();
        ids.dedup();
        for id in ids {
            if let Some(volunteer) = self.store().get_volunteer(id).await? {
                subjects.volunteers.insert(id, (volunteer.volunteer_number, volunteer.name));
            }
        }
        Ok(subjects)
    }

    /// Approves or rejects a late entry: a qualified recorder other than the one who asked.
    pub async fn decide_late_entry(
        &self,
        by: &Principal,
        activity_id: i64,
        entry_id: i64,
        decision: LateEntryDecision,
    ) -> Result<LateEntry, CoreError> {
        let activity = self.reviewable_activity(by, activity_id).await?;
        let staff_id = self.require_recorder_of(by, activity.organisation_id).await?;
        let reason = validate_reason(&decision.reason)?;
        let entry = self
            .store()
            .late_entries(activity_id)
            .await?
            .into_iter()
            .find(|e| e.id == entry_id)
            .ok_or_else(|| CoreError::refused(ErrorCode::NotFound, "没有这个补录申请"))?;
        if self.store().is_finalised(activity_id).await? {
            return Err(CoreError::code(ErrorCode::ActivityFinalised));
        }
        if entry.status != LateEntryStatus::Open {
            return Err(CoreError::code(ErrorCode::LateEntryDecided));
        }
        if entry.requested_by == staff_id {
            return Err(CoreError::code(ErrorCode::SameRecorder));
        }
        let status = if decision.approve { LateEntryStatus::Approved } else { LateEntryStatus::Rejected };
        let audit = AuditEvent {
            at: self.now(),
            actor_kind: "staff".into(),
            actor_id: Some(staff_id),
            action: format!("late_entry_{}", status.as_str()),
            subject_kind: "activity".into(),
            subject_id: Some(activity_id),
            detail: serde_json::json!({
                "late_entry_id": entry_id, "volunteer_id": entry.volunteer_id, "day": entry.day,
                "minutes": entry.minutes, "reason": reason,
            }),
        };
        let decided = self
            .store()
            .decide_late_entry(entry_id, status, staff_id, &reason, self.now(), &audit)
            .await?
            .ok_or_else(|| CoreError::code(ErrorCode::LateEntryDecided))?;
        if status == LateEntryStatus::Approved {
            self.notify_hours(crate::notification::HoursNotice::LateEntryApproved {
                volunteer_id: entry.volunteer_id,
                activity: activity.name.clone(),
                day: entry.day,
                minutes: entry.minutes,
                key: entry_id.to_string(),
            })
            .await;
        }
        Ok(decided)
    }

    /// The staff id of a recorder of `organisation_id` whose certificate is valid today.
    pub(crate) async fn require_recorder_of(&self, by: &Principal, organisation_id: i64) -> Result<i64, CoreError> {
        let id = self.require_qualified_recorder(by).await?;
        match by {
            Principal::Staff { organisation_id: Some(org), .. } if *org == organisation_id => Ok(id),
            _ => Err(CoreError::code(ErrorCode::Forbidden)),
        }
    }

    /// Finalises an activity: a qualified recorder of its organisation, after its check-out
    /// window, with no flag or late entry left open. Closes left-open sessions and runs
    /// every rule first, so nothing slips through between the last look and now.
    pub async fn finalise_activity(&self, by: &Principal, activity_id: i64) -> Result<Finalisation, CoreError> {
        let activity = self.reviewable_activity(by, activity_id).await?;
        let staff_id = self.require_recorder_of(by, activity.organisation_id).await?;
        if self.store().is_finalised(activity_id).await? {
            return Err(CoreError::code(ErrorCode::ActivityFinalised));
        }
        let now = self.now();
        let window_closes = activity.ends_at + self.settings().checkin.checkout_closes_after;
        if now < window_closes {
            return Err(CoreError::refused(
                ErrorCode::ActivityInProgress,
                format!(
                    "签退时段至 {} 结束，之后方可定稿",
                    crate::activity::to_shanghai(window_closes).format("%m月%d日 %H:%M")
                ),
            ));
        }
        self.close_activity(&activity).await?;
        let flags = self.store().flags(activity_id).await?;
        let entries = self.store().late_entries(activity_id).await?;
        let open_flags = flags.iter().filter(|f| f.status == FlagStatus::Open).count();
        let open_entries = entries.iter().filter(|e| e.status == LateEntryStatus::Open).count();
        if open_flags + open_entries > 0 {
            return Err(CoreError::refused(
                ErrorCode::FlagsOpen,
                format!("仍有 {open_flags} 个标记和 {open_entries} 个补录申请未处理"),
            ));
        }

        let schedule = Schedule { starts_at: activity.starts_at, ends_at: activity.ends_at };
        let scans = self.store().accepted_scans(activity_id, None).await?;
        let mut facts: BTreeMap<i64, Vec<ScanFact>> = BTreeMap::new();
        for s in &scans {
            facts.entry(s.volunteer_id).or_default().push(ScanFact { at: s.at, direction: s.direction });
        }
        let mut days: BTreeMap<(i64, NaiveDate), FinalisedSession> = BTreeMap::new();
        for (volunteer_id, facts) in facts {
            for d in derive_minutes(&facts, &schedule, &self.settings().checkin.minutes, None).per_day {
                days.insert(
                    (volunteer_id, d.day),
                    FinalisedSession {
                        volunteer_id,
                        day: d.day,
                        scan_minutes: d.minutes,
                        final_minutes: d.minutes,
                        source: MinutesSource::Scans,
                    },
                );
            }
        }
        // Reviewers' decisions, oldest first so the last adjustment of a day stands; a
        // rejection of the day wins over any adjustment.
        let mut resolved: Vec<_> = flags.iter().filter(|f| f.status != FlagStatus::Accepted).collect();
        resolved.sort_by_key(|f| (f.resolved_at, f.id));
        for flag in resolved {
            let session = days.entry((flag.volunteer_id, flag.day)).or_insert(FinalisedSession {
                volunteer_id: flag.volunteer_id,
                day: flag.day,
                scan_minutes: 0,
                final_minutes: 0,
                source: MinutesSource::Scans,
            });
            match (flag.status, session.source) {
                (_, MinutesSource::Rejected) => {}
                (FlagStatus::Rejected, _) => {
                    session.final_minutes = 0;
                    session.source = MinutesSource::Rejected;
                }
                (FlagStatus::Adjusted, _) => {
                    let cap = scheduled_minutes_on(&schedule, flag.day);
                    session.final_minutes = flag.adjusted_minutes.unwrap_or(0).min(cap);
                    session.source = MinutesSource::Adjusted;
                }
                _ => {}
            }
        }
        for entry in entries.iter().filter(|e| e.status == LateEntryStatus::Approved) {
            let cap = scheduled_minutes_on(&schedule, entry.day);
            days.entry((entry.volunteer_id, entry.day)).or_insert(FinalisedSession {
                volunteer_id: entry.volunteer_id,
                day: entry.day,
                scan_minutes: 0,
                final_minutes: entry.minutes.min(cap),
                source: MinutesSource::LateEntry,
            });
        }
        let sessions: Vec<FinalisedSession> = days.into_values().collect();
        // Who came, as the hours are settled: an accepted scan, or an approved late entry.
        // The approved sign-ups of anyone else are recorded as no-shows (the organisation's
        // own list, never published) before the finalisation is stored.
        let came: std::collections::HashSet<i64> = scans
            .iter()
            .map(|s| s.volunteer_id)
            .chain(entries.iter().filter(|e| e.status == LateEntryStatus::Approved).map(|e| e.volunteer_id))
            .collect();
        self.record_no_shows(activity_id, staff_id, &came).await?;
        let audit = AuditEvent {
            at: now,
            actor_kind: "staff".into(),
            actor_id: Some(staff_id),
            action: "activity_finalised".into(),
            subject_kind: "activity".into(),
            subject_id: Some(activity_id),
            detail: serde_json::json!({
                "sessions": sessions.len(),
                "final_minutes": sessions.iter().map(|s| u64::from(s.final_minutes)).sum::<u64>(),
            }),
        };
        let organisation = self
            .store()
            .get_organisation(activity.organisation_id)
            .await?
            .ok_or_else(|| CoreError::Internal("the activity's organisation is missing".into()))?;
        let today = now.with_timezone(&chrono_tz::Asia::Shanghai).date_naive();
        let publicity = self.publicity_for(&organisation, &sessions, today).await?;
        if !self.store().finalise(activity_id, staff_id, now, &sessions, &publicity, &audit).await? {
            return Err(CoreError::code(ErrorCode::ActivityFinalised));
        }
        self.public_board_changed();
        // Boards of the activity show its no-shows and final minutes only once they refetch.
        self.inner().live.publish(crate::live::LiveEvent {
            activity_id,
            id: uuid::Uuid::now_v7(),
            change: crate::live::LiveChange::Finalised,
        });
        let notices = publicity
            .iter()
            .map(|p| crate::notification::HoursNotice::PublicityStarted {
                volunteer_id: p.volunteer_id,
                activity: activity.name.clone(),
                day: p.day,
                minutes: p.minutes,
                ends_on: p.ends_on,
                activity_id,
                published_on: p.published_on,
            })
            .collect();
        self.notify_all(notices).await;
        Ok(Finalisation { activity_id, finalised_by: staff_id, finalised_at: now, sessions })
    }

    /// A finalised activity's sessions (reviewers).
    pub async fn finalisation(&self, by: &Principal, activity_id: i64) -> Result<Finalisation, CoreError> {
        self.reviewable_activity(by, activity_id).await?;
        self.store()
            .finalisation(activity_id)
            .await?
            .ok_or_else(|| CoreError::refused(ErrorCode::NotFound, "活动尚未定稿"))
    }
}

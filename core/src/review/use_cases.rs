//! The review of an activity as use cases (its settings, flags, decisions, late entries),
//! each an `impl Hourmark` block over the types and rules in `review`.

use super::rules::{ActivityFacts, Finding, Reviewer, ScanEvidence};
use crate::activity::Activity;
use crate::attendance::minutes::local_day;
use crate::attendance::{ScanFact, Schedule, derive_minutes};
use crate::audit::AuditEvent;
use crate::error::{CoreError, ErrorCode};
use crate::hourmark::Hourmark;
use crate::identity::{Agency, Principal, StaffRole};
use crate::store::FlaggedDays;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

use super::{
    ActivityReview, DayCursor, Decision, Flag, FlagResolution, FlagStatus, FlaggedDay, NewFlag, ReviewPage, ReviewScan,
    ReviewSettings, StoredScanEvidence, VolunteerScans, scheduled_minutes_on, sessions_elsewhere, validate_reason,
};

impl Hourmark {
    /// An activity's review settings (the defaults when none were set).
    pub async fn review_settings(&self, activity_id: i64) -> Result<ReviewSettings, CoreError> {
        if let Some(settings) = self.inner().review_settings.get(&activity_id).await {
            return Ok(settings);
        }
        let settings = self.store().review_settings(activity_id).await?.unwrap_or_default();
        self.inner().review_settings.insert(activity_id, settings).await;
        Ok(settings)
    }

    /// Sets an activity's rule parameters and left-open policy (its organisers, recorders
    /// and administrators).
    pub async fn put_review_settings(
        &self,
        by: &Principal,
        activity_id: i64,
        settings: ReviewSettings,
    ) -> Result<ReviewSettings, CoreError> {
        let activity = self.managed_activity(by, activity_id).await?;
        let staff_id = crate::identity::guards::require_manager_of(by, activity.organisation_id)?;
        settings.params.validate().map_err(|why| CoreError::refused(ErrorCode::InvalidBody, why))?;
        // Once its left-open sessions are closed, changing the policy would change what was
        // already decided.
        if self.store().is_closed(activity_id).await? || self.store().is_finalised(activity_id).await? {
            return Err(CoreError::refused(ErrorCode::ActivityEnded, "活动已结束，不能再更改审核设置"));
        }
        self.store().put_review_settings(activity_id, &settings, staff_id, self.now()).await?;
        self.inner().review_settings.invalidate(&activity_id).await;
        self.inner().review_passes.forget(activity_id).await;
        Ok(settings)
    }

    /// Hand-set minutes above the activity's civil-affairs review limit (12 h by default)
    /// are for a civil-affairs officer alone: a recorder may not adjust, correct, uphold or
    /// enter a day past what the 12-hour rule would send to civil affairs.
    pub(crate) async fn require_within_organisation_limit(
        &self,
        activity_id: i64,
        minutes: u32,
    ) -> Result<(), CoreError> {
        let limit = self.review_settings(activity_id).await?.params.officer_review_minutes;
        if minutes > limit {
            return Err(CoreError::refused(
                ErrorCode::Forbidden,
                format!("单日超过 {} 小时的时长须由民政部门审核", limit / 60),
            ));
        }
        Ok(())
    }

    /// The activity as the rules see it.
    pub(super) fn activity_facts(activity: &Activity) -> ActivityFacts {
        ActivityFacts {
            id: activity.id,
            schedule: Schedule { starts_at: activity.starts_at, ends_at: activity.ends_at },
            venue: activity.location,
            radius_m: activity.radius_m,
        }
    }

    /// Runs the per-scan rules on a just-committed accepted scan. Called from the scan's own
    /// task; a failure is logged, never the volunteer's problem (the activity pass will
    /// raise the same flags).
    pub(crate) async fn flag_scan(&self, activity_id: i64, scan: &ScanEvidence) {
        self.inner().review_passes.scan_taken(activity_id).await;
        // Below the least any activity may set, no per-scan rule can fire: most scans stop here.
        let least = super::rules::RuleParams::LEAST_DELAY_SECS;
        let quick_look = scan.geofence != Some(crate::geo::Geofence::Inside)
            || scan.client_time.is_some_and(|c| (c - scan.at).num_seconds().abs() > least)
            || scan.code_shown_at.is_some_and(|s| (scan.uploaded_at.unwrap_or(scan.at) - s).num_seconds() > least);
        if !quick_look {
            return;
        }
        let result = async {
            let Some(activity) = self.activity(activity_id).await? else { return Ok(0) };
            let settings = self.review_settings(activity_id).await?;
            let findings = super::rules::scan_findings(&Self::activity_facts(&activity), &settings.params, scan);
            self.raise(activity_id, findings).await
        }
        .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, activity_id, "could not flag a scan; the activity pass will");
        }
    }

    pub(super) async fn raise(&self, activity_id: i64, findings: Vec<Finding>) -> Result<usize, CoreError> {
        self.raise_knowing(activity_id, findings, &mut FlaggedDays::default()).await
    }

    /// [`Self::raise`], with the flagged days already `known` (see [`FlaggedDays`]).
    async fn raise_knowing(
        &self,
        activity_id: i64,
        findings: Vec<Finding>,
        known: &mut FlaggedDays,
    ) -> Result<usize, CoreError> {
        if findings.is_empty() {
            return Ok(0);
        }
        let now = self.now();
        let flags: Vec<NewFlag> =
            findings.into_iter().map(|finding| NewFlag { activity_id, finding, raised_at: now }).collect();
        let raised = self.store().raise_flags(&flags, known).await?;
        if raised > 0 {
            self.inner().live.publish(crate::live::LiveEvent {
                activity_id,
                id: uuid::Uuid::now_v7(),
                change: crate::live::LiveChange::Flags { raised },
            });
        }
        Ok(raised)
    }

    /// Every rule over the whole activity; returns how many new flags were raised.
    pub async fn evaluate_activity(&self, activity: &Activity) -> Result<usize, CoreError> {
        let start = self.inner().review_passes.begin(activity.id).await;
        let settings = self.review_settings(activity.id).await?;
        let at = self.now();
        let stored = self.store().scan_evidence(activity.id).await?;
        let raised = self.evaluate_scans(activity, &stored).await?;
        super::passes::Passes::ran(start, Self::activity_facts(activity), settings, at);
        Ok(raised)
    }

    /// The rules over what changed at the activity, unless the last pass on this instance
    /// still holds (see [`passes`]); answers when the pass that holds ran. A finalised
    /// activity's flags can no longer change: no pass, `None`.
    pub(super) async fn evaluate_unless_current(
        &self,
        activity: &Activity,
    ) -> Result<Option<DateTime<Utc>>, CoreError> {
        if self.store().is_finalised(activity.id).await? {
            return Ok(None);
        }
        let settings = self.review_settings(activity.id).await?;
        let now = self.now();
        let current = self.inner().review_passes.current(&Self::activity_facts(activity), &settings, now).await;
        if let Some(ran) = current {
            return Ok(Some(ran));
        }
        self.evaluate_changes(activity).await?;
        Ok(Some(now))
    }

    /// The rules over what changed at the activity since this instance's last pass there
    /// (everything, when its book is new); returns how many new flags were raised.
    async fn evaluate_changes(&self, activity: &Activity) -> Result<usize, CoreError> {
        let start = self.inner().review_passes.begin(activity.id).await;
        let settings = self.review_settings(activity.id).await?;
        let facts = Self::activity_facts(activity);
        let at = self.now();
        let slot = self.inner().review_passes.book(activity.id).await;
        let mut slot = slot.lock().await;
        let kept = slot.take().filter(|k| k.facts == facts && k.settings == settings);
        let whole = kept.is_none();
        let mut kept = kept.unwrap_or_else(|| super::passes::KeptBook {
            facts,
            settings,
            cursor: None,
            book: super::book::RulesBook::default(),
        });
        let (stored, cursor) = self.store().accepted_evidence_after(activity.id, kept.cursor).await?;
        let windows = self.settings().code_windows;
        // A new book takes every scan of the activity: off the async workers, on the
        // threads that give way to scans.
        let (mut kept, touched) = crate::background::run("rules pass", move || {
            let touched =
                kept.book.add(stored.into_iter().map(|s| ScanEvidence {
                    code_shown_at: s.code_window.map(|w| windows.window_start(w)),
                    ..s.evidence
                }));
            (kept, touched)
        })
        .await?;
        kept.cursor = cursor;
        let raised = if touched.is_empty() {
            0
        } else {
            // A new book judges every volunteer: reading their sessions elsewhere and the
            // flags already raised activity-wide is one statement each, not a list of ids.
            let volunteers = touched.volunteers();
            let whose = (!whole).then_some(volunteers.as_slice());
            let policy = self.settings().checkin.minutes;
            let elsewhere = sessions_elsewhere(&self.store().scans_elsewhere(activity.id, whose).await?, &policy);
            // Findings go to the store a batch at a time while the rules go on finding
            // more, so a new book's hundreds of thousands are never all held at once.
            // A new book's findings are checked against every flag held, read once; a
            // few new scans' findings against their own volunteers' flags.
            let held = if whole { Some(self.raised_keys(activity.id, None).await?) } else { None };
            let (batches, mut found) = tokio::sync::mpsc::channel::<Vec<Finding>>(1);
            let judging = crate::background::run("rules pass", move || {
                // A refused send means the raising below failed: the rest is not needed.
                let mut gathered = Batches::new(RAISE_BATCH, |batch| drop(batches.blocking_send(batch)));
                let book = &kept.book;
                book.each_finding(&touched, &facts, &settings.params, &policy, &elsewhere, &mut |f| gathered.push(f));
                gathered.finish();
                kept
            });
            let (mut raised, mut known) = (0, FlaggedDays::default());
            while let Some(mut batch) = found.recv().await {
                raised += match &held {
                    Some(held) => {
                        batch.retain(|f| !held.contains(&(f.volunteer_id, f.rule.as_str().to_owned(), f.key.clone())));
                        self.raise_knowing(activity.id, batch, &mut known).await?
                    }
                    None => self.raise_new(activity.id, batch, false, &mut known).await?,
                };
            }
            kept = judging.await?;
            raised
        };
        *slot = Some(kept);
        super::passes::Passes::ran(start, facts, settings, at);
        Ok(raised)
    }

    /// Every rule over an activity whose scans are already loaded.
    pub(super) async fn evaluate_scans(
        &self,
        activity: &Activity,
        stored: &[StoredScanEvidence],
    ) -> Result<usize, CoreError> {
        let settings = self.review_settings(activity.id).await?;
        let windows = self.settings().code_windows;
        let scans: Vec<ScanEvidence> = stored
            .iter()
            .map(|s| ScanEvidence {
                code_shown_at: s.code_window.map(|w| windows.window_start(w)),
                ..s.evidence.clone()
            })
            .collect();
        let elsewhere = sessions_elsewhere(
            &self.store().scans_elsewhere(activity.id, None).await?,
            &self.settings().checkin.minutes,
        );
        let findings = super::book::activity_findings(
            &Self::activity_facts(activity),
            &settings.params,
            &self.settings().checkin.minutes,
            &scans,
            &elsewhere,
        );
        self.raise_new(activity.id, findings, true, &mut FlaggedDays::default()).await
    }

    /// Raises those of `findings` the activity does not hold yet. Every pass finds again
    /// much of what earlier passes raised; offering the store tens of thousands of findings
    /// it already holds cost one statement each, on every review. `whole`: the findings
    /// cover most of the activity's volunteers, so its every flag is read rather than
    /// those of the volunteers named.
    async fn raise_new(
        &self,
        activity_id: i64,
        mut findings: Vec<Finding>,
        whole: bool,
        known: &mut FlaggedDays,
    ) -> Result<usize, CoreError> {
        if findings.is_empty() {
            return Ok(0);
        }
        let volunteers: Vec<i64> =
            findings.iter().map(|f| f.volunteer_id).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
        let whose = (!whole).then_some(volunteers.as_slice());
        let raised = self.raised_keys(activity_id, whose).await?;
        findings.retain(|f| !raised.contains(&(f.volunteer_id, f.rule.as_str().to_owned(), f.key.clone())));
        self.raise_knowing(activity_id, findings, known).await
    }

    /// The keys of the flags the activity holds: of `whose` volunteers, or all of them.
    async fn raised_keys(
        &self,
        activity_id: i64,
        whose: Option<&[i64]>,
    ) -> Result<std::collections::HashSet<(i64, String, String)>, CoreError> {
        Ok(self.store().flag_keys(activity_id, whose).await?.into_iter().collect())
    }

    /// An activity a reviewer may look at: administrators; the organisation's organisers
    /// and recorders (not leaders); civil-affairs officers of its region.
    pub(crate) async fn reviewable_activity(
        &self,
        by: &Principal,
        activity_id: i64,
    ) -> Result<std::sync::Arc<Activity>, CoreError> {
        let not_found = || CoreError::refused(ErrorCode::NotFound, "活动不存在");
        let activity = self.activity(activity_id).await?.ok_or_else(not_found)?;
        match by {
            Principal::Staff { role: StaffRole::Administrator, .. } => Ok(activity),
            Principal::Staff { role: StaffRole::Leader, .. } => Err(CoreError::code(ErrorCode::Forbidden)),
            Principal::Staff { role: StaffRole::Officer, id, .. } => {
                let region = self.officer_region(*id).await.map_err(|_| not_found())?;
                let org = self.store().get_organisation(activity.organisation_id).await?.ok_or_else(not_found)?;
                if crate::identity::region_covers(&region, &org.region_code) { Ok(activity) } else { Err(not_found()) }
            }
            Principal::Staff { organisation_id: Some(org), .. } if *org == activity.organisation_id => Ok(activity),
            Principal::Staff { .. } => Err(not_found()),
            Principal::Volunteer { .. } => Err(CoreError::code(ErrorCode::Forbidden)),
        }
    }

    /// How many of the activity's flags await a decision, current as
    /// [`Hourmark::activity_review`] would say, without listing the days: a finalised
    /// activity's flags can no longer change, so only an open one reads its scans and runs
    /// the rules. For the recorder's home, which shows this for every activity begun.
    pub async fn open_flag_count(&self, by: &Principal, activity_id: i64) -> Result<u32, CoreError> {
        let activity = self.reviewable_activity(by, activity_id).await?;
        self.evaluate_unless_current(&activity).await?;
        Ok(self.store().flag_counts(activity_id).await?.open)
    }

    /// The activity's review: runs every rule first unless this instance's last pass over
    /// the activity still holds (see [`passes`]), then lists one page of flagged days with
    /// their scans. Only the page's volunteers' scans are read for the listing, and each
    /// day's scans are picked out once, not searched for per day.
    pub async fn activity_review(
        &self,
        by: &Principal,
        activity_id: i64,
        page: ReviewPage,
    ) -> Result<ActivityReview, CoreError> {
        let activity = self.reviewable_activity(by, activity_id).await?;
        if page.limit == 0 || page.limit > ReviewPage::MAX_LIMIT {
            return Err(CoreError::refused(
                ErrorCode::InvalidParameter,
                format!("limit 须在 1 到 {} 之间", ReviewPage::MAX_LIMIT),
            ));
        }
        let rules_run_at = self.evaluate_unless_current(&activity).await?;
        let settings = self.review_settings(activity_id).await?;
        let counts = self.store().flag_counts(activity_id).await?;
        // One more day than the page holds says whether another page follows.
        let after = page.after.map(|c| (c.volunteer_id, c.day));
        let flags = self.store().flag_page(activity_id, after, page.limit + 1).await?;
        let mut days: BTreeMap<DayCursor, Vec<Flag>> = BTreeMap::new();
        for flag in flags {
            days.entry(DayCursor { volunteer_id: flag.volunteer_id, day: flag.day }).or_default().push(flag);
        }
        let more = days.len() > page.limit as usize;
        if more {
            days.pop_last();
        }
        let next = if more { days.last_key_value().map(|(cursor, _)| cursor.to_string()) } else { None };

        let mut volunteers: Vec<i64> = days.keys().map(|c| c.volunteer_id).collect();
        volunteers.dedup();
        let scans = self.store().scan_evidence_of(activity_id, &volunteers).await?;
        let schedule = Schedule { starts_at: activity.starts_at, ends_at: activity.ends_at };
        let policy = &self.settings().checkin.minutes;
        let mut own: BTreeMap<i64, VolunteerScans> = BTreeMap::new();
        for s in scans {
            let e = s.evidence;
            let entry = own.entry(e.volunteer_id).or_insert_with(|| VolunteerScans {
                name: s.volunteer_name,
                facts: Vec::new(),
                by_day: BTreeMap::new(),
            });
            if let Some(direction) = e.direction {
                entry.facts.push(ScanFact { at: e.at, direction });
            }
            entry.by_day.entry(local_day(e.at)).or_default().push(ReviewScan {
                id: e.id,
                at: e.at,
                direction: e.direction,
                outcome: s.outcome,
                geofence: e.geofence.map(|g| g.as_str().to_owned()),
                distance_m: e.distance_m,
                device_id: e.device_id,
            });
        }
        let mut minutes: BTreeMap<i64, Vec<crate::attendance::minutes::DayMinutes>> = BTreeMap::new();
        let days = days
            .into_iter()
            .map(|(DayCursor { volunteer_id, day }, flags)| {
                let per_day = minutes.entry(volunteer_id).or_insert_with(|| {
                    let facts = own.get(&volunteer_id).map(|o| o.facts.as_slice()).unwrap_or_default();
                    derive_minutes(facts, &schedule, policy, None).per_day
                });
                let scan_minutes = per_day.iter().find(|d| d.day == day).map_or(0, |d| d.minutes);
                let entry = own.get_mut(&volunteer_id);
                let volunteer_name = entry.as_ref().map(|o| o.name.clone()).unwrap_or_default();
                let scans = entry.and_then(|o| o.by_day.remove(&day)).unwrap_or_default();
                FlaggedDay {
                    volunteer_id,
                    volunteer_name,
                    day,
                    scan_minutes,
                    scheduled_minutes: scheduled_minutes_on(&schedule, day),
                    flags,
                    scans,
                }
            })
            .collect();
        Ok(ActivityReview {
            activity_id,
            open_flags: counts.open,
            days_total: counts.days,
            rules_run_at,
            settings,
            days,
            next,
        })
    }

    /// Resolves a flag: a qualified recorder of the organisation for the organisation's
    /// flags, a civil-affairs officer of its region for theirs. Once; audited; hand-set
    /// minutes never exceed the day's scheduled minutes.
    pub async fn resolve_flag(
        &self,
        by: &Principal,
        activity_id: i64,
        flag_id: i64,
        resolution: FlagResolution,
    ) -> Result<Flag, CoreError> {
        let activity = self.reviewable_activity(by, activity_id).await?;
        let flag = self
            .store()
            .get_flag(flag_id)
            .await?
            .filter(|f| f.activity_id == activity_id)
            .ok_or_else(|| CoreError::refused(ErrorCode::NotFound, "没有这个标记"))?;
        let staff_id = match flag.reviewer {
            Reviewer::Organisation => self.require_recorder_of(by, activity.organisation_id).await?,
            Reviewer::CivilAffairs => match by {
                Principal::Staff { id, role: StaffRole::Officer, .. } => {
                    let (_, agency) = self.officer(*id).await?;
                    if agency != Agency::CivilAffairs {
                        return Err(CoreError::code(ErrorCode::Forbidden));
                    }
                    *id
                }
                _ => return Err(CoreError::refused(ErrorCode::Forbidden, "单日超过 12 小时的服务须由民政部门审核")),
            },
        };
        let reason = validate_reason(&resolution.reason)?;
        if self.store().is_finalised(activity_id).await? {
            return Err(CoreError::code(ErrorCode::ActivityFinalised));
        }
        if flag.status != FlagStatus::Open {
            return Err(CoreError::code(ErrorCode::FlagResolved));
        }
        let schedule = Schedule { starts_at: activity.starts_at, ends_at: activity.ends_at };
        let cap = scheduled_minutes_on(&schedule, flag.day);
        let (status, minutes) = match (resolution.decision, resolution.minutes) {
            (Decision::Accept, None) => (FlagStatus::Accepted, None),
            (Decision::Reject, None) => (FlagStatus::Rejected, None),
            (Decision::Adjust, Some(m)) if m <= cap => {
                if flag.reviewer == Reviewer::Organisation {
                    self.require_within_organisation_limit(activity_id, m).await?;
                }
                (FlagStatus::Adjusted, Some(m))
            }
            (Decision::Adjust, Some(m)) => {
                return Err(CoreError::refused(
                    ErrorCode::MinutesOverCap,
                    format!("调整后的时长 {m} 分钟超过当日计划时长 {cap} 分钟"),
                ));
            }
            (Decision::Adjust, None) => {
                return Err(CoreError::refused(ErrorCode::InvalidBody, "调整须填写 minutes"));
            }
            (_, Some(_)) => return Err(CoreError::refused(ErrorCode::InvalidBody, "只有调整需要 minutes")),
        };
        let audit = AuditEvent {
            at: self.now(),
            actor_kind: "staff".into(),
            actor_id: Some(staff_id),
            action: format!("flag_{}", status.as_str()),
            subject_kind: "activity".into(),
            subject_id: Some(activity_id),
            detail: serde_json::json!({
                "flag_id": flag_id, "rule": flag.rule, "volunteer_id": flag.volunteer_id, "day": flag.day,
                "minutes": minutes, "reason": reason,
            }),
        };
        let resolved = self
            .store()
            .resolve_flag(flag_id, status, staff_id, &reason, minutes, self.now(), &audit)
            .await?
            .ok_or_else(|| CoreError::code(ErrorCode::FlagResolved))?;
        // What the day now earns, as the volunteer is told it.
        let counted = match status {
            FlagStatus::Adjusted => minutes.unwrap_or_default(),
            FlagStatus::Rejected => 0,
            _ => {
                let scans = self.store().accepted_scans(activity_id, Some(flag.volunteer_id)).await?;
                let facts: Vec<ScanFact> =
                    scans.iter().map(|s| ScanFact { at: s.at, direction: s.direction }).collect();
                let report = derive_minutes(&facts, &schedule, &self.settings().checkin.minutes, None);
                report.per_day.iter().find(|d| d.day == flag.day).map_or(0, |d| d.minutes)
            }
        };
        self.notify_hours(crate::notification::HoursNotice::FlagDecided {
            volunteer_id: flag.volunteer_id,
            activity: activity.name.clone(),
            day: flag.day,
            decision: status.as_str(),
            minutes: counted,
            reason,
            key: flag_id.to_string(),
        })
        .await;
        Ok(resolved)
    }
}

/// Findings raised together in a pass over a new book: at most three batches are held
/// (one gathering, one waiting, one being raised), a few tens of megabytes. A batch holds
/// most of an activity's volunteers (the rules find rule by rule), so the pass keeps the
/// days it has seen flagged ([`FlaggedDays`]); without them every batch re-read the flags
/// raised before it, and PostgreSQL spent twice the CPU (BENCHMARKS.md).
const RAISE_BATCH: usize = 10_000;

/// Items gathered until `size` are held, then handed to `send` together.
struct Batches<T, F: FnMut(Vec<T>)> {
    held: Vec<T>,
    size: usize,
    send: F,
}

impl<T, F: FnMut(Vec<T>)> Batches<T, F> {
    fn new(size: usize, send: F) -> Self {
        Self { held: Vec::new(), size: size.max(1), send }
    }

    fn push(&mut self, item: T) {
        self.held.push(item);
        if self.held.len() >= self.size {
            (self.send)(std::mem::take(&mut self.held));
        }
    }

    /// Hands on what is held, if anything.
    fn finish(mut self) {
        if !self.held.is_empty() {
            (self.send)(std::mem::take(&mut self.held));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Batches;

    #[test]
    fn batches_are_full_but_the_last_and_keep_the_order() {
        let mut sent: Vec<Vec<u32>> = Vec::new();
        let mut batches = Batches::new(10, |b| sent.push(b));
        (1..=95).for_each(|i| batches.push(i));
        batches.finish();
        assert_eq!(sent.iter().map(Vec::len).collect::<Vec<_>>(), [10, 10, 10, 10, 10, 10, 10, 10, 10, 5]);
        assert_eq!(sent.concat(), (1..=95).collect::<Vec<_>>());

        let mut none: Vec<Vec<u32>> = Vec::new();
        Batches::new(10, |b| none.push(b)).finish();
        assert!(none.is_empty(), "nothing held, nothing sent");
    }
}

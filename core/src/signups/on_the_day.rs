//! Sign-ups on and around the day: who may check in where walk-ins are not admitted (on
//! the scan path), the reminders before the start, and who never came.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use serde::Serialize;
use utoipa::ToSchema;

use super::{Signup, SignupStatus};
use crate::attendance::checkin::Refusal;
use crate::error::{CoreError, ErrorCode};
use crate::hourmark::Hourmark;
use crate::identity::Principal;
use crate::notification::HoursNotice;

/// How long an instance trusts its copy of who may check in at an activity (whether it was
/// cancelled, and, where it admits no walk-ins, who is approved). Only a volunteer found on
/// it is let in on the copy's word; one missing from it is looked up in the store before
/// being refused, so an approval counts at once. A change that takes admission away (a
/// cancellation, a decline, a sign-up cancelled) is announced to every instance, which drops
/// its copy when it hears it ([`Hourmark::admission_changed`]); this lifetime is the bound
/// only for an instance that missed the announcement (its Redis subscription dropped), or
/// whose reload of the rule read the store just before the change and finished just after
/// the announcement arrived (a window one store read wide).
pub const WALK_IN_RULE_FRESH: std::time::Duration = std::time::Duration::from_secs(10);

/// Who may arrive at an activity, as an instance keeps it for [`WALK_IN_RULE_FRESH`].
#[derive(Debug)]
pub(crate) enum Admission {
    /// Anyone (no recruitment, or walk-ins admitted).
    Anyone,
    /// Only these volunteers (approved sign-ups), and any approved since.
    Approved(std::collections::HashSet<i64>),
    /// Nobody: the activity was cancelled.
    Cancelled,
}

impl Hourmark {
    /// Drops this instance's copy of an activity's admission rule whenever any instance
    /// announces a change to it (see `crate::live`), and every copy when some
    /// announcements may have been missed. The task holds the context weakly, so it ends
    /// with it.
    pub(crate) fn follow_admission_changes(&self) {
        use tokio::sync::broadcast::error::RecvError;
        let mut changes = self.inner().live.admission_changes();
        let inner = self.downgrade();
        tokio::spawn(async move {
            loop {
                let change = changes.recv().await;
                let Some(inner) = inner.upgrade() else { return };
                match change {
                    Ok(Some(activity_id)) => inner.walk_ins.invalidate(&activity_id).await,
                    Ok(None) | Err(RecvError::Lagged(_)) => inner.walk_ins.invalidate_all(),
                    Err(RecvError::Closed) => return,
                }
            }
        });
    }

    /// An activity's admission rule changed: drops this instance's copy at once and tells
    /// every other instance to drop theirs (through Redis, before returning; see
    /// `crate::live`), so an arrival anywhere after the change's answer is judged by it.
    pub(crate) async fn admission_changed(&self, activity_id: i64) {
        self.inner().walk_ins.invalidate(&activity_id).await;
        self.inner().live.announce_admission_change(activity_id).await;
    }

    /// Why a check-in is refused at a cancelled activity, or at one that admits only
    /// approved sign-ups, if it is: `None` when the activity recruits nobody, admits
    /// walk-ins, or the volunteer's sign-up is approved. On the scan path, so the rule is
    /// kept per instance ([`WALK_IN_RULE_FRESH`]) and the store is read only for a refusal.
    pub(crate) async fn walk_in_refusal(
        &self,
        activity_id: i64,
        volunteer_id: i64,
    ) -> Result<Option<Refusal>, CoreError> {
        let store = self.store().clone();
        let rule = self
            .inner()
            .walk_ins
            .try_get_with(activity_id, async move {
                if store.activity_cancellation(activity_id).await?.is_some() {
                    return Ok(Arc::new(Admission::Cancelled));
                }
                let admission = match store.recruitment(activity_id).await? {
                    Some(r) if !r.walk_ins => Admission::Approved(
                        store
                            .activity_signups(activity_id)
                            .await?
                            .into_iter()
                            .filter(|s| s.status == SignupStatus::Approved)
                            .map(|s| s.volunteer_id)
                            .collect(),
                    ),
                    _ => Admission::Anyone,
                };
                Ok::<_, CoreError>(Arc::new(admission))
            })
            .await
            // An outage stays an outage (503, retry with the same nonce), not a 500.
            .map_err(|e| match e.error_code() {
                ErrorCode::Internal => CoreError::Internal(format!("reading who may check in: {e}")),
                code => CoreError::code(code),
            })?;
        match rule.as_ref() {
            Admission::Anyone => return Ok(None),
            Admission::Cancelled => {
                return Ok(Some(Refusal {
                    code: ErrorCode::ActivityCancelled,
                    detail: "该活动已取消，不再签到；如已在场，仍可扫码签退".into(),
                }));
            }
            Admission::Approved(admitted) if admitted.contains(&volunteer_id) => return Ok(None),
            Admission::Approved(_) => {}
        }
        // Not on this instance's copy: an approval may be newer than it.
        let approved = self
            .store()
            .volunteer_signups(volunteer_id)
            .await?
            .iter()
            .any(|s| s.activity_id == activity_id && s.status == SignupStatus::Approved);
        if approved {
            self.inner().walk_ins.invalidate(&activity_id).await;
            return Ok(None);
        }
        Ok(Some(Refusal {
            code: ErrorCode::WalkInRefused,
            detail: "本活动仅限已报名并获批准的志愿者签到，请联系活动组织者".into(),
        }))
    }
}

/// The reminders an approved volunteer gets before their activity: (stage, the window of
/// start times it is for, from now). An activity starting within the hour gets the hour's
/// reminder only, so a volunteer approved 30 minutes before hears once, not twice.
const REMINDERS: [(&str, chrono::TimeDelta, chrono::TimeDelta); 2] = [
    ("remind_hour", chrono::TimeDelta::zero(), chrono::TimeDelta::hours(1)),
    ("remind_day", chrono::TimeDelta::hours(1), chrono::TimeDelta::hours(24)),
];
/// Most reminders of one stage sent in one run of the job (the next run sends the rest).
const REMINDERS_PER_RUN: i64 = 1000;

impl Hourmark {
    /// Sends the reminders now due: to each approved volunteer, the day before their
    /// activity and an hour before (in the app, and by WeChat where they subscribed).
    /// Idempotent: a reminder is a notification keyed by sign-up and stage, stored once
    /// whichever instance's job gets there first. Returns how many were queued.
    pub async fn send_signup_reminders(&self) -> Result<usize, CoreError> {
        let now = self.now();
        let mut sent = 0;
        for (stage, from, until) in REMINDERS {
            let due = self.store().due_signup_reminders(now + from, now + until, stage, REMINDERS_PER_RUN).await?;
            let notices: Vec<HoursNotice> = due
                .into_iter()
                .map(|s| HoursNotice::SignupReminder {
                    volunteer_id: s.volunteer_id,
                    signup_id: s.id,
                    activity: s.activity_name,
                    starts_at: s.starts_at,
                    slot: s.slot_name,
                    stage,
                })
                .collect();
            sent += notices.len();
            self.notify_all(notices).await;
        }
        Ok(sent)
    }
}

/// Approved volunteers who did not come. See [`Hourmark::no_shows`].
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NoShows {
    /// Whether the activity has ended (before, the list says who has not come yet).
    pub ended: bool,
    /// When the list was recorded, at finalisation (+08:00); absent while it is still
    /// worked out from the scans on each request.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::activity::shanghai_time::option::serialize"
    )]
    #[schema(value_type = Option<String>)]
    pub recorded_at: Option<DateTime<Utc>>,
    /// Whether the activity was cancelled: then nobody was expected, and the list is empty.
    pub cancelled: bool,
    /// Their sign-ups, by slot order and then by id.
    pub no_shows: Vec<Signup>,
}

/// The approved sign-ups whose volunteers are not among those who came.
fn absent(signups: Vec<Signup>, came: &HashSet<i64>) -> Vec<Signup> {
    signups.into_iter().filter(|s| s.status == SignupStatus::Approved && !came.contains(&s.volunteer_id)).collect()
}

impl Hourmark {
    /// Who was approved and never came: for the organisation's own planning (the same
    /// people as the sign-ups), never published. Until the activity has ended the list is
    /// of who has not come *yet* (`ended: false`). Once the activity is finalised it is the
    /// list recorded then ([`Hourmark::record_no_shows`]); a cancelled activity expected
    /// nobody, so it has none.
    pub async fn no_shows(&self, by: &Principal, activity_id: i64) -> Result<NoShows, CoreError> {
        let activity = self.managed_activity(by, activity_id).await?;
        let ended = self.now() >= activity.ends_at;
        let cancelled = self.store().activity_cancellation(activity_id).await?.is_some();
        if let Some((at, no_shows)) = self.store().recorded_no_shows(activity_id).await? {
            return Ok(NoShows { ended: true, recorded_at: Some(at), cancelled, no_shows });
        }
        if cancelled {
            return Ok(NoShows { ended, recorded_at: None, cancelled, no_shows: Vec::new() });
        }
        let came: HashSet<i64> =
            self.store().accepted_scans(activity_id, None).await?.into_iter().map(|s| s.volunteer_id).collect();
        let no_shows = absent(self.store().activity_signups(activity_id).await?, &came);
        Ok(NoShows { ended, recorded_at: None, cancelled: false, no_shows })
    }

    /// Records an activity's no-shows as finalisation settles its hours: the approved
    /// sign-ups of volunteers not in `came` (those with an accepted scan or an approved
    /// late entry); none for a cancelled activity. Written before the finalisation itself,
    /// so a finalised activity always has its list; recording again (a finalisation retried
    /// after a failure) keeps the first list.
    pub(crate) async fn record_no_shows(
        &self,
        activity_id: i64,
        by: i64,
        came: &HashSet<i64>,
    ) -> Result<(), CoreError> {
        let ids: Vec<i64> = if self.store().activity_cancellation(activity_id).await?.is_some() {
            Vec::new()
        } else {
            absent(self.store().activity_signups(activity_id).await?, came).iter().map(|s| s.id).collect()
        };
        self.store().record_no_shows(activity_id, &ids, by, self.now()).await?;
        Ok(())
    }
}

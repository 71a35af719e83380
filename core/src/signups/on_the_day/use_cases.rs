//! The use cases of on-the-day admission (`impl Hourmark`), apart from its types and rules
//! in the parent module, which the store and the context import without importing these.

use super::super::SignupStatus;
use super::*;
use crate::attendance::checkin::Refusal;
use crate::error::{CoreError, ErrorCode};
use crate::hourmark::Hourmark;
use crate::identity::Principal;
use crate::notification::HoursNotice;
use std::collections::HashSet;
use std::sync::Arc;

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

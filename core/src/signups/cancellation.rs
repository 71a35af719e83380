//! Cancelling an activity (活动取消): an organiser calls it off (weather, a venue lost).
//! From then on arrivals are refused (`activity_cancelled`, recorded as refused scans;
//! departures of anyone still inside are taken, so their time is not lost), sign-ups and
//! changes to recruitment are closed (`activity_cancelled`), the public page says so, and
//! everyone signed up (holding a place or waiting) is told, in the app and by WeChat where
//! they subscribed.
//!
//! ```text
//! organiser ── POST /api/v1/activities/{id}/cancellation {reason} ──► store: one row (once)
//!                                                                     + audit entry
//!           ◄── 200 {cancelled_at, reason} ── drop the rule here ◄────┘
//!                                             PUBLISH <prefix>:live:admission ──► every
//!                                               instance drops its copy of the rule
//!                                             notify every live sign-up (keyed: once each)
//! ```
//!
//! The scan path reads the cancellation with the walk-in rule, from the same per-instance
//! copy ([`super::WALK_IN_RULE_FRESH`]). Before answering, the instance that cancels drops
//! its copy and announces the change to every other instance through Redis, which drop
//! theirs as they hear it: an arrival after the answer is refused on any instance. Only an
//! instance that missed the announcement (its subscription was down) may admit arrivals
//! until its copy lapses. Sign-ups are left as they were (the organisation's record of whom
//! it expected); the notice tells the volunteer. Cancelling again answers the cancellation
//! as it stands and tells nobody twice.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::audit::AuditEvent;
use crate::error::{CoreError, ErrorCode};
use crate::hourmark::Hourmark;
use crate::identity::Principal;
use crate::identity::guards::require_manager_of;
use crate::notification::HoursNotice;

/// Cancelling an activity.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancellationRequest {
    /// Why, 1–500 characters: told to everyone signed up.
    pub reason: String,
}

/// An activity's cancellation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ActivityCancellation {
    /// The activity.
    pub activity_id: i64,
    /// Why.
    pub reason: String,
    /// When (+08:00).
    #[serde(with = "crate::activity::shanghai_time")]
    #[schema(value_type = String)]
    pub cancelled_at: DateTime<Utc>,
}

impl Hourmark {
    /// Cancels an activity: the organisation's organisers and recorders, and
    /// administrators (leaders run the day; they do not call it off). Refused for an
    /// activity already finalised. Audited; everyone signed up is notified once.
    pub async fn cancel_activity(
        &self,
        by: &Principal,
        activity_id: i64,
        request: CancellationRequest,
    ) -> Result<ActivityCancellation, CoreError> {
        let activity = self.managed_activity(by, activity_id).await?;
        let staff_id = require_manager_of(by, activity.organisation_id)?;
        let reason = crate::text::clean(&request.reason, 500, "reason", crate::text::Lines::Many)?;
        if let Some(done) = self.store().activity_cancellation(activity.id).await? {
            return Ok(done);
        }
        if self.store().is_finalised(activity.id).await? {
            return Err(CoreError::refused(ErrorCode::ActivityFinalised, "活动已定稿，不能取消"));
        }
        let at = self.now();
        let audit = AuditEvent {
            at,
            actor_kind: "staff".into(),
            actor_id: Some(staff_id),
            action: "activity_cancelled".into(),
            subject_kind: "activity".into(),
            subject_id: Some(activity.id),
            detail: serde_json::json!({ "reason": reason }),
        };
        let cancellation = match self.store().cancel_activity(activity.id, &reason, staff_id, at, &audit).await? {
            Some(new) => new,
            // Another request got there first: its notices are its own.
            None => {
                return self
                    .store()
                    .activity_cancellation(activity.id)
                    .await?
                    .ok_or_else(|| CoreError::Internal("cancellation vanished".into()));
            }
        };
        self.admission_changed(activity.id).await;
        // Only the request that cancelled publishes: a repeat answers the same record quietly.
        self.inner().live.publish(crate::live::LiveEvent {
            activity_id: activity.id,
            id: uuid::Uuid::now_v7(),
            change: crate::live::LiveChange::Cancelled,
        });
        let notices = self
            .store()
            .activity_signups(activity.id)
            .await?
            .into_iter()
            .filter(|s| s.status.is_live())
            .map(|s| HoursNotice::ActivityCancelled {
                volunteer_id: s.volunteer_id,
                signup_id: s.id,
                activity: s.activity_name,
                starts_at: s.starts_at,
                reason: reason.clone(),
            })
            .collect();
        self.notify_all(notices).await;
        Ok(cancellation)
    }

    /// An activity's cancellation, for those who manage it (its pages say it is off).
    pub async fn cancellation_for_staff(
        &self,
        by: &Principal,
        activity_id: i64,
    ) -> Result<Option<ActivityCancellation>, CoreError> {
        self.managed_activity(by, activity_id).await?;
        self.store().activity_cancellation(activity_id).await
    }

    /// The cancellations among activities the caller was already shown (the console's
    /// list marks them), read in one query, by activity id.
    pub async fn cancellations_among(
        &self,
        activity_ids: &[i64],
    ) -> Result<std::collections::HashMap<i64, ActivityCancellation>, CoreError> {
        if activity_ids.is_empty() {
            return Ok(std::collections::HashMap::new());
        }
        Ok(self.store().cancellations_among(activity_ids).await?.into_iter().map(|c| (c.activity_id, c)).collect())
    }

    /// Refuses with `activity_cancelled` when the activity was cancelled.
    pub(crate) async fn refuse_if_cancelled(&self, activity_id: i64, what: &str) -> Result<(), CoreError> {
        match self.store().activity_cancellation(activity_id).await? {
            Some(c) => {
                Err(CoreError::refused(ErrorCode::ActivityCancelled, format!("该活动已取消（{}），{what}", c.reason)))
            }
            None => Ok(()),
        }
    }
}

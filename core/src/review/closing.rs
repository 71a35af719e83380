//! Closing sessions left open: after an activity's end and its check-out window, every
//! check-in without a check-out is closed by the system under the activity's policy
//! (credit up to the scheduled end, or credit nothing), flagged for review, and the
//! volunteer is told.
//!
//! The job is idempotent and safe with several instances: the system check-out carries a
//! nonce derived from the check-in it closes, so the store's unique (volunteer, nonce)
//! lets only one through; flags and notifications are keyed the same way; and an activity
//! is marked closed only after all of that is written, so a crash in between just means
//! the next run does it again, writing nothing twice.

use chrono::{DateTime, TimeZone, Utc};
use serde_json::json;
use uuid::Uuid;

use super::LeftOpenPolicy;
use super::rules::{Finding, RuleCode};
use crate::activity::Activity;
use crate::attendance::minutes::{UnpairedReason, local_day};
use crate::attendance::{Direction, ScanFact, Schedule, derive_minutes};
use crate::error::CoreError;
use crate::hourmark::Hourmark;
use crate::notification::{NewNotification, NotificationKind};
use crate::store::{NewScan, StoredAnswer};

/// Namespace of the system check-outs' nonces (UUIDv5 over activity, volunteer, check-in).
const SYSTEM_CHECKOUT: Uuid = Uuid::from_u128(0x6b1d_1c64_52a4_4d5e_9a0e_7f1c_0c5e_a11d);

/// The end of the local day of `at` (exclusive), or `at` itself if unrepresentable.
fn end_of_local_day(at: DateTime<Utc>) -> DateTime<Utc> {
    local_day(at)
        .succ_opt()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .and_then(|t| chrono_tz::Asia::Shanghai.from_local_datetime(&t).earliest())
        .map_or(at, |t| t.with_timezone(&Utc))
}

impl Hourmark {
    /// Closes the left-open sessions of every activity whose check-out window has passed;
    /// returns how many activities it closed. Run it periodically on any instance.
    pub async fn close_left_open_sessions(&self) -> Result<usize, CoreError> {
        let cutoff = self.now() - self.settings().checkin.checkout_closes_after;
        let due = self.store().activities_to_close(cutoff, 50).await?;
        for &activity_id in &due {
            if let Some(activity) = self.activity(activity_id).await? {
                self.close_activity(&activity).await?;
            }
        }
        Ok(due.len())
    }

    /// Closes one activity's left-open sessions (idempotent), then runs every rule over it.
    pub(crate) async fn close_activity(&self, activity: &Activity) -> Result<(), CoreError> {
        let now = self.now();
        let policy = self.review_settings(activity.id).await?.left_open_policy;
        let scans = self.store().accepted_scans(activity.id, None).await?;
        let mut by_volunteer: std::collections::BTreeMap<i64, Vec<ScanFact>> = std::collections::BTreeMap::new();
        for s in &scans {
            by_volunteer.entry(s.volunteer_id).or_default().push(ScanFact { at: s.at, direction: s.direction });
        }
        let schedule = Schedule { starts_at: activity.starts_at, ends_at: activity.ends_at };
        let minutes_policy = &self.settings().checkin.minutes;
        let (mut checkouts, mut findings, mut notices) = (Vec::new(), Vec::new(), Vec::new());
        for (volunteer_id, facts) in by_volunteer {
            let report = derive_minutes(&facts, &schedule, minutes_policy, None);
            for open in report.unpaired.iter().filter(|u| u.reason == UnpairedReason::MissingOut) {
                let key = format!("open:{}", open.at.timestamp_millis());
                let closed_at = activity.ends_at.min(end_of_local_day(open.at) - chrono::Duration::seconds(1));
                let credit = policy == LeftOpenPolicy::CreditToEnd && closed_at > open.at;
                if credit {
                    // The next number in the volunteer's sequence (no scan is taken once the
                    // check-out window has closed, so nothing races it but another instance
                    // closing the same session, whose identical row the nonce turns away).
                    let seq = facts.len()
                        + 1
                        + checkouts.iter().filter(|c: &&NewScan| c.volunteer_id == volunteer_id).count();
                    checkouts.push(self.system_checkout(activity.id, volunteer_id, open.at, closed_at, seq));
                }
                findings.push(Finding {
                    rule: RuleCode::LeftOpen,
                    volunteer_id,
                    day: local_day(open.at),
                    key: key.clone(),
                    // +08:00, as every time shown to people.
                    values: json!({
                        "checked_in_at": crate::activity::to_shanghai(open.at).to_rfc3339(),
                        "policy": policy,
                        "closed_at": credit.then(|| crate::activity::to_shanghai(closed_at).to_rfc3339()),
                    }),
                    explanation: if credit {
                        "未签退：系统按计划结束时间自动签退，请核实".to_owned()
                    } else {
                        "未签退：按本活动规定不计时长，请核实".to_owned()
                    },
                });
                let when = crate::activity::to_shanghai(open.at).format("%m月%d日 %H:%M");
                notices.push(NewNotification {
                    volunteer_id,
                    key: format!("left_open:{}:{key}", activity.id),
                    kind: NotificationKind::LeftOpen,
                    data: json!({
                        "activity": activity.name, "day": local_day(open.at),
                        "checked_in_at": crate::activity::to_shanghai(open.at).to_rfc3339(),
                        "closed_at": credit.then(|| crate::activity::to_shanghai(closed_at).to_rfc3339()),
                    }),
                    push: self.pushes(),
                    body: if credit {
                        format!(
                            "您在“{}”{when} 签到后未签退，系统已按活动结束时间为您签退，时长待记录员核实。",
                            activity.name
                        )
                    } else {
                        format!(
                            "您在“{}”{when} 签到后未签退，本次签到暂不计时长；如有异议请联系组织方。",
                            activity.name
                        )
                    },
                    created_at: now,
                });
            }
        }
        if !checkouts.is_empty() {
            let written = self.store().insert_scans(&checkouts).await?;
            for (checkout, written) in checkouts.iter().zip(written) {
                // Not written and not already there (another instance closing the same
                // session writes the identical row): a scan committed after the read above
                // took the number. Leave the activity for the next run, which reads again,
                // rather than flag and tell the volunteer about a session that may not be
                // open any more.
                if !written
                    && self.store().find_scan_answer(checkout.volunteer_id, checkout.client_nonce).await?.is_none()
                {
                    tracing::warn!(
                        activity_id = activity.id,
                        volunteer_id = checkout.volunteer_id,
                        "a scan arrived while closing left-open sessions; closing again next run"
                    );
                    return Ok(());
                }
            }
            // The cached presence does not know of these check-outs.
            if let Err(e) = self.cache().presence_forget(activity.id).await {
                tracing::warn!(error = %e, activity_id = activity.id, "could not drop presence after closing sessions");
            }
        }
        self.raise(activity.id, findings).await?;
        self.store().add_notifications(&notices, now).await?;
        self.evaluate_activity(activity).await?;
        self.store().mark_closed(activity.id, now).await?;
        Ok(())
    }

    fn system_checkout(
        &self,
        activity_id: i64,
        volunteer_id: i64,
        checked_in_at: DateTime<Utc>,
        at: DateTime<Utc>,
        seq: usize,
    ) -> NewScan {
        let name = format!("{activity_id}:{volunteer_id}:{}", checked_in_at.timestamp_millis());
        NewScan {
            id: Uuid::now_v7(),
            volunteer_id,
            client_nonce: Uuid::new_v5(&SYSTEM_CHECKOUT, name.as_bytes()),
            activity_id: Some(activity_id),
            gate: None,
            direction: Some(Direction::Out),
            seq: Some(u32::try_from(seq).unwrap_or(u32::MAX)),
            outcome: "checked_out".to_owned(),
            server_time: at,
            uploaded_at: None,
            client_time: None,
            code_window: None,
            key_id: None,
            distance_m: None,
            accuracy_m: None,
            geofence: None,
            device_id: None,
            network: None,
            answer: StoredAnswer { status: 200, body: json!({ "closed_by_system": true }).to_string() },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_local_day_ends_at_shanghai_midnight() {
        let at: DateTime<Utc> = "2026-12-05T10:00:00Z".parse().expect("time"); // 18:00 +08:00
        assert_eq!(end_of_local_day(at), "2026-12-05T16:00:00Z".parse::<DateTime<Utc>>().expect("time"));
        let late: DateTime<Utc> = "2026-12-05T16:30:00Z".parse().expect("time"); // 00:30 next day
        assert_eq!(end_of_local_day(late), "2026-12-06T16:00:00Z".parse::<DateTime<Utc>>().expect("time"));
    }
}

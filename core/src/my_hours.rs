//! A volunteer's own view of their hours: each day served, with its minutes and where it
//! stands in the life of an hour (scanned → reviewed and finalised → publicity → register
//! → confirmed by civil affairs), the flags raised on it and their decisions, and totals.
//!
//! Everything is read from what the organisation's side keeps (accepted scans, flags,
//! finalised days, publicity entries, the register and report batches); nothing here is
//! stored separately, so the volunteer sees exactly what the recorders see.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;

use crate::attendance::minutes::{ScanFact, Schedule, derive_minutes};
use crate::error::CoreError;
use crate::hourmark::Hourmark;
use crate::publicity::PublicityStatus;
use crate::review::FlagStatus;

/// Where a day's hours stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DayState {
    /// Checked in now: minutes so far.
    Inside,
    /// Scanned; the organisation has not yet reviewed and finalised the day (待审核).
    AwaitingReview,
    /// Finalised and published; recorded at the end of the period unless an objection
    /// holds it (公示中).
    InPublicity,
    /// Finalised, but publicity waits for the working-day calendar of the coming year.
    PublicityHeld,
    /// In the register (已记录).
    Recorded,
    /// In the register and confirmed by civil affairs (民政已确认): counts for
    /// certificates, stars and the time bank.
    Confirmed,
}

/// A flag raised on a day, as the volunteer sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MyFlag {
    /// What the rule found (Chinese).
    pub explanation: String,
    /// `open` (waiting for a decision), `accepted`, `adjusted` or `rejected`.
    pub status: FlagStatus,
    /// Why it was decided so, once decided.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// For `adjusted`: the minutes set by hand.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adjusted_minutes: Option<u32>,
}

/// One day served at one activity.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MyDay {
    /// The activity.
    pub activity_id: i64,
    /// Its name.
    pub activity_name: String,
    /// The day (Asia/Shanghai).
    #[schema(value_type = String, format = Date)]
    pub day: NaiveDate,
    /// Minutes: finalised once reviewed, derived from the scans before.
    pub minutes: u32,
    /// Where it stands.
    pub state: DayState,
    /// For `in_publicity`: the period's last working day.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Date)]
    pub publicity_until: Option<NaiveDate>,
    /// An objection to it is being handled (异议处理中).
    pub objection_open: bool,
    /// Flags raised on the day and their decisions.
    pub flags: Vec<MyFlag>,
}

/// A volunteer's hours.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MyHours {
    /// Newest day first.
    pub days: Vec<MyDay>,
    /// Minutes in the register.
    pub recorded_minutes: i64,
    /// Minutes in the register that civil affairs confirmed.
    pub confirmed_minutes: i64,
    /// Minutes not yet in the register (awaiting review, in publicity).
    pub pending_minutes: u64,
}

impl Hourmark {
    /// The signed-in volunteer's days, their states and totals.
    pub async fn my_hours(&self, volunteer_id: i64) -> Result<MyHours, CoreError> {
        let store = self.store();
        let activity_ids: BTreeSet<i64> = store
            .volunteer_scans(volunteer_id)
            .await?
            .into_iter()
            .filter(|s| matches!(s.outcome.as_str(), "checked_in" | "checked_out"))
            .filter_map(|s| s.activity_id)
            .collect();
        let finalised: BTreeMap<(i64, NaiveDate), (String, u32)> = store
            .finalised_sessions_of(volunteer_id)
            .await?
            .into_iter()
            .map(|s| ((s.activity_id, s.day), (s.activity_name, s.minutes)))
            .collect();
        let confirmed: HashSet<i64> = store.confirmed_publicity_entries(volunteer_id).await?.into_iter().collect();
        let now = self.now();
        let policy = &self.settings().checkin.minutes;

        let mut days: BTreeMap<(i64, NaiveDate), MyDay> = BTreeMap::new();
        let all_activities: BTreeSet<i64> = activity_ids.iter().copied().chain(finalised.keys().map(|k| k.0)).collect();
        for activity_id in all_activities {
            let Some(activity) = self.activity(activity_id).await? else { continue };
            let flags = store.flags(activity_id).await?;
            let scans = store.accepted_scans(activity_id, Some(volunteer_id)).await?;
            let facts: Vec<ScanFact> = scans.iter().map(|s| ScanFact { at: s.at, direction: s.direction }).collect();
            let schedule = Schedule { starts_at: activity.starts_at, ends_at: activity.ends_at };
            let live = derive_minutes(&facts, &schedule, policy, Some(now));
            let mut scanned: BTreeMap<NaiveDate, (u32, bool)> = BTreeMap::new();
            for pair in &live.pairs {
                let day = crate::activity::to_shanghai(pair.checked_in_at).date_naive();
                let entry = scanned.entry(day).or_default();
                entry.0 += pair.minutes;
                entry.1 |= pair.checked_out_at.is_none();
            }
            let finalised_days = finalised.keys().filter(|k| k.0 == activity_id).map(|k| k.1);
            let all_days: BTreeSet<NaiveDate> = scanned.keys().copied().chain(finalised_days).collect();
            for day in all_days {
                let mut my_day = MyDay {
                    activity_id,
                    activity_name: activity.name.clone(),
                    day,
                    minutes: scanned.get(&day).map_or(0, |d| d.0),
                    state: if scanned.get(&day).is_some_and(|d| d.1) {
                        DayState::Inside
                    } else {
                        DayState::AwaitingReview
                    },
                    publicity_until: None,
                    objection_open: false,
                    flags: flags
                        .iter()
                        .filter(|f| f.volunteer_id == volunteer_id && f.day == day)
                        .map(|f| MyFlag {
                            explanation: f.explanation.clone(),
                            status: f.status,
                            reason: f.resolution_reason.clone(),
                            adjusted_minutes: f.adjusted_minutes,
                        })
                        .collect(),
                };
                if let Some((_, minutes)) = finalised.get(&(activity_id, day)) {
                    my_day.minutes = *minutes;
                    if let Some(entry) = store.publicity_entry_for(activity_id, volunteer_id, day).await? {
                        my_day.minutes = entry.minutes;
                        my_day.objection_open = entry.objection_open;
                        my_day.state = match entry.status {
                            PublicityStatus::InPublicity => {
                                my_day.publicity_until = entry.ends_on;
                                DayState::InPublicity
                            }
                            PublicityStatus::Held => DayState::PublicityHeld,
                            PublicityStatus::Recorded if confirmed.contains(&entry.id) => DayState::Confirmed,
                            PublicityStatus::Recorded => DayState::Recorded,
                        };
                    }
                }
                days.insert((activity_id, day), my_day);
            }
        }
        let mut days: Vec<MyDay> = days.into_values().collect();
        days.sort_by(|a, b| b.day.cmp(&a.day).then(b.activity_id.cmp(&a.activity_id)));
        let in_register = |d: &&MyDay| matches!(d.state, DayState::Recorded | DayState::Confirmed);
        Ok(MyHours {
            recorded_minutes: days.iter().filter(in_register).map(|d| i64::from(d.minutes)).sum(),
            confirmed_minutes: store.confirmed_minutes(volunteer_id).await?,
            pending_minutes: days.iter().filter(|d| !in_register(d)).map(|d| u64::from(d.minutes)).sum(),
            days,
        })
    }
}

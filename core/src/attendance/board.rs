//! The organiser's view of an activity: each volunteer's session and the live totals.
//!
//! Both are derived on request from the accepted scans in the store, with the same pure
//! minutes function the scan path uses, so the board and the volunteers' receipts never
//! disagree. A staff request reads the database; the scan path never does this.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, DurationRound, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::minutes::{CreditedPair, ScanFact, Schedule, UnpairedScan, derive_minutes};
use crate::activity::{Activity, shanghai_time};
use crate::error::CoreError;
use crate::hourmark::Hourmark;
use crate::identity::Principal;
use crate::store::AcceptedScan;

/// One volunteer's session at an activity.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VolunteerSession {
    /// The volunteer.
    pub volunteer_id: i64,
    /// Their name.
    pub volunteer_name: String,
    /// Whether they are checked in now.
    pub inside: bool,
    /// Since when, if inside (+08:00).
    #[serde(serialize_with = "crate::activity::shanghai_time::option::serialize")]
    #[schema(value_type = Option<String>)]
    pub checked_in_at: Option<DateTime<Utc>>,
    /// Minutes from completed pairs.
    pub minutes_credited: u32,
    /// Minutes counting an open session up to now.
    pub minutes_so_far: u32,
    /// Every pair, credited or not.
    pub pairs: Vec<CreditedPair>,
    /// Scans that could not be paired, with the reason.
    pub unpaired: Vec<UnpairedScan>,
}

/// Live totals for an activity.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ActivityTotals {
    /// The activity.
    pub activity_id: i64,
    /// Checked in right now.
    pub inside_now: u32,
    /// Volunteers who checked in at least once.
    pub arrived: u32,
    /// Volunteers who arrived and are not inside now.
    pub left: u32,
    /// Minutes so far, counting open sessions up to now.
    pub minutes_so_far: u64,
    /// Minutes from completed pairs.
    pub minutes_credited: u64,
    /// Accepted scans.
    pub accepted_scans: u64,
    /// When these figures were computed (+08:00).
    #[serde(with = "shanghai_time")]
    #[schema(value_type = String)]
    pub as_of: DateTime<Utc>,
}

impl Hourmark {
    /// Every volunteer's session at an activity the caller manages, by volunteer id.
    pub async fn activity_sessions(
        &self,
        by: &Principal,
        activity_id: i64,
    ) -> Result<Vec<VolunteerSession>, CoreError> {
        Ok(self.sessions_and_scan_count(by, activity_id).await?.0)
    }

    async fn sessions_and_scan_count(
        &self,
        by: &Principal,
        activity_id: i64,
    ) -> Result<(Vec<VolunteerSession>, usize), CoreError> {
        let activity = self.managed_activity(by, activity_id).await?;
        let scans = self.store().accepted_scans(activity.id, None).await?;
        Ok((self.sessions_of(&activity, &scans), scans.len()))
    }

    /// Each volunteer's session, from the activity's accepted scans in time order.
    fn sessions_of(&self, activity: &Activity, scans: &[AcceptedScan]) -> Vec<VolunteerSession> {
        let mut by_volunteer: BTreeMap<i64, (String, Vec<ScanFact>)> = BTreeMap::new();
        for s in scans {
            by_volunteer
                .entry(s.volunteer_id)
                .or_insert_with(|| (s.volunteer_name.clone(), Vec::new()))
                .1
                .push(ScanFact { at: s.at, direction: s.direction });
        }
        let now = self.now();
        let schedule = Schedule { starts_at: activity.starts_at, ends_at: activity.ends_at };
        let policy = &self.settings().checkin.minutes;
        by_volunteer
            .into_iter()
            .map(|(volunteer_id, (volunteer_name, facts))| {
                let live = derive_minutes(&facts, &schedule, policy, Some(now));
                let settled = derive_minutes(&facts, &schedule, policy, None);
                VolunteerSession {
                    volunteer_id,
                    volunteer_name,
                    inside: live.is_inside(),
                    checked_in_at: live.open_since,
                    minutes_credited: settled.total_minutes,
                    minutes_so_far: live.total_minutes,
                    pairs: live.pairs,
                    unpaired: settled.unpaired,
                }
            })
            .collect()
    }

    /// Live totals for an activity the caller manages.
    ///
    /// Civil-affairs officers of the organisation's region may read them too: inspecting
    /// how organisations record (DOMAIN: oversight) includes watching an activity's
    /// numbers as it runs. Totals are counts, nothing personal; the board, which names who
    /// is inside, stays with the organisation's own staff.
    pub async fn activity_totals(&self, by: &Principal, activity_id: i64) -> Result<ActivityTotals, CoreError> {
        let (sessions, scan_count) = match by {
            Principal::Staff { role: crate::identity::StaffRole::Officer, .. } => {
                let activity = self.reviewable_activity(by, activity_id).await?;
                let scans = self.store().accepted_scans(activity.id, None).await?;
                (self.sessions_of(&activity, &scans), scans.len())
            }
            _ => self.sessions_and_scan_count(by, activity_id).await?,
        };
        Ok(self.totals_of(activity_id, &sessions, scan_count))
    }

    fn totals_of(&self, activity_id: i64, sessions: &[VolunteerSession], scan_count: usize) -> ActivityTotals {
        let arrived = sessions.iter().filter(|s| !s.pairs.is_empty() || s.inside).count();
        let inside_now = sessions.iter().filter(|s| s.inside).count();
        ActivityTotals {
            activity_id,
            inside_now: u32::try_from(inside_now).unwrap_or(u32::MAX),
            arrived: u32::try_from(arrived).unwrap_or(u32::MAX),
            left: u32::try_from(arrived - inside_now).unwrap_or(u32::MAX),
            minutes_so_far: sessions.iter().map(|s| u64::from(s.minutes_so_far)).sum(),
            minutes_credited: sessions.iter().map(|s| u64::from(s.minutes_credited)).sum(),
            accepted_scans: scan_count as u64,
            as_of: self.now(),
        }
    }
}

/// How many minutes the board's arrivals-and-departures row covers, ending now.
pub const BOARD_MINUTES: i64 = 30;

/// Volunteers inside now at one gate (by the gate of their last check-in).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GateCount {
    /// The gate number.
    pub gate: u8,
    /// Its name.
    pub name: String,
    /// Inside now, having come in there.
    pub inside: u32,
}

/// Arrivals and departures in one minute.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MinuteCount {
    /// The minute's start (+08:00).
    #[serde(with = "shanghai_time")]
    #[schema(value_type = String)]
    pub minute: DateTime<Utc>,
    /// Check-ins in it.
    pub arrivals: u32,
    /// Check-outs in it.
    pub departures: u32,
}

/// Someone who has not checked out.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StillInside {
    /// The volunteer.
    pub volunteer_id: i64,
    /// Their name.
    pub volunteer_name: String,
    /// Checked in since (+08:00).
    #[serde(with = "shanghai_time")]
    #[schema(value_type = String)]
    pub since: DateTime<Utc>,
    /// Minutes since then.
    pub minutes_inside: u32,
    /// The gate they came in at.
    pub gate_name: Option<String>,
}

/// An anomaly flag as the board shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BoardFlag {
    /// The flag.
    #[serde(flatten)]
    pub flag: crate::review::Flag,
    /// Whose session.
    pub volunteer_name: String,
}

/// Everything the live board shows, as of now. Live events say when to fetch it again.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ActivityBoard {
    /// The activity's name.
    pub activity_name: String,
    /// The totals.
    pub totals: ActivityTotals,
    /// Inside now per gate.
    pub gates: Vec<GateCount>,
    /// Arrivals and departures per minute over the last [`BOARD_MINUTES`] minutes, oldest first.
    pub minutes: Vec<MinuteCount>,
    /// Who has not checked out, longest inside first.
    pub still_inside: Vec<StillInside>,
    /// Anomaly flags, newest first.
    pub flags: Vec<BoardFlag>,
    /// The id of the last accepted scan included: events up to it are already counted.
    pub last_scan_id: Option<uuid::Uuid>,
}

/// How long a shared snapshot serves with no event in between: the minutes-inside figures
/// and the chart's minutes move on with the clock.
const SNAPSHOT_FRESH: chrono::TimeDelta = chrono::TimeDelta::seconds(1);

/// Board snapshots shared by an activity's boards on this instance.
///
/// A snapshot reads every accepted scan of the activity, so fifty boards each refetching
/// after an event cost fifty such reads a second (BENCHMARKS.md, "Live boards"). Here the
/// first board to ask computes it while the others wait, and they all get that one, as
/// long as no live event reached this instance's boards since it began (see
/// [`LiveEvents::delivered`](crate::live::LiveEvents::delivered)) and it is under a second
/// old. Only while boards here stream the activity: without them no event would say the
/// snapshot is out of date, so each request computes its own.
#[derive(Debug)]
pub(crate) struct BoardSnapshots {
    slots: moka::future::Cache<i64, Arc<tokio::sync::Mutex<Option<SharedSnapshot>>>>,
}

impl Default for BoardSnapshots {
    fn default() -> Self {
        Self {
            slots: moka::future::Cache::builder()
                .max_capacity(10_000)
                .time_to_idle(std::time::Duration::from_secs(60))
                .build(),
        }
    }
}

#[derive(Debug)]
struct SharedSnapshot {
    delivered: (u64, u64),
    computed_at: DateTime<Utc>,
    board: ActivityBoard,
}

impl Hourmark {
    /// The live board of an activity the caller manages (the same people as the totals).
    pub async fn activity_board(&self, by: &Principal, activity_id: i64) -> Result<ActivityBoard, CoreError> {
        let activity = self.managed_activity(by, activity_id).await?;
        let live = &self.inner().live;
        if !live.watched_here(activity.id) {
            return self.board_of(&activity).await;
        }
        let slot = self
            .inner()
            .board_snapshots
            .slots
            .get_with(activity.id, async { Arc::new(tokio::sync::Mutex::new(None)) })
            .await;
        let mut shared = slot.lock().await;
        // Read before the store: an event arriving meanwhile makes this snapshot stale.
        let delivered = live.delivered(activity.id);
        let now = self.now();
        if let Some(snapshot) = shared.as_ref()
            && snapshot.delivered == delivered
            && now >= snapshot.computed_at
            && now - snapshot.computed_at < SNAPSHOT_FRESH
        {
            return Ok(snapshot.board.clone());
        }
        let board = self.board_of(&activity).await?;
        *shared = Some(SharedSnapshot { delivered, computed_at: now, board: board.clone() });
        Ok(board)
    }

    /// Computes an activity's board from the store.
    async fn board_of(&self, activity: &Activity) -> Result<ActivityBoard, CoreError> {
        let scans = self.store().accepted_scans(activity.id, None).await?;
        let sessions = self.sessions_of(activity, &scans);
        let totals = self.totals_of(activity.id, &sessions, scans.len());
        let now = self.now();

        let mut last_in_gate: BTreeMap<i64, Option<u8>> = BTreeMap::new();
        for s in scans.iter().filter(|s| s.direction == super::Direction::In) {
            last_in_gate.insert(s.volunteer_id, s.gate);
        }
        let mut gates: Vec<GateCount> = activity
            .gates
            .iter()
            .enumerate()
            .map(|(i, name)| GateCount { gate: u8::try_from(i).unwrap_or(u8::MAX), name: name.clone(), inside: 0 })
            .collect();
        let mut still_inside = Vec::new();
        for session in sessions.iter().filter(|s| s.inside) {
            let gate = last_in_gate.get(&session.volunteer_id).copied().flatten();
            if let Some(count) = gate.and_then(|g| gates.get_mut(usize::from(g))) {
                count.inside += 1;
            }
            let since = session.checked_in_at.unwrap_or(now);
            still_inside.push(StillInside {
                volunteer_id: session.volunteer_id,
                volunteer_name: session.volunteer_name.clone(),
                since,
                minutes_inside: u32::try_from((now - since).num_minutes().max(0)).unwrap_or(u32::MAX),
                gate_name: gate.and_then(|g| activity.gates.get(usize::from(g)).cloned()),
            });
        }
        still_inside.sort_by_key(|s| (s.since, s.volunteer_id));

        let this_minute = now.duration_trunc(chrono::TimeDelta::minutes(1)).unwrap_or(now);
        let first = this_minute - chrono::TimeDelta::minutes(BOARD_MINUTES - 1);
        let mut minutes: Vec<MinuteCount> = (0..BOARD_MINUTES)
            .map(|i| MinuteCount { minute: first + chrono::TimeDelta::minutes(i), arrivals: 0, departures: 0 })
            .collect();
        for s in scans.iter().filter(|s| s.at >= first) {
            let Ok(i) = usize::try_from((s.at - first).num_minutes()) else { continue };
            if let Some(m) = minutes.get_mut(i) {
                match s.direction {
                    super::Direction::In => m.arrivals += 1,
                    super::Direction::Out => m.departures += 1,
                }
            }
        }

        let names: BTreeMap<i64, &str> = sessions.iter().map(|s| (s.volunteer_id, s.volunteer_name.as_str())).collect();
        let mut flags: Vec<BoardFlag> = self
            .store()
            .flags(activity.id)
            .await?
            .into_iter()
            .map(|flag| BoardFlag {
                volunteer_name: names.get(&flag.volunteer_id).copied().unwrap_or("").to_owned(),
                flag,
            })
            .collect();
        flags.sort_by(|a, b| b.flag.raised_at.cmp(&a.flag.raised_at).then(b.flag.id.cmp(&a.flag.id)));

        Ok(ActivityBoard {
            activity_name: activity.name.clone(),
            totals,
            gates,
            minutes,
            still_inside,
            flags,
            last_scan_id: scans.iter().map(|s| s.id).max(),
        })
    }

    /// The live events of an activity the caller manages, from now on. The caller should
    /// fetch [`Hourmark::activity_board`] after subscribing, so nothing falls in between.
    pub async fn watch_activity(
        &self,
        by: &Principal,
        activity_id: i64,
    ) -> Result<tokio::sync::broadcast::Receiver<std::sync::Arc<crate::live::Published>>, CoreError> {
        self.managed_activity(by, activity_id).await?;
        self.inner().live.watch(activity_id).await
    }

    /// Completes when the server is shutting down: live streams end then.
    pub fn live_streams_closed(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        self.inner().live.closed()
    }

    /// Ends every live stream, so a graceful shutdown need not wait for boards to hang up.
    pub fn end_live_streams(&self) {
        self.inner().live.close();
    }
}

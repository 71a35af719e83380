//! The organiser's view of an activity: each volunteer's session and the live totals.
//!
//! Both are derived on request from the accepted scans in the store, with the same pure
//! minutes function the scan path uses, so the board and the volunteers' receipts never
//! disagree. A staff request reads the database; the scan path never does this. While
//! boards stream an activity from this instance, its scans are kept here in a
//! `ScanBook` and each snapshot reads only the scans recorded since the last one.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::minutes::{CreditedPair, LiveMinutes, MinutesPolicy, ScanFact, Schedule, UnpairedScan};
use crate::activity::shanghai_time;
use crate::error::CoreError;
use crate::signups::{Recruitment, Signup, SignupStatus};
use crate::store::{NumberedScan, ScanCursor};

mod use_cases;

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

/// One page of an activity's sessions, in volunteer-id order, with the activity's figures
/// over every page.
///
/// Twenty thousand volunteers' sessions came to 27 MB of JSON and a second to derive
/// (BENCHMARKS.md, issue 15); nobody reads that many at once, and a tablet cannot draw
/// them. A page derives only its own volunteers; the figures come from the live totals,
/// which are kept up to date scan by scan.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SessionsPage {
    /// The activity's figures over every volunteer, not only this page's.
    pub totals: ActivityTotals,
    /// Volunteers with at least one accepted scan, on every page.
    pub volunteers_total: u32,
    /// This page's volunteers' sessions, by volunteer id.
    pub sessions: Vec<VolunteerSession>,
    /// Where the next page starts (pass it as `after`); absent on the last page.
    pub next: Option<i64>,
}

/// Which page of sessions: after which volunteer, and how many.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionsQuery {
    /// Start after this volunteer id (the previous page's `next`); from the first when absent.
    pub after: Option<i64>,
    /// Volunteers on the page, 1 to [`SessionsQuery::MAX_LIMIT`].
    pub limit: u32,
}

impl SessionsQuery {
    /// Volunteers on a page when the caller does not say.
    pub const DEFAULT_LIMIT: u32 = 200;
    /// The most volunteers on one page.
    pub const MAX_LIMIT: u32 = 1000;
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

/// How many minutes the board's arrivals-and-departures row covers, ending now.
pub const BOARD_MINUTES: i64 = 30;

/// The longest list a board snapshot carries (who is still inside, flags). A gate of
/// thousands must not make every board fetch, and a tablet draw, thousands of rows a
/// second: those inside longest are the ones who may have forgotten to check out, and the
/// sessions export and the review desk list everyone.
pub const BOARD_LIST: usize = 200;

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

/// Who was expected and who came, for an activity that recruits (approved sign-ups).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Expected {
    /// Each slot (role or shift), in the organiser's order.
    pub slots: Vec<SlotAttendance>,
    /// Approved volunteers who have not scanned yet, by slot then name: the first
    /// [`BOARD_LIST`] of `missing_total`.
    pub missing: Vec<Missing>,
    /// How many approved volunteers have not scanned yet.
    pub missing_total: u32,
    /// Volunteers who scanned in without an approved sign-up.
    pub walk_ins: u32,
}

/// One slot's expected and arrived.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SlotAttendance {
    /// The role or shift.
    pub name: String,
    /// Approved sign-ups.
    pub expected: u32,
    /// Of those, how many have scanned in at least once.
    pub arrived: u32,
}

/// An approved volunteer not yet arrived.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Missing {
    /// The volunteer.
    pub volunteer_id: i64,
    /// Their name.
    pub volunteer_name: String,
    /// The slot they signed up for.
    pub slot_name: String,
}

/// Who never came, as recorded when the activity was finalised (approved sign-ups with
/// neither an accepted scan nor an approved late entry; see `Hourmark::no_shows`). The
/// organisation's own: it is on the board its staff watch, never on anything published.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecordedNoShows {
    /// When the list was recorded (+08:00).
    #[serde(with = "shanghai_time")]
    #[schema(value_type = String)]
    pub recorded_at: DateTime<Utc>,
    /// How many.
    pub total: u32,
    /// The first [`BOARD_LIST`] of them, by slot order and then by sign-up.
    pub volunteers: Vec<Missing>,
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
    /// Who has not checked out, longest inside first: the first [`BOARD_LIST`] of
    /// `totals.inside_now` (everyone is in the sessions export).
    pub still_inside: Vec<StillInside>,
    /// Anomaly flags, newest first: the newest [`BOARD_LIST`] of `flags_total`.
    pub flags: Vec<BoardFlag>,
    /// How many flags the activity has in all (the review desk lists every one).
    pub flags_total: u32,
    /// The id of the last accepted scan included: events up to it are already counted.
    pub last_scan_id: Option<uuid::Uuid>,
    /// Expected against arrived, when the activity recruits (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<Expected>,
    /// Who never came, once the activity is finalised and only if it recruits (absent
    /// otherwise): the list recorded then, which counts approved late entries as come,
    /// unlike `expected.missing`, worked out from the scans alone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_shows: Option<RecordedNoShows>,
}

/// How long a shared snapshot serves with no event in between: the minutes-inside figures
/// and the chart's minutes move on with the clock.
const SNAPSHOT_FRESH: chrono::TimeDelta = chrono::TimeDelta::seconds(1);

/// Board snapshots shared by an activity's boards on this instance, and the scans they
/// are computed from.
///
/// Fifty boards each refetching after an event would cost fifty snapshots a second
/// (BENCHMARKS.md, "Live boards"). Here the first board to ask computes it while the
/// others wait, and they all get that one, as long as no live event reached this
/// instance's boards since it began (see
/// [`LiveEvents::delivered`](crate::live::LiveEvents::delivered)) and it is under a second
/// old. Only while boards here stream the activity: without them no event would say the
/// snapshot is out of date, so each request computes its own.
///
/// The activity's [`ScanBook`] stays here whether or not a board streams it: a snapshot,
/// the totals or the sessions add only the scans recorded since the last read, since a
/// stored scan never changes. A book unread for a minute is dropped, and none is kept
/// longer than ten minutes, so a volunteer's corrected name shows within that.
#[derive(Debug)]
pub(crate) struct BoardSnapshots {
    slots: moka::future::Cache<i64, Arc<tokio::sync::Mutex<Slot>>>,
}

impl Default for BoardSnapshots {
    fn default() -> Self {
        Self {
            slots: moka::future::Cache::builder()
                .max_capacity(10_000)
                .time_to_idle(std::time::Duration::from_secs(60))
                .time_to_live(std::time::Duration::from_secs(600))
                .build(),
        }
    }
}

impl BoardSnapshots {
    /// The activity's state on this instance, made empty if there is none.
    async fn slot(&self, activity_id: i64) -> Arc<tokio::sync::Mutex<Slot>> {
        self.slots.get_with(activity_id, async { Arc::new(tokio::sync::Mutex::new(Slot::default())) }).await
    }
}

/// One activity's shared state on this instance.
#[derive(Debug, Default)]
struct Slot {
    book: Option<ScanBook>,
    snapshot: Option<SharedSnapshot>,
}

#[derive(Debug)]
struct SharedSnapshot {
    delivered: (u64, u64),
    computed_at: DateTime<Utc>,
    board: BoardJson,
}

/// A board as JSON, serialised once per snapshot.
///
/// Fifty boards of one activity refetch the same snapshot every second; a snapshot of a
/// big gate (200 inside, 200 flags) is tens of kilobytes of JSON, and serialising it per
/// request cost more than computing it (BENCHMARKS.md, issue 10). Cloning this is cheap.
#[derive(Debug, Clone)]
pub struct BoardJson(Arc<[u8]>);

impl BoardJson {
    fn of(board: &ActivityBoard) -> Result<Self, CoreError> {
        serde_json::to_vec(board)
            .map(|json| Self(json.into()))
            .map_err(|e| CoreError::Internal(format!("serialising a board: {e}")))
    }

    /// The JSON of an [`ActivityBoard`].
    #[must_use]
    pub fn bytes(&self) -> Arc<[u8]> {
        Arc::clone(&self.0)
    }
}

/// What one pass over a [`ScanBook`] counts: the totals, the gates' counts, and everyone
/// inside now with when they came in (unordered).
struct Tally<'a> {
    totals: ActivityTotals,
    gates: Vec<GateCount>,
    inside: Vec<(DateTime<Utc>, i64, &'a Booked)>,
}

/// An activity's accepted scans by volunteer, as far as they have been read.
#[derive(Debug, Default)]
pub(crate) struct ScanBook {
    volunteers: BTreeMap<i64, Booked>,
    /// Where the next read starts.
    cursor: Option<ScanCursor>,
    /// How many scans in all.
    scans: usize,
    /// The greatest scan id (ids are time-ordered).
    last_scan_id: Option<uuid::Uuid>,
    /// Arrivals and departures by minute (Unix minutes), kept as scans are added: the
    /// board's chart reads its last [`BOARD_MINUTES`] from here. Counted from every scan
    /// for each snapshot, it was the largest part of a snapshot's cost once an activity had
    /// hundreds of thousands of scans within the chart's half hour (BENCHMARKS.md,
    /// "Fifty boards at 8 000 scans/s").
    per_minute: BTreeMap<i64, MinuteTally>,
}

/// One minute's arrivals and departures.
#[derive(Debug, Default, Clone, Copy)]
struct MinuteTally {
    arrivals: u32,
    departures: u32,
}

/// The Unix minute `at` falls in.
fn unix_minute(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(60)
}

/// One volunteer's accepted scans in time order, as the minutes rules take them (kept as
/// they arrive, not sorted for every snapshot): only their time and direction, 16 bytes a
/// scan, and the name once. Their numbers run 1, 2, … without a gap, so how many there are
/// is the last one's number.
///
/// What a board shows of them is kept too, until their next scan: a snapshot derives only
/// the volunteers who scanned since the last one (BENCHMARKS.md, issue 10). Each scan kept
/// whole, with its own copy of the name, cost about 190 bytes: 90 MB for an activity where
/// 20 000 volunteers had scanned 24 times each ("Fifty boards at 8 000 scans/s").
#[derive(Debug)]
struct Booked {
    name: String,
    facts: Vec<ScanFact>,
    /// Their minutes as the board shows them, for the schedule they were derived under.
    live: Option<(Schedule, LiveMinutes)>,
    /// The gate of their latest check-in: (when, scan id) orders the check-ins.
    latest_in: Option<(DateTime<Utc>, uuid::Uuid, Option<u8>)>,
}

impl Booked {
    fn new(name: String) -> Self {
        Self { name, facts: Vec::new(), live: None, latest_in: None }
    }

    /// The number the volunteer's next accepted scan takes.
    fn next_seq(&self) -> u32 {
        u32::try_from(self.facts.len()).unwrap_or(u32::MAX).saturating_add(1)
    }

    fn push(&mut self, numbered: &NumberedScan) {
        let scan = &numbered.scan;
        // After any scan at the same instant: those came first in the volunteer's order.
        let position = self.facts.partition_point(|f| f.at <= scan.at);
        self.facts.insert(position, ScanFact { at: scan.at, direction: scan.direction });
        if scan.direction == super::Direction::In
            && self.latest_in.is_none_or(|(at, id, _)| (scan.at, scan.id) > (at, id))
        {
            self.latest_in = Some((scan.at, scan.id, scan.gate));
        }
        self.live = None;
    }

    /// Their minutes for the board, derived again only after a scan or a schedule change.
    fn live(&mut self, schedule: &Schedule, policy: &MinutesPolicy) -> LiveMinutes {
        match self.live {
            Some((derived_for, live)) if derived_for == *schedule => live,
            _ => {
                let live = LiveMinutes::derive(&self.facts, schedule, policy);
                self.live = Some((*schedule, live));
                live
            }
        }
    }

    /// The scans in time order.
    fn facts(&self) -> &[ScanFact] {
        &self.facts
    }
}

impl ScanBook {
    /// Adds scans, skipping those already here; `false` if one would leave a gap in its
    /// volunteer's numbers.
    fn add(&mut self, mut scans: Vec<NumberedScan>) -> bool {
        scans.sort_by_key(|n| (n.scan.volunteer_id, n.seq));
        for numbered in scans {
            let booked = self
                .volunteers
                .entry(numbered.scan.volunteer_id)
                .or_insert_with(|| Booked::new(numbered.scan.volunteer_name.clone()));
            let next = booked.next_seq();
            if numbered.seq < next {
                continue;
            }
            if numbered.seq > next {
                return false;
            }
            self.scans += 1;
            self.last_scan_id = self.last_scan_id.max(Some(numbered.scan.id));
            let minute = self.per_minute.entry(unix_minute(numbered.scan.at)).or_default();
            match numbered.scan.direction {
                super::Direction::In => minute.arrivals = minute.arrivals.saturating_add(1),
                super::Direction::Out => minute.departures = minute.departures.saturating_add(1),
            }
            booked.push(&numbered);
        }
        true
    }

    /// Arrivals and departures in each of the `count` minutes from the one `first` falls
    /// in, oldest first.
    fn minutes(&self, first: DateTime<Utc>, count: i64) -> Vec<MinuteCount> {
        let start = unix_minute(first);
        (0..count)
            .map(|i| {
                let tally = self.per_minute.get(&(start + i)).copied().unwrap_or_default();
                MinuteCount {
                    minute: first + chrono::TimeDelta::minutes(i),
                    arrivals: tally.arrivals,
                    departures: tally.departures,
                }
            })
            .collect()
    }
}

/// Expected against arrived: a volunteer has arrived once they have an accepted scan.
fn expected(recruitment: &Recruitment, signups: &[Signup], book: &ScanBook) -> Expected {
    let approved: Vec<&Signup> = signups.iter().filter(|s| s.status == SignupStatus::Approved).collect();
    let slots = recruitment
        .slots
        .iter()
        .map(|slot| {
            // Both counts from the one list of sign-ups read, so they agree with each other
            // and with who is named missing.
            let (expected, arrived) =
                approved.iter().filter(|s| s.slot_id == slot.id).fold((0_u32, 0_u32), |(e, a), s| {
                    (e.saturating_add(1), a.saturating_add(u32::from(book.volunteers.contains_key(&s.volunteer_id))))
                });
            SlotAttendance { name: slot.name.clone(), expected, arrived }
        })
        .collect();
    let order: BTreeMap<i64, usize> = recruitment.slots.iter().enumerate().map(|(i, s)| (s.id, i)).collect();
    let mut missing: Vec<&&Signup> =
        approved.iter().filter(|s| !book.volunteers.contains_key(&s.volunteer_id)).collect();
    missing.sort_by(|a, b| {
        (order.get(&a.slot_id), &a.volunteer_name, a.volunteer_id).cmp(&(
            order.get(&b.slot_id),
            &b.volunteer_name,
            b.volunteer_id,
        ))
    });
    let missing_total = u32::try_from(missing.len()).unwrap_or(u32::MAX);
    let signed_up: std::collections::HashSet<i64> = approved.iter().map(|s| s.volunteer_id).collect();
    let walk_ins = book.volunteers.keys().filter(|v| !signed_up.contains(v)).count();
    Expected {
        slots,
        missing: missing
            .into_iter()
            .take(BOARD_LIST)
            .map(|s| Missing {
                volunteer_id: s.volunteer_id,
                volunteer_name: s.volunteer_name.clone(),
                slot_name: s.slot_name.clone(),
            })
            .collect(),
        missing_total,
        walk_ins: u32::try_from(walk_ins).unwrap_or(u32::MAX),
    }
}

/// Orders who is still inside longest first (by when they came in, then volunteer id)
/// and keeps the first [`BOARD_LIST`].
fn keep_longest_inside<T>(inside: &mut Vec<T>, since_and_id: impl Fn(&T) -> (DateTime<Utc>, i64)) {
    inside.sort_unstable_by_key(since_and_id);
    inside.truncate(BOARD_LIST);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::AcceptedScan;

    fn numbered(volunteer_id: i64, seq: u32) -> NumberedScan {
        let at = chrono::DateTime::parse_from_rfc3339("2026-12-05T08:00:00+08:00").expect("time").to_utc();
        NumberedScan {
            scan: AcceptedScan {
                id: uuid::Uuid::now_v7(),
                volunteer_id,
                volunteer_name: format!("志愿者{volunteer_id}"),
                at: at + chrono::TimeDelta::minutes(i64::from(seq)),
                direction: if seq % 2 == 1 { super::super::Direction::In } else { super::super::Direction::Out },
                gate: Some(0),
            },
            seq,
        }
    }

    #[test]
    fn a_book_takes_each_scan_once_in_any_order_and_notices_a_gap() {
        let mut book = ScanBook::default();
        assert!(book.add(vec![numbered(2, 1), numbered(1, 2), numbered(1, 1)]), "out of order in one read");
        let again = vec![numbered(1, 1), numbered(1, 2), numbered(2, 1), numbered(2, 2)];
        assert!(book.add(again), "read again with one new scan");
        assert_eq!(book.scans, 4);
        assert_eq!(book.volunteers[&1].next_seq(), 3);
        assert_eq!(book.volunteers[&2].facts().len(), 2);
        assert!(!book.add(vec![numbered(1, 4)]), "volunteer 1's third scan is missing");
        assert!(!ScanBook::default().add(vec![numbered(3, 2)]), "a first read must start at 1");
    }

    #[test]
    fn the_chart_counts_each_scan_once_in_its_minute_across_reads() {
        // Scan n of a volunteer is at 08:00 + n minutes; odd ones arrive, even ones leave.
        let mut book = ScanBook::default();
        assert!(book.add(vec![numbered(1, 1), numbered(2, 1), numbered(1, 2)]));
        // Read again with what came since: the scans already counted are not counted twice.
        assert!(book.add(vec![numbered(1, 2), numbered(1, 3), numbered(2, 2), numbered(2, 3)]));
        let first = numbered(1, 0).scan.at;
        let chart = book.minutes(first, 5);
        let counts: Vec<(u32, u32)> = chart.iter().map(|m| (m.arrivals, m.departures)).collect();
        assert_eq!(counts, [(0, 0), (2, 0), (0, 2), (2, 0), (0, 0)]);
        assert_eq!(chart[1].minute, first + chrono::TimeDelta::minutes(1));
        // A window that starts later leaves the earlier minutes out.
        let later = book.minutes(first + chrono::TimeDelta::minutes(3), 2);
        assert_eq!(later.iter().map(|m| (m.arrivals, m.departures)).collect::<Vec<_>>(), [(2, 0), (0, 0)]);
    }

    #[test]
    fn a_crowd_inside_is_listed_longest_first_and_no_longer_than_the_board_list() {
        let opened = chrono::DateTime::parse_from_rfc3339("2026-12-05T08:00:00+08:00").expect("time").to_utc();
        // 500 people, arriving a minute apart, in no particular order.
        let mut crowd: Vec<StillInside> = (0..500_i64)
            .map(|i| (i * 7919) % 500)
            .map(|i| StillInside {
                volunteer_id: i,
                volunteer_name: format!("志愿者{i}"),
                since: opened + chrono::TimeDelta::minutes(i),
                minutes_inside: 0,
                gate_name: None,
            })
            .collect();
        keep_longest_inside(&mut crowd, |s| (s.since, s.volunteer_id));
        assert_eq!(crowd.len(), BOARD_LIST);
        let ids: Vec<i64> = crowd.iter().map(|s| s.volunteer_id).collect();
        assert_eq!(ids, (0..BOARD_LIST as i64).collect::<Vec<_>>(), "the earliest arrivals, in order");
    }
}

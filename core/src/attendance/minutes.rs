//! Service minutes from one volunteer's scans at one activity.
//!
//! Volunteers scan a rotating QR code when they arrive (check-in, [`Direction::In`]) and when
//! they leave (check-out, [`Direction::Out`]). [`derive_minutes`] turns the accepted scans of
//! one volunteer at one activity into the minutes actually served. It is pure: no I/O and no
//! clock ("now" is a parameter), so the live view, the final settlement and the tests all see
//! exactly the same rules.
//!
//! # Rules
//!
//! 1. **Order.** Phones that were offline upload their scans late, so the input may be out of
//!    order. Scans are sorted by time first; the sort is stable, so scans at the same instant
//!    keep their input order (an `In` then an `Out` at the same instant is a zero-length pair).
//! 2. **Pairing.** Walking in time order: an `In` while nothing is open opens a session; an
//!    `Out` closes the open session into a pair; an `Out` with nothing open is reported as
//!    [`UnpairedReason::OutWithoutIn`] and earns nothing.
//! 3. **A second `In` while a session is open.** On the same local day as the open `In` it is
//!    a double scan: reported as [`UnpairedReason::RepeatedIn`] and ignored, the earlier
//!    arrival stands. On a later local day the volunteer forgot to check out: the earlier `In`
//!    is reported as [`UnpairedReason::MissingOut`] and earns nothing, and the new `In` opens a
//!    session. Otherwise a multi-day activity would credit the whole night to whoever forgot
//!    to scan out.
//! 4. **Open session at the end.** With `now`, it is credited *provisionally* up to `now` (the
//!    organiser's live "minutes so far"), appears in [`MinutesReport::pairs`] with
//!    `checked_out_at: None`, and its check-in is [`MinutesReport::open_since`]. Without `now`
//!    (settlement) it is reported as [`UnpairedReason::MissingOut`] and earns nothing.
//! 5. **Clipping.** Each pair only counts inside the credit window
//!    `[starts_at − early_grace, ends_at + late_grace]`: arriving early earns nothing by
//!    default, and staying a little late to tidy up (30 minutes by default) still counts. A
//!    pair entirely outside the window earns 0 but is still a pair (it counts towards the
//!    daily limit below).
//! 6. **Daily limit.** Pairs are counted per local day of their check-in; pairs beyond
//!    [`MinutesPolicy::max_pairs_per_day`] on a day earn nothing and are flagged
//!    [`CreditedPair::excess`]. This bounds the damage of a shared or replayed code.
//! 7. **Minutes.** A pair earns the whole minutes (floor) of its clipped duration; 59 seconds
//!    earn nothing.
//! 8. **Per-day attribution.** Credited minutes are also attributed to local calendar days,
//!    splitting a pair that crosses local midnight. The split is consistent with the total:
//!    each day except the pair's last gets the whole minutes (floor) of its own share of
//!    seconds, and the last day gets the rest of the pair's minutes, so the days of a pair add
//!    up exactly to its minutes.
//!
//! "Local" always means Asia/Shanghai: that is where the activities take place, and it is
//! the calendar day the volunteer and the organiser talk about.
//!
//! Nothing here panics, whatever the input: arithmetic on instants saturates at the ends of
//! the representable range, and an instant whose local date cannot be represented falls back
//! to its UTC date.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Offset, TimeZone, Utc};
use chrono_tz::Asia::Shanghai;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Whether a scan is an arrival or a departure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Check-in: the volunteer arrives.
    In,
    /// Check-out: the volunteer leaves.
    Out,
}

crate::stored_names!(Direction { In => "in", Out => "out" });

/// One accepted scan of one volunteer at one activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ScanFact {
    /// When the scan happened (not when it was uploaded).
    pub at: DateTime<Utc>,
    /// Arrival or departure.
    pub direction: Direction,
}

/// The activity's scheduled window.
///
/// A schedule whose end is before its start credits nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Schedule {
    /// Scheduled start.
    pub starts_at: DateTime<Utc>,
    /// Scheduled end.
    pub ends_at: DateTime<Utc>,
}

/// How scans are credited. See the [module documentation](self) for the rules.
///
/// Negative graces are treated as zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinutesPolicy {
    /// How long before the scheduled start time starts to count. Default 0: arriving early
    /// earns nothing.
    pub early_grace: Duration,
    /// How long after the scheduled end time still counts. Default 30 minutes.
    pub late_grace: Duration,
    /// Credited check-in/check-out pairs per volunteer per local day. Default 3.
    pub max_pairs_per_day: u32,
}

impl Default for MinutesPolicy {
    fn default() -> Self {
        Self { early_grace: Duration::zero(), late_grace: Duration::minutes(30), max_pairs_per_day: 3 }
    }
}

/// What one volunteer earned at one activity, and why.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, ToSchema)]
pub struct MinutesReport {
    /// Every check-in/check-out pair in time order, including those that earned nothing
    /// (outside the window, zero length, or [`excess`](CreditedPair::excess)). With `now`, an
    /// open session comes last, with `checked_out_at: None`.
    pub pairs: Vec<CreditedPair>,
    /// Scans that are not part of any pair, in time order (ties in input order).
    pub unpaired: Vec<UnpairedScan>,
    /// Sum of the pairs' minutes (saturating).
    pub total_minutes: u32,
    /// Credited minutes per local (Asia/Shanghai) calendar day, ascending, only days with
    /// minutes. Adds up to `total_minutes`.
    pub per_day: Vec<DayMinutes>,
    /// Check-in of the session still open at `now`. Always `None` when no `now` was given:
    /// a settlement has no one inside, the open check-in is reported as
    /// [`UnpairedReason::MissingOut`] instead.
    #[serde(serialize_with = "crate::activity::shanghai_time::option::serialize")]
    pub open_since: Option<DateTime<Utc>>,
}

impl MinutesReport {
    /// Whether the volunteer is currently checked in (only meaningful with `now`).
    #[must_use]
    pub fn is_inside(&self) -> bool {
        self.open_since.is_some()
    }
}

/// One check-in/check-out pair and what it earned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CreditedPair {
    /// The check-in scan.
    #[serde(serialize_with = "crate::activity::shanghai_time::serialize")]
    pub checked_in_at: DateTime<Utc>,
    /// The check-out scan; `None` for a session still open, credited provisionally up to
    /// `now`.
    #[serde(serialize_with = "crate::activity::shanghai_time::option::serialize")]
    pub checked_out_at: Option<DateTime<Utc>>,
    /// Start of the credited part of the pair, after clipping to the credit window. `None`
    /// when nothing of the pair was credited: it lies outside the window, has zero length, or
    /// is excess.
    #[serde(serialize_with = "crate::activity::shanghai_time::option::serialize")]
    pub credited_from: Option<DateTime<Utc>>,
    /// End of the credited part of the pair; `None` exactly when `credited_from` is. A
    /// credited part shorter than a minute is still reported, with 0 minutes.
    #[serde(serialize_with = "crate::activity::shanghai_time::option::serialize")]
    pub credited_to: Option<DateTime<Utc>>,
    /// Whole minutes (floor) of the credited part.
    pub minutes: u32,
    /// Whether this pair is beyond the daily limit of pairs, and so earned nothing.
    pub excess: bool,
}

/// A scan that is not part of any pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct UnpairedScan {
    /// When the scan happened.
    #[serde(serialize_with = "crate::activity::shanghai_time::serialize")]
    pub at: DateTime<Utc>,
    /// Arrival or departure.
    pub direction: Direction,
    /// Why it is not part of a pair.
    pub reason: UnpairedReason,
}

/// Why a scan is not part of any pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UnpairedReason {
    /// A check-out with no open check-in before it.
    OutWithoutIn,
    /// A second check-in on the same local day while already checked in; the earlier one
    /// stands.
    RepeatedIn,
    /// A check-in never followed by a check-out: the next check-in was on a later local day,
    /// or the scans ended (without `now`).
    MissingOut,
}

/// Credited minutes on one local (Asia/Shanghai) calendar day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct DayMinutes {
    /// The local calendar day.
    pub day: NaiveDate,
    /// Minutes credited on that day.
    pub minutes: u32,
}

/// Derives the service minutes of one volunteer at one activity from their accepted scans.
///
/// `now` turns on the live view: a check-in still open after the last scan is credited
/// provisionally up to `now` and reported in [`MinutesReport::open_since`]. Without it, an
/// open check-in earns nothing and is reported as [`UnpairedReason::MissingOut`]. See the
/// [module documentation](self) for all the rules.
#[must_use]
pub fn derive_minutes(
    scans: &[ScanFact],
    schedule: &Schedule,
    policy: &MinutesPolicy,
    now: Option<DateTime<Utc>>,
) -> MinutesReport {
    let Pairing { sessions, unpaired, open_since } = pair_scans(scans, now);
    let window = CreditWindow::new(schedule, policy);
    let Credited { pairs, total_minutes, per_day } = credit(sessions, window, policy);
    MinutesReport {
        pairs,
        unpaired,
        total_minutes,
        per_day: per_day
            .into_iter()
            .filter(|&(_, minutes)| minutes > 0)
            .map(|(day, minutes)| DayMinutes { day, minutes })
            .collect(),
        open_since,
    }
}

/// Rules 5 to 8 applied to sessions in time order.
struct Credited {
    pairs: Vec<CreditedPair>,
    total_minutes: u32,
    per_day: BTreeMap<NaiveDate, u32>,
}

fn credit(sessions: Vec<Session>, window: CreditWindow, policy: &MinutesPolicy) -> Credited {
    let mut pairs = Vec::with_capacity(sessions.len());
    let mut pairs_on_day: BTreeMap<NaiveDate, u32> = BTreeMap::new();
    let mut per_day: BTreeMap<NaiveDate, u32> = BTreeMap::new();
    let mut total_minutes: u32 = 0;

    for session in sessions {
        let count = pairs_on_day.entry(local_day(session.checked_in_at)).or_insert(0);
        *count = count.saturating_add(1);
        let excess = *count > policy.max_pairs_per_day;

        let credited = if excess { None } else { window.clip(session.checked_in_at, session.credit_until) };
        let minutes = credited.map_or(0, |(from, to)| whole_minutes(from, to));
        if let Some((from, to)) = credited {
            split_across_local_days(from, to, minutes, &mut per_day);
        }
        total_minutes = total_minutes.saturating_add(minutes);

        pairs.push(CreditedPair {
            checked_in_at: session.checked_in_at,
            checked_out_at: session.checked_out_at,
            credited_from: credited.map(|(from, _)| from),
            credited_to: credited.map(|(_, to)| to),
            minutes,
            excess,
        });
    }
    Credited { pairs, total_minutes, per_day }
}

/// A check-in with the instant its credit may run until: the check-out, or `now` for a
/// provisional open session.
#[derive(Debug)]
struct Session {
    checked_in_at: DateTime<Utc>,
    checked_out_at: Option<DateTime<Utc>>,
    credit_until: DateTime<Utc>,
}

/// Rules 1 to 4: the scans walked into sessions and unpaired scans.
#[derive(Debug)]
struct Pairing {
    sessions: Vec<Session>,
    unpaired: Vec<UnpairedScan>,
    open_since: Option<DateTime<Utc>>,
}

fn pair_scans(scans: &[ScanFact], now: Option<DateTime<Utc>>) -> Pairing {
    let mut ordered: Vec<&ScanFact> = scans.iter().collect();
    ordered.sort_by_key(|scan| scan.at); // stable: ties keep input order

    let mut sessions = Vec::new();
    let mut unpaired = UnpairedLog::default();
    let mut open: Option<(usize, DateTime<Utc>)> = None;

    for (position, scan) in ordered.iter().enumerate() {
        match (scan.direction, open) {
            (Direction::In, None) => open = Some((position, scan.at)),
            (Direction::In, Some((open_position, open_at))) => {
                if local_day(scan.at) > local_day(open_at) {
                    unpaired.push(open_position, open_at, Direction::In, UnpairedReason::MissingOut);
                    open = Some((position, scan.at));
                } else {
                    unpaired.push(position, scan.at, Direction::In, UnpairedReason::RepeatedIn);
                }
            }
            (Direction::Out, Some((_, open_at))) => {
                sessions.push(Session { checked_in_at: open_at, checked_out_at: Some(scan.at), credit_until: scan.at });
                open = None;
            }
            (Direction::Out, None) => {
                unpaired.push(position, scan.at, Direction::Out, UnpairedReason::OutWithoutIn);
            }
        }
    }

    let mut open_since = None;
    if let Some((open_position, open_at)) = open {
        match now {
            Some(now) => {
                sessions.push(Session { checked_in_at: open_at, checked_out_at: None, credit_until: now });
                open_since = Some(open_at);
            }
            None => {
                unpaired.push(open_position, open_at, Direction::In, UnpairedReason::MissingOut);
            }
        }
    }

    Pairing { sessions, unpaired: unpaired.into_time_order(), open_since }
}

/// Unpaired scans, each tagged with its position in time order, so that a `MissingOut`,
/// only known later, still sorts into place before the scans that came after it.
#[derive(Debug, Default)]
struct UnpairedLog(Vec<(usize, UnpairedScan)>);

impl UnpairedLog {
    fn push(&mut self, position: usize, at: DateTime<Utc>, direction: Direction, reason: UnpairedReason) {
        self.0.push((position, UnpairedScan { at, direction, reason }));
    }

    fn into_time_order(mut self) -> Vec<UnpairedScan> {
        self.0.sort_by_key(|&(position, _)| position);
        self.0.into_iter().map(|(_, scan)| scan).collect()
    }
}

/// Rule 5: `[starts_at − early_grace, ends_at + late_grace]`, saturating at the ends of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct CreditWindow {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
}

impl CreditWindow {
    fn new(schedule: &Schedule, policy: &MinutesPolicy) -> Self {
        let early = policy.early_grace.max(Duration::zero());
        let late = policy.late_grace.max(Duration::zero());
        Self {
            from: schedule.starts_at.checked_sub_signed(early).unwrap_or(DateTime::<Utc>::MIN_UTC),
            to: schedule.ends_at.checked_add_signed(late).unwrap_or(DateTime::<Utc>::MAX_UTC),
        }
    }

    /// The part of `[from, to]` inside the window, if it has a positive length.
    fn clip(self, from: DateTime<Utc>, to: DateTime<Utc>) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let from = from.max(self.from);
        let to = to.min(self.to);
        (from < to).then_some((from, to))
    }
}

/// Whole minutes (floor) from `from` to `to`; 0 if `to` is not after `from`, saturating at
/// `u32::MAX`.
fn whole_minutes(from: DateTime<Utc>, to: DateTime<Utc>) -> u32 {
    let seconds = to.signed_duration_since(from).num_seconds().max(0);
    u32::try_from(seconds / 60).unwrap_or(u32::MAX)
}

/// Rule 8: attributes a pair's `minutes`, credited over `[from, to]`, to local days.
///
/// Every day but the last gets the whole minutes of its own seconds; the last gets the rest,
/// so the shares add up to exactly `minutes`.
fn split_across_local_days(
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    minutes: u32,
    per_day: &mut BTreeMap<NaiveDate, u32>,
) {
    let mut remaining = minutes;
    let mut cursor = from;
    let mut day = local_day(cursor);
    // `> cursor` guarantees progress whatever the time zone data says.
    while let Some(midnight) = next_local_midnight(day).filter(|&midnight| midnight > cursor && midnight < to) {
        let share = whole_minutes(cursor, midnight).min(remaining);
        add_minutes(per_day, day, share);
        remaining -= share;
        cursor = midnight;
        day = local_day(cursor);
    }
    add_minutes(per_day, day, remaining);
}

fn add_minutes(per_day: &mut BTreeMap<NaiveDate, u32>, day: NaiveDate, minutes: u32) {
    if minutes > 0 {
        let entry = per_day.entry(day).or_insert(0);
        *entry = entry.saturating_add(minutes);
    }
}

/// The Asia/Shanghai calendar day of `at`, or its UTC day if the local date is not
/// representable (within hours of the end of chrono's range).
pub fn local_day(at: DateTime<Utc>) -> NaiveDate {
    let utc = at.naive_utc();
    let offset = Shanghai.offset_from_utc_datetime(&utc).fix();
    utc.checked_add_offset(offset).unwrap_or(utc).date()
}

/// The instant at which the Asia/Shanghai day after `day` begins, if representable.
fn next_local_midnight(day: NaiveDate) -> Option<DateTime<Utc>> {
    let next = day.succ_opt()?;
    Shanghai.from_local_datetime(&next.and_time(NaiveTime::MIN)).earliest().map(|midnight| midnight.with_timezone(&Utc))
}

mod live;

pub use live::LiveMinutes;

#[cfg(test)]
mod tests;

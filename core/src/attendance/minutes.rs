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
    let Pairing { sessions, unpaired, open_since, .. } = pair_scans(scans, now);
    let window = CreditWindow::new(schedule, policy);
    let Credited { pairs, total_minutes, per_day, .. } = credit(sessions, window, policy);
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

/// What a live view needs of one volunteer's scans, derived once and asked again as the
/// clock moves: the same figures as [`derive_minutes`] with and without `now`, without
/// pairing the scans again for every `now`.
///
/// A live board asks for every volunteer of an activity once a second; of those, only the
/// volunteers who scanned since have anything new to derive, and for the rest only an open
/// session's credit moves with the clock. Rules 1 to 6 make that split exact: the open
/// session is always the last one, so whether it is excess and what the closed pairs earn
/// do not depend on `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiveMinutes {
    /// Minutes of the closed pairs: [`derive_minutes`] without `now`.
    credited: u32,
    /// Whether there is any pair, closed or open.
    closed_pairs: bool,
    /// The open session's check-in, and whether it is beyond the day's limit of pairs.
    open: Option<(DateTime<Utc>, bool)>,
    window: CreditWindow,
}

impl LiveMinutes {
    /// Derives the parts that do not depend on the clock.
    #[must_use]
    pub fn derive(scans: &[ScanFact], schedule: &Schedule, policy: &MinutesPolicy) -> Self {
        let Pairing { sessions, still_open, .. } = pair_scans(scans, None);
        let window = CreditWindow::new(schedule, policy);
        let closed_pairs = !sessions.is_empty();
        let Credited { total_minutes, pairs_on_day, .. } = credit(sessions, window, policy);
        let open = still_open.map(|since| {
            let before = pairs_on_day.get(&local_day(since)).copied().unwrap_or(0);
            (since, before.saturating_add(1) > policy.max_pairs_per_day)
        });
        Self { credited: total_minutes, closed_pairs, open, window }
    }

    /// Check-in of the open session: [`MinutesReport::open_since`] with `now`.
    #[must_use]
    pub fn open_since(&self) -> Option<DateTime<Utc>> {
        self.open.map(|(since, _)| since)
    }

    /// Whether the volunteer has any pair with `now`: an open session counts.
    #[must_use]
    pub fn arrived(&self) -> bool {
        self.closed_pairs || self.open.is_some()
    }

    /// Minutes from completed pairs: `derive_minutes(.., None).total_minutes`.
    #[must_use]
    pub fn credited(&self) -> u32 {
        self.credited
    }

    /// Minutes counting an open session up to `now`: `derive_minutes(.., Some(now)).total_minutes`.
    #[must_use]
    pub fn so_far(&self, now: DateTime<Utc>) -> u32 {
        let open = match self.open {
            Some((since, false)) => self.window.clip(since, now).map_or(0, |(from, to)| whole_minutes(from, to)),
            _ => 0,
        };
        self.credited.saturating_add(open)
    }
}

/// Rules 5 to 8 applied to sessions in time order.
struct Credited {
    pairs: Vec<CreditedPair>,
    total_minutes: u32,
    per_day: BTreeMap<NaiveDate, u32>,
    pairs_on_day: BTreeMap<NaiveDate, u32>,
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
    Credited { pairs, total_minutes, per_day, pairs_on_day }
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
    /// The check-in still open after the last scan, with `now` or without.
    still_open: Option<DateTime<Utc>>,
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

    Pairing { sessions, unpaired: unpaired.into_time_order(), open_since, still_open: open.map(|(_, at)| at) }
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDateTime;

    /// An Asia/Shanghai wall-clock time, `"YYYY-MM-DD HH:MM"` or `"YYYY-MM-DD HH:MM:SS"`.
    fn sh(local: &str) -> DateTime<Utc> {
        let naive = NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M:%S")
            .or_else(|_| NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M"))
            .unwrap_or_else(|e| panic!("bad test time {local:?}: {e}"));
        Shanghai.from_local_datetime(&naive).single().expect("unambiguous local time").with_timezone(&Utc)
    }

    fn day(ymd: &str) -> NaiveDate {
        NaiveDate::parse_from_str(ymd, "%Y-%m-%d").expect("valid test date")
    }

    fn check_in(local: &str) -> ScanFact {
        ScanFact { at: sh(local), direction: Direction::In }
    }

    fn check_out(local: &str) -> ScanFact {
        ScanFact { at: sh(local), direction: Direction::Out }
    }

    fn schedule(starts: &str, ends: &str) -> Schedule {
        Schedule { starts_at: sh(starts), ends_at: sh(ends) }
    }

    /// National Day, 08:00 to 12:00.
    fn morning() -> Schedule {
        schedule("2026-10-01 08:00", "2026-10-01 12:00")
    }

    fn settle(scans: &[ScanFact], schedule: &Schedule) -> MinutesReport {
        derive_minutes(scans, schedule, &MinutesPolicy::default(), None)
    }

    fn day_minutes(ymd: &str, minutes: u32) -> DayMinutes {
        DayMinutes { day: day(ymd), minutes }
    }

    fn pair(
        checked_in: &str,
        checked_out: &str,
        credited: Option<(&str, &str)>,
        minutes: u32,
        excess: bool,
    ) -> CreditedPair {
        CreditedPair {
            checked_in_at: sh(checked_in),
            checked_out_at: Some(sh(checked_out)),
            credited_from: credited.map(|(from, _)| sh(from)),
            credited_to: credited.map(|(_, to)| sh(to)),
            minutes,
            excess,
        }
    }

    fn unpaired(local: &str, direction: Direction, reason: UnpairedReason) -> UnpairedScan {
        UnpairedScan { at: sh(local), direction, reason }
    }

    #[test]
    fn default_policy() {
        let policy = MinutesPolicy::default();
        assert_eq!(policy.early_grace, Duration::zero());
        assert_eq!(policy.late_grace, Duration::minutes(30));
        assert_eq!(policy.max_pairs_per_day, 3);
    }

    #[test]
    fn simple_pair() {
        let report = settle(&[check_in("2026-10-01 08:00"), check_out("2026-10-01 11:30")], &morning());
        assert_eq!(
            report,
            MinutesReport {
                pairs: vec![pair(
                    "2026-10-01 08:00",
                    "2026-10-01 11:30",
                    Some(("2026-10-01 08:00", "2026-10-01 11:30")),
                    210,
                    false,
                )],
                unpaired: vec![],
                total_minutes: 210,
                per_day: vec![day_minutes("2026-10-01", 210)],
                open_since: None,
            }
        );
        assert!(!report.is_inside());
    }

    #[test]
    fn early_arrival_earns_nothing_before_start() {
        let report = settle(&[check_in("2026-10-01 07:30"), check_out("2026-10-01 09:00")], &morning());
        assert_eq!(
            report.pairs,
            vec![pair(
                "2026-10-01 07:30",
                "2026-10-01 09:00",
                Some(("2026-10-01 08:00", "2026-10-01 09:00")),
                60,
                false,
            )]
        );
        assert_eq!(report.total_minutes, 60);
    }

    #[test]
    fn late_departure_within_grace_counts() {
        let report = settle(&[check_in("2026-10-01 08:00"), check_out("2026-10-01 12:20")], &morning());
        assert_eq!(report.pairs[0].credited_to, Some(sh("2026-10-01 12:20")));
        assert_eq!(report.total_minutes, 260);
    }

    #[test]
    fn late_departure_beyond_grace_is_clipped() {
        let report = settle(&[check_in("2026-10-01 08:00"), check_out("2026-10-01 13:00")], &morning());
        assert_eq!(
            report.pairs,
            vec![pair(
                "2026-10-01 08:00",
                "2026-10-01 13:00",
                Some(("2026-10-01 08:00", "2026-10-01 12:30")),
                270,
                false,
            )]
        );
        assert_eq!(report.total_minutes, 270);
        assert_eq!(report.per_day, vec![day_minutes("2026-10-01", 270)]);
    }

    #[test]
    fn pair_wholly_before_start_earns_nothing() {
        let report = settle(&[check_in("2026-10-01 06:00"), check_out("2026-10-01 08:00")], &morning());
        assert_eq!(report.pairs, vec![pair("2026-10-01 06:00", "2026-10-01 08:00", None, 0, false)]);
        assert_eq!(report.total_minutes, 0);
        assert_eq!(report.per_day, vec![]);
        assert_eq!(report.unpaired, vec![]);
    }

    #[test]
    fn pair_wholly_after_end_and_grace_earns_nothing() {
        let report = settle(&[check_in("2026-10-01 12:30"), check_out("2026-10-01 14:00")], &morning());
        assert_eq!(report.pairs, vec![pair("2026-10-01 12:30", "2026-10-01 14:00", None, 0, false)]);
        assert_eq!(report.total_minutes, 0);
        assert_eq!(report.per_day, vec![]);
    }

    #[test]
    fn pairs_outside_the_window_still_count_towards_the_daily_limit() {
        let report = settle(
            &[
                check_in("2026-10-01 06:00"),
                check_out("2026-10-01 06:30"),
                check_in("2026-10-01 06:40"),
                check_out("2026-10-01 07:00"),
                check_in("2026-10-01 07:10"),
                check_out("2026-10-01 07:20"),
                check_in("2026-10-01 09:00"),
                check_out("2026-10-01 10:00"),
            ],
            &morning(),
        );
        assert_eq!(report.pairs.len(), 4);
        assert!(report.pairs[3].excess);
        assert_eq!(report.total_minutes, 0);
    }

    #[test]
    fn fourth_pair_of_a_day_is_excess() {
        let report = settle(
            &[
                check_in("2026-10-01 08:00"),
                check_out("2026-10-01 09:00"),
                check_in("2026-10-01 09:10"),
                check_out("2026-10-01 10:00"),
                check_in("2026-10-01 10:10"),
                check_out("2026-10-01 11:00"),
                check_in("2026-10-01 11:10"),
                check_out("2026-10-01 12:00"),
            ],
            &morning(),
        );
        assert_eq!(
            report.pairs,
            vec![
                pair("2026-10-01 08:00", "2026-10-01 09:00", Some(("2026-10-01 08:00", "2026-10-01 09:00")), 60, false,),
                pair("2026-10-01 09:10", "2026-10-01 10:00", Some(("2026-10-01 09:10", "2026-10-01 10:00")), 50, false,),
                pair("2026-10-01 10:10", "2026-10-01 11:00", Some(("2026-10-01 10:10", "2026-10-01 11:00")), 50, false,),
                pair("2026-10-01 11:10", "2026-10-01 12:00", None, 0, true),
            ]
        );
        assert_eq!(report.total_minutes, 160);
        assert_eq!(report.per_day, vec![day_minutes("2026-10-01", 160)]);
        assert_eq!(report.unpaired, vec![]);
    }

    #[test]
    fn the_daily_limit_resets_on_the_next_local_day() {
        let two_days = schedule("2026-10-01 08:00", "2026-10-02 12:00");
        let policy = MinutesPolicy { max_pairs_per_day: 1, ..MinutesPolicy::default() };
        let report = derive_minutes(
            &[
                check_in("2026-10-01 09:00"),
                check_out("2026-10-01 10:00"),
                check_in("2026-10-01 11:00"),
                check_out("2026-10-01 12:00"),
                check_in("2026-10-02 09:00"),
                check_out("2026-10-02 10:00"),
            ],
            &two_days,
            &policy,
            None,
        );
        let excess: Vec<bool> = report.pairs.iter().map(|p| p.excess).collect();
        assert_eq!(excess, vec![false, true, false]);
        assert_eq!(report.total_minutes, 120);
        assert_eq!(report.per_day, vec![day_minutes("2026-10-01", 60), day_minutes("2026-10-02", 60)]);
    }

    #[test]
    fn midnight_crossing_is_split_between_days() {
        let new_year = schedule("2026-12-31 20:00", "2027-01-01 02:00");
        let report = settle(&[check_in("2026-12-31 20:00"), check_out("2027-01-01 02:00")], &new_year);
        assert_eq!(report.total_minutes, 360);
        assert_eq!(report.per_day, vec![day_minutes("2026-12-31", 240), day_minutes("2027-01-01", 120)]);
    }

    #[test]
    fn midnight_split_gives_the_rounding_remainder_to_the_last_day() {
        let new_year = schedule("2026-12-31 20:00", "2027-01-01 02:00");
        // 2 h 59 min 40 s before midnight, 30 min 30 s after: 3 h 30 min 10 s = 210 minutes.
        // Floored separately the days would only make 179 + 30 = 209.
        let report = settle(&[check_in("2026-12-31 21:00:20"), check_out("2027-01-01 00:30:30")], &new_year);
        assert_eq!(report.pairs[0].minutes, 210);
        assert_eq!(report.total_minutes, 210);
        assert_eq!(report.per_day, vec![day_minutes("2026-12-31", 179), day_minutes("2027-01-01", 31)]);
        let sum: u32 = report.per_day.iter().map(|d| d.minutes).sum();
        assert_eq!(sum, report.total_minutes);
    }

    #[test]
    fn check_in_exactly_at_local_midnight_belongs_to_the_new_day() {
        let new_year = schedule("2026-12-31 20:00", "2027-01-01 02:00");
        let report = settle(&[check_in("2027-01-01 00:00"), check_out("2027-01-01 01:00")], &new_year);
        assert_eq!(report.per_day, vec![day_minutes("2027-01-01", 60)]);
    }

    #[test]
    fn multi_day_activity_with_one_pair_per_day() {
        let three_days = schedule("2026-10-01 08:00", "2026-10-03 18:00");
        let report = settle(
            &[
                check_in("2026-10-01 09:00"),
                check_out("2026-10-01 17:00"),
                check_in("2026-10-02 09:00"),
                check_out("2026-10-02 17:00"),
                check_in("2026-10-03 09:00"),
                check_out("2026-10-03 17:00"),
            ],
            &three_days,
        );
        assert_eq!(report.pairs.len(), 3);
        assert!(report.pairs.iter().all(|p| p.minutes == 480 && !p.excess));
        assert_eq!(report.total_minutes, 1440);
        assert_eq!(
            report.per_day,
            vec![day_minutes("2026-10-01", 480), day_minutes("2026-10-02", 480), day_minutes("2026-10-03", 480),]
        );
        assert_eq!(report.unpaired, vec![]);
    }

    #[test]
    fn forgotten_check_out_then_check_in_next_day() {
        let three_days = schedule("2026-10-01 08:00", "2026-10-03 18:00");
        let report = settle(
            &[check_in("2026-10-01 09:00"), check_in("2026-10-02 09:00"), check_out("2026-10-02 17:00")],
            &three_days,
        );
        assert_eq!(
            report,
            MinutesReport {
                pairs: vec![pair(
                    "2026-10-02 09:00",
                    "2026-10-02 17:00",
                    Some(("2026-10-02 09:00", "2026-10-02 17:00")),
                    480,
                    false,
                )],
                unpaired: vec![unpaired("2026-10-01 09:00", Direction::In, UnpairedReason::MissingOut)],
                total_minutes: 480,
                per_day: vec![day_minutes("2026-10-02", 480)],
                open_since: None,
            }
        );
    }

    #[test]
    fn unpaired_scans_are_reported_in_time_order() {
        let three_days = schedule("2026-10-01 08:00", "2026-10-03 18:00");
        // The MissingOut for 09:00 is only known at the next day's check-in, after the
        // RepeatedIn at 10:00 was seen; it is still listed first.
        let report = settle(
            &[
                check_in("2026-10-01 09:00"),
                check_in("2026-10-01 10:00"),
                check_in("2026-10-02 09:00"),
                check_out("2026-10-02 10:00"),
                check_out("2026-10-02 11:00"),
            ],
            &three_days,
        );
        assert_eq!(
            report.unpaired,
            vec![
                unpaired("2026-10-01 09:00", Direction::In, UnpairedReason::MissingOut),
                unpaired("2026-10-01 10:00", Direction::In, UnpairedReason::RepeatedIn),
                unpaired("2026-10-02 11:00", Direction::Out, UnpairedReason::OutWithoutIn),
            ]
        );
        assert_eq!(report.total_minutes, 60);
    }

    #[test]
    fn out_of_order_input_gives_the_same_report_as_sorted_input() {
        let three_days = schedule("2026-10-01 08:00", "2026-10-03 18:00");
        let sorted = [
            check_out("2026-10-01 07:00"),
            check_in("2026-10-01 07:30"),
            check_in("2026-10-01 08:00"),
            check_out("2026-10-01 12:00"),
            check_in("2026-10-01 23:00"),
            check_out("2026-10-02 01:00"),
            check_in("2026-10-02 09:00"),
            check_in("2026-10-03 09:00"),
            check_out("2026-10-03 18:45"),
        ];
        let shuffled =
            [sorted[6], sorted[3], sorted[8], sorted[0], sorted[5], sorted[1], sorted[7], sorted[4], sorted[2]];
        let expected = settle(&sorted, &three_days);
        assert_eq!(settle(&shuffled, &three_days), expected);
        let mut reversed = sorted;
        reversed.reverse();
        assert_eq!(settle(&reversed, &three_days), expected);

        // 08:00–12:00 (arrival 07:30 clipped), 23:00–01:00 across midnight, and
        // 09:00–18:30 on the last day (departure 18:45 clipped to end + grace).
        assert_eq!(expected.total_minutes, 240 + 120 + 570);
        assert_eq!(
            expected.per_day,
            vec![day_minutes("2026-10-01", 240 + 60), day_minutes("2026-10-02", 60), day_minutes("2026-10-03", 570),]
        );
        assert_eq!(
            expected.unpaired,
            vec![
                unpaired("2026-10-01 07:00", Direction::Out, UnpairedReason::OutWithoutIn),
                unpaired("2026-10-01 08:00", Direction::In, UnpairedReason::RepeatedIn),
                unpaired("2026-10-02 09:00", Direction::In, UnpairedReason::MissingOut),
            ]
        );
    }

    #[test]
    fn out_without_in_earns_nothing() {
        let report = settle(
            &[
                check_out("2026-10-01 09:00"),
                check_in("2026-10-01 10:00"),
                check_out("2026-10-01 11:00"),
                check_out("2026-10-01 11:05"),
            ],
            &morning(),
        );
        assert_eq!(
            report.unpaired,
            vec![
                unpaired("2026-10-01 09:00", Direction::Out, UnpairedReason::OutWithoutIn),
                unpaired("2026-10-01 11:05", Direction::Out, UnpairedReason::OutWithoutIn),
            ]
        );
        assert_eq!(
            report.pairs,
            vec![pair(
                "2026-10-01 10:00",
                "2026-10-01 11:00",
                Some(("2026-10-01 10:00", "2026-10-01 11:00")),
                60,
                false,
            )]
        );
        assert_eq!(report.total_minutes, 60);
    }

    #[test]
    fn repeated_in_on_the_same_day_is_ignored_and_the_first_arrival_stands() {
        let report = settle(
            &[check_in("2026-10-01 08:00"), check_in("2026-10-01 09:00"), check_out("2026-10-01 10:00")],
            &morning(),
        );
        assert_eq!(
            report.pairs,
            vec![pair(
                "2026-10-01 08:00",
                "2026-10-01 10:00",
                Some(("2026-10-01 08:00", "2026-10-01 10:00")),
                120,
                false,
            )]
        );
        assert_eq!(report.unpaired, vec![unpaired("2026-10-01 09:00", Direction::In, UnpairedReason::RepeatedIn)]);
        assert_eq!(report.total_minutes, 120);
    }

    #[test]
    fn open_session_with_now_is_credited_provisionally() {
        let report = derive_minutes(
            &[check_in("2026-10-01 08:00")],
            &morning(),
            &MinutesPolicy::default(),
            Some(sh("2026-10-01 09:15:30")),
        );
        assert_eq!(
            report,
            MinutesReport {
                pairs: vec![CreditedPair {
                    checked_in_at: sh("2026-10-01 08:00"),
                    checked_out_at: None,
                    credited_from: Some(sh("2026-10-01 08:00")),
                    credited_to: Some(sh("2026-10-01 09:15:30")),
                    minutes: 75,
                    excess: false,
                }],
                unpaired: vec![],
                total_minutes: 75,
                per_day: vec![day_minutes("2026-10-01", 75)],
                open_since: Some(sh("2026-10-01 08:00")),
            }
        );
        assert!(report.is_inside());
    }

    #[test]
    fn open_session_with_now_after_the_window_stops_at_the_grace() {
        let report = derive_minutes(
            &[check_in("2026-10-01 07:30"), check_out("2026-10-01 08:30"), check_in("2026-10-01 09:00")],
            &morning(),
            &MinutesPolicy::default(),
            Some(sh("2026-10-01 18:00")),
        );
        assert_eq!(report.pairs.len(), 2);
        assert_eq!(report.pairs[1].checked_out_at, None);
        assert_eq!(report.pairs[1].credited_to, Some(sh("2026-10-01 12:30")));
        assert_eq!(report.pairs[1].minutes, 210);
        assert_eq!(report.total_minutes, 30 + 210);
        assert_eq!(report.open_since, Some(sh("2026-10-01 09:00")));
    }

    #[test]
    fn open_session_with_now_before_the_start_earns_nothing_yet() {
        let report = derive_minutes(
            &[check_in("2026-10-01 07:30")],
            &morning(),
            &MinutesPolicy::default(),
            Some(sh("2026-10-01 07:55")),
        );
        assert_eq!(report.pairs.len(), 1);
        assert_eq!(report.pairs[0].credited_from, None);
        assert_eq!(report.pairs[0].minutes, 0);
        assert_eq!(report.total_minutes, 0);
        assert_eq!(report.per_day, vec![]);
        assert!(report.is_inside());
    }

    #[test]
    fn open_session_counts_towards_the_daily_limit() {
        let policy = MinutesPolicy { max_pairs_per_day: 1, ..MinutesPolicy::default() };
        let report = derive_minutes(
            &[check_in("2026-10-01 08:00"), check_out("2026-10-01 09:00"), check_in("2026-10-01 10:00")],
            &morning(),
            &policy,
            Some(sh("2026-10-01 11:00")),
        );
        assert_eq!(report.pairs.len(), 2);
        assert!(report.pairs[1].excess);
        assert_eq!(report.pairs[1].minutes, 0);
        assert_eq!(report.total_minutes, 60);
        assert_eq!(report.open_since, Some(sh("2026-10-01 10:00")));
    }

    #[test]
    fn open_session_without_now_is_a_missing_out() {
        let report = settle(&[check_in("2026-10-01 08:00")], &morning());
        assert_eq!(
            report,
            MinutesReport {
                pairs: vec![],
                unpaired: vec![unpaired("2026-10-01 08:00", Direction::In, UnpairedReason::MissingOut)],
                total_minutes: 0,
                per_day: vec![],
                open_since: None,
            }
        );
        assert!(!report.is_inside());
    }

    #[test]
    fn empty_input() {
        assert_eq!(settle(&[], &morning()), MinutesReport::default());
        let live = derive_minutes(&[], &morning(), &MinutesPolicy::default(), Some(sh("2026-10-01 09:00")));
        assert_eq!(live, MinutesReport::default());
        assert!(!live.is_inside());
    }

    #[test]
    fn out_at_the_same_instant_as_in_is_a_zero_minute_pair() {
        let report = settle(&[check_in("2026-10-01 09:00"), check_out("2026-10-01 09:00")], &morning());
        assert_eq!(report.pairs, vec![pair("2026-10-01 09:00", "2026-10-01 09:00", None, 0, false)]);
        assert_eq!(report.unpaired, vec![]);
        assert_eq!(report.total_minutes, 0);
    }

    #[test]
    fn simultaneous_scans_keep_their_input_order() {
        // Out listed first at the same instant: it has nothing to close, then In opens.
        let report = settle(&[check_out("2026-10-01 09:00"), check_in("2026-10-01 09:00")], &morning());
        assert_eq!(report.pairs, vec![]);
        assert_eq!(
            report.unpaired,
            vec![
                unpaired("2026-10-01 09:00", Direction::Out, UnpairedReason::OutWithoutIn),
                unpaired("2026-10-01 09:00", Direction::In, UnpairedReason::MissingOut),
            ]
        );
    }

    #[test]
    fn seconds_are_floored_to_whole_minutes() {
        let report = settle(&[check_in("2026-10-01 09:00:00"), check_out("2026-10-01 09:00:59")], &morning());
        assert_eq!(
            report.pairs,
            vec![pair(
                "2026-10-01 09:00:00",
                "2026-10-01 09:00:59",
                Some(("2026-10-01 09:00:00", "2026-10-01 09:00:59")),
                0,
                false,
            )]
        );
        assert_eq!(report.total_minutes, 0);
        assert_eq!(report.per_day, vec![]);

        let almost_three =
            ScanFact { at: sh("2026-10-01 09:02:59") + Duration::milliseconds(999), direction: Direction::Out };
        let report = settle(&[check_in("2026-10-01 09:00:00"), almost_three], &morning());
        assert_eq!(report.total_minutes, 2);
    }

    #[test]
    fn custom_policy() {
        let policy =
            MinutesPolicy { early_grace: Duration::minutes(15), late_grace: Duration::zero(), max_pairs_per_day: 1 };
        let report = derive_minutes(
            &[
                check_in("2026-10-01 07:30"),
                check_out("2026-10-01 09:00"),
                check_in("2026-10-01 10:00"),
                check_out("2026-10-01 11:00"),
            ],
            &morning(),
            &policy,
            None,
        );
        assert_eq!(
            report.pairs,
            vec![
                pair("2026-10-01 07:30", "2026-10-01 09:00", Some(("2026-10-01 07:45", "2026-10-01 09:00")), 75, false,),
                pair("2026-10-01 10:00", "2026-10-01 11:00", None, 0, true),
            ]
        );
        assert_eq!(report.total_minutes, 75);
        assert_eq!(report.per_day, vec![day_minutes("2026-10-01", 75)]);
    }

    #[test]
    fn negative_graces_are_treated_as_zero() {
        let policy = MinutesPolicy {
            early_grace: Duration::minutes(-60),
            late_grace: Duration::minutes(-60),
            ..MinutesPolicy::default()
        };
        let report =
            derive_minutes(&[check_in("2026-10-01 07:00"), check_out("2026-10-01 13:00")], &morning(), &policy, None);
        assert_eq!(report.pairs[0].credited_from, Some(sh("2026-10-01 08:00")));
        assert_eq!(report.pairs[0].credited_to, Some(sh("2026-10-01 12:00")));
        assert_eq!(report.total_minutes, 240);
    }

    #[test]
    fn inverted_schedule_credits_nothing() {
        let inverted = schedule("2026-10-01 12:00", "2026-10-01 08:00");
        let policy = MinutesPolicy { late_grace: Duration::zero(), ..MinutesPolicy::default() };
        let report =
            derive_minutes(&[check_in("2026-10-01 07:00"), check_out("2026-10-01 13:00")], &inverted, &policy, None);
        assert_eq!(report.pairs.len(), 1);
        assert_eq!(report.total_minutes, 0);
    }

    #[test]
    fn extreme_instants_and_graces_do_not_panic() {
        let min = DateTime::<Utc>::MIN_UTC;
        let max = DateTime::<Utc>::MAX_UTC;
        let policy =
            MinutesPolicy { early_grace: Duration::MAX, late_grace: Duration::MAX, max_pairs_per_day: u32::MAX };
        let ends_of_time = Schedule { starts_at: max, ends_at: min };
        let scans = [
            ScanFact { at: min, direction: Direction::In },
            ScanFact { at: min + Duration::minutes(2), direction: Direction::Out },
            ScanFact { at: max - Duration::minutes(3), direction: Direction::In },
            ScanFact { at: max, direction: Direction::Out },
            ScanFact { at: max, direction: Direction::In },
        ];
        let report = derive_minutes(&scans, &ends_of_time, &policy, Some(max));
        assert_eq!(report.total_minutes, 5);
        assert_eq!(report.per_day.iter().map(|d| d.minutes).sum::<u32>(), 5);
        assert_eq!(report.open_since, Some(max));

        let settled = derive_minutes(&scans, &ends_of_time, &MinutesPolicy::default(), None);
        assert_eq!(settled.total_minutes, 0);
    }

    #[test]
    fn wire_format_uses_snake_case() {
        let scan =
            UnpairedScan { at: sh("2026-10-01 08:00"), direction: Direction::In, reason: UnpairedReason::OutWithoutIn };
        let json = serde_json::to_value(scan).expect("serialisable");
        assert_eq!(
            json,
            serde_json::json!({
                "at": "2026-10-01T08:00:00+08:00",
                "direction": "in",
                "reason": "out_without_in",
            })
        );
        let report = settle(&[check_in("2026-10-01 08:00"), check_out("2026-10-01 09:00")], &morning());
        let json = serde_json::to_value(&report).expect("serialisable");
        assert_eq!(json["per_day"], serde_json::json!([{ "day": "2026-10-01", "minutes": 60 }]));
        assert_eq!(json["open_since"], serde_json::Value::Null);
    }

    /// The live summary agrees with a full derivation, with and without `now`, for every
    /// sequence of up to six scans over two local days (times and directions drawn from a
    /// fixed pseudo-random sequence, so a failure can be replayed), with limits that bite.
    #[test]
    fn live_minutes_agree_with_a_full_derivation() {
        let schedule = Schedule { starts_at: sh("2026-10-01 08:00"), ends_at: sh("2026-10-02 12:00") };
        let policies = [MinutesPolicy::default(), MinutesPolicy { max_pairs_per_day: 1, ..MinutesPolicy::default() }];
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move |bound: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % bound
        };
        let first = sh("2026-10-01 06:00");
        for case in 0..20_000 {
            let len = next(7);
            let scans: Vec<ScanFact> = (0..len)
                .map(|_| ScanFact {
                    // Within two days, on the minute or not, ties likely.
                    at: first + Duration::seconds(i64::try_from(next(40) * 3_600 + next(3) * 20).expect("small")),
                    direction: if next(2) == 0 { Direction::In } else { Direction::Out },
                })
                .collect();
            let now = first + Duration::minutes(i64::try_from(next(48 * 60)).expect("small"));
            for policy in &policies {
                let live = LiveMinutes::derive(&scans, &schedule, policy);
                let with_now = derive_minutes(&scans, &schedule, policy, Some(now));
                let settled = derive_minutes(&scans, &schedule, policy, None);
                let context = format!("case {case}: {scans:?} at {now}");
                assert_eq!(live.so_far(now), with_now.total_minutes, "{context}");
                assert_eq!(live.credited(), settled.total_minutes, "{context}");
                assert_eq!(live.open_since(), with_now.open_since, "{context}");
                assert_eq!(live.arrived(), !with_now.pairs.is_empty(), "{context}");
            }
        }
    }
}

//! A running tally of one volunteer's scans at one activity: what a live board and a
//! scan's receipt need, kept in a fixed size however many scans there are.

use chrono::{DateTime, Datelike as _, NaiveDate, Utc};

use super::{CreditWindow, Direction, MinutesPolicy, ScanFact, Schedule, local_day, whole_minutes};

/// What a live view and a scan's receipt need of one volunteer's scans: the same figures
/// as [`derive_minutes`](super::derive_minutes) with and without `now`, folded one scan at
/// a time, so that neither pairing every scan again nor keeping them is needed.
///
/// A live board asks for every volunteer of an activity once a second; of those, only the
/// volunteers who scanned since have anything new to derive, and for the rest only an open
/// session's credit moves with the clock. The scan path keeps one of these per volunteer
/// and activity in the presence cache and folds each accepted scan into it: before, it kept
/// every scan and paired them all again for each receipt, so a scan cost more the more the
/// volunteer had scanned (BENCHMARKS.md, "Where a scan's instructions go").
///
/// Rules 1 to 6 make the fold exact for scans taken in time order: the open session is
/// always the last one; what the closed pairs earn depends on the credit window and on how
/// many pairs checked in the same local day before them, and check-in days only move
/// forward, so the latest such day and its count are all the daily limit needs.
///
/// A tally is derived under one schedule and policy; [`LiveMinutes::fits`] says whether it
/// still applies after the activity was edited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiveMinutes {
    /// How many scans are folded in: the next accepted scan's number is one more.
    scans: u32,
    /// The latest scan's time.
    last_at: Option<DateTime<Utc>>,
    /// Minutes of the closed pairs: [`derive_minutes`](super::derive_minutes) without `now`.
    credited: u32,
    /// How many pairs are closed.
    pairs: u32,
    /// The local day of the latest closed pair's check-in, and how many closed pairs
    /// checked in on that day.
    last_pair_day: Option<(NaiveDate, u32)>,
    /// The check-in still open after the latest scan.
    open: Option<DateTime<Utc>>,
    window: CreditWindow,
    max_pairs_per_day: u32,
}

impl LiveMinutes {
    /// Nothing scanned yet, under `schedule` and `policy`.
    #[must_use]
    pub fn empty(schedule: &Schedule, policy: &MinutesPolicy) -> Self {
        Self {
            scans: 0,
            last_at: None,
            credited: 0,
            pairs: 0,
            last_pair_day: None,
            open: None,
            window: CreditWindow::new(schedule, policy),
            max_pairs_per_day: policy.max_pairs_per_day,
        }
    }

    /// Derives the tally of `scans`, in any order (rule 1: sorted by time, ties kept in
    /// their order).
    #[must_use]
    pub fn derive(scans: &[ScanFact], schedule: &Schedule, policy: &MinutesPolicy) -> Self {
        let mut ordered: Vec<&ScanFact> = scans.iter().collect();
        ordered.sort_by_key(|scan| scan.at); // stable
        let mut tally = Self::empty(schedule, policy);
        for scan in ordered {
            tally.fold(*scan);
        }
        tally
    }

    /// This tally with one more scan, which must not be earlier than any scan folded in
    /// (`None` if it is: the tally cannot place it, and the scans must be derived again).
    /// The scan path only accepts a scan later than the volunteer's last.
    #[must_use]
    pub fn followed_by(&self, scan: ScanFact) -> Option<Self> {
        if self.last_at.is_some_and(|last| scan.at < last) {
            return None;
        }
        let mut next = *self;
        next.fold(scan);
        Some(next)
    }

    /// Rules 2 to 7 for one scan in time order.
    fn fold(&mut self, scan: ScanFact) {
        match (scan.direction, self.open) {
            (Direction::In, None) => self.open = Some(scan.at),
            // A forgotten check-out on an earlier day: that check-in earns nothing. On the
            // same day, a repeated check-in: the earlier one stands.
            (Direction::In, Some(open_at)) => {
                if local_day(scan.at) > local_day(open_at) {
                    self.open = Some(scan.at);
                }
            }
            (Direction::Out, Some(open_at)) => {
                let excess = self.count_pair_on(local_day(open_at));
                let minutes = if excess {
                    0
                } else {
                    self.window.clip(open_at, scan.at).map_or(0, |(from, to)| whole_minutes(from, to))
                };
                self.credited = self.credited.saturating_add(minutes);
                self.pairs = self.pairs.saturating_add(1);
                self.open = None;
            }
            (Direction::Out, None) => {}
        }
        self.scans = self.scans.saturating_add(1);
        self.last_at = self.last_at.max(Some(scan.at));
    }

    /// Counts a closed pair checked in on `day`; whether it is beyond the day's limit.
    fn count_pair_on(&mut self, day: NaiveDate) -> bool {
        let count = self.pairs_on(day).saturating_add(1);
        self.last_pair_day = Some((day, count));
        count > self.max_pairs_per_day
    }

    /// Closed pairs checked in on `day`, which is never before the latest one's day.
    fn pairs_on(&self, day: NaiveDate) -> u32 {
        match self.last_pair_day {
            Some((last, count)) if last == day => count,
            _ => 0,
        }
    }

    /// Whether this tally was derived under `schedule` and `policy` (to the microsecond,
    /// the precision it is kept in).
    #[must_use]
    pub fn fits(&self, schedule: &Schedule, policy: &MinutesPolicy) -> bool {
        let window = CreditWindow::new(schedule, policy);
        micros(window.from) == micros(self.window.from)
            && micros(window.to) == micros(self.window.to)
            && policy.max_pairs_per_day == self.max_pairs_per_day
    }

    /// How many scans are folded in.
    #[must_use]
    pub fn scans(&self) -> u32 {
        self.scans
    }

    /// The latest scan's time.
    #[must_use]
    pub fn last_at(&self) -> Option<DateTime<Utc>> {
        self.last_at
    }

    /// Check-in of the open session: [`MinutesReport::open_since`](super::MinutesReport::open_since) with `now`.
    #[must_use]
    pub fn open_since(&self) -> Option<DateTime<Utc>> {
        self.open
    }

    /// Whether the volunteer has any pair with `now`: an open session counts.
    #[must_use]
    pub fn arrived(&self) -> bool {
        self.pairs > 0 || self.open.is_some()
    }

    /// How many pairs there are with `now`, an open session counting as one:
    /// `derive_minutes(.., Some(now)).pairs.len()`.
    #[must_use]
    pub fn pairs_so_far(&self) -> u32 {
        self.pairs.saturating_add(u32::from(self.open.is_some()))
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
            Some(since) if self.pairs_on(local_day(since)).saturating_add(1) <= self.max_pairs_per_day => {
                self.window.clip(since, now).map_or(0, |(from, to)| whole_minutes(from, to))
            }
            _ => 0,
        };
        self.credited.saturating_add(open)
    }

    /// Compact text form, for a cache shared between instances. It starts with the number
    /// of scans, so that a cache can keep the fuller of two tallies without reading the
    /// rest: `scans:last:credited:pairs:day:on_day:open:from:to:max`, instants in
    /// microseconds since the epoch, days as days since 1 January of year 1, an absent
    /// value empty.
    #[must_use]
    pub fn encode(&self) -> String {
        // Written digit by digit (itoa), not with `format!`: every accepted scan encodes
        // its tally, and the formatting machinery cost about 5 000 instructions of a scan's
        // 207 000 (BENCHMARKS.md, "Where a scan's instructions go").
        fn put(out: &mut String, digits: &mut itoa::Buffer, value: Option<i64>, last: bool) {
            if let Some(value) = value {
                out.push_str(digits.format(value));
            }
            if !last {
                out.push(':');
            }
        }
        let mut out = String::with_capacity(96);
        let digits = &mut itoa::Buffer::new();
        let (day, on_day) = match self.last_pair_day {
            Some((day, count)) => (Some(i64::from(day.num_days_from_ce())), count),
            None => (None, 0),
        };
        put(&mut out, digits, Some(i64::from(self.scans)), false);
        put(&mut out, digits, self.last_at.map(micros), false);
        put(&mut out, digits, Some(i64::from(self.credited)), false);
        put(&mut out, digits, Some(i64::from(self.pairs)), false);
        put(&mut out, digits, day, false);
        put(&mut out, digits, Some(i64::from(on_day)), false);
        put(&mut out, digits, self.open.map(micros), false);
        put(&mut out, digits, Some(micros(self.window.from)), false);
        put(&mut out, digits, Some(micros(self.window.to)), false);
        put(&mut out, digits, Some(i64::from(self.max_pairs_per_day)), true);
        out
    }

    /// Parses [`LiveMinutes::encode`]'s form.
    #[must_use]
    pub fn decode(text: &str) -> Option<Self> {
        let mut parts = text.split(':');
        let mut next = || parts.next();
        let instant = |s: &str| -> Option<Option<DateTime<Utc>>> {
            if s.is_empty() { Some(None) } else { DateTime::from_timestamp_micros(s.parse().ok()?).map(Some) }
        };
        let scans = next()?.parse().ok()?;
        let last_at = instant(next()?)?;
        let credited = next()?.parse().ok()?;
        let pairs = next()?.parse().ok()?;
        let day = next()?;
        let on_day: u32 = next()?.parse().ok()?;
        let last_pair_day = if day.is_empty() {
            None
        } else {
            Some((NaiveDate::from_num_days_from_ce_opt(day.parse().ok()?)?, on_day))
        };
        let open = instant(next()?)?;
        let from = instant(next()?)??;
        let to = instant(next()?)??;
        let max_pairs_per_day = next()?.parse().ok()?;
        if next().is_some() {
            return None;
        }
        Some(Self {
            scans,
            last_at,
            credited,
            pairs,
            last_pair_day,
            open,
            window: CreditWindow { from, to },
            max_pairs_per_day,
        })
    }
}

/// Microseconds since the epoch (the whole of chrono's range fits in them).
fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

//! When the rules must run over a whole activity again before its review is shown.
//!
//! Every page of a review, and the recorder's count of open flags, used to read every scan
//! of the activity and run every rule first. For an activity of 20 000 volunteers that is
//! hundreds of milliseconds of reading and rules per page (BENCHMARKS.md) to find, almost
//! always, the flags the previous page's pass already stored. A pass is skipped when the
//! one before it on this instance saw the same activity, the same settings and every scan
//! this instance has taken there since, and is younger than [`PASS_FRESH`].
//!
//! What a skipped pass can miss, and for how long: scans another instance took at the
//! activity, and scans at other activities (the overlap and travel rules), until the pass
//! is [`PASS_FRESH`] old. The per-scan rules still run as each scan arrives, on whichever
//! instance takes it, and closing and finalising always run every rule, so no activity is
//! finalised on a stale pass. The review says when its pass ran (`rules_run_at`).
//!
//! A pass that does run judges only what changed since the one before it here: each
//! activity's [`RulesBook`] is kept with the scan cursor it was read to (see
//! `review::book`). A volunteer's sessions at other activities are judged when
//! they scan here again, or when the book is read anew: after [`BOOK_IDLE`] unread, after
//! [`BOOK_LIFE`] in all, or once the activity's settings change.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::ReviewSettings;
use super::book::RulesBook;
use super::rules::ActivityFacts;
use crate::store::ScanCursor;

/// How long a pass over an activity stands on this instance while no scan is taken there.
pub const PASS_FRESH: chrono::Duration = chrono::Duration::seconds(30);

/// How long an activity's rules book is kept unread: a reviewer reading a page of flagged
/// days for minutes keeps it.
pub const BOOK_IDLE: std::time::Duration = std::time::Duration::from_secs(600);

/// How long a rules book is kept at most: how stale the judgement of volunteers' sessions
/// at other activities can grow while they do not scan here.
pub const BOOK_LIFE: std::time::Duration = std::time::Duration::from_secs(1800);

/// Per activity: scans taken on this instance, and the last pass over it.
pub(crate) struct Passes {
    activities: moka::future::Cache<i64, Arc<std::sync::Mutex<Activity>>>,
    books: moka::future::Cache<i64, Arc<tokio::sync::Mutex<Option<KeptBook>>>>,
}

/// An activity's rules book, as far as its scans were read, for the activity and settings
/// it judged under.
pub(crate) struct KeptBook {
    pub(crate) facts: ActivityFacts,
    pub(crate) settings: ReviewSettings,
    pub(crate) cursor: Option<ScanCursor>,
    pub(crate) book: RulesBook,
}

/// One activity's entry. The counter and the pass live and are evicted together: a new
/// counter can then never match an old pass.
#[derive(Debug, Default)]
struct Activity {
    /// Accepted scans this instance has committed at the activity (only ever compared).
    taken: u64,
    last: Option<Pass>,
}

#[derive(Debug, Clone, Copy)]
struct Pass {
    taken: u64,
    at: DateTime<Utc>,
    facts: ActivityFacts,
    settings: ReviewSettings,
}

/// Where an activity stood when a pass began: hand it back with [`Passes::ran`]. It holds
/// the entry itself, so a pass whose entry was evicted or forgotten meanwhile is recorded
/// where nobody reads it, never against a newer counter.
pub(crate) struct PassStart {
    entry: Arc<std::sync::Mutex<Activity>>,
    taken: u64,
}

impl Default for Passes {
    fn default() -> Self {
        Self {
            activities: moka::future::Cache::builder()
                .max_capacity(10_000)
                .time_to_idle(std::time::Duration::from_secs(3600))
                .build(),
            // A book holds a few tens of bytes per scan (a 200 000-scan activity: some
            // 20 MB), and only activities under review have one.
            books: moka::future::Cache::builder()
                .max_capacity(64)
                .time_to_idle(BOOK_IDLE)
                .time_to_live(BOOK_LIFE)
                .build(),
        }
    }
}

impl Passes {
    /// Counts a scan this instance committed at the activity. Called on the scan path: it
    /// creates nothing, since with no entry there is no pass for the scan to outdate (a
    /// pass that begins after this reads the scan, committed before it is counted).
    pub(crate) async fn scan_taken(&self, activity_id: i64) {
        if let Some(entry) = self.activities.get(&activity_id).await {
            entry.lock().unwrap_or_else(|e| e.into_inner()).taken += 1;
        }
    }

    /// When the last pass over the activity ran, if it still holds for `facts` and
    /// `settings` at `now`: no scan taken here since, younger than [`PASS_FRESH`].
    pub(crate) async fn current(
        &self,
        facts: &ActivityFacts,
        settings: &ReviewSettings,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let entry = self.activities.get(&facts.id).await?;
        let entry = entry.lock().unwrap_or_else(|e| e.into_inner());
        let last = entry.last?;
        let holds = last.taken == entry.taken
            && last.facts == *facts
            && last.settings == *settings
            && now >= last.at
            && now - last.at < PASS_FRESH;
        holds.then_some(last.at)
    }

    /// Notes where the activity stands as a pass begins (read before its scans are).
    pub(crate) async fn begin(&self, activity_id: i64) -> PassStart {
        let entry = self.activities.get_with(activity_id, async { Arc::default() }).await;
        let taken = entry.lock().unwrap_or_else(|e| e.into_inner()).taken;
        PassStart { entry, taken }
    }

    /// Records a finished pass that began at `start`.
    pub(crate) fn ran(start: PassStart, facts: ActivityFacts, settings: ReviewSettings, at: DateTime<Utc>) {
        start.entry.lock().unwrap_or_else(|e| e.into_inner()).last =
            Some(Pass { taken: start.taken, at, facts, settings });
    }

    /// Forgets the activity's last pass and its book (its settings changed here).
    pub(crate) async fn forget(&self, activity_id: i64) {
        self.activities.invalidate(&activity_id).await;
        self.books.invalidate(&activity_id).await;
    }

    /// The activity's book slot: passes over one activity take turns, and a pass takes the
    /// book out while it runs, so one that fails leaves no half-judged book behind.
    pub(crate) async fn book(&self, activity_id: i64) -> Arc<tokio::sync::Mutex<Option<KeptBook>>> {
        self.books.get_with(activity_id, async { Arc::default() }).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attendance::Schedule;
    use crate::geo::LatLng;

    fn facts(radius_m: u32) -> ActivityFacts {
        let at: DateTime<Utc> = "2026-12-05T01:00:00Z".parse().expect("time");
        ActivityFacts {
            id: 7,
            schedule: Schedule { starts_at: at, ends_at: at + chrono::Duration::hours(8) },
            venue: LatLng { lat: 25.04, lng: 102.71 },
            radius_m,
        }
    }

    #[tokio::test]
    async fn a_pass_holds_until_a_scan_a_change_or_its_age() {
        let passes = Passes::default();
        let settings = ReviewSettings::default();
        let t0: DateTime<Utc> = "2026-12-05T02:00:00Z".parse().expect("time");
        assert_eq!(passes.current(&facts(300), &settings, t0).await, None, "no pass yet");

        let start = passes.begin(7).await;
        Passes::ran(start, facts(300), settings, t0);
        assert_eq!(passes.current(&facts(300), &settings, t0 + chrono::Duration::seconds(29)).await, Some(t0));
        assert_eq!(passes.current(&facts(300), &settings, t0 + PASS_FRESH).await, None, "too old");
        assert_eq!(passes.current(&facts(500), &settings, t0).await, None, "the venue's radius changed");
        let mut stricter = settings;
        stricter.params.require_location = true;
        assert_eq!(passes.current(&facts(300), &stricter, t0).await, None, "the settings changed");

        passes.scan_taken(7).await;
        assert_eq!(passes.current(&facts(300), &settings, t0).await, None, "a scan was taken since");

        // A scan taken while a pass runs makes that pass stale at once.
        let start = passes.begin(7).await;
        passes.scan_taken(7).await;
        Passes::ran(start, facts(300), settings, t0);
        assert_eq!(passes.current(&facts(300), &settings, t0).await, None);
        let start = passes.begin(7).await;
        Passes::ran(start, facts(300), settings, t0);
        assert_eq!(passes.current(&facts(300), &settings, t0).await, Some(t0));
        passes.forget(7).await;
        assert_eq!(passes.current(&facts(300), &settings, t0).await, None, "forgotten");
    }
}

//! [`Hourmark`]: the application context every HTTP handler and job works through.
//!
//! It owns the store, the cache, the QR key ring, the clock and the settings; the use
//! cases are its methods, each written in the module that owns its area (`impl Hourmark`
//! blocks in `tokens`, `activities`, `organisation`, `attendance::scan`, …). This file
//! holds only the context, its construction and its accessors. Cloning it is cheap (one
//! `Arc`).
//!
//! Hot-path lookups are layered: a small in-process cache with a short lifetime in front
//! of the shared cache (Redis or in-process), in front of the store. Bearer-token grants
//! and activities are read on every scan, so they must not cost a network round trip each
//! time; their local copies live seconds, which bounds how stale another instance's view
//! can be.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, SubsecRound, Utc};

use crate::activity::Activity;
use crate::attendance::writer::ScanWriter;
use crate::cache::{Cache, Tiered};
use crate::clock::Clock;
use crate::identity::pii::PiiVault;
use crate::identity::{TokenGrant, TokenHash};
use crate::qr::KeyRing;
use crate::settings::Settings;
use crate::store::Store;

/// How long the in-process copies of hot values live.
const LOCAL_TOKEN_TTL: StdDuration = StdDuration::from_secs(30);
const LOCAL_ACTIVITY_TTL: StdDuration = StdDuration::from_secs(5);
/// Number of per-volunteer locks that serialise one volunteer's concurrent scans.
const SCAN_STRIPES: usize = 4096;

/// The application context.
#[derive(Clone)]
pub struct Hourmark {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) cache: Arc<dyn Cache>,
    pub(crate) keys: KeyRing,
    pub(crate) vault: PiiVault,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) settings: Settings,
    pub(crate) writer: ScanWriter,
    /// Where boards' live events are published.
    pub(crate) live: crate::live::LiveEvents,
    /// Bearer tokens' grants, read on every authenticated request.
    pub(crate) grants: Tiered<TokenHash, TokenGrant>,
    /// Activity snapshots, read on every scan. Another instance's change is seen within
    /// [`LOCAL_ACTIVITY_TTL`].
    pub(crate) activities: Tiered<i64, Arc<Activity>>,
    /// What the scan path may do for each volunteer (see `crate::privacy`).
    pub(crate) permissions: Tiered<i64, crate::identity::consent::ScanPermission>,
    /// Activities' review settings, read by the scan path's per-scan rules. Another
    /// instance's change is seen within [`LOCAL_ACTIVITY_TTL`].
    pub(crate) review_settings: moka::future::Cache<i64, crate::review::ReviewSettings>,
    /// When the rules last ran over each activity here (see `crate::review::passes`).
    pub(crate) review_passes: crate::review::passes::Passes,
    /// Coalesces concurrent presence loads of one activity on this instance.
    pub(crate) presence_loads: moka::future::Cache<i64, ()>,
    pub(crate) scan_stripes: Box<[tokio::sync::Mutex<()>]>,
    /// Volunteers refused by the scan rate limit in its current window, here.
    pub(crate) scans_refused: crate::ratelimit::Refused,
    /// Each watched activity's board snapshot, shared by its boards on this instance.
    pub(crate) board_snapshots: crate::attendance::board::BoardSnapshots,
    /// Per activity that admits no walk-ins, who has an approved sign-up (`None`: anyone
    /// may check in). See `Hourmark::walk_in_refusal`.
    pub(crate) walk_ins: moka::future::Cache<i64, Arc<crate::signups::Admission>>,
    /// The public board's rendered answers, kept for `settings.public_board_fresh`.
    pub(crate) public_board: crate::publicity::BoardCache,
}

impl std::fmt::Debug for Hourmark {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hourmark")
            .field("store", &self.inner.store)
            .field("cache", &self.inner.cache)
            .field("keys", &self.inner.keys)
            .field("settings", &self.inner.settings)
            .finish_non_exhaustive()
    }
}

impl Hourmark {
    /// Builds the context and starts the scan writer on the current runtime.
    pub fn new(
        store: Arc<dyn Store>,
        cache: Arc<dyn Cache>,
        keys: KeyRing,
        vault: PiiVault,
        clock: Arc<dyn Clock>,
        settings: Settings,
        live: crate::live::LiveEvents,
    ) -> Self {
        let writer = ScanWriter::spawn(store.clone(), settings.scan_batch_max, settings.scan_batches_in_flight);
        let inner = Inner {
            store,
            cache,
            keys,
            vault,
            clock,
            writer,
            live,
            grants: Tiered::new("token grant", crate::tokens::grant_key, 100_000, LOCAL_TOKEN_TTL),
            activities: Tiered::new("activity", |id| format!("activity:{id}"), 10_000, LOCAL_ACTIVITY_TTL),
            permissions: Tiered::new(
                "scan permission",
                |id| format!("permission:{id}"),
                100_000,
                crate::privacy::LOCAL_PERMISSION_TTL,
            ),
            review_settings: moka::future::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(LOCAL_ACTIVITY_TTL)
                .build(),
            review_passes: crate::review::passes::Passes::default(),
            presence_loads: moka::future::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(StdDuration::from_secs(5))
                .build(),
            scan_stripes: (0..SCAN_STRIPES).map(|_| tokio::sync::Mutex::new(())).collect(),
            scans_refused: crate::ratelimit::Refused::default(),
            board_snapshots: crate::attendance::board::BoardSnapshots::default(),
            walk_ins: moka::future::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(crate::signups::WALK_IN_RULE_FRESH)
                .build(),
            public_board: crate::publicity::BoardCache::new(settings.public_board_fresh),
            settings,
        };
        let hourmark = Self { inner: Arc::new(inner) };
        hourmark.follow_admission_changes();
        hourmark
    }

    /// The context without keeping it alive: for background tasks that end with it.
    pub(crate) fn downgrade(&self) -> std::sync::Weak<Inner> {
        Arc::downgrade(&self.inner)
    }

    pub(crate) fn inner(&self) -> &Inner {
        &self.inner
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// The cache.
    pub(crate) fn cache(&self) -> &Arc<dyn Cache> {
        &self.inner.cache
    }

    /// The personal-data vault.
    pub(crate) fn vault(&self) -> &PiiVault {
        &self.inner.vault
    }

    /// The current time by the injected clock, to the millisecond: what both stores keep
    /// exactly, so an answer never shows a time the database would round.
    pub fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now().trunc_subsecs(3)
    }
}

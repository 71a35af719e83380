//! Live events: what boards are pushed as scans and flags happen.
//!
//! The store stays the truth; an event only says "this changed", with enough detail for a
//! board to show it at once. A board that missed events (it lagged, it reconnected, Redis
//! blinked) is told to resync and fetches its snapshot again through the API.
//!
//! Publishing never waits for anyone: the scan path hands an event to a bounded queue
//! (Redis) or a broadcast channel (in-process) and moves on; a full queue drops the event,
//! and a board that falls behind its broadcast channel gets a resync instead of the events
//! it lost.
//!
//! **Only watched activities cost anything.** A scan for an activity nobody is watching is
//! not serialised, not sent and not parsed anywhere: that is nearly every scan of a large
//! event, and fanning every one of them out to every instance cost the scan path a 25-fold
//! p99 at 8 000 scans/s (BENCHMARKS.md). With Redis, each activity has its own channel
//! `<prefix>:live:<activity>`; an instance subscribes to it only while one of its boards
//! shows that activity, and the activities watched anywhere are kept in the sorted set
//! `<prefix>:live:watched` (score: when the watch lapses unless refreshed). Every instance
//! reads that set every few seconds, and a board opening anywhere is announced at once on
//! `<prefix>:live:watching`, so a scan made after a board said `ready` is published.
//!
//! ```text
//! scan at A ─► commit ─► watched? ─► queue ─► PUBLISH <prefix>:live:<activity> ─► Redis
//!                          │ no: nothing                                          │ (instances
//!                                                                                 ▼  with a board)
//!        board on B ◄─ SSE ◄─ broadcast of the activity on B ◄─ subscriber task on B
//! ```
//!
//! Without Redis, events go straight to this instance's broadcast channel of the activity,
//! when it has one.
//!
//! **One message is for the instances themselves, not for boards**: an activity's
//! admission rule changed (it was cancelled, or who may check in there changed). The scan
//! path keeps that rule per instance for seconds (`crate::signups::WALK_IN_RULE_FRESH`), so
//! the instance that makes the change publishes the activity's id on
//! `<prefix>:live:admission`, awaiting Redis's acknowledgement before it answers, and every
//! instance (each subscribed to that channel from start-up, like the announcements) drops
//! its copy when it hears it. Pub/sub is not a queue: an instance whose subscription dropped
//! may have missed some, so after resubscribing it drops every copy, as boards resync.
//!
//! ```text
//! cancel at A ─► commit ─► PUBLISH <prefix>:live:admission <id> ─► Redis ─► answer 200
//!                                                                    │
//!             B's copy of the rule dropped ◄─ subscriber task on B ◄─┘
//! ```
//!
//! **A board's cost does not grow with the scan rate.** Scans are not sent one by one: an
//! instance gathers the scans of a watched activity for [`GATHER`] and sends one `scans`
//! event saying how many arrived and left and which was the newest. A board needs no more
//! (it refetches its snapshot on any event, at most once a second), and at 8 000 scans/s
//! with fifty boards open, one event per scan meant 400 000 writes a second to boards and
//! the scan path fell behind (BENCHMARKS.md). Now it is at most four events a second per
//! activity and instance, whatever the rate; the price is up to [`GATHER`] more delay.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::attendance::Direction;
use crate::error::CoreError;

/// How long an instance gathers an activity's scans into one `scans` event: well inside
/// the two seconds a board has to show a scan, and few enough events that fifty boards
/// cost the scan path nothing measurable.
pub const GATHER: Duration = Duration::from_millis(250);
/// How many events a board may fall behind before it is told to resync.
const BOARD_BACKLOG: usize = 1024;
/// How many events may wait for Redis before new ones are dropped.
const PUBLISH_QUEUE: usize = 4096;
/// Pause before reconnecting a lost subscription.
const RECONNECT_PAUSE: Duration = Duration::from_secs(1);
/// How often an instance renews its boards' watches, reads which activities are watched
/// anywhere, and drops subscriptions no board needs any more.
const WATCH_REFRESH: Duration = Duration::from_secs(5);
/// How long a watch lasts unless renewed: several refreshes, so one slow round does not
/// make a board go quiet, and short enough that a closed board stops costing soon.
const WATCH_LEASE: Duration = Duration::from_secs(20);

/// One live event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LiveEvent {
    /// The activity it concerns (0 for a resync of every board).
    pub activity_id: i64,
    /// The event's id: the scan's id, or a fresh time-ordered id for other events.
    pub id: Uuid,
    /// What happened.
    #[serde(flatten)]
    pub change: LiveChange,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LiveChange {
    /// Accepted scans, committed since the activity's last `scans` event (gathered for up
    /// to [`GATHER`]); the event's id is the newest scan's id.
    Scans {
        /// How many scans this event stands for (at least one).
        count: u32,
        /// How many of them were arrivals (签到).
        arrivals: u32,
        /// How many of them were departures (签退).
        departures: u32,
        /// When the server took the first of them (UTC).
        #[schema(value_type = String)]
        first_at: DateTime<Utc>,
        /// The newest scan's volunteer.
        volunteer_id: i64,
        /// The newest scan's gate number.
        gate: Option<u8>,
        /// The newest scan's direction.
        direction: Direction,
        /// When the server took the newest scan (UTC).
        #[schema(value_type = String)]
        at: DateTime<Utc>,
    },
    /// New anomaly flags were raised.
    Flags {
        /// How many.
        raised: usize,
    },
    /// The activity was finalised: its sessions, minutes and no-shows are now fixed, so a
    /// board fetches its snapshot again rather than waiting for a scan that will not come.
    Finalised,
    /// The activity was cancelled: the board says so at once.
    Cancelled,
    /// Events may have been lost: fetch the snapshot again.
    Resync,
}

impl LiveEvent {
    /// Whether a board of `activity_id` should see this event.
    pub fn concerns(&self, activity_id: i64) -> bool {
        self.activity_id == activity_id || matches!(self.change, LiveChange::Resync)
    }

    /// The SSE event name.
    pub fn name(&self) -> &'static str {
        match self.change {
            LiveChange::Scans { .. } => "scans",
            LiveChange::Flags { .. } => "flags",
            LiveChange::Finalised => "finalised",
            LiveChange::Cancelled => "cancelled",
            LiveChange::Resync => "resync",
        }
    }
}

/// An event as boards receive it: serialised once, however many boards show it (fifty
/// boards on one activity would otherwise serialise every scan fifty times).
#[derive(Debug, Clone, PartialEq)]
pub struct Published {
    /// The event.
    pub event: LiveEvent,
    /// Its JSON, as sent in each board's `data`.
    pub json: Arc<str>,
}

impl Published {
    /// Serialises `event`.
    pub fn new(event: LiveEvent) -> Self {
        let json = serde_json::to_string(&event).unwrap_or_default().into();
        Self { event, json }
    }
}

/// Where events are published and watched: Redis pub/sub across instances, or this
/// process only. Cheap to clone.
#[derive(Debug, Clone)]
pub struct LiveEvents {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// This instance's boards: one broadcast channel per watched activity. An entry whose
    /// receivers are all gone is pruned on the next watch (and, with Redis, unsubscribed on
    /// the next refresh).
    boards: Mutex<HashMap<i64, broadcast::Sender<Arc<Published>>>>,
    /// Set at shutdown: open streams end, so a graceful shutdown does not wait for boards
    /// that would otherwise never hang up.
    closing: tokio::sync::watch::Sender<bool>,
    /// Scans of watched activities waiting for their activity's next `scans` event.
    gathering: Mutex<HashMap<i64, Gathered>>,
    /// How many events this instance has handed to an activity's boards: a board
    /// snapshot computed since the count last moved is still the truth, so every board of
    /// the activity here can share it.
    delivered: Mutex<HashMap<i64, u64>>,
    /// Moved by a resync: every activity's count is then out of date.
    resyncs: std::sync::atomic::AtomicU64,
    /// Admission rules changed, as heard from any instance: an activity's id, or `None`
    /// when some may have been missed (every copy is then out of date).
    admission: broadcast::Sender<Option<i64>>,
    redis: Option<RedisFanOut>,
}

/// An accepted scan, as a board hears of it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScanSeen {
    /// The scan's id.
    pub id: Uuid,
    /// The volunteer.
    pub volunteer_id: i64,
    /// The gate number.
    pub gate: Option<u8>,
    /// In or out.
    pub direction: Direction,
    /// When the server took it.
    pub at: DateTime<Utc>,
}

/// The scans of one activity gathered so far.
#[derive(Debug)]
struct Gathered {
    count: u32,
    arrivals: u32,
    departures: u32,
    first_at: DateTime<Utc>,
    newest: ScanSeen,
}

impl Gathered {
    fn new(scan: ScanSeen) -> Self {
        let mut gathered = Self { count: 0, arrivals: 0, departures: 0, first_at: scan.at, newest: scan };
        gathered.add(scan);
        gathered
    }

    fn add(&mut self, scan: ScanSeen) {
        self.count = self.count.saturating_add(1);
        match scan.direction {
            Direction::In => self.arrivals = self.arrivals.saturating_add(1),
            Direction::Out => self.departures = self.departures.saturating_add(1),
        }
        self.first_at = self.first_at.min(scan.at);
        // Scans committed in one batch may be published out of order: the newest is the
        // one the server took last.
        if (scan.at, scan.id) >= (self.newest.at, self.newest.id) {
            self.newest = scan;
        }
    }

    fn into_event(self, activity_id: i64) -> LiveEvent {
        let newest = self.newest;
        LiveEvent {
            activity_id,
            id: newest.id,
            change: LiveChange::Scans {
                count: self.count,
                arrivals: self.arrivals,
                departures: self.departures,
                first_at: self.first_at,
                volunteer_id: newest.volunteer_id,
                gate: newest.gate,
                direction: newest.direction,
                at: newest.at,
            },
        }
    }
}

/// The Redis side: events go out through `outbound` and come back through the
/// subscription, so this instance's boards see them the same way as everyone else's.
#[derive(Debug)]
struct RedisFanOut {
    channels: Channels,
    outbound: mpsc::Sender<LiveEvent>,
    /// Activities watched by a board on any instance, as last read (or announced).
    watched: RwLock<HashSet<i64>>,
    /// The subscription's command side and what it is subscribed to. The lock also orders
    /// subscribing (a board opens) against unsubscribing (the refresh finds no board left),
    /// so a board that opens while its activity is being dropped is not left deaf.
    subscription: tokio::sync::Mutex<Subscription>,
    /// For the watched set and announcements (not the event traffic).
    commands: redis::aio::ConnectionManager,
    client: redis::Client,
}

struct Subscription {
    sink: redis::aio::PubSubSink,
    activities: HashSet<i64>,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription").field("activities", &self.activities).finish_non_exhaustive()
    }
}

/// The Redis names, all under the configured prefix.
#[derive(Debug, Clone)]
struct Channels {
    prefix: String,
}

impl Channels {
    fn activity(&self, activity_id: i64) -> String {
        format!("{}:live:{activity_id}", self.prefix)
    }
    /// Where a board opening is announced (payload: the activity id).
    fn watching(&self) -> String {
        format!("{}:live:watching", self.prefix)
    }
    /// Sorted set of watched activities, scored by when each watch lapses (Unix ms).
    fn watched(&self) -> String {
        format!("{}:live:watched", self.prefix)
    }
    /// Where a change to an activity's admission rule is announced (payload: its id).
    fn admission(&self) -> String {
        format!("{}:live:admission", self.prefix)
    }
    /// The activity an event channel is for; `None` for the announcement channels.
    fn activity_of(&self, channel: &str) -> Option<i64> {
        channel.strip_prefix(&self.prefix)?.strip_prefix(":live:")?.parse().ok()
    }
}

impl LiveEvents {
    /// Events for this process only.
    pub fn in_process() -> Self {
        Self::with(None)
    }

    fn with(redis: Option<RedisFanOut>) -> Self {
        Self {
            inner: Arc::new(Inner {
                boards: Mutex::new(HashMap::new()),
                closing: tokio::sync::watch::channel(false).0,
                gathering: Mutex::new(HashMap::new()),
                delivered: Mutex::new(HashMap::new()),
                resyncs: std::sync::atomic::AtomicU64::new(0),
                admission: broadcast::channel(ADMISSION_BACKLOG).0,
                redis,
            }),
        }
    }

    /// Events fanned out through Redis pub/sub, one channel per watched activity.
    pub async fn redis(url: &str, prefix: &str) -> Result<Self, CoreError> {
        let client = redis::Client::open(url).map_err(cache_error)?;
        let channels = Channels { prefix: prefix.to_owned() };
        let mut pubsub = client.get_async_pubsub().await.map_err(cache_error)?;
        pubsub.subscribe(channels.watching()).await.map_err(cache_error)?;
        pubsub.subscribe(channels.admission()).await.map_err(cache_error)?;
        let (sink, stream) = pubsub.split();
        let commands = redis::aio::ConnectionManager::new(client.clone()).await.map_err(cache_error)?;
        let (outbound, queue) = mpsc::channel(PUBLISH_QUEUE);
        tokio::spawn(publish(commands.clone(), channels.clone(), queue));
        let live = Self::with(Some(RedisFanOut {
            channels,
            outbound,
            watched: RwLock::new(HashSet::new()),
            subscription: tokio::sync::Mutex::new(Subscription { sink, activities: HashSet::new() }),
            commands,
            client,
        }));
        live.refresh_watches().await;
        // The tasks hold only a weak reference, so they end with the last clone.
        tokio::spawn(receive(Arc::downgrade(&live.inner), stream));
        tokio::spawn(refresh(Arc::downgrade(&live.inner)));
        Ok(live)
    }

    /// Publishes without waiting, and only if a board somewhere watches the activity: a
    /// full queue drops the event (boards resync on their next snapshot).
    pub fn publish(&self, event: LiveEvent) {
        if self.publishes(event.activity_id) {
            // Scans gathered so far go first, so a board hears of a scan before of the
            // flag it raised.
            self.inner.send_gathered(event.activity_id);
            self.inner.send(event);
        }
    }

    /// Publishes an accepted scan, if a board somewhere watches its activity: gathered with
    /// the activity's other scans into one `scans` event sent [`GATHER`] after the first.
    /// Never waits (the scan path calls it after each commit). Needs a Tokio runtime.
    pub fn publish_scan(&self, activity_id: i64, scan: ScanSeen) {
        if !self.publishes(activity_id) {
            return;
        }
        let first = {
            let mut gathering = self.inner.gathering.lock().unwrap_or_else(|e| e.into_inner());
            match gathering.entry(activity_id) {
                std::collections::hash_map::Entry::Occupied(mut gathered) => {
                    gathered.get_mut().add(scan);
                    false
                }
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert(Gathered::new(scan));
                    true
                }
            }
        };
        if first {
            let inner = Arc::downgrade(&self.inner);
            tokio::spawn(async move {
                tokio::time::sleep(GATHER).await;
                if let Some(inner) = inner.upgrade() {
                    inner.send_gathered(activity_id);
                }
            });
        }
    }

    /// The events of one activity from now on (this instance's and, with Redis, every
    /// other's). With Redis, returns once subscribed and announced, so an event published
    /// anywhere after this returns reaches the receiver.
    pub async fn watch(&self, activity_id: i64) -> Result<broadcast::Receiver<Arc<Published>>, CoreError> {
        let receiver = {
            let mut boards = self.inner.boards.lock().unwrap_or_else(|e| e.into_inner());
            boards.retain(|id, sender| *id == activity_id || sender.receiver_count() > 0);
            boards.entry(activity_id).or_insert_with(|| broadcast::channel(BOARD_BACKLOG).0).subscribe()
        };
        if let Some(redis) = &self.inner.redis {
            {
                let mut subscription = redis.subscription.lock().await;
                if !subscription.activities.contains(&activity_id) {
                    subscription.sink.subscribe(redis.channels.activity(activity_id)).await.map_err(cache_error)?;
                    subscription.activities.insert(activity_id);
                }
            }
            redis.watched.write().unwrap_or_else(|e| e.into_inner()).insert(activity_id);
            let mut commands = redis.commands.clone();
            let lapses = lease_end();
            redis::pipe()
                .zadd(redis.channels.watched(), activity_id, lapses)
                .ignore()
                .publish(redis.channels.watching(), activity_id)
                .ignore()
                .query_async::<()>(&mut commands)
                .await
                .map_err(cache_error)?;
        }
        Ok(receiver)
    }

    /// Whether a board of `activity_id` streams from this instance now (so this instance
    /// hears of the activity's events).
    pub fn watched_here(&self, activity_id: i64) -> bool {
        let boards = self.inner.boards.lock().unwrap_or_else(|e| e.into_inner());
        boards.get(&activity_id).is_some_and(|sender| sender.receiver_count() > 0)
    }

    /// Where this instance's boards of `activity_id` stand: it changes whenever an event
    /// about the activity (or a resync) reaches them. Read it before computing a snapshot;
    /// while it has not changed, the snapshot holds everything the boards have heard of.
    pub fn delivered(&self, activity_id: i64) -> (u64, u64) {
        let count = self.inner.delivered.lock().unwrap_or_else(|e| e.into_inner()).get(&activity_id).copied();
        (self.inner.resyncs.load(std::sync::atomic::Ordering::SeqCst), count.unwrap_or(0))
    }

    /// Whether this instance publishes the activity's events: in-process, while it has a
    /// board of it; with Redis, while a board of it is open on any instance (as far as this
    /// instance has heard: an announcement takes one Redis delivery to arrive).
    pub fn publishes(&self, activity_id: i64) -> bool {
        match &self.inner.redis {
            Some(redis) => redis.watched.read().unwrap_or_else(|e| e.into_inner()).contains(&activity_id),
            None => self.watched_here(activity_id),
        }
    }

    /// Tells every instance (this one included) that an activity's admission rule changed,
    /// so each drops its copy. With Redis, returns once Redis has answered the `PUBLISH`,
    /// by which time it has queued the message to every subscribed instance: the message
    /// is on its way to them before the change's own answer is, and so, in practice, ahead
    /// of any request made after it. A failure is logged: the copies then lapse on their
    /// own. Without Redis there is no other instance to tell.
    pub async fn announce_admission_change(&self, activity_id: i64) {
        let _ = self.inner.admission.send(Some(activity_id));
        let Some(redis) = &self.inner.redis else { return };
        let mut commands = redis.commands.clone();
        let sent = tokio::time::timeout(
            ANNOUNCE_TIMEOUT,
            redis::cmd("PUBLISH").arg(redis.channels.admission()).arg(activity_id).query_async::<i64>(&mut commands),
        )
        .await;
        match sent {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::warn!(error = %e, activity_id, "could not announce an admission change; other instances follow when their copy lapses")
            }
            Err(_) => tracing::warn!(
                activity_id,
                "announcing an admission change timed out; other instances follow when their copy lapses"
            ),
        }
    }

    /// Admission changes from now on, from every instance: an activity's id, or `None`
    /// when some may have been missed (drop every copy).
    pub fn admission_changes(&self) -> broadcast::Receiver<Option<i64>> {
        self.inner.admission.subscribe()
    }

    /// Ends every open stream (at shutdown).
    pub fn close(&self) {
        self.inner.closing.send_replace(true);
    }

    /// Completes when [`LiveEvents::close`] has been called.
    pub fn closed(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut closing = self.inner.closing.subscribe();
        async move {
            let _ = closing.wait_for(|closing| *closing).await;
        }
    }

    /// Renews this instance's watches, forgets activities no board shows any more, and
    /// reads which activities are watched anywhere.
    async fn refresh_watches(&self) {
        self.inner.refresh_watches().await;
    }
}

impl Inner {
    /// Sends an event on: to Redis, or straight to this instance's boards.
    fn send(&self, event: LiveEvent) {
        match &self.redis {
            Some(redis) => {
                if redis.outbound.try_send(event).is_err() {
                    tracing::warn!("live event queue full or closed; event dropped");
                }
            }
            None => self.deliver(Published::new(event)),
        }
    }

    /// Sends the activity's gathered scans as one event.
    fn send_gathered(&self, activity_id: i64) {
        let gathered = self.gathering.lock().unwrap_or_else(|e| e.into_inner()).remove(&activity_id);
        if let Some(gathered) = gathered {
            self.send(gathered.into_event(activity_id));
        }
    }

    /// Hands an event to this instance's boards of its activity (every board for a resync).
    fn deliver(&self, published: Published) {
        // Counted before the boards hear of it: a board refetching its snapshot after the
        // event never gets one computed before it.
        if matches!(published.event.change, LiveChange::Resync) {
            self.resyncs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        } else {
            let mut delivered = self.delivered.lock().unwrap_or_else(|e| e.into_inner());
            *delivered.entry(published.event.activity_id).or_default() += 1;
        }
        let published = Arc::new(published);
        let boards = self.boards.lock().unwrap_or_else(|e| e.into_inner());
        if matches!(published.event.change, LiveChange::Resync) {
            for sender in boards.values() {
                let _ = sender.send(published.clone());
            }
        } else if let Some(sender) = boards.get(&published.event.activity_id) {
            let _ = sender.send(published);
        }
    }

    /// Activities this instance has a board open for.
    fn watching(&self) -> HashSet<i64> {
        let boards = self.boards.lock().unwrap_or_else(|e| e.into_inner());
        boards.iter().filter(|(_, sender)| sender.receiver_count() > 0).map(|(id, _)| *id).collect()
    }

    async fn refresh_watches(&self) {
        let Some(redis) = &self.redis else { return };
        {
            let mut subscription = redis.subscription.lock().await;
            // Read under the lock: a board opening now either counts here or subscribes
            // after this (see `RedisFanOut::subscription`).
            let watching = self.watching();
            let idle: Vec<i64> = subscription.activities.difference(&watching).copied().collect();
            for activity_id in idle {
                if let Err(e) = subscription.sink.unsubscribe(redis.channels.activity(activity_id)).await {
                    tracing::warn!(error = %e, "could not drop an idle live subscription");
                    break;
                }
                subscription.activities.remove(&activity_id);
            }
        }
        let watching = self.watching();
        let now = Utc::now().timestamp_millis();
        let mut pipe = redis::pipe();
        let key = redis.channels.watched();
        for activity_id in &watching {
            pipe.zadd(&key, activity_id, lease_end()).ignore();
        }
        pipe.zrembyscore(&key, "-inf", now).ignore().zrangebyscore(&key, now, "+inf");
        let mut commands = redis.commands.clone();
        match pipe.query_async::<(Vec<i64>,)>(&mut commands).await {
            Ok((anywhere,)) => {
                let mut watched: HashSet<i64> = anywhere.into_iter().collect();
                watched.extend(watching);
                *redis.watched.write().unwrap_or_else(|e| e.into_inner()) = watched;
            }
            // Keep the last known set: publishing a little too much beats going quiet.
            Err(e) => tracing::warn!(error = %e, "could not refresh the watched activities"),
        }
    }
}

/// When a watch made now lapses (Unix ms).
fn lease_end() -> i64 {
    (Utc::now() + WATCH_LEASE).timestamp_millis()
}

/// Opens Redis pub/sub if a URL is given, in-process events otherwise.
pub async fn connect(redis_url: Option<&str>, prefix: &str) -> Result<LiveEvents, CoreError> {
    match redis_url {
        Some(url) => LiveEvents::redis(url, prefix).await,
        None => Ok(LiveEvents::in_process()),
    }
}

fn cache_error(e: redis::RedisError) -> CoreError {
    CoreError::Cache(e.to_string())
}

/// Most events sent to Redis in one pipeline.
const PUBLISH_BATCH: usize = 256;
/// How many admission changes may wait for an instance to act on them before it is told
/// it missed some (and drops every copy).
const ADMISSION_BACKLOG: usize = 256;
/// The longest an admission change's announcement may hold up the request that made it:
/// Redis answers in well under a millisecond; slower means it is in trouble.
const ANNOUNCE_TIMEOUT: Duration = Duration::from_secs(1);

/// Sends queued events to Redis on its own connection; whatever queued up during one
/// round trip goes in the next, as one pipeline, so an arrival burst costs few round trips.
async fn publish(mut conn: redis::aio::ConnectionManager, channels: Channels, mut queue: mpsc::Receiver<LiveEvent>) {
    let mut batch = Vec::with_capacity(PUBLISH_BATCH);
    while queue.recv_many(&mut batch, PUBLISH_BATCH).await > 0 {
        let mut pipe = redis::pipe();
        for event in batch.drain(..) {
            if let Ok(text) = serde_json::to_string(&event) {
                pipe.publish(channels.activity(event.activity_id), text).ignore();
            }
        }
        let sent: Result<(), _> = pipe.query_async(&mut conn).await;
        if let Err(e) = sent {
            tracing::warn!(error = %e, "could not publish live events; boards resync on their next snapshot");
        }
    }
}

/// Renews watches every few seconds while the events object lives.
async fn refresh(inner: std::sync::Weak<Inner>) {
    loop {
        tokio::time::sleep(WATCH_REFRESH).await;
        let Some(inner) = inner.upgrade() else { return };
        inner.refresh_watches().await;
    }
}

/// Forwards the subscription to this instance's boards, resubscribing when the connection
/// drops; after a gap every board is told to resync.
async fn receive(inner: std::sync::Weak<Inner>, mut stream: redis::aio::PubSubStream) {
    use futures_util::StreamExt;
    loop {
        while let Some(message) = stream.next().await {
            let Some(inner) = inner.upgrade() else { return };
            let Some(redis) = &inner.redis else { return };
            let Ok(text) = message.get_payload::<String>() else { continue };
            if message.get_channel_name() == redis.channels.admission() {
                if let Ok(activity_id) = text.parse::<i64>() {
                    let _ = inner.admission.send(Some(activity_id));
                }
                continue;
            }
            match redis.channels.activity_of(message.get_channel_name()) {
                // Parsed once per instance; the text itself goes on to every board.
                Some(_) => match serde_json::from_str::<LiveEvent>(&text) {
                    Ok(event) => inner.deliver(Published { event, json: text.into() }),
                    Err(e) => tracing::warn!(error = %e, "unreadable live event"),
                },
                // A board opened somewhere: publish its activity's events from now on.
                None => {
                    if let Ok(activity_id) = text.parse::<i64>() {
                        redis.watched.write().unwrap_or_else(|e| e.into_inner()).insert(activity_id);
                    }
                }
            }
        }
        tracing::warn!("live event subscription lost; reconnecting");
        stream = loop {
            tokio::time::sleep(RECONNECT_PAUSE).await;
            let Some(inner) = inner.upgrade() else { return };
            let Some(redis) = &inner.redis else { return };
            match resubscribe(&inner, redis).await {
                Ok(stream) => break stream,
                Err(e) => tracing::warn!(error = %e, "live event subscription: still reconnecting"),
            }
        };
        if let Some(inner) = inner.upgrade() {
            inner.deliver(Published::new(LiveEvent { activity_id: 0, id: Uuid::now_v7(), change: LiveChange::Resync }));
            // Admission changes made during the gap were not heard: every copy is suspect.
            let _ = inner.admission.send(None);
        }
    }
}

/// A new subscription to the announcement channels and every activity this instance watches.
async fn resubscribe(inner: &Inner, redis: &RedisFanOut) -> Result<redis::aio::PubSubStream, redis::RedisError> {
    let mut subscription = redis.subscription.lock().await;
    let mut pubsub = redis.client.get_async_pubsub().await?;
    pubsub.subscribe(redis.channels.watching()).await?;
    pubsub.subscribe(redis.channels.admission()).await?;
    let watching = inner.watching();
    for activity_id in &watching {
        pubsub.subscribe(redis.channels.activity(*activity_id)).await?;
    }
    let (sink, stream) = pubsub.split();
    *subscription = Subscription { sink, activities: watching };
    Ok(stream)
}

#[cfg(test)]
mod tests;

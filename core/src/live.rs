//! Live events: what boards are pushed as scans and flags happen.
//!
//! The store stays the truth; an event only says "this changed", with enough detail for a
//! board to show it at once. A board that missed events (it lagged, it reconnected, Redis
//! blinked) is told to resync and fetches its snapshot again through the API.
//!
//! Publishing never waits for anyone: the scan path hands an event to a bounded queue
//! (Redis) or a broadcast channel (in-process) and moves on; a full queue drops the event,
//! and a board that falls behind the broadcast channel gets a resync instead of the
//! events it lost.
//!
//! ```text
//! scan at A ─► commit ─► publish ─► queue ─► PUBLISH <prefix>:live ─► Redis
//!                                                                     │ (every instance
//!                                                                     ▼  subscribes)
//!        board on B ◄─ SSE ◄─ broadcast on B ◄─ subscriber task on B ◄┘
//! ```
//!
//! Without Redis, events go straight to this instance's broadcast channel.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::attendance::Direction;
use crate::error::CoreError;

/// How many events a board may fall behind before it is told to resync.
const BOARD_BACKLOG: usize = 1024;
/// How many events may wait for Redis before new ones are dropped.
const PUBLISH_QUEUE: usize = 4096;
/// Pause before reconnecting a lost subscription.
const RECONNECT_PAUSE: Duration = Duration::from_secs(1);

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
    /// An accepted scan, committed.
    Scan {
        /// The volunteer.
        volunteer_id: i64,
        /// The gate number.
        gate: Option<u8>,
        /// In or out.
        direction: Direction,
        /// When the server took it (UTC).
        #[schema(value_type = String)]
        at: DateTime<Utc>,
    },
    /// New anomaly flags were raised.
    Flags {
        /// How many.
        raised: usize,
    },
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
            LiveChange::Scan { .. } => "scan",
            LiveChange::Flags { .. } => "flags",
            LiveChange::Resync => "resync",
        }
    }
}

/// Where events are published and subscribed: Redis pub/sub across instances, or this
/// process only.
#[derive(Debug, Clone)]
pub struct LiveEvents {
    local: broadcast::Sender<LiveEvent>,
    /// Set at shutdown: open streams end, so a graceful shutdown does not wait for boards
    /// that would otherwise never hang up.
    closing: std::sync::Arc<tokio::sync::watch::Sender<bool>>,
    /// With Redis, events go out through this queue and come back through the
    /// subscription, so this instance's boards see them the same way as everyone else's.
    outbound: Option<mpsc::Sender<LiveEvent>>,
}

impl LiveEvents {
    /// Events for this process only.
    pub fn in_process() -> Self {
        Self { local: broadcast::channel(BOARD_BACKLOG).0, closing: Default::default(), outbound: None }
    }

    /// Events fanned out through Redis pub/sub on the channel `<prefix>:live`. Returns once
    /// subscribed, so an event published after this returns reaches this instance too.
    pub async fn redis(url: &str, prefix: &str) -> Result<Self, CoreError> {
        let client = redis::Client::open(url).map_err(cache_error)?;
        let channel = format!("{prefix}:live");
        let (local, _) = broadcast::channel(BOARD_BACKLOG);
        let mut pubsub = client.get_async_pubsub().await.map_err(cache_error)?;
        pubsub.subscribe(&channel).await.map_err(cache_error)?;
        tokio::spawn(subscribe(client.clone(), channel.clone(), pubsub, local.clone()));
        let (outbound, queue) = mpsc::channel(PUBLISH_QUEUE);
        let publisher = redis::aio::ConnectionManager::new(client).await.map_err(cache_error)?;
        tokio::spawn(publish(publisher, channel, queue));
        Ok(Self { local, closing: Default::default(), outbound: Some(outbound) })
    }

    /// Publishes without waiting: a full queue drops the event (boards resync on their
    /// next snapshot), and no subscriber at all is fine.
    pub fn publish(&self, event: LiveEvent) {
        match &self.outbound {
            Some(queue) => {
                if queue.try_send(event).is_err() {
                    tracing::warn!("live event queue full or closed; event dropped");
                }
            }
            None => {
                let _ = self.local.send(event);
            }
        }
    }

    /// Every event from now on (this instance's and, with Redis, every other's).
    pub fn subscribe(&self) -> broadcast::Receiver<LiveEvent> {
        self.local.subscribe()
    }

    /// Ends every open stream (at shutdown).
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// Completes when [`LiveEvents::close`] has been called.
    pub fn closed(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut closing = self.closing.subscribe();
        async move {
            let _ = closing.wait_for(|closing| *closing).await;
        }
    }
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

/// Sends queued events to Redis on its own connection; whatever queued up during one
/// round trip goes in the next, as one pipeline, so an arrival burst costs few round trips.
async fn publish(mut conn: redis::aio::ConnectionManager, channel: String, mut queue: mpsc::Receiver<LiveEvent>) {
    let mut batch = Vec::with_capacity(PUBLISH_BATCH);
    while queue.recv_many(&mut batch, PUBLISH_BATCH).await > 0 {
        let mut pipe = redis::pipe();
        for event in batch.drain(..) {
            if let Ok(text) = serde_json::to_string(&event) {
                pipe.publish(&channel, text).ignore();
            }
        }
        let sent: Result<(), _> = pipe.query_async(&mut conn).await;
        if let Err(e) = sent {
            tracing::warn!(error = %e, "could not publish live events; boards resync on their next snapshot");
        }
    }
}

/// Forwards the subscription to this instance's boards, resubscribing when the connection
/// drops; after a gap every board is told to resync.
async fn subscribe(
    client: redis::Client,
    channel: String,
    mut pubsub: redis::aio::PubSub,
    local: broadcast::Sender<LiveEvent>,
) {
    use futures_util::StreamExt;
    loop {
        {
            let mut messages = pubsub.on_message();
            while let Some(message) = messages.next().await {
                let Ok(text) = message.get_payload::<String>() else { continue };
                match serde_json::from_str::<LiveEvent>(&text) {
                    Ok(event) => {
                        let _ = local.send(event);
                    }
                    Err(e) => tracing::warn!(error = %e, "unreadable live event"),
                }
            }
        }
        tracing::warn!("live event subscription lost; reconnecting");
        pubsub = loop {
            tokio::time::sleep(RECONNECT_PAUSE).await;
            let attempt = async {
                let mut p = client.get_async_pubsub().await?;
                p.subscribe(&channel).await?;
                Ok::<_, redis::RedisError>(p)
            };
            match attempt.await {
                Ok(p) => break p,
                Err(e) => tracing::warn!(error = %e, "live event subscription: still reconnecting"),
            }
        };
        let _ = local.send(LiveEvent { activity_id: 0, id: Uuid::now_v7(), change: LiveChange::Resync });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_and_resync_reaches_every_board() {
        let scan = LiveEvent {
            activity_id: 7,
            id: Uuid::now_v7(),
            change: LiveChange::Scan { volunteer_id: 3, gate: Some(1), direction: Direction::In, at: Utc::now() },
        };
        let text = serde_json::to_string(&scan).expect("serialises");
        assert!(text.contains(r#""kind":"scan""#), "{text}");
        assert_eq!(serde_json::from_str::<LiveEvent>(&text).expect("parses"), scan);
        assert!(scan.concerns(7));
        assert!(!scan.concerns(8));
        let resync = LiveEvent { activity_id: 0, id: Uuid::now_v7(), change: LiveChange::Resync };
        assert!(resync.concerns(8));
    }

    #[tokio::test]
    async fn in_process_events_reach_subscribers_and_publishing_never_waits() {
        let live = LiveEvents::in_process();
        let mut board = live.subscribe();
        // Far more than the backlog, with nobody reading: publishing still returns.
        for n in 0..(BOARD_BACKLOG as i64 * 2) {
            live.publish(LiveEvent { activity_id: n, id: Uuid::now_v7(), change: LiveChange::Flags { raised: 1 } });
        }
        // The board lagged: it learns so, then reads what is left.
        assert!(matches!(board.recv().await, Err(broadcast::error::RecvError::Lagged(_))));
        assert!(board.recv().await.is_ok());
    }
}

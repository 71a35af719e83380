//! A live board's event stream: server-sent events for one activity, fed by
//! [`hourmark_core::live`], written a burst at a time.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use hourmark_core::Hourmark;
use hourmark_http::ApiError;
use hourmark_http::extract::{Path, StaffCaller};
use hourmark_http::responses::{NotFound, Unauthenticated};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(crate) fn router() -> OpenApiRouter<Hourmark> {
    OpenApiRouter::new().routes(routes!(activity_events))
}

/// One event of the stream as OpenAPI reads `text/event-stream` (and schemathesis checks
/// it): the event's fields, not its parsed data. For the description only: the stream
/// writes its text directly.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[allow(dead_code, reason = "never built: it only describes the stream's events")]
struct BoardStreamEvent {
    /// `ready`, `scans`, `flags`, `finalised`, `cancelled` or `resync`.
    event: String,
    /// JSON: `{}` for `ready`, a `LiveEvent` for the others.
    data: String,
    /// The event's id (`LiveEvent.id`); `ready` has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
}

/// Server-sent events for an activity's board (the same people as the totals): `ready`
/// once subscribed, then `scans` for the scans accepted since the last one (gathered for
/// up to 250 ms, with how many arrived and left and the newest; its id is the newest
/// scan's), `flags` when anomaly flags are raised, `finalised` when the activity is finalised
/// (its no-shows and final minutes are then on `/board`), `cancelled` when it is cancelled;
/// `resync` when events were lost (the board then fetches
/// `/board` again, as it should on every reconnect; a request with `Last-Event-ID` gets
/// one at once). Works across instances through Redis. Streams end when the server shuts down.
#[utoipa::path(
    get, path = "/api/v1/activities/{id}/events", tag = "attendance", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Activity id")),
    responses(
        (status = 200, description = "The event stream; each `data` is a `LiveEvent` (JSON), except `ready`'s, which is `{}`", content_type = "text/event-stream", body = BoardStreamEvent),
        Unauthenticated,
        NotFound,
    )
)]
async fn activity_events(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
    headers: axum::http::HeaderMap,
) -> Result<Response, ApiError> {
    use axum::body::{Body, Bytes};
    use futures_util::StreamExt;
    use tokio::sync::broadcast::error::{RecvError, TryRecvError};

    let events = hourmark.watch_activity(&by, id).await?;
    // Counted while the stream lives: the guard travels with the stream and drops with it.
    let connected = BoardConnection::open();
    let mut opening = String::from("event: ready\ndata: {}\n\n");
    // A client that says which event it saw last (EventSource does on reconnecting) may have
    // missed some since: it is told to resync from the store straight away.
    if headers.contains_key("last-event-id") {
        write_resync(&mut opening, id);
    }
    let ready = futures_util::stream::once(async move { Ok::<_, std::convert::Infallible>(Bytes::from(opening)) });
    // Each wake-up writes every event already waiting as one chunk: under a burst a board
    // costs one write per wake-up, not one per scan.
    let live = futures_util::stream::unfold((events, connected), move |(mut events, connected)| async move {
        loop {
            let mut out = String::new();
            let mut next = events.recv().await;
            let mut closed = false;
            for _ in 0..SSE_BATCH {
                match &next {
                    Ok(published) if published.event.concerns(id) => {
                        write_event(&mut out, &published.event.id.to_string(), published.event.name(), &published.json);
                    }
                    Ok(_) => {}
                    // This board fell behind: what it missed is in the store.
                    Err(RecvError::Lagged(_)) => write_resync(&mut out, id),
                    Err(RecvError::Closed) => {
                        closed = true;
                        break;
                    }
                }
                next = match events.try_recv() {
                    Ok(published) => Ok(published),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Lagged(n)) => Err(RecvError::Lagged(n)),
                    Err(TryRecvError::Closed) => Err(RecvError::Closed),
                };
            }
            if !out.is_empty() {
                return Some((Ok(Bytes::from(out)), (events, connected)));
            }
            if closed {
                return None;
            }
        }
    });
    // A comment every 15 s keeps proxies from closing an idle stream.
    let keep_alive = futures_util::stream::unfold((), |()| async {
        tokio::time::sleep(std::time::Duration::from_secs(15)).await;
        Some((Ok(Bytes::from_static(b":\n\n")), ()))
    });
    let stream = futures_util::stream::select(ready.chain(live), keep_alive).take_until(hourmark.live_streams_closed());
    let mut response = Body::from_stream(stream).into_response();
    let response_headers = response.headers_mut();
    response_headers
        .insert(axum::http::header::CONTENT_TYPE, axum::http::HeaderValue::from_static("text/event-stream"));
    response_headers.insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-cache"));
    // nginx would otherwise buffer the stream.
    response_headers.insert("x-accel-buffering", axum::http::HeaderValue::from_static("no"));
    Ok(response)
}

/// Most events written to one board in one chunk.
const SSE_BATCH: usize = 256;

/// Appends one server-sent event (`data` is one line of JSON).
fn write_event(out: &mut String, id: &str, name: &str, data: &str) {
    use std::fmt::Write as _;
    let _ = write!(out, "id: {id}\nevent: {name}\ndata: {data}\n\n");
}

/// Appends a `resync` for the activity's board.
fn write_resync(out: &mut String, activity_id: i64) {
    let event = hourmark_core::live::LiveEvent {
        activity_id,
        id: uuid::Uuid::now_v7(),
        change: hourmark_core::live::LiveChange::Resync,
    };
    write_event(out, &event.id.to_string(), event.name(), &serde_json::to_string(&event).unwrap_or_default());
}

/// One open live-board stream, counted in [`hourmark_core::metrics::LIVE_BOARDS`].
struct BoardConnection;

impl BoardConnection {
    fn open() -> Self {
        metrics::gauge!(hourmark_core::metrics::LIVE_BOARDS).increment(1.0);
        Self
    }
}

impl Drop for BoardConnection {
    fn drop(&mut self) {
        metrics::gauge!(hourmark_core::metrics::LIVE_BOARDS).decrement(1.0);
    }
}

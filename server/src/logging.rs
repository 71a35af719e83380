//! Logs: the subscriber `main` installs (text or JSON lines), and the request id that
//! ties one request's lines together.
//!
//! Every request runs inside a `request` span carrying `request_id`, the method and the
//! route *template* (`/S/{code}`, never the concrete path: paths carry QR codes, invite
//! tokens and certificate numbers). The id is the caller's `x-request-id` when it is
//! well-formed (a proxy's, so its log and ours join up), otherwise a fresh one; either way
//! it is sent back in `x-request-id`, so a volunteer's or an operator's report can name it.
//!
//! What is never logged: request paths, query strings, headers and bodies, so no bearer
//! token, cookie, QR code, one-time code, name, phone or ID number reaches a log line
//! (`tests/it/logs.rs` drives all of them at debug level and checks).

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, Method};
use tower::{Layer, Service};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::config::LogFormat;

/// The header a request id travels in, both ways.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Longest incoming request id kept; a longer one is replaced.
const MAX_REQUEST_ID_LEN: usize = 64;

/// Installs the process's log subscriber: `filter` (`RUST_LOG` overrides it), in
/// `format`, written to `writer`. Fails if one is already installed.
pub fn init<W>(filter: &str, format: LogFormat, writer: W) -> anyhow::Result<()>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(quiet_about_credentials(filter)));
    // Colours only for a person at a terminal (`main` logs to standard output): a journal
    // or a log file would keep the escape codes, and writing them cost every request's
    // span a little (BENCHMARKS.md, "Where a scan's instructions go").
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer).with_ansi(ansi);
    let installed = match format {
        LogFormat::Text => builder.try_init(),
        // Span fields are flattened into `span` (the innermost, the request) and `spans`,
        // so a collector finds `span.request_id` on every line of a request.
        LogFormat::Json => builder.json().with_current_span(true).with_span_list(false).try_init(),
    };
    installed.map_err(|e| anyhow::anyhow!("cannot install the log subscriber: {e}"))
}

/// `filter`, with the passkey library held at `info` unless the filter names it: at
/// debug level it prints each credential's id and public key, which identify a staff
/// member. `RUST_LOG` is taken as given, for whoever really needs that.
fn quiet_about_credentials(filter: &str) -> String {
    if filter.contains("webauthn") {
        filter.to_owned()
    } else {
        format!("{filter},webauthn_rs_core=info,webauthn_rs=info")
    }
}

/// The caller's request id if it is well-formed: 1–64 characters among letters, digits,
/// `-`, `_`, `.`, `:`, `/`, `+`, `=` (UUIDs, trace ids, base64). Anything else (too long,
/// spaces, control characters that could forge log lines) is replaced, not echoed.
fn well_formed(value: &HeaderValue) -> Option<&str> {
    let text = value.to_str().ok()?;
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '/' | '+' | '=');
    (!text.is_empty() && text.len() <= MAX_REQUEST_ID_LEN && text.chars().all(allowed)).then_some(text)
}

/// The request's id: the caller's if well-formed, else a fresh one, put back into the
/// request (handlers that want it see the cleaned id, not what the caller sent) and
/// returned for the answer.
pub(crate) fn take_request_id(request: &mut Request) -> HeaderValue {
    let header = match request.headers().get(REQUEST_ID_HEADER).filter(|v| well_formed(v).is_some()) {
        Some(theirs) => theirs.clone(),
        None => fresh_id(),
    };
    request.headers_mut().insert(REQUEST_ID_HEADER, header.clone());
    header
}

/// The request's span. An error-level span is enabled whatever the filter, so even a
/// `warn` line of the request carries its id; the span itself prints nothing. Its `route`
/// is filled in by [`RecordRouteLayer`] once the router has matched one.
pub(crate) fn request_span(id: &HeaderValue, method: &Method) -> tracing::Span {
    let id = id.to_str().unwrap_or("invalid");
    tracing::error_span!("request", request_id = %id, method = %method, route = tracing::field::Empty)
}

/// Names the matched route's template (`unmatched` for a fallback) in the current
/// request span. Applied with `Router::layer`, so it runs inside the router, where the
/// match is known, and under the span, which the edge enters around the router.
#[derive(Debug, Clone, Copy, Default)]
pub struct RecordRouteLayer;

impl<S> Layer<S> for RecordRouteLayer {
    type Service = RecordRoute<S>;

    fn layer(&self, inner: S) -> RecordRoute<S> {
        RecordRoute { inner }
    }
}

/// See [`RecordRouteLayer`].
#[derive(Debug, Clone)]
pub struct RecordRoute<S> {
    inner: S,
}

impl<S: Service<Request>> Service<Request> for RecordRoute<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> S::Future {
        let route = request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str);
        tracing::Span::current().record("route", route);
        self.inner.call(request)
    }
}

/// A request id of our own: 32 hex characters (the length of nginx's `$request_id`), a
/// random 64-bit prefix drawn once per process and a counter, so that ids never repeat
/// within a process and differ between instances. A UUID per request cost a system call
/// for its random bits on every request (BENCHMARKS.md, "What the request id costs").
fn fresh_id() -> HeaderValue {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};
    static PREFIX: OnceLock<u64> = OnceLock::new();
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let prefix = *PREFIX.get_or_init(|| uuid::Uuid::new_v4().as_u64_pair().0);
    let n = COUNT.fetch_add(1, Ordering::Relaxed);
    let mut text = [0u8; 32];
    for (i, byte) in prefix.to_be_bytes().iter().chain(n.to_be_bytes().iter()).enumerate() {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        text[2 * i] = HEX[usize::from(byte >> 4)];
        text[2 * i + 1] = HEX[usize::from(byte & 0x0f)];
    }
    HeaderValue::from_bytes(&text).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_short_ids_are_kept() {
        let ok = |s: &str| well_formed(&HeaderValue::from_str(s).expect("header")).is_some();
        assert!(ok("0192f1c3-7a3b-7c1e-9f00-1234567890ab"));
        assert!(ok("Root=1-67891233-abcdef012345678912345678"));
        assert!(!ok(""));
        assert!(!ok(&"a".repeat(65)));
        assert!(!ok("two words"));
        assert!(!ok("tab\there"));
        assert!(!ok("quote\"d"));
        assert!(well_formed(&HeaderValue::from_bytes(b"caf\xc3\xa9").expect("header")).is_none());
    }

    #[test]
    fn fresh_ids_are_32_hex_characters_and_never_repeat() {
        let ids: std::collections::HashSet<String> =
            (0..1000).map(|_| fresh_id().to_str().expect("ascii").to_owned()).collect();
        assert_eq!(ids.len(), 1000);
        assert!(ids.iter().all(|id| id.len() == 32 && id.bytes().all(|c| c.is_ascii_hexdigit())));
        assert!(ids.iter().all(|id| well_formed(&HeaderValue::from_str(id).expect("header")).is_some()));
    }
}

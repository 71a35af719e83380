//! The volunteer-facing HTTP API: what the WeChat mini program (and the web page that
//! stands in for it) calls. Registration and scanning live here.
//!
//! This crate also holds the HTTP plumbing both surfaces share — problem+json errors
//! ([`problem`]) and extractors that answer bad input with stable codes ([`extract`]) —
//! so that the staff API in `hourmark-server` speaks exactly the same error language.

pub mod extract;
mod me_page;
mod my_data;
mod offline_page;
pub mod problem;
mod routes;
pub mod sessions;

use hourmark_core::Hourmark;
use utoipa_axum::router::OpenApiRouter;

pub use problem::ApiError;

/// Largest request body any endpoint accepts. A scan is a few hundred bytes; anything
/// near this is a mistake or an attack.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// The mini-program routes, under `/mp/v1`, with their OpenAPI description.
pub fn router() -> OpenApiRouter<Hourmark> {
    routes::router()
        .merge(my_data::router())
        .merge(me_page::router())
        .merge(offline_page::router())
        .merge(sessions::volunteer_router())
}

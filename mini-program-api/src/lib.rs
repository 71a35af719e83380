//! The volunteer-facing HTTP API: what the WeChat mini program (and the web page that
//! stands in for it) calls. Registration and scanning live here.
//! Its errors and extractors are `hourmark-http`'s, shared with the staff API.

mod me_page;
mod my_data;
mod offline_page;
mod routes;
pub mod sessions;

use hourmark_core::Hourmark;
use utoipa_axum::router::OpenApiRouter;

pub(crate) use hourmark_http::{extract, problem};

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

//! The API description (`/openapi.json`, generated from the handlers' annotations) and an
//! offline docs page (`/docs`, Swagger UI with its assets compiled into the binary, so it
//! works on a network with no internet).

use std::sync::Arc;

use axum::Router;
use hourmark_core::Hourmark;
use hourmark_core::error::{ErrorCode, Problem};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Hourmark",
        description = "Volunteer attendance and service records. Every error is `application/problem+json` \
                       with a stable `code` (see the `ErrorCode` schema); clients switch on `code`, never on text.",
    ),
    components(schemas(ErrorCode, Problem)),
    modifiers(&BearerAuth),
    tags(
        (name = "scans", description = "Volunteers scanning rotating codes"),
        (name = "volunteers", description = "Volunteer registration"),
        (name = "activities", description = "Activities"),
        (name = "codes", description = "The rotating QR code an organiser screen shows"),
        (name = "attendance", description = "Live attendance"),
        (name = "publicity", description = "公示: the public board, and the working-day calendar"),
        (name = "reporting", description = "Reporting register entries to civil affairs, confirmation, exports"),
        (name = "record", description = "A volunteer's record beyond hours: evaluations, complaints, training, awards"),
        (name = "review", description = "Flags raised by the anomaly rules, their resolution, and finalising"),
        (name = "organisations", description = "Recording organisations"),
        (name = "staff", description = "Staff and bootstrap"),
        (name = "passkeys", description = "Staff sign-in with passkeys: invites, sign-in, managing passkeys"),
        (name = "operations", description = "Health"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

/// Every documented route: the staff API and the mini-program API.
pub fn api_router() -> OpenApiRouter<Hourmark> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(crate::api::router())
        .merge(crate::passkeys::router())
        .merge(crate::console::router())
        .merge(crate::review::router())
        .merge(crate::record::router())
        .merge(crate::publicity::router())
        .merge(crate::reporting::router())
        .merge(hourmark_mini_program_api::sessions::staff_router())
        .merge(hourmark_mini_program_api::router())
}

/// `/openapi.json` and `/docs`.
pub fn docs_router(openapi: Arc<utoipa::openapi::OpenApi>) -> Router<Hourmark> {
    SwaggerUi::new("/docs").url("/openapi.json", openapi.as_ref().clone()).into()
}

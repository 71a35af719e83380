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
    // LiveEvent: the JSON in the live board stream's `data` fields, which the stream's own
    // schema can only name as text.
    components(schemas(ErrorCode, Problem, hourmark_core::live::LiveEvent)),
    modifiers(&BearerAuth),
    tags(
        (name = "scans", description = "Volunteers scanning rotating codes"),
        (name = "volunteers", description = "Volunteer registration"),
        (name = "activities", description = "Activities"),
        (name = "codes", description = "The rotating QR code an organiser screen shows"),
        (name = "attendance", description = "Live attendance"),
        (name = "publicity", description = "公示: the public board, and the working-day calendar"),
        (name = "reporting", description = "Reporting register entries to civil affairs, confirmation, exports"),
        (name = "exchange", description = "The national volunteer information system: exports in its import shape; roster imports"),
        (name = "record", description = "A volunteer's record beyond hours: evaluations, complaints, training, awards"),
        (name = "review", description = "Flags raised by the anomaly rules, their resolution, and finalising"),
        (name = "organisations", description = "Recording organisations"),
        (name = "staff", description = "Staff and bootstrap"),
        (name = "passkeys", description = "Staff sign-in with passkeys: invites, sign-in, managing passkeys"),
        (name = "certificates", description = "Service-record certificates (志愿服务记录证明): requests, issuing, PDF, verification"),
        (name = "signups", description = "Recruitment before the day: slots, sign-ups, approval, the waiting list"),
        (name = "operations", description = "Health, readiness, and the data inventory"),
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
        .merge(crate::board_stream::router())
        .merge(crate::passkeys::router())
        .merge(crate::console::router())
        .merge(crate::review::router())
        .merge(crate::record::router())
        .merge(crate::publicity::router())
        .merge(crate::reporting::router())
        .merge(crate::exchange::router())
        .merge(crate::time_bank::router())
        .merge(crate::stars::router())
        .merge(crate::certificates::router())
        .merge(crate::signups::router())
        .merge(crate::data_inventory::router())
        .merge(hourmark_mini_program_api::sessions::staff_router())
        .merge(hourmark_mini_program_api::router())
}

/// `/openapi.json` and `/docs`.
///
/// The description is served from its JSON, serialised once here. Handed to the docs page
/// as a document, it was kept as structs for the life of the process and serialised again
/// on every fetch: about 9 MB of the server's heap (BENCHMARKS.md, "Capacity").
pub fn docs_router(openapi: &utoipa::openapi::OpenApi) -> Router<Hourmark> {
    let json = axum::body::Bytes::from(serde_json::to_vec(openapi).unwrap_or_default());
    let description = axum::routing::get(move || {
        let json = json.clone();
        async move { ([(axum::http::header::CONTENT_TYPE, "application/json")], json) }
    });
    let docs: Router<Hourmark> =
        SwaggerUi::new("/docs").config(utoipa_swagger_ui::Config::new(["/openapi.json"])).into();
    docs.route("/openapi.json", description).layer(axum::middleware::from_fn(docs_errors_as_problems))
}

/// The docs page's file server answers a missing file with a bare 404; every other error
/// of Hourmark's is problem+json, so this one is too.
async fn docs_errors_as_problems(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let response = next.run(request).await;
    let is_problem = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    if response.status() == axum::http::StatusCode::NOT_FOUND && !is_problem {
        return hourmark_http::problem::problem_response(&Problem::new(ErrorCode::NotFound, "没有这个文件"));
    }
    response
}

/// Answers every operation can give, added to the description so each operation lists
/// them once, however its handler was annotated: `(status, code, when)`.
const SHARED_ANSWERS: &[(Shared, &str, &str, &str)] = &[
    (Shared::Every, "500", "internal", "an unexpected failure (logged)"),
    (Shared::Every, "503", "unavailable", "storage unreachable or overloaded; retry"),
    (Shared::Secured, "401", "unauthenticated", "no token, or an unknown or expired one"),
    (Shared::Secured, "403", "forbidden", "a token of the wrong kind (staff or volunteer), or a role that may not"),
    (
        Shared::SecuredChange,
        "403",
        "csrf_invalid",
        "a change through the console's session cookie without its CSRF token",
    ),
    (Shared::Parameters, "400", "invalid_parameter", "a malformed path or query parameter"),
    (Shared::Body, "400", "malformed_json", "the body is not JSON"),
    (Shared::Body, "413", "payload_too_large", "the body is over 16 KiB"),
    (Shared::Body, "415", "unsupported_media_type", "the body is not declared `application/json`"),
    (Shared::Body, "422", "invalid_body", "wrong types, missing or unknown fields, values out of range"),
    (Shared::Body, "422", "text_invalid", "a text with invisible, direction-changing or control characters"),
];

/// Answers of particular operations that the server's parts of the core add to routes
/// annotated in another crate: `(method, path, status, code, when)`. The scan and the code
/// reading refuse a revoked projector's codes (see `hourmark_core::screen_keys`).
const CONTRIBUTED_ANSWERS: &[(&str, &str, &str, &str, &str)] = &[
    ("post", "/mp/v1/scans", "422", "screen_key_revoked", "a code from a projector whose screen key was revoked"),
    (
        "get",
        "/mp/v1/codes/{token}",
        "422",
        "screen_key_revoked",
        "a code from a projector whose screen key was revoked",
    ),
];

/// Which operations a shared answer applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shared {
    Every,
    Secured,
    /// A secured operation that changes something (not GET).
    SecuredChange,
    Parameters,
    Body,
}

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

/// Completes the description: every operation documents the answers it shares with the
/// others (see [`SHARED_ANSWERS`]), merged into its own answer for the same status.
pub fn complete_error_responses(openapi: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    let Ok(mut doc) = serde_json::to_value(&openapi) else { return openapi };
    let Some(paths) = doc.get_mut("paths").and_then(serde_json::Value::as_object_mut) else { return openapi };
    for (path, item) in paths.iter_mut() {
        let path_has_parameters = path.contains('{');
        for method in METHODS {
            let Some(operation) = item.get_mut(method).and_then(serde_json::Value::as_object_mut) else { continue };
            let applies = |shared: Shared| match shared {
                Shared::Every => true,
                Shared::Secured => operation.contains_key("security"),
                Shared::SecuredChange => operation.contains_key("security") && method != "get",
                Shared::Parameters => {
                    path_has_parameters
                        || operation.get("parameters").and_then(|p| p.as_array()).is_some_and(|p| !p.is_empty())
                }
                Shared::Body => operation.contains_key("requestBody"),
            };
            let contributed = CONTRIBUTED_ANSWERS.iter().filter(|(m, p, ..)| *m == method && p == path);
            let wanted: Vec<(&str, &str, &str)> = SHARED_ANSWERS
                .iter()
                .filter(|(shared, ..)| applies(*shared))
                .map(|(_, status, code, when)| (*status, *code, *when))
                .chain(contributed.map(|(_, _, status, code, when)| (*status, *code, *when)))
                .collect();
            let responses = operation
                .entry("responses")
                .or_insert_with(|| serde_json::json!({}))
                .as_object_mut()
                .expect("responses is an object");
            for (status, code, when) in wanted {
                let mention = format!("`{code}`");
                let answer = responses.entry(status.to_string()).or_insert_with(|| {
                    serde_json::json!({
                        "description": "",
                        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
                    })
                });
                let description = answer["description"].as_str().unwrap_or_default().to_owned();
                if !description.contains(&mention) {
                    let joined = if description.is_empty() {
                        format!("{mention} ({when})")
                    } else {
                        format!("{description}; {mention} ({when})")
                    };
                    answer["description"] = serde_json::Value::String(joined);
                }
            }
        }
    }
    serde_json::from_value(doc).unwrap_or(openapi)
}

/// Which codes each operation documents, by method, route template and status: what the
/// development check of answers ([`check_documented_answers`]) holds every problem to.
#[derive(Debug, Default)]
pub struct DocumentedAnswers {
    operations: std::collections::HashMap<(String, String), Vec<(String, String)>>,
}

impl DocumentedAnswers {
    /// Indexes a finished description.
    pub fn new(openapi: &utoipa::openapi::OpenApi) -> Self {
        let mut operations = std::collections::HashMap::new();
        let doc = serde_json::to_value(openapi).unwrap_or_default();
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            for method in METHODS {
                let Some(responses) = item[method]["responses"].as_object() else { continue };
                let answers = responses
                    .iter()
                    .map(|(status, r)| (status.clone(), r["description"].as_str().unwrap_or_default().to_owned()))
                    .collect();
                operations.insert((method.to_uppercase(), path.clone()), answers);
            }
        }
        Self { operations }
    }

    /// Whether `method path` documents `code` for `status` (under that status, or its
    /// `4XX`/`5XX` range). Routes the description does not list are not held to it.
    pub fn documents(&self, method: &str, path: &str, status: u16, code: &str) -> bool {
        let Some(answers) = self.operations.get(&(method.to_owned(), path.to_owned())) else { return true };
        let (exact, range) = (status.to_string(), format!("{}XX", status / 100));
        let mention = format!("`{code}`");
        answers.iter().any(|(s, description)| (*s == exact || *s == range) && description.contains(&mention))
    }
}

/// Development check (`HOURMARK_CHECK_ERROR_DOCS`): a problem answer whose status and code
/// the operation does not document becomes a 500 that says so, so every test run checks
/// the description against what the server really answers.
pub async fn check_documented_answers(
    axum::extract::State(documented): axum::extract::State<Arc<DocumentedAnswers>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let method = request.method().as_str().to_owned();
    let route = request.extensions().get::<axum::extract::MatchedPath>().map(|m| m.as_str().to_owned());
    let response = next.run(request).await;
    let is_problem = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    let Some(route) = route.filter(|_| is_problem) else { return response };
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 1 << 20).await else {
        return axum::response::IntoResponse::into_response(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
    };
    let code = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v["code"].as_str().map(str::to_owned))
        .unwrap_or_default();
    if documented.documents(&method, &route, parts.status.as_u16(), &code) {
        return axum::response::Response::from_parts(parts, axum::body::Body::from(bytes));
    }
    tracing::error!(%method, %route, status = parts.status.as_u16(), code, "answer not in the API description");
    hourmark_http::problem::problem_response(&Problem::new(
        ErrorCode::Internal,
        format!("undocumented answer: {method} {route} {} `{code}`", parts.status.as_u16()),
    ))
}

//! Extractors that turn bad input into stable problem codes instead of axum's plain-text
//! rejections, and that authenticate the caller.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use axum::http::{StatusCode, header, request::Parts};
use hourmark_core::Hourmark;
use hourmark_core::error::ErrorCode;
use hourmark_core::identity::Principal;
use serde::de::DeserializeOwned;

use crate::problem::ApiError;

/// A JSON body. Not JSON → `malformed_json`; wrong types, missing or unknown fields →
/// `invalid_body` (naming the field); too big → `payload_too_large`; wrong media type →
/// `unsupported_media_type`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = axum::response::Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        // The usual case, a plain `application/json` body, is read with serde_json alone:
        // axum's extractor deserialises through serde_path_to_error to name the failing
        // field, which costs about twenty allocations on every body, good or bad
        // (BENCHMARKS.md, "Where a scan's instructions go"). Only a body that fails is read
        // again that way, for the field's name; the answer is the same as before.
        let outcome = if plainly_json(req.headers()) {
            match axum::body::Bytes::from_request(req, state).await {
                Ok(bytes) => match serde_json::from_slice::<T>(&bytes) {
                    Ok(value) => return Ok(Self(value)),
                    Err(_) => axum::Json::<T>::from_bytes(&bytes).map(|axum::Json(value)| value),
                },
                Err(rejection) => Err(JsonRejection::BytesRejection(rejection)),
            }
        } else {
            axum::Json::<T>::from_request(req, state).await.map(|axum::Json(value)| value)
        };
        match outcome {
            Ok(value) => Ok(Self(value)),
            Err(JsonRejection::JsonDataError(e)) => Err(body_error(&e.body_text()).into_response()),
            Err(rejection) => Err(axum::response::IntoResponse::into_response(json_rejection(rejection))),
        }
    }
}

/// `Content-Type: application/json`, alone or with `charset=utf-8`, in any case: what
/// phones and browsers send, and a narrower test than axum's (which parses any parameters
/// and also takes `application/…+json`), so the fast path in [`Json`] never accepts a body
/// that axum's own extractor would refuse; anything else takes axum's path.
fn plainly_json(headers: &axum::http::HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let (media, parameters) = value.split_once(';').unwrap_or((value, ""));
    let parameters = parameters.trim();
    media.trim().eq_ignore_ascii_case("application/json")
        && (parameters.is_empty() || parameters.eq_ignore_ascii_case("charset=utf-8"))
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::JsonDataError(e) => ApiError::refused(ErrorCode::InvalidBody, body_error(&e.body_text()).detail),
        JsonRejection::JsonSyntaxError(_) => ApiError::refused(ErrorCode::MalformedJson, "请求内容不是有效的 JSON"),
        JsonRejection::MissingJsonContentType(_) => ApiError::code(ErrorCode::UnsupportedMediaType),
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::refused(ErrorCode::PayloadTooLarge, "请求内容超过 16 KiB")
        }
        other => ApiError::refused(ErrorCode::MalformedJson, format!("无法读取请求内容：{}", other.body_text())),
    }
}

/// What is wrong with a body that is JSON but not the expected shape, for the client to act
/// on: the field (as a path such as `location.lat` or `skills[0]`), and for an enumeration
/// the values it accepts. The offending value itself is never echoed (see [`without_values`]).
#[derive(Debug, Clone, PartialEq, Eq)]
struct BodyError {
    field: Option<String>,
    allowed: Vec<String>,
    detail: String,
}

impl BodyError {
    /// The `invalid_body` problem, with `field` and `allowed` for the client to act on.
    fn into_response(self) -> axum::response::Response {
        let mut problem = hourmark_core::error::Problem::new(ErrorCode::InvalidBody, self.detail);
        problem.field = self.field;
        problem.allowed = (!self.allowed.is_empty()).then_some(self.allowed);
        crate::problem::problem_response(&problem)
    }
}

/// Reads serde's message (as axum words it, with serde_path_to_error's path) into a
/// [`BodyError`] with a Chinese sentence.
fn body_error(message: &str) -> BodyError {
    let message = message.strip_prefix("Failed to deserialize the JSON body into the target type: ").unwrap_or(message);
    let message = match message.rfind(" at line ") {
        Some(i) if message[i..].contains(" column ") => &message[..i],
        _ => message,
    };
    // `path: inner`, where the path has no spaces; `.` (or nothing) is the body itself.
    let (path, inner) = match message.split_once(": ") {
        Some((path, inner)) if !path.is_empty() && !path.contains(' ') => (Some(path), inner),
        _ => (None, message),
    };
    let path = path.filter(|p| *p != ".").map(str::to_owned);
    let quoted = |text: &str| -> Vec<String> {
        text.split('`').skip(1).step_by(2).filter(|s| !s.is_empty()).map(str::to_owned).collect()
    };
    let (head, expected) = match inner.split_once(", expected ") {
        Some((head, expected)) => (head, Some(expected)),
        None => (inner, None),
    };
    let at = |field: &Option<String>| field.as_deref().map_or_else(String::new, |f| format!("字段 {f} "));
    if head.starts_with("unknown variant") {
        let allowed = expected.map(quoted).unwrap_or_default();
        let detail = format!("请求内容有误：{}的取值不在允许范围内，可选值：{}", at(&path), allowed.join("、"));
        return BodyError { field: path, allowed, detail };
    }
    if let Some(rest) = head.strip_prefix("unknown field ") {
        // A field name is the client's own key, never a person's value: say it.
        let name = quoted(rest).into_iter().next().unwrap_or_default();
        let field = Some(join_path(path.as_deref(), name));
        let allowed = expected.map(quoted).unwrap_or_default();
        let detail = if allowed.is_empty() {
            format!("请求内容有误：不接受字段 {}", field.as_deref().unwrap_or_default())
        } else {
            format!(
                "请求内容有误：不接受字段 {}，可用字段：{}",
                field.as_deref().unwrap_or_default(),
                allowed.join("、")
            )
        };
        return BodyError { field, allowed, detail };
    }
    if let Some(rest) = head.strip_prefix("missing field ") {
        let name = quoted(rest).into_iter().next().unwrap_or_default();
        let field = Some(join_path(path.as_deref(), name));
        let detail = format!("请求内容有误：缺少字段 {}", field.as_deref().unwrap_or_default());
        return BodyError { field, allowed: Vec::new(), detail };
    }
    if head.starts_with("invalid type") || head.starts_with("invalid value") || head.starts_with("invalid length") {
        let wanted = expected.map(|e| format!("（应为 {}）", without_values(e))).unwrap_or_default();
        let detail = format!("请求内容有误：{}的类型或取值无效{wanted}", at(&path));
        return BodyError { field: path, allowed: Vec::new(), detail };
    }
    let detail = match &path {
        Some(p) => format!("请求内容有误：字段 {p}：{}", without_values(inner)),
        None => format!("请求内容有误：{}", without_values(inner)),
    };
    BodyError { field: path, allowed: Vec::new(), detail }
}

/// A field's path: serde_path_to_error puts an unknown field in the path already, a missing
/// one not (it never got there).
fn join_path(path: Option<&str>, name: String) -> String {
    match path {
        Some(p) if p == name || p.ends_with(&format!(".{name}")) => p.to_owned(),
        Some(p) => format!("{p}.{name}"),
        None => name,
    }
}

/// serde's messages quote the offending value (`invalid type: integer `13800001234``):
/// the field path and the expectation say enough, and a value may be an ID or phone number
/// that must not travel back through gateways' logs.
fn without_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut quoted = false;
    for c in message.chars() {
        match c {
            '`' if !quoted => {
                quoted = true;
                out.push('…');
            }
            '`' => quoted = false,
            _ if quoted => {}
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use axum::extract::FromRequest;
    use axum::response::IntoResponse;

    #[derive(Debug, PartialEq, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Probe {
        name: String,
        #[serde(default)]
        place: Option<Place>,
    }

    #[derive(Debug, PartialEq, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Place {
        lat: f64,
    }

    /// An answer reduced to what a client sees: the value, or the status and body.
    async fn seen(outcome: Result<Probe, axum::response::Response>) -> Result<Probe, (u16, Vec<u8>)> {
        match outcome {
            Ok(value) => Ok(value),
            Err(response) => {
                let status = response.status().as_u16();
                let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body");
                Err((status, body.to_vec()))
            }
        }
    }

    fn request(content_type: Option<&str>, body: &str) -> axum::extract::Request {
        let mut builder = axum::http::Request::builder().method("POST").uri("/");
        if let Some(content_type) = content_type {
            builder = builder.header("content-type", content_type);
        }
        builder.body(axum::body::Body::from(body.to_owned())).expect("request")
    }

    /// The fast path reads plain JSON bodies without serde_path_to_error; every answer,
    /// good or bad, must be what axum's extractor alone gave.
    #[tokio::test]
    async fn the_fast_path_answers_exactly_as_axums_extractor() {
        let bodies = [
            r#"{"name":"甲"}"#,
            r#"{"name":"甲","place":{"lat":31.2}}"#,
            r#" {"name":"甲"} "#,
            r#"{"name":"甲"} trailing"#,
            r#"{"name":"甲""#,
            "",
            r#"{"place":{"lat":31.2}}"#,
            r#"{"name":"甲","extra":1}"#,
            r#"{"name":"甲","place":{"lat":"north"}}"#,
            r#"{"name":13800001234}"#,
            "[]",
        ];
        let types = [
            Some("application/json"),
            Some("application/json; charset=utf-8"),
            Some("APPLICATION/JSON;CHARSET=UTF-8"),
            Some("application/json; charset=latin1"),
            Some("application/problem+json"),
            Some("text/plain"),
            Some("application/json; =broken"),
            None,
        ];
        for content_type in types {
            for body in bodies {
                let fast =
                    seen(super::Json::<Probe>::from_request(request(content_type, body), &()).await.map(|j| j.0)).await;
                let reference = seen(match axum::Json::<Probe>::from_request(request(content_type, body), &()).await {
                    Ok(axum::Json(value)) => Ok(value),
                    Err(axum::extract::rejection::JsonRejection::JsonDataError(e)) => {
                        Err(super::body_error(&e.body_text()).into_response())
                    }
                    Err(rejection) => Err(super::json_rejection(rejection).into_response()),
                })
                .await;
                assert_eq!(fast, reference, "{content_type:?} {body:?}");
            }
        }
        assert!(super::plainly_json(request(Some("application/json"), "").headers()));
        assert!(!super::plainly_json(request(Some("application/json; charset=latin1"), "").headers()));
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        let a: std::net::IpAddr = "2001:db8:1:2:aaaa::1".parse().expect("ip");
        let b: std::net::IpAddr = "2001:db8:1:2:bbbb::9".parse().expect("ip");
        let other: std::net::IpAddr = "2001:db8:1:3::1".parse().expect("ip");
        assert_eq!(super::rate_subject(a), super::rate_subject(b));
        assert_ne!(super::rate_subject(a), super::rate_subject(other));
        let v4: std::net::IpAddr = "203.0.113.7".parse().expect("ip");
        assert_eq!(super::rate_subject(v4), v4);
        let mapped: std::net::IpAddr = "::ffff:203.0.113.7".parse().expect("ip");
        assert_eq!(super::rate_subject(mapped), v4);
    }

    #[test]
    fn a_wrong_enumeration_value_names_the_field_and_the_values_allowed() {
        let e = super::body_error(
            "Failed to deserialize the JSON body into the target type: category: unknown variant `13800001234`, \
             expected one of `environment`, `elderly` at line 1 column 42",
        );
        assert_eq!(e.field.as_deref(), Some("category"));
        assert_eq!(e.allowed, ["environment", "elderly"]);
        assert!(e.detail.contains("category") && e.detail.contains("environment、elderly"), "{}", e.detail);
        assert!(!e.detail.contains("13800001234"), "the value given is never echoed");
    }

    #[test]
    fn unknown_and_missing_fields_are_named_with_their_path() {
        let e = super::body_error(
            "location.alt: unknown field `alt`, expected one of `lat`, `lng`, `accuracy_m` at line 1 column 9",
        );
        assert_eq!((e.field.as_deref(), e.allowed.len()), (Some("location.alt"), 3));
        let e = super::body_error("location: missing field `lat` at line 1 column 9");
        assert_eq!(e.field.as_deref(), Some("location.lat"));
        let e = super::body_error(
            "Failed to deserialize the JSON body into the target type: missing field `nonce` at line 1 column 2",
        );
        assert_eq!(e.field.as_deref(), Some("nonce"));
        assert!(e.detail.contains("缺少字段 nonce"), "{}", e.detail);
        let e = super::body_error(".: missing field `nonce` at line 1 column 2");
        assert_eq!(e.field.as_deref(), Some("nonce"));
    }

    #[test]
    fn a_wrong_type_names_the_field_and_what_it_should_be_but_not_the_value() {
        let e = super::body_error("phone: invalid type: integer `13800001234`, expected a string at line 1 column 30");
        assert_eq!(e.field.as_deref(), Some("phone"));
        assert!(e.detail.contains("phone") && e.detail.contains("a string"), "{}", e.detail);
        assert!(!e.detail.contains("13800001234"));
        let e = super::body_error("skills[1]: invalid type: null, expected a string at line 1 column 30");
        assert_eq!(e.field.as_deref(), Some("skills[1]"));
    }

    #[test]
    fn quoted_values_are_dropped_from_messages() {
        let m = "phone: invalid type: integer `13800001234`, expected a string at line 1 column 30";
        assert_eq!(super::without_values(m), "phone: invalid type: integer …, expected a string at line 1 column 30");
        assert_eq!(super::without_values("unknown field `extra`"), "unknown field …");
    }
}

/// A query string, with `invalid_parameter` for bad values.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| Self(v))
            .map_err(|e: QueryRejection| ApiError::refused(ErrorCode::InvalidParameter, e.body_text()))
    }
}

/// A path parameter, with `invalid_parameter` for values that do not parse.
#[derive(Debug, Clone, Copy, Default)]
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| Self(v))
            .map_err(|e| ApiError::refused(ErrorCode::InvalidParameter, e.body_text()))
    }
}

/// The client's address, for rate limits: the connection's peer, or the last
/// `X-Forwarded-For` hop when the server is configured to trust its proxy (only the last:
/// what comes before it is whatever the client claimed). IPv6 addresses are cut to their
/// /64, since one subscriber is usually given a whole /64.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddress(pub std::net::IpAddr);

/// An address as rate limits count it: IPv4 as is, IPv6 by its /64 prefix.
fn rate_subject(ip: std::net::IpAddr) -> std::net::IpAddr {
    match ip {
        std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => std::net::IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                std::net::IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    }
}

impl<S> FromRequestParts<S> for ClientAddress
where
    Hourmark: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let hourmark = Hourmark::from_ref(state);
        if hourmark.settings().trust_forwarded_for
            && let Some(ip) = parts
                .headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .next_back()
                .and_then(|hop| hop.trim().parse().ok())
        {
            return Ok(Self(rate_subject(ip)));
        }
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
        Ok(Self(rate_subject(peer)))
    }
}

/// Any authenticated caller (`Authorization: Bearer hm_…`).
#[derive(Debug, Clone, Copy)]
pub struct Caller(pub Principal);

/// The bearer token's text, from the `Authorization` header.
fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let header = parts
        .headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ApiError::refused(ErrorCode::Unauthenticated, "请先登录"))?;
    header
        .to_str()
        .ok()
        .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
        .map(str::trim)
        .ok_or_else(|| ApiError::refused(ErrorCode::Unauthenticated, "Authorization 须为 Bearer 令牌"))
}

impl<S> FromRequestParts<S> for Caller
where
    Hourmark: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let hourmark = Hourmark::from_ref(state);
        Ok(Self(hourmark.authenticate(bearer(parts)?).await?))
    }
}

/// A caller who may be anonymous: `None` without an `Authorization` header; a header
/// that does not authenticate is still `unauthenticated` (a bad token is never ignored).
#[derive(Debug, Clone, Copy)]
pub struct MaybeCaller(pub Option<Principal>);

impl<S> FromRequestParts<S> for MaybeCaller
where
    Hourmark: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if !parts.headers.contains_key(header::AUTHORIZATION) {
            return Ok(Self(None));
        }
        let hourmark = Hourmark::from_ref(state);
        Ok(Self(Some(hourmark.authenticate(bearer(parts)?).await?)))
    }
}

/// The authenticated caller and the hash of the token they used: for listing and ending
/// sessions, where "this session" matters.
#[derive(Debug, Clone, Copy)]
pub struct CurrentSession {
    /// Who.
    pub principal: Principal,
    /// The hash of the token this request came with.
    pub token_hash: hourmark_core::identity::TokenHash,
}

impl<S> FromRequestParts<S> for CurrentSession
where
    Hourmark: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let hourmark = Hourmark::from_ref(state);
        let text = bearer_or_session_cookie(parts, &hourmark)?;
        let principal = hourmark.authenticate(text).await?;
        let token = hourmark_core::identity::BearerToken::from_presented(text)
            .ok_or_else(|| ApiError::code(ErrorCode::Unauthenticated))?;
        Ok(Self { principal, token_hash: token.hash() })
    }
}

/// An authenticated volunteer; staff tokens are `forbidden` here.
#[derive(Debug, Clone, Copy)]
pub struct VolunteerCaller(pub i64);

impl<S> FromRequestParts<S> for VolunteerCaller
where
    Hourmark: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Caller::from_request_parts(parts, state).await?.0 {
            Principal::Volunteer { id } => Ok(Self(id)),
            Principal::Staff { .. } => Err(ApiError::refused(ErrorCode::Forbidden, "此接口仅供志愿者使用")),
        }
    }
}

/// An authenticated staff member; volunteer tokens are `forbidden` here.
#[derive(Debug, Clone, Copy)]
pub struct StaffCaller(pub Principal);

impl<S> FromRequestParts<S> for StaffCaller
where
    Hourmark: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let hourmark = Hourmark::from_ref(state);
        let text = bearer_or_session_cookie(parts, &hourmark)?;
        match hourmark.authenticate(text).await? {
            p @ Principal::Staff { .. } => Ok(Self(p)),
            Principal::Volunteer { .. } => Err(ApiError::refused(ErrorCode::Forbidden, "此接口仅供工作人员使用")),
        }
    }
}

/// A staff caller and the token their request presented (bearer or session cookie), for
/// the operations that ask for a fresh passkey assertion made on this very session
/// ([`hourmark_core::step_up`]).
pub struct StaffSession {
    /// Who.
    pub by: Principal,
    /// The session's token as presented.
    pub token: String,
}

impl std::fmt::Debug for StaffSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaffSession").field("by", &self.by).field("token", &"<redacted>").finish()
    }
}

impl<S> FromRequestParts<S> for StaffSession
where
    Hourmark: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let hourmark = Hourmark::from_ref(state);
        let text = bearer_or_session_cookie(parts, &hourmark)?;
        match hourmark.authenticate(text).await? {
            by @ Principal::Staff { .. } => Ok(Self { by, token: text.to_owned() }),
            Principal::Volunteer { .. } => Err(ApiError::refused(ErrorCode::Forbidden, "此接口仅供工作人员使用")),
        }
    }
}

/// The cookie that carries a staff member's browser session on a plain-HTTP origin
/// (`localhost` in development, a LAN address): the same token a bearer would carry,
/// HttpOnly so page scripts never see it.
pub const STAFF_SESSION_COOKIE: &str = "hourmark_staff";

/// The same cookie behind HTTPS. The `__Host-` prefix makes the browser accept it only
/// with `Secure`, `Path=/` and no `Domain`, so a page on a sibling subdomain cannot plant
/// or shadow a session cookie for the staff origin (cookie tossing); a plain-named
/// cookie is then never read.
pub const SECURE_STAFF_SESSION_COOKIE: &str = "__Host-hourmark_staff";

/// The session cookie's name for this installation's staff origin.
pub fn staff_session_cookie_name(hourmark: &Hourmark) -> &'static str {
    if hourmark.settings().passkeys.staff_origin.scheme() == "https" {
        SECURE_STAFF_SESSION_COOKIE
    } else {
        STAFF_SESSION_COOKIE
    }
}

/// The header in which a page sends its session's CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The staff session cookie's token, if the request carries one under this
/// installation's cookie name.
pub fn staff_session_cookie<'a>(parts: &'a Parts, hourmark: &Hourmark) -> Option<&'a str> {
    let wanted = staff_session_cookie_name(hourmark);
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == wanted)
        .map(|(_, value)| value.trim())
        .filter(|value| !value.is_empty())
}

/// The token a staff request presents: the `Authorization` header when there is one
/// (API clients; a bad header is never passed over for a cookie), else the session
/// cookie. A state-changing request authenticated by the cookie must carry the session's
/// CSRF token and, when the browser names an origin, come from the staff origin; without
/// them it is `csrf_invalid` before anything is read or changed.
fn bearer_or_session_cookie<'a>(parts: &'a Parts, hourmark: &Hourmark) -> Result<&'a str, ApiError> {
    if parts.headers.contains_key(header::AUTHORIZATION) {
        return bearer(parts);
    }
    let Some(token) = staff_session_cookie(parts, hourmark) else { return bearer(parts) };
    if !parts.method.is_safe() {
        check_csrf(parts, hourmark, token)?;
    }
    Ok(token)
}

/// Refuses a cookie-authenticated state change that lacks the session's CSRF token or
/// comes from another origin than the staff pages'.
fn check_csrf(parts: &Parts, hourmark: &Hourmark, token: &str) -> Result<(), ApiError> {
    let staff_origin = hourmark.settings().passkeys.staff_origin.origin().ascii_serialization();
    if let Some(origin) = parts.headers.get(header::ORIGIN)
        && origin.to_str().ok() != Some(staff_origin.as_str())
    {
        return Err(ApiError::refused(ErrorCode::CsrfInvalid, "请求来自其他网站，已拒绝"));
    }
    let presented = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
    let valid = match (hourmark_core::identity::BearerToken::from_presented(token), presented) {
        (Some(token), Some(presented)) => hourmark_core::console::csrf_matches(&token, presented),
        _ => false,
    };
    if valid {
        Ok(())
    } else {
        Err(ApiError::refused(ErrorCode::CsrfInvalid, "请求缺少有效的防伪令牌，请刷新页面后重试"))
    }
}

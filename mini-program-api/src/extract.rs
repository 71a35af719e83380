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
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::JsonDataError(e) => {
            ApiError::refused(ErrorCode::InvalidBody, format!("请求内容有误：{}", without_values(&e.body_text())))
        }
        JsonRejection::JsonSyntaxError(_) => ApiError::refused(ErrorCode::MalformedJson, "请求内容不是有效的 JSON"),
        JsonRejection::MissingJsonContentType(_) => ApiError::code(ErrorCode::UnsupportedMediaType),
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::refused(ErrorCode::PayloadTooLarge, "请求内容超过 16 KiB")
        }
        other => ApiError::refused(ErrorCode::MalformedJson, format!("无法读取请求内容：{}", other.body_text())),
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

/// The cookie that carries a staff member's browser session: the same token a bearer
/// would carry, HttpOnly so page scripts never see it.
pub const STAFF_SESSION_COOKIE: &str = "hourmark_staff";

/// The header in which a page sends its session's CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The staff session cookie's token, if the request carries one.
pub fn staff_session_cookie(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == STAFF_SESSION_COOKIE)
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
    let Some(token) = staff_session_cookie(parts) else { return bearer(parts) };
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

//! A local stand-in for WeChat's API, scriptable from tests.
//!
//! Tests of the whole server cannot reach WeChat (and must not: codes come from real phones),
//! so they point [`WeChatConfig::base_url`] at this server instead. It speaks the endpoints
//! the client uses (and the Official Account's authorisation page, which a browser visits), with WeChat's habits: every answer is HTTP 200 with JSON, errors
//! are an `errcode`, codes are single-use, the appid and secret are checked, and only the
//! latest access token is accepted. Tests script it: which codes are valid, which errors come
//! next, how slow it is; and read its counters to check how often it was called.
//!
//! It is compiled in normal builds because other crates' end-to-end tests start it.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::config::WeChatConfig;

/// One of the endpoints the stand-in serves, for scripting faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Api {
    /// `GET /sns/jscode2session`.
    JsCode2Session,
    /// `GET /cgi-bin/token`.
    Token,
    /// `POST /wxa/business/getuserphonenumber`.
    PhoneNumber,
    /// `POST /cgi-bin/message/subscribe/send`.
    SubscribeSend,
    /// `GET /sns/oauth2/access_token` (Official Account web authorisation).
    OaAccessToken,
}

/// A subscription message the stand-in accepted, as WeChat would deliver it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMessage {
    /// The recipient's openid.
    pub touser: String,
    /// The template.
    pub template_id: String,
    /// The mini-program page it opens.
    pub page: Option<String>,
    /// Each keyword's value.
    pub data: std::collections::BTreeMap<String, String>,
}

/// A scripted misbehaviour, answered instead of the real answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// HTTP 200 with `{"errcode": N, "errmsg": …}`, like WeChat's errors (-1, 45011, 40226 …).
    Errcode(i64),
    /// This HTTP status (500 if it is not a valid status) with a plain-text body.
    HttpStatus(u16),
    /// HTTP 200 with this body, verbatim (`text/plain`): for non-JSON or malformed answers.
    Body(String),
}

/// A running stand-in, listening on `127.0.0.1` until dropped.
pub struct StandIn {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

struct Shared {
    appid: String,
    secret: String,
    script: Mutex<Script>,
    jscode2session_calls: AtomicUsize,
    token_fetches: AtomicUsize,
    phone_number_calls: AtomicUsize,
    oa_access_token_calls: AtomicUsize,
}

/// The WeChat user "holding the phone" when a page sends them to the Official Account's
/// authorisation, and what they do there.
#[derive(Clone)]
struct OaUser {
    openid: String,
    unionid: Option<String>,
    /// Refuses (or closes) the authorisation: WeChat then redirects with `state` only.
    refuses: bool,
}

/// An issued Official Account authorisation code.
struct OaGrant {
    openid: String,
    unionid: Option<String>,
    scope: String,
}

struct Login {
    openid: String,
    unionid: Option<String>,
}

struct Script {
    /// Unused login codes; a code is removed when used.
    login_codes: HashMap<String, Login>,
    /// Unused phone codes → pure phone numbers; a code is removed when used.
    phone_codes: HashMap<String, String>,
    faults: HashMap<Api, VecDeque<Fault>>,
    latency: Duration,
    /// The latest access token; `None` after `expire_access_token`.
    access_token: Option<String>,
    /// The token before it, still accepted as WeChat accepts the old token for five
    /// minutes after a new one is fetched (several instances each fetching their own must
    /// not lock each other out at once).
    previous_access_token: Option<String>,
    tokens_issued: u64,
    sessions_issued: u64,
    token_expires_in: i64,
    watermark_appid: Option<String>,
    /// Subscription messages accepted, in order.
    sent: Vec<SentMessage>,
    /// Openids that have not subscribed (answered 43101, as WeChat does).
    unsubscribed: std::collections::HashSet<String>,
    /// Who authorises at `/connect/oauth2/authorize`; none: the page answers an error.
    oa_user: Option<OaUser>,
    /// Unused Official Account codes.
    oa_codes: HashMap<String, OaGrant>,
    /// Official Account codes already exchanged (answered 40163, not 40029).
    oa_used_codes: std::collections::HashSet<String>,
    oa_codes_issued: u64,
}

impl Script {
    /// Whether `presented` is the latest access token or the one before it.
    fn accepts(&self, presented: &str) -> bool {
        [&self.access_token, &self.previous_access_token].iter().any(|t| t.as_deref() == Some(presented))
    }
}

impl StandIn {
    /// The appid the stand-in accepts.
    pub const APPID: &'static str = "wxstandin0000000";
    /// The secret the stand-in accepts.
    pub const SECRET: &'static str = "standin-app-secret";
    /// The Official Account's appid the stand-in accepts (web authorisation).
    pub const OA_APPID: &'static str = "wxstandinoa00000";
    /// The Official Account's secret the stand-in accepts.
    pub const OA_SECRET: &'static str = "standin-oa-secret";

    /// Starts a stand-in on an ephemeral port of `127.0.0.1`.
    ///
    /// # Panics
    ///
    /// If no local port can be bound; it is a test fixture, and the test cannot go on.
    /// [`StandIn::try_start`] reports the error instead.
    pub async fn start() -> StandIn {
        match Self::try_start().await {
            Ok(standin) => standin,
            Err(error) => panic!("the WeChat stand-in could not bind 127.0.0.1: {error}"),
        }
    }

    /// Starts a stand-in on an ephemeral port of `127.0.0.1`, reporting a failure to bind.
    pub async fn try_start() -> std::io::Result<StandIn> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            appid: Self::APPID.to_owned(),
            secret: Self::SECRET.to_owned(),
            script: Mutex::new(Script {
                login_codes: HashMap::new(),
                phone_codes: HashMap::new(),
                faults: HashMap::new(),
                latency: Duration::ZERO,
                access_token: None,
                previous_access_token: None,
                tokens_issued: 0,
                sessions_issued: 0,
                token_expires_in: 7200,
                watermark_appid: None,
                sent: Vec::new(),
                unsubscribed: std::collections::HashSet::new(),
                oa_user: None,
                oa_codes: HashMap::new(),
                oa_used_codes: std::collections::HashSet::new(),
                oa_codes_issued: 0,
            }),
            jscode2session_calls: AtomicUsize::new(0),
            token_fetches: AtomicUsize::new(0),
            phone_number_calls: AtomicUsize::new(0),
            oa_access_token_calls: AtomicUsize::new(0),
        });
        let router = Router::new()
            .route("/sns/jscode2session", get(jscode2session))
            .route("/cgi-bin/token", get(token))
            .route("/wxa/business/getuserphonenumber", post(phone_number))
            .route("/cgi-bin/message/subscribe/send", post(subscribe_send))
            .route("/connect/oauth2/authorize", get(oa_authorize))
            .route("/sns/oauth2/access_token", get(oa_access_token))
            .with_state(Arc::clone(&shared));
        let server = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, router).await {
                tracing::error!(%error, "the WeChat stand-in stopped");
            }
        });
        Ok(StandIn { addr, shared, server })
    }

    /// The URL to use as [`WeChatConfig::base_url`], such as `http://127.0.0.1:40123`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A configuration pointing at this stand-in with the credentials it accepts and the
    /// default timeout.
    pub fn config(&self) -> WeChatConfig {
        WeChatConfig { base_url: self.base_url(), ..WeChatConfig::new(Self::APPID, Self::SECRET) }
    }

    /// A configuration for the Official Account (web authorisation) at this stand-in.
    pub fn oa_config(&self) -> WeChatConfig {
        WeChatConfig { base_url: self.base_url(), ..WeChatConfig::new(Self::OA_APPID, Self::OA_SECRET) }
    }

    /// Makes this WeChat user the one who authorises at `/connect/oauth2/authorize`: the
    /// page redirects straight back with a fresh code, as WeChat does after a silent
    /// `snsapi_base` (or once the user taps 允许 for `snsapi_userinfo`). The code's answer
    /// carries the unionid only for `snsapi_userinfo`, as WeChat documents.
    pub fn set_oa_user(&self, openid: &str, unionid: Option<&str>) {
        let user = OaUser { openid: openid.to_owned(), unionid: unionid.map(str::to_owned), refuses: false };
        self.shared.script().oa_user = Some(user);
    }

    /// Makes the authorising user refuse: WeChat redirects back with `state` and no code.
    pub fn oa_user_refuses(&self) {
        if let Some(user) = self.shared.script().oa_user.as_mut() {
            user.refuses = true;
        }
    }

    /// Issues an Official Account code directly (as if `/connect/oauth2/authorize` had), for
    /// tests of the exchange alone.
    pub fn add_oa_code(&self, code: &str, openid: &str, unionid: Option<&str>, scope: &str) {
        let grant = OaGrant { openid: openid.to_owned(), unionid: unionid.map(str::to_owned), scope: scope.to_owned() };
        self.shared.script().oa_codes.insert(code.to_owned(), grant);
    }

    /// How many `sns/oauth2/access_token` requests arrived, faulted or not.
    pub fn oa_access_token_calls(&self) -> usize {
        self.shared.oa_access_token_calls.load(Ordering::SeqCst)
    }

    /// Makes `js_code` a valid `wx.login` code for this user, good for one use.
    pub fn add_login_code(&self, js_code: &str, openid: &str, unionid: Option<&str>) {
        let login = Login { openid: openid.to_owned(), unionid: unionid.map(str::to_owned) };
        self.shared.script().login_codes.insert(js_code.to_owned(), login);
    }

    /// Makes `phone_code` a valid `getPhoneNumber` code for a mainland-China number, good for
    /// one use. The answer has `countryCode` `"86"` and, as WeChat does for such numbers,
    /// `phoneNumber` equal to `purePhoneNumber`.
    pub fn add_phone_code(&self, phone_code: &str, pure_phone_number: &str) {
        self.shared.script().phone_codes.insert(phone_code.to_owned(), pure_phone_number.to_owned());
    }

    /// Answers the next `times` calls to `api` with `fault` (after any faults already queued).
    /// A faulted call consumes no code.
    pub fn fail_next(&self, api: Api, times: usize, fault: Fault) {
        let mut script = self.shared.script();
        let queue = script.faults.entry(api).or_default();
        queue.extend(std::iter::repeat_n(fault, times));
    }

    /// The subscription messages accepted so far, in order.
    pub fn sent_messages(&self) -> Vec<SentMessage> {
        self.shared.script().sent.clone()
    }

    /// Makes `openid` a user who has not subscribed to any template (43101).
    pub fn unsubscribe(&self, openid: &str) {
        self.shared.script().unsubscribed.insert(openid.to_owned());
    }

    /// Delays every answer by `latency` (zero to stop).
    pub fn set_latency(&self, latency: Duration) {
        self.shared.script().latency = latency;
    }

    /// Invalidates the current access token: the next phone-number call presenting it is
    /// answered with errcode 40001.
    pub fn expire_access_token(&self) {
        let mut script = self.shared.script();
        script.access_token = None;
        script.previous_access_token = None;
    }

    /// The `expires_in` of the access tokens issued from now on (7200 unless changed).
    pub fn set_token_expires_in(&self, seconds: i64) {
        self.shared.script().token_expires_in = seconds;
    }

    /// Watermarks phone numbers with this appid instead of [`StandIn::APPID`].
    pub fn set_watermark_appid(&self, appid: &str) {
        self.shared.script().watermark_appid = Some(appid.to_owned());
    }

    /// How many `jscode2session` requests arrived, faulted or not.
    pub fn jscode2session_calls(&self) -> usize {
        self.shared.jscode2session_calls.load(Ordering::SeqCst)
    }

    /// How many access-token requests arrived, faulted or not.
    pub fn token_fetches(&self) -> usize {
        self.shared.token_fetches.load(Ordering::SeqCst)
    }

    /// How many phone-number requests arrived, faulted or not.
    pub fn phone_number_calls(&self) -> usize {
        self.shared.phone_number_calls.load(Ordering::SeqCst)
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl fmt::Debug for StandIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StandIn").field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl Shared {
    /// The script; a panic elsewhere while it was locked leaves it usable.
    fn script(&self) -> MutexGuard<'_, Script> {
        self.script.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits the scripted latency, then answers with the next scripted fault, if any.
    async fn delay_or_fault(&self, api: Api) -> Option<Response> {
        let (latency, fault) = {
            let mut script = self.script();
            (script.latency, script.faults.get_mut(&api).and_then(VecDeque::pop_front))
        };
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        fault.map(fault_answer)
    }

    /// WeChat's checks of the appid and secret in a query string: the refusal, if any.
    fn refuse_credentials(&self, query: &HashMap<String, String>) -> Option<Response> {
        refuse_credentials(query, &self.appid, &self.secret)
    }
}

/// WeChat's checks of an app's appid and secret in a query string: the refusal, if any.
fn refuse_credentials(query: &HashMap<String, String>, appid: &str, secret: &str) -> Option<Response> {
    let refusal = match (query.get("appid"), query.get("secret")) {
        (None, _) => (41002, "appid missing"),
        (Some(given), _) if given != appid => (40013, "invalid appid"),
        (_, None) => (41004, "appsecret missing"),
        (_, Some(given)) if given != secret => (40125, "invalid appsecret"),
        _ => return None,
    };
    Some(wx_error(refusal.0, refusal.1))
}

fn wx_error(errcode: i64, errmsg: &str) -> Response {
    Json(json!({ "errcode": errcode, "errmsg": errmsg })).into_response()
}

fn fault_answer(fault: Fault) -> Response {
    match fault {
        Fault::Errcode(errcode) => {
            let errmsg = match errcode {
                -1 => "system error",
                40001 => "invalid credential, access_token is invalid or not latest",
                40029 => "invalid code",
                40163 => "code been used",
                40226 => "user is in high risk",
                42001 => "access_token expired",
                45011 => "api minute-quota reach limit, mustslower retry next minute",
                _ => "stand-in scripted error",
            };
            wx_error(errcode, errmsg)
        }
        Fault::HttpStatus(status) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (status, "stand-in scripted HTTP error").into_response()
        }
        Fault::Body(body) => ([(header::CONTENT_TYPE, "text/plain")], body).into_response(),
    }
}

async fn jscode2session(State(shared): State<Arc<Shared>>, Query(query): Query<HashMap<String, String>>) -> Response {
    shared.jscode2session_calls.fetch_add(1, Ordering::SeqCst);
    if let Some(fault) = shared.delay_or_fault(Api::JsCode2Session).await {
        return fault;
    }
    if let Some(refusal) = shared.refuse_credentials(&query) {
        return refusal;
    }
    if query.get("grant_type").map(String::as_str) != Some("authorization_code") {
        return wx_error(40002, "invalid grant_type");
    }
    let Some(js_code) = query.get("js_code") else {
        return wx_error(41008, "missing code");
    };
    let mut script = shared.script();
    let Some(login) = script.login_codes.remove(js_code) else {
        return wx_error(40029, "invalid code");
    };
    script.sessions_issued += 1;
    // Like WeChat, a successful answer carries no errcode, and a unionid only if there is one.
    let mut answer = json!({
        "openid": login.openid,
        "session_key": format!("standin-session-key-{}", script.sessions_issued),
    });
    if let (Some(unionid), Some(object)) = (login.unionid, answer.as_object_mut()) {
        object.insert("unionid".to_owned(), Value::String(unionid));
    }
    Json(answer).into_response()
}

async fn token(State(shared): State<Arc<Shared>>, Query(query): Query<HashMap<String, String>>) -> Response {
    shared.token_fetches.fetch_add(1, Ordering::SeqCst);
    if let Some(fault) = shared.delay_or_fault(Api::Token).await {
        return fault;
    }
    if query.get("grant_type").map(String::as_str) != Some("client_credential") {
        return wx_error(40002, "invalid grant_type");
    }
    if let Some(refusal) = shared.refuse_credentials(&query) {
        return refusal;
    }
    let mut script = shared.script();
    script.tokens_issued += 1;
    let access_token = format!("standin-access-token-{}", script.tokens_issued);
    script.previous_access_token = script.access_token.replace(access_token.clone());
    Json(json!({ "access_token": access_token, "expires_in": script.token_expires_in })).into_response()
}

async fn phone_number(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    shared.phone_number_calls.fetch_add(1, Ordering::SeqCst);
    if let Some(fault) = shared.delay_or_fault(Api::PhoneNumber).await {
        return fault;
    }
    let Some(presented) = query.get("access_token") else {
        return wx_error(41001, "access_token missing");
    };
    let code = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|body| body.get("code").and_then(Value::as_str).map(str::to_owned));
    let mut script = shared.script();
    if !script.accepts(presented) {
        return wx_error(40001, "invalid credential, access_token is invalid or not latest");
    }
    let Some(code) = code else {
        return wx_error(47001, "data format error");
    };
    let Some(pure) = script.phone_codes.remove(&code) else {
        return wx_error(40029, "invalid code");
    };
    let appid = script.watermark_appid.clone().unwrap_or_else(|| shared.appid.clone());
    Json(json!({
        "errcode": 0,
        "errmsg": "ok",
        "phone_info": {
            "phoneNumber": pure,
            "purePhoneNumber": pure,
            "countryCode": "86",
            "watermark": { "timestamp": chrono::Utc::now().timestamp(), "appid": appid },
        },
    }))
    .into_response()
}

/// `subscribeMessage.send`, as documented: the access token in the query; `touser`,
/// `template_id` and `data` (each keyword `{ "value": … }`) required; 43101 when the user
/// has not subscribed; 47003 for a malformed `data`.
async fn subscribe_send(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    if let Some(fault) = shared.delay_or_fault(Api::SubscribeSend).await {
        return fault;
    }
    let Some(presented) = query.get("access_token") else {
        return wx_error(41001, "access_token missing");
    };
    let mut script = shared.script();
    if !script.accepts(presented) {
        return wx_error(40001, "invalid credential, access_token is invalid or not latest");
    }
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return wx_error(47001, "data format error");
    };
    let text = |field: &str| body.get(field).and_then(Value::as_str).map(str::to_owned);
    let (Some(touser), Some(template_id)) = (text("touser"), text("template_id")) else {
        return wx_error(47001, "data format error");
    };
    let mut data = std::collections::BTreeMap::new();
    for (keyword, value) in body.get("data").and_then(Value::as_object).into_iter().flatten() {
        let Some(value) = value.get("value").and_then(Value::as_str) else {
            return wx_error(47003, "argument invalid! data.value invalid");
        };
        data.insert(keyword.clone(), value.to_owned());
    }
    if data.is_empty() {
        return wx_error(47003, "argument invalid! data is empty");
    }
    if script.unsubscribed.contains(&touser) {
        return wx_error(43101, "user refuse to accept the msg");
    }
    script.sent.push(SentMessage { touser, template_id, page: text("page"), data });
    Json(json!({ "errcode": 0, "errmsg": "ok" })).into_response()
}

/// The Official Account's authorisation page, as WeChat serves it at
/// `open.weixin.qq.com/connect/oauth2/authorize`: checks what WeChat checks (the appid,
/// `response_type=code`, a known scope, a redirect URI), then sends the browser straight
/// back to `redirect_uri` with `code` and `state`, or with `state` alone when the user
/// refuses. WeChat shows its own error page for a bad request; the stand-in answers 400
/// with the reason. (The `#wechat_redirect` fragment never reaches a server, so only the
/// client's tests can check it is there.)
async fn oa_authorize(State(shared): State<Arc<Shared>>, Query(query): Query<HashMap<String, String>>) -> Response {
    let bad = |reason: &'static str| (StatusCode::BAD_REQUEST, reason).into_response();
    if query.get("appid").map(String::as_str) != Some(StandIn::OA_APPID) {
        return bad("appid 参数错误");
    }
    if query.get("response_type").map(String::as_str) != Some("code") {
        return bad("response_type 参数错误");
    }
    let scope = query.get("scope").cloned().unwrap_or_default();
    if scope != "snsapi_base" && scope != "snsapi_userinfo" {
        return bad("scope 参数错误");
    }
    let Some(mut back) = query.get("redirect_uri").and_then(|uri| reqwest::Url::parse(uri).ok()) else {
        return bad("redirect_uri 参数错误");
    };
    let state = query.get("state").cloned().unwrap_or_default();
    let mut script = shared.script();
    let Some(user) = script.oa_user.clone() else {
        return bad("stand-in: no WeChat user is set to authorise");
    };
    if !user.refuses {
        script.oa_codes_issued += 1;
        let code = format!("standinoacode{:04}", script.oa_codes_issued);
        let unionid = if scope == "snsapi_userinfo" { user.unionid } else { None };
        script.oa_codes.insert(code.clone(), OaGrant { openid: user.openid, unionid, scope });
        back.query_pairs_mut().append_pair("code", &code);
    }
    back.query_pairs_mut().append_pair("state", &state);
    (StatusCode::FOUND, [(header::LOCATION, back.to_string())]).into_response()
}

/// `sns/oauth2/access_token`: the Official Account's appid and secret, `grant_type`
/// `authorization_code`, and a code from [`oa_authorize`]: 40029 for a code never issued,
/// 40163 for one already exchanged.
async fn oa_access_token(State(shared): State<Arc<Shared>>, Query(query): Query<HashMap<String, String>>) -> Response {
    shared.oa_access_token_calls.fetch_add(1, Ordering::SeqCst);
    if let Some(fault) = shared.delay_or_fault(Api::OaAccessToken).await {
        return fault;
    }
    if let Some(refusal) = refuse_credentials(&query, StandIn::OA_APPID, StandIn::OA_SECRET) {
        return refusal;
    }
    if query.get("grant_type").map(String::as_str) != Some("authorization_code") {
        return wx_error(40002, "invalid grant_type");
    }
    let Some(code) = query.get("code") else {
        return wx_error(41008, "missing code");
    };
    let mut script = shared.script();
    if script.oa_used_codes.contains(code) {
        return wx_error(40163, "code been used");
    }
    let Some(grant) = script.oa_codes.remove(code) else {
        return wx_error(40029, "invalid code");
    };
    script.oa_used_codes.insert(code.clone());
    let mut answer = json!({
        "access_token": format!("standin-oa-user-token-{code}"),
        "expires_in": 7200,
        "refresh_token": format!("standin-oa-refresh-{code}"),
        "openid": grant.openid,
        "scope": grant.scope,
    });
    if let (Some(unionid), Some(object)) = (grant.unionid, answer.as_object_mut()) {
        object.insert("unionid".to_owned(), Value::String(unionid));
    }
    Json(answer).into_response()
}

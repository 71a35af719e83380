//! Sign-in inside WeChat's own browser through the Official Account's web authorisation,
//! against the stand-in speaking WeChat's authorisation page and `sns/oauth2/access_token`:
//! a volunteer registered through the mini program is found by the unionid the two apps
//! share; a WeChat user not yet registered registers with this account bound; and every
//! bad path of the callback (forged, replayed, expired, another browser's state) is refused
//! with its stable code before WeChat is asked anything.

use std::sync::Arc;

use chrono::Duration;
use hourmark_core::wechat::standin::{Api, Fault, StandIn};
use hourmark_tests::{Backend, TestApp, TestDatabase, next_resident_id, registration};
use serde_json::{Value, json};
use uuid::Uuid;

/// A server with both the mini program and the Official Account at `standin`.
pub async fn app_with_oa(backend: Backend, standin: &StandIn) -> TestApp {
    let database = Arc::new(TestDatabase::create(backend).await);
    TestApp::spawn_with(backend, database, Uuid::new_v4().simple().to_string(), |c| point_at(c, standin)).await
}

/// Configures the mini program and the Official Account against `standin`.
pub fn point_at(c: &mut hourmark_server::config::Config, standin: &StandIn) {
    use hourmark_server::config::Secret;
    c.wechat_appid = Some(StandIn::APPID.into());
    c.wechat_secret = Some(Secret(StandIn::SECRET.into()));
    c.wechat_base_url = standin.base_url();
    c.wechat_oa_appid = Some(StandIn::OA_APPID.into());
    c.wechat_oa_secret = Some(Secret(StandIn::OA_SECRET.into()));
    c.wechat_oa_authorize_base_url = standin.base_url();
    c.wechat_oa_base_url = standin.base_url();
    c.wechat_timeout_ms = 1_000;
}

/// A browser that does not follow redirects and keeps no cookies: each step is looked at,
/// and the binder cookie is passed (or not) by hand.
fn browser() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client")
}

struct Started {
    authorize_url: String,
    cookie: String,
    set_cookie: String,
}

async fn start(app: &TestApp, scan_code: &str) -> Started {
    let response = browser()
        .post(app.url("/mp/v1/login/wechat-oa/start"))
        .json(&json!({ "code": scan_code }))
        .send()
        .await
        .expect("start");
    assert_eq!(response.status(), 200);
    let set_cookie = response.headers()["set-cookie"].to_str().expect("ascii").to_owned();
    let cookie = set_cookie.split(';').next().expect("pair").to_owned();
    let body: Value = response.json().await.expect("json");
    Started { authorize_url: body["authorize_url"].as_str().expect("url").to_owned(), cookie, set_cookie }
}

/// Visits WeChat's authorisation page: where it sends the browser back.
async fn authorise(url: &str) -> reqwest::Url {
    let response = browser().get(url).send().await.expect("authorize");
    assert_eq!(response.status(), 302, "{}", response.text().await.unwrap_or_default());
    reqwest::Url::parse(response.headers()["location"].to_str().expect("ascii")).expect("a URL")
}

fn query_value(url: &reqwest::Url, name: &str) -> Option<String> {
    url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// Calls Hourmark's callback with `query`, with or without a cookie: the status, and where
/// it sends the browser (for a 303) or the problem (otherwise).
async fn callback(app: &TestApp, query: &str, cookie: Option<&str>) -> (u16, String, Value) {
    let mut request = browser().get(app.url(&format!("/mp/v1/login/wechat-oa/callback?{query}")));
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    let response = request.send().await.expect("callback");
    let status = response.status().as_u16();
    let location =
        response.headers().get("location").map(|l| l.to_str().expect("ascii").to_owned()).unwrap_or_default();
    let content_type =
        response.headers().get("content-type").map(|v| v.to_str().expect("ascii").to_owned()).unwrap_or_default();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if status != 303 {
        assert_eq!(content_type, "application/problem+json", "{body}");
    }
    (status, location, body)
}

async fn finish(app: &TestApp, handle: &str, cookie: Option<&str>, device: &str) -> (u16, Value) {
    let mut request = browser()
        .post(app.url("/mp/v1/login/wechat-oa/finish"))
        .json(&json!({ "handle": handle, "device_id": device }));
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    let response = request.send().await.expect("finish");
    (response.status().as_u16(), response.json().await.expect("json"))
}

/// The whole trip for the stand-in's current user: start, WeChat, callback → where the
/// browser lands, and the cookie.
async fn trip(app: &TestApp, scan_code: &str) -> (String, String) {
    let started = start(app, scan_code).await;
    let back = authorise(&started.authorize_url).await;
    let (status, location, body) = callback(app, back.query().unwrap_or_default(), Some(&started.cookie)).await;
    assert_eq!(status, 303, "{body}");
    (location, started.cookie)
}

fn handle_of(location: &str) -> &str {
    location.split_once("#wechat_oa=").map(|(_, h)| h).unwrap_or_else(|| panic!("no handle in {location}"))
}

/// A volunteer registered through the mini program, whose WeChat has `unionid`, with a
/// phone bound → id.
async fn registered_through_mini_program(app: &TestApp, standin: &StandIn, unionid: &str) -> i64 {
    registered_through_mini_program_on(app, standin, unionid, Some("old-phone")).await
}

async fn registered_through_mini_program_on(
    app: &TestApp,
    standin: &StandIn,
    unionid: &str,
    device: Option<&str>,
) -> i64 {
    standin.add_login_code("mini-code", "mini-openid-zhang", Some(unionid));
    let login = app.post("/mp/v1/login/wechat", None, json!({"code": "mini-code"})).await;
    login.expect_status(200);
    let mut body = registration("张三", "13800005555", &next_resident_id());
    body["wechat_ticket"] = login.body["registration_ticket"].clone();
    if let Some(device) = device {
        body["device_id"] = json!(device);
    }
    let answer = app.post("/mp/v1/volunteers", None, body).await;
    answer.expect_status(201);
    answer.body["volunteer"]["id"].as_i64().expect("id")
}

macro_rules! with_oa {
    ($(#[$meta:meta])* async fn $name:ident($app:ident, $standin:ident) $body:block) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn run($app: TestApp, $standin: StandIn) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let standin = StandIn::start().await;
                run(app_with_oa(Backend::Sqlite, &standin).await, standin).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let standin = StandIn::start().await;
                run(app_with_oa(Backend::Postgres, &standin).await, standin).await
            }
        }
    };
}

with_oa! {
    /// The authorisation URL is WeChat's documented form; the cookie is HttpOnly, Lax and
    /// scoped to the sign-in's routes.
    async fn the_authorisation_url_and_cookie(app, standin) {
        let started = start(&app, "HM1.SCAN-CODE").await;
        let url = &started.authorize_url;
        assert!(url.starts_with(&format!("{}/connect/oauth2/authorize?appid={}&redirect_uri=", standin.base_url(), StandIn::OA_APPID)), "{url}");
        assert!(url.ends_with("#wechat_redirect"), "{url}");
        let parsed = reqwest::Url::parse(url).expect("a URL");
        let keys: Vec<String> = parsed.query_pairs().map(|(k, _)| k.into_owned()).collect();
        assert_eq!(keys, ["appid", "redirect_uri", "response_type", "scope", "state"], "WeChat's documented order");
        assert_eq!(query_value(&parsed, "redirect_uri").as_deref(), Some("https://hm.example.cn/mp/v1/login/wechat-oa/callback"));
        assert_eq!(query_value(&parsed, "response_type").as_deref(), Some("code"));
        assert_eq!(query_value(&parsed, "scope").as_deref(), Some("snsapi_userinfo"));
        let state = query_value(&parsed, "state").expect("state");
        assert!(state.len() <= 128 && state.bytes().all(|b| b.is_ascii_alphanumeric()), "WeChat's limits on state: {state}");
        for attribute in ["HttpOnly", "SameSite=Lax", "Path=/mp/v1/login/wechat-oa", "Max-Age=600", "Secure"] {
            assert!(started.set_cookie.contains(attribute), "{attribute}: {}", started.set_cookie);
        }
        // Not a scan code: refused before anything is kept.
        for bad in ["", "../admin", "a b", "x#y"] {
            app.post("/mp/v1/login/wechat-oa/start", None, json!({"code": bad})).await.expect_problem(422, "invalid_body");
        }
        // The page is marked, so its script offers WeChat sign-in (inside WeChat only).
        let page = browser().get(app.url("/S/HM1.SCAN-CODE")).send().await.expect("page").text().await.expect("text");
        assert!(page.contains(r#"<main data-wechat-oa="on">"#));
    }
}

with_oa! {
    /// Registered through the mini program; signs in inside WeChat's browser on a new
    /// phone: found by the unionid, the phone bound by the device binding rule, and the
    /// scan recorded once.
    async fn a_mini_program_volunteer_signs_in_by_unionid(app, standin) {
        let e = crate::event(&app, "toggle").await;
        let volunteer_id = registered_through_mini_program_on(&app, &standin, "union-zhang", None).await;
        standin.set_oa_user("oa-openid-zhang", Some("union-zhang"));
        let code = app.code(&e.organiser, e.activity_id, 0, "toggle").await;
        let token = code["token"].as_str().expect("token");
        let (location, cookie) = trip(&app, token).await;
        assert!(location.starts_with(&format!("/S/{token}#wechat_oa=")), "{location}");
        let (status, answer) = finish(&app, handle_of(&location), Some(&cookie), "test-phone-1").await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["registered"], true);
        assert_eq!(answer["volunteer"]["id"], volunteer_id);
        assert_eq!(answer["device"]["state"], "newly_bound", "the mini program bound no phone: {answer}");
        assert_eq!(answer["device"]["may_scan_here"], true);
        let bearer = answer["access_token"].as_str().expect("token");
        app.scan(bearer, token).await.expect_status(200);
        assert_eq!(app.scans_recorded(volunteer_id).await, 1);
        assert_eq!(standin.oa_access_token_calls(), 1);
        // The handle worked once.
        let (status, again) = finish(&app, handle_of(&location), Some(&cookie), "test-phone-1").await;
        assert_eq!((status, again["code"].as_str()), (422, Some("wechat_oa_state_invalid")));
    }
}

with_oa! {
    /// Within the device binding's cool-down the volunteer is signed in but told to scan
    /// with the bound phone.
    async fn a_new_phone_within_the_cool_down_is_told_where_to_scan(app, standin) {
        registered_through_mini_program(&app, &standin, "union-zhang").await;
        standin.set_oa_user("oa-openid-zhang", Some("union-zhang"));
        let (location, cookie) = trip(&app, "HM1.CODE").await;
        let (status, answer) = finish(&app, handle_of(&location), Some(&cookie), "new-phone").await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["device"]["state"], "bound_elsewhere");
        assert_eq!(answer["device"]["may_scan_here"], false);
        assert!(answer["device"]["advice"].as_str().expect("advice").contains("请用那部手机扫码"));
    }
}

with_oa! {
    /// A WeChat user not registered gets a ticket; registering with it binds this Official
    /// Account identity (not the mini program's table), and the next sign-in finds them.
    async fn an_unregistered_wechat_user_registers_bound(app, standin) {
        standin.set_oa_user("oa-openid-wang", Some("union-wang"));
        let (location, cookie) = trip(&app, "HM1.CODE").await;
        let (status, answer) = finish(&app, handle_of(&location), Some(&cookie), "wang-phone").await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["registered"], false);
        assert!(answer.get("access_token").is_none() && answer.get("device").is_none());
        let ticket = answer["registration_ticket"].as_str().expect("ticket");
        assert!(!ticket.contains("oa-openid-wang"));
        let mut body = registration("王五", "13800007777", &next_resident_id());
        body["wechat_ticket"] = json!(ticket);
        body["device_id"] = json!("wang-phone");
        let registered = app.post("/mp/v1/volunteers", None, body).await;
        registered.expect_status(201);
        let id = registered.body["volunteer"]["id"].as_i64().expect("id");
        // Found next time, by the OA openid even without a unionid (snsapi_base).
        standin.set_oa_user("oa-openid-wang", None);
        let (location, cookie) = trip(&app, "HM1.CODE").await;
        let (_, again) = finish(&app, handle_of(&location), Some(&cookie), "wang-phone").await;
        assert_eq!(again["registered"], true, "{again}");
        assert_eq!(again["volunteer"]["id"], id);
        assert_eq!(again["device"]["state"], "bound");
        // The OA openid is not a mini-program openid: the mini program's login does not
        // take it for one (it has its own openid).
        standin.add_login_code("mini", "oa-openid-wang", None);
        let mini = app.post("/mp/v1/login/wechat", None, json!({"code": "mini"})).await;
        assert_eq!(mini.body["registered"], false, "{}", mini.body);
    }
}

/// Registers a newcomer through the Official Account inside WeChat's browser, as WeChat
/// user (`oa_openid`, `unionid`) → id.
async fn registered_through_official_account(
    app: &TestApp,
    standin: &StandIn,
    oa_openid: &str,
    unionid: &str,
    phone: &str,
) -> i64 {
    standin.set_oa_user(oa_openid, Some(unionid));
    let (location, cookie) = trip(app, "HM1.CODE").await;
    let (status, answer) = finish(app, handle_of(&location), Some(&cookie), "phone").await;
    assert_eq!((status, &answer["registered"]), (200, &json!(false)), "{answer}");
    let mut body = registration("王五", phone, &next_resident_id());
    body["wechat_ticket"] = answer["registration_ticket"].clone();
    let registered = app.post("/mp/v1/volunteers", None, body).await;
    registered.expect_status(201);
    registered.body["volunteer"]["id"].as_i64().expect("id")
}

/// A mini-program login as WeChat user (`openid`, `unionid`): registered, and who.
async fn mini_program_login(app: &TestApp, standin: &StandIn, openid: &str, unionid: Option<&str>) -> Value {
    let code = format!("code-{}", Uuid::new_v4().simple());
    standin.add_login_code(&code, openid, unionid);
    let login = app.post("/mp/v1/login/wechat", None, json!({ "code": code })).await;
    login.expect_status(200);
    login.body
}

with_oa! {
    /// Registered through the Official Account first, then the mini program: its openid
    /// is new but its unionid is bound, so the volunteer is signed in and the openid bound
    /// to them (audited), and the next login finds it without a unionid.
    async fn the_mini_program_finds_an_official_account_volunteer_by_unionid(app, standin) {
        let wang = registered_through_official_account(&app, &standin, "oa-openid-wang", "union-wang", "13800007777").await;
        let first = mini_program_login(&app, &standin, "mini-openid-wang", Some("union-wang")).await;
        assert_eq!(first["registered"], true, "{first}");
        assert_eq!(first["volunteer"]["id"], wang);
        assert!(first.get("registration_ticket").is_none());
        let bearer = first["access_token"].as_str().expect("token");
        app.get("/mp/v1/me", bearer).await.expect_status(200);
        assert_eq!(app.hourmark.store().volunteer_by_openid("mini-openid-wang").await.expect("read"), Some(wang));
        let audit = app.hourmark.store().audit_events("volunteer", wang).await.expect("audit");
        let bound: Vec<_> = audit.iter().filter(|a| a.action == "wechat_bound_by_unionid").collect();
        assert_eq!(bound.len(), 1, "{audit:?}");
        assert_eq!((bound[0].actor_id, bound[0].subject_id), (Some(wang), Some(wang)));
        // Found directly next time, even when WeChat gives no unionid.
        let again = mini_program_login(&app, &standin, "mini-openid-wang", None).await;
        assert_eq!(again["volunteer"]["id"], wang, "{again}");
        let audit = app.hourmark.store().audit_events("volunteer", wang).await.expect("audit");
        assert_eq!(audit.iter().filter(|a| a.action == "wechat_bound_by_unionid").count(), 1, "bound once");
    }
}

with_oa! {
    /// The unionid never takes a binding over: an openid already bound signs in its own
    /// volunteer whatever unionid comes with it; a volunteer with a mini-program openid
    /// already keeps it; without a unionid, or with one no one has, it is the newcomer's
    /// registration ticket as before.
    async fn a_unionid_never_rebinds(app, standin) {
        let zhang = registered_through_mini_program(&app, &standin, "union-zhang").await;
        let wang = registered_through_official_account(&app, &standin, "oa-openid-wang", "union-wang", "13800007777").await;
        let store = app.hourmark.store();

        // Zhang's openid, with Wang's unionid: Zhang, and nothing moves.
        let login = mini_program_login(&app, &standin, "mini-openid-zhang", Some("union-wang")).await;
        assert_eq!(login["volunteer"]["id"], zhang, "{login}");
        assert_eq!(store.volunteer_by_openid("mini-openid-zhang").await.expect("read"), Some(zhang));
        for id in [zhang, wang] {
            let audit = store.audit_events("volunteer", id).await.expect("audit");
            assert!(audit.iter().all(|a| a.action != "wechat_bound_by_unionid"), "{audit:?}");
        }

        // Zhang's unionid under another openid: Zhang is signed in (WeChat vouches for the
        // unionid), but keeps the openid he has.
        let login = mini_program_login(&app, &standin, "mini-openid-other", Some("union-zhang")).await;
        assert_eq!(login["volunteer"]["id"], zhang, "{login}");
        assert_eq!(store.volunteer_by_openid("mini-openid-other").await.expect("read"), None);
        assert_eq!(store.volunteer_by_openid("mini-openid-zhang").await.expect("read"), Some(zhang));

        // No unionid, or one no one has: not registered, a ticket, nothing bound.
        for unionid in [None, Some("union-nobody")] {
            let login = mini_program_login(&app, &standin, "mini-openid-new", unionid).await;
            assert_eq!(login["registered"], false, "{login}");
            assert!(login["registration_ticket"].is_string() && login.get("access_token").is_none());
            assert_eq!(store.volunteer_by_openid("mini-openid-new").await.expect("read"), None);
        }
    }
}

with_oa! {
    /// Forged, malformed, foreign, replayed and expired states: each refused with its code;
    /// WeChat is never asked and a good state is not used up by a bad request.
    async fn bad_states_are_refused_and_nothing_is_kept(app, standin) {
        standin.set_oa_user("oa-openid-li", Some("union-li"));
        let started = start(&app, "HM1.CODE").await;
        let back = authorise(&started.authorize_url).await;
        let query = back.query().expect("query").to_owned();
        let code = query_value(&back, "code").expect("code");

        let invalid = |answer: (u16, String, Value)| {
            assert_eq!(answer.0, 422, "{}", answer.2);
            assert_eq!(answer.2["code"], "wechat_oa_state_invalid");
            assert!(answer.1.is_empty(), "no redirect: {}", answer.1);
        };
        // No cookie (a link opened in another browser, or sent to someone else): refused.
        invalid(callback(&app, &query, None).await);
        // A forged state of the right shape, malformed states, none.
        let forged = format!("code={code}&state={}", "ab".repeat(16));
        invalid(callback(&app, &forged, Some(&started.cookie)).await);
        for bad in ["state=short", "state=%00%01", &format!("state={}", "Z".repeat(32)), "code=x"] {
            invalid(callback(&app, bad, Some(&started.cookie)).await);
        }
        assert_eq!(standin.oa_access_token_calls(), 0, "WeChat is not asked for a bad state");

        // None of that used the real state up: it still works, once.
        let (status, location, _) = callback(&app, &query, Some(&started.cookie)).await;
        assert_eq!(status, 303);
        assert!(location.contains("#wechat_oa="), "{location}");
        assert_eq!(standin.oa_access_token_calls(), 1);
        // Replayed: refused, and WeChat not asked again.
        invalid(callback(&app, &query, Some(&started.cookie)).await);
        assert_eq!(standin.oa_access_token_calls(), 1);

        // Another browser's cookie (login CSRF: a victim sent to the attacker's state):
        // refused, and the state is spent: it was taken before the cookie was compared.
        let victim = start(&app, "HM1.CODE").await;
        let attacker = start(&app, "HM1.CODE").await;
        let back = authorise(&attacker.authorize_url).await;
        invalid(callback(&app, back.query().expect("q"), Some(&victim.cookie)).await);
        invalid(callback(&app, back.query().expect("q"), Some(&attacker.cookie)).await);
        assert_eq!(standin.oa_access_token_calls(), 1);

        // Expired: ten minutes to come back from WeChat.
        let late = start(&app, "HM1.CODE").await;
        let back = authorise(&late.authorize_url).await;
        app.advance(Duration::minutes(11));
        let (status, _, problem) = callback(&app, back.query().expect("q"), Some(&late.cookie)).await;
        assert_eq!((status, problem["code"].as_str()), (422, Some("wechat_oa_state_expired")));
        assert_eq!(standin.oa_access_token_calls(), 1);

        // A handle from another browser, or forged: refused.
        let mine = start(&app, "HM1.CODE").await;
        let back = authorise(&mine.authorize_url).await;
        let (_, location, _) = callback(&app, back.query().expect("q"), Some(&mine.cookie)).await;
        let (status, problem) = finish(&app, handle_of(&location), Some(&victim.cookie), "p").await;
        assert_eq!((status, problem["code"].as_str()), (422, Some("wechat_oa_state_invalid")));
        let (status, problem) = finish(&app, handle_of(&location), None, "p").await;
        assert_eq!((status, problem["code"].as_str()), (422, Some("wechat_oa_state_invalid")));
        let (status, problem) = finish(&app, &"cd".repeat(16), Some(&mine.cookie), "p").await;
        assert_eq!((status, problem["code"].as_str()), (422, Some("wechat_oa_state_invalid")));
        // Five minutes to collect it.
        let slow = start(&app, "HM1.CODE").await;
        let back = authorise(&slow.authorize_url).await;
        let (_, location, _) = callback(&app, back.query().expect("q"), Some(&slow.cookie)).await;
        app.advance(Duration::minutes(6));
        let (status, problem) = finish(&app, handle_of(&location), Some(&slow.cookie), "p").await;
        assert_eq!((status, problem["code"].as_str()), (422, Some("wechat_oa_state_expired")));
    }
}

with_oa! {
    /// Refusal and WeChat's errors come back to the scan page with a code the page
    /// explains (and offers SMS sign-in); each state is spent.
    async fn refusals_and_wechat_errors_return_to_the_page(app, standin) {
        standin.set_oa_user("oa-openid-li", Some("union-li"));
        standin.oa_user_refuses();
        let (location, _) = trip(&app, "HM1.CODE").await;
        assert_eq!(location, "/S/HM1.CODE#wechat_oa_error=wechat_oa_refused");
        assert_eq!(standin.oa_access_token_calls(), 0);

        standin.set_oa_user("oa-openid-li", Some("union-li"));
        let cases = [
            (Fault::Errcode(-1), "wechat_busy"),
            (Fault::Errcode(40029), "wechat_code_invalid"),
            (Fault::Errcode(40163), "wechat_code_used"),
            (Fault::Body("<html>not json</html>".into()), "wechat_unavailable"),
            (Fault::Body(r#"{"access_token":"t"}"#.into()), "wechat_error"),
            (Fault::HttpStatus(502), "wechat_unavailable"),
        ];
        for (fault, code) in cases {
            standin.fail_next(Api::OaAccessToken, 1, fault);
            let (location, _) = trip(&app, "HM1.CODE").await;
            assert_eq!(location, format!("/S/HM1.CODE#wechat_oa_error={code}"));
        }
        // A code already exchanged, under a new state.
        let started = start(&app, "HM1.CODE").await;
        let back = authorise(&started.authorize_url).await;
        let code = query_value(&back, "code").expect("code");
        callback(&app, back.query().expect("q"), Some(&started.cookie)).await;
        let again = start(&app, "HM1.CODE").await;
        let state = query_value(&reqwest::Url::parse(&again.authorize_url).expect("url"), "state").expect("state");
        let (status, location, _) = callback(&app, &format!("code={code}&state={state}"), Some(&again.cookie)).await;
        assert_eq!((status, location.as_str()), (303, "/S/HM1.CODE#wechat_oa_error=wechat_code_used"));
        // WeChat too slow.
        standin.set_latency(std::time::Duration::from_millis(1_500));
        let (location, _) = trip(&app, "HM1.CODE").await;
        assert_eq!(location, "/S/HM1.CODE#wechat_oa_error=wechat_timeout");
    }
}

/// Without an Official Account the routes answer `wechat_oa_not_configured` and the page
/// is not marked: inside WeChat too, only SMS sign-in is offered.
#[tokio::test]
async fn without_an_official_account_only_sms_is_offered() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    app.post("/mp/v1/login/wechat-oa/start", None, json!({"code": "HM1.CODE"}))
        .await
        .expect_problem(503, "wechat_oa_not_configured");
    // WeChat never sends anyone to the callback of an installation without an account.
    let (status, _, problem) = callback(&app, &format!("code=c&state={}", "ab".repeat(16)), None).await;
    let not_configured = (404, Some("not_found"), Some("本服务未开通微信内登录"));
    assert_eq!((status, problem["code"].as_str(), problem["detail"].as_str()), not_configured);
    let (status, problem) = finish(&app, &"ab".repeat(16), None, "p").await;
    assert_eq!((status, problem["code"].as_str()), (503, Some("wechat_oa_not_configured")));
    let page = browser().get(app.url("/S/HM1.CODE")).send().await.expect("page").text().await.expect("text");
    assert!(page.contains("<main>") && !page.contains("data-wechat-oa"));
}

/// In Chromium as WeChat's Android browser at 390×844: a refusal is explained with SMS
/// offered; a volunteer registered through the mini program signs in by WeChat on a fresh
/// browser and checks in (recorded once); a newcomer signs in by WeChat, registers, and
/// their WeChat is bound. Screenshots in `target/browser-artifacts/wechat-oa/`.
#[tokio::test]
async fn signing_in_by_wechat_in_chromium() {
    use hourmark_tests::resident_id;

    let standin = StandIn::start().await;
    let app = TestApp::spawn_for_browser_with(Backend::Sqlite, |c| {
        point_at(c, &standin);
        // WeChat sends the browser back to where it is browsing.
        c.wechat_oa_redirect_base_url = c.staff_origin.clone();
    })
    .await;
    let e = crate::event(&app, "toggle").await;
    let zhang = registered_through_mini_program_on(&app, &standin, "union-zhang", None).await;
    let artifacts = crate::browser_script::artifacts("wechat-oa");
    let input = json!({
        "base": app.browser_url(), "artifacts": artifacts,
        "newcomer": {"name": "王五", "id_number": resident_id("19920202", 61), "phone": "13900006666"},
    });
    let result = crate::browser_script::run_interactive_browser_script("wechat_oa.js", &input, async |m: &Value| {
        if m["op"] == "oa_user" {
            standin.set_oa_user(m["openid"].as_str().expect("openid"), m["unionid"].as_str());
            if m["refuses"] == true {
                standin.oa_user_refuses();
            }
            return json!({});
        }
        crate::browser_script::clock_and_codes(&app, &e, m).await
    })
    .await;
    assert!(result.get("error").is_none(), "the browser run stopped: {result:#}");
    assert_eq!(result["console_errors"], json!([]), "no script errors, no CSP violations: {result:#}");

    assert_eq!(result["offered"]["button"], "微信登录");
    assert_eq!(result["offered"]["register_shown"], true, "the form stays for those who prefer it");
    // Refused: said in Chinese, SMS sign-in open, WeChat still offered.
    assert_eq!(
        result["refused"]["state"],
        "微信登录未成功：您没有同意微信授权。可重试微信登录，或用下方的短信验证码登录。"
    );
    assert_eq!(result["refused"]["signin_shown"], true);
    assert_eq!(result["refused"]["wechat_shown"], true);
    // Registered: signed in and checked in, the handle gone from the address; the code
    // had expired meanwhile, and the scan counts from when the page first read it.
    assert_eq!(result["registered"]["class"], "card ok");
    assert_eq!(result["registered"]["time"], "09:00", "{:#}", result["registered"]);
    assert_eq!(result["registered"]["wechat_shown"], false);
    assert!(!result["registered"]["url"].as_str().expect("url").contains('#'), "{}", result["registered"]["url"]);
    assert_eq!(app.scans_recorded(zhang).await, 1, "the scan is recorded once");
    // The newcomer: told WeChat is verified, then registered and checked in.
    assert!(result["to_register"]["state"].as_str().expect("state").starts_with("微信已验证"));
    assert_eq!(result["to_register"]["register_shown"], true);
    assert_eq!(result["newcomer"]["class"], "card ok");

    let sessions = app.sessions(&e.organiser, e.activity_id).await;
    let mut names: Vec<&str> = sessions.iter().filter_map(|s| s["volunteer_name"].as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["张三", "王五"], "one session each");

    // The newcomer's WeChat is bound: the next sign-in finds them, even by OA openid alone.
    standin.set_oa_user("oa-openid-wang", None);
    let (location, cookie) = trip(&app, "HM1.CODE").await;
    let (status, answer) = finish(&app, handle_of(&location), Some(&cookie), "another").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["registered"], true);
    assert_eq!(answer["volunteer"]["name"], "王五");
}

//! WeChat mini-program login against a local stand-in that speaks WeChat's documented
//! protocol (errors, single-use codes, slowness), and the development login's guard.

use std::time::Duration;

use hourmark_core::wechat::standin::{Api, Fault, StandIn};
use hourmark_tests::{Backend, TestApp, TestDatabase, next_resident_id, registration};
use serde_json::json;
use uuid::Uuid;

async fn app_with_wechat(backend: Backend, standin: &StandIn, timeout_ms: u64) -> TestApp {
    let database = std::sync::Arc::new(TestDatabase::create(backend).await);
    TestApp::spawn_with(backend, database, Uuid::new_v4().simple().to_string(), |c| {
        c.wechat_appid = Some(StandIn::APPID.into());
        c.wechat_secret = Some(hourmark_server::config::Secret(StandIn::SECRET.into()));
        c.wechat_base_url = standin.base_url();
        c.wechat_timeout_ms = timeout_ms;
    })
    .await
}

async fn first_login_registers_then_logs_in(backend: Backend) {
    let standin = StandIn::start().await;
    let app = app_with_wechat(backend, &standin, 2_000).await;
    standin.add_login_code("code-1", "openid-zhang", Some("unionid-zhang"));
    let first = app.post("/mp/v1/login/wechat", None, json!({"code": "code-1"})).await;
    first.expect_status(200);
    assert_eq!(first.body["registered"], false);
    assert!(first.body.get("access_token").is_none());
    let ticket = first.body["registration_ticket"].as_str().expect("ticket").to_owned();
    assert!(!ticket.contains("openid-zhang"), "the ticket does not show the openid");
    let raw = String::from_utf8_lossy(&first.raw).to_string();
    assert!(!raw.contains("session_key") && !raw.contains("standin-session"), "the session key stays on the server");

    // The same code again is spent, as at WeChat.
    app.post("/mp/v1/login/wechat", None, json!({"code": "code-1"})).await.expect_problem(422, "wechat_code_invalid");

    let mut body = registration("张三", "13800005555", &next_resident_id());
    body["wechat_ticket"] = json!(ticket);
    let registered = app.post("/mp/v1/volunteers", None, body).await;
    registered.expect_status(201);
    // A ticket binds one volunteer only.
    let li_id = next_resident_id();
    let mut again = registration("李四", "13800006666", &li_id);
    again["wechat_ticket"] = json!(ticket);
    app.post("/mp/v1/volunteers", None, again).await.expect_problem(409, "wechat_already_bound");
    // The refused registration rolled back whole: 李四's ID and phone are still free.
    app.post("/mp/v1/volunteers", None, registration("李四", "13800006666", &li_id)).await.expect_status(201);

    standin.add_login_code("code-2", "openid-zhang", Some("unionid-zhang"));
    let second = app.post("/mp/v1/login/wechat", None, json!({"code": "code-2"})).await;
    second.expect_status(200);
    assert_eq!(second.body["registered"], true);
    assert_eq!(second.body["volunteer"]["phone"], "138****5555");
    let token = second.body["access_token"].as_str().expect("token");
    let mine = app.get("/mp/v1/me", token).await;
    mine.expect_status(200);
    assert_eq!(mine.body["volunteer"]["name"], "张三");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_login_registers_then_logs_in_sqlite() {
    first_login_registers_then_logs_in(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_login_registers_then_logs_in_postgres() {
    first_login_registers_then_logs_in(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wechat_errors_become_clear_client_errors() {
    let standin = StandIn::start().await;
    let app = app_with_wechat(Backend::Sqlite, &standin, 300).await;
    standin.add_login_code("good", "openid-1", None);
    for (errcode, status, code) in [
        (-1, 503, "wechat_busy"),
        (45011, 429, "wechat_rate_limited"),
        (40226, 403, "wechat_user_blocked"),
        (40163, 502, "wechat_error"),
    ] {
        standin.fail_next(Api::JsCode2Session, 1, Fault::Errcode(errcode));
        app.post("/mp/v1/login/wechat", None, json!({"code": "good"})).await.expect_problem(status, code);
    }
    standin.fail_next(Api::JsCode2Session, 1, Fault::HttpStatus(500));
    app.post("/mp/v1/login/wechat", None, json!({"code": "good"})).await.expect_problem(502, "wechat_unavailable");
    standin.fail_next(Api::JsCode2Session, 1, Fault::Body("<html>gateway</html>".into()));
    app.post("/mp/v1/login/wechat", None, json!({"code": "good"})).await.expect_problem(502, "wechat_unavailable");
    // Slow beyond the timeout: a clear, retryable answer, not a hung request.
    standin.set_latency(Duration::from_millis(1_000));
    app.post("/mp/v1/login/wechat", None, json!({"code": "good"})).await.expect_problem(504, "wechat_timeout");
    standin.set_latency(Duration::ZERO);
    // None of the failures spent the code.
    app.post("/mp/v1/login/wechat", None, json!({"code": "good"})).await.expect_status(200);
    // Malformed codes never reach WeChat.
    let calls = standin.jscode2session_calls();
    app.post("/mp/v1/login/wechat", None, json!({"code": ""})).await.expect_problem(422, "wechat_code_invalid");
    app.post("/mp/v1/login/wechat", None, json!({"code": "x".repeat(500)}))
        .await
        .expect_problem(422, "wechat_code_invalid");
    app.post("/mp/v1/login/wechat", None, json!({"code": 5})).await.expect_problem(422, "invalid_body");
    assert_eq!(standin.jscode2session_calls(), calls);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_and_expired_tickets_are_refused() {
    let standin = StandIn::start().await;
    let app = app_with_wechat(Backend::Sqlite, &standin, 2_000).await;
    standin.add_login_code("c", "openid-2", None);
    let ticket = app.post("/mp/v1/login/wechat", None, json!({"code": "c"})).await.body["registration_ticket"]
        .as_str()
        .expect("ticket")
        .to_owned();
    let mut forged = ticket.clone().into_bytes();
    let i = forged.len() - 3;
    forged[i] = if forged[i] == b'A' { b'B' } else { b'A' };
    for bad in [String::from_utf8(forged).expect("ascii"), "v1.1.AAAA".into(), "nonsense".into()] {
        let mut body = registration("王五", "13800007777", &next_resident_id());
        body["wechat_ticket"] = json!(bad);
        app.post("/mp/v1/volunteers", None, body).await.expect_problem(422, "registration_ticket_invalid");
    }
    app.advance(chrono::Duration::minutes(31));
    let mut body = registration("王五", "13800007777", &next_resident_id());
    body["wechat_ticket"] = json!(ticket);
    app.post("/mp/v1/volunteers", None, body).await.expect_problem(422, "registration_ticket_invalid");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_without_wechat_configured_and_the_development_login() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    app.post("/mp/v1/login/wechat", None, json!({"code": "c"})).await.expect_problem(503, "wechat_not_configured");
    let (_, _) = app.volunteer("张三", "13800008888").await;
    // Off unless configured: indistinguishable from a missing route.
    app.post("/mp/v1/login/dev", None, json!({"phone": "13800008888"})).await.expect_problem(404, "not_found");

    let database = std::sync::Arc::new(TestDatabase::create(Backend::Sqlite).await);
    let dev =
        TestApp::spawn_with(Backend::Sqlite, database, Uuid::new_v4().simple().to_string(), |c| c.dev_login = true)
            .await;
    dev.volunteer("李四", "13800009999").await;
    let answer = dev.post("/mp/v1/login/dev", None, json!({"phone": "138 0000 9999"})).await;
    answer.expect_status(200);
    assert_eq!(answer.body["registered"], true);
    assert!(answer.body["access_token"].as_str().is_some());
    dev.post("/mp/v1/login/dev", None, json!({"phone": "13800001111"})).await.expect_problem(404, "not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wechat_verified_phone_number_replaces_the_old_one() {
    let standin = StandIn::start().await;
    let app = app_with_wechat(Backend::Sqlite, &standin, 2_000).await;
    let (id, token) = app.volunteer("张三", "13800001234").await;
    let (_, _) = app.volunteer("李四", "13900009999").await;
    standin.add_phone_code("p1", "13700001111");
    standin.add_phone_code("p2", "13700002222");
    standin.add_phone_code("taken", "13900009999");

    let bound = app.post("/mp/v1/me/phone", Some(&token), json!({"code": "p1"})).await;
    bound.expect_status(200);
    assert_eq!(bound.body["volunteer"]["phone"], "13700001111");
    // WeChat's access token is fetched once and reused; an expired one is refreshed.
    standin.expire_access_token();
    app.post("/mp/v1/me/phone", Some(&token), json!({"code": "p2"})).await.expect_status(200);
    assert_eq!(standin.token_fetches(), 2);
    app.post("/mp/v1/me/phone", Some(&token), json!({"code": "p2"})).await.expect_problem(422, "wechat_code_invalid");
    app.post("/mp/v1/me/phone", Some(&token), json!({"code": "taken"})).await.expect_problem(409, "phone_taken");
    let mine = app.get("/mp/v1/me", &token).await;
    assert_eq!(mine.body["volunteer"]["phone"], "13700002222", "a refused binding changed nothing");
    let audit = app.hourmark.store().audit_events("volunteer", id).await.expect("audit");
    assert_eq!(audit.iter().filter(|a| a.action == "phone_bound").count(), 2);
}

/// Where every registration waits for an SMS code (as in production), the mini program's
/// phone button proves an adult's phone instead: registered at once, and an ID number
/// already registered is told then, since the phone is proven. A number other than the
/// one WeChat verified is refused, and a minor still needs the guardian's code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wechat_verified_phone_registers_without_an_sms_code() {
    let standin = StandIn::start().await;
    let database = std::sync::Arc::new(TestDatabase::create(Backend::Sqlite).await);
    let app = TestApp::spawn_with(Backend::Sqlite, database, Uuid::new_v4().simple().to_string(), |c| {
        c.wechat_appid = Some(StandIn::APPID.into());
        c.wechat_secret = Some(hourmark_server::config::Secret(StandIn::SECRET.into()));
        c.wechat_base_url = standin.base_url();
        c.registration_phone_code = true;
    })
    .await;
    standin.add_phone_code("p1", "13700001111");
    standin.add_phone_code("p2", "13700002222");
    standin.add_phone_code("p3", "13700003333");
    let id_number = next_resident_id();
    // Without the button: a code is sent first.
    app.post("/mp/v1/volunteers", None, registration("张三", "13700004444", &next_resident_id()))
        .await
        .expect_status(202);
    // Another number than WeChat's: refused, nothing stored.
    let mut body = registration("张三", "13700009999", &id_number);
    body["wechat_phone_code"] = json!("p1");
    app.post("/mp/v1/volunteers", None, body).await.expect_problem(422, "invalid_body");
    let mut body = registration("张三", "13700002222", &id_number);
    body["wechat_phone_code"] = json!("p2");
    let registered = app.post("/mp/v1/volunteers", None, body).await;
    registered.expect_status(201);
    assert_eq!(registered.body["volunteer"]["phone"], "137****2222");
    let mut again = registration("张三", "13700003333", &id_number);
    again["wechat_phone_code"] = json!("p3");
    app.post("/mp/v1/volunteers", None, again).await.expect_problem(409, "id_number_taken");
    // A minor: the guardian's code, whatever WeChat says.
    let mut minor = registration("王小明", "13700005555", &hourmark_tests::resident_id("20120601", 5));
    minor["wechat_phone_code"] = json!("p1");
    minor["guardian"] = json!({"name": "王芳", "relation": "母亲", "phone": "13911112222"});
    let pending = app.post("/mp/v1/volunteers", None, minor).await;
    pending.expect_status(202);
    assert_eq!(pending.body["code_sent_to"], "guardian");
}

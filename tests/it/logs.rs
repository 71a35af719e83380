//! Logs: JSON lines with each request's id, and no personal data or secret in any line.
//!
//! The server's own subscriber ([`hourmark_server::logging::init`], as `main` installs it)
//! writes into a buffer at debug level. One subscriber per process: these tests rely on
//! nextest running each test in its own process, as the README's test command does.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use hourmark_server::config::LogFormat;
use hourmark_tests::{Backend, TestApp, authenticator, next_resident_id, register, registration};
use serde_json::{Value, json};
use uuid::Uuid;

/// Everything logged in this process so far.
#[derive(Clone)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the server's JSON subscriber at debug level (once per process) → the buffer.
fn capture_logs() -> Captured {
    static CAPTURED: OnceLock<Captured> = OnceLock::new();
    CAPTURED
        .get_or_init(|| {
            let captured = Captured(Arc::new(Mutex::new(Vec::new())));
            let writer = captured.clone();
            hourmark_server::logging::init("debug", LogFormat::Json, move || writer.clone())
                .expect("the first subscriber in this process (run the tests with nextest)");
            captured
        })
        .clone()
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("log buffer")).into_owned()
    }

    /// Every line, as JSON (each line must be one).
    fn lines(&self) -> Vec<Value> {
        self.text()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}")))
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_request_gets_an_id_sent_back_and_carried_by_its_log_lines() {
    let logs = capture_logs();
    let app = TestApp::spawn(Backend::Sqlite).await;
    let get = |id: Option<&str>| {
        let mut request = app.client.get(app.url("/healthz"));
        if let Some(id) = id {
            request = request.header("x-request-id", id);
        }
        request.send()
    };

    // A well-formed id from a proxy is kept, sent back, and carried by the request's lines.
    let kept = get(Some("proxy-7f3a.42")).await.expect("sent");
    assert_eq!(kept.headers()["x-request-id"], "proxy-7f3a.42");
    let finished = logs
        .lines()
        .into_iter()
        .find(|l| l["span"]["request_id"] == "proxy-7f3a.42")
        .expect("a JSON line carrying the request's id");
    assert_eq!(finished["span"]["route"], "/healthz");
    assert_eq!(finished["fields"]["message"], "request finished");
    assert_eq!(finished["fields"]["status"], 200);

    // None: one is made up, and each request has its own.
    let first = get(None).await.expect("sent").headers()["x-request-id"].to_str().expect("ascii").to_owned();
    let second = get(None).await.expect("sent").headers()["x-request-id"].to_str().expect("ascii").to_owned();
    assert_eq!(first.len(), 32, "{first}");
    assert_ne!(first, second);
    assert!(logs.lines().iter().any(|l| l["span"]["request_id"] == first.as_str()));

    // Malformed ones are replaced, never echoed: too long, spaces, a tab, a line break
    // smuggled as text.
    for bad in ["x".repeat(65), "two words".into(), "a\tb".into(), "a\\nlevel=ERROR".into(), "é".into()] {
        let answer = get(Some(&bad)).await.expect("sent");
        assert_eq!(answer.status(), 200);
        let echoed = answer.headers()["x-request-id"].to_str().expect("ascii").to_owned();
        assert_ne!(echoed, bad);
        assert_eq!(echoed.len(), 32, "replaced by a fresh id: {echoed}");
        assert!(!logs.text().contains(&bad), "{bad:?} reached the log");
    }

    // An unknown path and a problem answer carry it too.
    let missing = get(None).await.expect("sent");
    assert!(missing.headers().contains_key("x-request-id"));
    let unknown = app.client.get(app.url("/no/such/page")).send().await.expect("sent");
    assert_eq!(unknown.status(), 404);
    let id = unknown.headers()["x-request-id"].to_str().expect("ascii").to_owned();
    let line = logs.lines().into_iter().find(|l| l["span"]["request_id"] == id.as_str()).expect("logged");
    assert_eq!(line["span"]["route"], "unmatched", "the concrete path is never logged");
    assert!(!logs.text().contains("/no/such/page"));
    app.stop().await;
}

/// Drives registration, a scan (through the API and the scan page), staff passkey
/// enrolment and sign-in, a browser session, and an SMS sign-in with logs at debug
/// level, then looks for every personal value and secret in the log.
async fn nothing_personal_or_secret_is_logged(backend: Backend) {
    let logs = capture_logs();
    let (app, sms) = crate::sms_login::app_with_sms(backend, |c| c.device_rebind_cooldown_hours = 0).await;
    let mut secrets: Vec<(&str, String)> = Vec::new();

    // The first administrator: bootstrap token, invite, passkey, bearer token.
    let bootstrap = app.hourmark.issue_bootstrap_token(None).await.expect("issue").expect("no admin yet");
    let answer =
        app.post("/api/v1/bootstrap", None, json!({"token": bootstrap, "name": "管理员", "login": "admin"})).await;
    answer.expect_status(201);
    let invite = answer.body["invite"]["token"].as_str().expect("invite").to_owned();
    let mut passkey = authenticator();
    let enrolled = app.enrol(&invite, &mut passkey).await;
    enrolled.expect_status(201);
    let admin = enrolled.body["access_token"].as_str().expect("token").to_owned();
    let signed_in = app.sign_in("admin", &mut passkey).await.expect("the passkey is offered");
    signed_in.expect_status(200);
    let staff_token = signed_in.body["access_token"].as_str().expect("token").to_owned();
    secrets.extend([("bootstrap token", bootstrap), ("invite", invite), ("admin token", admin.clone())]);
    secrets.push(("signed-in staff token", staff_token.clone()));

    // A browser session: the cookie and its CSRF token.
    let organisation_id = app.organisation(&staff_token, "翠湖志愿者协会").await;
    let created = app
        .post(
            "/api/v1/staff",
            Some(&admin),
            json!({"name": "李组织", "login": hourmark_tests::next_login(), "role": "organiser", "organisation_id": organisation_id}),
        )
        .await;
    created.expect_status(201);
    let organiser_invite = created.body["invite"]["token"].as_str().expect("invite").to_owned();
    let start = app.post("/api/v1/invites/passkey/start", None, json!({ "invite": organiser_invite })).await;
    start.expect_status(200);
    let credential = register(&mut authenticator(), &start.body);
    let browser = app
        .client
        .post(app.url("/api/v1/invites/passkey/finish-browser"))
        .json(&json!({ "ceremony_id": start.body["ceremony_id"], "credential": credential }))
        .send()
        .await
        .expect("finish");
    assert_eq!(browser.status(), 201);
    let cookie = browser.headers()["set-cookie"].to_str().expect("ascii").split(';').next().expect("pair").to_owned();
    let csrf = browser.json::<Value>().await.expect("json")["csrf_token"].as_str().expect("csrf").to_owned();
    let activity = app
        .client
        .post(app.url("/api/v1/activities"))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .json(&json!({
            "organisation_id": organisation_id, "name": "翠湖公园清洁", "category": "environment", "recipients": "市民",
            "content": "捡拾垃圾", "address": "昆明市五华区翠湖公园", "location": {"lat": 25.047, "lng": 102.704},
            "radius_m": 300, "starts_at": "2026-12-05T08:00:00+08:00", "ends_at": "2026-12-05T17:00:00+08:00",
        }))
        .send()
        .await
        .expect("sent");
    assert_eq!(activity.status(), 201, "{:?}", activity.text().await);
    let activity_id = activity.json::<Value>().await.expect("json")["id"].as_i64().expect("id");
    let cookie_value = cookie.split_once('=').expect("name=value").1.to_owned();
    secrets.extend([("session cookie", cookie_value), ("csrf token", csrf)]);
    secrets.push(("organiser invite", organiser_invite));

    // A volunteer registers (name, phone, ID number) and scans.
    let (name, phone, id_number) = ("欧阳泄露", "13987654321", next_resident_id());
    let mut body = registration(name, phone, &id_number);
    body["device_id"] = json!("phone-of-ouyang");
    let registered = app.post("/mp/v1/volunteers", None, body).await;
    registered.expect_status(201);
    let volunteer = registered.body["access_token"].as_str().expect("token").to_owned();
    app.advance(chrono::Duration::hours(1));
    let code = app.code(&admin, activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
    let qr_token = code.rsplit('/').next().expect("token").to_owned();
    let scanned = app
        .post(
            "/mp/v1/scans",
            Some(&volunteer),
            json!({"code": code, "nonce": Uuid::new_v4(), "client_time": app.clock_now().to_rfc3339(),
                   "device_id": "phone-of-ouyang", "location": {"lat": 25.0471, "lng": 102.7041, "accuracy_m": 12.0}}),
        )
        .await;
    assert!(scanned.status < 500, "{scanned:?}");
    // The scan page, as a phone's camera opens the code.
    let page = app.client.get(app.url(&format!("/S/{qr_token}"))).send().await.expect("page");
    assert!(page.status().as_u16() < 500);
    secrets.extend([("name", name.to_owned()), ("phone", phone.to_owned()), ("ID number", id_number)]);
    secrets.extend([("volunteer token", volunteer), ("QR token", qr_token)]);

    // An SMS sign-in: the one-time code, and the token it gives.
    let before = sms.delivered().len();
    app.post("/mp/v1/login/sms/code", None, json!({"phone": phone})).await.expect_status(200);
    sms.wait_delivered(before + 1).await;
    let sms_code = sms.last_code(phone).expect("a code was sent");
    let sms_login = app
        .post("/mp/v1/login/sms", None, json!({"phone": phone, "code": sms_code, "device_id": "phone-of-ouyang"}))
        .await;
    sms_login.expect_status(200);
    let sms_token = sms_login.body["access_token"].as_str().expect("token").to_owned();
    secrets.extend([("SMS code", sms_code), ("SMS sign-in token", sms_token)]);
    app.stop().await;

    let text = logs.text();
    let lines = logs.lines();
    assert!(lines.len() > 30, "debug logging was captured: {} lines", lines.len());
    assert!(lines.iter().any(|l| l["span"]["route"] == "/mp/v1/scans"), "the scan's request was logged");
    assert!(!text.contains("credential_id: ["), "a passkey's credential was logged");
    for (what, value) in &secrets {
        assert!(value.len() >= 4, "{what} is too short to look for: {value}");
        // Whole values only: a six-digit code also occurs inside timings ("0.000639509").
        let alone = |line: &str| {
            line.match_indices(value.as_str()).any(|(at, _)| {
                let before = line[..at].chars().next_back();
                let after = line[at + value.len()..].chars().next();
                !before.is_some_and(|c| c.is_ascii_alphanumeric()) && !after.is_some_and(|c| c.is_ascii_alphanumeric())
            })
        };
        if let Some(line) = text.lines().find(|line| alone(line)) {
            panic!("the {what} appears in a log line: {line}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_personal_or_secret_is_logged_sqlite() {
    nothing_personal_or_secret_is_logged(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_personal_or_secret_is_logged_postgres() {
    nothing_personal_or_secret_is_logged(Backend::Postgres).await;
}

//! The staff console: browser sessions (an HttpOnly cookie and a CSRF token), the pages'
//! security headers, sign-in redirects, and the whole console in real Chromium.

use std::sync::Arc;

use hourmark_tests::{
    Backend, TestApp, TestDatabase, authenticator, next_login, on_both_backends, register, register_at,
};
use serde_json::{Value, json};
use uuid::Uuid;
use webauthn_rs::prelude::Url;

/// A client that shows redirects instead of following them.
fn no_redirects() -> reqwest::Client {
    hourmark_tests::http_client();
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client")
}

/// A browser session for a new organiser of `organisation_id`, begun through the
/// enrolment page's operation: (the `Set-Cookie` header, the cookie pair, the CSRF token).
async fn browser_session(app: &TestApp, admin: &str, organisation_id: i64) -> (String, String, String) {
    let created = app
        .post(
            "/api/v1/staff",
            Some(admin),
            json!({"name": "李组织", "login": next_login(), "role": "organiser", "organisation_id": organisation_id}),
        )
        .await;
    created.expect_status(201);
    let invite = created.body["invite"]["token"].as_str().expect("invite").to_owned();
    let start = app.post("/api/v1/invites/passkey/start", None, json!({ "invite": invite })).await;
    start.expect_status(200);
    let credential = register(&mut authenticator(), &start.body);
    let response = app
        .client
        .post(app.url("/api/v1/invites/passkey/finish-browser"))
        .json(&json!({ "ceremony_id": start.body["ceremony_id"], "credential": credential }))
        .send()
        .await
        .expect("finish");
    assert_eq!(response.status().as_u16(), 201);
    let set_cookie = response.headers()["set-cookie"].to_str().expect("ascii").to_owned();
    let body: Value = response.json().await.expect("json");
    assert!(body.get("access_token").is_none(), "the token stays in the HttpOnly cookie: {body}");
    let csrf = body["csrf_token"].as_str().expect("csrf token").to_owned();
    let pair = set_cookie.split(';').next().expect("pair").to_owned();
    (set_cookie, pair, csrf)
}

async fn post_with_cookie(
    app: &TestApp,
    path: &str,
    cookie: &str,
    headers: &[(&str, &str)],
    body: Value,
) -> reqwest::Response {
    let mut request = app.client.post(app.url(path)).header("cookie", cookie).json(&body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.expect("request")
}

async fn problem_code(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    (status, body["code"].as_str().unwrap_or_default().to_owned())
}

fn activity_body(organisation_id: i64, name: &str) -> Value {
    json!({
        "organisation_id": organisation_id, "name": name, "category": "environment", "recipients": "市民",
        "content": "捡拾垃圾", "address": "翠湖公园", "location": {"lat": 25.047, "lng": 102.704}, "radius_m": 300,
        "starts_at": "2026-12-05T08:00", "ends_at": "2026-12-05T17:00",
    })
}

async fn activity_names(app: &TestApp, admin: &str) -> Vec<String> {
    let listed = app.get("/api/v1/activities", admin).await;
    listed.expect_status(200);
    listed.body.as_array().expect("list").iter().map(|a| a["name"].as_str().expect("name").to_owned()).collect()
}

on_both_backends! {
    async fn a_cookie_session_changes_nothing_without_its_csrf_token(app: TestApp) {
        let admin = app.administrator().await;
        let organisation_id = app.organisation(&admin, "翠湖志愿者协会").await;
        let (set_cookie, cookie, csrf) = browser_session(&app, &admin, organisation_id).await;
        assert!(set_cookie.starts_with("hourmark_staff=hm_"), "{set_cookie}");
        for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="] {
            assert!(set_cookie.contains(attribute), "{attribute} missing: {set_cookie}");
        }
        assert!(!set_cookie.contains("Secure"), "no Secure on an http staff origin: {set_cookie}");

        // Reading needs no CSRF token.
        let listed = app.client.get(app.url("/api/v1/activities")).header("cookie", &cookie).send().await.expect("get");
        assert_eq!(listed.status().as_u16(), 200);

        let body = activity_body(organisation_id, "无令牌的活动");
        let refused = [
            post_with_cookie(&app, "/api/v1/activities", &cookie, &[], body.clone()).await,
            post_with_cookie(&app, "/api/v1/activities", &cookie, &[("x-csrf-token", "AAAA")], body.clone()).await,
            post_with_cookie(&app, "/api/v1/activities", &cookie, &[("x-csrf-token", &csrf[..csrf.len() - 1])], body.clone()).await,
            // The right token from another site's page.
            post_with_cookie(&app, "/api/v1/activities", &cookie, &[("x-csrf-token", &csrf), ("origin", "http://evil.example")], body.clone()).await,
        ];
        for response in refused {
            assert_eq!(problem_code(response).await, (403, "csrf_invalid".to_owned()));
        }
        assert!(activity_names(&app, &admin).await.is_empty(), "nothing was created");

        // A bad Authorization header is never passed over for the cookie.
        let response = app.client.post(app.url("/api/v1/activities")).header("cookie", &cookie)
            .header("authorization", "Bearer hm_nonsense").header("x-csrf-token", &csrf).json(&body).send().await.expect("post");
        assert_eq!(problem_code(response).await, (401, "unauthenticated".to_owned()));

        let origin = app.hourmark.settings().passkeys.staff_origin.origin().ascii_serialization();
        let created = post_with_cookie(&app, "/api/v1/activities", &cookie,
            &[("x-csrf-token", &csrf), ("origin", &origin)], activity_body(organisation_id, "页面创建的活动")).await;
        assert_eq!(created.status().as_u16(), 201);
        // Bearer clients need no CSRF token.
        app.post("/api/v1/activities", Some(&admin), activity_body(organisation_id, "接口创建的活动")).await.expect_status(201);
        assert_eq!(activity_names(&app, &admin).await, vec!["页面创建的活动", "接口创建的活动"]);

        // Signing out needs the token too; then the cookie is cleared and dead.
        let refused = post_with_cookie(&app, "/api/v1/console/sign-out", &cookie, &[], json!({})).await;
        assert_eq!(problem_code(refused).await, (403, "csrf_invalid".to_owned()));
        let still = app.client.get(app.url("/api/v1/me")).header("cookie", &cookie).send().await.expect("me");
        assert_eq!(still.status().as_u16(), 200, "a refused sign-out changed nothing");
        let out = post_with_cookie(&app, "/api/v1/console/sign-out", &cookie, &[("x-csrf-token", &csrf)], json!({})).await;
        assert_eq!(out.status().as_u16(), 200);
        let cleared = out.headers()["set-cookie"].to_str().expect("ascii").to_owned();
        assert!(cleared.starts_with("hourmark_staff=;") && cleared.contains("Max-Age=0"), "{cleared}");
        let gone = app.client.get(app.url("/api/v1/activities")).header("cookie", &cookie).send().await.expect("get");
        assert_eq!(problem_code(gone).await, (401, "unauthenticated".to_owned()));
        let page = no_redirects().get(app.url("/console")).header("cookie", &cookie).send().await.expect("page");
        assert_eq!(page.status().as_u16(), 303);
    }
}

on_both_backends! {
    async fn the_projector_shows_only_the_callers_activities(app: TestApp) {
        let admin = app.administrator().await;
        let ours = app.organisation(&admin, "翠湖志愿者协会").await;
        let theirs = app.organisation(&admin, "滇池志愿者协会").await;
        let other_organiser = app.organiser(&admin, theirs).await;
        let activity = app.activity(&other_organiser, theirs, json!({})).await;
        let (_, cookie, _) = browser_session(&app, &admin, ours).await;
        let client = no_redirects();
        let page = |path: String| client.get(app.url(&path)).header("cookie", &cookie).send();
        let id = activity["id"].as_i64().expect("id");
        let foreign = page(format!("/console/activities/{id}/projector?gate=0")).await.expect("page");
        assert_eq!(foreign.status().as_u16(), 404);
        assert!(foreign.text().await.expect("text").contains("活动不存在"));
        let listed = page("/console".into()).await.expect("page");
        assert_eq!(listed.status().as_u16(), 200);
        assert!(!listed.text().await.expect("text").contains("翠湖公园清洁"), "another organisation's activity is not listed");

        let own = app.activity(&admin, ours, json!({"name": "我们的活动", "code_mode": "separate"})).await;
        let own_id = own["id"].as_i64().expect("id");
        let shown = page(format!("/console/activities/{own_id}/projector?gate=1&direction=departure")).await.expect("page");
        assert_eq!(shown.status().as_u16(), 200);
        let html = shown.text().await.expect("text");
        assert!(html.contains("我们的活动") && html.contains("签退") && html.contains("南门"), "{html}");
        for bad in ["gate=7", "gate=0&direction=toggle", "gate=x"] {
            let refused = page(format!("/console/activities/{own_id}/projector?{bad}")).await.expect("page");
            assert!(matches!(refused.status().as_u16(), 400 | 404), "{bad}: {}", refused.status());
        }
    }
}

/// Behind HTTPS the session cookie is `__Host-` named and `Secure`, so a sibling
/// subdomain cannot plant one; a plain-named cookie is then not a session at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_https_the_session_cookie_is_host_prefixed_and_secure() {
    let origin = "https://console.hourmark.example";
    let database = Arc::new(TestDatabase::create(Backend::Sqlite).await);
    let app = TestApp::spawn_with(Backend::Sqlite, database, Uuid::new_v4().simple().to_string(), |config| {
        config.staff_origin = Some(origin.to_owned());
    })
    .await;
    let admin = app.administrator().await;
    let organisation_id = app.organisation(&admin, "翠湖志愿者协会").await;
    let created = app
        .post(
            "/api/v1/staff",
            Some(&admin),
            json!({"name": "李组织", "login": next_login(), "role": "organiser", "organisation_id": organisation_id}),
        )
        .await;
    created.expect_status(201);
    let start =
        app.post("/api/v1/invites/passkey/start", None, json!({ "invite": created.body["invite"]["token"] })).await;
    start.expect_status(200);
    let credential = register_at(Url::parse(origin).expect("origin"), &mut authenticator(), &start.body);
    let finished = app
        .client
        .post(app.url("/api/v1/invites/passkey/finish-browser"))
        .json(&json!({ "ceremony_id": start.body["ceremony_id"], "credential": credential }))
        .send()
        .await
        .expect("finish");
    assert_eq!(finished.status().as_u16(), 201);
    let set_cookie = finished.headers()["set-cookie"].to_str().expect("ascii").to_owned();
    assert!(set_cookie.starts_with("__Host-hourmark_staff=hm_"), "{set_cookie}");
    for attribute in ["Secure", "Path=/", "HttpOnly", "SameSite=Strict"] {
        assert!(set_cookie.contains(attribute), "{attribute} missing: {set_cookie}");
    }
    assert!(!set_cookie.contains("Domain"), "a __Host- cookie names no domain: {set_cookie}");
    let body: Value = finished.json().await.expect("json");
    let csrf = body["csrf_token"].as_str().expect("csrf").to_owned();
    let pair = set_cookie.split(';').next().expect("pair").to_owned();
    let token = pair.split_once('=').expect("pair").1.to_owned();

    let me = |cookie: String| app.client.get(app.url("/api/v1/me")).header("cookie", cookie).send();
    assert_eq!(me(pair.clone()).await.expect("me").status().as_u16(), 200);
    // The same token under the plain name, as a sibling subdomain could set it, is ignored.
    let plain = me(format!("hourmark_staff={token}")).await.expect("me");
    assert_eq!(problem_code(plain).await, (401, "unauthenticated".to_owned()));
    let page = no_redirects().get(app.url("/console")).header("cookie", format!("hourmark_staff={token}")).send().await;
    assert_eq!(page.expect("page").status().as_u16(), 303);

    let out = post_with_cookie(&app, "/api/v1/console/sign-out", &pair, &[("x-csrf-token", &csrf)], json!({})).await;
    assert_eq!(out.status().as_u16(), 200);
    let cleared = out.headers()["set-cookie"].to_str().expect("ascii").to_owned();
    assert!(cleared.starts_with("__Host-hourmark_staff=;") && cleared.contains("Secure"), "{cleared}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_pages_without_a_session_go_to_sign_in() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let client = no_redirects();
    for (path, cookie) in [
        ("/console", None),
        ("/console/activities/new", None),
        ("/console/activities/1/projector", None),
        ("/console", Some("hourmark_staff=hm_not-a-real-token")),
        ("/console", Some("hourmark_staff=hm_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")),
    ] {
        let mut request = client.get(app.url(path));
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        let response = request.send().await.expect("page");
        assert_eq!(response.status().as_u16(), 303, "{path} {cookie:?}");
        assert_eq!(response.headers()["location"], format!("/staff/sign-in?next={path}").as_str());
    }
    // A volunteer's token is no staff session.
    let (_, volunteer) = app.volunteer("张三", "13800001234").await;
    let response = client
        .get(app.url("/console"))
        .header("cookie", format!("hourmark_staff={volunteer}"))
        .send()
        .await
        .expect("page");
    assert_eq!(response.status().as_u16(), 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_has_the_security_headers_and_no_inline_script() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let admin = app.administrator().await;
    let organisation_id = app.organisation(&admin, "翠湖志愿者协会").await;
    let (_, cookie, _) = browser_session(&app, &admin, organisation_id).await;
    let activity = app.activity(&admin, organisation_id, json!({})).await["id"].as_i64().expect("id");
    let board = format!("/console/activities/{activity}/board");
    let screens = format!("/console/activities/{activity}/screens");
    for path in [
        "/",
        "/staff/sign-in",
        "/staff/enrol",
        "/publicity",
        "/S/ABC",
        "/console",
        "/console/activities/new",
        &board,
        &screens,
        "/docs/",
    ] {
        let response = app.client.get(app.url(path)).header("cookie", &cookie).send().await.expect("page");
        assert_eq!(response.status().as_u16(), 200, "{path}");
        let headers = response.headers().clone();
        assert!(headers["content-type"].to_str().expect("ascii").starts_with("text/html"), "{path}");
        let csp = headers["content-security-policy"].to_str().expect("ascii");
        for directive in ["default-src 'self'", "script-src 'self';", "frame-ancestors 'none'", "object-src 'none'"] {
            assert!(csp.contains(directive), "{path}: {directive} missing from {csp}");
        }
        assert!(!csp.split(';').any(|d| d.trim().starts_with("script-src") && d.contains("unsafe")), "{path}: {csp}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "same-origin", "{path}");
        let html = response.text().await.expect("text");
        if path != "/docs/" {
            // Every script is a file of ours; none is inline, none from elsewhere.
            for tag in html.split("<script").skip(1) {
                let open = tag.split('>').next().unwrap_or_default();
                assert!(open.contains("src=\"/"), "{path}: inline or foreign script <script{open}>");
            }
            assert!(path == "/publicity" || html.contains("<script"), "{path} uses a served script");
        }
    }
    for (asset, media_type) in [
        ("/console/static/console.js", "text/javascript; charset=utf-8"),
        ("/console/static/board.js", "text/javascript; charset=utf-8"),
        ("/console/static/staff.js", "text/javascript; charset=utf-8"),
        ("/console/static/projector.js", "text/javascript; charset=utf-8"),
        ("/console/static/screen-code.js", "text/javascript; charset=utf-8"),
        ("/console/static/qrcode-generator.js", "text/javascript; charset=utf-8"),
        ("/console/static/screens.js", "text/javascript; charset=utf-8"),
        ("/console/static/console.css", "text/css; charset=utf-8"),
        ("/mp/static/scan.js", "text/javascript; charset=utf-8"),
    ] {
        let response = app.client.get(app.url(asset)).send().await.expect("asset");
        assert_eq!(response.status().as_u16(), 200, "{asset}");
        assert_eq!(response.headers()["content-type"], media_type, "{asset}");
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    }
    app.call(reqwest::Method::GET, "/console/static/../Cargo.toml", None, None).await.expect_status(404);
    app.call(reqwest::Method::GET, "/console/static/nothing.js", None, None).await.expect_problem(404, "not_found");
}

/// The console in real Chromium: enrol and sign in with a passkey on a virtual
/// authenticator, sign out, be refused without the CSRF token, create an activity with
/// the form, open its projector, and scan the code read back from the screenshot.
/// Chromium and node come from `scripts/test`; without them this fails, never skips.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_in_chromium() {
    let app = TestApp::spawn_for_browser(Backend::Sqlite).await;
    let admin = app.administrator().await;
    let organisation_id = app.organisation(&admin, "翠湖志愿者协会").await;
    let login = next_login();
    let created = app
        .post(
            "/api/v1/staff",
            Some(&admin),
            json!({"name": "李组织", "login": login, "role": "organiser", "organisation_id": organisation_id}),
        )
        .await;
    created.expect_status(201);
    let invite = created.body["invite"]["token"].as_str().expect("invite");

    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let artifacts = root.join("../target/browser-artifacts/console");
    let wgs = hourmark_core::geo::LatLng { lat: 25.047, lng: 102.704 };
    let gcj = hourmark_core::geo::wgs84_to_gcj02(wgs);
    let input = json!({
        "base": app.browser_url(), "invite": invite, "login": login,
        "artifacts": artifacts, "activity_name": "翠湖公园清洁（控制台）",
        // What 高德 shows for the point whose WGS-84 position is 25.047, 102.704.
        "pasted": format!("{:.6},{:.6}", gcj.lng, gcj.lat),
    });
    let output = tokio::process::Command::new("node")
        .arg(root.join("browser/console.js"))
        .arg(input.to_string())
        .output()
        .await
        .expect("node runs (scripts/test installs it, and Chromium, and tests/browser's packages)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let result: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default()).unwrap_or_else(|e| {
        panic!("the script prints JSON ({e}): {stdout}\n{}", String::from_utf8_lossy(&output.stderr))
    });
    assert!(result.get("error").is_none(), "the browser run stopped: {result:#}");
    assert!(output.status.success(), "{result:#}");
    let base = app.browser_url();

    assert_eq!(result["landing_links"], json!(["/staff/sign-in", "/publicity", "/docs"]));
    assert_eq!(result["unauthenticated_url"], format!("{base}/staff/sign-in?next=/console"));
    assert_eq!(result["after_enrol_url"], format!("{base}/console"));
    assert_eq!(result["cookie"], json!({"httpOnly": true, "sameSite": "Strict", "secure": false}));
    assert_eq!(result["cookie_visible_to_script"], false);
    assert_eq!(result["cookie_after_sign_out"], false);
    assert_eq!(result["after_sign_out_url"], format!("{base}/staff/sign-in?next=/console"));
    assert_eq!(result["after_sign_in_url"], format!("{base}/console"));
    let devices = result["devices"].as_array().expect("devices");
    assert!(
        devices.iter().any(|d| d.as_str().is_some_and(|d| d.contains("浏览器登录") && d.contains("本设备"))),
        "{devices:?}"
    );
    assert_eq!(result["csrf_missing"], json!({"status": 403, "code": "csrf_invalid"}));
    assert_eq!(result["csrf_wrong"], json!({"status": 403, "code": "csrf_invalid"}));

    let activity_id = result["created_activity_id"].as_i64().expect("an activity was created");
    assert_eq!(result["listed_today"], json!(["翠湖公园清洁（控制台）"]));
    let stored = app.get(&format!("/api/v1/activities/{activity_id}"), &admin).await;
    stored.expect_status(200);
    assert_eq!(stored.body["starts_at"], "2026-12-05T08:00:00+08:00");

    // Edited in the form: the pasted GCJ-02 point is stored as WGS-84, the new radius,
    // the renamed gate and the added one.
    assert_eq!(result["edit_form"]["name"], "翠湖公园清洁（控制台）");
    assert_eq!(result["edit_form"]["gates"], json!(["北门", "南门"]));
    assert_eq!(result["edit_form"]["removable"], 0, "existing gates cannot be removed");
    assert!(result["edit_form"]["stored"].as_str().expect("text").contains("WGS-84"));
    assert_eq!(result["pasted_into"]["datum"], "gcj02");
    assert_eq!(result["pasted_into"]["lat"], format!("{:.6}", gcj.lat).trim_end_matches('0'));
    assert!(result["radius_note"].as_str().expect("text").contains("250"));
    assert_eq!(result["updated_activity_id"], activity_id);
    assert_eq!(stored.body["gates"], json!(["北门（主）", "南门", "西门"]));
    assert_eq!(stored.body["radius_m"], 250);
    let location = hourmark_core::geo::LatLng {
        lat: stored.body["location"]["lat"].as_f64().expect("lat"),
        lng: stored.body["location"]["lng"].as_f64().expect("lng"),
    };
    assert!(location.distance_m(&wgs) < 0.5, "stored {location:?}, want WGS-84 {wgs:?}");
    let audit = app.hourmark.store().audit_events("activity", activity_id).await.expect("audit");
    let edit = audit.iter().find(|a| a.action == "activity_updated").expect("the edit is audited");
    assert_eq!(edit.detail["changed"], json!(["location", "radius_m", "gates"]));
    assert_eq!(activity_names(&app, &admin).await.len(), 1, "the refused posts created nothing");

    assert_eq!(
        result["projector_url"],
        format!("{base}/console/activities/{activity_id}/projector?gate=0&direction=toggle")
    );
    assert_eq!(result["projector"]["name"], "翠湖公园清洁（控制台）");
    assert_eq!(result["projector"]["mode"], "签到/签退");
    assert_eq!(result["projector"]["inside_now"], "0");
    let countdown: u32 = result["projector"]["countdown"].as_str().and_then(|c| c.parse().ok()).expect("a number");
    assert!((1..=15).contains(&countdown), "countdown {countdown}");
    let qr_side = result["projector"]["qr_box"]["height"].as_f64().expect("height");
    assert!(qr_side >= 900.0, "the code fills most of a 1080p screen: {qr_side}px");
    assert_eq!(result["console_errors"], json!([]), "no script errors, no CSP violations");

    // The code on the screenshot, read by a real decoder, is one the scan API accepts.
    let shot = image::open(result["projector_shot"].as_str().expect("path")).expect("screenshot").to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(shot);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "one code on the projector");
    let (_, url) = grids[0].decode().expect("decodes");
    assert!(url.starts_with("HTTPS://HM.EXAMPLE.CN/S/"), "{url}");
    let (_, volunteer) = app.volunteer("张三", "13800001234").await;
    let scan = app.scan(&volunteer, &url).await;
    scan.expect_status(200);
    assert_eq!(scan.body["outcome"], "checked_in");
    assert_eq!(scan.body["activity_id"], activity_id);
    assert_eq!(scan.body["gate"], "北门（主）");
}

on_both_backends! {
    async fn a_signed_in_browser_gets_an_api_token_for_scripts(app: TestApp) {
        let admin = app.administrator().await;
        let organisation_id = app.organisation(&admin, "翠湖志愿者协会").await;
        let (_, cookie, csrf) = browser_session(&app, &admin, organisation_id).await;
        let path = "/api/v1/me/api-tokens";

        // Like every change through the cookie: not without the CSRF token.
        let refused = post_with_cookie(&app, path, &cookie, &[], json!({})).await;
        assert_eq!(problem_code(refused).await, (403, "csrf_invalid".to_owned()));
        app.post(path, None, json!({})).await.expect_problem(401, "unauthenticated");
        let (_, volunteer) = app.volunteer("张三", "13800001234").await;
        app.post(path, Some(&volunteer), json!({})).await.expect_problem(403, "forbidden");

        let issued = post_with_cookie(&app, path, &cookie, &[("x-csrf-token", &csrf)], json!({})).await;
        assert_eq!(issued.status().as_u16(), 201);
        assert_eq!(issued.headers()["cache-control"], "no-store");
        let issued: Value = issued.json().await.expect("json");
        let token = issued["access_token"].as_str().expect("token").to_owned();
        // The token works as a bearer (no CSRF token needed) and is the same person.
        let me = app.get("/api/v1/me", &token).await;
        me.expect_status(200);
        let created = app.post("/api/v1/activities", Some(&token), activity_body(organisation_id, "用令牌创建")).await;
        created.expect_status(201);
        assert!(activity_names(&app, &admin).await.contains(&"用令牌创建".to_owned()));
        // It is a session of its own: listed, and revocable without ending the browser's.
        let sessions = app.get("/api/v1/me/sessions", &token).await;
        assert!(sessions.body.as_array().is_some_and(|s| s.len() >= 2), "{}", sessions.body);
        let staff_id = me.body["staff"]["id"].as_i64().expect("id");
        let audit = app.hourmark.store().audit_events("staff", staff_id).await.expect("audit");
        assert!(audit.iter().any(|a| a.action == "api_token_issued"));
    }
}

//! Screen keys: a projector's own codes are accepted like the server's, within the key's
//! gate, direction and validity, until it is revoked (audited, on every instance); and
//! the page's JavaScript mints exactly what the Rust implementation does.

use chrono::Duration;
use data_encoding::BASE64URL_NOPAD;
use hourmark_core::qr::{CodeDirection, ScreenGrant, ScreenKey, sign_screen_code};
use hourmark_tests::{Backend, TestApp, on_both_backends};
use serde_json::{Value, json};

use crate::event;

/// The grant and key a `POST …/screen-keys` answer carries.
fn grant_of(issued: &Value) -> (ScreenGrant, ScreenKey) {
    let direction: CodeDirection = serde_json::from_value(issued["direction"].clone()).expect("direction");
    let grant = ScreenGrant {
        screen_key_id: u32::try_from(issued["id"].as_i64().expect("id")).expect("small id"),
        key_id: u8::try_from(issued["key_id"].as_u64().expect("key id")).expect("byte"),
        activity_id: u32::try_from(issued["code_activity_id"].as_u64().expect("activity")).expect("u32"),
        gate: u8::try_from(issued["gate"].as_u64().expect("gate")).expect("byte"),
        direction,
        last_window: u32::try_from(issued["last_window"].as_u64().expect("last window")).expect("u32"),
    };
    let bytes = BASE64URL_NOPAD.decode(issued["key"].as_str().expect("key").as_bytes()).expect("base64url");
    (grant, ScreenKey(bytes.try_into().expect("32 bytes")))
}

/// The URL a projector shows for `window`.
fn screen_url(grant: &ScreenGrant, key: &ScreenKey, window: u32) -> String {
    format!("HTTPS://HM.EXAMPLE.CN/S/{}", sign_screen_code(key, grant, window))
}

fn window_now(app: &TestApp) -> u32 {
    app.hourmark.settings().code_windows.window_at(app.clock_now())
}

async fn issue(app: &TestApp, staff: &str, activity_id: i64, gate: u8, direction: &str) -> Value {
    let issued = app
        .post(
            &format!("/api/v1/activities/{activity_id}/screen-keys"),
            Some(staff),
            json!({"gate": gate, "direction": direction}),
        )
        .await;
    issued.expect_status(201);
    issued.body
}

on_both_backends! {
    async fn a_projectors_own_codes_are_accepted_until_its_key_is_revoked(app: TestApp) {
        let e = event(&app, "toggle").await;
        let issued = issue(&app, &e.organiser, e.activity_id, 1, "toggle").await;
        // Valid for 12 hours at most, and not past the end plus the departure grace.
        let closes = app.clock_now() + Duration::hours(8) + app.hourmark.settings().checkin.checkout_closes_after;
        let expires = hourmark_core::activity::parse_local_or_offset(issued["expires_at"].as_str().expect("expires"))
            .expect("time");
        assert_eq!(expires, closes.min(app.clock_now() + Duration::hours(12)));
        assert_eq!(issued["server_time_ms"], app.clock_now().timestamp_millis());
        assert_eq!(issued["code_base_url"], "HTTPS://HM.EXAMPLE.CN/S/");
        let (grant, key) = grant_of(&issued);

        // A code the projector minted offline, ten minutes after the network went: accepted,
        // at the gate the key was for.
        app.advance(Duration::minutes(10));
        let url = screen_url(&grant, &key, window_now(&app));
        let read = app.call(reqwest::Method::GET, &format!("/mp/v1/codes/{}", &url[24..]), None, None).await;
        read.expect_status(200);
        assert_eq!(read.body["gate"], "南门");
        let scan = app.scan(&e.volunteer, &url).await;
        scan.expect_status(200);
        assert_eq!(scan.body["outcome"], "checked_in");
        assert_eq!(scan.body["gate"], "南门");

        // Freshness is judged as for the server's codes: an old window, a future one.
        app.advance(Duration::minutes(30));
        let stale = screen_url(&grant, &key, window_now(&app) - 2);
        app.scan(&e.volunteer, &stale).await.expect_problem(422, "code_expired");
        let early = screen_url(&grant, &key, window_now(&app) + 1);
        app.scan(&e.volunteer, &early).await.expect_problem(422, "code_not_yet_valid");

        // The key signs only its own gate and direction, under its own id.
        for other in [
            ScreenGrant { gate: 0, ..grant },
            ScreenGrant { direction: CodeDirection::Arrival, ..grant },
            ScreenGrant { screen_key_id: grant.screen_key_id + 1, ..grant },
        ] {
            let forged = screen_url(&other, &key, window_now(&app));
            app.scan(&e.volunteer, &forged).await.expect_problem(422, "code_invalid");
        }
        let stranger = ScreenKey([7; 32]);
        app.scan(&e.volunteer, &screen_url(&grant, &stranger, window_now(&app))).await.expect_problem(422, "code_invalid");

        // Another organisation's organiser can neither see nor revoke it.
        let other_org = app.organisation(&e.admin, "滇池志愿者协会").await;
        let outsider = app.organiser(&e.admin, other_org).await;
        let revoke_path = format!("/api/v1/activities/{}/screen-keys/{}/revoke", e.activity_id, grant.screen_key_id);
        app.post(&revoke_path, Some(&outsider), json!({})).await.expect_problem(404, "not_found");
        app.get(&format!("/api/v1/activities/{}/screen-keys", e.activity_id), &outsider)
            .await
            .expect_problem(404, "not_found");
        app.post(&revoke_path, Some(&e.volunteer), json!({})).await.expect_problem(403, "forbidden");
        app.post(&format!("/api/v1/activities/{}/screen-keys/999999/revoke", e.activity_id), Some(&e.organiser), json!({}))
            .await
            .expect_problem(404, "not_found");
        let listed = app.get(&format!("/api/v1/activities/{}/screen-keys", e.activity_id), &e.organiser).await;
        listed.expect_status(200);
        assert_eq!(listed.body[0]["revoked_at"], Value::Null, "the refused revocations changed nothing");
        assert!(listed.body[0].get("key").is_none(), "the list never shows a key");

        // Revoked: its codes are refused, read or scanned, and the revocation is audited once.
        let revoked = app.post(&revoke_path, Some(&e.organiser), json!({})).await;
        revoked.expect_status(200);
        assert!(revoked.body["revoked_at"].is_string());
        let url = screen_url(&grant, &key, window_now(&app));
        app.scan(&e.volunteer, &url).await.expect_problem(422, "screen_key_revoked");
        app.call(reqwest::Method::GET, &format!("/mp/v1/codes/{}", &url[24..]), None, None)
            .await
            .expect_problem(422, "screen_key_revoked");
        let again = app.post(&revoke_path, Some(&e.admin), json!({})).await;
        again.expect_status(200);
        assert_eq!(again.body["revoked_at"], revoked.body["revoked_at"], "revoking twice changes nothing");
        let audit = app.hourmark.store().audit_events("activity", e.activity_id).await.expect("audit");
        let revocations: Vec<_> = audit.iter().filter(|a| a.action == "screen_key_revoked").collect();
        assert_eq!(revocations.len(), 1);
        assert_eq!(revocations[0].detail["screen_key_id"], i64::from(grant.screen_key_id));
        // Issuing was audited too: who, which gate and direction, and until when.
        let issued: Vec<_> = audit.iter().filter(|a| a.action == "screen_key_issued").collect();
        assert_eq!(issued.len(), 1, "one key issued so far: {issued:?}");
        assert_eq!(issued[0].detail["screen_key_id"], i64::from(grant.screen_key_id));
        assert_eq!(issued[0].detail["gate"], 1);
        assert!(issued[0].detail["expires_at"].is_string(), "{:?}", issued[0].detail);
        assert!(issued[0].actor_id.is_some());

        // The server's own codes, and a new projector's, still work; the volunteer leaves.
        let fresh = issue(&app, &e.organiser, e.activity_id, 1, "toggle").await;
        let (fresh_grant, fresh_key) = grant_of(&fresh);
        assert_ne!(fresh_grant.screen_key_id, grant.screen_key_id);
        let out = app.scan(&e.volunteer, &screen_url(&fresh_grant, &fresh_key, window_now(&app))).await;
        out.expect_status(200);
        assert_eq!(out.body["outcome"], "checked_out");

        // After its last window even a correctly signed code of the key is refused.
        let end = hourmark_core::activity::parse_local_or_offset(fresh["expires_at"].as_str().expect("expires"))
            .expect("time");
        app.advance(end - app.clock_now() + Duration::seconds(1));
        assert!(window_now(&app) > fresh_grant.last_window);
        let late = screen_url(&fresh_grant, &fresh_key, window_now(&app));
        app.scan(&e.volunteer, &late).await.expect_problem(422, "code_expired");
    }
}

on_both_backends! {
    async fn a_screen_key_is_refused_for_what_the_activity_does_not_show(app: TestApp) {
        let e = event(&app, "separate").await;
        let path = format!("/api/v1/activities/{}/screen-keys", e.activity_id);
        for (body, status, code) in [
            (json!({"gate": 0, "direction": "toggle"}), 400, "invalid_parameter"),
            (json!({"gate": 2, "direction": "arrival"}), 400, "invalid_parameter"),
            (json!({"gate": 0, "direction": "sideways"}), 422, "invalid_body"),
            (json!({"gate": -1, "direction": "arrival"}), 422, "invalid_body"),
            (json!({"gate": 0}), 422, "invalid_body"),
            (json!({"gate": 0, "direction": "arrival", "extra": 1}), 422, "invalid_body"),
        ] {
            app.post(&path, Some(&e.organiser), body.clone()).await.expect_problem(status, code);
        }
        app.post("/api/v1/activities/999999/screen-keys", Some(&e.organiser), json!({"gate": 0, "direction": "arrival"}))
            .await
            .expect_problem(404, "not_found");
        let listed = app.get(&path, &e.organiser).await;
        listed.expect_status(200);
        assert_eq!(listed.body, json!([]), "nothing was issued");

        // Once the activity no longer takes scans, no key is issued.
        let grace = app.hourmark.settings().checkin.checkout_closes_after;
        app.advance(Duration::hours(8) + grace + Duration::minutes(1));
        app.post(&path, Some(&e.organiser), json!({"gate": 0, "direction": "departure"}))
            .await
            .expect_problem(409, "activity_ended");
        assert_eq!(app.get(&path, &e.organiser).await.body, json!([]));
        let audit = app.hourmark.store().audit_events("activity", e.activity_id).await.expect("audit");
        assert!(!audit.iter().any(|a| a.action == "screen_key_issued"), "a refused issue leaves no audit entry");
    }
}

/// Revoked at one instance, refused at the other at once: the shared cache holds the
/// revoked grant, not a stale valid one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_reaches_every_instance() {
    let a = TestApp::spawn(Backend::Postgres).await;
    let b = a.another_instance(|_| {}).await;
    let e = event(&a, "toggle").await;
    let issued = issue(&a, &e.organiser, e.activity_id, 0, "toggle").await;
    let (grant, key) = grant_of(&issued);
    // B reads (and caches) the valid grant first.
    b.scan(&e.volunteer, &screen_url(&grant, &key, window_now(&b))).await.expect_status(200);
    a.post(
        &format!("/api/v1/activities/{}/screen-keys/{}/revoke", e.activity_id, grant.screen_key_id),
        Some(&e.organiser),
        json!({}),
    )
    .await
    .expect_status(200);
    a.advance(Duration::minutes(20));
    b.advance(Duration::minutes(20));
    b.scan(&e.volunteer, &screen_url(&grant, &key, window_now(&b))).await.expect_problem(422, "screen_key_revoked");
}

/// The projector's JavaScript (run by node, as the page runs it) against ring and the
/// Rust token code: SHA-256 and HMAC-SHA256 vectors (RFC 4231 among them) and screen
/// tokens for many grants and windows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_projectors_javascript_mints_what_the_server_verifies() {
    use ring::{digest, hmac};
    let hex = |b: &[u8]| data_encoding::HEXLOWER.encode(b);
    let mut cases = Vec::new();
    let mut hashes = Vec::new();
    // Messages around the 55/56/64-byte padding edges, keys shorter and longer than a block.
    for (key_len, msg_len) in
        [(20, 8), (4, 28), (131, 54), (131, 152), (32, 0), (32, 55), (32, 56), (64, 64), (65, 119)]
    {
        let key: Vec<u8> = (0..key_len).map(|i| u8::try_from((i * 7 + 3) % 256).expect("byte")).collect();
        let msg: Vec<u8> = (0..msg_len).map(|i| u8::try_from((i * 13 + 1) % 256).expect("byte")).collect();
        let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &key), &msg);
        cases.push(json!({"key": hex(&key), "msg": hex(&msg), "mac": hex(tag.as_ref())}));
        hashes.push(json!({"msg": hex(&msg), "sha256": hex(digest::digest(&digest::SHA256, &msg).as_ref())}));
    }
    // RFC 4231 test case 2 as published.
    assert_eq!(
        hex(hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, b"Jefe"), b"what do ya want for nothing?").as_ref()),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
    cases.push(json!({
        "key": hex(b"Jefe"), "msg": hex(b"what do ya want for nothing?"),
        "mac": "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    }));
    let ring = hourmark_core::qr::KeyRing::new(vec![(9, vec![0x5a; 32])], 9).expect("ring");
    let mut tokens = Vec::new();
    for (word, direction) in [
        ("toggle", CodeDirection::Toggle),
        ("arrival", CodeDirection::Arrival),
        ("departure", CodeDirection::Departure),
    ] {
        for (screen_key_id, activity_id, gate, window) in
            [(1, 1, 0, 0), (77, 123_456, 63, 117_000_000), (u32::MAX, u32::MAX, 5, u32::MAX)]
        {
            let grant = ScreenGrant { screen_key_id, key_id: 9, activity_id, gate, direction, last_window: window };
            let key = ring.screen_key(&grant).expect("key");
            let token = sign_screen_code(&key, &grant, window);
            // The server verifies what it signed.
            match hourmark_core::qr::read(&ring, &token).expect("reads") {
                hourmark_core::qr::ScannedCode::Screen(code) => assert!(code.verify(&ring, &grant).is_ok()),
                other => panic!("{other:?}"),
            }
            tokens.push(json!({
                "key": BASE64URL_NOPAD.encode(&key.0), "id": screen_key_id, "key_id": 9,
                "code_activity_id": activity_id, "gate": gate, "direction": word,
                "window": window, "token": token,
            }));
        }
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let script = root.join("../server/src/console/static/screen-code.js");
    let check = r#"
const s = require(process.argv[1]);
const input = JSON.parse(process.argv[2]);
const hex = b => Buffer.from(b).toString("hex");
const bytes = h => new Uint8Array(Buffer.from(h, "hex"));
const out = { hashes: [], macs: [], tokens: [] };
for (const h of input.hashes) out.hashes.push(hex(s.sha256(bytes(h.msg))));
for (const c of input.cases) out.macs.push(hex(s.hmacSha256(bytes(c.key), bytes(c.msg))));
for (const t of input.tokens) out.tokens.push(s.mint(s.fromBase64Url(t.key), t, t.window));
process.stdout.write(JSON.stringify(out));
"#;
    let input = json!({"hashes": hashes, "cases": cases, "tokens": tokens});
    let output = tokio::process::Command::new("node")
        .arg("-e")
        .arg(check)
        .arg(&script)
        .arg(input.to_string())
        .output()
        .await
        .expect("node runs (scripts/test installs it)");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let got: Value = serde_json::from_slice(&output.stdout).expect("json");
    let want_hashes: Vec<Value> = hashes.iter().map(|h| h["sha256"].clone()).collect();
    let want_macs: Vec<Value> = cases.iter().map(|c| c["mac"].clone()).collect();
    let want_tokens: Vec<Value> = tokens.iter().map(|t| t["token"].clone()).collect();
    assert_eq!(got["hashes"], json!(want_hashes));
    assert_eq!(got["macs"], json!(want_macs));
    assert_eq!(got["tokens"], json!(want_tokens));
}

/// A console session cookie (its value) for a new organiser of `organisation_id`, enrolled
/// through the browser operation at the browser origin.
pub async fn cookie_for_browser(app: &TestApp, admin: &str, organisation_id: i64) -> String {
    cookie_for_role(app, admin, organisation_id, "organiser").await
}

/// A console session cookie (its value) for a new staff member of `role`.
pub async fn cookie_for_role(app: &TestApp, admin: &str, organisation_id: i64, role: &str) -> String {
    let created = app
        .post(
            "/api/v1/staff",
            Some(admin),
            json!({"name": "李组织", "login": hourmark_tests::next_login(), "role": role, "organisation_id": organisation_id}),
        )
        .await;
    created.expect_status(201);
    let start =
        app.post("/api/v1/invites/passkey/start", None, json!({ "invite": created.body["invite"]["token"] })).await;
    start.expect_status(200);
    let origin = reqwest::Url::parse(&app.browser_url()).expect("origin");
    let credential = hourmark_tests::register_at(origin, &mut hourmark_tests::authenticator(), &start.body);
    let response = app
        .client
        .post(app.url("/api/v1/invites/passkey/finish-browser"))
        .json(&json!({ "ceremony_id": start.body["ceremony_id"], "credential": credential }))
        .send()
        .await
        .expect("finish");
    assert_eq!(response.status().as_u16(), 201);
    let set_cookie = response.headers()["set-cookie"].to_str().expect("ascii").to_owned();
    let pair = set_cookie.split(';').next().expect("pair");
    pair.trim_start_matches("hourmark_staff=").to_owned()
}

/// The next JSON line the browser script prints.
async fn next_phase(lines: &mut tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>) -> Value {
    let line = tokio::time::timeout(std::time::Duration::from_secs(60), lines.next_line())
        .await
        .expect("the browser answers within a minute")
        .expect("read")
        .expect("a line");
    serde_json::from_str::<Value>(&line).unwrap_or_else(|e| panic!("JSON ({e}): {line}"))
}

/// The one code on a screenshot, read by a real decoder.
fn decode_screenshot(file: &str) -> String {
    let shot = image::open(file).expect("screenshot").to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(shot);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "one code on {file}");
    grids[0].decode().expect("decodes").1
}

/// The projector in real Chromium through a ten-minute network drop: the code it mints
/// offline, read from the screenshot, is accepted; after its key is revoked with the
/// screens page's button, the same code is refused and the projector stops.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_projector_keeps_minting_accepted_codes_offline_until_revoked() {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let app = TestApp::spawn_for_browser(Backend::Sqlite).await;
    let e = event(&app, "toggle").await;
    let cookie = cookie_for_browser(&app, &e.admin, e.organisation_id).await;
    let started = app.clock_now();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let input = json!({
        "base": app.browser_url(), "cookie": cookie, "activity_id": e.activity_id,
        "server_time_ms": started.timestamp_millis(),
        "artifacts": root.join("../target/browser-artifacts/projector"),
    });
    let mut child = tokio::process::Command::new("node")
        .arg(root.join("browser/projector.js"))
        .arg(input.to_string())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs (scripts/test installs it, and Chromium, and tests/browser's packages)");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let offline = next_phase(&mut lines).await;
    assert!(offline.get("error").is_none(), "the browser run stopped: {offline:#}");
    // Online, the projector shows its own code (a version-2 token, 40 characters).
    let online_url = decode_screenshot(offline["online_shot"].as_str().expect("shot"));
    let online_token = offline["online"]["token"].as_str().expect("token");
    assert_eq!(online_url, format!("HTTPS://HM.EXAMPLE.CN/S/{online_token}"));
    assert_eq!(online_token.len(), 40);
    // Reloaded, the page goes on with the key it had: no second key issued.
    assert_eq!(offline["reloaded"]["screen_key_id"], offline["online"]["screen_key_id"], "{offline:#}");
    assert!(offline["reloaded"]["token"].as_str().is_some_and(|t| t.len() == 40), "{offline:#}");
    let issued = app.get(&format!("/api/v1/activities/{}/screen-keys", e.activity_id), &e.organiser).await;
    assert_eq!(issued.body.as_array().map(Vec::len), Some(1), "one key for one projector: {}", issued.body);
    // Offline for ten minutes: a later window, drawn and said so on the screen.
    let url = decode_screenshot(offline["offline_shot"].as_str().expect("shot"));
    let token = offline["offline"]["token"].as_str().expect("token");
    assert_eq!(url, format!("HTTPS://HM.EXAMPLE.CN/S/{token}"));
    assert!(offline["offline"]["status"].as_str().expect("status").contains("网络已中断"));
    let windows = app.hourmark.settings().code_windows;
    let window = u32::try_from(offline["offline"]["window"].as_u64().expect("window")).expect("u32");
    let shown_at = windows.window_start(window);
    assert!(
        shown_at >= started + Duration::minutes(10) - Duration::seconds(15)
            && shown_at <= started + Duration::minutes(11),
        "the offline code is for ten minutes later: {shown_at}"
    );
    // The scan arrives while that code is on the screen.
    app.advance(shown_at + Duration::seconds(2) - app.clock_now());
    let scan = app.scan(&e.volunteer, &url).await;
    scan.expect_status(200);
    assert_eq!(scan.body["outcome"], "checked_in");
    assert_eq!(scan.body["gate"], "北门");

    stdin.write_all(b"revoke\n").await.expect("write");
    stdin.flush().await.expect("flush");
    let done = next_phase(&mut lines).await;
    assert!(done.get("error").is_none(), "the browser run stopped: {done:#}");
    assert_eq!(done["listed_state"], "有效");
    let sessions = done["sessions_text"].as_str().expect("sessions page");
    assert!(sessions.contains("张三") && sessions.contains("在场") && sessions.contains("未签退"), "{sessions}");
    assert_eq!(done["revoked_state"], "已撤销");
    assert!(done["confirm"].as_str().expect("asked first").contains("撤销投屏密钥"));
    assert!(done["after_revoke"]["status"].as_str().expect("status").contains("已被撤销"));
    assert_eq!(done["after_revoke"]["src"], Value::Null, "no code is shown after revocation");
    assert_eq!(done["console_errors"], json!([]), "no script errors, no CSP violations");
    let status = child.wait().await.expect("node ends");
    assert!(status.success());

    // The same code, scanned now by someone else: refused, and nothing recorded for them.
    let (_, other) = app.volunteer("李四", "13800005678").await;
    app.scan(&other, &url).await.expect_problem(422, "screen_key_revoked");
    let totals = app.get(&format!("/api/v1/activities/{}/totals", e.activity_id), &e.organiser).await;
    totals.expect_status(200);
    assert_eq!(totals.body["inside_now"], 1, "only the first volunteer is inside");
    let audit = app.hourmark.store().audit_events("activity", e.activity_id).await.expect("audit");
    assert_eq!(audit.iter().filter(|a| a.action == "screen_key_revoked").count(), 1);
}

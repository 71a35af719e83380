//! Bad input: each gets its problem+json code, and nothing is written but the refused-scan
//! entry where one applies.

use hourmark_tests::on_both_backends;
use serde_json::json;
use uuid::Uuid;

use crate::event;

/// A scan body with `code` and a fresh nonce.
fn scan_body(code: &str) -> serde_json::Value {
    json!({"code": code, "nonce": Uuid::new_v4(), "client_time": "2026-12-05T09:00:00+08:00", "device_id": "phone-1"})
}

on_both_backends! {
    async fn forged_truncated_oversized_and_foreign_codes_are_refused(app: TestApp) {
        let e = event(&app, "toggle").await;
        let code = app.code(&e.organiser, e.activity_id, 0, "toggle").await;
        let token = code["token"].as_str().expect("token").to_owned();
        let url = code["url"].as_str().expect("url").to_owned();

        // A forged MAC: change the last character.
        let mut forged = token.clone();
        let last = forged.pop().expect("char");
        forged.push(if last == 'A' { 'B' } else { 'A' });
        app.scan(&e.volunteer, &forged).await.expect_problem(422, "code_invalid");

        // Truncated, or padded past the token's length.
        app.scan(&e.volunteer, &token[..20]).await.expect_problem(422, "code_unreadable");
        app.scan(&e.volunteer, &format!("{token}AAAA")).await.expect_problem(422, "code_unreadable");
        // Someone else's QR code entirely.
        app.scan(&e.volunteer, "https://example.com/some/page").await.expect_problem(422, "code_unreadable");

        // This activity's code relabelled as another, existing activity's: the MAC is keyed
        // per activity, so the relabelled code is a forgery.
        let other_activity = app.activity(&e.organiser, e.organisation_id, json!({"name": "另一个活动"})).await;
        let other_id = u32::try_from(other_activity["id"].as_i64().expect("id")).expect("small");
        let mut bytes = data_encoding::BASE32_NOPAD.decode(token.as_bytes()).expect("base32");
        bytes[2..6].copy_from_slice(&other_id.to_be_bytes());
        let relabelled = data_encoding::BASE32_NOPAD.encode(&bytes);
        app.scan(&e.volunteer, &relabelled).await.expect_problem(422, "code_invalid");

        // Signed for another activity id with our key, but that activity does not exist.
        let keys = hourmark_core::qr::KeyRing::parse(hourmark_tests::TEST_QR_KEYS, None).expect("keys");
        let window = app.hourmark.settings().code_windows.window_at(app.clock_now());
        let other = keys.sign(999_999, 0, hourmark_core::qr::CodeDirection::Toggle, window).expect("sign");
        app.scan(&e.volunteer, &other.token).await.expect_problem(422, "code_invalid");

        // Signed under a key this server does not have.
        let stranger = hourmark_core::qr::KeyRing::parse("1:c3RyYW5nZXItc3RyYW5nZXItc3RyYW5nZXItc3RyYW5nZXI=", None).expect("keys");
        let foreign = stranger.sign(u32::try_from(e.activity_id).expect("small"), 0, hourmark_core::qr::CodeDirection::Toggle, window).expect("sign");
        app.scan(&e.volunteer, &foreign.token).await.expect_problem(422, "code_invalid");

        // The scanned text itself over 512 characters is a malformed request: not recorded.
        let before = app.scans_recorded(e.volunteer_id).await;
        app.scan(&e.volunteer, &format!("{url}?{}", "x".repeat(600))).await.expect_problem(422, "invalid_body");
        assert_eq!(app.scans_recorded(e.volunteer_id).await, before);
        // The refusals that are about the code are kept, with their reasons.
        assert_eq!(before, 7);
        let sessions = app.get(&format!("/api/v1/activities/{}/sessions", e.activity_id), &e.organiser).await;
        assert_eq!(sessions.body["sessions"], json!([]), "no refused scan counts as attendance");
        assert_eq!(sessions.body["totals"]["accepted_scans"], 0, "{}", sessions.body);
    }
}

on_both_backends! {
    async fn malformed_requests_get_their_codes_and_write_nothing(app: TestApp) {
        let e = event(&app, "toggle").await;
        let scans = app.url("/mp/v1/scans");
        let send = |body: reqwest::Body, content_type: Option<&'static str>| {
            let mut request = app.client.post(&scans).bearer_auth(&e.volunteer).body(body);
            if let Some(ct) = content_type {
                request = request.header("content-type", ct);
            }
            async move {
                let response = request.send().await.expect("sent");
                let status = response.status().as_u16();
                let ct = response.headers()["content-type"].to_str().expect("ascii").to_owned();
                let body: serde_json::Value = response.json().await.expect("problem json");
                (status, ct, body["code"].as_str().unwrap_or_default().to_owned())
            }
        };
        let json_ct = Some("application/json");
        let cases: Vec<(reqwest::Body, Option<&'static str>, u16, &str)> = vec![
            ("{not json".into(), json_ct, 400, "malformed_json"),
            (r#"{"code": 5, "nonce": "x", "client_time": "now", "device_id": "p"}"#.into(), json_ct, 422, "invalid_body"),
            (json!({"code": "X", "nonce": Uuid::new_v4(), "client_time": "2026-12-05T09:00:00+08:00", "device_id": "p", "extra": 1}).to_string().into(), json_ct, 422, "invalid_body"),
            (json!({"code": "X", "client_time": "2026-12-05T09:00:00+08:00", "device_id": "p"}).to_string().into(), json_ct, 422, "invalid_body"),
            (json!({"code": "X", "nonce": Uuid::new_v4(), "client_time": "2026-12-05T09:00:00+08:00", "device_id": "p", "location": {"lat": 95.0, "lng": 0.0, "accuracy_m": 5.0}}).to_string().into(), json_ct, 422, "invalid_body"),
            (json!({"code": "X", "nonce": Uuid::new_v4(), "client_time": "2026-12-05T09:00:00+08:00", "device_id": ""}).to_string().into(), json_ct, 422, "invalid_body"),
            (json!({"code": "X", "nonce": Uuid::new_v4(), "client_time": "-5000-01-01T00:00:00Z", "device_id": "p"}).to_string().into(), json_ct, 422, "invalid_body"),
            (json!({"code": "X", "nonce": Uuid::new_v4(), "client_time": "+275000-01-01T00:00:00Z", "device_id": "p"}).to_string().into(), json_ct, 422, "invalid_body"),
            (format!(r#"{{"code": "{}"}}"#, "A".repeat(17 * 1024)).into(), json_ct, 413, "payload_too_large"),
            (scan_body("X").to_string().into(), None, 415, "unsupported_media_type"),
            (scan_body("X").to_string().into(), Some("text/plain"), 415, "unsupported_media_type"),
        ];
        for (i, (body, ct, status, code)) in cases.into_iter().enumerate() {
            let (got_status, got_ct, got_code) = send(body, ct).await;
            assert_eq!((got_status, got_code.as_str()), (status, code), "case {i}");
            assert_eq!(got_ct, "application/problem+json", "case {i}");
        }
        assert_eq!(app.scans_recorded(e.volunteer_id).await, 0, "malformed requests are not recorded");
    }
}

on_both_backends! {
    async fn missing_wrong_and_misplaced_bearer_tokens_are_refused(app: TestApp) {
        let e = event(&app, "toggle").await;
        let url = app.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
        let no_token = app.post("/mp/v1/scans", None, scan_body(&url)).await;
        no_token.expect_problem(401, "unauthenticated");
        let fake = format!("hm_{}", "x".repeat(43));
        app.post("/mp/v1/scans", Some(&fake), scan_body(&url)).await.expect_problem(401, "unauthenticated");
        app.post("/mp/v1/scans", Some("garbage"), scan_body(&url)).await.expect_problem(401, "unauthenticated");
        let basic = app.client.post(app.url("/mp/v1/scans")).header("authorization", "Basic Zm9vOmJhcg==").json(&scan_body(&url)).send().await.expect("sent");
        assert_eq!(basic.status().as_u16(), 401);
        // A staff token cannot scan; a volunteer token cannot use the staff API.
        app.post("/mp/v1/scans", Some(&e.organiser), scan_body(&url)).await.expect_problem(403, "forbidden");
        app.get(&format!("/api/v1/activities/{}/code", e.activity_id), &e.volunteer).await.expect_problem(403, "forbidden");
        app.get(&format!("/api/v1/activities/{}/sessions", e.activity_id), &fake).await.expect_problem(401, "unauthenticated");
        assert_eq!(app.scans_recorded(e.volunteer_id).await, 0);

        // An expired token stops working.
        app.advance(chrono::Duration::days(31));
        app.post("/mp/v1/scans", Some(&e.volunteer), scan_body(&url)).await.expect_problem(401, "unauthenticated");
    }
}

on_both_backends! {
    async fn registration_and_activity_input_is_checked(app: TestApp) {
        let e = event(&app, "toggle").await;
        let fresh_id = hourmark_tests::next_resident_id();
        app.post("/mp/v1/volunteers", None, hourmark_tests::registration("重复", "+86 138 0000 1234", &fresh_id)).await
            .expect_problem(409, "phone_taken");
        app.post("/mp/v1/volunteers", None, hourmark_tests::registration("甲", "12345", &fresh_id)).await
            .expect_problem(422, "invalid_body");
        app.post("/mp/v1/volunteers", None, hourmark_tests::registration("", "13500001234", &fresh_id)).await
            .expect_problem(422, "invalid_body");
        let mut numeric_phone = hourmark_tests::registration("甲", "13500001234", &fresh_id);
        numeric_phone["phone"] = json!(13500001234_i64);
        let refused = app.post("/mp/v1/volunteers", None, numeric_phone).await;
        refused.expect_problem(422, "invalid_body");
        let detail = refused.body["detail"].as_str().expect("detail");
        assert!(detail.contains("phone") && !detail.contains("13500001234"), "names the field, not the value: {detail}");
        let bad_activity = json!({
            "organisation_id": e.organisation_id, "name": "x", "category": "gardening", "recipients": "r",
            "content": "c", "address": "a", "location": {"lat": 25.0, "lng": 102.0}, "radius_m": 100,
            "starts_at": "2026-12-05T08:00:00+08:00", "ends_at": "2026-12-05T17:00:00+08:00"
        });
        app.post("/api/v1/activities", Some(&e.organiser), bad_activity).await.expect_problem(422, "invalid_body");
        let backwards = json!({
            "organisation_id": e.organisation_id, "name": "x", "category": "environment", "recipients": "r",
            "content": "c", "address": "a", "location": {"lat": 25.0, "lng": 102.0}, "radius_m": 100,
            "starts_at": "2026-12-05T18:00:00+08:00", "ends_at": "2026-12-05T17:00:00+08:00"
        });
        app.post("/api/v1/activities", Some(&e.organiser), backwards).await.expect_problem(422, "invalid_body");
        app.post("/api/v1/organisations", Some(&e.admin), json!({"name": "翠湖志愿者协会", "region_code": "530102"})).await
            .expect_problem(409, "organisation_name_taken");
        app.get("/api/v1/activities/not-a-number", &e.organiser).await.expect_problem(400, "invalid_parameter");
        app.get(&format!("/api/v1/activities/{}/code?gate=9", e.activity_id), &e.organiser).await
            .expect_problem(400, "invalid_parameter");
        app.get(&format!("/api/v1/activities/{}/code?gate=abc", e.activity_id), &e.organiser).await
            .expect_problem(400, "invalid_parameter");
        let unknown_route = app.get("/api/v1/nothing-here", &e.organiser).await;
        unknown_route.expect_problem(404, "not_found");
        let wrong_method = app.call(reqwest::Method::DELETE, "/mp/v1/scans", None, None).await;
        wrong_method.expect_problem(405, "method_not_allowed");
    }
}

on_both_backends! {
    async fn a_body_of_the_wrong_shape_says_which_field_and_what_it_accepts(app: TestApp) {
        let e = event(&app, "toggle").await;
        let mut activity = json!({
            "organisation_id": e.organisation_id, "name": "翠湖清洁", "category": "13800001234", "recipients": "市民",
            "content": "捡拾垃圾", "address": "翠湖公园", "location": {"lat": 25.047, "lng": 102.704}, "radius_m": 300,
            "starts_at": "2026-12-05T08:00", "ends_at": "2026-12-05T17:00"
        });
        let wrong = app.post("/api/v1/activities", Some(&e.organiser), activity.clone()).await;
        wrong.expect_problem(422, "invalid_body");
        assert_eq!(wrong.body["field"], "category");
        let allowed: Vec<&str> = wrong.body["allowed"].as_array().expect("allowed").iter().filter_map(|v| v.as_str()).collect();
        assert!(allowed.contains(&"environment") && allowed.contains(&"elderly_help"), "{allowed:?}");
        let detail = wrong.body["detail"].as_str().expect("detail");
        assert!(detail.contains("category") && detail.contains("environment"), "{detail}");
        assert!(!String::from_utf8_lossy(&wrong.raw).contains("13800001234"), "the value given is not echoed");

        activity["category"] = json!("environment");
        activity["location"]["alt"] = json!(1900);
        let unknown = app.post("/api/v1/activities", Some(&e.organiser), activity.clone()).await;
        unknown.expect_problem(422, "invalid_body");
        assert_eq!(unknown.body["field"], "location.alt");

        activity["location"] = json!({"lat": "北纬25度", "lng": 102.704});
        let mistyped = app.post("/api/v1/activities", Some(&e.organiser), activity.clone()).await;
        mistyped.expect_problem(422, "invalid_body");
        assert_eq!(mistyped.body["field"], "location.lat");
        assert!(!String::from_utf8_lossy(&mistyped.raw).contains("北纬25度"));

        let scan = json!({"code": "x", "client_time": "2026-12-05T09:00:00+08:00", "device_id": "phone-1"});
        let missing = app.post("/mp/v1/scans", Some(&e.volunteer), scan).await;
        missing.expect_problem(422, "invalid_body");
        assert_eq!(missing.body["field"], "nonce");
        // Nothing was created by any of them.
        app.get(&format!("/api/v1/activities/{}", e.activity_id + 1), &e.organiser).await.expect_problem(404, "not_found");
        assert_eq!(app.scans_recorded(e.volunteer_id).await, 0);
    }
}

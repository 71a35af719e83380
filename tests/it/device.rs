//! Device binding: scans come from the bound device; re-binding has a cool-down and is
//! audited; scans from another device are kept as refused, the evidence of a shared account.

use chrono::Duration;
use hourmark_tests::{next_resident_id, on_both_backends, registration};
use serde_json::json;
use uuid::Uuid;

use crate::event;

fn scan_from(device: &str, url: &str) -> serde_json::Value {
    json!({"code": url, "nonce": Uuid::new_v4(), "client_time": "2026-12-05T09:00:00+08:00", "device_id": device})
}

on_both_backends! {
    async fn scans_come_from_the_bound_device_and_rebinding_waits(app: TestApp) {
        let e = event(&app, "toggle").await;
        let mut body = registration("绑定", "13300001111", &next_resident_id());
        body["device_id"] = json!("phone-A");
        let registered = app.post("/mp/v1/volunteers", None, body).await;
        registered.expect_status(201);
        let id = registered.body["volunteer"]["id"].as_i64().expect("id");
        let token = registered.body["access_token"].as_str().expect("token").to_owned();
        let url = app.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();

        app.post("/mp/v1/scans", Some(&token), scan_from("phone-B", &url)).await.expect_problem(403, "device_not_bound");
        assert_eq!(app.scans_recorded(id).await, 1, "kept as a refused scan");
        app.post("/mp/v1/scans", Some(&token), scan_from("phone-A", &url)).await.expect_status(200);

        // Tomorrow's activity, set up while the organiser's token is fresh.
        let next_day = app.activity(&e.organiser, e.organisation_id, json!({
            "name": "第二天", "starts_at": "2026-12-06T08:00:00+08:00", "ends_at": "2026-12-06T17:00:00+08:00"
        })).await;
        let next_day = next_day["id"].as_i64().expect("id");

        // A new phone right after registering: too soon.
        app.post("/mp/v1/me/device", Some(&token), json!({"device_id": "phone-B"})).await
            .expect_problem(409, "device_rebind_too_soon");
        app.post("/mp/v1/me/device", Some(&token), json!({"device_id": ""})).await.expect_problem(422, "invalid_body");
        app.advance(Duration::hours(24));
        let rebound = app.post("/mp/v1/me/device", Some(&token), json!({"device_id": "phone-B"})).await;
        rebound.expect_status(204);
        let audit = app.hourmark.store().audit_events("volunteer", id).await.expect("audit");
        assert_eq!(audit.len(), 1);
        assert_eq!(audit[0].action, "device_rebound");
        assert_eq!(audit[0].actor_id, Some(id));
        assert_eq!(audit[0].detail, json!({"from": "phone-A", "to": "phone-B"}));

        // A day later: the screen shows tomorrow's activity's code (staff tokens last a
        // working day, so the code comes straight from the server here).
        let screen = hourmark_core::identity::Principal::Staff {
            id: 1,
            role: hourmark_core::identity::StaffRole::Administrator,
            organisation_id: None,
        };
        let url = app
            .hourmark
            .current_code(&screen, next_day, 0, hourmark_core::qr::CodeDirection::Toggle)
            .await
            .expect("code")
            .url;
        app.post("/mp/v1/scans", Some(&token), scan_from("phone-A", &url)).await.expect_problem(403, "device_not_bound");
        app.post("/mp/v1/scans", Some(&token), scan_from("phone-B", &url)).await.expect_status(200);
    }
}

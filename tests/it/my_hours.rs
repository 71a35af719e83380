//! The volunteer's own view of their hours: each day with its minutes and where it stands
//! in the life of an hour, from scanned to confirmed by civil affairs, with the totals.

use chrono::Duration;
use hourmark_tests::on_both_backends;
use serde_json::json;

on_both_backends! {
    async fn a_day_is_followed_from_scan_to_confirmation(app: TestApp) {
        let (admin, mut admin_key) = app.administrator_with_passkey().await;
        let org = app.organisation(&admin, "翠湖志愿者协会").await;
        let organiser = app.organiser(&admin, org).await;
        let activity = app.activity(&organiser, org, json!({})).await["id"].as_i64().expect("id");
        let recorder = crate::review::recorder(&app, &admin, org).await;
        let (_, volunteer) = app.volunteer("张三", "13800001234").await;
        let empty = app.get("/mp/v1/me/hours", &volunteer).await;
        empty.expect_status(200);
        assert_eq!(empty.body, json!({"days": [], "recorded_minutes": 0, "confirmed_minutes": 0, "pending_minutes": 0}));

        // Checked in far from the venue: a flag the recorder decides.
        let url = app.code(&organiser, activity, 0, "toggle").await["url"].as_str().expect("url").to_owned();
        let far = json!({"code": url, "nonce": uuid::Uuid::new_v4(), "client_time": app.clock_now().to_rfc3339(),
            "device_id": "test-phone-1", "location": {"lat": 25.1, "lng": 102.8, "accuracy_m": 10.0}});
        app.post("/mp/v1/scans", Some(&volunteer), far).await.expect_status(200);
        app.advance(Duration::minutes(75));
        let inside = app.get("/mp/v1/me/hours", &volunteer).await.body;
        assert_eq!(inside["days"][0]["state"], "inside");
        assert_eq!(inside["days"][0]["minutes"], 75, "minutes so far");
        app.advance(Duration::minutes(60));
        let url = app.code(&organiser, activity, 0, "toggle").await["url"].as_str().expect("url").to_owned();
        app.scan(&volunteer, &url).await.expect_status(200);

        let scanned = app.get("/mp/v1/me/hours", &volunteer).await.body;
        let day = &scanned["days"][0];
        assert_eq!(day["activity_id"], activity);
        assert_eq!(day["activity_name"], "翠湖公园清洁");
        assert_eq!(day["day"], "2026-12-05");
        assert_eq!(day["minutes"], 135);
        assert_eq!(day["state"], "awaiting_review");
        assert_eq!(day["objection_open"], false);
        assert_eq!(scanned["pending_minutes"], 135);
        assert_eq!(scanned["recorded_minutes"], 0);
        let flag = &day["flags"][0];
        assert_eq!(flag["status"], "open");
        assert!(flag["explanation"].as_str().is_some_and(|x| x.contains("超出")), "{flag}");

        let review = app.get(&format!("/api/v1/activities/{activity}/review"), &recorder).await;
        let flag_id = review.body["days"][0]["flags"][0]["id"].clone();
        let resolve = format!("/api/v1/activities/{activity}/flags/{flag_id}/resolution");
        app.post(&resolve, Some(&recorder), json!({"decision": "adjust", "minutes": 120, "reason": "按签到表核实"}))
            .await
            .expect_status(200);
        let decided = app.get("/mp/v1/me/hours", &volunteer).await.body;
        let flag = &decided["days"][0]["flags"][0];
        assert_eq!((flag["status"].as_str(), flag["adjusted_minutes"].as_i64()), (Some("adjusted"), Some(120)));
        assert_eq!(flag["reason"], "按签到表核实");

        app.advance(Duration::hours(8));
        app.post(&format!("/api/v1/activities/{activity}/finalise"), Some(&recorder), json!({})).await.expect_status(201);
        let published = app.get("/mp/v1/me/hours", &volunteer).await.body;
        assert_eq!(published["days"][0]["state"], "in_publicity");
        assert!(published["days"][0]["publicity_until"].as_str().is_some_and(|d| d > "2026-12-05"), "{published}");
        assert_eq!(published["pending_minutes"], 120, "the adjusted minutes are the ones published");

        app.advance(Duration::days(4) + Duration::hours(5)); // Thursday 10 December: recorded
        assert_eq!(app.hourmark.advance_publicity().await.expect("job"), 1);
        let recorded = app.get("/mp/v1/me/hours", &volunteer).await.body;
        assert_eq!(recorded["days"][0]["state"], "recorded");
        assert!(recorded["days"][0].get("publicity_until").is_none());
        assert_eq!((recorded["recorded_minutes"].as_i64(), recorded["pending_minutes"].as_i64()), (Some(120), Some(0)));
        assert_eq!(recorded["confirmed_minutes"], 0);

        let admin = app.sign_in("admin", &mut admin_key).await.expect("passkey").body["access_token"]
            .as_str()
            .expect("token")
            .to_owned();
        let organiser = app.organiser(&admin, org).await;
        let officer = app.staff(&admin, json!({"name": "民政", "role": "officer", "region_code": "530102"})).await;
        let batch = app.post(&format!("/api/v1/organisations/{org}/report-batches"), Some(&organiser), json!({})).await;
        batch.expect_status(201);
        app.post(&format!("/api/v1/report-batches/{}/confirm", batch.body["id"]), Some(&officer), json!({}))
            .await
            .expect_status(200);
        let confirmed = app.get("/mp/v1/me/hours", &volunteer).await.body;
        assert_eq!(confirmed["days"][0]["state"], "confirmed");
        assert_eq!((confirmed["recorded_minutes"].as_i64(), confirmed["confirmed_minutes"].as_i64()), (Some(120), Some(120)));
        assert_eq!(confirmed["days"].as_array().map(Vec::len), Some(1));

        // Another volunteer sees none of it; staff may not ask.
        let (_, other) = app.volunteer("李四", "13900001234").await;
        assert_eq!(app.get("/mp/v1/me/hours", &other).await.body["days"], json!([]));
        app.get("/mp/v1/me/hours", &organiser).await.expect_problem(403, "forbidden");
    }
}

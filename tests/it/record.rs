//! A volunteer's record beyond hours: evaluations, satisfaction, complaints (only verified
//! ones count), training and awards, and the record that gathers them.

use chrono::Duration;
use hourmark_tests::on_both_backends;
use serde_json::json;

use crate::event;
use crate::review::recorder;

on_both_backends! {
    async fn the_record_gathers_service_evaluations_verified_complaints_training_and_awards(app: TestApp) {
        let e = event(&app, "toggle").await;
        let recorder = recorder(&app, &e.admin, e.organisation_id).await;
        let (bystander_id, _) = app.volunteer("李四", "13800005678").await;
        let url = app.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
        app.scan(&e.volunteer, &url).await.expect_status(200);
        app.advance(Duration::hours(3));
        let url = app.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
        app.scan(&e.volunteer, &url).await.expect_status(200);

        // Evaluations: by a recorder, only for those who served; the last one stands.
        let evaluate = |volunteer: i64| format!("/api/v1/activities/{}/evaluations/{volunteer}", e.activity_id);
        let put = |path: String, token: String, body: serde_json::Value| {
            let app = &app;
            async move { app.call(reqwest::Method::PUT, &path, Some(&token), Some(body)).await }
        };
        put(evaluate(e.volunteer_id), e.organiser.clone(), json!({"grade": "excellent", "comment": "认真负责"})).await
            .expect_problem(403, "forbidden");
        put(evaluate(bystander_id), recorder.clone(), json!({"grade": "good", "comment": "x"})).await
            .expect_problem(422, "invalid_body");
        put(evaluate(e.volunteer_id), recorder.clone(), json!({"grade": "splendid", "comment": "x"})).await
            .expect_problem(422, "invalid_body");
        put(evaluate(e.volunteer_id), recorder.clone(), json!({"grade": "good", "comment": "认真"})).await.expect_status(200);
        put(evaluate(e.volunteer_id), recorder.clone(), json!({"grade": "excellent", "comment": "认真负责"})).await
            .expect_status(200);
        let listed = app.get(&format!("/api/v1/activities/{}/evaluations", e.activity_id), &e.organiser).await;
        assert_eq!(listed.body.as_array().map(Vec::len), Some(1));
        assert_eq!(listed.body[0]["grade"], "excellent");
        let satisfaction = format!("/api/v1/activities/{}/satisfaction", e.activity_id);
        put(satisfaction.clone(), recorder.clone(), json!({"score": 6, "respondents": 3, "comment": "x"})).await
            .expect_problem(422, "invalid_body");
        put(satisfaction, recorder.clone(), json!({"score": 5, "respondents": 30, "comment": "居民满意"})).await
            .expect_status(200);

        // Complaints: filed, investigated, then verified or dismissed, once.
        let file = |description: &str| json!({
            "volunteer_id": e.volunteer_id, "activity_id": e.activity_id,
            "complainant": "王女士 13912345678", "description": description
        });
        let verified = app.post("/api/v1/complaints", Some(&e.organiser), file("态度恶劣")).await;
        verified.expect_status(201);
        assert_eq!(verified.body["status"], "filed");
        assert!(!String::from_utf8_lossy(&verified.raw).contains("13912345678"), "the complainant stays private");
        let dismissed = app.post("/api/v1/complaints", Some(&e.organiser), file("迟到")).await;
        let (v, d) = (verified.body["id"].clone(), dismissed.body["id"].clone());
        app.post(&format!("/api/v1/complaints/{v}/investigation"), Some(&e.organiser), json!({"note": ""})).await
            .expect_problem(422, "invalid_body");
        app.post(&format!("/api/v1/complaints/{v}/investigation"), Some(&e.organiser), json!({"note": "调取监控"})).await
            .expect_status(200);
        app.post(&format!("/api/v1/complaints/{v}/decision"), Some(&e.organiser),
            json!({"verified": true, "reason": "属实"})).await.expect_problem(403, "forbidden");
        app.post(&format!("/api/v1/complaints/{v}/decision"), Some(&recorder),
            json!({"verified": true, "reason": "监控属实"})).await.expect_status(200);
        app.post(&format!("/api/v1/complaints/{v}/decision"), Some(&recorder),
            json!({"verified": false, "reason": "改判"})).await.expect_problem(409, "complaint_decided");
        app.post(&format!("/api/v1/complaints/{d}/decision"), Some(&recorder),
            json!({"verified": false, "reason": "查无实据"})).await.expect_status(200);
        app.post(&format!("/api/v1/complaints/{d}/investigation"), Some(&recorder), json!({"note": "x"})).await
            .expect_problem(409, "complaint_decided");

        // Training and awards.
        app.post(&format!("/api/v1/volunteers/{}/trainings", e.volunteer_id), Some(&e.organiser),
            json!({"title": "急救培训", "held_on": "2026-11-01", "hours": 0})).await.expect_problem(422, "invalid_body");
        app.post(&format!("/api/v1/volunteers/{}/trainings", e.volunteer_id), Some(&e.organiser),
            json!({"title": "急救培训", "held_on": "2026-11-01", "hours": 4})).await.expect_status(201);
        app.post(&format!("/api/v1/volunteers/{}/awards", e.volunteer_id), Some(&recorder),
            json!({"title": "优秀志愿者", "awarded_by": "五华区民政局", "awarded_on": "2026-10-01"})).await
            .expect_status(201);
        app.post("/api/v1/volunteers/999999/awards", Some(&recorder),
            json!({"title": "优秀志愿者", "awarded_by": "x", "awarded_on": "2026-10-01"})).await
            .expect_problem(404, "not_found");

        // Finalise, then read the record from both sides.
        app.advance(Duration::hours(8));
        let review = app.get(&format!("/api/v1/activities/{}/review", e.activity_id), &recorder).await;
        for flag in review.body["days"].as_array().expect("days").iter().flat_map(|d| d["flags"].as_array().expect("f").clone()) {
            app.post(&format!("/api/v1/activities/{}/flags/{}/resolution", e.activity_id, flag["id"]), Some(&recorder),
                json!({"decision": "accept", "reason": "核实"})).await.expect_status(200);
        }
        app.post(&format!("/api/v1/activities/{}/finalise", e.activity_id), Some(&recorder), json!({})).await
            .expect_status(201);
        let own = app.get("/mp/v1/me/record", &e.volunteer).await;
        own.expect_status(200);
        assert_eq!(own.body["total_minutes"], 180);
        assert_eq!(own.body["sessions"][0]["activity_name"], "翠湖公园清洁");
        assert_eq!(own.body["evaluations"][0]["grade"], "excellent");
        let complaints = own.body["complaints"].as_array().expect("complaints");
        assert_eq!(complaints.len(), 1, "only the verified complaint enters the record");
        assert_eq!(complaints[0]["description"], "态度恶劣");
        assert_eq!(own.body["trainings"][0]["hours"], 4);
        assert_eq!(own.body["awards"][0]["title"], "优秀志愿者");
        let staff_view = app.get(&format!("/api/v1/volunteers/{}/record", e.volunteer_id), &e.admin).await;
        assert_eq!(staff_view.body, own.body);
    }
}

//! Activity leaders (活动负责人): they run the activities they are given, and see nothing
//! else of their organisation.

use hourmark_tests::on_both_backends;
use serde_json::json;

on_both_backends! {
    async fn a_leader_runs_only_the_activities_they_are_given(app: TestApp) {
        let admin = app.administrator().await;
        let org = app.organisation(&admin, "翠湖志愿者协会").await;
        let other_org = app.organisation(&admin, "滇池保护志愿队").await;
        let organiser = app.organiser(&admin, org).await;
        let login = hourmark_tests::next_login();
        let leader = app
            .staff(&admin, json!({"name": "赵领队", "login": login, "role": "leader", "organisation_id": org}))
            .await;
        let leader_id = app.get("/api/v1/me", &leader).await.body["staff"]["id"].as_i64().expect("id");
        assert_eq!(app.get("/api/v1/me", &leader).await.body["staff"]["role"], "leader");
        let outsider_leader = app
            .staff(&admin, json!({"name": "钱领队", "role": "leader", "organisation_id": other_org}))
            .await;
        let outsider_id = app.get("/api/v1/me", &outsider_leader).await.body["staff"]["id"].as_i64().expect("id");

        let led = app.activity(&organiser, org, json!({"name": "翠湖清洁"})).await["id"].as_i64().expect("id");
        let not_led = app.activity(&organiser, org, json!({"name": "翠湖巡河"})).await["id"].as_i64().expect("id");

        // Before assignment the leader does not even see the activity.
        app.get(&format!("/api/v1/activities/{led}"), &leader).await.expect_problem(404, "not_found");
        let assign = |activity: i64, staff: i64| format!("/api/v1/activities/{activity}/leaders/{staff}");
        app.call(reqwest::Method::PUT, &assign(led, leader_id), Some(&organiser), None).await.expect_status(204);
        app.call(reqwest::Method::PUT, &assign(led, leader_id), Some(&organiser), None).await.expect_status(204);
        let leaders = app.get(&format!("/api/v1/activities/{led}/leaders"), &organiser).await;
        assert_eq!(leaders.body.as_array().map(Vec::len), Some(1), "assigning twice is one assignment");
        assert_eq!(leaders.body[0]["login"], login);

        // Now they show the code and watch attendance there, and only there.
        app.get(&format!("/api/v1/activities/{led}"), &leader).await.expect_status(200);
        app.get(&format!("/api/v1/activities/{led}/code"), &leader).await.expect_status(200);
        app.get(&format!("/api/v1/activities/{led}/sessions"), &leader).await.expect_status(200);
        app.get(&format!("/api/v1/activities/{led}/totals"), &leader).await.expect_status(200);
        app.get(&format!("/api/v1/activities/{not_led}"), &leader).await.expect_problem(404, "not_found");
        app.get(&format!("/api/v1/activities/{not_led}/code"), &leader).await
            .expect_problem(404, "not_found");

        // They neither create activities nor hand out leadership.
        let body = json!({
            "organisation_id": org, "name": "活动", "category": "environment", "recipients": "市民",
            "content": "内容", "address": "地址", "location": {"lat": 25.0, "lng": 102.7}, "radius_m": 100,
            "starts_at": "2026-12-05T08:00:00+08:00", "ends_at": "2026-12-05T17:00:00+08:00"
        });
        app.post("/api/v1/activities", Some(&leader), body).await.expect_problem(403, "forbidden");
        app.call(reqwest::Method::PUT, &assign(led, leader_id), Some(&leader), None).await
            .expect_problem(403, "forbidden");

        // Only a leader of the activity's own organisation can be assigned.
        app.call(reqwest::Method::PUT, &assign(led, outsider_id), Some(&organiser), None).await
            .expect_problem(422, "invalid_body");
        app.call(reqwest::Method::PUT, &assign(led, 999_999), Some(&organiser), None).await
            .expect_problem(422, "invalid_body");

        // Unassigned: back to not knowing it.
        app.call(reqwest::Method::DELETE, &assign(led, leader_id), Some(&organiser), None).await.expect_status(204);
        app.call(reqwest::Method::DELETE, &assign(led, leader_id), Some(&organiser), None).await
            .expect_problem(404, "not_found");
        app.get(&format!("/api/v1/activities/{led}/sessions"), &leader).await.expect_problem(404, "not_found");

        // A leader needs an organisation.
        app.post("/api/v1/staff", Some(&admin), json!({"name": "孙", "login": "no.org", "role": "leader"})).await
            .expect_problem(422, "invalid_body");
    }
}

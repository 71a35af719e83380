//! Recording organisations: apply → checked by the region → approved by the level above →
//! public list; revocation stops recording at once and keeps history; officers act only
//! within their region.

use hourmark_tests::on_both_backends;
use serde_json::json;

async fn officer(app: &hourmark_tests::TestApp, admin: &str, region: &str) -> String {
    let answer =
        app.post("/api/v1/staff", Some(admin), json!({"name": "民政", "role": "officer", "region_code": region})).await;
    answer.expect_status(201);
    answer.body["access_token"].as_str().expect("token").to_owned()
}

on_both_backends! {
    async fn an_organisation_records_only_while_approved(app: TestApp) {
        let admin = app.administrator().await;
        let wuhua = officer(&app, &admin, "530102").await;
        let panlong = officer(&app, &admin, "530103").await;
        let kunming = officer(&app, &admin, "530100").await;
        let yunnan = officer(&app, &admin, "530000").await;
        app.post("/api/v1/staff", Some(&admin), json!({"name": "x", "role": "officer"})).await
            .expect_problem(422, "invalid_body");

        let applied = app.post("/api/v1/organisations/applications", None,
            json!({"name": "翠湖社区志愿服务站", "region_code": "530102"})).await;
        applied.expect_status(201);
        assert_eq!(applied.body["status"], "applied");
        let id = applied.body["id"].as_i64().expect("id");
        let public = app.call(reqwest::Method::GET, "/api/v1/public/organisations", None, None).await;
        assert!(public.body.as_array().expect("list").iter().all(|o| o["id"] != id), "not public before approval");

        // It may plan an activity, but check-in stays shut.
        let organiser = app.organiser(&admin, id).await;
        let activity = app.activity(&organiser, id, json!({})).await;
        let activity_id = activity["id"].as_i64().expect("id");
        assert_eq!(activity["organisation_approved"], false);
        let (_, volunteer) = app.volunteer("张三", "13800001234").await;
        let url = app.code(&organiser, activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
        app.scan(&volunteer, &url).await.expect_problem(409, "organisation_not_approved");

        // Out of region: unknown. Wrong order or wrong level: refused, nothing changes.
        app.post(&format!("/api/v1/organisations/{id}/check"), Some(&panlong), json!({})).await
            .expect_problem(404, "not_found");
        app.post(&format!("/api/v1/organisations/{id}/approve"), Some(&kunming), json!({})).await
            .expect_problem(409, "organisation_status_conflict");
        app.post(&format!("/api/v1/organisations/{id}/check"), Some(&organiser), json!({})).await
            .expect_problem(403, "forbidden");
        app.post(&format!("/api/v1/organisations/{id}/check"), Some(&kunming), json!({})).await
            .expect_problem(403, "forbidden");
        let checked = app.post(&format!("/api/v1/organisations/{id}/check"), Some(&wuhua), json!({})).await;
        checked.expect_status(200);
        assert_eq!(checked.body["status"], "checked");
        app.post(&format!("/api/v1/organisations/{id}/approve"), Some(&wuhua), json!({})).await
            .expect_problem(403, "forbidden");
        app.post(&format!("/api/v1/organisations/{id}/approve"), Some(&yunnan), json!({})).await
            .expect_problem(403, "forbidden");
        let approved = app.post(&format!("/api/v1/organisations/{id}/approve"), Some(&kunming), json!({})).await;
        approved.expect_status(200);
        assert_eq!(approved.body["status"], "approved");
        let public = app.call(reqwest::Method::GET, "/api/v1/public/organisations", None, None).await;
        assert!(public.body.as_array().expect("list").iter().any(|o| o["id"] == id));

        // Approved: check-in opens at once.
        app.scan(&volunteer, &url).await.expect_status(200);

        // Revoked: no reason, no revocation; with one, recording stops at once.
        app.post(&format!("/api/v1/organisations/{id}/revoke"), Some(&yunnan), json!({"reason": " "})).await
            .expect_problem(422, "invalid_body");
        let revoked = app.post(&format!("/api/v1/organisations/{id}/revoke"), Some(&yunnan), json!({"reason": "弄虚作假"})).await;
        revoked.expect_status(200);
        assert_eq!(revoked.body["status"], "revoked");
        app.advance(chrono::Duration::minutes(5));
        let url = app.code(&organiser, activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
        app.scan(&volunteer, &url).await.expect_problem(409, "organisation_not_approved");
        // History stays: the organisation and its scans are still there.
        let listed = app.get("/api/v1/organisations", &kunming).await;
        assert!(listed.body.as_array().expect("list").iter().any(|o| o["id"] == id && o["status"] == "revoked"));
        let sessions = app.get(&format!("/api/v1/activities/{activity_id}/sessions"), &organiser).await;
        assert_eq!(sessions.body.as_array().map(Vec::len), Some(1));
        app.post(&format!("/api/v1/organisations/{id}/revoke"), Some(&yunnan), json!({"reason": "again"})).await
            .expect_problem(409, "organisation_status_conflict");
    }
}

on_both_backends! {
    async fn university_groups_are_approved_by_the_province(app: TestApp) {
        let admin = app.administrator().await;
        let wuhua = officer(&app, &admin, "530102").await;
        let kunming = officer(&app, &admin, "530100").await;
        let yunnan = officer(&app, &admin, "530000").await;
        let applied = app.post("/api/v1/organisations/applications", None,
            json!({"name": "云南大学青年志愿者协会", "region_code": "530102", "kind": "university"})).await;
        let id = applied.body["id"].as_i64().expect("id");
        app.post(&format!("/api/v1/organisations/{id}/check"), Some(&wuhua), json!({})).await.expect_status(200);
        app.post(&format!("/api/v1/organisations/{id}/approve"), Some(&kunming), json!({})).await
            .expect_problem(403, "forbidden");
        let approved = app.post(&format!("/api/v1/organisations/{id}/approve"), Some(&yunnan), json!({})).await;
        approved.expect_status(200);
        assert_eq!(approved.body["kind"], "university");
        app.post("/api/v1/organisations/applications", None, json!({"name": "x", "region_code": "5301"})).await
            .expect_problem(422, "invalid_body");
        app.post("/api/v1/organisations/applications", None, json!({"name": "云南大学青年志愿者协会", "region_code": "530102"})).await
            .expect_problem(409, "organisation_name_taken");
    }
}

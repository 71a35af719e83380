//! Organisation boundaries: staff see and manage only their own organisation's activities.

use hourmark_tests::on_both_backends;
use serde_json::json;

use crate::event;

on_both_backends! {
    async fn organisers_cannot_reach_other_organisations(app: TestApp) {
        let e = event(&app, "toggle").await;
        let other_org = app.organisation(&e.admin, "滇池保护志愿队").await;
        let outsider = app.organiser(&e.admin, other_org).await;
        let paths = |id: i64| {
            ["", "/code", "/code.svg", "/code.png", "/sessions", "/totals"].map(|tail| format!("/api/v1/activities/{id}{tail}"))
        };
        for (path, missing) in paths(e.activity_id).into_iter().zip(paths(424_242)) {
            // Not found, as for an activity that does not exist: no existence leak.
            app.get(&path, &outsider).await.expect_problem(404, "not_found");
            app.get(&missing, &e.organiser).await.expect_problem(404, "not_found");
            app.get(&path, &e.organiser).await.expect_status(200);
            app.get(&path, &e.admin).await.expect_status(200);
        }
        let mine = app.activity(&outsider, other_org, json!({})).await;
        assert_eq!(mine["organisation_id"], other_org);
        let into_theirs = app.post("/api/v1/activities", Some(&outsider), json!({
            "organisation_id": e.organisation_id, "name": "x", "category": "environment", "recipients": "r",
            "content": "c", "address": "a", "location": {"lat": 25.0, "lng": 102.0}, "radius_m": 100,
            "starts_at": "2026-12-05T08:00:00+08:00", "ends_at": "2026-12-05T17:00:00+08:00"
        })).await;
        into_theirs.expect_problem(403, "forbidden");
        // Only administrators create organisations and staff.
        app.post("/api/v1/organisations", Some(&outsider), json!({"name": "新组织", "region_code": "530102"})).await
            .expect_problem(403, "forbidden");
        app.post("/api/v1/staff", Some(&outsider), json!({"name": "x", "login": "outsider.admin", "role": "administrator"})).await
            .expect_problem(403, "forbidden");
        let listed = app.get("/api/v1/organisations", &outsider).await;
        assert_eq!(listed.body.as_array().map(Vec::len), Some(1));
        assert_eq!(listed.body[0]["id"], other_org);
    }
}

//! Stars: applied for one at a time when the confirmed hours reach the province's
//! threshold, decided by the department of the star's level, blocked by a recent verified
//! complaint, and reviewed (never silently revoked) when a correction takes the holder
//! under a threshold.

use chrono::Duration;
use hourmark_tests::on_both_backends;
use reqwest::Method;
use serde_json::json;

use crate::time_bank::{serve_and_confirm, signed_in_admin};

on_both_backends! {
    async fn stars_are_earned_decided_at_their_level_and_reviewed_after_corrections(app: TestApp) {
        let mut s = serve_and_confirm(&app).await; // 3 confirmed hours, served in Wuhua (530102)
        let standing = app.get("/mp/v1/me/stars", &s.volunteer).await;
        standing.expect_status(200);
        assert_eq!(standing.body["stars"], 0);
        assert_eq!(standing.body["confirmed_hours"], 3);
        assert_eq!(standing.body["next"]["threshold_hours"], 100, "the national default");
        assert_eq!(standing.body["next"]["eligible"], false);
        let apply = |stars: u8| json!({"stars": stars});
        app.post("/mp/v1/me/star-applications", Some(&s.volunteer), apply(1)).await
            .expect_problem(409, "star_threshold_not_met");
        app.post("/mp/v1/me/star-applications", Some(&s.volunteer), apply(2)).await
            .expect_problem(422, "star_wrong_level");

        // Yunnan sets its own hours (small ones, so three hours go a long way here).
        let rule = json!({"thresholds": [2, 3, 4, 5, 6], "complaint_block_days": 365});
        app.call(Method::PUT, "/api/v1/star-rules/530102", Some(&s.admin), Some(rule.clone())).await
            .expect_problem(400, "region_code_invalid");
        app.call(Method::PUT, "/api/v1/star-rules/530000", Some(&s.officer), Some(rule.clone())).await
            .expect_problem(403, "forbidden");
        app.call(Method::PUT, "/api/v1/star-rules/530000", Some(&s.admin),
            Some(json!({"thresholds": [2, 2, 4, 5, 6], "complaint_block_days": 365}))).await
            .expect_problem(422, "invalid_body");
        app.call(Method::PUT, "/api/v1/star-rules/530000", Some(&s.admin), Some(rule.clone())).await.expect_status(200);
        assert_eq!(app.get("/api/v1/star-rules/530102", &s.officer).await.body, rule, "the province's rule");

        let applied = app.post("/mp/v1/me/star-applications", Some(&s.volunteer), apply(1)).await;
        applied.expect_status(201);
        assert_eq!(applied.body["decide_region"], "530102", "one star: the county");
        assert_eq!(applied.body["status"], "pending");
        app.post("/mp/v1/me/star-applications", Some(&s.volunteer), apply(1)).await
            .expect_problem(409, "star_application_pending");
        let id = applied.body["id"].clone();
        let decide = format!("/api/v1/star-applications/{id}/decision");
        let city = app.staff(&s.admin, json!({"name": "市民政", "role": "officer", "region_code": "530100"})).await;
        let other = app.staff(&s.admin, json!({"name": "盘龙", "role": "officer", "region_code": "530103"})).await;
        assert_eq!(app.get("/api/v1/star-applications", &city).await.body.as_array().map(Vec::len), Some(1));
        assert_eq!(app.get("/api/v1/star-applications", &other).await.body, json!([]));
        app.get("/api/v1/star-applications", &s.organiser).await.expect_problem(403, "forbidden");
        let grant = json!({"grant": true, "reason": "时长达标，无投诉"});
        app.post(&decide, Some(&city), grant.clone()).await.expect_problem(403, "forbidden");
        app.post(&decide, Some(&other), grant.clone()).await.expect_problem(404, "not_found");
        app.post(&decide, Some(&s.officer), json!({"grant": true, "reason": " "})).await
            .expect_problem(422, "invalid_body");
        let granted = app.post(&decide, Some(&s.officer), grant.clone()).await;
        granted.expect_status(200);
        assert_eq!(granted.body["status"], "granted");
        app.post(&decide, Some(&s.officer), grant.clone()).await.expect_problem(409, "star_application_decided");
        assert_eq!(app.get("/mp/v1/me/record", &s.volunteer).await.body["stars"], 1, "on the record");

        // A verified complaint within the year blocks the next application.
        let recorder = crate::review::recorder(&app, &s.admin, s.org).await;
        let complaint = app.post("/api/v1/complaints", Some(&s.organiser), json!({
            "volunteer_id": s.volunteer_id, "activity_id": s.activity,
            "complainant": "王女士 13912345678", "description": "态度恶劣"})).await;
        complaint.expect_status(201);
        app.post(&format!("/api/v1/complaints/{}/decision", complaint.body["id"]), Some(&recorder),
            json!({"verified": true, "reason": "属实"})).await.expect_status(200);
        let standing = app.get("/mp/v1/me/stars", &s.volunteer).await;
        assert_eq!(standing.body["next"]["eligible"], false);
        app.post("/mp/v1/me/star-applications", Some(&s.volunteer), apply(2)).await
            .expect_problem(409, "star_quality_blocked");
        app.call(Method::PUT, "/api/v1/star-rules/530000", Some(&s.admin),
            Some(json!({"thresholds": [2, 3, 4, 5, 6], "complaint_block_days": 0}))).await.expect_status(200);
        let second = app.post("/mp/v1/me/star-applications", Some(&s.volunteer), apply(2)).await;
        second.expect_status(201);
        app.post(&format!("/api/v1/star-applications/{}/decision", second.body["id"]), Some(&s.officer),
            grant.clone()).await.expect_status(200);
        app.post("/mp/v1/me/star-applications", Some(&s.volunteer), apply(3)).await
            .expect_problem(409, "star_threshold_not_met");
        assert_eq!(app.get("/mp/v1/me/stars", &s.volunteer).await.body["stars"], 2);

        // A correction to one hour: both stars are now above the hours, and each is put to
        // the county for review rather than revoked.
        let second_recorder = crate::review::recorder(&app, &s.admin, s.org).await;
        let corrections = format!("/api/v1/activities/{}/session-corrections", s.activity);
        let proposed = app.post(&corrections, Some(&recorder),
            json!({"volunteer_id": s.volunteer_id, "day": "2026-12-05", "minutes": 60, "reason": "复核"})).await;
        proposed.expect_status(201);
        app.post(&format!("{corrections}/{}/decision", proposed.body["id"]), Some(&second_recorder),
            json!({"approve": true, "reason": "核实"})).await.expect_status(200);
        app.advance(Duration::days(7));
        assert_eq!(app.hourmark.advance_publicity().await.expect("job"), 1);
        let admin = signed_in_admin(&app, &mut s.admin_key).await;
        let organiser = app.organiser(&admin, s.org).await;
        let county = app.staff(&admin, json!({"name": "民政", "role": "officer", "region_code": "530102"})).await;
        let city = app.staff(&admin, json!({"name": "市民政", "role": "officer", "region_code": "530100"})).await;
        let batch = app.post(&format!("/api/v1/organisations/{}/report-batches", s.org), Some(&organiser), json!({})).await;
        batch.expect_status(201);
        app.post(&format!("/api/v1/report-batches/{}/confirm", batch.body["id"]), Some(&county), json!({})).await
            .expect_status(200);
        let reviews = app.get("/api/v1/star-reviews", &county).await;
        let reviews = reviews.body.as_array().expect("reviews").clone();
        assert_eq!(reviews.len(), 2, "{reviews:?}");
        let of = |stars: u64| reviews.iter().find(|r| r["stars"] == stars).expect("review")["id"].clone();
        assert!(reviews.iter().all(|r| r["hours"] == 1));
        let (one, two) = (of(1), of(2));
        app.post(&format!("/api/v1/star-reviews/{two}/decision"), Some(&city),
            json!({"revoke": true, "reason": "时长不足"})).await.expect_problem(403, "forbidden");
        app.post(&format!("/api/v1/star-reviews/{two}/decision"), Some(&county),
            json!({"revoke": true, "reason": "更正后时长不足"})).await.expect_status(200);
        app.post(&format!("/api/v1/star-reviews/{two}/decision"), Some(&county),
            json!({"revoke": false, "reason": "改判"})).await.expect_problem(409, "star_application_decided");
        app.post(&format!("/api/v1/star-reviews/{one}/decision"), Some(&county),
            json!({"revoke": false, "reason": "另有服务记录待补报，保留"})).await.expect_status(200);
        let admin_record = app.get(&format!("/api/v1/volunteers/{}/record", s.volunteer_id), &county).await;
        assert_eq!(admin_record.body["stars"], 1, "{}", admin_record.body);
        assert_eq!(app.get("/api/v1/star-reviews", &county).await.body, json!([]));
    }
}

on_both_backends! {
    /// An organisation may let only volunteers holding a star spend their savings through
    /// it: below the star the spend is refused and nothing is posted; once the star is
    /// granted the same spend goes through. The common pool is not capped.
    async fn an_organisation_may_let_only_star_holders_spend(app: TestApp) {
        let s = serve_and_confirm(&app).await; // 180 confirmed minutes, no star
        let setting = format!("/api/v1/organisations/{}/time-bank", s.org);
        for bad in [0, 6] {
            app.call(Method::PUT, &setting, Some(&s.organiser), Some(json!({"enabled": true, "min_stars_to_spend": bad})))
                .await
                .expect_problem(422, "invalid_body");
        }
        app.call(Method::PUT, &setting, Some(&s.organiser), Some(json!({"enabled": true, "min_stars_to_spend": 1})))
            .await
            .expect_status(200);
        assert_eq!(app.get(&setting, &s.organiser).await.body["min_stars_to_spend"], 1);

        let spend = json!({"key": "meal-1", "volunteer_id": s.volunteer_id, "minutes": 30, "service": "助餐服务"});
        let refused = app.post("/api/v1/time-bank/spends", Some(&s.organiser), spend.clone()).await;
        refused.expect_problem(409, "time_bank_stars_required");
        assert!(refused.body["detail"].as_str().is_some_and(|d| d.contains("1 星") && d.contains("0 星")), "{}", refused.body);
        assert_eq!(app.get("/mp/v1/me/time-bank", &s.volunteer).await.body["balance_minutes"], 180, "nothing posted");
        // The pool is not the volunteer's savings: not capped (and empty, so refused for that).
        app.post("/api/v1/time-bank/spends", Some(&s.organiser),
            json!({"key": "pool-1", "minutes": 30, "service": "助餐服务"})).await
            .expect_problem(409, "time_bank_insufficient");

        // One star, granted by the county.
        let rule = json!({"thresholds": [2, 3, 4, 5, 6], "complaint_block_days": 365});
        app.call(Method::PUT, "/api/v1/star-rules/530000", Some(&s.admin), Some(rule)).await.expect_status(200);
        let applied = app.post("/mp/v1/me/star-applications", Some(&s.volunteer), json!({"stars": 1})).await;
        applied.expect_status(201);
        app.post(&format!("/api/v1/star-applications/{}/decision", applied.body["id"]), Some(&s.officer),
            json!({"grant": true, "reason": "时长达标"})).await.expect_status(200);

        let spent = app.post("/api/v1/time-bank/spends", Some(&s.organiser), spend).await;
        spent.expect_status(201);
        assert_eq!(app.get("/mp/v1/me/time-bank", &s.volunteer).await.body["balance_minutes"], 150);
        let audit = app.hourmark.store().audit_events("organisation", s.org).await.expect("audit");
        let set = audit.iter().rev().find(|a| a.action == "time_bank_set").expect("audited");
        assert_eq!(set.detail["min_stars_to_spend"], 1);
    }
}

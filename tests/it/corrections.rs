//! A volunteer's copy of their data, and correction requests decided by staff.

use hourmark_tests::{next_resident_id, on_both_backends, registration};
use serde_json::json;

on_both_backends! {
    async fn a_volunteer_downloads_everything_held_about_them(app: TestApp) {
        let e = crate::event(&app, "toggle").await;
        let url = app.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
        app.scan(&e.volunteer, &url).await.expect_status(200);
        app.scan(&e.volunteer, &url).await.expect_problem(409, "repeat_scan");
        // A staff read in clear shows up in their copy.
        app.get(&format!("/api/v1/volunteers/{}/personal-data", e.volunteer_id), &e.admin).await.expect_status(200);

        let response = app
            .client
            .get(app.url("/mp/v1/me/export"))
            .bearer_auth(&e.volunteer)
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), 200);
        let disposition = response.headers()["content-disposition"].to_str().expect("ascii").to_owned();
        assert!(disposition.starts_with("attachment; filename=\"hourmark-"), "{disposition}");
        assert!(disposition.ends_with("-20261205.json\""), "{disposition}");
        let export: serde_json::Value = response.json().await.expect("json");
        assert_eq!(export["volunteer"]["phone"], "13800001234", "their own copy is unmasked");
        assert!(export["consents"].as_array().is_some_and(|c| c.len() >= 3), "{}", export["consents"]);
        let scans = export["scans"].as_array().expect("scans");
        assert_eq!(scans.len(), 2, "accepted and refused scans alike: {scans:?}");
        assert_eq!(scans[0]["outcome"], "checked_in");
        assert_eq!(scans[0]["activity_name"], "翠湖公园清洁");
        assert_eq!(scans[1]["outcome"], "repeat_scan");
        let audit = export["audit"].as_array().expect("audit");
        assert!(audit.iter().any(|a| a["action"] == "personal_data_read"), "{audit:?}");

        // Staff tokens have no "own data" here.
        app.get("/mp/v1/me/export", &e.admin).await.expect_problem(403, "forbidden");
    }
}

on_both_backends! {
    async fn corrections_are_requested_decided_once_and_applied(app: TestApp) {
        let e = crate::event(&app, "toggle").await;
        let filed = app
            .post(
                "/mp/v1/me/corrections",
                Some(&e.volunteer),
                json!({"field": "name", "requested_value": "张叁", "reason": "登记时写错了字"}),
            )
            .await;
        filed.expect_status(201);
        assert_eq!(filed.body["status"], "open");
        let id = filed.body["id"].as_i64().expect("id");

        let open = app.get("/api/v1/corrections", &e.admin).await;
        assert_eq!(open.body.as_array().map(Vec::len), Some(1));
        app.get("/api/v1/corrections", &e.organiser).await.expect_problem(403, "forbidden");
        // Organisers do not decide; bad decisions change nothing.
        let decide = format!("/api/v1/corrections/{id}/decision");
        app.post(&decide, Some(&e.organiser), json!({"accept": true, "reason": "核实"})).await
            .expect_problem(403, "forbidden");
        app.post(&decide, Some(&e.admin), json!({"accept": true, "reason": ""})).await
            .expect_problem(422, "invalid_body");
        app.post("/api/v1/corrections/999999/decision", Some(&e.admin), json!({"accept": true, "reason": "核实"}))
            .await
            .expect_problem(404, "not_found");
        assert_eq!(app.get("/mp/v1/me", &e.volunteer).await.body["volunteer"]["name"], "张三");

        let decided = app.post(&decide, Some(&e.admin), json!({"accept": true, "reason": "与身份证一致"})).await;
        decided.expect_status(200);
        assert_eq!(decided.body["status"], "accepted");
        assert_eq!(app.get("/mp/v1/me", &e.volunteer).await.body["volunteer"]["name"], "张叁");
        // Once only.
        app.post(&decide, Some(&e.admin), json!({"accept": false, "reason": "再看看"})).await
            .expect_problem(409, "correction_decided");
        assert_eq!(app.get("/mp/v1/me", &e.volunteer).await.body["volunteer"]["name"], "张叁");
        assert!(app.get("/api/v1/corrections", &e.admin).await.body.as_array().is_some_and(Vec::is_empty));

        // The volunteer sees the decision; the audit log names who and why, not the value.
        let mine = app.get("/mp/v1/me/corrections", &e.volunteer).await;
        assert_eq!(mine.body[0]["decision_reason"], "与身份证一致");
        let audit = app.get(&format!("/api/v1/volunteers/{}/audit", e.volunteer_id), &e.admin).await;
        let entry = audit.body.as_array().expect("audit").iter().find(|a| a["action"] == "correction_accepted").cloned();
        let entry = entry.expect("audited");
        assert_eq!(entry["detail"]["field"], "name");
        assert!(!String::from_utf8_lossy(&audit.raw).contains("张叁"));

        // A rejection changes nothing but the request.
        let skills = app
            .post(
                "/mp/v1/me/corrections",
                Some(&e.volunteer),
                json!({"field": "skills", "requested_value": "急救、外语", "reason": "新学了外语"}),
            )
            .await;
        let skills_id = skills.body["id"].as_i64().expect("id");
        app.post(&format!("/api/v1/corrections/{skills_id}/decision"), Some(&e.admin),
            json!({"accept": false, "reason": "请提供证书"})).await.expect_status(200);
        assert_eq!(app.get("/mp/v1/me", &e.volunteer).await.body["volunteer"]["skills"], json!(["急救"]));
    }
}

on_both_backends! {
    async fn what_cannot_be_corrected_is_refused_up_front(app: TestApp) {
        let e = crate::event(&app, "toggle").await;
        let ask = |field: &str, value: &str| {
            app.post(
                "/mp/v1/me/corrections",
                Some(&e.volunteer),
                json!({"field": field, "requested_value": value, "reason": "理由"}),
            )
        };
        // A resident ID decides gender and birth month.
        ask("gender", "2").await.expect_problem(422, "invalid_body");
        ask("birth_month", "1990-01").await.expect_problem(422, "invalid_body");
        // Values that could never be applied.
        ask("name", "").await.expect_problem(422, "invalid_body");
        ask("skills", &"技".repeat(31)).await.expect_problem(422, "invalid_body");
        ask("id_number", "110101199003074514").await.expect_problem(422, "invalid_body");
        assert!(app.get("/mp/v1/me/corrections", &e.volunteer).await.body.as_array().is_some_and(Vec::is_empty));

        // A passport holder's gender and birth month are theirs to correct.
        let mut passport = registration("约翰", "13900001111", &next_resident_id());
        passport["id_type"] = json!("passport");
        passport["id_number"] = json!("E12345678");
        passport["gender"] = json!(1);
        passport["birth_month"] = json!("1990-05");
        let john = app.post("/mp/v1/volunteers", None, passport).await;
        john.expect_status(201);
        let john = john.body["access_token"].as_str().expect("token").to_owned();
        let filed = app
            .post(
                "/mp/v1/me/corrections",
                Some(&john),
                json!({"field": "birth_month", "requested_value": "1990-06", "reason": "月份登记错了"}),
            )
            .await;
        filed.expect_status(201);
        let decide = format!("/api/v1/corrections/{}/decision", filed.body["id"]);
        app.post(&decide, Some(&e.admin), json!({"accept": true, "reason": "与护照一致"})).await.expect_status(200);
        assert_eq!(app.get("/mp/v1/me", &john).await.body["volunteer"]["birth_month"], "1990-06");

        // At most five waiting at once.
        for n in 0..5 {
            ask("other", &format!("第 {n} 条")).await.expect_status(201);
        }
        ask("other", "第六条").await.expect_problem(409, "corrections_pending");
    }
}

on_both_backends! {
    async fn officers_decide_for_volunteers_who_served_in_their_region(app: TestApp) {
        let e = crate::event(&app, "toggle").await;
        let wuhua = app.staff(&e.admin, json!({"name": "民政", "role": "officer", "region_code": "530102"})).await;
        let panlong = app.staff(&e.admin, json!({"name": "民政", "role": "officer", "region_code": "530103"})).await;
        let url = app.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
        app.scan(&e.volunteer, &url).await.expect_status(200);
        let filed = app
            .post(
                "/mp/v1/me/corrections",
                Some(&e.volunteer),
                json!({"field": "other", "requested_value": "12月5日少记了一小时", "reason": "签退时手机没电"}),
            )
            .await;
        let decide = format!("/api/v1/corrections/{}/decision", filed.body["id"]);

        assert_eq!(app.get("/api/v1/corrections", &wuhua).await.body.as_array().map(Vec::len), Some(1));
        assert_eq!(app.get("/api/v1/corrections", &panlong).await.body.as_array().map(Vec::len), Some(0));
        app.post(&decide, Some(&panlong), json!({"accept": true, "reason": "核实"})).await
            .expect_problem(404, "not_found");
        let decided = app.post(&decide, Some(&wuhua), json!({"accept": true, "reason": "已转组织补录"})).await;
        decided.expect_status(200);
        assert_eq!(decided.body["decided_by"], app.get("/api/v1/me", &wuhua).await.body["staff"]["id"]);
    }
}

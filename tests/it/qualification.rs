//! Recorders' qualification over time: civil affairs records annual reviews and renewed
//! certificates (audited, kept in an append-only history); a lapsed recorder is qualified
//! again with the same login; recorders are warned 30 days ahead; administrators and
//! officers list the staff they oversee with each recorder's state.

use chrono::Duration;
use hourmark_tests::{Backend, SoftPasskey, TestApp, on_both_backends};
use serde_json::{Value, json};

/// The test day is 2026-12-05 (Kunming): a certificate due on 2026-12-04 has lapsed.
async fn recorder(app: &TestApp, admin: &str, organisation_id: i64, number: &str, due: &str) -> (i64, String) {
    let token = app
        .staff(
            admin,
            json!({
                "name": "王记录", "role": "recorder", "organisation_id": organisation_id,
                "qualification": {"certificate_number": number, "issued_on": "2025-12-01", "review_due_on": due}
            }),
        )
        .await;
    (staff_id(app, &token).await, token)
}

/// A staff member whose passkey the test keeps → (token, login, passkey), to sign in
/// again once the clock has moved past the token's 12 hours.
async fn staff_with_passkey(app: &TestApp, admin: &str, mut body: Value) -> (String, String, SoftPasskey) {
    let login = hourmark_tests::next_login();
    body["login"] = json!(login);
    let answer = app.post("/api/v1/staff", Some(admin), body).await;
    answer.expect_status(201);
    let invite = answer.body["invite"]["token"].as_str().expect("invite").to_owned();
    let mut passkey = hourmark_tests::authenticator();
    let enrolled = app.enrol(&invite, &mut passkey).await;
    enrolled.expect_status(201);
    (enrolled.body["access_token"].as_str().expect("token").to_owned(), login, passkey)
}

async fn sign_in_again(app: &TestApp, login: &str, passkey: &mut SoftPasskey) -> String {
    let answer = app.sign_in(login, passkey).await.expect("the passkey is offered");
    answer.expect_status(200);
    answer.body["access_token"].as_str().expect("token").to_owned()
}

async fn staff_id(app: &TestApp, token: &str) -> i64 {
    app.get("/api/v1/me", token).await.body["staff"]["id"].as_i64().expect("id")
}

async fn officer(app: &TestApp, admin: &str, region: &str, agency: &str) -> String {
    app.staff(admin, json!({"name": "民政", "role": "officer", "region_code": region, "agency": agency})).await
}

/// An organisation in `region`, approved (the development shortcut).
async fn organisation(app: &TestApp, admin: &str, name: &str, region: &str) -> i64 {
    let answer = app.post("/api/v1/organisations", Some(admin), json!({"name": name, "region_code": region})).await;
    answer.expect_status(201);
    answer.body["id"].as_i64().expect("id")
}

/// The recorder's certificate as the store holds it: what the gates read.
async fn certificate(app: &TestApp, id: i64) -> Value {
    let staff = app.hourmark.store().get_staff(id).await.expect("read").expect("staff");
    serde_json::to_value(staff.qualification).expect("json")
}

async fn history_len(app: &TestApp, id: i64) -> usize {
    app.hourmark.store().qualification_history(id).await.expect("history").len()
}

async fn audited(app: &TestApp, id: i64) -> Vec<hourmark_core::audit::AuditEvent> {
    app.hourmark.store().audit_events("staff", id).await.expect("audit")
}

/// Rewrites and deletes the history behind the application's back: the triggers refuse.
async fn tamper_with_history(app: &TestApp) {
    let update = "update recorder_qualification_event set review_due_on = '2099-12-31'";
    let delete = "delete from recorder_qualification_event";
    let refused = match app.backend {
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&app.config.database_url).await.expect("connect");
            sqlx::query(delete).execute(&pool).await.expect_err("append-only");
            sqlx::query(update).execute(&pool).await.expect_err("append-only")
        }
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&app.config.database_url).await.expect("connect");
            sqlx::query(delete).execute(&pool).await.expect_err("append-only");
            sqlx::query(update).execute(&pool).await.expect_err("append-only")
        }
    };
    assert!(refused.to_string().contains("append-only"), "{refused}");
}

on_both_backends! {
    async fn a_review_restores_a_lapsed_recorder_with_the_same_login(app: TestApp) {
        let admin = app.administrator().await;
        let org = organisation(&app, &admin, "翠湖志愿者协会", "530102").await;
        let organiser = app.organiser(&admin, org).await;
        let activity = app.activity(&organiser, org, json!({})).await["id"].as_i64().expect("id");
        let (recorder_id, recorder) = recorder(&app, &admin, org, "YN-2025-0001", "2026-12-04").await;
        let kunming = officer(&app, &admin, "530100", "civil_affairs").await;
        let kunming_id = staff_id(&app, &kunming).await;
        let panlong = officer(&app, &admin, "530103", "civil_affairs").await;
        let league = officer(&app, &admin, "530000", "youth_league").await;
        let (_, volunteer) = app.volunteer("张三", "13800001234").await;
        // 20:00: the activity's check-out window has closed.
        app.advance(Duration::hours(11));
        let finalise = format!("/api/v1/activities/{activity}/finalise");

        // Lapsed: may not finalise, and is told why on their profile.
        app.post(&finalise, Some(&recorder), json!({})).await.expect_problem(403, "forbidden");
        app.get(&format!("/api/v1/activities/{activity}/finalisation"), &organiser).await
            .expect_problem(404, "not_found");
        let me = app.get("/api/v1/me", &recorder).await;
        assert_eq!(me.body["qualification_valid"], false);
        assert_eq!(me.body["qualification_warning"]["review_due_on"], "2026-12-04");
        assert_eq!(me.body["qualification_warning"]["days_left"], -1);
        assert!(me.body["qualification_warning"]["message"].as_str().is_some_and(|m| m.contains("失效")));

        // Only civil affairs of the region records a review: administrators, the
        // organisation's own staff, the Youth League and volunteers are refused; another
        // district does not know the recorder. Bad dates are refused. Nothing changes.
        let reviews = format!("/api/v1/staff/{recorder_id}/qualification/reviews");
        for token in [&admin, &organiser, &recorder, &league, &volunteer] {
            app.post(&reviews, Some(token), json!({})).await.expect_problem(403, "forbidden");
        }
        app.post(&reviews, Some(&panlong), json!({})).await.expect_problem(404, "not_found");
        app.post(&reviews, None, json!({})).await.expect_problem(401, "unauthenticated");
        app.post(&reviews, Some(&kunming), json!({"reviewed_on": "2026-12-06"})).await
            .expect_problem(422, "invalid_body");
        app.post(&reviews, Some(&kunming), json!({"reviewed_on": "2025-11-30"})).await
            .expect_problem(422, "invalid_body");
        app.post(&reviews, Some(&kunming), json!({"passed": true})).await.expect_problem(422, "invalid_body");
        assert_eq!(certificate(&app, recorder_id).await["review_due_on"], "2026-12-04");
        assert_eq!(history_len(&app, recorder_id).await, 0);
        assert!(audited(&app, recorder_id).await.iter().all(|a| !a.action.starts_with("recorder_")));
        app.post(&finalise, Some(&recorder), json!({})).await.expect_problem(403, "forbidden");

        // The prefecture covers the district: the review is recorded, and since it had
        // lapsed, the next is due a year after the review.
        let reviewed = app.post(&reviews, Some(&kunming), json!({})).await;
        reviewed.expect_status(201);
        assert_eq!(reviewed.body["event"]["kind"], "annual_review");
        assert_eq!(reviewed.body["event"]["reviewed_on"], "2026-12-05");
        assert_eq!(reviewed.body["event"]["previous"]["review_due_on"], "2026-12-04");
        assert_eq!(reviewed.body["event"]["qualification"]["review_due_on"], "2027-12-05");
        assert_eq!(reviewed.body["event"]["qualification"]["certificate_number"], "YN-2025-0001");
        assert_eq!(reviewed.body["event"]["recorded_by"], kunming_id);
        assert_eq!(reviewed.body["recorder"]["qualification"]["state"], "valid");
        assert_eq!(reviewed.body["recorder"]["qualification"]["days_left"], 365);
        assert_eq!(certificate(&app, recorder_id).await["review_due_on"], "2027-12-05");

        // This year's review counts once.
        app.post(&reviews, Some(&kunming), json!({})).await.expect_problem(409, "annual_review_not_due");
        assert_eq!(certificate(&app, recorder_id).await["review_due_on"], "2027-12-05");
        assert_eq!(history_len(&app, recorder_id).await, 1);

        // Same login, qualified again: no warning, and finalising works.
        let me = app.get("/api/v1/me", &recorder).await;
        assert_eq!(me.body["qualification_valid"], true);
        assert!(me.body.get("qualification_warning").is_none(), "{}", me.body);
        app.post(&finalise, Some(&recorder), json!({})).await.expect_status(201);

        // Audited once, with who and what changed; the history says the same, and the
        // database refuses to rewrite it.
        let entries: Vec<_> =
            audited(&app, recorder_id).await.into_iter().filter(|a| a.action.starts_with("recorder_")).collect();
        assert_eq!(entries.len(), 1, "{entries:?}");
        assert_eq!(entries[0].action, "recorder_review_recorded");
        assert_eq!(entries[0].actor_id, Some(kunming_id));
        assert_eq!(entries[0].detail["previous_review_due_on"], "2026-12-04");
        assert_eq!(entries[0].detail["review_due_on"], "2027-12-05");
        let history = app.get(&format!("/api/v1/staff/{recorder_id}/qualification"), &kunming).await;
        history.expect_status(200);
        assert_eq!(history.body["history"].as_array().map(Vec::len), Some(1));
        assert_eq!(history.body["history"][0]["recorded_by"], kunming_id);
        assert_eq!(history.body["recorder"]["staff"]["qualification"]["review_due_on"], "2027-12-05");
        app.get(&format!("/api/v1/staff/{recorder_id}/qualification"), &panlong).await
            .expect_problem(404, "not_found");
        app.get(&format!("/api/v1/staff/{recorder_id}/qualification"), &organiser).await
            .expect_problem(403, "forbidden");
        tamper_with_history(&app).await;
        assert_eq!(history_len(&app, recorder_id).await, 1);
    }
}

on_both_backends! {
    async fn a_renewed_certificate_replaces_the_old_one_and_only_recorders_have_one(app: TestApp) {
        let (admin, mut admin_key) = app.administrator_with_passkey().await;
        let org = organisation(&app, &admin, "翠湖志愿者协会", "530102").await;
        let organiser = app.organiser(&admin, org).await;
        let organiser_id = staff_id(&app, &organiser).await;
        let (recorder_id, recorder) = recorder(&app, &admin, org, "YN-2025-0001", "2026-12-04").await;
        let (wuhua, wuhua_login, mut wuhua_key) =
            staff_with_passkey(&app, &admin, json!({"name": "民政", "role": "officer", "region_code": "530102"})).await;
        let wuhua_id = staff_id(&app, &wuhua).await;
        let renewals = format!("/api/v1/staff/{recorder_id}/qualification/renewals");
        let renewal = |number: &str, issued: &str, due: &str| {
            json!({"certificate_number": number, "issued_on": issued, "review_due_on": due})
        };

        // Bad certificates change nothing.
        for bad in [
            renewal("YN-2025-0001", "2026-12-01", "2027-12-01"),
            renewal(" ", "2026-12-01", "2027-12-01"),
            renewal("YN-2026-0100", "2026-12-06", "2027-12-06"),
            renewal("YN-2026-0100", "2026-12-01", "2026-11-30"),
            renewal("YN-2026-0100", "2025-01-01", "2026-12-04"),
            json!({"certificate_number": "YN-2026-0100", "issued_on": "2026-12-01"}),
        ] {
            app.post(&renewals, Some(&wuhua), bad).await.expect_problem(422, "invalid_body");
        }
        app.post(&renewals, Some(&admin), renewal("YN-2026-0100", "2026-12-01", "2027-12-01")).await
            .expect_problem(403, "forbidden");
        assert_eq!(certificate(&app, recorder_id).await["certificate_number"], "YN-2025-0001");
        assert_eq!(history_len(&app, recorder_id).await, 0);

        // A staff member who is not a recorder has no qualification to review or renew;
        // nor has one the officer does not oversee, nor one that does not exist.
        for id in [organiser_id, 1, 999_999] {
            app.post(&format!("/api/v1/staff/{id}/qualification/renewals"), Some(&wuhua),
                renewal("YN-2026-0100", "2026-12-01", "2027-12-01")).await.expect_problem(404, "not_found");
            app.post(&format!("/api/v1/staff/{id}/qualification/reviews"), Some(&wuhua), json!({})).await
                .expect_problem(404, "not_found");
            app.get(&format!("/api/v1/staff/{id}/qualification"), &admin).await.expect_problem(404, "not_found");
            assert_eq!(history_len(&app, id).await, 0);
        }
        assert_eq!(app.get("/api/v1/me", &organiser).await.body["staff"]["qualification"], Value::Null);

        // The renewal: a new number and dates, a lapsed recorder qualified again.
        let renewed = app.post(&renewals, Some(&wuhua), renewal(" YN-2026-0100 ", "2026-12-01", "2027-12-01")).await;
        renewed.expect_status(201);
        assert_eq!(renewed.body["event"]["kind"], "renewal");
        assert!(renewed.body["event"].get("reviewed_on").is_none());
        assert_eq!(renewed.body["event"]["previous"]["certificate_number"], "YN-2025-0001");
        assert_eq!(renewed.body["event"]["qualification"]["certificate_number"], "YN-2026-0100");
        assert_eq!(renewed.body["recorder"]["qualification"]["state"], "valid");
        assert_eq!(
            certificate(&app, recorder_id).await,
            json!({"certificate_number": "YN-2026-0100", "issued_on": "2026-12-01", "review_due_on": "2027-12-01"})
        );
        let me = app.get("/api/v1/me", &recorder).await;
        assert_eq!(me.body["qualification_valid"], true);
        assert_eq!(me.body["staff"]["qualification"]["certificate_number"], "YN-2026-0100");
        let entries = audited(&app, recorder_id).await;
        let entry = entries.iter().find(|a| a.action == "recorder_certificate_renewed").expect("audited");
        assert_eq!(entry.actor_id, Some(wuhua_id));
        assert_eq!(entry.detail["previous_certificate_number"], "YN-2025-0001");
        assert_eq!(entry.detail["certificate_number"], "YN-2026-0100");

        // Renewing again with the same number is a repeat, not a renewal.
        app.post(&renewals, Some(&wuhua), renewal("YN-2026-0100", "2026-12-01", "2027-12-01")).await
            .expect_problem(422, "invalid_body");
        // Its first review opens 90 days before the new due date (2027-09-02), not now.
        app.post(&format!("/api/v1/staff/{recorder_id}/qualification/reviews"), Some(&wuhua), json!({})).await
            .expect_problem(409, "annual_review_not_due");
        assert_eq!(history_len(&app, recorder_id).await, 1);
        // On time, the review keeps the recorder's cycle: a year after the old due date.
        app.advance(Duration::days(271));
        let wuhua = sign_in_again(&app, &wuhua_login, &mut wuhua_key).await;
        let admin = sign_in_again(&app, "admin", &mut admin_key).await;
        let reviewed =
            app.post(&format!("/api/v1/staff/{recorder_id}/qualification/reviews"), Some(&wuhua), json!({})).await;
        reviewed.expect_status(201);
        assert_eq!(reviewed.body["event"]["reviewed_on"], "2027-09-02");
        assert_eq!(reviewed.body["event"]["qualification"]["review_due_on"], "2028-12-01");
        let history = app.get(&format!("/api/v1/staff/{recorder_id}/qualification"), &admin).await;
        let kinds: Vec<&str> =
            history.body["history"].as_array().expect("history").iter().filter_map(|e| e["kind"].as_str()).collect();
        assert_eq!(kinds, vec!["renewal", "annual_review"]);
    }
}

on_both_backends! {
    async fn a_recorder_is_warned_from_thirty_days_before_the_review(app: TestApp) {
        let (admin, mut admin_key) = app.administrator_with_passkey().await;
        let org = organisation(&app, &admin, "翠湖志愿者协会", "530102").await;
        let recorder = |number: &str, due: &str| json!({
            "name": "王记录", "role": "recorder", "organisation_id": org,
            "qualification": {"certificate_number": number, "issued_on": "2025-12-01", "review_due_on": due}
        });
        // From 2026-12-05: 30 days to 2027-01-04, 31 to 2027-01-05.
        let (thirty, thirty_login, mut thirty_key) =
            staff_with_passkey(&app, &admin, recorder("YN-2025-0001", "2027-01-04")).await;
        let (thirty_one, thirty_one_login, mut thirty_one_key) =
            staff_with_passkey(&app, &admin, recorder("YN-2025-0002", "2027-01-05")).await;
        let thirty_one_id = staff_id(&app, &thirty_one).await;
        let organiser = app.organiser(&admin, org).await;

        let me = app.get("/api/v1/me", &thirty).await;
        let warning = &me.body["qualification_warning"];
        assert_eq!(warning["review_due_on"], "2027-01-04");
        assert_eq!(warning["days_left"], 30);
        let message = warning["message"].as_str().expect("a sentence");
        assert!(message.contains("2027年01月04日") && message.contains("年审"), "{message}");
        assert_eq!(me.body["qualification_valid"], true);
        let me = app.get("/api/v1/me", &thirty_one).await;
        assert!(me.body.get("qualification_warning").is_none(), "31 days ahead: {}", me.body);
        assert!(app.get("/api/v1/me", &organiser).await.body.get("qualification_warning").is_none());
        assert!(app.get("/api/v1/me", &admin).await.body.get("qualification_warning").is_none());
        let listed = app.get("/api/v1/staff", &admin).await;
        let entry = listed.body.as_array().expect("list").iter().find(|e| e["staff"]["id"] == thirty_one_id).cloned();
        assert_eq!(entry.expect("listed")["qualification"]["state"], "valid");

        // A day later the second is 30 days away too.
        app.advance(Duration::days(1));
        let (admin, thirty, thirty_one) = (
            sign_in_again(&app, "admin", &mut admin_key).await,
            sign_in_again(&app, &thirty_login, &mut thirty_key).await,
            sign_in_again(&app, &thirty_one_login, &mut thirty_one_key).await,
        );
        let me = app.get("/api/v1/me", &thirty_one).await;
        assert_eq!(me.body["qualification_warning"]["days_left"], 30);
        assert_eq!(app.get("/api/v1/me", &thirty).await.body["qualification_warning"]["days_left"], 29);
        let listed = app.get("/api/v1/staff", &admin).await;
        let entry = listed.body.as_array().expect("list").iter().find(|e| e["staff"]["id"] == thirty_one_id).cloned();
        assert_eq!(entry.expect("listed")["qualification"]["state"], "due_soon");
    }
}

on_both_backends! {
    async fn administrators_list_every_staff_member_and_officers_those_of_their_region(app: TestApp) {
        let admin = app.administrator().await;
        let admin_id = staff_id(&app, &admin).await;
        let cuihu = organisation(&app, &admin, "翠湖志愿者协会", "530102").await;
        let qujing = organisation(&app, &admin, "麒麟区志愿者协会", "530302").await;
        let organiser = app.organiser(&admin, cuihu).await;
        let organiser_id = staff_id(&app, &organiser).await;
        let (lapsed_id, lapsed) = recorder(&app, &admin, cuihu, "YN-2025-0001", "2026-12-04").await;
        let leader = app.staff(&admin, json!({"name": "赵领队", "role": "leader", "organisation_id": cuihu})).await;
        let leader_id = staff_id(&app, &leader).await;
        let (qujing_recorder_id, _) = recorder(&app, &admin, qujing, "YN-2025-0009", "2027-12-01").await;
        let wuhua = officer(&app, &admin, "530102", "civil_affairs").await;
        let kunming = officer(&app, &admin, "530100", "civil_affairs").await;
        let qujing_officer = officer(&app, &admin, "530300", "civil_affairs").await;
        let yunnan = officer(&app, &admin, "530000", "civil_affairs").await;
        let league = officer(&app, &admin, "530000", "youth_league").await;
        let (_, volunteer) = app.volunteer("张三", "13800001234").await;
        let ids = |answer: &hourmark_tests::Answer| -> Vec<i64> {
            answer.expect_status(200);
            answer.body.as_array().expect("list").iter().filter_map(|e| e["staff"]["id"].as_i64()).collect()
        };

        // Administrators: everyone, themselves and the officers included.
        let all = app.get("/api/v1/staff", &admin).await;
        let all_ids = ids(&all);
        assert_eq!(all_ids.len(), 10, "{}", all.body);
        assert!(all_ids.contains(&admin_id) && all_ids.contains(&qujing_recorder_id));
        let entry = |id: i64| all.body.as_array().expect("list").iter().find(|e| e["staff"]["id"] == id).cloned();
        let lapsed_entry = entry(lapsed_id).expect("listed");
        assert_eq!(lapsed_entry["staff"]["role"], "recorder");
        assert_eq!(lapsed_entry["organisation"]["name"], "翠湖志愿者协会");
        assert_eq!(lapsed_entry["qualification"], json!({"state": "lapsed", "review_due_on": "2026-12-04", "days_left": -1}));
        let organiser_entry = entry(organiser_id).expect("listed");
        assert_eq!(organiser_entry["staff"]["role"], "organiser");
        assert_eq!(organiser_entry["qualification"], json!({"state": "none", "review_due_on": null, "days_left": null}));
        assert_eq!(entry(admin_id).expect("listed")["organisation"], Value::Null);

        // Officers: the staff of organisations in their region, nobody else.
        let cuihu_staff = vec![organiser_id, lapsed_id, leader_id];
        assert_eq!(ids(&app.get("/api/v1/staff", &wuhua).await), cuihu_staff);
        assert_eq!(ids(&app.get("/api/v1/staff", &kunming).await), cuihu_staff);
        assert_eq!(ids(&app.get("/api/v1/staff", &qujing_officer).await), vec![qujing_recorder_id]);
        assert_eq!(ids(&app.get("/api/v1/staff", &yunnan).await), vec![organiser_id, lapsed_id, leader_id, qujing_recorder_id]);
        for token in [&league, &organiser, &lapsed, &leader, &volunteer] {
            app.get("/api/v1/staff", token).await.expect_problem(403, "forbidden");
        }

        // Nor may an officer record a review for a recorder outside their region.
        app.post(&format!("/api/v1/staff/{lapsed_id}/qualification/reviews"), Some(&qujing_officer), json!({})).await
            .expect_problem(404, "not_found");
        assert_eq!(history_len(&app, lapsed_id).await, 0);
        assert_eq!(certificate(&app, lapsed_id).await["review_due_on"], "2026-12-04");
    }
}

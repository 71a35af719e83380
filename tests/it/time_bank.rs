//! The time bank: confirmed register minutes are saved, spent on services received, given
//! away and corrected, each transaction once; the books always balance.

use chrono::Duration;
use hourmark_tests::on_both_backends;
use serde_json::json;

/// Three hours served, finalised, through publicity, reported and confirmed by the county:
/// the administrator, organisation, organiser, recorder, county officer, and the
/// volunteer's id and token. The organisation has the time bank on.
struct Served {
    admin: String,
    admin_key: hourmark_tests::SoftPasskey,
    org: i64,
    organiser: String,
    activity: i64,
    officer: String,
    volunteer_id: i64,
    volunteer: String,
}

async fn serve_and_confirm(app: &hourmark_tests::TestApp) -> Served {
    let (admin, mut admin_key) = app.administrator_with_passkey().await;
    let org = app.organisation(&admin, "翠湖志愿者协会").await; // Wuhua district, 530102
    let organiser = app.organiser(&admin, org).await;
    let activity = app.activity(&organiser, org, json!({})).await["id"].as_i64().expect("id");
    let recorder = crate::review::recorder(app, &admin, org).await;
    let (volunteer_id, volunteer) = app.volunteer("张三", "13800001234").await;
    for _ in 0..2 {
        let url = app.code(&organiser, activity, 0, "toggle").await["url"].as_str().expect("url").to_owned();
        app.scan(&volunteer, &url).await.expect_status(200);
        app.advance(Duration::hours(3));
    }
    app.advance(Duration::hours(5));
    app.post(&format!("/api/v1/activities/{activity}/finalise"), Some(&recorder), json!({})).await.expect_status(201);
    app.advance(Duration::days(4) + Duration::hours(4));
    assert_eq!(app.hourmark.advance_publicity().await.expect("job"), 1);
    let admin = signed_in_admin(app, &mut admin_key).await;
    let organiser = app.organiser(&admin, org).await;
    let setting = format!("/api/v1/organisations/{org}/time-bank");
    let recorder = crate::review::recorder(app, &admin, org).await;
    app.call(reqwest::Method::PUT, &setting, Some(&recorder), Some(json!({"enabled": true})))
        .await
        .expect_problem(403, "forbidden");
    app.call(reqwest::Method::PUT, &setting, Some(&organiser), Some(json!({"enabled": true, "expiry_months": 0})))
        .await
        .expect_problem(422, "invalid_body");
    let on = app.call(reqwest::Method::PUT, &setting, Some(&organiser), Some(json!({"enabled": true}))).await;
    on.expect_status(200);
    assert_eq!(app.get(&setting, &organiser).await.body, json!({"enabled": true, "expiry_months": null}));
    // Recorded but not confirmed: nothing saved yet.
    assert_eq!(app.get("/mp/v1/me/time-bank", &volunteer).await.body["balance_minutes"], 0);
    let officer = app.staff(&admin, json!({"name": "民政", "role": "officer", "region_code": "530102"})).await;
    let sent = app.post(&format!("/api/v1/organisations/{org}/report-batches"), Some(&organiser), json!({})).await;
    sent.expect_status(201);
    app.post(&format!("/api/v1/report-batches/{}/confirm", sent.body["id"]), Some(&officer), json!({}))
        .await
        .expect_status(200);
    Served { admin, admin_key, org, organiser, activity, officer, volunteer_id, volunteer }
}

/// The administrator's token after signing in again (tokens last hours, tests days).
async fn signed_in_admin(app: &hourmark_tests::TestApp, key: &mut hourmark_tests::SoftPasskey) -> String {
    app.sign_in("admin", key).await.expect("passkey").body["access_token"].as_str().expect("token").to_owned()
}

on_both_backends! {
    async fn confirmed_minutes_are_saved_spent_given_and_corrected(app: TestApp) {
        let mut s = serve_and_confirm(&app).await;
        let account = app.get("/mp/v1/me/time-bank", &s.volunteer).await;
        account.expect_status(200);
        assert_eq!(account.body["balance_minutes"], 180, "the confirmed three hours are saved");
        // Reading again deposits nothing twice.
        assert_eq!(app.get("/mp/v1/me/time-bank", &s.volunteer).await.body["balance_minutes"], 180);

        // A service received by the volunteer's mother, recorded by the organisation.
        let spend = json!({"key": "svc-1", "volunteer_id": s.volunteer_id, "minutes": 100,
                           "service": "助餐服务", "beneficiary": "母亲"});
        let spent = app.post("/api/v1/time-bank/spends", Some(&s.organiser), spend.clone()).await;
        spent.expect_status(201);
        assert_eq!(spent.body["kind"], "spend");
        // The same request again (a retry on a weak network): the same transaction, once.
        let retried = app.post("/api/v1/time-bank/spends", Some(&s.organiser), spend.clone()).await;
        retried.expect_status(201);
        assert_eq!(retried.body["id"], spent.body["id"]);
        let mut other = spend.clone();
        other["minutes"] = json!(90);
        app.post("/api/v1/time-bank/spends", Some(&s.organiser), other).await
            .expect_problem(409, "time_bank_key_reused");
        let too_much = json!({"key": "svc-2", "volunteer_id": s.volunteer_id, "minutes": 81, "service": "助浴"});
        app.post("/api/v1/time-bank/spends", Some(&s.organiser), too_much).await
            .expect_problem(409, "time_bank_insufficient");
        for (bad, code) in [
            (json!({"key": "", "volunteer_id": s.volunteer_id, "minutes": 1, "service": "x"}), "invalid_body"),
            (json!({"key": "register:1", "volunteer_id": s.volunteer_id, "minutes": 1, "service": "x"}), "invalid_body"),
            (json!({"key": "k", "volunteer_id": s.volunteer_id, "minutes": 0, "service": "x"}), "invalid_body"),
            (json!({"key": "k", "volunteer_id": s.volunteer_id, "minutes": -5, "service": "x"}), "invalid_body"),
            (json!({"key": "k", "volunteer_id": s.volunteer_id, "minutes": 1, "service": "助\u{202e}餐"}), "text_invalid"),
        ] {
            app.post("/api/v1/time-bank/spends", Some(&s.organiser), bad).await.expect_problem(422, code);
        }
        app.post("/api/v1/time-bank/spends", Some(&s.volunteer),
            json!({"key": "k", "volunteer_id": s.volunteer_id, "minutes": 1, "service": "x"})).await
            .expect_problem(403, "forbidden");
        app.post("/api/v1/time-bank/spends", Some(&s.organiser),
            json!({"key": "k", "volunteer_id": 999_999, "minutes": 1, "service": "x"})).await
            .expect_problem(404, "not_found");
        assert_eq!(app.get("/mp/v1/me/time-bank", &s.volunteer).await.body["balance_minutes"], 80);

        // Donations: to another volunteer by number, to the pool; never to oneself.
        let (other_id, other_token) = app.volunteer("李四", "13900001234").await;
        let number = app.get("/mp/v1/me", &other_token).await.body["volunteer"]["volunteer_number"]
            .as_str().expect("number").to_owned();
        let mine = app.get("/mp/v1/me", &s.volunteer).await.body["volunteer"]["volunteer_number"]
            .as_str().expect("number").to_owned();
        let given = app.post("/mp/v1/me/time-bank/donations", Some(&s.volunteer),
            json!({"key": "gift-1", "to_volunteer_number": number, "minutes": 30})).await;
        given.expect_status(201);
        assert_eq!(given.body["kind"], "donation");
        assert_eq!(app.get("/mp/v1/me/time-bank", &other_token).await.body["balance_minutes"], 30);
        app.post("/mp/v1/me/time-bank/donations", Some(&s.volunteer),
            json!({"key": "gift-2", "to_volunteer_number": mine, "minutes": 1})).await
            .expect_problem(422, "time_bank_self_transfer");
        app.post("/mp/v1/me/time-bank/donations", Some(&s.volunteer),
            json!({"key": "gift-3", "to_volunteer_number": "100000000000", "minutes": 1})).await
            .expect_problem(404, "not_found");
        app.post("/mp/v1/me/time-bank/donations", Some(&s.volunteer),
            json!({"key": "gift-4", "minutes": 20})).await.expect_status(201);
        // The pool pays for a service to someone in need; it cannot pay more than it holds.
        app.post("/api/v1/time-bank/spends", Some(&s.organiser),
            json!({"key": "pool-1", "minutes": 15, "service": "陪诊", "beneficiary": "独居老人"})).await
            .expect_status(201);
        app.post("/api/v1/time-bank/spends", Some(&s.organiser),
            json!({"key": "pool-2", "minutes": 6, "service": "陪诊"})).await
            .expect_problem(409, "time_bank_insufficient");
        assert_eq!(app.get("/mp/v1/me/time-bank", &s.volunteer).await.body["balance_minutes"], 30);
        let _ = other_id;

        // A correction to 60 minutes after 150 were spent or given: the replacement's 60 are
        // saved, the reversal takes back the 90 there are, and 90 are a shortfall.
        let admin = &s.admin;
        let recorder = crate::review::recorder(&app, admin, s.org).await;
        let second = crate::review::recorder(&app, admin, s.org).await;
        let _ = &s.admin;
        let corrections = format!("/api/v1/activities/{}/session-corrections", s.activity);
        let proposed = app.post(&corrections, Some(&recorder),
            json!({"volunteer_id": s.volunteer_id, "day": "2026-12-05", "minutes": 60, "reason": "复核"})).await;
        proposed.expect_status(201);
        app.post(&format!("{corrections}/{}/decision", proposed.body["id"]), Some(&second),
            json!({"approve": true, "reason": "核实"})).await.expect_status(200);
        app.advance(Duration::days(7));
        assert_eq!(app.hourmark.advance_publicity().await.expect("job"), 1);
        let admin = signed_in_admin(&app, &mut s.admin_key).await;
        let organiser = app.organiser(&admin, s.org).await;
        let batch = app.post(&format!("/api/v1/organisations/{}/report-batches", s.org), Some(&organiser), json!({}))
            .await;
        batch.expect_status(201);
        let _ = &s.officer;
        let officer = app.staff(&admin, json!({"name": "民政", "role": "officer", "region_code": "530102"})).await;
        app.post(&format!("/api/v1/report-batches/{}/confirm", batch.body["id"]), Some(&officer), json!({}))
            .await.expect_status(200);
        assert_eq!(app.get("/mp/v1/me/time-bank", &s.volunteer).await.body["balance_minutes"], 0);

        let statement = app.get("/mp/v1/me/time-bank/statement?month=2026-12", &s.volunteer).await;
        statement.expect_status(200);
        assert_eq!(statement.body["opening_minutes"], 0);
        assert_eq!(statement.body["closing_minutes"], 0);
        let lines = statement.body["lines"].as_array().expect("lines");
        let kinds: Vec<(&str, i64)> = lines.iter()
            .map(|l| (l["kind"].as_str().expect("kind"), l["change"].as_i64().expect("change"))).collect();
        assert_eq!(kinds, [("deposit", 180), ("spend", -100), ("donation", -30), ("donation", -20),
            ("deposit", 60), ("reversal", -90)]);
        assert_eq!(lines[5]["shortfall"], 90);
        assert_eq!(lines[1]["beneficiary"], "母亲");
        let csv = app.client.get(app.url("/mp/v1/me/time-bank/statement?month=2026-12&format=csv"))
            .bearer_auth(&s.volunteer).send().await.expect("sent");
        assert!(csv.headers()["content-type"].to_str().expect("ascii").starts_with("text/csv"));
        let text = csv.text().await.expect("text");
        assert!(text.starts_with("\u{feff}交易编号,时间,类型,变动（分钟）"), "{text}");
        assert!(text.contains("\"兑换服务\",\"-100\",\"助餐服务\",\"母亲\""), "{text}");
        assert!(text.contains("\"冲回\",\"-90\""), "{text}");
        app.get("/mp/v1/me/time-bank/statement?month=2026-13", &s.volunteer).await
            .expect_problem(400, "invalid_parameter");
        app.get("/mp/v1/me/time-bank/statement?format=pdf", &s.volunteer).await
            .expect_problem(400, "invalid_parameter");

        // Only the volunteer and administrators read an account; the books balance.
        let path = format!("/api/v1/volunteers/{}/time-bank", s.volunteer_id);
        app.get(&path, &organiser).await.expect_problem(403, "forbidden");
        assert_eq!(app.get(&path, &admin).await.body["balance_minutes"], 0);
        app.get("/api/v1/time-bank/check", &organiser).await.expect_problem(403, "forbidden");
        let check = app.get("/api/v1/time-bank/check", &admin).await;
        check.expect_status(200);
        assert_eq!(check.body["ok"], true, "{}", check.body);
        assert_eq!(check.body["balance_sum"], 0);
    }
}

on_both_backends! {
    /// Where the organisation sets an expiry, unspent saved minutes lapse, earliest first.
    async fn unspent_minutes_lapse_where_the_organisation_says_so(app: TestApp) {
        let mut s = serve_and_confirm(&app).await;
        let setting = format!("/api/v1/organisations/{}/time-bank", s.org);
        app.call(reqwest::Method::PUT, &setting, Some(&s.organiser), Some(json!({"enabled": true, "expiry_months": 1})))
            .await.expect_status(200);
        let account = app.get("/mp/v1/me/time-bank", &s.volunteer).await;
        assert_eq!(account.body["balance_minutes"], 180);
        assert!(account.body["next_expiry"].is_string(), "{}", account.body);
        app.post("/mp/v1/me/time-bank/donations", Some(&s.volunteer), json!({"key": "g", "minutes": 50})).await
            .expect_status(201);
        app.advance(Duration::days(32));
        // A month on, the volunteer's sign-in has lapsed; the administrator looks.
        let admin = signed_in_admin(&app, &mut s.admin_key).await;
        let path = format!("/api/v1/volunteers/{}/time-bank", s.volunteer_id);
        let account = app.get(&path, &admin).await;
        assert_eq!(account.body["balance_minutes"], 0, "the 130 left lapsed: {}", account.body);
        assert!(account.body["next_expiry"].is_null());
        let month = hourmark_core::time_bank::current_month(app.hourmark.now());
        let statement = app.get(&format!("{path}/statement?month={month}"), &admin).await;
        let last = statement.body["lines"].as_array().and_then(|l| l.last()).cloned().expect("a line");
        assert_eq!((last["kind"].as_str(), last["change"].as_i64()), (Some("expiry"), Some(-130)));
        // Looking again lapses nothing more.
        assert_eq!(app.get(&path, &admin).await.body["balance_minutes"], 0);
        let check = app.get("/api/v1/time-bank/check", &admin).await;
        assert_eq!(check.body["ok"], true, "{}", check.body);
        assert_eq!(check.body["transactions"], 3, "deposit, donation, expiry: {}", check.body);
    }
}

//! Consent takes effect: minors need a guardian (tested at the birthdays), a withdrawn
//! record consent stops recording, a withdrawn location consent stops using location.

use hourmark_tests::{TestApp, on_both_backends, registration, resident_id};
use serde_json::json;

use crate::event;

/// The stored distance and geofence verdict of a volunteer's only scan, read behind the API.
async fn stored_location(app: &TestApp, volunteer_id: i64) -> (Option<f64>, Option<String>) {
    let url = &app.config.database_url;
    if url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(url).await.expect("connect");
        sqlx::query_as("select distance_m, geofence from scan where volunteer_id = $1")
            .bind(volunteer_id)
            .fetch_one(&pool)
            .await
            .expect("one scan")
    } else {
        let pool = sqlx::SqlitePool::connect(url).await.expect("connect");
        sqlx::query_as("select distance_m, geofence from scan where volunteer_id = ?1")
            .bind(volunteer_id)
            .fetch_one(&pool)
            .await
            .expect("one scan")
    }
}

on_both_backends! {
    async fn minors_register_and_take_part_only_with_a_guardians_confirmed_consent(app: TestApp) {
        let e = event(&app, "toggle").await;
        let url = app.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
        // The test day is 2026-12-05. Under 18 needs a guardian named at registration;
        // nothing is stored without one.
        let cases = [
            ("20121206", "13600000001", true),  // 13: turns 14 tomorrow
            ("20121205", "13600000002", true),  // 14 today
            ("20081206", "13600000003", true),  // 17: turns 18 tomorrow
            ("20081205", "13600000004", false), // 18 today
        ];
        for (i, (birth, phone, minor)) in cases.into_iter().enumerate() {
            let body = registration("小明", phone, &resident_id(birth, u16::try_from(i).expect("small") * 2 + 1));
            let answer = app.post("/mp/v1/volunteers", None, body).await;
            if minor {
                answer.expect_problem(422, "guardian_required");
                assert!(!app.has_account(phone).await, "nothing of the child is stored");
            } else {
                answer.expect_status(201);
                app.scan(answer.body["access_token"].as_str().expect("t"), &url).await.expect_status(200);
            }
        }
        // With the guardian's code the child is registered with the consent recorded, and
        // takes part.
        let (id, token) = app.minor("小明", "13600000001", "20121206", 1, "13911112222").await;
        let mine = app.get("/mp/v1/me", &token).await;
        let purposes: Vec<&str> = mine.body["consents"].as_array().expect("consents").iter()
            .map(|c| c["purpose"].as_str().expect("purpose")).collect();
        assert_eq!(purposes, ["record", "publicity", "location", "guardian"]);
        assert!(!String::from_utf8_lossy(&mine.raw).contains("13911112222"), "the guardian's phone is not echoed");
        app.scan(&token, &url).await.expect_status(200);
        assert_eq!(app.scans_recorded(id).await, 1);

        // The guardian's consent can be withdrawn; the child may then no longer take part.
        let withdraw = json!({"purpose": "guardian", "granted": false, "notice_version": "2026-11"});
        app.post("/mp/v1/me/consents", Some(&token), withdraw).await.expect_status(200);
        app.advance(chrono::Duration::minutes(2));
        let url = app.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
        app.scan(&token, &url).await.expect_problem(403, "guardian_consent_required");
        assert_eq!(app.scans_recorded(id).await, 1);

        // Given again only through the guardian's phone: the child's own number is
        // refused, an adult needs none, and the child's session alone records nothing.
        let consent = |phone: &str| json!({"guardian_name": "王芳", "relation": "母亲", "guardian_phone": phone, "notice_version": "2026-11"});
        app.post("/mp/v1/me/guardian-consent", Some(&token), consent("13600000001")).await
            .expect_problem(422, "guardian_phone_same");
        app.post("/mp/v1/me/guardian-consent", Some(&e.volunteer), consent("13911113333")).await
            .expect_problem(422, "invalid_body");
        let sent = app.post("/mp/v1/me/guardian-consent", Some(&token), consent("13911113333")).await;
        sent.expect_status(202);
        assert_eq!(sent.body["phone"], "139****3333");
        app.scan(&token, &url).await.expect_problem(403, "guardian_consent_required");
        let code = app.sent_code("13911113333").expect("code to the guardian");
        // A code for other details (another guardian phone) is wrong; so is a wrong code.
        let mut other = consent("13911114444");
        other["code"] = json!(code);
        app.post("/mp/v1/me/guardian-consent", Some(&token), other).await.expect_problem(422, "sms_code_invalid");
        let mut right = consent("13911113333");
        right["code"] = json!(code);
        let recorded = app.post("/mp/v1/me/guardian-consent", Some(&token), right.clone()).await;
        recorded.expect_status(200);
        assert_eq!(recorded.body["consents"].as_array().map(Vec::len), Some(6));
        // Replayed: the code is used.
        app.post("/mp/v1/me/guardian-consent", Some(&token), right).await.expect_problem(422, "registration_expired");
        app.advance(chrono::Duration::minutes(2));
        let url = app.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
        app.scan(&token, &url).await.expect_status(200);
    }
}

on_both_backends! {
    async fn withdrawing_consent_takes_effect_at_the_next_scan(app: TestApp) {
        let e = event(&app, "toggle").await;
        let url = app.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
        let withdraw = |purpose: &str, granted: bool| json!({"purpose": purpose, "granted": granted, "notice_version": "2026-11"});

        // Location withdrawn: the scan counts, the position is not used.
        let (quiet_id, quiet) = app.volunteer("安静", "13600001111").await;
        let mine = app.post("/mp/v1/me/consents", Some(&quiet), withdraw("location", false)).await;
        mine.expect_status(200);
        assert_eq!(mine.body["consents"].as_array().map(Vec::len), Some(4), "history is kept");
        app.scan(&quiet, &url).await.expect_status(200);
        assert_eq!(stored_location(&app, quiet_id).await, (None, None));
        // With consent, only the distance to the venue is kept.
        app.scan(&e.volunteer, &url).await.expect_status(200);
        let (distance, verdict) = stored_location(&app, e.volunteer_id).await;
        let distance = distance.expect("distance kept");
        assert!((0.0..100.0).contains(&distance), "{distance}");
        assert_eq!(verdict.as_deref(), Some("inside"), "12 m accuracy, 15 m away, 300 m radius");

        // Record consent withdrawn: refused, and nothing recorded.
        let (id, token) = app.volunteer("撤回", "13600002222").await;
        app.post("/mp/v1/me/consents", Some(&token), withdraw("record", false)).await.expect_status(200);
        app.scan(&token, &url).await.expect_problem(403, "consent_withdrawn");
        assert_eq!(app.scans_recorded(id).await, 0);
        app.post("/mp/v1/me/consents", Some(&token), withdraw("record", true)).await.expect_status(200);
        app.scan(&token, &url).await.expect_status(200);

        // Bad requests change nothing.
        app.post("/mp/v1/me/consents", Some(&token), withdraw("guardian", true)).await.expect_problem(422, "invalid_body");
        app.post("/mp/v1/me/consents", Some(&token), withdraw("marketing", true)).await.expect_problem(422, "invalid_body");
        app.post("/mp/v1/me/consents", Some(&token), json!({"purpose": "location", "granted": true, "notice_version": ""})).await
            .expect_problem(422, "invalid_body");
        let bad_guardian = json!({"guardian_name": "王芳", "relation": "母亲", "guardian_phone": "123", "notice_version": "v"});
        app.post("/mp/v1/me/guardian-consent", Some(&token), bad_guardian).await.expect_problem(422, "invalid_body");
        let mine = app.get("/mp/v1/me", &token).await;
        assert_eq!(mine.body["consents"].as_array().map(Vec::len), Some(5));
    }
}

on_both_backends! {
    async fn each_extra_field_has_its_own_consent_and_withdrawing_erases_it(app: TestApp) {
        let e = crate::event(&app, "toggle").await;
        let none = app.get("/mp/v1/me/extra-fields", &e.volunteer).await;
        none.expect_status(200);
        assert_eq!(none.body, json!({"fields": [], "consents": []}), "nothing extra unless given");

        let give = |field: &str, value: &str| {
            let path = format!("/mp/v1/me/extra-fields/{field}");
            let body = json!({"value": value, "notice_version": "2026-11-extra"});
            let (app, token) = (&app, e.volunteer.clone());
            async move { app.call(reqwest::Method::PUT, &path, Some(&token), Some(body)).await }
        };
        give("employer", "云南大学").await.expect_status(200);
        let given = give("email", "zhang@example.cn").await;
        given.expect_status(200);
        let fields = given.body["fields"].as_array().expect("fields");
        assert_eq!(fields.len(), 2);
        assert_eq!(given.body["consents"].as_array().map(Vec::len), Some(2), "one consent per field");
        // Bad input changes nothing.
        give("email", "not-an-email").await.expect_problem(422, "invalid_body");
        give("religion", "x").await.expect_problem(400, "invalid_parameter");
        app.call(reqwest::Method::PUT, "/mp/v1/me/extra-fields/email", Some(&e.admin),
            Some(json!({"value": "a@b.cn", "notice_version": "v"}))).await.expect_problem(403, "forbidden");

        // Sealed at rest: the stored value is not the plain text.
        let plain_in_db = match app.backend {
            hourmark_tests::Backend::Postgres => {
                let pool = sqlx::PgPool::connect(&app.config.database_url).await.expect("connect");
                sqlx::query_scalar::<_, String>("select value_sealed from extra_field").fetch_all(&pool).await
            }
            hourmark_tests::Backend::Sqlite => {
                let pool = sqlx::SqlitePool::connect(&app.config.database_url).await.expect("connect");
                sqlx::query_scalar::<_, String>("select value_sealed from extra_field").fetch_all(&pool).await
            }
        }
        .expect("read");
        assert_eq!(plain_in_db.len(), 2);
        assert!(plain_in_db.iter().all(|v| !v.contains("云南大学") && !v.contains("zhang@")), "{plain_in_db:?}");

        // Withdrawing one erases it alone, and is recorded.
        let withdrawn = app
            .post("/mp/v1/me/extra-fields/email/withdraw", Some(&e.volunteer), json!({"notice_version": "2026-11-extra"}))
            .await;
        withdrawn.expect_status(200);
        let fields = withdrawn.body["fields"].as_array().expect("fields");
        assert_eq!(fields.len(), 1);
        assert_eq!(fields[0]["field"], "employer");
        assert_eq!(fields[0]["value"], "云南大学");
        let consents = withdrawn.body["consents"].as_array().expect("consents");
        assert_eq!(consents.last().expect("last")["granted"], false);
        assert_eq!(consents.last().expect("last")["field"], "email");

        // The download carries them too.
        let export = app.get("/mp/v1/me/export", &e.volunteer).await;
        assert_eq!(export.body["extra_fields"]["fields"][0]["value"], "云南大学");
    }
}

/// Runs `statements` behind the application's back, one at a time.
async fn execute_behind(app: &TestApp, statements: &[&str]) {
    let url = &app.config.database_url;
    if url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(url).await.expect("connect");
        for s in statements {
            sqlx::query(sqlx::AssertSqlSafe(*s)).execute(&pool).await.expect("statement");
        }
    } else {
        let pool = sqlx::SqlitePool::connect(url).await.expect("connect");
        for s in statements {
            sqlx::query(sqlx::AssertSqlSafe(*s)).execute(&pool).await.expect("statement");
        }
    }
}

/// A trigger that refuses every guardian consent, on this backend.
async fn refuse_guardian_consents(app: &TestApp, refuse: bool) {
    let postgres = app.config.database_url.starts_with("postgres");
    let statements: &[&str] = match (postgres, refuse) {
        (true, true) => &[
            "create function refuse_guardian_consent() returns trigger language plpgsql as $$
             begin raise exception 'refused by the test'; end $$",
            "create trigger refuse_guardian_consent before insert on consent for each row
             when (new.purpose = 'guardian') execute function refuse_guardian_consent()",
        ],
        (true, false) => {
            &["drop trigger refuse_guardian_consent on consent", "drop function refuse_guardian_consent()"]
        }
        (false, true) => &["create trigger refuse_guardian_consent before insert on consent
             when new.purpose = 'guardian' begin select raise(abort, 'refused by the test'); end"],
        (false, false) => &["drop trigger refuse_guardian_consent"],
    };
    execute_behind(app, statements).await;
}

on_both_backends! {
    /// A minor is stored with the guardian's consent in one transaction: when storing the
    /// consent fails, no volunteer is left behind (no child without consent, no ID number
    /// or phone held "taken"), and the answer is a clean problem.
    async fn a_failed_guardian_consent_leaves_no_minor_behind(app: TestApp) {
        refuse_guardian_consents(&app, true).await;
        let mut body = registration("小红", "13600000021", &resident_id("20121206", 21));
        body["guardian"] = json!({"name": "王芳", "relation": "母亲", "phone": "13911115555"});
        let answer = app.register_confirmed(body.clone(), "13911115555").await;
        answer.expect_problem(500, "internal");
        assert!(!String::from_utf8_lossy(&answer.raw).contains("refused by the test"), "no detail leaks: {}", answer.body);
        assert!(!app.has_account("13600000021").await, "no volunteer remains");

        // Once consents can be stored again, the same child registers afresh: nothing of
        // the failed attempt holds the ID number or the phone.
        refuse_guardian_consents(&app, false).await;
        app.advance(chrono::Duration::minutes(2));
        let answer = app.register_confirmed(body, "13911115555").await;
        answer.expect_status(201);
        let token = answer.body["access_token"].as_str().expect("token");
        let mine = app.get("/mp/v1/me", token).await;
        let purposes: Vec<&str> = mine.body["consents"].as_array().expect("consents").iter()
            .map(|c| c["purpose"].as_str().expect("purpose")).collect();
        assert_eq!(purposes, ["record", "publicity", "location", "guardian"]);
    }
}

/// A guardian who is a volunteer, registered through WeChat (`openid`), on a server with
/// WeChat and its notice template → (app, the guardian's token).
async fn app_with_a_wechat_guardian(
    backend: hourmark_tests::Backend,
    standin: &hourmark_core::wechat::standin::StandIn,
    guardian_phone: &str,
) -> (TestApp, String) {
    use hourmark_core::wechat::standin::StandIn;
    let database = std::sync::Arc::new(hourmark_tests::TestDatabase::create(backend).await);
    let app = TestApp::spawn_with(backend, database, uuid::Uuid::new_v4().simple().to_string(), |c| {
        c.wechat_appid = Some(StandIn::APPID.into());
        c.wechat_secret = Some(hourmark_server::config::Secret(StandIn::SECRET.into()));
        c.wechat_base_url = standin.base_url();
        c.wechat_notice_template_id = Some("tmpl-hours".into());
    })
    .await;
    standin.add_login_code("code-guardian", "openid-guardian", None);
    let login = app.post("/mp/v1/login/wechat", None, json!({"code": "code-guardian"})).await;
    let mut body = registration("王芳", guardian_phone, &hourmark_tests::next_resident_id());
    body["wechat_ticket"] = login.body["registration_ticket"].clone();
    let registered = app.post("/mp/v1/volunteers", None, body).await;
    registered.expect_status(201);
    (app, registered.body["access_token"].as_str().expect("token").to_owned())
}

/// The six digits after "验证码" in a message.
fn code_in(text: &str) -> Option<String> {
    let after = text.split_once("验证码")?.1;
    let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
    (digits.len() == 6).then_some(digits)
}

/// A minor names a guardian whose phone is a volunteer's with WeChat bound: the code that
/// the SMS carries is also in the guardian's messages and in a WeChat subscription
/// message, and it confirms the registration. A guardian phone nobody registered gets the
/// same answer (the first step tells nothing about the number) and only the SMS.
async fn a_guardian_who_is_a_volunteer_gets_the_code_in_the_app_and_on_wechat(backend: hourmark_tests::Backend) {
    let standin = hourmark_core::wechat::standin::StandIn::start().await;
    let guardian_phone = "13800006666";
    let (app, guardian) = app_with_a_wechat_guardian(backend, &standin, guardian_phone).await;
    let minor = |phone: &str, sequence: u16, guardian: &str| {
        let mut body = registration("李小明", phone, &resident_id("20120305", sequence));
        body["guardian"] = json!({"name": "王芳", "relation": "母亲", "phone": guardian});
        body
    };
    let to_volunteer = app.post("/mp/v1/volunteers", None, minor("13900000001", 11, guardian_phone)).await;
    to_volunteer.expect_status(202);
    let to_nobody = app.post("/mp/v1/volunteers", None, minor("13900000002", 12, "13700009999")).await;
    to_nobody.expect_status(202);
    let shape = |body: &serde_json::Value| {
        let mut keys: Vec<String> = body.as_object().expect("object").keys().cloned().collect();
        keys.sort();
        (keys, body["code_sent_to"].clone(), body["attempts_allowed"].clone(), body["resend_after_secs"].clone())
    };
    assert_eq!(shape(&to_volunteer.body), shape(&to_nobody.body), "the answer does not tell whose number it is");

    // In the guardian's messages (written just after the answer).
    let mut in_app = None;
    for _ in 0..100 {
        let notices = app.get("/mp/v1/me/notifications", &guardian).await.body;
        if let Some(n) = notices.as_array().expect("list").iter().find(|n| n["kind"] == "guardian_code") {
            in_app = Some(n.clone());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let in_app = in_app.expect("the guardian's messages hold the code");
    let body = in_app["body"].as_str().expect("body");
    assert!(body.contains("李小明") && body.contains("监护人"), "{body}");
    let code = code_in(body).expect("the code is in the message");
    assert_eq!(Some(code.clone()), app.sent_code(guardian_phone), "the SMS's code, not another");

    // On WeChat: a subscription message to the guardian's openid, the code first.
    assert_eq!(app.hourmark.deliver_wechat_notices().await.expect("job"), 1, "one message: only the guardian's");
    let sent = standin.sent_messages();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].touser, "openid-guardian");
    assert_eq!(sent[0].data["phrase3"], "监护人验证");
    let thing4 = sent[0].data["thing4"].as_str();
    assert!(thing4.chars().count() <= 20);
    assert_eq!(code_in(thing4).as_deref(), Some(code.as_str()), "{thing4}");

    // The code read on WeChat confirms the registration.
    let mut again = minor("13900000001", 11, guardian_phone);
    again["confirmation"] = json!({"registration_id": to_volunteer.body["registration_id"], "code": code});
    app.post("/mp/v1/volunteers", None, again).await.expect_status(201);
    // Nobody else was told anything: the unregistered guardian number got its SMS only.
    assert!(app.sent_code("13700009999").is_some());
    let notices = app.get("/mp/v1/me/notifications", &guardian).await.body;
    assert_eq!(notices.as_array().expect("list").len(), 1, "{notices}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guardian_who_is_a_volunteer_gets_the_code_in_the_app_and_on_wechat_sqlite() {
    a_guardian_who_is_a_volunteer_gets_the_code_in_the_app_and_on_wechat(hourmark_tests::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guardian_who_is_a_volunteer_gets_the_code_in_the_app_and_on_wechat_postgres() {
    a_guardian_who_is_a_volunteer_gets_the_code_in_the_app_and_on_wechat(hourmark_tests::Backend::Postgres).await;
}

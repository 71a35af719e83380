//! What happens to a volunteer's hours after finalising, and what they are told: corrections
//! take two recorders and a new publicity before the register; an objection is not judged
//! by the recorder who finalised; every decision leaves a notification, read in the app and
//! sent as a WeChat subscription message through the outbox.

use chrono::Duration;
use hourmark_core::wechat::standin::{Api, Fault, StandIn};
use hourmark_tests::{Backend, TestApp, TestDatabase, next_resident_id, on_both_backends, registration};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::publicity::finalise;
use crate::review::recorder;

/// An organisation whose administrator can sign in again days later, an organiser, an
/// activity on Saturday 5 December 08:00–17:00, and a volunteer who served 09:00–12:00.
struct Day {
    admin_key: hourmark_tests::SoftPasskey,
    organisation_id: i64,
    activity_id: i64,
    volunteer_id: i64,
    volunteer: String,
}

async fn served_three_hours(app: &TestApp, volunteer: Option<(i64, String)>) -> (Day, String, String) {
    let (admin, admin_key) = app.administrator_with_passkey().await;
    let organisation_id = app.organisation(&admin, "翠湖志愿者协会").await;
    let organiser = app.organiser(&admin, organisation_id).await;
    let activity_id = app.activity(&organiser, organisation_id, json!({})).await["id"].as_i64().expect("id");
    let (volunteer_id, volunteer) = match volunteer {
        Some(v) => v,
        None => app.volunteer("张三", "13800001234").await,
    };
    for _ in 0..2 {
        let url = app.code(&organiser, activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
        app.scan(&volunteer, &url).await.expect_status(200);
        app.advance(Duration::hours(3));
    }
    app.advance(Duration::hours(5)); // 20:00
    (Day { admin_key, organisation_id, activity_id, volunteer_id, volunteer }, admin, organiser)
}

async fn sign_in_again(app: &TestApp, day: &mut Day) -> String {
    app.sign_in("admin", &mut day.admin_key).await.expect("passkey").body["access_token"]
        .as_str()
        .expect("token")
        .to_owned()
}

fn kinds(notifications: &Value) -> Vec<String> {
    notifications.as_array().expect("list").iter().map(|n| n["kind"].as_str().expect("kind").to_owned()).collect()
}

on_both_backends! {
    async fn a_correction_takes_two_recorders_and_a_new_publicity_before_the_register(app: TestApp) {
        let (mut day, admin, organiser) = served_three_hours(&app, None).await;
        let finaliser = recorder(&app, &admin, day.organisation_id).await;
        finalise(&app, &finaliser, day.activity_id).await;
        app.advance(Duration::days(4) + Duration::hours(4)); // Thursday 10 December, 00:00
        assert_eq!(app.hourmark.advance_publicity().await.expect("job"), 1);
        let notices = app.get("/mp/v1/me/notifications", &day.volunteer).await.body;
        assert_eq!(kinds(&notices), ["recorded", "publicity_started"]);
        assert_eq!(notices[1]["data"]["ends_on"], "2026-12-09");
        assert!(notices[1]["body"].as_str().expect("body").contains("3小时"), "{}", notices[1]);

        let admin = sign_in_again(&app, &mut day).await;
        let first = recorder(&app, &admin, day.organisation_id).await;
        let second = recorder(&app, &admin, day.organisation_id).await;
        let organiser_now = app.organiser(&admin, day.organisation_id).await;
        let corrections = format!("/api/v1/activities/{}/session-corrections", day.activity_id);
        let correction = |minutes: u32| json!({
            "volunteer_id": day.volunteer_id, "day": "2026-12-05", "minutes": minutes, "reason": "复核签到表后更正"
        });

        // Bad proposals change nothing.
        app.post(&corrections, Some(&organiser_now), correction(150)).await.expect_problem(403, "forbidden");
        app.post(&corrections, Some(&first), correction(541)).await.expect_problem(422, "minutes_over_cap");
        app.post(&corrections, Some(&first), json!({"volunteer_id": day.volunteer_id, "day": "2026-12-06",
            "minutes": 0, "reason": "x"})).await.expect_problem(404, "not_found");
        app.post(&corrections, Some(&first), json!({"volunteer_id": day.volunteer_id, "day": "2026-12-05",
            "minutes": 60, "reason": ""})).await.expect_problem(422, "invalid_body");
        assert!(app.get(&corrections, &first).await.body.as_array().is_some_and(Vec::is_empty));

        let proposed = app.post(&corrections, Some(&first), correction(150)).await;
        proposed.expect_status(201);
        assert_eq!(proposed.body["status"], "proposed");
        assert_eq!((proposed.body["from_minutes"].as_i64(), proposed.body["to_minutes"].as_i64()), (Some(180), Some(150)));
        app.post(&corrections, Some(&second), correction(120)).await.expect_problem(409, "correction_pending");
        let decide = format!("{corrections}/{}/decision", proposed.body["id"]);
        app.post(&decide, Some(&first), json!({"approve": true, "reason": "核实"})).await
            .expect_problem(403, "same_recorder");
        app.post(&decide, Some(&organiser_now), json!({"approve": true, "reason": "核实"})).await
            .expect_problem(403, "forbidden");
        app.post(&decide, Some(&second), json!({"approve": true})).await.expect_problem(422, "invalid_body");
        app.post(&format!("{corrections}/999999/decision"), Some(&second), json!({"approve": true, "reason": "核实"}))
            .await
            .expect_problem(404, "not_found");
        // Proposed is not applied: the finalisation and the register are as they were.
        let finalisation = format!("/api/v1/activities/{}/finalisation", day.activity_id);
        let shown = app.get(&finalisation, &first).await.body;
        assert_eq!((shown["sessions"][0]["final_minutes"].as_i64(), shown["sessions"][0]["source"].as_str()),
            (Some(180), Some("scans")));
        assert_eq!(app.hourmark.register_entries(0, 10).await.expect("register").len(), 1);

        let approved = app.post(&decide, Some(&second), json!({"approve": true, "reason": "签到表核实无误"})).await;
        approved.expect_status(200);
        assert_eq!(approved.body["status"], "approved");
        app.post(&decide, Some(&second), json!({"approve": false, "reason": "再议"})).await
            .expect_problem(409, "correction_decided");
        let shown = app.get(&finalisation, &first).await.body;
        assert_eq!((shown["sessions"][0]["final_minutes"].as_i64(), shown["sessions"][0]["source"].as_str()),
            (Some(150), Some("corrected")));

        // Nothing enters the register without publicity: the day is on the board again.
        assert_eq!(app.hourmark.register_entries(0, 10).await.expect("register").len(), 1, "not yet");
        let board = app.call(reqwest::Method::GET, "/api/v1/public/publicity", None, None).await;
        assert_eq!((board.body[0]["hours"].as_f64(), board.body[0]["ends_on"].as_str()), (Some(2.5), Some("2026-12-15")));
        assert_eq!(app.hourmark.advance_publicity().await.expect("job"), 0);

        // The volunteer is told, and the audit log and their export show who, when, from,
        // to and why.
        let notices = app.get("/mp/v1/me/notifications?unread=true", &day.volunteer).await.body;
        assert_eq!(kinds(&notices)[..2], ["publicity_started", "corrected"]);
        assert_eq!((notices[1]["data"]["from_minutes"].as_i64(), notices[1]["data"]["to_minutes"].as_i64()),
            (Some(180), Some(150)));
        assert!(notices[1]["body"].as_str().expect("body").contains("由3小时更正为2小时30分"), "{}", notices[1]);
        assert_eq!(notices[0]["data"]["ends_on"], "2026-12-15");
        let audit = app.get(&format!("/api/v1/volunteers/{}/audit", day.volunteer_id), &admin).await;
        audit.expect_status(200);
        let entry = |action: &str| {
            audit.body.as_array().expect("audit").iter().find(|a| a["action"] == action).cloned()
                .unwrap_or_else(|| panic!("{action} in {}", audit.body))
        };
        let (asked, applied) = (entry("session_correction_proposed"), entry("session_corrected"));
        assert_eq!(asked["detail"]["from_minutes"], 180);
        assert_eq!(applied["detail"]["from_minutes"], 180);
        assert_eq!(applied["detail"]["to_minutes"], 150);
        assert_eq!(applied["detail"]["reason"], "复核签到表后更正");
        assert_eq!(applied["detail"]["decision_reason"], "签到表核实无误");
        assert_eq!(applied["detail"]["proposed_by"], asked["actor_id"]);
        assert_ne!(applied["actor_id"], asked["actor_id"], "the approver is another recorder");
        let export = app.get("/mp/v1/me/export", &day.volunteer).await;
        let export = String::from_utf8_lossy(&export.raw).to_string();
        assert!(export.contains("session_corrected") && export.contains("复核签到表后更正"), "{export}");

        // When the new period ends, the register takes the reversal and the replacement.
        app.advance(Duration::days(6)); // Wednesday 16 December
        assert_eq!(app.hourmark.advance_publicity().await.expect("job"), 1);
        let entries = app.hourmark.register_entries(0, 10).await.expect("register");
        let register: Vec<(&str, i64)> = entries.iter().map(|e| (e.kind.as_str(), e.minutes)).collect();
        assert_eq!(register, [("original", 180), ("reversal", -180), ("replacement", 150)]);
        let reversal: Value = serde_json::from_str(&entries[1].content).expect("json");
        assert_eq!(reversal["reason"], "复核签到表后更正");
        assert!(app.hourmark.verify_register().await.expect("verify").holds());
        let notices = app.get("/mp/v1/me/notifications", &day.volunteer).await.body;
        assert_eq!(kinds(&notices)[0], "recorded");
        assert!(!organiser.is_empty());
    }
}

on_both_backends! {
    async fn the_finalising_recorder_does_not_judge_an_objection_and_a_stale_correction_is_refused(app: TestApp) {
        let (day, admin, _) = served_three_hours(&app, None).await;
        let finaliser = recorder(&app, &admin, day.organisation_id).await;
        let proposer = recorder(&app, &admin, day.organisation_id).await;
        let judge = recorder(&app, &admin, day.organisation_id).await;
        finalise(&app, &finaliser, day.activity_id).await;
        let board = app.call(reqwest::Method::GET, "/api/v1/public/publicity", None, None).await;
        let entry = board.body[0]["entry_id"].clone();
        let raised = app.post(&format!("/api/v1/public/publicity/{entry}/objections"), None,
            json!({"contact": "王先生 13912345678", "reason": "他中午就走了"})).await;
        raised.expect_status(201);
        let objection = format!("/api/v1/objections/{}/decision", raised.body["id"]);

        // A correction is proposed while the objection is open.
        let corrections = format!("/api/v1/activities/{}/session-corrections", day.activity_id);
        let proposed = app.post(&corrections, Some(&proposer),
            json!({"volunteer_id": day.volunteer_id, "day": "2026-12-05", "minutes": 170, "reason": "复核"})).await;
        proposed.expect_status(201);

        // The recorder who finalised may not decide the objection to it.
        app.post(&objection, Some(&finaliser), json!({"uphold": true, "minutes": 160, "reason": "核实"})).await
            .expect_problem(403, "own_decision");
        let upheld = app.post(&objection, Some(&judge), json!({"uphold": true, "minutes": 160, "reason": "照片显示中午离开"})).await;
        upheld.expect_status(200);

        // The proposal no longer says what it would change.
        let decide = format!("{corrections}/{}/decision", proposed.body["id"]);
        app.post(&decide, Some(&finaliser), json!({"approve": true, "reason": "核实"})).await
            .expect_problem(409, "correction_stale");
        let shown = app.get(&format!("/api/v1/activities/{}/finalisation", day.activity_id), &judge).await.body;
        assert_eq!((shown["sessions"][0]["final_minutes"].as_i64(), shown["sessions"][0]["source"].as_str()),
            (Some(160), Some("corrected")));
        let rejected = app.post(&decide, Some(&finaliser), json!({"approve": false, "reason": "已按异议更正"})).await;
        rejected.expect_status(200);
        assert_eq!(rejected.body["status"], "rejected");

        let notices = app.get("/mp/v1/me/notifications", &day.volunteer).await.body;
        let decided = notices.as_array().expect("list").iter().find(|n| n["kind"] == "objection_decided").expect("told");
        assert_eq!((decided["data"]["upheld"].as_bool(), decided["data"]["minutes"].as_i64()), (Some(true), Some(160)));
        let audit = app.hourmark.store().audit_events("volunteer", day.volunteer_id).await.expect("audit");
        let upheld = audit.iter().find(|a| a.action == "objection_upheld").expect("audited under the volunteer");
        assert_eq!((upheld.detail["from_minutes"].as_i64(), upheld.detail["to_minutes"].as_i64()), (Some(180), Some(160)));
    }
}

on_both_backends! {
    async fn notifications_are_read_and_unread(app: TestApp) {
        let (day, admin, _) = served_three_hours(&app, None).await;
        let (_, other) = app.volunteer("李四", "13800005678").await;
        let finaliser = recorder(&app, &admin, day.organisation_id).await;
        let review = app.get(&format!("/api/v1/activities/{}/review", day.activity_id), &finaliser).await;
        assert!(review.body["days"].as_array().is_some_and(Vec::is_empty), "no flags: {}", review.body);
        finalise(&app, &finaliser, day.activity_id).await;
        let all = app.get("/mp/v1/me/notifications", &day.volunteer).await.body;
        assert_eq!(kinds(&all), ["publicity_started"]);
        assert!(all[0]["read_at"].is_null());
        let id = all[0]["id"].as_i64().expect("id");

        let read = "/mp/v1/me/notifications/read";
        app.post(read, Some(&day.volunteer), json!({})).await.expect_problem(422, "invalid_body");
        app.post(read, Some(&day.volunteer), json!({"ids": [id], "all": true})).await.expect_problem(422, "invalid_body");
        app.post(read, Some(&day.volunteer), json!({"ids": "all"})).await.expect_problem(422, "invalid_body");
        app.post(read, Some(&admin), json!({"all": true})).await.expect_problem(403, "forbidden");
        app.post(read, None, json!({"all": true})).await.expect_problem(401, "unauthenticated");
        app.call(reqwest::Method::GET, "/mp/v1/me/notifications?unread=maybe", Some(&day.volunteer), None).await
            .expect_problem(400, "invalid_parameter");
        // Another volunteer cannot mark someone else's notification.
        assert_eq!(app.post(read, Some(&other), json!({"ids": [id]})).await.body["marked"], 0);
        assert_eq!(app.get("/mp/v1/me/notifications?unread=true", &day.volunteer).await.body.as_array().map(Vec::len), Some(1));

        assert_eq!(app.post(read, Some(&day.volunteer), json!({"ids": [id]})).await.body["marked"], 1);
        assert_eq!(app.post(read, Some(&day.volunteer), json!({"ids": [id]})).await.body["marked"], 0, "once");
        assert!(app.get("/mp/v1/me/notifications?unread=true", &day.volunteer).await.body.as_array().is_some_and(Vec::is_empty));
        let all = app.get("/mp/v1/me/notifications", &day.volunteer).await.body;
        assert!(all[0]["read_at"].as_str().is_some_and(|t| t.ends_with("+08:00")), "{}", all[0]);
        assert_eq!(app.post(read, Some(&day.volunteer), json!({"all": true})).await.body["marked"], 0);
    }
}

/// A server with WeChat login and the notice template, and a volunteer registered through
/// WeChat (bound to `openid`).
async fn app_with_notices(backend: Backend, standin: &StandIn, openid: &str) -> (TestApp, (i64, String)) {
    let database = std::sync::Arc::new(TestDatabase::create(backend).await);
    let app = TestApp::spawn_with(backend, database, Uuid::new_v4().simple().to_string(), |c| {
        c.wechat_appid = Some(StandIn::APPID.into());
        c.wechat_secret = Some(hourmark_server::config::Secret(StandIn::SECRET.into()));
        c.wechat_base_url = standin.base_url();
        c.wechat_notice_template_id = Some("tmpl-hours".into());
    })
    .await;
    standin.add_login_code("code-1", openid, None);
    let login = app.post("/mp/v1/login/wechat", None, json!({"code": "code-1"})).await;
    let mut body = registration("张三", "13800005555", &next_resident_id());
    body["wechat_ticket"] = login.body["registration_ticket"].clone();
    let registered = app.post("/mp/v1/volunteers", None, body).await;
    registered.expect_status(201);
    let id = registered.body["volunteer"]["id"].as_i64().expect("id");
    let token = registered.body["access_token"].as_str().expect("token").to_owned();
    (app, (id, token))
}

async fn wechat_messages_are_sent_from_the_outbox_and_retried(backend: Backend) {
    let standin = StandIn::start().await;
    let (app, volunteer) = app_with_notices(backend, &standin, "openid-zhang").await;
    let (day, admin, _) = served_three_hours(&app, Some(volunteer)).await;
    let finaliser = recorder(&app, &admin, day.organisation_id).await;

    // WeChat is down: the decision goes through all the same; the message waits.
    standin.fail_next(Api::SubscribeSend, 1, Fault::Errcode(-1));
    finalise(&app, &finaliser, day.activity_id).await;
    assert_eq!(app.hourmark.deliver_wechat_notices().await.expect("job"), 0);
    assert!(standin.sent_messages().is_empty());
    assert_eq!(app.hourmark.deliver_wechat_notices().await.expect("job"), 0, "not before its retry time");
    app.advance(Duration::seconds(61));
    assert_eq!(app.hourmark.deliver_wechat_notices().await.expect("job"), 1);
    assert_eq!(app.hourmark.deliver_wechat_notices().await.expect("job"), 0, "sent once");
    let sent = standin.sent_messages();
    assert_eq!(sent.len(), 1);
    assert_eq!((sent[0].touser.as_str(), sent[0].template_id.as_str()), ("openid-zhang", "tmpl-hours"));
    assert_eq!(sent[0].data["thing1"], "翠湖公园清洁");
    assert_eq!(sent[0].data["date2"], "2026年12月5日");
    assert_eq!(sent[0].data["phrase3"], "公示中");
    assert!(sent[0].data["thing4"].chars().count() <= 20);

    // A volunteer who has not subscribed is skipped, not retried.
    standin.unsubscribe("openid-zhang");
    app.advance(Duration::days(4) + Duration::hours(4));
    assert_eq!(app.hourmark.advance_publicity().await.expect("job"), 1);
    assert_eq!(app.hourmark.deliver_wechat_notices().await.expect("job"), 0);
    app.advance(Duration::hours(2));
    assert_eq!(app.hourmark.deliver_wechat_notices().await.expect("job"), 0);
    assert_eq!(standin.sent_messages().len(), 1);
    // In the app, every notification is there whatever WeChat did.
    let notices = app.get("/mp/v1/me/notifications", &day.volunteer).await.body;
    assert_eq!(kinds(&notices), ["recorded", "publicity_started"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wechat_messages_are_sent_from_the_outbox_and_retried_sqlite() {
    wechat_messages_are_sent_from_the_outbox_and_retried(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wechat_messages_are_sent_from_the_outbox_and_retried_postgres() {
    wechat_messages_are_sent_from_the_outbox_and_retried(Backend::Postgres).await;
}

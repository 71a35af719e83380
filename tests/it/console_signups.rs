//! The sign-ups page (报名管理) in real Chromium: an organiser reaches it from the activity
//! list, publishes recruitment with two slots; volunteers sign up through the API (one
//! lands on the waiting list); the organiser declines one with a reason (not without one)
//! and approves the rest with 全部通过. The API agrees afterwards. A leader reads the list
//! without the buttons; and the refusals: no session, an officer, a CSRF-less decision.
//! Screenshots in `target/browser-artifacts/signups/`.

use hourmark_tests::{Backend, TestApp};
use reqwest::Method;
use serde_json::{Value, json};

use crate::browser_script::{artifacts, run_browser_script};
use crate::console_officer::browser_session;

fn cookie_value(pair: &str) -> &str {
    pair.split_once('=').expect("pair").1
}

#[tokio::test]
async fn recruitment_is_published_and_signups_decided_in_chromium() {
    let app = TestApp::spawn_for_browser(Backend::Sqlite).await;
    let admin = app.administrator().await;
    let org = app.organisation(&admin, "翠湖志愿者协会").await;
    let activity = app
        .activity(
            &admin,
            org,
            json!({"name": "滇池半程马拉松", "starts_at": "2026-12-12T07:00:00+08:00", "ends_at": "2026-12-12T13:00:00+08:00"}),
        )
        .await["id"]
        .as_i64()
        .expect("id");
    let (organiser, organiser_csrf, _) =
        browser_session(&app, &admin, json!({"name": "李组织", "role": "organiser", "organisation_id": org})).await;
    let (leader, _, leader_id) =
        browser_session(&app, &admin, json!({"name": "赵领队", "role": "leader", "organisation_id": org})).await;
    app.call(Method::PUT, &format!("/api/v1/activities/{activity}/leaders/{leader_id}"), Some(&admin), None)
        .await
        .expect_status(204);
    let (officer, _, _) =
        browser_session(&app, &admin, json!({"name": "五华民政", "role": "officer", "region_code": "530102"})).await;

    // Refusals of the page itself.
    let page = format!("/console/activities/{activity}/signups");
    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let anonymous = no_redirects.get(app.url(&page)).send().await.expect("page");
    assert_eq!(anonymous.status().as_u16(), 303, "without a session: to sign-in");
    assert!(anonymous.headers()["location"].to_str().expect("ascii").starts_with("/staff/sign-in"));
    let as_officer = app.client.get(app.url(&page)).header("cookie", &officer).send().await.expect("page");
    assert_eq!(as_officer.status().as_u16(), 404, "an officer manages no activity");
    let unknown = app
        .client
        .get(app.url("/console/activities/999999/signups"))
        .header("cookie", &organiser)
        .send()
        .await
        .expect("page");
    assert_eq!(unknown.status().as_u16(), 404);

    let base = app.browser_url();
    let publish = run_browser_script(
        "signups.js",
        &json!({
            "phase": "publish", "base": base, "artifacts": artifacts("signups"), "activity_id": activity,
            "organiser_cookie": cookie_value(&organiser),
            "slots": [["北门引导", 2], ["医疗点", 1]], "min_age": 16,
        }),
    )
    .await;
    assert_eq!(publish["publish_status"], "招募已发布，志愿者现在可以报名。", "{publish:#}");
    assert_eq!(
        publish["slot_rows"],
        json!([["北门引导", "2", "0", "0", "0", "2"], ["医疗点", "1", "0", "0", "0", "1"]]),
        "{publish:#}"
    );

    // Once published, the share link and its QR (drawn, loaded) are on the page.
    assert_eq!(publish["share_url"], format!("HTTPS://HM.EXAMPLE.CN/join/{activity}"), "{publish:#}");
    assert_eq!(publish["share_hidden"], false);
    assert_eq!(publish["training_hidden"], true, "no training required, no training section");

    // What the page published, as the API reads it.
    let recruitment = app.get(&format!("/api/v1/activities/{activity}/recruitment"), &admin).await;
    recruitment.expect_status(200);
    let r = &recruitment.body;
    assert_eq!(r["approval_required"], true);
    assert_eq!(r["waitlist"], true);
    assert_eq!(r["walk_ins"], true);
    assert_eq!(r["min_age"], 16);
    assert_eq!(r["required_skills"], json!([]), "none asked for: {r}");
    assert_eq!(r["signup_deadline"], "2026-12-11T20:00:00+08:00", "the evening before, by default: {r}");
    assert_eq!(r["cancel_cutoff"], "2026-12-11T12:00:00+08:00", "noon the day before, by default: {r}");
    let slot = |name: &str| {
        r["slots"].as_array().expect("slots").iter().find(|s| s["name"] == name).expect("slot")["id"]
            .as_i64()
            .expect("id")
    };
    let (gate, medic) = (slot("北门引导"), slot("医疗点"));

    // Four volunteers sign up, a few minutes apart; the fourth waits for the medic's place.
    let mut signups = Vec::new();
    for (name, phone, slot) in [
        ("张一", "13800000001", gate),
        ("王二", "13800000002", gate),
        ("刘三", "13800000003", medic),
        ("陈四", "13800000004", medic),
    ] {
        let (_, token) = app.volunteer(name, phone).await;
        let signed =
            app.post(&format!("/mp/v1/activities/{activity}/signups"), Some(&token), json!({"slot_id": slot})).await;
        signed.expect_status(201);
        signups.push((name, signed.body["id"].as_i64().expect("id")));
        app.advance(chrono::Duration::minutes(7));
    }
    let id_of = |who: &str| signups.iter().find(|(n, _)| *n == who).expect("signed up").1;

    // A decision without the CSRF header is refused, and changes nothing.
    let csrf_less = app
        .client
        .post(app.url(&format!("/api/v1/activities/{activity}/signups/{}/decision", id_of("张一"))))
        .header("cookie", &organiser)
        .json(&json!({"approve": true}))
        .send()
        .await
        .expect("post");
    assert_eq!(csrf_less.status().as_u16(), 403);
    assert_eq!(csrf_less.json::<Value>().await.expect("problem")["code"], "csrf_invalid");
    assert!(!organiser_csrf.is_empty());

    let decide = run_browser_script(
        "signups.js",
        &json!({
            "phase": "decide", "base": base, "artifacts": artifacts("signups"), "activity_id": activity,
            "organiser_cookie": cookie_value(&organiser), "leader_cookie": cookie_value(&leader),
            "decline_id": id_of("王二"), "decline_reason": "已报名同一时段的其他活动",
        }),
    )
    .await;
    // Before the decisions: three pending in the order they came, one waiting.
    assert_eq!(
        decide["before"],
        json!([
            ["张一", "北门引导", "待审核", "12月5日 09:00"],
            ["王二", "北门引导", "待审核", "12月5日 09:07"],
            ["刘三", "医疗点", "待审核", "12月5日 09:14"],
            ["陈四", "医疗点", "候补第1位", "12月5日 09:21"],
        ]),
        "{decide:#}"
    );
    assert_eq!(decide["empty_reason_status"], "请填写不通过的理由，志愿者会看到。", "{decide:#}");
    assert_eq!(decide["after_decline_state"], "未通过理由：已报名同一时段的其他活动", "{decide:#}");
    assert_eq!(decide["approve_all_status"], "已通过 2 人的报名。", "{decide:#}");
    assert_eq!(decide["approve_all_disabled"], true, "nothing left to approve");
    assert_eq!(
        decide["slot_rows"],
        json!([["北门引导", "2", "1", "0", "0", "1"], ["医疗点", "1", "1", "0", "1", "0"]]),
        "{decide:#}"
    );
    // The API's refusal, in its own words, and nothing changed (checked below).
    assert_eq!(decide["refused_status"], "未能保存：岗位名称不能重复", "{decide:#}");
    // The leader reads the list, with nothing to decide and no form.
    assert_eq!(decide["leader_rows"], 4, "{decide:#}");
    assert_eq!(decide["leader_controls"], 0, "{decide:#}");
    assert_eq!(decide["leader_link"], true, "the activity list links the page for leaders too");

    // The API agrees with the page.
    let listed = app.get(&format!("/api/v1/activities/{activity}/signups"), &admin).await;
    listed.expect_status(200);
    let by_id =
        |id: i64| listed.body.as_array().expect("list").iter().find(|s| s["id"] == id).cloned().expect("signup");
    assert_eq!(by_id(id_of("张一"))["status"], "approved");
    assert_eq!(by_id(id_of("刘三"))["status"], "approved");
    assert_eq!(by_id(id_of("王二"))["status"], "declined");
    assert_eq!(by_id(id_of("王二"))["reason"], "已报名同一时段的其他活动");
    assert_eq!(by_id(id_of("陈四"))["status"], "waitlisted");
    assert_eq!(by_id(id_of("陈四"))["waitlist_position"], 1);
    let slots = app.get(&format!("/api/v1/activities/{activity}/recruitment"), &admin).await.body["slots"].clone();
    assert_eq!(slots.as_array().expect("slots").len(), 2, "the refused change added no slot: {slots}");
}

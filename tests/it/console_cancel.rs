//! Cancelling an activity from the console (issue 17) in real Chromium: on a tablet the
//! organiser opens 报名管理, is asked for a reason before anything happens, sees in a
//! confirmation how many volunteers will be told, backs out once, then confirms. The
//! activity then shows as cancelled on its pages and in the activity list, with the
//! reason; a volunteer's `/me` 报名 tab says 活动已取消 with the reason instead of offering
//! to cancel. The refusals: a leader is offered no cancel, the API refuses a leader, and a
//! cancellation without the CSRF header changes nothing. No reminder goes out for a
//! cancelled activity. Screenshots in `target/browser-artifacts/cancel/`.

use hourmark_tests::{Backend, TestApp};
use reqwest::Method;
use serde_json::{Value, json};

use crate::browser_script::{artifacts, run_browser_script};
use crate::console_officer::browser_session;

fn cookie_value(pair: &str) -> &str {
    pair.split_once('=').expect("pair").1
}

/// The id of the volunteer's (only) sign-up.
async fn signup_id_of(app: &TestApp, token: &str) -> i64 {
    app.get("/mp/v1/me/signups", token).await.body[0]["id"].as_i64().expect("id")
}

#[tokio::test]
async fn an_organiser_cancels_an_activity_and_volunteers_see_it_in_chromium() {
    let app = TestApp::spawn_for_browser(Backend::Sqlite).await;
    let admin = app.administrator().await;
    let org = app.organisation(&admin, "翠湖志愿者协会").await;
    let activity = app
        .activity(
            &admin,
            org,
            json!({"name": "西山登山步道清洁", "starts_at": "2026-12-06T08:00:00+08:00", "ends_at": "2026-12-06T12:00:00+08:00"}),
        )
        .await["id"]
        .as_i64()
        .expect("id");
    // Another activity of the organisation, left alone: the list must not mark it.
    let other = app
        .activity(
            &admin,
            org,
            json!({"name": "翠湖公园导览", "starts_at": "2026-12-13T08:00:00+08:00", "ends_at": "2026-12-13T12:00:00+08:00"}),
        )
        .await["id"]
        .as_i64()
        .expect("id");
    let (organiser, _, _) =
        browser_session(&app, &admin, json!({"name": "李组织", "role": "organiser", "organisation_id": org})).await;
    let (leader, leader_csrf, leader_id) =
        browser_session(&app, &admin, json!({"name": "赵领队", "role": "leader", "organisation_id": org})).await;
    app.call(Method::PUT, &format!("/api/v1/activities/{activity}/leaders/{leader_id}"), Some(&admin), None)
        .await
        .expect_status(204);

    let published = app
        .call(
            Method::PUT,
            &format!("/api/v1/activities/{activity}/recruitment"),
            Some(&admin),
            Some(json!({
                "slots": [{"name": "步道清洁", "capacity": 1}],
                "signup_deadline": "2026-12-05T20:00", "cancel_cutoff": "2026-12-05T20:00",
                "approval_required": true, "waitlist": true,
            })),
        )
        .await;
    published.expect_status(200);
    let slot = published.body["slots"][0]["id"].as_i64().expect("slot");
    // One holds the place awaiting approval, one waits: both are told, both see it on /me.
    let mut volunteers = Vec::new();
    for (name, phone) in [("张一", "13800000001"), ("王二", "13800000002")] {
        let (_, token) = app.volunteer(name, phone).await;
        app.post(&format!("/mp/v1/activities/{activity}/signups"), Some(&token), json!({"slot_id": slot}))
            .await
            .expect_status(201);
        volunteers.push(token);
    }
    let mine = app.get("/mp/v1/me/signups", &volunteers[0]).await;
    assert_eq!(mine.body[0]["status"], "pending");
    assert!(mine.body[0].get("activity_cancellation").is_none(), "not cancelled yet: {}", mine.body);

    // The refusals, before the organiser does it: a leader runs the day but does not call
    // it off; a cookie without the CSRF header is refused. Neither changes anything.
    let by_leader = app
        .client
        .post(app.url(&format!("/api/v1/activities/{activity}/cancellation")))
        .header("cookie", &leader)
        .header("x-csrf-token", &leader_csrf)
        .json(&json!({"reason": "下雨"}))
        .send()
        .await
        .expect("post");
    assert_eq!(by_leader.status().as_u16(), 403);
    let csrf_less = app
        .client
        .post(app.url(&format!("/api/v1/activities/{activity}/cancellation")))
        .header("cookie", &organiser)
        .json(&json!({"reason": "下雨"}))
        .send()
        .await
        .expect("post");
    assert_eq!(csrf_less.status().as_u16(), 403);
    assert_eq!(csrf_less.json::<Value>().await.expect("problem")["code"], "csrf_invalid");
    let mine = app.get("/mp/v1/me/signups", &volunteers[0]).await;
    assert!(mine.body[0].get("activity_cancellation").is_none(), "the refusals changed nothing: {}", mine.body);

    let reason = "暴雨橙色预警，活动取消，改期另行通知";
    let run = run_browser_script(
        "cancel.js",
        &json!({
            "base": app.browser_url(), "artifacts": artifacts("cancel"), "activity_id": activity, "other_id": other,
            "organiser_cookie": cookie_value(&organiser), "leader_cookie": cookie_value(&leader),
            "volunteer_token": volunteers[1], "reason": reason,
        }),
    )
    .await;
    assert_eq!(run["leader_cancel_controls"], 0, "a leader is offered no cancel: {run:#}");
    assert_eq!(run["empty_reason_status"], "请填写取消原因，已报名的志愿者会看到。", "{run:#}");
    assert_eq!(run["dialog_after_empty"], false, "no confirmation without a reason: {run:#}");
    assert_eq!(run["confirm_who"], "将通知已报名和候补的 2 位志愿者：活动取消，不再接受报名和签到。", "{run:#}");
    assert_eq!(run["confirm_reason"], reason, "{run:#}");
    assert_eq!(run["kept_banner"], 0, "backing out cancels nothing: {run:#}");
    assert_eq!(
        run["banner"].as_str().expect("banner").split_once('，').expect("two parts").1,
        format!("原因：{reason}。已不再接受报名和签到，报名的志愿者均已收到通知；下面的名单保留取消时的情况。"),
        "{run:#}"
    );
    assert_eq!(run["cancel_section_after"], 0, "nothing left to cancel: {run:#}");
    // Before, the pending sign-up had its buttons and the share card invited sign-ups;
    // after, the page offers no sign-up action at all.
    assert!(run["decision_controls_before"].as_u64().expect("count") > 0, "{run:#}");
    assert_eq!(run["share_before"], 1, "{run:#}");
    assert_eq!(run["decision_controls_after"], 0, "no 通过/不通过, no 全部通过: {run:#}");
    assert_eq!(run["share_after"], 0, "no share link or QR inviting sign-ups: {run:#}");
    assert_eq!(run["qr_requested_after"], false, "the QR is not even fetched: {run:#}");
    assert_eq!(run["rows_after"], 2, "the list stays as it was: {run:#}");
    assert_eq!(run["recruit_form_after"], 0, "recruitment is closed, so is its form: {run:#}");
    assert_eq!(run["list_badge"], "已取消", "{run:#}");
    assert_eq!(run["list_reason"], format!("取消原因：{reason}"), "{run:#}");
    assert_eq!(run["other_badge"], 0, "only the cancelled activity is marked: {run:#}");
    assert!(run["board_banner"].as_str().expect("board").contains(reason), "{run:#}");
    // A board already open when the activity was cancelled says so by itself.
    assert_eq!(run["live_board_banner_before"], 0, "{run:#}");
    assert!(run["live_board_banner"].as_str().expect("live board").contains(reason), "{run:#}");
    assert_eq!(run["me_badge"], "活动已取消", "{run:#}");
    assert_eq!(run["me_reason"], format!("取消原因：{reason}"), "{run:#}");
    assert_eq!(run["me_buttons"], 0, "nothing to cancel on /me: {run:#}");

    // The API agrees with the pages: cancelled once, with the reason, and every sign-up says so.
    let again =
        app.post(&format!("/api/v1/activities/{activity}/cancellation"), Some(&admin), json!({"reason": "别的"})).await;
    again.expect_status(200);
    assert_eq!(again.body["reason"], reason, "cancelling again answers the cancellation as it stands");
    for token in &volunteers {
        let mine = app.get("/mp/v1/me/signups", token).await;
        assert_eq!(mine.body[0]["activity_cancellation"]["reason"], reason, "{}", mine.body);
    }
    // Deciding is closed as the page shows it: approving the pending sign-up, one by one or
    // all at once, is refused and leaves it pending.
    let pending = signup_id_of(&app, &volunteers[0]).await;
    app.post(
        &format!("/api/v1/activities/{activity}/signups/{pending}/decision"),
        Some(&admin),
        json!({"approve": true}),
    )
    .await
    .expect_problem(409, "activity_cancelled");
    app.post(&format!("/api/v1/activities/{activity}/signups/approvals"), Some(&admin), json!({"all": true}))
        .await
        .expect_problem(409, "activity_cancelled");
    let listed = app.get(&format!("/api/v1/activities/{activity}/signups"), &admin).await;
    assert_eq!(listed.body.as_array().expect("list").len(), 2);
    let statuses: Vec<&str> =
        listed.body.as_array().expect("list").iter().map(|s| s["status"].as_str().expect("status")).collect();
    assert_eq!(statuses, ["pending", "waitlisted"], "refused, nothing changed");
    assert!(listed.body.as_array().expect("list").iter().all(|s| s["activity_cancellation"]["reason"] == reason));

    // The day before: no reminder for an activity that will not happen, while one that
    // goes ahead the same day still gets its own.
    let goes_ahead = app
        .activity(
            &admin,
            org,
            json!({"name": "西山森林防火宣传", "starts_at": "2026-12-06T09:00:00+08:00", "ends_at": "2026-12-06T12:00:00+08:00"}),
        )
        .await["id"]
        .as_i64()
        .expect("id");
    let published = app
        .call(
            Method::PUT,
            &format!("/api/v1/activities/{goes_ahead}/recruitment"),
            Some(&admin),
            Some(json!({
                "slots": [{"name": "宣传", "capacity": 5}],
                "signup_deadline": "2026-12-05T20:00", "cancel_cutoff": "2026-12-05T20:00",
            })),
        )
        .await;
    published.expect_status(200);
    let (_, third) = app.volunteer("刘三", "13800000003").await;
    app.post(
        &format!("/mp/v1/activities/{goes_ahead}/signups"),
        Some(&third),
        json!({"slot_id": published.body["slots"][0]["id"]}),
    )
    .await
    .expect_status(201);
    assert_eq!(app.hourmark.send_signup_reminders().await.expect("reminders"), 1, "only the activity going ahead");
}

/// A finalised activity's 报名管理 offers no 取消活动 (the API would refuse it with
/// `activity_finalised`), nor the recruitment form or decisions on sign-ups (refused the
/// same way), nor the share card; it says the activity is finalised, and the list is still
/// there. Tablet size;
/// screenshot `08-finalised-page` in `target/browser-artifacts/cancel-finalised/`.
#[tokio::test]
async fn a_finalised_activity_offers_no_cancellation_in_chromium() {
    let app = TestApp::spawn_for_browser(Backend::Sqlite).await;
    let e = crate::event(&app, "toggle").await;
    let recorder = crate::review::recorder(&app, &e.admin, e.organisation_id).await;
    app.call(
        Method::PUT,
        &format!("/api/v1/activities/{}/recruitment", e.activity_id),
        Some(&e.organiser),
        Some(json!({
            "slots": [{"name": "入口引导", "capacity": 5}],
            "signup_deadline": "2026-12-05T16:00:00+08:00", "cancel_cutoff": "2026-12-05T12:00:00+08:00",
        })),
    )
    .await
    .expect_status(200);
    let slot = app.get(&format!("/api/v1/activities/{}/recruitment", e.activity_id), &e.organiser).await.body["slots"]
        [0]["id"]
        .as_i64()
        .expect("slot");
    app.post(&format!("/mp/v1/activities/{}/signups", e.activity_id), Some(&e.volunteer), json!({"slot_id": slot}))
        .await
        .expect_status(201);
    for _ in 0..2 {
        let url = app.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
        app.scan(&e.volunteer, &url).await.expect_status(200);
        app.advance(chrono::Duration::hours(3));
    }
    app.advance(chrono::Duration::hours(5)); // 20:00: ended, departures closed
    crate::publicity::finalise(&app, &recorder, e.activity_id).await;
    // What the page must not offer, the API refuses.
    app.post(
        &format!("/api/v1/activities/{}/cancellation", e.activity_id),
        Some(&e.organiser),
        json!({"reason": "暴雨"}),
    )
    .await
    .expect_problem(409, "activity_finalised");
    let signups = format!("/api/v1/activities/{}/signups", e.activity_id);
    let before = app.get(&signups, &e.organiser).await.body;
    app.post(
        &format!("{signups}/{}/decision", before[0]["id"]),
        Some(&e.organiser),
        json!({"approve": false, "reason": "迟到"}),
    )
    .await
    .expect_problem(409, "activity_finalised");
    app.post(&format!("{signups}/approvals"), Some(&e.organiser), json!({"all": true}))
        .await
        .expect_problem(409, "activity_finalised");
    assert_eq!(app.get(&signups, &e.organiser).await.body, before, "refused, nothing changed");

    let (organiser, _, _) = browser_session(
        &app,
        &e.admin,
        json!({"name": "李组织", "role": "organiser", "organisation_id": e.organisation_id}),
    )
    .await;
    let run = run_browser_script(
        "cancel.js",
        &json!({
            "phase": "finalised", "base": app.browser_url(), "artifacts": artifacts("cancel-finalised"),
            "activity_id": e.activity_id, "organiser_cookie": cookie_value(&organiser),
        }),
    )
    .await;
    assert_eq!(
        run["finalised_note"], "本活动已定稿，时数已结算：报名不再审核，招募设置不能再修改，活动也不能再取消。",
        "{run:#}"
    );
    assert_eq!(run["cancel_controls"], 0, "no 取消活动 on a finalised activity: {run:#}");
    assert_eq!(run["recruit_form"], 0, "{run:#}");
    assert_eq!(run["share"], 0, "{run:#}");
    assert_eq!(run["decision_controls"], 0, "no 全部通过, greyed or not: {run:#}");
    assert_eq!(run["rows"], 1, "the list is still shown: {run:#}");
    assert!(app.hourmark.store().activity_cancellation(e.activity_id).await.expect("read").is_none());
}

//! The public recruitment page (`/join/{id}`) and its QR: readable by anyone once an
//! activity is published for recruitment, never saying who signed up; a page saying so
//! (404) before. And, in real Chromium on a 390 px phone, a volunteer who is not signed in
//! chooses a slot, signs in by SMS code on the page, is signed up for that slot, finds it
//! on /me and cancels it there; a newcomer registers on the page and lands on the waiting
//! list; after the cut-off a cancellation is refused in the page's words, and after the
//! deadline the page says sign-ups are closed. Screenshots in
//! `target/browser-artifacts/join/`.

use chrono::{DateTime, Utc};
use hourmark_core::sms::standin::SmsStandIn;
use hourmark_tests::{Backend, TestApp, on_both_backends, resident_id};
use serde_json::{Value, json};

use crate::browser_script::{artifacts, run_interactive_browser_script};
use crate::signups::recruiting;

async fn page(app: &TestApp, path: &str) -> (u16, String, reqwest::header::HeaderMap) {
    let response = app.client.get(app.url(path)).send().await.expect("page");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, response.text().await.expect("text"), headers)
}

on_both_backends! {
    async fn the_public_page_shows_the_activity_and_places_left_but_nobody_s_name(app: TestApp) {
        let e = crate::event(&app, "toggle").await;
        let (activity, slots) = recruiting(&app, &e.organiser, e.organisation_id, json!({"min_age": 16})).await;
        app.post(&format!("/mp/v1/activities/{activity}/signups"), Some(&e.volunteer), json!({"slot_id": slots[1]}))
            .await
            .expect_status(201);

        let (status, html, headers) = page(&app, &format!("/join/{activity}")).await;
        assert_eq!(status, 200);
        assert!(headers["content-type"].to_str().expect("ascii").starts_with("text/html"));
        assert!(headers.contains_key("content-security-policy"), "the pages' CSP");
        for text in ["志愿者招募", "翠湖志愿者协会", "12月12日 08:00 – 17:00", "北门引导", "剩余 2 / 2", "已满（共 1）",
            "报名候补", "12月11日 20:00", "活动当天须年满 16 周岁", "报名即确认，无需审核", "/console/static/join.js"] {
            assert!(html.contains(text), "{text} on the page: {html}");
        }
        assert!(!html.contains("张三"), "the page never names who signed up");
        assert!(!html.contains("<script>"), "no inline script");

        // The QR encodes the share link, at the address codes are printed with.
        let qr = app.client.get(app.url(&format!("/join/{activity}/qr.svg"))).send().await.expect("qr");
        assert_eq!(qr.status().as_u16(), 200);
        assert_eq!(qr.headers()["content-type"], "image/svg+xml");
        assert!(qr.text().await.expect("svg").contains("<svg"));
        assert_eq!(app.hourmark.recruitment_share_url(activity), format!("HTTPS://HM.EXAMPLE.CN/join/{activity}"));

        // An activity not published for recruitment: a page saying so, and no QR.
        let (status, html, _) = page(&app, &format!("/join/{}", e.activity_id)).await;
        assert_eq!(status, 404);
        assert!(html.contains("活动未开放报名"), "{html}");
        let qr = app.get(&format!("/join/{}/qr.svg", e.activity_id), "").await;
        qr.expect_status(404);
        assert_eq!(qr.body["code"], "not_found");
        let bad = app.get("/join/abc", "").await;
        bad.expect_status(400);
        assert_eq!(bad.body["code"], "invalid_parameter");
    }
}

on_both_backends! {
    async fn after_the_deadline_the_page_offers_no_sign_up(app: TestApp) {
        let e = crate::event(&app, "toggle").await;
        let (activity, slots) = recruiting(&app, &e.organiser, e.organisation_id, json!({})).await;
        let until = |t: &str| t.parse::<DateTime<Utc>>().expect("time") - app.clock_now();
        app.advance(until("2026-12-11T12:01:00Z"));
        let (status, html, _) = page(&app, &format!("/join/{activity}")).await;
        assert_eq!(status, 200);
        assert!(html.contains("（已截止）") && html.contains("报名已截止"), "{html}");
        assert!(!html.contains("class=\"sign-up\""), "no sign-up button after the deadline");
        // And the operation agrees, changing nothing.
        let late =
            app.post(&format!("/mp/v1/activities/{activity}/signups"), Some(&e.volunteer), json!({"slot_id": slots[0]})).await;
        late.expect_status(409);
        assert_eq!(late.body["code"], "signup_deadline_passed");
        assert!(app.hourmark.my_signups(e.volunteer_id).await.expect("signups").is_empty());
    }
}

/// Moves the server's clock to `at` (RFC 3339) and answers the new time.
fn move_to(app: &TestApp, at: &str) -> Value {
    let target = at.parse::<DateTime<Utc>>().expect("time");
    app.advance(target - app.clock_now());
    json!({"now": app.clock_now()})
}

#[tokio::test]
async fn a_volunteer_signs_up_from_the_share_link_and_cancels_on_me_in_chromium() {
    let sms = SmsStandIn::start().await;
    let endpoint = sms.endpoint();
    let app = TestApp::spawn_for_browser_with(Backend::Sqlite, |c| crate::sms_login::point_at(c, &endpoint)).await;
    let e = crate::event(&app, "toggle").await;
    // Two slots of one place each; the gate's place is taken already, so it offers the waiting list.
    let (activity, slots) = recruiting(
        &app,
        &e.organiser,
        e.organisation_id,
        json!({"slots": [{"name": "北门引导", "capacity": 1}, {"name": "医疗点", "capacity": 1}]}),
    )
    .await;
    let (_, other) = app.volunteer("李四", "13900000001").await;
    app.post(&format!("/mp/v1/activities/{activity}/signups"), Some(&other), json!({"slot_id": slots[0]}))
        .await
        .expect_status(201);

    let input = json!({
        "base": app.browser_url(), "sms": endpoint, "activity_id": activity, "phone": "13800001234",
        "newcomer": {"name": "王五", "id_number": resident_id("19990305", 7), "phone": "13700000005"},
        "artifacts": artifacts("join"),
    });
    let result = run_interactive_browser_script("join.js", &input, async |message: &Value| {
        match message["op"].as_str() {
            Some("advance") => {
                app.advance(chrono::Duration::seconds(message["secs"].as_i64().expect("secs")));
                json!({"now": app.clock_now()})
            }
            Some("after_cutoff") => move_to(&app, "2026-12-11T04:30:00Z"), // 12:30 Beijing, the day before
            Some("after_deadline") => move_to(&app, "2026-12-11T12:30:00Z"), // 20:30 Beijing
            other => panic!("the script asked for {other:?}: {message}"),
        }
    })
    .await;
    assert!(result.get("error").is_none(), "the browser run stopped: {result:#}");

    // What a visitor reads before signing in.
    assert_eq!(result["name"], "翠湖公园清洁", "{result:#}");
    assert_eq!(result["organisation"], "翠湖志愿者协会");
    assert_eq!(
        result["slots"],
        json!([["北门引导", "已满（共 1）", "报名候补"], ["医疗点", "剩余 1 / 1", "报名这个岗位"]])
    );
    // Choosing a slot leads to sign-in, which then signs them up for that slot.
    assert_eq!(result["signin_why"], "登录后自动报名“医疗点”。", "{result:#}");
    assert_eq!(result["signed_up_status"], "报名成功，活动当天请准时到场扫码签到。", "{result:#}");
    assert_eq!(result["mine"], "医疗点 · 已确认参加");
    assert_eq!(result["mine_note"], "如不能参加，请在 12月11日 12:00 前取消，把名额留给候补的志愿者。");
    assert_eq!(result["medic_after"], "已满（共 1）", "the page reads the places again");
    assert_eq!(result["buttons_after"], 0, "no second sign-up offered");
    // On /me: the sign-up with its status, then cancelled there.
    assert_eq!(result["me_signup"], json!(["翠湖公园清洁", "12月12日 08:00 · 医疗点", "已确认参加"]), "{result:#}");
    assert_eq!(result["me_after_cancel"], "已取消", "{result:#}");
    assert_eq!(result["page_after_cancel"], "医疗点 · 已取消");
    // A newcomer registers on the page and waits for the gate's place.
    assert_eq!(result["newcomer_status"], "该岗位名额已满，您已加入候补（第 1 位）。", "{result:#}");
    assert_eq!(result["newcomer_mine"], "北门引导 · 候补中，第 1 位");
    // After the cut-off: a cancellation of a place is refused, in the server's words.
    assert_eq!(result["late_cancel_note"], "取消报名已于 12月11日 12:00 截止，如有变动请联系组织方", "{result:#}");
    assert_eq!(result["late_mine_note"], "取消报名已截止，如有变动请联系组织方。", "{result:#}");
    assert_eq!(result["late_cancel_hidden"], true);
    // After the deadline: closed, no buttons.
    assert_eq!(result["closed"], "报名已截止，感谢关注。");
    assert_eq!(result["buttons_closed"], 0);
    assert_eq!(result["overflow"], json!([]), "nothing wider than the phone");
    assert_eq!(result["console_errors"], json!([]), "no script errors, no CSP violations");

    // Behind the pages: 张三 holds the medic's place again (signed up a second time before
    // the cut-off), 王五 waits for the gate.
    let signups = app.hourmark.recruitment_for_volunteer(activity).await.expect("published");
    assert_eq!(signups.slots[0].waitlisted, 1);
    assert_eq!(signups.slots[1].approved, 1);
    let mine = app.hourmark.my_signups(e.volunteer_id).await.expect("signups");
    assert_eq!(mine.iter().map(|s| s.status.as_str()).collect::<Vec<_>>(), ["approved", "cancelled"]);
}

//! Cancelling an activity (issue 17): the organiser calls it off with a reason; everyone
//! signed up is notified once (not those who had left); arrivals are refused
//! (`activity_cancelled`, recorded as refused) while someone already inside may still
//! leave; sign-ups and recruitment changes are closed; the public page says so. Bad input
//! and the wrong caller change nothing.

use hourmark_tests::on_both_backends;
use reqwest::Method;
use serde_json::{Value, json};

use crate::signups::recruiting;

/// How long a stream's event may take to arrive.
const WITHIN: std::time::Duration = std::time::Duration::from_secs(2);
/// How long a stream stays quiet before it has said everything.
const QUIET: std::time::Duration = std::time::Duration::from_millis(800);

fn kinds(notices: &Value, kind: &str) -> Vec<Value> {
    notices.as_array().expect("list").iter().filter(|n| n["kind"] == kind).cloned().collect()
}

on_both_backends! {
    async fn a_cancelled_activity_notifies_its_sign_ups_and_admits_nobody(app: TestApp) {
        let e = crate::event(&app, "toggle").await;
        // The event's activity (today) recruits; 张三 holds a place, 李四 left, 王五 is inside.
        let path = format!("/api/v1/activities/{}/recruitment", e.activity_id);
        let published = app
            .call(Method::PUT, &path, Some(&e.organiser), Some(json!({
                "slots": [{"name": "入口引导", "capacity": 5}],
                "signup_deadline": "2026-12-05T16:00:00+08:00", "cancel_cutoff": "2026-12-05T12:00:00+08:00",
            })))
            .await;
        published.expect_status(200);
        let slot = published.body["slots"][0]["id"].as_i64().expect("slot");
        let signups = format!("/mp/v1/activities/{}/signups", e.activity_id);
        app.post(&signups, Some(&e.volunteer), json!({"slot_id": slot})).await.expect_status(201);
        let (_, left) = app.volunteer("李四", "13800005678").await;
        let gone = app.post(&signups, Some(&left), json!({"slot_id": slot})).await;
        let gone_id = gone.body["id"].as_i64().expect("id");
        app.post(&format!("/mp/v1/me/signups/{gone_id}/cancel"), Some(&left), json!({})).await.expect_status(200);
        let (_, inside) = app.volunteer("王五", "13800009999").await;
        let code = || async { app.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned() };
        app.scan(&inside, &code().await).await.expect_status(200);

        // Bad input and the wrong callers: refused, nothing changed.
        let cancel = format!("/api/v1/activities/{}/cancellation", e.activity_id);
        app.post(&cancel, Some(&e.organiser), json!({})).await.expect_problem(422, "invalid_body");
        app.post(&cancel, Some(&e.organiser), json!({"reason": "  "})).await.expect_problem(422, "invalid_body");
        app.post(&cancel, Some(&e.volunteer), json!({"reason": "暴雨"})).await.expect_problem(403, "forbidden");
        let other = app.organisation(&e.admin, "另一个协会").await;
        let stranger = app.organiser(&e.admin, other).await;
        app.post(&cancel, Some(&stranger), json!({"reason": "暴雨"})).await.expect_problem(404, "not_found");
        app.post(&signups, Some(&inside), json!({"slot_id": slot})).await.expect_status(201);
        app.advance(chrono::Duration::minutes(1));

        // The organiser's live board is open when the activity is called off.
        let mut board = app.events(&format!("/api/v1/activities/{}/events", e.activity_id), &e.organiser).await;
        board.next_named("ready", WITHIN).await.expect("ready");
        let cancelled = app.post(&cancel, Some(&e.organiser), json!({"reason": "暴雨红色预警，活动取消"})).await;
        cancelled.expect_status(200);
        assert_eq!(cancelled.body["reason"], "暴雨红色预警，活动取消");
        let heard = board.next_named("cancelled", WITHIN).await.expect("the board is told within 2 s");
        assert_eq!(heard.data["activity_id"], e.activity_id, "{heard:?}");
        // Again: the same answer, nobody told twice, and the board hears nothing more.
        let again = app.post(&cancel, Some(&e.organiser), json!({"reason": "另一个理由"})).await;
        again.expect_status(200);
        assert_eq!(again.body, cancelled.body);
        while let Some(event) = board.next_within(QUIET).await {
            assert_ne!(event.name, "cancelled", "a repeated cancellation is announced once: {event:?}");
        }

        // Those signed up are told once; the one who had left is not.
        let told = app.get("/mp/v1/me/notifications", &e.volunteer).await.body;
        let told = kinds(&told, "activity_cancelled");
        assert_eq!(told.len(), 1, "{told:?}");
        assert!(told[0]["body"].as_str().is_some_and(|b| b.contains("暴雨红色预警")), "{told:?}");
        assert_eq!(kinds(&app.get("/mp/v1/me/notifications", &inside).await.body, "activity_cancelled").len(), 1);
        assert!(kinds(&app.get("/mp/v1/me/notifications", &left).await.body, "activity_cancelled").is_empty());

        // Arrivals refused (and recorded as refused); the one inside may still leave.
        let before = app.scans_recorded(e.volunteer_id).await;
        app.scan(&e.volunteer, &code().await).await.expect_problem(409, "activity_cancelled");
        assert_eq!(app.scans_recorded(e.volunteer_id).await, before + 1, "kept as a refused scan");
        app.advance(chrono::Duration::minutes(10));
        let out = app.scan(&inside, &code().await).await;
        out.expect_status(200);
        assert_eq!(out.body["outcome"], "checked_out");

        // Sign-ups and recruitment closed, with the code; the page says so.
        let (_, late) = app.volunteer("赵六", "13800007777").await;
        app.post(&signups, Some(&late), json!({"slot_id": slot})).await.expect_problem(409, "activity_cancelled");
        app.call(Method::PUT, &path, Some(&e.organiser), Some(json!({
            "slots": [{"name": "入口引导", "capacity": 6}],
            "signup_deadline": "2026-12-05T16:00:00+08:00", "cancel_cutoff": "2026-12-05T12:00:00+08:00",
        })))
        .await
        .expect_problem(409, "activity_cancelled");
        // The list stays as it was when the activity was called off: no decision on it.
        let listed = format!("/api/v1/activities/{}/signups", e.activity_id);
        let before = app.get(&listed, &e.organiser).await.body;
        let held = before.as_array().expect("list").iter().find(|s| s["status"] == "approved").expect("held")["id"].clone();
        app.post(&format!("{listed}/{held}/decision"), Some(&e.organiser), json!({"approve": false, "reason": "名额调整"}))
            .await
            .expect_problem(409, "activity_cancelled");
        app.post(&format!("{listed}/approvals"), Some(&e.organiser), json!({"all": true}))
            .await
            .expect_problem(409, "activity_cancelled");
        assert_eq!(app.get(&listed, &e.organiser).await.body, before, "refused, nothing changed");
        let page = app.client.get(app.url(&format!("/join/{}", e.activity_id))).send().await.expect("page");
        let html = page.text().await.expect("html");
        assert!(html.contains("活动已取消") && html.contains("暴雨红色预警"), "{html}");
        assert!(!html.contains("class=\"sign-up\""), "no sign-up buttons");
        // A cancellation once made does not vanish: a later one on another activity is its own.
        let (other_activity, _) = recruiting(&app, &e.organiser, e.organisation_id, json!({})).await;
        assert!(app.hourmark.store().activity_cancellation(other_activity).await.expect("read").is_none());
    }
}

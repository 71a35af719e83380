//! The volunteer's side in real Chromium at 390×844 (zh-CN): a returning volunteer on a
//! fresh browser signs in by SMS code (read from the SMS stand-in, as the phone receives
//! it) and the pending scan completes; the /me pages then show the day and where it
//! stands. Screenshots in `target/browser-artifacts/volunteer/`.

use chrono::Duration;
use hourmark_core::sms::standin::SmsStandIn;
use hourmark_tests::{Backend, TestApp};
use serde_json::{Value, json};

use crate::event;

#[tokio::test]
async fn a_returning_volunteer_signs_in_by_sms_and_reads_their_hours_in_chromium() {
    let sms = SmsStandIn::start().await;
    let endpoint = sms.endpoint();
    let app = TestApp::spawn_for_browser_with(Backend::Sqlite, |c| crate::sms_login::point_at(c, &endpoint)).await;
    // 张三 (13800001234) registered before, on another phone.
    let e = event(&app, "toggle").await;
    let recorder = crate::review::recorder(&app, &e.admin, e.organisation_id).await;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let input = json!({
        "base": app.browser_url(), "sms": endpoint, "phone": "13800001234",
        "artifacts": root.join("../target/browser-artifacts/volunteer"),
    });
    let result =
        crate::browser_script::run_interactive_browser_script("volunteer.js", &input, async |message: &Value| {
            match message["op"].as_str() {
                Some("code") => app.code(&e.organiser, e.activity_id, 0, "toggle").await,
                Some("finalise") => {
                    app.advance(Duration::hours(9)); // 20:15, after the activity and its check-out window
                    let path = format!("/api/v1/activities/{}/finalise", e.activity_id);
                    app.post(&path, Some(&recorder), json!({})).await.expect_status(201);
                    // The same evening a child names 张三 as guardian: the code is also in
                    // 张三's messages (written just after the answer).
                    let mut minor = hourmark_tests::registration(
                        "李小明",
                        "13900000031",
                        &hourmark_tests::resident_id("20120305", 31),
                    );
                    minor["guardian"] = json!({"name": "张三", "relation": "父亲", "phone": "13800001234"});
                    app.post("/mp/v1/volunteers", None, minor).await.expect_status(202);
                    for _ in 0..100 {
                        let told = app.hourmark.my_notifications(e.volunteer_id, false).await.expect("notifications");
                        if told.iter().any(|n| n.kind == hourmark_core::notification::NotificationKind::GuardianCode) {
                            break;
                        }
                        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    }
                    json!({"now": app.clock_now()})
                }
                Some("advance") => {
                    app.advance(Duration::seconds(message["secs"].as_i64().expect("secs")));
                    json!({"now": app.clock_now()})
                }
                other => panic!("the script asked for {other:?}: {message}"),
            }
        })
        .await;
    assert!(result.get("error").is_none(), "the browser run stopped: {result:#}");

    assert_eq!(result["offered"], "已注册？用短信验证码登录");
    assert_eq!(result["signin_hold"], "扫码时间已记为 09:00，请在 09:10 前完成登录。");
    assert_eq!(result["signin_button"], "登录并签到/签退");
    assert_eq!(result["sent_note"], "如该号码已登记，验证码将发送至该号码（138****1234），09:05 前有效。");
    assert!(result["resend_button"].as_str().is_some_and(|t| t.ends_with("秒后可重新获取")), "{result:#}");
    assert_eq!(result["wrong_note"], "验证码错误，还可再试 4 次");
    // Signed in 40 seconds after opening: the pending scan counts from the opening.
    assert_eq!(result["checked_in"]["time"], "09:00");
    assert_eq!(result["checked_in"]["state"], "在场，自 09:00 起 · 北门");
    assert_eq!(result["checked_in"]["me_link"], "查看我的服务时长 ›");
    assert_eq!(result["checked_out"]["state"], "已签退，本活动累计 2小时15分 · 北门");

    assert_eq!(
        result["day"],
        json!({"date": "12月5日", "minutes": "2小时15分", "name": "翠湖公园清洁", "state": "待组织审核", "flags": []})
    );
    assert_eq!(
        result["totals"],
        json!({"recorded": "0分钟", "confirmed": "0分钟", "pending": "2小时15分",
        "stars": "暂无", "time_bank": "0分钟", "star_next": "申请 1 星：经民政部门确认的服务时长须满 100 小时，现为 0 小时"})
    );
    // Published on Saturday 5 December: three working days end on Wednesday the 9th.
    assert_eq!(result["day_published"]["state"], "公示中，至12月9日");
    assert_eq!(result["unread_badge"], "（2）");
    let notices = result["notices"].as_array().expect("notices");
    assert!(notices.iter().all(|n| n.as_str().is_some_and(|n| n.starts_with("12月5日 20:15"))), "{result:#}");
    let guardian =
        notices.iter().filter_map(|n| n.as_str()).find(|n| n.contains("监护人")).expect("the guardian's code");
    assert!(guardian.contains("李小明") && guardian.contains("验证码"), "{guardian}");
    assert!(result["profile"].as_array().expect("rows").iter().any(|r| r == "手机号 138****1234"), "{result:#}");
    assert!(
        result["profile"].as_array().expect("rows").iter().all(|r| !r.as_str().unwrap_or("").contains("13800001234"))
    );
    assert!(
        result["consents_after"].as_array().expect("rows").iter().any(|r| r == "扫码时使用位置 未同意 同意"),
        "{result:#}"
    );
    assert_eq!(
        result["sessions"]
            .as_array()
            .map(|s| s.iter().filter(|r| r.as_str().unwrap_or("").starts_with("本机")).count()),
        Some(1)
    );
    assert_eq!(result["download"]["has_profile"], true);
    assert_eq!(result["fresh_me_hours_hidden"], true);
    assert_eq!(result["overflow"], json!([]), "nothing wider than the phone");
    assert_eq!(result["console_errors"], json!([]), "no script errors, no CSP violations");

    // Behind the pages: the new browser is the bound device, the scans counted once each,
    // and the withdrawal is in the consent history.
    let me = app.hourmark.my_data(e.volunteer_id).await.expect("data");
    assert!(me.consents.iter().any(|c| c.purpose == hourmark_core::identity::ConsentPurpose::Location && !c.granted));
    assert_eq!(app.scans_recorded(e.volunteer_id).await, 2);
    let sessions = app.sessions(&e.organiser, e.activity_id).await;
    assert_eq!(sessions[0]["minutes_credited"], 135);
}

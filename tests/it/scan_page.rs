//! The volunteer's scan page and the operations behind it: reading a code before anything
//! is asked, the pending-scan ticket that keeps a slow first registration's scan, and the
//! page itself in real Chromium on a phone-sized screen.

use chrono::Duration;
use hourmark_tests::{Answer, TestApp, on_both_backends};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::event;

/// The bare token of a code's URL.
fn token_of(code: &Value) -> String {
    code["token"].as_str().expect("token").to_owned()
}

async fn read(app: &TestApp, token: &str) -> Answer {
    app.call(reqwest::Method::GET, &format!("/mp/v1/codes/{token}"), None, None).await
}

async fn scan_with_ticket(app: &TestApp, volunteer: &str, code: &str, ticket: &str) -> Answer {
    app.post(
        "/mp/v1/scans",
        Some(volunteer),
        json!({
            "code": code,
            "nonce": Uuid::new_v4(),
            "client_time": app.clock_now().to_rfc3339(),
            "device_id": "test-phone-1",
            "pending_ticket": ticket,
        }),
    )
    .await
}

/// Flips one character of a base32 token to another valid one.
fn tampered(token: &str) -> String {
    let mut chars: Vec<char> = token.chars().collect();
    let i = chars.len() / 2;
    chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}

on_both_backends! {
    async fn a_code_is_read_before_anything_is_asked(app: TestApp) {
        let e = event(&app, "separate").await;
        let code = app.code(&e.organiser, e.activity_id, 1, "departure").await;
        let token = token_of(&code);

        let reading = read(&app, &token).await;
        reading.expect_status(200);
        assert_eq!(reading.body["activity_id"], e.activity_id);
        assert_eq!(reading.body["organisation_name"], "翠湖志愿者协会");
        assert_eq!(reading.body["gate"], "南门");
        assert_eq!(reading.body["direction"], "departure");
        assert_eq!(reading.body["fresh"], true);
        assert_eq!(reading.body["read_at"], "2026-12-05T09:00:00+08:00");
        assert_eq!(reading.body["ticket_expires_at"], "2026-12-05T09:10:00+08:00");
        assert!(reading.body["pending_ticket"].as_str().is_some_and(|t| t.len() < 64));
        let text = reading.body.to_string();
        assert!(!text.contains("张三") && !text.contains("1380000"), "nothing personal: {text}");
        // The whole URL reads the same as the bare token.
        let url = code["url"].as_str().expect("url");
        read(&app, &urlencoding(url)).await.expect_status(200);

        read(&app, &tampered(&token)).await.expect_problem(422, "code_invalid");
        read(&app, &urlencoding("你好")).await.expect_problem(422, "code_unreadable");
        app.advance(Duration::seconds(60));
        read(&app, &token).await.expect_problem(422, "code_expired");
        assert_eq!(app.scans_recorded(e.volunteer_id).await, 0, "reading records nothing");
    }
}

fn urlencoding(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

on_both_backends! {
    async fn a_slow_first_registration_keeps_its_scan_at_the_opening_time(app: TestApp) {
        let e = event(&app, "toggle").await;
        let code = app.code(&e.organiser, e.activity_id, 0, "toggle").await;
        let token = token_of(&code);
        let opened = read(&app, &token).await;
        opened.expect_status(200);
        let ticket = opened.body["pending_ticket"].as_str().expect("ticket").to_owned();

        // Five minutes filling in the form: the code itself has long expired.
        app.advance(Duration::minutes(5));
        let (volunteer_id, volunteer) = app.volunteer("李四", "13900005678").await;
        app.scan(&volunteer, &token).await.expect_problem(422, "code_expired");
        let scan = scan_with_ticket(&app, &volunteer, &token, &ticket).await;
        scan.expect_status(200);
        assert_eq!(scan.body["outcome"], "checked_in");
        assert_eq!(scan.body["server_time"], "2026-12-05T09:00:00+08:00", "taken when the page opened");
        assert_eq!(scan.body["session"]["checked_in_at"], "2026-12-05T09:00:00+08:00");

        // The same ticket again (another nonce): not a second scan.
        scan_with_ticket(&app, &volunteer, &token, &ticket).await.expect_problem(409, "repeat_scan");
        let list = app.sessions(&e.organiser, e.activity_id).await;
        assert_eq!(list.len(), 1);
        assert_eq!(list[0]["volunteer_id"], volunteer_id);
        assert_eq!(list[0]["pairs"][0]["checked_in_at"], "2026-12-05T09:00:00+08:00");
    }
}

on_both_backends! {
    async fn a_ticket_is_not_placed_before_a_later_accepted_scan(app: TestApp) {
        let e = event(&app, "toggle").await;
        let token = token_of(&app.code(&e.organiser, e.activity_id, 0, "toggle").await);
        let ticket = read(&app, &token).await.body["pending_ticket"].as_str().expect("ticket").to_owned();
        app.advance(Duration::minutes(3));
        // Meanwhile the volunteer scanned a fresh code the ordinary way.
        let fresh = token_of(&app.code(&e.organiser, e.activity_id, 0, "toggle").await);
        app.scan(&e.volunteer, &fresh).await.expect_status(200);
        app.advance(Duration::minutes(2));
        let late = scan_with_ticket(&app, &e.volunteer, &token, &ticket).await;
        late.expect_problem(409, "repeat_scan");
        let sessions = app.sessions(&e.organiser, e.activity_id).await;
        assert_eq!(sessions[0]["pairs"][0]["checked_in_at"], "2026-12-05T09:03:00+08:00");
        assert_eq!(sessions[0]["inside"], true, "the back-dated scan did not check them out");
    }
}

on_both_backends! {
    async fn bad_tickets_are_refused_with_their_codes_and_nothing_is_recorded(app: TestApp) {
        let e = event(&app, "toggle").await;
        let north = token_of(&app.code(&e.organiser, e.activity_id, 0, "toggle").await);
        let south = token_of(&app.code(&e.organiser, e.activity_id, 1, "toggle").await);
        let ticket = read(&app, &north).await.body["pending_ticket"].as_str().expect("ticket").to_owned();
        let (ms, tag) = ticket.split_once('.').expect("two parts");

        let forged = format!("{ms}.{}", "A".repeat(tag.len()));
        scan_with_ticket(&app, &e.volunteer, &north, &forged).await.expect_problem(422, "scan_ticket_invalid");
        let moved = format!("{}.{tag}", ms.parse::<i64>().expect("ms") - 60_000);
        scan_with_ticket(&app, &e.volunteer, &north, &moved).await.expect_problem(422, "scan_ticket_invalid");
        scan_with_ticket(&app, &e.volunteer, &south, &ticket).await.expect_problem(422, "scan_ticket_invalid");
        scan_with_ticket(&app, &e.volunteer, &tampered(&north), &ticket)
            .await
            .expect_problem(422, "scan_ticket_invalid");
        scan_with_ticket(&app, &e.volunteer, &north, "garbage").await.expect_problem(422, "scan_ticket_invalid");

        app.advance(Duration::minutes(11));
        let expired = scan_with_ticket(&app, &e.volunteer, &north, &ticket).await;
        expired.expect_problem(422, "scan_ticket_expired");
        assert!(expired.body["detail"].as_str().expect("detail").contains("10 分钟"), "{}", expired.body);
        assert_eq!(app.scans_recorded(e.volunteer_id).await, 0, "no bad ticket left a scan behind");

        // Exactly at the bound it still counts (a fresh read, ten minutes later).
        let fresh = token_of(&app.code(&e.organiser, e.activity_id, 0, "toggle").await);
        let ticket = read(&app, &fresh).await.body["pending_ticket"].as_str().expect("ticket").to_owned();
        app.advance(Duration::minutes(10));
        scan_with_ticket(&app, &e.volunteer, &fresh, &ticket).await.expect_status(200);
        assert_eq!(app.scans_recorded(e.volunteer_id).await, 1);
    }
}

/// The scan page as volunteers meet it, in Chromium at 390×844: a forged and an expired
/// code said before any form, a slow first registration that keeps its scan, a check-out,
/// a repeat as a calm note, a registration too slow for its ticket, and a minor registered
/// with the code sent to the guardian's phone (a wrong code first). Screenshots in `target/browser-artifacts/scan-page/`.
#[tokio::test]
async fn the_scan_page_in_chromium() {
    use hourmark_tests::{Backend, resident_id};

    let app = TestApp::spawn_for_browser(Backend::Sqlite).await;
    let e = event(&app, "toggle").await;
    let artifacts = crate::browser_script::artifacts("scan-page");
    let input = json!({
        "base": app.browser_url(), "artifacts": artifacts,
        "adult": {"name": "李四", "id_number": resident_id("19900101", 31), "phone": "13900007777"},
        "too_slow": {"name": "赵六", "id_number": resident_id("19850505", 41), "phone": "13900008888"},
        "minor": {"name": "王小明", "id_number": resident_id("20100601", 51), "phone": "13900009999"},
    });
    let result = crate::browser_script::run_clocked_browser_script(&app, &e, "scan_page.js", &input).await;
    assert!(result.get("error").is_none(), "the browser run stopped: {result:#}");

    // Forged and expired: said before any form.
    assert_eq!(result["forged"]["form_shown"], false, "{result:#}");
    assert_eq!(result["forged"]["class"], "card err");
    assert_eq!(result["expired"]["title"], "签到码已过期");
    assert_eq!(result["expired"]["form_shown"], false);
    // The code read first: what it names, and until when the scan is held.
    assert_eq!(result["opened"]["kind"], "签到/签退");
    assert_eq!(result["opened"]["name"], "翠湖公园清洁");
    assert_eq!(result["opened"]["organisation"], "翠湖志愿者协会");
    assert_eq!(result["opened"]["hold"], "扫码时间已记为 09:01，请在 09:11 前完成登记。");
    assert_eq!(result["opened"]["privacy_links"], json!(["/privacy"]));
    // Five minutes in the form: checked in at the opening time.
    assert_eq!(result["slow"]["time"], "09:01");
    assert_eq!(result["slow"]["state"], "在场，自 09:01 起 · 北门");
    assert_eq!(result["slow"]["next"], "离开时再次扫码签退");
    assert!(result["slow"]["page_title"].as_str().expect("title").starts_with("签到成功"));
    assert_eq!(result["check_out"]["state"], "已签退，本活动累计 2小时15分 · 北门");
    assert!(result["check_out"]["page_title"].as_str().expect("title").starts_with("签退成功"));
    assert_eq!(result["repeat"]["class"], "card note", "a repeat is a calm note, not an error");
    assert_eq!(result["repeat"]["state"], "已签退，本活动累计 2小时15分");
    // Eleven minutes: refused with its code, nothing recorded.
    assert_eq!(result["too_slow"]["class"], "card err");
    assert_eq!(result["too_slow"]["next"], "您的登记已保存，重新扫码即可签到/签退");
    // The minor: the guardian step, then checked in.
    assert_eq!(result["guardian_privacy_links"], json!(["/privacy"]));
    assert_eq!(result["confirm_title"], "请输入监护人收到的验证码");
    assert!(
        result["confirm_sent"].as_str().is_some_and(|t| t.starts_with("验证码已发送至监护人手机 136****1111")),
        "{result:#}"
    );
    assert_eq!(result["wrong_code_note"], "验证码错误，还可再试 4 次");
    assert_eq!(result["minor"]["next"], "离开时再次扫码签退");
    assert_eq!(result["privacy_version"], "2026-12");
    assert_eq!(result["console_errors"], json!([]), "no script errors, no CSP violations");

    let sessions = app.sessions(&e.organiser, e.activity_id).await;
    let names: Vec<&str> = sessions.iter().filter_map(|s| s["volunteer_name"].as_str()).collect();
    assert_eq!(names.len(), 2, "the adult and the minor; the too-slow scan recorded nothing: {names:?}");
    assert!(!names.contains(&"赵六"), "{names:?}");
}

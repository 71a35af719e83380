//! The certificate, star and time-bank desks in real Chromium: a recorder declines one
//! certificate request (not without a reason), issues another and downloads its PDF, then
//! revokes it by number; a county officer on a tablet grants a star; an organiser makes
//! spending need a star and records an hour's service from the volunteer's savings (the
//! empty pool refuses). The API agrees afterwards: the volunteer sees the issued and
//! declined requests with the reason and was notified of both, the check page says
//! revoked, the star is on the record, the balance is two hours. And the refusals: no session, the wrong role, a
//! Youth League officer (told who issues), a CSRF-less decline.
//! Screenshots in `target/browser-artifacts/register/`.

use hourmark_tests::{Backend, TestApp};
use reqwest::Method;
use serde_json::json;

use crate::browser_script::{artifacts, run_browser_script};
use crate::console_officer::browser_session;
use crate::time_bank::serve_and_confirm;

#[tokio::test]
async fn certificates_and_stars_are_decided_at_the_desk_in_chromium() {
    let app = TestApp::spawn_for_browser(Backend::Sqlite).await;
    let s = serve_and_confirm(&app).await; // 180 confirmed minutes on 12月5日, Wuhua (530102)
    let asks = "/mp/v1/me/certificate-requests";
    let all = app.post(asks, Some(&s.volunteer), json!({})).await;
    all.expect_status(201);
    let december = app.post(asks, Some(&s.volunteer), json!({"from": "2026-12-01", "to": "2026-12-31"})).await;
    december.expect_status(201);
    // Small star hours for Yunnan, so three confirmed hours earn one.
    app.call(
        Method::PUT,
        "/api/v1/star-rules/530000",
        Some(&s.admin),
        Some(json!({"thresholds": [2, 3, 4, 5, 6], "complaint_block_days": 365})),
    )
    .await
    .expect_status(200);
    let star = app.post("/mp/v1/me/star-applications", Some(&s.volunteer), json!({"stars": 1})).await;
    star.expect_status(201);

    let qualified =
        json!({"certificate_number": "YN-2025-0001", "issued_on": "2025-12-01", "review_due_on": "2027-12-01"});
    let (recorder, recorder_csrf, _) = browser_session(
        &app,
        &s.admin,
        json!({"name": "王记录", "role": "recorder", "organisation_id": s.org, "qualification": qualified}),
    )
    .await;
    let (officer, _, _) =
        browser_session(&app, &s.admin, json!({"name": "五华民政", "role": "officer", "region_code": "530102"})).await;
    let (league, _, _) = browser_session(
        &app,
        &s.admin,
        json!({"name": "省团委", "role": "officer", "region_code": "530000", "agency": "youth_league"}),
    )
    .await;
    let (organiser, _, _) =
        browser_session(&app, &s.admin, json!({"name": "李组织", "role": "organiser", "organisation_id": s.org})).await;

    // Refusals first, so the browser starts from untouched requests.
    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    for path in ["/console/certificates", "/console/stars"] {
        let page = no_redirects.get(app.url(path)).send().await.expect("page");
        assert_eq!(page.status().as_u16(), 303, "{path} without a session: to sign-in");
        let page = app.client.get(app.url(path)).header("cookie", &organiser).send().await.expect("page");
        assert_eq!(page.status().as_u16(), 403, "{path} as an organiser");
    }
    let page = app.client.get(app.url("/console/stars")).header("cookie", &recorder).send().await.expect("page");
    assert_eq!(page.status().as_u16(), 403, "stars are civil affairs' work");
    let (all_id, december_id) = (all.body["id"].as_i64().expect("id"), december.body["id"].as_i64().expect("id"));
    let csrf_less = app
        .client
        .post(app.url(&format!("/api/v1/certificate-requests/{december_id}/decline")))
        .header("cookie", &recorder)
        .json(&json!({"reason": "无"}))
        .send()
        .await
        .expect("post");
    assert_eq!(csrf_less.status().as_u16(), 403);
    assert_eq!(csrf_less.json::<serde_json::Value>().await.expect("problem")["code"], "csrf_invalid");
    assert!(!recorder_csrf.is_empty());
    let mine = app.get(asks, &s.volunteer).await.body;
    assert!(mine.as_array().expect("list").iter().all(|r| r["status"] == "pending"), "nothing changed: {mine}");

    let desk = app.get("/api/v1/certificate-requests", &s.officer).await.body;
    let volunteer_number = desk[0]["volunteer_number"].as_str().expect("number").to_owned();
    // A seal to upload from the desk (a red ring), and a text file that is not one.
    let dir = artifacts("register");
    std::fs::create_dir_all(&dir).expect("artifacts");
    let ring = image::RgbaImage::from_fn(200, 200, |x, y| {
        let d = ((x as f32 - 100.0).powi(2) + (y as f32 - 100.0).powi(2)).sqrt();
        if (80.0..95.0).contains(&d) { image::Rgba([200, 0, 0, 255]) } else { image::Rgba([0, 0, 0, 0]) }
    });
    let (seal_png, not_a_png) = (dir.join("seal.png"), dir.join("not-a-seal.png"));
    ring.save(&seal_png).expect("png");
    std::fs::write(&not_a_png, "这不是图片").expect("write");
    let input = json!({
        "base": app.browser_url(), "artifacts": artifacts("register"),
        "recorder_cookie": recorder.split_once('=').expect("pair").1,
        "officer_cookie": officer.split_once('=').expect("pair").1,
        "league_cookie": league.split_once('=').expect("pair").1,
        "organiser_cookie": organiser.split_once('=').expect("pair").1, "volunteer_number": volunteer_number,
        "issue_id": all_id, "decline_id": december_id, "decline_reason": "与上一份申请重复",
        "revoke_reason": "经办人填写有误，重新出具", "star_application_id": star.body["id"],
        "grant_reason": "时长达标，无投诉", "seal_png": seal_png, "not_a_png": not_a_png,
    });
    let result = run_browser_script("register.js", &input).await;

    // The desk showed who asked and what the certificate would say.
    let rows = result["request_rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 2, "{rows:?}");
    for row in rows {
        assert!(row["volunteer"].as_str().is_some_and(|v| v.contains("张三")), "{row}");
        assert!(row["confirmed"].as_str().is_some_and(|c| c.starts_with("3小时")), "{row}");
    }
    assert!(rows.iter().any(|r| r["scope"] == "全部服务"), "{rows:?}");
    assert!(rows.iter().any(|r| r["scope"] == "2026年12月1日至2026年12月31日"), "{rows:?}");
    assert_eq!(result["empty_decline_valid"], false, "a decline wants a reason before anything is sent");
    assert_eq!(result["remembered_handler"], "李四", "the desk's handler is filled in on the next row");
    let bar = result["recorder_bar"].as_str().expect("bar");
    assert!(bar.contains("证明") && !bar.contains("星级"), "a recorder is offered certificates only: {bar}");

    // The seal: a file that is not a PNG refused, the real one stored as uploaded.
    assert!(result["bad_seal_status"].as_str().is_some_and(|t| t.starts_with("未能上传印章")), "{result:#}");
    let stored = app.hourmark.store().organisation_seal(s.org).await.expect("read").expect("a seal");
    assert_eq!(stored, std::fs::read(&seal_png).expect("png"), "the file the desk uploaded");

    // What the volunteer sees agrees with the desk.
    let number = result["number"].as_str().expect("number").to_owned();
    let mine = app.get(asks, &s.volunteer).await.body;
    let by_id = |id: i64| mine.as_array().expect("list").iter().find(|r| r["id"] == id).cloned().expect("request");
    assert_eq!(by_id(all_id)["status"], "issued");
    assert_eq!(by_id(all_id)["certificate_number"], number.as_str());
    assert_eq!(by_id(december_id)["status"], "declined");
    assert_eq!(by_id(december_id)["decline_reason"], "与上一份申请重复");
    let states = result["request_states"].as_array().expect("states");
    assert!(states.iter().any(|s| s == &json!(format!("已出具 {number} 下载 PDF"))), "{states:?}");
    assert!(states.iter().any(|s| s == "未予出具（与上一份申请重复）"), "{states:?}");
    // The volunteer was told of both.
    let notices = app.get("/mp/v1/me/notifications", &s.volunteer).await.body;
    let told = |kind: &str| {
        notices.as_array().expect("list").iter().find(|n| n["kind"] == kind).map(|n| n["body"].to_string())
    };
    assert!(told("certificate_issued").is_some_and(|b| b.contains(&number) && b.contains("3小时")), "{notices}");
    assert!(told("certificate_declined").is_some_and(|b| b.contains("与上一份申请重复")), "{notices}");
    let pdf = std::fs::read(result["pdf"].as_str().expect("path")).expect("the download");
    assert!(pdf.starts_with(b"%PDF-"), "the PDF the register signed");

    // Revoked from the page, once; the check page says so with the reason.
    assert!(result["revoke_status"].as_str().is_some_and(|s| s.contains(&number)), "{result:#}");
    assert!(result["revoke_again_status"].as_str().is_some_and(|s| s.starts_with("未能撤销")), "{result:#}");
    let check = app.call(Method::GET, &format!("/api/v1/public/certificates/{number}"), None, None).await;
    assert_eq!(check.body["state"], "revoked", "{}", check.body);

    // The officer's bar fits a 1024-pixel tablet on one line, and the star was granted.
    let bar = result["officer_bar"].as_str().expect("bar");
    assert!(bar.contains("证明") && bar.contains("星级"), "{bar}");
    assert_eq!(result["officer_nav_wraps"], false, "the officer's links fit a 1024-pixel screen: {bar}");
    let applicants = result["application_rows"].as_array().expect("rows");
    assert_eq!(applicants.len(), 1);
    assert!(applicants[0].as_str().is_some_and(|a| a.contains("张")), "{applicants:?}");
    assert_eq!(result["star_states"], json!(["已认定（时长达标，无投诉）"]));
    let standing = app.get("/mp/v1/me/stars", &s.volunteer).await.body;
    assert_eq!(standing["stars"], 1, "{standing}");

    // The time bank desk: spending now needs a star (the volunteer has just been granted
    // one); the empty pool refuses; an hour from the volunteer's savings, for their mother.
    assert_eq!(result["stars_fact"], "须持有 1 星及以上");
    let setting = app.get(&format!("/api/v1/organisations/{}/time-bank", s.org), &s.organiser).await.body;
    assert_eq!(setting["min_stars_to_spend"], 1, "{setting}");
    assert!(result["pool_status"].as_str().is_some_and(|t| t.starts_with("未能登记")), "{result:#}");
    assert!(result["spend_status"].as_str().is_some_and(|t| t.contains("支出 1小时")), "{result:#}");
    let account = app.get("/mp/v1/me/time-bank", &s.volunteer).await.body;
    assert_eq!(account["balance_minutes"], 120, "three hours saved, one spent: {account}");

    // The Youth League is told who issues certificates, and offered none of it.
    assert_eq!(result["league"]["status"], 403);
    let text = result["league"]["text"].as_str().expect("text");
    assert!(text.contains("志愿服务记录证明的出具由民政部门办理"), "{text}");
    let bar = result["league"]["bar"].as_str().expect("bar");
    assert!(bar.contains("团委") && !bar.contains("证明") && !bar.contains("批次"), "{bar}");
}

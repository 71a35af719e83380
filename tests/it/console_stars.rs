//! The star and time-bank desks that finish the register's work, in real Chromium. A
//! correction has taken a volunteer holding two stars under both thresholds, so two
//! reviews are open (raised through the API): the county's officer keeps one star and
//! revokes the other on the star desk, and the API agrees (one star held, no review
//! open, the second grant revoked with the officer's reason). An administrator sets
//! Yunnan's star hours on the star rules desk (a decreasing set refused with the reason,
//! nothing sent), and the API's rule is the one saved; then looks the volunteer up by
//! number on the time bank desk and reads December's statement (the deposits and the
//! correction's reversal), downloads it as CSV, and picks November (no lines). And the
//! refusals: no session, the wrong role, a CSRF-less rule change, a volunteer number no
//! one has. Screenshots in `target/browser-artifacts/stars/`.

use chrono::Duration;
use hourmark_tests::{Backend, TestApp};
use reqwest::Method;
use serde_json::json;

use crate::browser_script::{artifacts, run_browser_script};
use crate::console_officer::browser_session;
use crate::time_bank::{serve_and_confirm, signed_in_admin};

#[tokio::test]
async fn star_reviews_rules_and_statements_are_handled_at_the_desk_in_chromium() {
    let app = TestApp::spawn_for_browser(Backend::Sqlite).await;
    let mut s = serve_and_confirm(&app).await; // 180 confirmed minutes on 12月5日, Wuhua (530102)
    // Small hours for Yunnan, so three confirmed hours earn two stars.
    let rule = json!({"thresholds": [2, 3, 4, 5, 6], "complaint_block_days": 365});
    app.call(Method::PUT, "/api/v1/star-rules/530000", Some(&s.admin), Some(rule)).await.expect_status(200);
    let mut grants = Vec::new();
    for stars in [1, 2] {
        let applied = app.post("/mp/v1/me/star-applications", Some(&s.volunteer), json!({"stars": stars})).await;
        applied.expect_status(201);
        let id = applied.body["id"].as_i64().expect("id");
        app.post(
            &format!("/api/v1/star-applications/{id}/decision"),
            Some(&s.officer),
            json!({"grant": true, "reason": "时长达标，无投诉"}),
        )
        .await
        .expect_status(200);
        grants.push(id);
    }
    assert_eq!(app.get("/mp/v1/me/stars", &s.volunteer).await.body["stars"], 2);

    // A correction to one hour, approved, through publicity, reported and confirmed: both
    // stars are now above the hours, and each goes to the county for review.
    let recorder = crate::review::recorder(&app, &s.admin, s.org).await;
    let second_recorder = crate::review::recorder(&app, &s.admin, s.org).await;
    let corrections = format!("/api/v1/activities/{}/session-corrections", s.activity);
    let proposed = app
        .post(
            &corrections,
            Some(&recorder),
            json!({"volunteer_id": s.volunteer_id, "day": "2026-12-05", "minutes": 60, "reason": "复核"}),
        )
        .await;
    proposed.expect_status(201);
    app.post(
        &format!("{corrections}/{}/decision", proposed.body["id"]),
        Some(&second_recorder),
        json!({"approve": true, "reason": "核实"}),
    )
    .await
    .expect_status(200);
    app.advance(Duration::days(7));
    assert_eq!(app.hourmark.advance_publicity().await.expect("job"), 1);
    let admin = signed_in_admin(&app, &mut s.admin_key).await;
    let organiser = app.organiser(&admin, s.org).await;
    let county = app.staff(&admin, json!({"name": "民政", "role": "officer", "region_code": "530102"})).await;
    let batch = app.post(&format!("/api/v1/organisations/{}/report-batches", s.org), Some(&organiser), json!({})).await;
    batch.expect_status(201);
    app.post(&format!("/api/v1/report-batches/{}/confirm", batch.body["id"]), Some(&county), json!({}))
        .await
        .expect_status(200);
    let reviews = app.get("/api/v1/star-reviews", &county).await.body;
    let reviews = reviews.as_array().expect("reviews").clone();
    assert_eq!(reviews.len(), 2, "{reviews:?}");
    let review_of = |stars: u64| reviews.iter().find(|r| r["stars"] == stars).expect("review")["id"].clone();
    let volunteer_number =
        app.get(&format!("/api/v1/volunteers/{}", s.volunteer_id), &admin).await.body["volunteer_number"]
            .as_str()
            .expect("number")
            .to_owned();

    let (officer, _, _) =
        browser_session(&app, &admin, json!({"name": "五华民政", "role": "officer", "region_code": "530102"})).await;
    let (administrator, _, _) =
        browser_session(&app, &admin, json!({"name": "省管理员", "role": "administrator"})).await;
    let (organiser_cookie, _, _) =
        browser_session(&app, &admin, json!({"name": "李组织", "role": "organiser", "organisation_id": s.org})).await;

    // Refusals: no session, the wrong role, a rule change without the CSRF token.
    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    for path in ["/console/star-rules", "/console/time-bank", "/console/stars"] {
        let page = no_redirects.get(app.url(path)).send().await.expect("page");
        assert_eq!(page.status().as_u16(), 303, "{path} without a session: to sign-in");
    }
    for (path, cookie, who) in [
        ("/console/star-rules", &officer, "an officer"),
        ("/console/star-rules", &organiser_cookie, "an organiser"),
        ("/console/time-bank", &officer, "an officer"),
        ("/console/stars", &administrator, "an administrator"),
    ] {
        let page = app.client.get(app.url(path)).header("cookie", cookie).send().await.expect("page");
        assert_eq!(page.status().as_u16(), 403, "{path} as {who}");
    }
    let csrf_less = app
        .client
        .put(app.url("/api/v1/star-rules/530000"))
        .header("cookie", &administrator)
        .json(&json!({"thresholds": [1, 2, 3, 4, 5], "complaint_block_days": 0}))
        .send()
        .await
        .expect("put");
    assert_eq!(csrf_less.status().as_u16(), 403);
    assert_eq!(csrf_less.json::<serde_json::Value>().await.expect("problem")["code"], "csrf_invalid");
    let yunnan = app.get("/api/v1/star-rules/530000", &county).await.body;
    assert_eq!(yunnan["thresholds"], json!([2, 3, 4, 5, 6]), "nothing changed: {yunnan}");
    // The lookup by number: an officer may not read accounts, and a number no one has is
    // not found.
    let lookup = |number: &str| format!("/api/v1/time-bank/accounts?volunteer_number={number}");
    app.get(&lookup(&volunteer_number), &county).await.expect_problem(403, "forbidden");
    app.get(&lookup("100000000000"), &admin).await.expect_problem(404, "not_found");
    app.get(&lookup("12ab"), &admin).await.expect_problem(404, "not_found");
    let account = app.get(&lookup(&volunteer_number), &admin).await;
    account.expect_status(200);
    assert_eq!(account.body["volunteer_id"], s.volunteer_id);
    assert_eq!(account.body["balance_minutes"], 60, "three hours saved, two taken back: {}", account.body);

    let dir = artifacts("stars");
    let input = json!({
        "base": app.browser_url(), "artifacts": dir,
        "officer_cookie": officer.split_once('=').expect("pair").1,
        "admin_cookie": administrator.split_once('=').expect("pair").1,
        "keep_review": review_of(1), "revoke_review": review_of(2),
        "keep_reason": "另有服务记录待补报，保留", "revoke_reason": "更正后时长不足",
        "volunteer_number": volunteer_number,
    });
    let result = run_browser_script("stars.js", &input).await;

    // The reviews: both listed with the volunteer and the hours, decided as pressed.
    let rows = result["review_rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows.iter().all(|r| r["volunteer"].as_str().is_some_and(|v| v.contains(&volunteer_number))), "{rows:?}");
    assert!(rows.iter().all(|r| r["hours"].as_str().is_some_and(|h| h.starts_with("1 小时"))), "{rows:?}");
    assert_eq!(
        result["review_states"],
        json!(["已保留星级（另有服务记录待补报，保留）", "已撤销星级（更正后时长不足）"])
    );
    assert_eq!(result["reviews_after_reload"], "没有需要复核的星级。");
    // The API agrees: one star held, nothing left to review, the second grant revoked.
    assert_eq!(app.get("/api/v1/star-reviews", &county).await.body, json!([]));
    let standing = app.get("/mp/v1/me/stars", &s.volunteer).await.body;
    assert_eq!(standing["stars"], 1, "{standing}");
    let second = standing["applications"].as_array().expect("list").iter().find(|a| a["id"] == grants[1]).cloned();
    let second = second.expect("the second grant");
    assert_eq!(second["status"], "revoked", "{second}");
    assert_eq!(second["reason"], "更正后时长不足", "{second}");
    let first = standing["applications"].as_array().expect("list").iter().find(|a| a["id"] == grants[0]).cloned();
    assert_eq!(first.expect("the first grant")["status"], "granted");

    // The star rules desk: the administrator's bar offers it; Yunnan's own rule shown for a
    // county's code; a decreasing set refused with the reason; the saved rule is the API's.
    let bar = result["admin_bar"].as_str().expect("bar");
    assert!(bar.contains("星级标准") && bar.contains("时间储蓄"), "{bar}");
    assert_eq!(result["admin_nav_wraps"], false, "the administrator's links fit a 1280-pixel desk: {bar}");
    assert!(result["rule_title"].as_str().is_some_and(|t| t.contains("云南省（530000）")), "{result:#}");
    assert_eq!(result["rule_source"], "现行标准由本省规定。");
    assert_eq!(result["rule_before"], json!(["2 小时", "3 小时", "4 小时", "5 小时", "6 小时"]));
    assert_eq!(result["bad_rule_status"], "未能保存：2 星所需小时数须多于 1 星。");
    assert_eq!(result["bad_rule_puts"], 0, "a decreasing set is not sent");
    assert!(result["rule_status"].as_str().is_some_and(|t| t.contains("已保存")), "{result:#}");
    assert_eq!(result["rule_after"], json!(["20 小时", "40 小时", "60 小时", "80 小时", "100 小时"]));
    assert_eq!(result["days_after"], "30 天");
    assert_eq!(
        app.get("/api/v1/star-rules/530102", &county).await.body,
        json!({"thresholds": [20, 40, 60, 80, 100], "complaint_block_days": 30}),
        "the API reads the rule the desk saved"
    );
    assert!(result["beijing_title"].as_str().is_some_and(|t| t.contains("北京市（110000）")), "{result:#}");
    assert_eq!(result["beijing_source"], "现行标准与全国标准相同。");
    assert!(result["bad_region_notice"].as_str().is_some_and(|t| t.contains("不是行政区划代码")), "{result:#}");

    // The statement: the balance, December's deposits and the correction's reversal, the CSV
    // the API writes, and an empty November.
    assert!(result["unknown_notice"].as_str().is_some_and(|t| t.contains("没有这个志愿者编号")), "{result:#}");
    assert!(result["statement_title"].as_str().is_some_and(|t| t.contains("张") && t.contains(&volunteer_number)));
    assert_eq!(result["balance"], "1小时");
    assert_eq!(result["closing"], "1小时");
    assert_eq!(result["opening"], "0分");
    let lines = result["statement_lines"].as_array().expect("lines");
    // The correction reversed the three-hour entry and recorded one of an hour.
    let mut seen: Vec<(String, String)> = lines
        .iter()
        .map(|l| (l["kind"].as_str().unwrap_or_default().into(), l["change"].as_str().unwrap_or_default().into()))
        .collect();
    seen.sort();
    let expected = [("冲回", "-3小时"), ("存入", "+1小时"), ("存入", "+3小时")];
    assert_eq!(seen, expected.map(|(k, c)| (k.to_owned(), c.to_owned())), "{lines:?}");
    assert!(lines.iter().all(|l| l["what"].as_str().is_some_and(|w| w.starts_with("登记序号"))), "{lines:?}");
    assert!(lines.iter().all(|l| l["organisation"] == "翠湖志愿者协会"), "{lines:?}");
    let csv = std::fs::read_to_string(result["csv"].as_str().expect("path")).expect("the download");
    assert!(csv.starts_with("\u{feff}交易编号,时间,类型"), "{csv}");
    assert!(csv.contains("\"存入\"") && csv.contains("\"冲回\""), "{csv}");
    assert!(csv.contains(r#""期末余额","","","60""#), "the closing balance, in minutes: {csv}");
    assert!(result["csv_name"].as_str().is_some_and(|n| n.ends_with(".csv")), "{result:#}");
    assert_eq!(result["november_empty"], "2026年11月没有收支。");
    assert_eq!(result["november_opening"], "0分");
}

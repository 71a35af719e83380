//! Certificates on the volunteer's own page, in real Chromium at 390×844: asked for with
//! a date range or for all service, shown as waiting, then issued (downloaded as the PDF
//! the register signs, with its check link) or declined with the issuer's reason.
//! Screenshots in `target/browser-artifacts/certificate-page/`.

use serde_json::{Value, json};

use hourmark_tests::{Backend, TestApp};

use crate::time_bank::serve_and_confirm;

#[tokio::test]
async fn a_volunteer_asks_for_a_certificate_and_downloads_it_in_chromium() {
    let app = TestApp::spawn_for_browser(Backend::Sqlite).await;
    let s = serve_and_confirm(&app).await; // 180 confirmed minutes on 12月5日
    let recorder = crate::review::recorder(&app, &s.admin, s.org).await;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let input = json!({
        "base": app.browser_url(), "artifacts": root.join("../target/browser-artifacts/certificate-page"),
        "token": s.volunteer,
    });
    let mut issued_number = String::new();
    let result =
        crate::browser_script::run_interactive_browser_script("certificates.js", &input, async |message: &Value| {
            match message["op"].as_str() {
                Some("issue") => {
                    let pending = app.get("/api/v1/certificate-requests", &recorder).await;
                    let ids: Vec<i64> =
                        pending.body.as_array().expect("list").iter().filter_map(|r| r["id"].as_i64()).collect();
                    assert_eq!(ids.len(), 2, "both requests wait: {}", pending.body);
                    let issued = app
                        .post(
                            &format!("/api/v1/certificate-requests/{}/issue", ids[0]),
                            Some(&recorder),
                            json!({"handler": "李四", "contact": "0871-65123456"}),
                        )
                        .await;
                    issued.expect_status(201);
                    issued_number = issued.body["content"]["number"].as_str().expect("number").to_owned();
                    app.post(
                        &format!("/api/v1/certificate-requests/{}/decline", ids[1]),
                        Some(&recorder),
                        json!({"reason": "重复申请，已出具一份"}),
                    )
                    .await
                    .expect_status(200);
                    json!({})
                }
                other => panic!("the script asked for {other:?}: {message}"),
            }
        })
        .await;
    assert!(result.get("error").is_none(), "the browser run stopped: {result:#}");

    assert_eq!(result["empty"], "还没有申请过证明");
    assert_eq!(result["unlabelled"], json!([]), "every field has its label");
    assert!(result["nothing_note"].as_str().is_some_and(|n| n.contains("没有经民政部门确认的服务时长")), "{result:#}");
    assert_eq!(result["asked_note"], "已提交，出具后可在这里下载。");
    for asked in result["asked"].as_array().expect("asked") {
        let asked = asked.as_str().expect("text");
        assert!(asked.starts_with("待出具全部服务（12月") && asked.ends_with("申请）"), "{asked}");
    }
    // Newest first: the second request was declined, the first issued.
    let decided: Vec<&str> = result["decided"].as_array().expect("decided").iter().filter_map(Value::as_str).collect();
    assert!(
        decided.iter().any(|d| d.starts_with("未予出具") && d.contains("理由：重复申请，已出具一份")),
        "{decided:?}"
    );
    let issued = decided.iter().find(|d| d.starts_with("已出具")).expect("issued shown");
    assert!(issued.contains(&format!("证明编号 {issued_number}，共 3小时")), "{issued}");
    assert_eq!(result["download_name"], format!("志愿服务记录证明-{issued_number}.pdf"));
    let pdf = std::fs::read(result["pdf_file"].as_str().expect("file")).expect("the downloaded file");
    assert!(pdf.starts_with(b"%PDF-"), "a PDF");
    assert_eq!(result["verify_href"], app.hourmark.verify_url(&issued_number));
    assert_eq!(result["overflow"], json!([]), "nothing wider than the phone");
    assert_eq!(result["console_errors"], json!([]), "no script errors, no CSP violations");

    // The time bank on the same page: three hours saved, then half an hour given to the
    // pool (an unknown volunteer number first: refused, nothing moved).
    assert_eq!(result["bank_summary"], "余额 3小时。", "{result:#}");
    let lines = result["bank_lines"].as_array().expect("lines");
    assert!(
        lines.len() == 1 && lines[0].as_str().is_some_and(|l| l.contains("存入") && l.ends_with("+3小时")),
        "{lines:?}"
    );
    assert_eq!(result["bank_unlabelled"], json!([]), "every field has its label");
    assert!(result["donate_unknown"].as_str().is_some_and(|n| n.contains("没有这个志愿者编号")), "{result:#}");
    assert_eq!(result["donate_note"], "已转赠 30分钟。");
    assert_eq!(result["bank_after"], "余额 2小时30分。");
    assert!(
        result["bank_lines_after"]
            .as_array()
            .expect("lines")
            .iter()
            .any(|l| l.as_str().is_some_and(|l| l.contains("转赠") && l.ends_with("−30分钟"))),
        "{result:#}"
    );
    assert!(
        result["dialogs"]
            .as_array()
            .expect("dialogs")
            .iter()
            .all(|d| d.as_str().is_some_and(|d| d.contains("转出后不能撤回"))),
        "asked first"
    );
    let account = app.get("/mp/v1/me/time-bank", &s.volunteer).await.body;
    assert_eq!(account["balance_minutes"], 150, "{account}");

    // Behind the page: what the API holds.
    let mine = app.get("/mp/v1/me/certificate-requests", &s.volunteer).await;
    let states: Vec<&str> = mine.body.as_array().expect("list").iter().filter_map(|r| r["status"].as_str()).collect();
    assert_eq!(states, vec!["declined", "issued"]);
}

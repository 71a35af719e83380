//! Correction requests on the volunteer's My data page, in real Chromium at 390×844: the
//! form (labelled, reachable by keyboard), a request filed, the staff decision shown with
//! its reason, a request about a service record. Screenshots in
//! `target/browser-artifacts/corrections/`.

use hourmark_tests::{Backend, TestApp};
use serde_json::{Value, json};

use crate::event;

#[tokio::test]
async fn a_volunteer_asks_for_corrections_on_my_data_in_chromium() {
    let app = TestApp::spawn_for_browser(Backend::Sqlite).await;
    let e = event(&app, "toggle").await;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let input = json!({
        "base": app.browser_url(), "artifacts": root.join("../target/browser-artifacts/corrections"),
        "token": e.volunteer,
    });
    let result =
        crate::browser_script::run_interactive_browser_script("corrections.js", &input, async |message: &Value| {
            match message["op"].as_str() {
                Some("decide") => {
                    let open = app.get("/api/v1/corrections", &e.admin).await;
                    let id = open.body[0]["id"].as_i64().expect("a request waits");
                    let path = format!("/api/v1/corrections/{id}/decision");
                    app.post(
                        &path,
                        Some(&e.admin),
                        json!({"accept": false, "reason": "与身份证登记的姓名一致，无需更正"}),
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

    assert_eq!(result["empty"], "还没有更正申请");
    assert_eq!(result["unlabelled"], json!([]), "every field has its label");
    // A resident-ID holder's gender and birth month come from the ID: not offered.
    assert_eq!(result["offered"], json!(["姓名", "技能", "其他（如某次服务记录）"]));
    assert_eq!(result["focus_after_field"], "c_value");
    assert_eq!(result["filed_note"], "已提交，组织核实后会通知您。");
    let filed = result["filed"][0].as_str().expect("filed");
    assert!(filed.starts_with("待组织核实 姓名：张叁 理由：身份证上的名字是“叁”（12月5日 09:00 提交）"), "{filed}");
    let decided = result["decided"][0].as_str().expect("decided");
    assert!(decided.starts_with("未予更正 姓名：张叁"), "{decided}");
    assert!(decided.ends_with("12月5日 09:00 未予更正：与身份证登记的姓名一致，无需更正"), "{decided}");
    assert!(result["other_hint"].as_str().expect("hint").starts_with("写明哪条记录有误"));
    let newest = result["both"][0].as_str().expect("newest first");
    assert!(newest.starts_with("待组织核实 其他：12月5日 翠湖公园清洁 签退时间应为 11:30"), "{newest}");
    assert_eq!(result["overflow"], json!([]), "nothing wider than the phone");
    assert_eq!(result["console_errors"], json!([]), "no script errors, no CSP violations");

    // Behind the page: both requests, as the API has them.
    let mine = app.get("/mp/v1/me/corrections", &e.volunteer).await;
    mine.expect_status(200);
    let states: Vec<&str> = mine.body.as_array().expect("list").iter().filter_map(|c| c["status"].as_str()).collect();
    assert_eq!(states, vec!["rejected", "open"]);
}

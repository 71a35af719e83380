//! The training section of 报名管理 (issue 17) in real Chromium: recruitment published on
//! the page with a required training; a volunteer refused at sign-up on the public page is
//! told which training is missing (`signup_training_missing`); the organiser records
//! completions by phone number, the page saying why an empty field or a number nobody
//! registered is refused; then the volunteer's sign-up goes through and shows on the
//! organiser's list. The API agrees. Screenshots in `target/browser-artifacts/training/`.

use hourmark_tests::{Backend, TestApp};
use serde_json::json;

use crate::browser_script::{artifacts, run_browser_script};
use crate::console_officer::browser_session;

#[tokio::test]
async fn training_completions_are_recorded_on_the_signups_page_in_chromium() {
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
    let (organiser, _, _) =
        browser_session(&app, &admin, json!({"name": "李组织", "role": "organiser", "organisation_id": org})).await;
    let (volunteer_id, token) = app.volunteer("张一", "13800000001").await;
    let training = "赛事志愿者岗前培训";

    let run = run_browser_script(
        "training.js",
        &json!({
            "base": app.browser_url(), "artifacts": artifacts("training"), "activity_id": activity,
            "organiser_cookie": organiser.split_once('=').expect("pair").1,
            "volunteer_token": token, "volunteer_phone": "138 0000 0001", "training": training,
        }),
    )
    .await;
    assert_eq!(run["training_name"], training, "{run:#}");
    assert_eq!(run["no_completions"], "还没有登记完成培训的志愿者。", "{run:#}");
    assert_eq!(run["join_requirement"], format!("须先完成组织方的培训：{training}"), "{run:#}");
    assert_eq!(run["refused_status"], format!("该活动要求先完成“{training}”，请参加组织方的培训后再报名"), "{run:#}");
    assert_eq!(run["empty_status"], "请填写志愿者的手机号。", "{run:#}");
    let unknown = run["unknown_status"].as_str().expect("status");
    assert!(unknown.starts_with("未能登记：") && unknown.len() > "未能登记：".len(), "{run:#}");
    assert_eq!(run["unknown_kept"], "13999999999", "a refused number stays to be corrected: {run:#}");
    assert_eq!(run["recorded_status"], "已登记 张一 完成培训。", "{run:#}");
    assert_eq!(run["completions"], json!(["张一 · 12月5日 09:00 登记"]), "{run:#}");
    assert_eq!(run["no_completions_hidden"], true, "{run:#}");
    assert_eq!(run["field_after"], "", "the field is cleared for the next one: {run:#}");
    assert_eq!(run["signed_status"], "已报名，等待组织方审核；审核结果会通知您。", "{run:#}");
    assert_eq!(run["signup_rows"], json!([["张一", "赛道补给", "待审核"]]), "{run:#}");

    // The API agrees: one completion, one sign-up, nothing from the refused attempt.
    let completions = app.get(&format!("/api/v1/activities/{activity}/training-completions"), &admin).await;
    completions.expect_status(200);
    assert_eq!(completions.body.as_array().map(Vec::len), Some(1), "{}", completions.body);
    assert_eq!(completions.body[0]["volunteer_id"], volunteer_id);
    assert_eq!(completions.body[0]["training"], training);
    let mine = app.hourmark.my_signups(volunteer_id).await.expect("signups");
    assert_eq!(mine.len(), 1, "the refused attempt stored nothing: {mine:?}");
}

//! A console session that has gone stale steps up with its passkey, in real Chromium
//! (tests/browser/step_up.js): removing a passkey right after signing in needs nothing
//! more; five minutes later the page asks the authenticator again and retries; an
//! authenticator that cannot verify its user is refused and nothing is removed.

use chrono::Duration;
use hourmark_tests::{Backend, TestApp, authenticator, next_login, register_at};
use serde_json::{Value, json};

use crate::browser_script::{artifacts, run_interactive_browser_script};

#[tokio::test]
async fn a_stale_console_session_steps_up_with_its_passkey_in_chromium() {
    let app = TestApp::spawn_for_browser(Backend::Sqlite).await;
    let admin = app.administrator().await;

    // The person at the desk: an administrator the browser's authenticator will enrol.
    let desk = app
        .post(
            "/api/v1/staff",
            Some(&admin),
            json!({"name": "第二管理员", "login": next_login(), "role": "administrator"}),
        )
        .await;
    desk.expect_status(201);
    let invite = desk.body["invite"]["token"].as_str().expect("invite").to_owned();

    // Someone who lost three phones' worth of passkeys.
    let created = app
        .post("/api/v1/staff", Some(&admin), json!({"name": "丢手机", "login": next_login(), "role": "administrator"}))
        .await;
    created.expect_status(201);
    let person = created.body["staff"]["id"].as_i64().expect("id");
    let enrolled = app.enrol(created.body["invite"]["token"].as_str().expect("invite"), &mut authenticator()).await;
    enrolled.expect_status(201);
    let token = enrolled.body["access_token"].as_str().expect("token").to_owned();
    for label in ["平板", "安全密钥"] {
        let start = app.post("/api/v1/me/passkeys/start", Some(&token), json!({})).await;
        start.expect_status(200);
        let origin = webauthn_rs::prelude::Url::parse(&app.browser_url()).expect("the staff origin is a URL");
        let credential = register_at(origin, &mut authenticator(), &start.body);
        app.post(
            "/api/v1/me/passkeys/finish",
            Some(&token),
            json!({ "ceremony_id": start.body["ceremony_id"], "credential": credential, "label": label }),
        )
        .await
        .expect_status(201);
    }
    let passkeys = || async { app.hourmark.store().passkeys(person).await.expect("passkeys").len() };
    assert_eq!(passkeys().await, 3);

    let input = json!({
        "base": app.browser_url(), "invite": invite, "person": "丢手机",
        "artifacts": artifacts("step_up"),
    });
    let result = run_interactive_browser_script("step_up.js", &input, async |message: &Value| {
        assert_eq!(message["op"], "advance", "{message}");
        app.advance(Duration::seconds(message["secs"].as_i64().expect("secs")));
        json!({})
    })
    .await;
    assert!(result.get("error").is_none(), "the browser run stopped: {result:#}");
    assert_eq!(result["console_errors"], json!([]), "{result:#}");

    // Right after enrolling, the removal went through without asking again.
    assert!(result["fresh"].as_str().expect("status").starts_with("已删除"), "{result:#}");
    assert_eq!(result["step_ups_when_fresh"], 0);
    // Six minutes on: refused once, stepped up with the passkey, done.
    assert!(result["stale"].as_str().expect("status").starts_with("已删除"), "{result:#}");
    assert_eq!(result["step_ups_when_stale"], 1);
    // An authenticator that cannot verify its user proves nothing: the page says so and
    // stays signed in; the passkey stays.
    let unverified = result["unverified"].as_str().expect("status");
    assert!(unverified.starts_with("未能删除"), "{unverified}");
    assert_eq!(result["url_after_unverified"], "/console/staff");
    assert_eq!(result["step_ups"], 1, "{result:#}");
    assert_eq!(passkeys().await, 1, "two removed, the third kept");
    let refusals: Vec<&str> = result["refusals"].as_array().expect("list").iter().filter_map(Value::as_str).collect();
    assert!(refusals.iter().any(|r| r.starts_with("403 /api/v1/staff/")), "{refusals:?}");
}

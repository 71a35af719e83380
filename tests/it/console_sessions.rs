//! Console (browser) sessions: they end after `HOURMARK_CONSOLE_IDLE_MINUTES` without use
//! (time moved by the test clock), use keeps them alive, API tokens never idle out; and a
//! person sees their sessions elsewhere and ends one, through the page's operation.

use chrono::Duration;
use hourmark_tests::{Backend, SoftPasskey, TestApp, authenticator, on_both_backends, register_at};
use reqwest::Url;
use serde_json::{Value, json};
use webauthn_authenticator_rs::WebauthnAuthenticator;

/// A browser session's cookie pair and CSRF token, from a finish-browser answer.
async fn cookie_of(response: reqwest::Response) -> (String, String) {
    assert_eq!(response.status().as_u16() / 100, 2, "a browser session begins");
    let set_cookie = response.headers()["set-cookie"].to_str().expect("ascii").to_owned();
    let body: Value = response.json().await.expect("json");
    (set_cookie.split(';').next().expect("pair").to_owned(), body["csrf_token"].as_str().expect("csrf").to_owned())
}

/// A new organiser enrolled in a browser: their login, passkey and first browser session.
async fn enrolled(app: &TestApp, admin: &str, organisation_id: i64) -> (String, SoftPasskey, (String, String)) {
    let login = hourmark_tests::next_login();
    let created = app
        .post(
            "/api/v1/staff",
            Some(admin),
            json!({"name": "李组织", "login": login, "role": "organiser", "organisation_id": organisation_id}),
        )
        .await;
    created.expect_status(201);
    let start =
        app.post("/api/v1/invites/passkey/start", None, json!({ "invite": created.body["invite"]["token"] })).await;
    let mut passkey = authenticator();
    let credential = register_at(Url::parse(&app.browser_url()).expect("origin"), &mut passkey, &start.body);
    let response = app
        .client
        .post(app.url("/api/v1/invites/passkey/finish-browser"))
        .json(&json!({ "ceremony_id": start.body["ceremony_id"], "credential": credential }))
        .send()
        .await
        .expect("finish");
    (login, passkey, cookie_of(response).await)
}

/// Another browser session for the same person, signed in with their passkey.
async fn signed_in_elsewhere(app: &TestApp, login: &str, passkey: &mut SoftPasskey) -> (String, String) {
    let start = app.post("/api/v1/sign-in/passkey/start", None, json!({ "login": login })).await;
    start.expect_status(200);
    let options = serde_json::from_value(start.body["options"].clone()).expect("options");
    let credential =
        passkey.do_authentication(Url::parse(&app.browser_url()).expect("origin"), options).expect("signs");
    let response = app
        .client
        .post(app.url("/api/v1/sign-in/passkey/finish-browser"))
        .json(&json!({ "ceremony_id": start.body["ceremony_id"], "credential": credential }))
        .send()
        .await
        .expect("finish");
    cookie_of(response).await
}

async fn me(app: &TestApp, cookie: &str) -> u16 {
    app.client.get(app.url("/api/v1/me")).header("cookie", cookie).send().await.expect("me").status().as_u16()
}

on_both_backends! {
    async fn a_console_session_ends_after_idling_and_use_keeps_it(app: TestApp) {
        let admin = app.administrator().await;
        let organisation_id = app.organisation(&admin, "翠湖志愿者协会").await;
        let (_, _, (cookie, _)) = enrolled(&app, &admin, organisation_id).await;
        let token = app.organiser(&admin, organisation_id).await;

        // Used every 29 minutes for two hours: still signed in.
        for _ in 0..4 {
            app.advance(Duration::minutes(29));
            assert_eq!(me(&app, &cookie).await, 200);
        }
        // The last use is in the store, not only in a cache.
        let me_body: Value =
            app.client.get(app.url("/api/v1/me")).header("cookie", &cookie).send().await.expect("me").json().await.expect("json");
        let staff_id = me_body["staff"]["id"].as_i64().expect("id");
        let principal = hourmark_core::identity::Principal::Staff {
            id: staff_id,
            role: hourmark_core::identity::StaffRole::Organiser,
            organisation_id: Some(organisation_id),
        };
        let stored = app.hourmark.store().list_access_tokens(&principal).await.expect("sessions");
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].last_seen_at, Some(app.clock_now()));
        assert_eq!(stored[0].idle_minutes, Some(30));
        // Then 30 minutes without use: gone, from the API and from the pages.
        app.advance(Duration::minutes(30));
        let refused = app.client.get(app.url("/api/v1/me")).header("cookie", &cookie).send().await.expect("me");
        assert_eq!(refused.status().as_u16(), 401);
        let body: Value = refused.json().await.expect("problem");
        assert_eq!(body["code"], "unauthenticated");
        assert!(body["detail"].as_str().expect("detail").contains("长时间未操作"));
        let page = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client")
            .get(app.url("/console"))
            .header("cookie", &cookie)
            .send()
            .await
            .expect("page");
        assert_eq!(page.status().as_u16(), 303);
        // Use afterwards does not bring it back.
        assert_eq!(me(&app, &cookie).await, 401);
        // The bearer token issued alongside, unused for 2 h 26 min, still works.
        app.get("/api/v1/me", &token).await.expect_status(200);
    }
}

on_both_backends! {
    async fn sessions_elsewhere_are_listed_and_ended(app: TestApp) {
        let admin = app.administrator().await;
        let organisation_id = app.organisation(&admin, "翠湖志愿者协会").await;
        let (login, mut passkey, (here, csrf)) = enrolled(&app, &admin, organisation_id).await;
        app.advance(Duration::minutes(5));
        let (elsewhere, _) = signed_in_elsewhere(&app, &login, &mut passkey).await;

        let listed = app.client.get(app.url("/api/v1/me/sessions")).header("cookie", &here).send().await.expect("list");
        let listed: Value = listed.json().await.expect("json");
        let sessions = listed.as_array().expect("list");
        assert_eq!(sessions.len(), 2, "{listed}");
        assert!(sessions.iter().all(|s| s["kind"] == "console" && s["idle_expires_at"].is_string()));
        let other = sessions.iter().find(|s| s["current"] == false).expect("the other browser");
        let other_id = other["session_id"].as_str().expect("id").to_owned();

        // The page shows both, this one marked, the other with its button.
        let page = app.client.get(app.url("/console/sessions")).header("cookie", &here).send().await.expect("page");
        assert_eq!(page.status().as_u16(), 200);
        let html = page.text().await.expect("html");
        assert!(html.contains("本设备") && html.contains("30 分钟无操作后自动退出"), "{html}");
        assert!(html.contains(&format!("data-session-id=\"{other_id}\"")) && html.contains("让它退出"));

        // Ending it needs the CSRF token; without it nothing changes.
        let path = format!("/api/v1/me/sessions/{other_id}");
        let refused = app.client.delete(app.url(&path)).header("cookie", &here).send().await.expect("delete");
        assert_eq!(refused.status().as_u16(), 403);
        assert_eq!(me(&app, &elsewhere).await, 200);
        let ended = app.client.delete(app.url(&path)).header("cookie", &here).header("x-csrf-token", &csrf).send().await.expect("delete");
        assert_eq!(ended.status().as_u16() / 100, 2);
        assert_eq!(me(&app, &elsewhere).await, 401, "the other browser is signed out");
        assert_eq!(me(&app, &here).await, 200, "this one is not");
        // Someone else's session id is no session of mine.
        let stranger = app.organiser(&admin, organisation_id).await;
        let theirs = app.get("/api/v1/me/sessions", &stranger).await.body[0]["session_id"].as_str().expect("id").to_owned();
        let refused = app
            .client
            .delete(app.url(&format!("/api/v1/me/sessions/{theirs}")))
            .header("cookie", &here)
            .header("x-csrf-token", &csrf)
            .send()
            .await
            .expect("delete");
        assert_eq!(refused.status().as_u16(), 404);
        app.get("/api/v1/me", &stranger).await.expect_status(200);

        // An idle session is no longer listed.
        app.advance(Duration::minutes(31));
        let (fresh, _) = signed_in_elsewhere(&app, &login, &mut passkey).await;
        let listed = app.client.get(app.url("/api/v1/me/sessions")).header("cookie", &fresh).send().await.expect("list");
        let listed: Value = listed.json().await.expect("json");
        assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    }
}

/// The idle limit is configuration.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_idle_limit_is_configurable() {
    let database = std::sync::Arc::new(hourmark_tests::TestDatabase::create(Backend::Sqlite).await);
    let app = TestApp::spawn_with(Backend::Sqlite, database, uuid::Uuid::new_v4().simple().to_string(), |config| {
        config.console_idle_minutes = 5;
    })
    .await;
    let admin = app.administrator().await;
    let organisation_id = app.organisation(&admin, "翠湖志愿者协会").await;
    let (_, _, (cookie, _)) = enrolled(&app, &admin, organisation_id).await;
    app.advance(Duration::minutes(4));
    assert_eq!(me(&app, &cookie).await, 200);
    app.advance(Duration::minutes(5));
    assert_eq!(me(&app, &cookie).await, 401);
}

//! Sessions: listed without their tokens, ended one by one or everywhere, and a revoked
//! token stops working at once.

use std::sync::Arc;

use hourmark_tests::{Backend, TestApp, TestDatabase};
use serde_json::json;
use uuid::Uuid;

async fn sessions_can_be_listed_and_ended(backend: Backend) {
    let database = Arc::new(TestDatabase::create(backend).await);
    let app = TestApp::spawn_with(backend, database, Uuid::new_v4().simple().to_string(), |c| c.dev_login = true).await;
    let (_, phone_token) = app.volunteer("张三", "13800001234").await;
    let tablet = app.post("/mp/v1/login/dev", None, json!({"phone": "13800001234"})).await;
    let tablet_token = tablet.body["access_token"].as_str().expect("token").to_owned();

    let list = app.get("/mp/v1/me/sessions", &phone_token).await;
    list.expect_status(200);
    let sessions = list.body.as_array().expect("list");
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);
    let raw = String::from_utf8_lossy(&list.raw);
    assert!(!raw.contains(&phone_token[3..]) && !raw.contains(&tablet_token[3..]), "tokens are never listed");
    let other = sessions.iter().find(|s| s["current"] == false).expect("the tablet");
    let other_id = other["session_id"].as_str().expect("id").to_owned();

    // End the tablet's session from the phone: the tablet is out at once, the phone is not.
    let ended =
        app.call(reqwest::Method::DELETE, &format!("/mp/v1/me/sessions/{other_id}"), Some(&phone_token), None).await;
    ended.expect_status(200);
    assert_eq!(ended.body["ended"], 1);
    app.get("/mp/v1/me", &tablet_token).await.expect_problem(401, "unauthenticated");
    app.get("/mp/v1/me", &phone_token).await.expect_status(200);
    app.call(reqwest::Method::DELETE, &format!("/mp/v1/me/sessions/{other_id}"), Some(&phone_token), None)
        .await
        .expect_problem(404, "not_found");
    app.call(reqwest::Method::DELETE, "/mp/v1/me/sessions/0000000000000000", Some(&phone_token), None)
        .await
        .expect_problem(404, "not_found");

    // Everywhere: this one too.
    let again = app.post("/mp/v1/login/dev", None, json!({"phone": "13800001234"})).await;
    let again = again.body["access_token"].as_str().expect("token").to_owned();
    let out = app.post("/mp/v1/me/sign-out-everywhere", Some(&phone_token), json!({})).await;
    out.expect_status(200);
    assert_eq!(out.body["ended"], 2);
    app.get("/mp/v1/me", &phone_token).await.expect_problem(401, "unauthenticated");
    app.get("/mp/v1/me", &again).await.expect_problem(401, "unauthenticated");

    // Staff: their own endpoints; each surface refuses the other kind of token.
    let admin = app.administrator().await;
    let fresh = app.post("/mp/v1/login/dev", None, json!({"phone": "13800001234"})).await;
    let volunteer = fresh.body["access_token"].as_str().expect("token").to_owned();
    app.get("/api/v1/me/sessions", &volunteer).await.expect_problem(403, "forbidden");
    app.get("/mp/v1/me/sessions", &admin).await.expect_problem(403, "forbidden");
    let staff_list = app.get("/api/v1/me/sessions", &admin).await;
    staff_list.expect_status(200);
    assert_eq!(staff_list.body.as_array().map(Vec::len), Some(1));
    app.post("/api/v1/me/sign-out", Some(&admin), json!({})).await.expect_status(200);
    app.get("/api/v1/organisations", &admin).await.expect_problem(401, "unauthenticated");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_can_be_listed_and_ended_sqlite() {
    sessions_can_be_listed_and_ended(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_can_be_listed_and_ended_postgres() {
    sessions_can_be_listed_and_ended(Backend::Postgres).await;
}

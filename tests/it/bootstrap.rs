//! The first administrator: a one-time token, no default password, and an invite that
//! enrols their first passkey.

use hourmark_tests::{authenticator, on_both_backends};
use serde_json::json;

on_both_backends! {
    async fn bootstrap_token_creates_one_administrator_once(app: TestApp) {
        let token = app.hourmark.issue_bootstrap_token(None).await.expect("issue").expect("empty installation");
        let wrong = format!("hm_{}", "A".repeat(43));
        app.post("/api/v1/bootstrap", None, json!({"token": wrong, "name": "甲", "login": "admin"})).await
            .expect_problem(401, "bootstrap_token_invalid");
        app.post("/api/v1/bootstrap", None, json!({"token": "not-a-token", "name": "甲", "login": "admin"})).await
            .expect_problem(401, "bootstrap_token_invalid");
        // A bad login is refused without spending the token.
        app.post("/api/v1/bootstrap", None, json!({"token": token, "name": "甲", "login": "管理员"})).await
            .expect_problem(422, "invalid_body");

        let first = app.post("/api/v1/bootstrap", None, json!({"token": token, "name": "管理员", "login": "Admin"})).await;
        first.expect_status(201);
        assert_eq!(first.body["staff"]["role"], "administrator");
        assert_eq!(first.body["staff"]["login"], "admin", "logins are folded to lower case");
        assert!(first.body.get("access_token").is_none(), "bootstrap hands out an invite, not a session");
        let invite = first.body["invite"]["token"].as_str().expect("invite");
        let url = first.body["invite"]["url"].as_str().expect("url");
        assert_eq!(url, format!("http://localhost:8080/staff/enrol#invite={invite}"));

        let enrolled = app.enrol(invite, &mut authenticator()).await;
        enrolled.expect_status(201);
        let admin = enrolled.body["access_token"].as_str().expect("token");
        app.get("/api/v1/organisations", admin).await.expect_status(200);

        // Spent: neither the same token nor a new one works once an administrator exists.
        app.post("/api/v1/bootstrap", None, json!({"token": token, "name": "乙", "login": "other"})).await
            .expect_problem(401, "bootstrap_token_invalid");
        assert_eq!(app.hourmark.issue_bootstrap_token(None).await.expect("issue"), None);
    }
}

on_both_backends! {
    async fn two_outstanding_tokens_still_make_only_one_administrator(app: TestApp) {
        let a = app.hourmark.issue_bootstrap_token(None).await.expect("issue").expect("token");
        let b = app.hourmark.issue_bootstrap_token(None).await.expect("issue").expect("token");
        let (ra, rb) = tokio::join!(
            app.post("/api/v1/bootstrap", None, json!({"token": a, "name": "甲", "login": "jia"})),
            app.post("/api/v1/bootstrap", None, json!({"token": b, "name": "乙", "login": "yi.er"})),
        );
        let mut statuses = [ra.status, rb.status];
        statuses.sort_unstable();
        assert_eq!(statuses, [201, 401], "exactly one bootstrap may succeed: {ra:?} {rb:?}");
    }
}

//! Registrations confirmed by a one-time SMS code (issue 14, points 6 and 7): a minor's
//! by the code sent to the guardian's phone, and, where the server asks (always in
//! production), an adult's by the code sent to their own. Until the code comes back
//! nothing is stored, and whether an ID number is registered is told only to someone who
//! proved the phone. Codes are read from the development SMS sink in-process.

use std::sync::Arc;

use hourmark_tests::{
    Answer, Backend, TestApp, TestDatabase, next_resident_id, on_both_backends, registration, resident_id,
};
use serde_json::{Value, json};
use uuid::Uuid;

/// A server that asks every registration for a code, as production does.
async fn asking(backend: Backend) -> TestApp {
    let database = Arc::new(TestDatabase::create(backend).await);
    TestApp::spawn_with(backend, database, Uuid::new_v4().simple().to_string(), |c| c.registration_phone_code = true)
        .await
}

macro_rules! asking_on_both_backends {
    (async fn $name:ident($app:ident) $body:block) => {
        mod $name {
            use super::*;

            async fn run($app: TestApp) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run(asking(Backend::Sqlite).await).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                run(asking(Backend::Postgres).await).await
            }
        }
    };
}

/// The same registration again with a confirmation.
fn confirmed(body: &Value, registration_id: &Value, code: &str) -> Value {
    let mut again = body.clone();
    again["confirmation"] = json!({"registration_id": registration_id, "code": code});
    again
}

/// The fields of a 202 answer, with what differs by nature (the id, the masked phone,
/// the expiry) blanked: what someone who proved nothing can compare.
fn shape(answer: &Answer) -> Value {
    let mut body = answer.body.clone();
    for volatile in ["registration_id", "phone", "expires_at"] {
        assert!(body.get(volatile).is_some(), "{volatile} in {body}");
        body[volatile] = Value::Null;
    }
    json!({"status": answer.status, "body": body, "content_type": answer.content_type})
}

asking_on_both_backends! {
    async fn an_id_number_already_registered_is_told_only_after_the_phone_is_proven(app) {
        let id_number = resident_id("19900315", 123);
        let owner = registration("张三", "13800001111", &id_number);
        app.register_confirmed(owner, "13800001111").await.expect_status(201);

        // Someone with the owner's ID number and their own phone, and a fresh
        // registration: the same first answer, and nothing stored for either.
        let probe = registration("张三", "13800002222", &id_number);
        let taken = app.post("/mp/v1/volunteers", None, probe.clone()).await;
        let fresh_body = registration("李四", "13800003333", &next_resident_id());
        let fresh = app.post("/mp/v1/volunteers", None, fresh_body.clone()).await;
        taken.expect_status(202);
        assert_eq!(shape(&taken), shape(&fresh), "an ID number's registration is not told apart");
        assert_eq!(taken.body["code_sent_to"], "volunteer");
        assert_eq!(taken.body["phone"], "138****2222");
        assert_eq!(taken.body["attempts_allowed"], 5);
        assert!(!app.has_account("13800002222").await && !app.has_account("13800003333").await);

        // Proven phone: now it is told, and still nothing is stored.
        let code = app.sent_code("13800002222").expect("code to the prober's phone");
        app.post("/mp/v1/volunteers", None, confirmed(&probe, &taken.body["registration_id"], &code)).await
            .expect_problem(409, "id_number_taken");
        assert!(!app.has_account("13800002222").await);
        // The fresh one registers.
        let code = app.sent_code("13800003333").expect("code");
        let done = app.post("/mp/v1/volunteers", None, confirmed(&fresh_body, &fresh.body["registration_id"], &code)).await;
        done.expect_status(201);
        assert!(done.body["access_token"].as_str().is_some_and(|t| !t.is_empty()));
        assert_eq!(done.headers.get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"));
    }
}

asking_on_both_backends! {
    async fn a_registration_code_confirms_that_registration_once_and_nothing_else(app) {
        let body = registration("王五", "13700000001", &next_resident_id());
        let first = app.post("/mp/v1/volunteers", None, body.clone()).await;
        first.expect_status(202);
        let id = first.body["registration_id"].clone();
        let code = app.sent_code("13700000001").expect("code");
        // Another registration's code, with this one's id: wrong.
        let other = registration("赵六", "13700000002", &next_resident_id());
        let other_first = app.post("/mp/v1/volunteers", None, other.clone()).await;
        other_first.expect_status(202);
        let other_code = app.sent_code("13700000002").expect("code");
        if other_code != code {
            app.post("/mp/v1/volunteers", None, confirmed(&body, &id, &other_code)).await
                .expect_problem(422, "sms_code_invalid");
        }
        // This code with the other registration's id: wrong too.
        if other_code != code {
            app.post("/mp/v1/volunteers", None, confirmed(&other, &other_first.body["registration_id"], &code)).await
                .expect_problem(422, "sms_code_invalid");
        }
        // The registration changed after the code was sent (another ID number): wrong.
        let mut changed = body.clone();
        changed["id_number"] = json!(next_resident_id());
        app.post("/mp/v1/volunteers", None, confirmed(&changed, &id, &code)).await.expect_problem(422, "sms_code_invalid");
        // An id never given, or not an id at all.
        app.post("/mp/v1/volunteers", None, confirmed(&body, &json!("0".repeat(32)), &code)).await
            .expect_problem(422, "registration_expired");
        app.post("/mp/v1/volunteers", None, confirmed(&body, &json!("x"), &code)).await
            .expect_problem(422, "registration_expired");
        app.post("/mp/v1/volunteers", None, confirmed(&body, &id, "12345")).await.expect_problem(422, "sms_code_invalid");
        assert!(!app.has_account("13700000001").await, "no bad try stored anything");
        // The right one, once; a replay finds nothing.
        app.post("/mp/v1/volunteers", None, confirmed(&body, &id, &code)).await.expect_status(201);
        app.post("/mp/v1/volunteers", None, confirmed(&body, &id, &code)).await
            .expect_problem(422, "registration_expired");
        // (The registration's code counts against the number's sign-in codes too.)
        app.advance(chrono::Duration::seconds(61));
        assert!(app.has_account("13700000001").await);
    }
}

asking_on_both_backends! {
    async fn five_wrong_codes_or_five_minutes_end_a_registration(app) {
        let body = registration("钱七", "13700000011", &next_resident_id());
        let first = app.post("/mp/v1/volunteers", None, body.clone()).await;
        first.expect_status(202);
        let id = first.body["registration_id"].clone();
        let code = app.sent_code("13700000011").expect("code");
        let wrong = if code == "000000" { "111111" } else { "000000" };
        for left in (1..=4).rev() {
            let answer = app.post("/mp/v1/volunteers", None, confirmed(&body, &id, wrong)).await;
            answer.expect_problem(422, "sms_code_invalid");
            assert!(answer.body["detail"].as_str().is_some_and(|d| d.contains(&format!("还可再试 {left} 次"))));
        }
        app.post("/mp/v1/volunteers", None, confirmed(&body, &id, wrong)).await
            .expect_problem(422, "sms_code_attempts_exhausted");
        app.post("/mp/v1/volunteers", None, confirmed(&body, &id, &code)).await
            .expect_problem(422, "sms_code_attempts_exhausted");
        assert!(!app.has_account("13700000011").await);

        // Expired: five minutes.
        let body = registration("孙八", "13700000012", &next_resident_id());
        let first = app.post("/mp/v1/volunteers", None, body.clone()).await;
        let code = app.sent_code("13700000012").expect("code");
        app.advance(chrono::Duration::minutes(5) + chrono::Duration::seconds(1));
        app.post("/mp/v1/volunteers", None, confirmed(&body, &first.body["registration_id"], &code)).await
            .expect_problem(422, "sms_code_expired");
        assert!(!app.has_account("13700000012").await);
        // Asking again at once for the same number is limited like sign-in codes.
        app.post("/mp/v1/volunteers", None, body.clone()).await.expect_status(202);
        app.post("/mp/v1/volunteers", None, body).await.expect_problem(429, "sms_rate_limited");
    }
}

on_both_backends! {
    async fn a_minor_is_stored_only_once_the_guardians_phone_confirmed(app: TestApp) {
        // The test day is 2026-12-05: born 2012-06-01, fourteen.
        let child = |guardian: Option<Value>| {
            let mut body = registration("王小明", "13600000001", &resident_id("20120601", 5));
            if let Some(g) = guardian {
                body["guardian"] = g;
            }
            body
        };
        let guardian = |phone: &str| json!({"name": "王芳", "relation": "母亲", "phone": phone});
        app.post("/mp/v1/volunteers", None, child(None)).await.expect_problem(422, "guardian_required");
        app.post("/mp/v1/volunteers", None, child(Some(guardian("+86 136 0000 0001")))).await
            .expect_problem(422, "guardian_phone_same");
        app.post("/mp/v1/volunteers", None, child(Some(json!({"name": "王芳", "relation": "", "phone": "13911112222"})))).await
            .expect_problem(422, "invalid_body");
        // An adult names no guardian.
        let mut adult = registration("成年", "13600000009", &next_resident_id());
        adult["guardian"] = guardian("13911112222");
        app.post("/mp/v1/volunteers", None, adult).await.expect_problem(422, "invalid_body");

        let body = child(Some(guardian("13911112222")));
        let first = app.post("/mp/v1/volunteers", None, body.clone()).await;
        first.expect_status(202);
        assert_eq!(first.body["code_sent_to"], "guardian");
        assert_eq!(first.body["phone"], "139****2222");
        assert_eq!(app.sent_code("13600000001"), None, "never to the child's own number");
        assert!(!app.has_account("13600000001").await, "nothing of the child is stored before the guardian confirms");
        let code = app.sent_code("13911112222").expect("code to the guardian");
        // The guardian's code with another guardian phone: wrong.
        let mut switched = child(Some(guardian("13911113333")));
        switched["confirmation"] = json!({"registration_id": first.body["registration_id"], "code": code});
        app.post("/mp/v1/volunteers", None, switched).await.expect_problem(422, "sms_code_invalid");

        let done = app.post("/mp/v1/volunteers", None, confirmed(&body, &first.body["registration_id"], &code)).await;
        done.expect_status(201);
        let token = done.body["access_token"].as_str().expect("token");
        let mine = app.get("/mp/v1/me", token).await;
        let consents = mine.body["consents"].as_array().expect("consents");
        assert_eq!(consents.last().map(|c| (c["purpose"].as_str(), c["granted"].as_bool())), Some((Some("guardian"), Some(true))));
        // Who consented, and how: sealed with the consent.
        let id = done.body["volunteer"]["id"].as_i64().expect("id");
        let detail = guardian_detail(&app, id).await;
        assert_eq!(detail["name"], "王芳");
        assert_eq!(detail["relation"], "母亲");
        assert_eq!(detail["phone_masked"], "139****2222");
        assert_eq!(detail["confirmed_by"], "sms_code_to_guardian_phone");
        // The child takes part.
        let e = crate::event(&app, "toggle").await;
        let url = app.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
        app.scan(token, &url).await.expect_status(200);
    }
}

/// The guardian detail sealed with a volunteer's guardian consent, opened.
async fn guardian_detail(app: &TestApp, volunteer_id: i64) -> Value {
    let url = &app.config.database_url;
    let sealed: String = if url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(url).await.expect("connect");
        sqlx::query_scalar("select detail_sealed from consent where volunteer_id = $1 and purpose = 'guardian'")
            .bind(volunteer_id)
            .fetch_one(&pool)
            .await
            .expect("one guardian consent")
    } else {
        let pool = sqlx::SqlitePool::connect(url).await.expect("connect");
        sqlx::query_scalar("select detail_sealed from consent where volunteer_id = ?1 and purpose = 'guardian'")
            .bind(volunteer_id)
            .fetch_one(&pool)
            .await
            .expect("one guardian consent")
    };
    assert!(!sealed.contains("13911112222"), "sealed at rest");
    let vault = hourmark_core::identity::pii::PiiVault::parse(
        hourmark_tests::TEST_PII_KEYS,
        None,
        hourmark_tests::TEST_PII_LOOKUP_KEY,
    )
    .expect("test keys");
    let plain = vault.open(hourmark_core::identity::pii::PiiField::GuardianDetail, &sealed).expect("opens");
    serde_json::from_str(&plain).expect("json")
}

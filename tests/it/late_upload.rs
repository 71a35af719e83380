//! Late uploads of scans the phone kept offline: recorded at the claimed time when the code
//! was valid then, within the bound, from the bound device, flagged `late_upload`; refused
//! with their own codes otherwise; and never counted twice, however often (or however
//! concurrently) the phone retries.

use chrono::Duration;
use hourmark_tests::{Answer, TestApp, next_resident_id, on_both_backends, registration};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::event;

/// The device the test volunteers bind when they register.
const PHONE: &str = "test-phone-1";

/// A volunteer registered on [`PHONE`] → (id, token).
async fn bound_volunteer(app: &TestApp, name: &str, phone: &str) -> (i64, String) {
    let mut body = registration(name, phone, &next_resident_id());
    body["device_id"] = json!(PHONE);
    let answer = app.post("/mp/v1/volunteers", None, body).await;
    answer.expect_status(201);
    (answer.body["volunteer"]["id"].as_i64().expect("id"), answer.body["access_token"].as_str().expect("token").into())
}

/// Uploads a queued scan made `elapsed` ago by the phone's measure.
async fn upload(app: &TestApp, volunteer: &str, code: &str, nonce: Uuid, elapsed: Duration, device: &str) -> Answer {
    app.post(
        "/mp/v1/scans",
        Some(volunteer),
        json!({
            "code": code,
            "nonce": nonce,
            "client_time": (app.clock_now() - elapsed).to_rfc3339(),
            "device_id": device,
            "offline": {"elapsed_ms": elapsed.num_milliseconds()},
        }),
    )
    .await
}

fn token(code: &Value) -> String {
    code["token"].as_str().expect("token").to_owned()
}

on_both_backends! {
    async fn a_scan_kept_offline_counts_once_at_its_claimed_time_and_is_flagged(app: TestApp) {
        let e = event(&app, "toggle").await;
        let (volunteer_id, volunteer) = bound_volunteer(&app, "李四", "13900001111").await;
        // Shown at 09:00:00; scanned five seconds later in a hall with no signal.
        let code = token(&app.code(&e.organiser, e.activity_id, 0, "toggle").await);
        let nonce = Uuid::new_v4();
        // The network returns at 09:15.
        app.advance(Duration::minutes(15));
        let elapsed = Duration::minutes(15) - Duration::seconds(5);
        let first = upload(&app, &volunteer, &code, nonce, elapsed, PHONE).await;
        first.expect_status(200);
        assert_eq!(first.body["outcome"], "checked_in");
        assert_eq!(first.body["server_time"], "2026-12-05T09:00:05+08:00", "recorded when it was scanned");
        assert!(first.body["message"].as_str().expect("message").contains("离线扫码"), "{}", first.body);

        // The phone did not hear the answer and retries a minute later: the same answer.
        app.advance(Duration::minutes(1));
        let again = upload(&app, &volunteer, &code, nonce, elapsed + Duration::minutes(1), PHONE).await;
        assert_eq!(again.status, 200);
        assert_eq!(again.body, first.body);
        assert_eq!(app.scans_recorded(volunteer_id).await, 1, "counted once");

        let list = app.sessions(&e.organiser, e.activity_id).await;
        let mine: Vec<&Value> = list.iter().filter(|s| s["volunteer_id"] == volunteer_id).collect();
        assert_eq!(mine.len(), 1);
        assert_eq!(mine[0]["pairs"][0]["checked_in_at"], "2026-12-05T09:00:05+08:00");

        // Uploaded 14 min 55 s after its code was shown: over the 10-minute threshold.
        let flags = app.hourmark.store().flags(e.activity_id).await.expect("flags");
        let late: Vec<_> = flags.iter().filter(|f| f.rule.as_str() == "late_upload").collect();
        assert_eq!(late.len(), 1, "{flags:?}");
        assert_eq!(late[0].volunteer_id, volunteer_id);

        // A check-out kept offline too: minutes run to its claimed time, not to the upload.
        app.advance(Duration::hours(2));
        let out_code = token(&app.code(&e.organiser, e.activity_id, 0, "toggle").await);
        app.advance(Duration::minutes(30));
        let out = upload(&app, &volunteer, &out_code, Uuid::new_v4(), Duration::minutes(30) - Duration::seconds(3), PHONE)
            .await;
        out.expect_status(200);
        assert_eq!(out.body["outcome"], "checked_out");
        assert_eq!(out.body["server_time"], "2026-12-05T11:16:03+08:00");
        assert_eq!(app.scans_recorded(volunteer_id).await, 2);
    }
}

on_both_backends! {
    async fn a_late_upload_claiming_a_time_its_code_was_not_valid_at_is_refused(app: TestApp) {
        let e = event(&app, "toggle").await;
        let (volunteer_id, volunteer) = bound_volunteer(&app, "李四", "13900001111").await;
        app.advance(Duration::minutes(5));
        let code = token(&app.code(&e.organiser, e.activity_id, 0, "toggle").await);
        app.advance(Duration::minutes(1));

        // Claims 09:00, four minutes before the code was first shown.
        let nonce = Uuid::new_v4();
        let before = upload(&app, &volunteer, &code, nonce, Duration::minutes(6), PHONE).await;
        before.expect_problem(422, "late_upload_code_not_valid_then");
        // Claims now, a minute after the code stopped being valid: a photo scanned late.
        let after = upload(&app, &volunteer, &code, Uuid::new_v4(), Duration::zero(), PHONE).await;
        after.expect_problem(422, "late_upload_code_not_valid_then");
        assert!(after.body["detail"].as_str().expect("detail").contains("不计时"), "{}", after.body);

        // The phone retries the first: the same refusal, no second row.
        let replay = upload(&app, &volunteer, &code, nonce, Duration::minutes(7), PHONE).await;
        assert_eq!(replay.body, before.body);
        assert_eq!(app.scans_recorded(volunteer_id).await, 2, "each refusal kept once, as evidence");
        assert!(app.sessions(&e.organiser, e.activity_id).await.iter().all(|s| s["volunteer_id"] != volunteer_id));

        // A claim from the future is no claim at all: refused unrecorded.
        upload(&app, &volunteer, &code, Uuid::new_v4(), Duration::milliseconds(-1), PHONE)
            .await
            .expect_problem(422, "invalid_body");
        assert_eq!(app.scans_recorded(volunteer_id).await, 2);
    }
}

on_both_backends! {
    async fn a_late_upload_past_the_bound_is_refused_and_one_before_it_counts(app: TestApp) {
        let e = event(&app, "toggle").await;
        let (volunteer_id, volunteer) = bound_volunteer(&app, "李四", "13900001111").await;
        let (other_id, other) = bound_volunteer(&app, "王五", "13900002222").await;
        let code = token(&app.code(&e.organiser, e.activity_id, 0, "toggle").await);
        let nonce = Uuid::new_v4();

        // Check-out closes at 19:00 (17:00 and 120 minutes). At 19:00 exactly it still counts.
        let until_close = Duration::hours(10);
        app.advance(until_close);
        upload(&app, &other, &code, Uuid::new_v4(), until_close - Duration::seconds(2), PHONE).await.expect_status(200);

        app.advance(Duration::seconds(1));
        let late = upload(&app, &volunteer, &code, nonce, until_close - Duration::seconds(1), PHONE).await;
        late.expect_problem(409, "late_upload_too_late");
        assert!(late.body["detail"].as_str().expect("detail").contains("12月5日 19:00"), "{}", late.body);
        let replay = upload(&app, &volunteer, &code, nonce, until_close + Duration::minutes(1), PHONE).await;
        assert_eq!(replay.body, late.body);
        assert_eq!(app.scans_recorded(volunteer_id).await, 1);
        assert_eq!(app.scans_recorded(other_id).await, 1);
        let list = app.sessions(&e.organiser, e.activity_id).await;
        assert!(list.iter().all(|s| s["volunteer_id"] != volunteer_id), "{list:?}");
    }
}

on_both_backends! {
    async fn a_late_upload_comes_only_from_the_bound_device(app: TestApp) {
        let e = event(&app, "toggle").await;
        let code = token(&app.code(&e.organiser, e.activity_id, 0, "toggle").await);
        app.advance(Duration::minutes(2));
        let (bound_id, bound) = bound_volunteer(&app, "李四", "13900001111").await;
        upload(&app, &bound, &code, Uuid::new_v4(), Duration::minutes(2), "another-phone")
            .await
            .expect_problem(403, "device_not_bound");
        // The event's volunteer registered without binding a phone: no late uploads at all.
        upload(&app, &e.volunteer, &code, Uuid::new_v4(), Duration::minutes(2), PHONE)
            .await
            .expect_problem(403, "device_not_bound");
        assert_eq!(app.scans_recorded(bound_id).await, 1);
        // A ticket and an offline claim together are a malformed request.
        let both = app
            .post(
                "/mp/v1/scans",
                Some(&bound),
                json!({"code": code, "nonce": Uuid::new_v4(), "client_time": app.clock_now().to_rfc3339(),
                       "device_id": PHONE, "pending_ticket": "1.AAAA", "offline": {"elapsed_ms": 1000}}),
            )
            .await;
        both.expect_problem(422, "invalid_body");
    }
}

on_both_backends! {
    async fn two_tabs_uploading_one_queued_scan_at_once_count_it_once(app: TestApp) {
        let e = event(&app, "toggle").await;
        let (volunteer_id, volunteer) = bound_volunteer(&app, "李四", "13900001111").await;
        let code = token(&app.code(&e.organiser, e.activity_id, 0, "toggle").await);
        app.advance(Duration::minutes(3));
        for _ in 0..5 {
            let nonce = Uuid::new_v4();
            let elapsed = Duration::minutes(3) - Duration::seconds(4);
            let (a, b) = tokio::join!(
                upload(&app, &volunteer, &code, nonce, elapsed, PHONE),
                upload(&app, &volunteer, &code, nonce, elapsed, PHONE),
            );
            assert_eq!((a.status, &a.body), (b.status, &b.body), "one answer for one scan");
        }
        // The first was a check-in; the other four repeat it at the same claimed instant.
        assert_eq!(app.scans_recorded(volunteer_id).await, 5, "five scans, each once");
        let list = app.sessions(&e.organiser, e.activity_id).await;
        let mine: Vec<&Value> = list.iter().filter(|s| s["volunteer_id"] == volunteer_id).collect();
        assert_eq!(mine.len(), 1);
        assert_eq!(mine[0]["pairs"].as_array().expect("pairs").len(), 1);
        assert_eq!(mine[0]["inside"], true);
    }
}

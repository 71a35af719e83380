//! Returning volunteers sign in by phone number and a one-time SMS code, sent through the
//! Tencent Cloud SMS client to a local stand-in that checks each request's signature and
//! answers in Tencent's format. Codes: 6 digits, 5 minutes, 5 tries, used once, limited
//! per number and per client; the device binding rule applies on sign-in. Whether a
//! number is registered is not told by the answer.

use std::sync::Arc;

use chrono::Duration;
use hourmark_core::sms::standin::{SmsFault, SmsStandIn};
use hourmark_server::config::{Config, Secret};
use hourmark_tests::{Backend, TestApp, TestDatabase, next_resident_id, registration};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::event;

/// A server sending SMS through the Tencent client to a fresh stand-in.
pub async fn app_with_sms(backend: Backend, adjust: impl FnOnce(&mut Config)) -> (TestApp, SmsStandIn) {
    let standin = SmsStandIn::start().await;
    let database = Arc::new(TestDatabase::create(backend).await);
    let endpoint = standin.endpoint();
    let app = TestApp::spawn_with(backend, database, Uuid::new_v4().simple().to_string(), |c| {
        point_at(c, &endpoint);
        adjust(c);
    })
    .await;
    (app, standin)
}

/// Configures the Tencent client against a stand-in at `endpoint`.
pub fn point_at(c: &mut Config, endpoint: &str) {
    let s = hourmark_core::sms::standin::SECRET_ID;
    c.sms_provider = Some("tencent".into());
    c.sms_tencent_secret_id = Some(s.into());
    c.sms_tencent_secret_key = Some(Secret(hourmark_core::sms::standin::SECRET_KEY.into()));
    c.sms_tencent_sdk_app_id = Some("1400006666".into());
    c.sms_tencent_sign_name = Some("翠湖志愿者协会".into());
    c.sms_tencent_template_id = Some("1110".into());
    c.sms_tencent_endpoint = endpoint.to_owned();
}

macro_rules! with_sms {
    ($(#[$meta:meta])* async fn $name:ident($app:ident, $sms:ident) $body:block) => {
        with_sms!($(#[$meta])* async fn $name($app, $sms) adjust(|_c| {}) $body);
    };
    ($(#[$meta:meta])* async fn $name:ident($app:ident, $sms:ident) adjust($adjust:expr) $body:block) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn run($app: TestApp, $sms: SmsStandIn) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let (app, sms) = app_with_sms(Backend::Sqlite, $adjust).await;
                run(app, sms).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let (app, sms) = app_with_sms(Backend::Postgres, $adjust).await;
                run(app, sms).await
            }
        }
    };
}

/// Registers a volunteer bound to `device` → (id, token).
async fn registered(app: &TestApp, phone: &str, device: &str) -> (i64, String) {
    let mut body = registration("回头客", phone, &next_resident_id());
    body["device_id"] = json!(device);
    let answer = app.post("/mp/v1/volunteers", None, body).await;
    answer.expect_status(201);
    (answer.body["volunteer"]["id"].as_i64().expect("id"), answer.body["access_token"].as_str().expect("t").into())
}

async fn ask_code(app: &TestApp, phone: &str) -> hourmark_tests::Answer {
    app.post("/mp/v1/login/sms/code", None, json!({"phone": phone})).await
}

/// Asks for a code for `phone` and waits for the stand-in to receive it (codes are sent
/// after the answer) → the code.
async fn receive_code(app: &TestApp, sms: &SmsStandIn, phone: &str) -> String {
    let before = sms.delivered().len();
    ask_code(app, phone).await.expect_status(200);
    sms.wait_delivered(before + 1).await;
    sms.last_code(phone).expect("delivered")
}

async fn sign_in(app: &TestApp, phone: &str, code: &str, device: &str) -> hourmark_tests::Answer {
    app.post("/mp/v1/login/sms", None, json!({"phone": phone, "code": code, "device_id": device})).await
}

/// A six-digit code that is not `code`.
fn wrong(code: &str) -> String {
    let n: u32 = code.parse().expect("digits");
    format!("{:06}", (n + 1) % 1_000_000)
}

fn scan_from(device: &str, url: &str) -> Value {
    json!({"code": url, "nonce": Uuid::new_v4(), "client_time": "2026-12-05T09:00:00+08:00", "device_id": device})
}

with_sms! {
    async fn a_returning_volunteer_on_a_new_phone_signs_in_and_scans(app, sms) adjust(|c| {
        // The cool-down since the last binding has passed (tested with its default below).
        c.device_rebind_cooldown_hours = 0;
    }) {
        let e = event(&app, "toggle").await;
        // Registered some time ago; now on a new phone with nothing stored.
        let (id, _old_token) = registered(&app, "13500001111", "old-phone").await;

        let sent = ask_code(&app, "135 0000 1111").await;
        sent.expect_status(200);
        assert_eq!(sent.body["phone"], "135****1111");
        assert_eq!(sent.body["attempts_allowed"], 5);
        assert_eq!(sent.body["resend_after_secs"], 60);
        let delivered = sms.wait_delivered(1).await;
        assert_eq!(delivered.len(), 1);
        assert_eq!(delivered[0].phone, "+8613500001111");
        assert_eq!(delivered[0].sign_name, "翠湖志愿者协会");
        assert_eq!(delivered[0].template_id, "1110");
        let code = delivered[0].params[0].clone();
        assert_eq!(code.len(), 6);
        assert!(code.bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(delivered[0].params[1], "5", "the template's second parameter is the minutes");
        assert_eq!(sms.rejected_signatures(), 0);

        let signed = sign_in(&app, "13500001111", &code, "new-phone").await;
        signed.expect_status(200);
        assert_eq!(signed.body["registered"], true);
        assert_eq!(signed.body["volunteer"]["id"], id);
        assert_eq!(signed.body["device"]["state"], "rebound", "{}", signed.body);
        assert_eq!(signed.body["device"]["may_scan_here"], true);
        let token = signed.body["access_token"].as_str().expect("token").to_owned();

        let url = app.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
        app.post("/mp/v1/scans", Some(&token), scan_from("new-phone", &url)).await.expect_status(200);
        app.post("/mp/v1/scans", Some(&token), scan_from("old-phone", &url)).await.expect_problem(403, "device_not_bound");
        let audit = app.hourmark.store().audit_events("volunteer", id).await.expect("audit");
        let actions: Vec<&str> = audit.iter().map(|a| a.action.as_str()).collect();
        assert_eq!(actions, ["device_rebound", "signed_in_by_sms"]);

        // The code was used: replaying it signs nobody in.
        sign_in(&app, "13500001111", &code, "new-phone").await.expect_problem(422, "sms_code_invalid");
    }
}

with_sms! {
    async fn a_new_phone_within_the_cool_down_is_told_when_it_can_scan(app, sms) {
        let e = event(&app, "toggle").await;
        registered(&app, "13500002222", "old-phone").await;
        app.advance(Duration::hours(2));
        let code = receive_code(&app, &sms, "13500002222").await;
        let signed = sign_in(&app, "13500002222", &code, "new-phone").await;
        signed.expect_status(200);
        let device = &signed.body["device"];
        assert_eq!(device["state"], "bound_elsewhere");
        assert_eq!(device["may_scan_here"], false);
        assert!(device["rebind_allowed_from"].as_str().is_some_and(|t| t.ends_with("+08:00")), "{device}");
        assert!(device["advice"].as_str().is_some_and(|a| a.contains("那部手机")), "{device}");
        let token = signed.body["access_token"].as_str().expect("token").to_owned();
        // Signed in (the volunteer's own data is readable), but this phone may not scan yet.
        app.get("/mp/v1/me", &token).await.expect_status(200);
        let url = app.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
        app.post("/mp/v1/scans", Some(&token), scan_from("new-phone", &url)).await.expect_problem(403, "device_not_bound");

        // The same phone signing in on the bound device is simply bound.
        app.advance(Duration::seconds(61));
        let code = receive_code(&app, &sms, "13500002222").await;
        let again = sign_in(&app, "13500002222", &code, "old-phone").await;
        again.expect_status(200);
        assert_eq!(again.body["device"]["state"], "bound");
    }
}

with_sms! {
    async fn five_wrong_codes_kill_the_code_even_for_the_right_one(app, sms) {
        let (id, _) = registered(&app, "13500003333", "phone").await;
        let code = receive_code(&app, &sms, "13500003333").await;
        let bad = wrong(&code);
        for left in (0..5).rev() {
            let answer = sign_in(&app, "13500003333", &bad, "phone").await;
            answer.expect_problem(422, "sms_code_invalid");
            assert!(answer.body.get("access_token").is_none());
            if left > 0 {
                assert!(answer.body["detail"].as_str().is_some_and(|d| d.contains(&format!("{left} 次"))), "{}", answer.body);
            }
        }
        sign_in(&app, "13500003333", &code, "phone").await.expect_problem(422, "sms_code_attempts_exhausted");
        let audit = app.hourmark.store().audit_events("volunteer", id).await.expect("audit");
        assert!(audit.iter().all(|a| a.action != "signed_in_by_sms"), "nobody signed in");

        // A new code (after the resend wait) works again.
        ask_code(&app, "13500003333").await.expect_problem(429, "sms_rate_limited");
        app.advance(Duration::seconds(61));
        let fresh = receive_code(&app, &sms, "13500003333").await;
        sign_in(&app, "13500003333", &fresh, "phone").await.expect_status(200);
    }
}

with_sms! {
    async fn a_code_for_another_number_an_expired_code_and_bad_input_are_refused(app, sms) {
        registered(&app, "13500004444", "phone-a").await;
        registered(&app, "13500005555", "phone-b").await;
        let code_a = receive_code(&app, &sms, "13500004444").await;
        // A's code for B (who has no code): refused, and A's code still works.
        sign_in(&app, "13500005555", &code_a, "phone-b").await.expect_problem(422, "sms_code_invalid");
        // B asks for their own; A's code still does not work for B.
        let code_b = receive_code(&app, &sms, "13500005555").await;
        if code_a != code_b {
            sign_in(&app, "13500005555", &code_a, "phone-b").await.expect_problem(422, "sms_code_invalid");
        }
        sign_in(&app, "13500004444", &code_a, "phone-a").await.expect_status(200);

        // B's code, six minutes later: expired, even though it is right.
        app.advance(Duration::minutes(6));
        sign_in(&app, "13500005555", &code_b, "phone-b").await.expect_problem(422, "sms_code_expired");

        // Not a number, not a code.
        ask_code(&app, "12345").await.expect_problem(422, "invalid_body");
        sign_in(&app, "13500005555", "12ab56", "phone-b").await.expect_problem(422, "sms_code_invalid");
        app.post("/mp/v1/login/sms", None, json!({"phone": "13500005555", "code": "123456", "device_id": ""}))
            .await
            .expect_problem(422, "invalid_body");
        app.post("/mp/v1/login/sms/code", None, json!({"phone": "13500005555", "extra": 1}))
            .await
            .expect_problem(422, "invalid_body");
        assert_eq!(sms.wait_received(2).await, 2, "no refused request sent anything");
        assert_eq!(sms.delivered().len(), 2);
    }
}

with_sms! {
    /// The provider's refusals come after the answer (sent in the background, so that the
    /// answer's timing does not tell whether the number is registered): logged, and the
    /// volunteer, told nothing arrived, asks again after the resend wait.
    async fn the_provider_s_refusals_are_logged_not_answered(app, sms) {
        registered(&app, "13500006666", "phone").await;
        let faults = [
            SmsFault::Error("AuthFailure.SecretIdNotFound".into()),
            SmsFault::Status("LimitExceeded.PhoneNumberDailyLimit".into()),
            SmsFault::Status("InvalidParameterValue.IncorrectPhoneNumber".into()),
        ];
        for (i, fault) in faults.into_iter().enumerate() {
            sms.fail_next(fault);
            ask_code(&app, "13500006666").await.expect_status(200);
            assert_eq!(sms.wait_received(i + 1).await, i + 1);
            app.advance(Duration::seconds(61));
        }
        assert!(sms.delivered().is_empty());
        let code = receive_code(&app, &sms, "13500006666").await;
        sign_in(&app, "13500006666", &code, "phone").await.expect_status(200);
    }
}

with_sms! {
    async fn a_wrong_secret_key_is_caught_by_the_signature_check(app, sms) adjust(|c| {
        c.sms_tencent_secret_key = Some(Secret("not-the-key".into()));
    }) {
        registered(&app, "13500007777", "phone").await;
        ask_code(&app, "13500007777").await.expect_status(200);
        sms.wait_received(1).await;
        assert_eq!(sms.rejected_signatures(), 1);
        assert!(sms.delivered().is_empty());
    }
}

/// The parts of a code answer that anyone could compare: everything but the masked number
/// (which is the number asked about).
fn comparable(answer: &hourmark_tests::Answer) -> (u16, Value) {
    let mut body = answer.body.clone();
    body["phone"] = json!("-");
    (answer.status, body)
}

with_sms! {
    /// Asking for a code for a number no volunteer has is answered exactly as for a
    /// registered one (status, fields, limits), and nothing is stored or sent for it.
    async fn an_unregistered_number_is_answered_as_a_registered_one(app, sms) {
        registered(&app, "13500008888", "phone").await;
        let known = ask_code(&app, "13500008888").await;
        let unknown = ask_code(&app, "13900009999").await;
        known.expect_status(200);
        assert_eq!(comparable(&known), comparable(&unknown));
        assert_eq!(unknown.body["phone"], "139****9999");
        let keys = |a: &hourmark_tests::Answer| a.body.as_object().expect("object").keys().cloned().collect::<Vec<_>>();
        assert_eq!(keys(&known), keys(&unknown));
        // The resend wait holds for both alike.
        let (known, unknown) = (ask_code(&app, "13500008888").await, ask_code(&app, "13900009999").await);
        known.expect_problem(429, "sms_rate_limited");
        assert_eq!(comparable(&known), comparable(&unknown));
        // Only the registered number received anything; no code is kept for the other.
        assert_eq!(sms.wait_received(1).await, 1);
        let delivered = sms.delivered();
        assert_eq!(delivered.len(), 1);
        assert_eq!(delivered[0].phone, "+8613500008888");
        let tried = sign_in(&app, "13900009999", "123456", "phone").await;
        tried.expect_problem(422, "sms_code_invalid");
        assert!(tried.body["detail"].as_str().is_some_and(|d| d.contains("请先获取")), "no code kept: {}", tried.body);
    }
}

with_sms! {
    /// With a "not registered" template configured, the unregistered number is told so by
    /// SMS (which only its holder reads), with no code; the answer is still the same.
    async fn a_configured_not_registered_notice_goes_to_the_unregistered_number(app, sms) adjust(|c| {
        c.sms_tencent_not_registered_template_id = Some("2220".into());
    }) {
        registered(&app, "13500008888", "phone").await;
        let known = ask_code(&app, "13500008888").await;
        let unknown = ask_code(&app, "13900009999").await;
        assert_eq!(comparable(&known), comparable(&unknown));
        let mut delivered = sms.wait_delivered(2).await;
        delivered.sort_by(|a, b| a.phone.cmp(&b.phone));
        assert_eq!(delivered.len(), 2, "{delivered:?}");
        assert_eq!((delivered[0].phone.as_str(), delivered[0].template_id.as_str()), ("+8613500008888", "1110"));
        assert_eq!((delivered[1].phone.as_str(), delivered[1].template_id.as_str()), ("+8613900009999", "2220"));
        assert!(delivered[1].params.is_empty(), "no code in the notice: {:?}", delivered[1]);
        assert_eq!(delivered[1].sign_name, "翠湖志愿者协会");
    }
}

with_sms! {
    async fn codes_are_limited_per_number_and_per_client(app, sms) adjust(|c| {
        c.sms_codes_per_client_per_hour = 3;
        c.sms_checks_per_client_per_hour = 4;
    }) {
        for phone in ["13600000001", "13600000002", "13600000003", "13600000004"] {
            registered(&app, phone, "p").await;
        }
        ask_code(&app, "13600000001").await.expect_status(200);
        let limited = ask_code(&app, "13600000001").await;
        limited.expect_problem(429, "sms_rate_limited");
        assert!(limited.body["detail"].as_str().is_some_and(|d| d.contains("秒后再试")));
        ask_code(&app, "13600000002").await.expect_status(200);
        // The third request from this client (the refused one counted too) uses up its hour.
        ask_code(&app, "13600000003").await.expect_problem(429, "sms_rate_limited");
        assert_eq!(sms.wait_delivered(2).await.len(), 2);

        let code = sms.last_code("13600000002").expect("delivered");
        for _ in 0..4 {
            sign_in(&app, "13600000001", "000000", "p").await;
        }
        sign_in(&app, "13600000002", &code, "p").await.expect_problem(429, "sms_rate_limited");
    }
}

/// Registers `name` with `phone` and the ID number `id` → the answer.
async fn register_with_id(app: &TestApp, name: &str, phone: &str, id: &str) -> hourmark_tests::Answer {
    app.post("/mp/v1/volunteers", None, registration(name, phone, id)).await
}

with_sms! {
    /// Registrations refused because the ID number is registered tell its owner by SMS,
    /// when the template is configured: once a day per ID number, however many tries.
    async fn the_owner_of_a_tried_id_number_is_told_once_a_day(app, sms) adjust(|c| {
        c.sms_tencent_id_number_tried_template_id = Some("3330".into());
    }) {
        let id = next_resident_id();
        register_with_id(&app, "张三", "13500001111", &id).await.expect_status(201);
        register_with_id(&app, "李四", "13500002222", &id).await.expect_problem(409, "id_number_taken");
        let delivered = sms.wait_delivered(1).await;
        assert_eq!(delivered.len(), 1, "{delivered:?}");
        assert_eq!((delivered[0].phone.as_str(), delivered[0].template_id.as_str()), ("+8613500001111", "3330"));
        assert!(delivered[0].params.is_empty(), "the notice names nobody: {:?}", delivered[0]);
        // A second try the same day: refused alike, not told again (a sign-in code for the
        // owner, asked afterwards, is the next message to arrive).
        register_with_id(&app, "王五", "13500003333", &id).await.expect_problem(409, "id_number_taken");
        let code = receive_code(&app, &sms, "13500001111").await;
        assert_eq!(code.len(), 6);
        let templates: Vec<String> = sms.delivered().iter().map(|d| d.template_id.clone()).collect();
        assert_eq!(templates, ["3330", "1110"]);
        // The next day, a new try is told again.
        app.advance(Duration::days(1));
        register_with_id(&app, "赵六", "13500004444", &id).await.expect_problem(409, "id_number_taken");
        let delivered = sms.wait_delivered(3).await;
        assert_eq!((delivered[2].phone.as_str(), delivered[2].template_id.as_str()), ("+8613500001111", "3330"));
    }
}

with_sms! {
    /// Without the template, nothing is sent to the owner.
    async fn without_the_template_a_tried_id_number_is_not_told(app, sms) {
        let id = next_resident_id();
        register_with_id(&app, "张三", "13500001111", &id).await.expect_status(201);
        register_with_id(&app, "李四", "13500002222", &id).await.expect_problem(409, "id_number_taken");
        receive_code(&app, &sms, "13500001111").await;
        let templates: Vec<String> = sms.delivered().iter().map(|d| d.template_id.clone()).collect();
        assert_eq!(templates, ["1110"], "only the sign-in code");
    }
}

mod settings {
    use super::*;

    #[test]
    fn the_development_sink_is_refused_in_production_and_tencent_needs_its_settings() {
        let mut c = Config { production: true, ..Config::default() };
        assert!(c.sms_settings().expect("production without SMS is valid").sender.is_none());
        c.sms_provider = Some("dev".into());
        assert!(c.sms_settings().is_err());
        let mut c = Config::default();
        assert!(c.sms_settings().expect("development default").sender.is_some(), "the sink by default");
        c.sms_provider = Some("tencent".into());
        let message = c.sms_settings().expect_err("tencent without keys").to_string();
        assert!(message.contains("needs HOURMARK_SMS_TENCENT_"), "{message}");
        c.sms_provider = Some("carrier-pigeon".into());
        assert!(c.sms_settings().is_err());
    }
}

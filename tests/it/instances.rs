//! Two server instances on one PostgreSQL and one Redis behave as one.

use chrono::Duration;
use hourmark_tests::{Backend, TestApp};

use crate::event;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_presence_and_idempotency() {
    let a = TestApp::spawn(Backend::Postgres).await;
    let b = a.another_instance(|_| {}).await;
    let e = event(&a, "toggle").await;

    // Arrive through instance A, leave through instance B: B knows the volunteer is inside.
    let url = a.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
    a.scan(&e.volunteer, &url).await.expect_status(200);
    a.advance(Duration::minutes(30));
    b.advance(Duration::minutes(30));
    let url = b.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
    let out = b.scan(&e.volunteer, &url).await;
    out.expect_status(200);
    assert_eq!(out.body["outcome"], "checked_out");
    assert_eq!(out.body["minutes_credited"], 30);

    // A retry that lands on the other instance gets the original answer, counted once.
    let nonce = uuid::Uuid::new_v4();
    a.advance(Duration::minutes(5));
    b.advance(Duration::minutes(5));
    let url = a.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
    let first = a.scan_with_nonce(&e.volunteer, &url, nonce).await;
    first.expect_status(200);
    let retry = b.scan_with_nonce(&e.volunteer, &url, nonce).await;
    assert_eq!(retry.raw, first.raw);
    assert_eq!(a.scans_recorded(e.volunteer_id).await, 3);

    // Racing the same nonce on both instances at once still records one scan: here the
    // instances' locks do not help, the store's unique (volunteer, nonce) does.
    for _ in 0..5 {
        a.advance(Duration::minutes(5));
        b.advance(Duration::minutes(5));
        let before = a.scans_recorded(e.volunteer_id).await;
        let url = a.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
        let nonce = uuid::Uuid::new_v4();
        let (ra, rb) =
            tokio::join!(a.scan_with_nonce(&e.volunteer, &url, nonce), b.scan_with_nonce(&e.volunteer, &url, nonce));
        ra.expect_status(200);
        assert_eq!(ra.raw, rb.raw, "both instances answer identically");
        assert_eq!(a.scans_recorded(e.volunteer_id).await, before + 1);
    }
}

/// A passkey ceremony started on one instance finishes on the other (the state is in
/// Redis), and only once: the finish takes the state, whichever instance it reaches.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passkey_ceremony_spans_instances_and_counts_once() {
    use serde_json::json;
    use webauthn_authenticator_rs::WebauthnAuthenticator;

    let a = TestApp::spawn(Backend::Postgres).await;
    let b = a.another_instance(|_| {}).await;
    let admin = a.administrator().await;
    let created =
        a.post("/api/v1/staff", Some(&admin), json!({"name": "甲", "login": "jia", "role": "administrator"})).await;
    let invite = created.body["invite"]["token"].as_str().expect("invite").to_owned();
    let mut phone = hourmark_tests::authenticator();
    let start = a.post("/api/v1/invites/passkey/start", None, json!({"invite": invite})).await;
    let credential = hourmark_tests::register(&mut phone, &start.body);
    let finish = json!({"ceremony_id": start.body["ceremony_id"], "credential": credential});
    b.post("/api/v1/invites/passkey/finish", None, finish.clone()).await.expect_status(201);
    a.post("/api/v1/invites/passkey/finish", None, finish).await.expect_problem(400, "ceremony_invalid");

    // Sign-in: start on B, finish on A; the replay on B finds nothing.
    let start = b.post("/api/v1/sign-in/passkey/start", None, json!({"login": "jia"})).await;
    let options = serde_json::from_value(start.body["options"].clone()).expect("options");
    let answer = phone.do_authentication(hourmark_tests::staff_origin(), options).expect("answers");
    let finish = json!({"ceremony_id": start.body["ceremony_id"], "credential": answer});
    a.post("/api/v1/sign-in/passkey/finish", None, finish.clone()).await.expect_status(200);
    b.post("/api/v1/sign-in/passkey/finish", None, finish).await.expect_problem(400, "ceremony_invalid");
}

/// Two instances closing the same left-open sessions at once write each check-out,
/// flag and message once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_close_left_open_sessions_once() {
    let a = TestApp::spawn(Backend::Postgres).await;
    let b = a.another_instance(|_| {}).await;
    let e = event(&a, "toggle").await;
    let url = a.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
    a.scan(&e.volunteer, &url).await.expect_status(200);
    a.advance(Duration::hours(11));
    b.advance(Duration::hours(11));
    for _ in 0..3 {
        let (x, y) = tokio::join!(a.hourmark.close_left_open_sessions(), b.hourmark.close_left_open_sessions());
        x.expect("a closes");
        y.expect("b closes");
    }
    assert_eq!(a.scans_recorded(e.volunteer_id).await, 2, "one check-in, one system check-out");
    let flags = a.hourmark.store().flags(e.activity_id).await.expect("flags");
    assert_eq!(flags.iter().filter(|f| f.rule.as_str() == "left_open").count(), 1);
    assert_eq!(a.get("/mp/v1/me/notifications", &e.volunteer).await.body.as_array().map(Vec::len), Some(1));
}

/// Two instances moving the same ended publicity periods into the register at once write
/// each entry once, in one unbroken chain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_record_each_entry_once_in_one_chain() {
    use serde_json::json;
    let a = TestApp::spawn(Backend::Postgres).await;
    let b = a.another_instance(|_| {}).await;
    let e = event(&a, "toggle").await;
    let recorder = crate::review::recorder(&a, &e.admin, e.organisation_id).await;
    let mut volunteers = vec![e.volunteer.clone()];
    for n in 0..4 {
        volunteers.push(a.volunteer(&format!("志愿者{n}"), &format!("1390000000{n}")).await.1);
    }
    for _ in 0..2 {
        for volunteer in &volunteers {
            let url = a.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
            a.scan(volunteer, &url).await.expect_status(200);
        }
        a.advance(Duration::hours(3));
    }
    a.advance(Duration::hours(5));
    crate::review::accept_every_flag(&a, &recorder, e.activity_id).await;
    a.post(&format!("/api/v1/activities/{}/finalise", e.activity_id), Some(&recorder), json!({}))
        .await
        .expect_status(201);
    a.advance(Duration::days(5));
    b.advance(Duration::hours(11) + Duration::days(5));
    let (x, y) = tokio::join!(a.hourmark.advance_publicity(), b.hourmark.advance_publicity());
    assert_eq!(x.expect("a") + y.expect("b"), 5, "five entries, each recorded by one instance");
    let check = a.hourmark.verify_register().await.expect("verify");
    assert_eq!((check.entries, check.first_broken), (5, None));
}

/// Two instances, one volunteer, `(a, b)`: a pair of servers as one, with `adjust` applied
/// to both.
async fn pair(adjust: impl Fn(&mut hourmark_server::Config)) -> (TestApp, TestApp) {
    let database = std::sync::Arc::new(hourmark_tests::TestDatabase::create(Backend::Postgres).await);
    let prefix = uuid::Uuid::new_v4().simple().to_string();
    let a = TestApp::spawn_with(Backend::Postgres, database.clone(), prefix.clone(), &adjust).await;
    let b = TestApp::spawn_with(Backend::Postgres, database, prefix, &adjust).await;
    (a, b)
}

/// What a receipt said, for replaying against the record.
#[derive(Debug)]
struct Receipt {
    status: u16,
    body: serde_json::Value,
}

/// Replays every receipt a volunteer got against what the store holds: each accepted
/// receipt is a recorded accepted scan, in one sequence that alternates in and out, and
/// what each receipt said of the session is what that sequence gives at its place; each
/// refusal is recorded as refused; the sessions view finds nothing unpaired.
async fn receipts_agree_with_the_record(app: &TestApp, e: &crate::Event, receipts: &[Receipt]) {
    let record = app.hourmark.store().accepted_scans(e.activity_id, Some(e.volunteer_id)).await.expect("record");
    let mut accepted: Vec<&Receipt> = receipts.iter().filter(|r| r.status == 200).collect();
    accepted.sort_by_key(|r| r.body["server_time"].as_str().expect("time").to_owned());
    assert_eq!(accepted.len(), record.len(), "every accepted receipt is one accepted scan in the record");
    for (k, (receipt, scan)) in accepted.iter().zip(&record).enumerate() {
        let position = k + 1;
        assert_eq!(receipt.body["scan_id"], scan.id.to_string(), "receipt {position} is the record's scan {position}");
        let expected = if position % 2 == 1 { "checked_in" } else { "checked_out" };
        assert_eq!(receipt.body["outcome"], expected, "scan {position} of one sequence: {receipts:?}");
        assert_eq!(receipt.body["session"]["inside"], position % 2 == 1, "receipt {position}: inside");
        assert_eq!(receipt.body["session"]["pairs"], position.div_ceil(2), "receipt {position}: pairs so far");
    }
    // A scan overtaken again and again by the other instance's scans is answered 503 (retry
    // with the same nonce) and recorded nowhere; every other answer is recorded.
    let mut unrecorded = 0;
    for refused in receipts.iter().filter(|r| r.status != 200) {
        if refused.status == 503 {
            assert_eq!(refused.body["code"], "unavailable");
            unrecorded += 1;
        } else {
            assert_eq!(refused.body["code"], "repeat_scan", "only a repeat may be refused here: {refused:?}");
        }
    }
    assert_eq!(app.scans_recorded(e.volunteer_id).await, i64::try_from(receipts.len() - unrecorded).expect("count"));
    let sessions = app.get(&format!("/api/v1/activities/{}/sessions", e.activity_id), &e.organiser).await;
    sessions.expect_status(200);
    let unpaired = sessions.body.to_string();
    assert!(
        !unpaired.contains("repeated_in") && !unpaired.contains("out_without_in"),
        "the record pairs every scan: {unpaired}"
    );
}

async fn toggle_url(app: &TestApp, e: &crate::Event) -> String {
    app.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned()
}

/// With the repeat guard on, two different-nonce scans from one volunteer reaching two
/// instances at the same moment are decided in one order: one is taken, the other is the
/// repeat of it, never two check-ins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_scans_at_two_instances_are_decided_in_one_order() {
    let (a, b) = pair(|_| {}).await;
    let e = event(&a, "toggle").await;
    let mut receipts = Vec::new();
    for round in 0..12 {
        a.advance(Duration::minutes(2));
        b.advance(Duration::minutes(2));
        let url = toggle_url(&a, &e).await;
        let (x, y) = tokio::join!(a.scan(&e.volunteer, &url), b.scan(&e.volunteer, &url));
        let taken = [&x, &y].iter().filter(|r| r.status == 200).count();
        assert_eq!(taken, 1, "round {round}: one of the two is taken ({} / {})", x.body, y.body);
        receipts.push(Receipt { status: x.status, body: x.body.clone() });
        receipts.push(Receipt { status: y.status, body: y.body.clone() });
    }
    receipts_agree_with_the_record(&a, &e, &receipts).await;
}

/// With the guard off, twenty scans split over two instances, all in flight at once while
/// the clocks run: whatever the interleaving, the receipts tell one sequence and the
/// record holds exactly that sequence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_over_two_instances_gives_receipts_that_agree_with_the_record() {
    let (a, b) = pair(|c| {
        c.repeat_scan_guard_secs = 0;
        c.rate_scans_per_volunteer_per_minute = 0;
    })
    .await;
    let e = event(&a, "toggle").await;
    let mut receipts = Vec::new();
    for burst in 0..3 {
        a.advance(Duration::minutes(1));
        b.advance(Duration::minutes(1));
        let url = toggle_url(&a, &e).await;
        // The clocks move a millisecond at a time while the scans are in flight, so the
        // instances decide at different moments and race on the volunteer's next number.
        let running = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let ticker = tokio::spawn({
            let (ca, cb, running) = (a.clock.clone(), b.clock.clone(), running.clone());
            async move {
                while running.load(std::sync::atomic::Ordering::Relaxed) {
                    ca.advance(Duration::milliseconds(1));
                    cb.advance(Duration::milliseconds(1));
                    tokio::time::sleep(std::time::Duration::from_micros(300)).await;
                }
            }
        });
        let scans = (0..20).map(|n| {
            let (app, volunteer, url) = (if n % 2 == 0 { &a } else { &b }, e.volunteer.clone(), url.clone());
            async move { app.scan(&volunteer, &url).await }
        });
        let answers = futures_util::future::join_all(scans).await;
        running.store(false, std::sync::atomic::Ordering::Relaxed);
        ticker.await.expect("ticker");
        let taken = answers.iter().filter(|r| r.status == 200).count();
        assert!(taken >= 2, "burst {burst}: scans are taken ({taken})");
        receipts.extend(answers.iter().map(|r| Receipt { status: r.status, body: r.body.clone() }));
        receipts_agree_with_the_record(&a, &e, &receipts).await;
    }
}

/// Two instances sending WeChat messages at once send each once: a delivery is claimed
/// before it is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_send_each_wechat_message_once() {
    use hourmark_core::wechat::standin::StandIn;
    use serde_json::json;
    let standin = StandIn::start().await;
    let base_url = standin.base_url();
    let (a, b) = pair(|c| {
        c.wechat_appid = Some(StandIn::APPID.into());
        c.wechat_secret = Some(hourmark_server::config::Secret(StandIn::SECRET.into()));
        c.wechat_base_url = base_url.clone();
        c.wechat_notice_template_id = Some("tmpl-hours".into());
    })
    .await;
    let e = event(&a, "toggle").await;
    let mut volunteers = Vec::new();
    for n in 0..6 {
        standin.add_login_code(&format!("code-{n}"), &format!("openid-{n}"), None);
        let login = a.post("/mp/v1/login/wechat", None, json!({"code": format!("code-{n}")})).await;
        let mut body =
            hourmark_tests::registration("志愿者", &format!("1390000100{n}"), &hourmark_tests::next_resident_id());
        body["wechat_ticket"] = login.body["registration_ticket"].clone();
        let registered = a.post("/mp/v1/volunteers", None, body).await;
        registered.expect_status(201);
        volunteers.push(registered.body["access_token"].as_str().expect("token").to_owned());
    }
    for _ in 0..2 {
        for volunteer in &volunteers {
            a.scan(volunteer, &toggle_url(&a, &e).await).await.expect_status(200);
        }
        a.advance(Duration::hours(3));
    }
    a.advance(Duration::hours(5));
    b.advance(Duration::hours(11));
    let recorder = crate::review::recorder(&a, &e.admin, e.organisation_id).await;
    crate::publicity::finalise(&a, &recorder, e.activity_id).await;
    let (x, y) = tokio::join!(a.hourmark.deliver_wechat_notices(), b.hourmark.deliver_wechat_notices());
    let sent = standin.sent_messages();
    assert_eq!(x.expect("a") + y.expect("b"), sent.len(), "the instances sent what WeChat received");
    // Each queued delivery was sent, and WeChat received exactly that many messages.
    let pool = sqlx::PgPool::connect(&a.config.database_url).await.expect("connect");
    let (queued, done): (i64, i64) =
        sqlx::query_as("select count(*), count(*) filter (where status = 'sent') from wechat_delivery")
            .fetch_one(&pool)
            .await
            .expect("count");
    assert_eq!((done, i64::try_from(sent.len()).expect("n")), (queued, queued), "each message once");
    let to: std::collections::BTreeSet<&str> = sent.iter().map(|m| m.touser.as_str()).collect();
    assert_eq!(to.len(), 6, "every volunteer told");
    assert!(sent.iter().filter(|m| m.data["phrase3"] == "公示中").count() == 6, "one publicity message each");
}

/// A cancellation reaches every instance at once (issue 17): instance B has admitted an
/// arrival, so it holds its copy of the activity's admission rule ("anyone may come");
/// the activity is cancelled at A, and the next arrival at B, made as soon as A answers,
/// is refused with `activity_cancelled` (its copy would otherwise have admitted arrivals
/// for seconds more). Someone already inside still leaves through B. Three activities, so
/// the announcement beating the next request is not luck once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancellation_at_one_instance_stops_arrivals_at_the_other_at_once() {
    use serde_json::json;

    let a = TestApp::spawn(Backend::Postgres).await;
    let b = a.another_instance(|_| {}).await;
    let e = event(&a, "toggle").await;
    let (_, early) = a.volunteer("李四", "13800005678").await;
    let mut activities = vec![e.activity_id];
    for name in ["翠湖巡河", "滇池护鸥"] {
        activities
            .push(a.activity(&e.organiser, e.organisation_id, json!({"name": name})).await["id"].as_i64().expect("id"));
    }
    for activity in activities {
        let url = b.code(&e.organiser, activity, 0, "toggle").await["url"].as_str().expect("url").to_owned();
        b.scan(&early, &url).await.expect_status(200);

        a.post(&format!("/api/v1/activities/{activity}/cancellation"), Some(&e.organiser), json!({"reason": "暴雨"}))
            .await
            .expect_status(200);
        let before = b.scans_recorded(e.volunteer_id).await;
        b.scan(&e.volunteer, &url).await.expect_problem(409, "activity_cancelled");
        assert_eq!(b.scans_recorded(e.volunteer_id).await, before + 1, "kept as a refused scan");

        a.advance(Duration::minutes(10));
        b.advance(Duration::minutes(10));
        let url = b.code(&e.organiser, activity, 0, "toggle").await["url"].as_str().expect("url").to_owned();
        let out = b.scan(&early, &url).await;
        out.expect_status(200);
        assert_eq!(out.body["outcome"], "checked_out", "someone inside still leaves");
    }
}

//! Recruitment and sign-ups (issue 17): publishing slots, signing up, the waiting list
//! moving up, approval and decline, each refusal with its code and nothing changed, the
//! rate limit, and the last place raced by two instances on one PostgreSQL.

use hourmark_tests::{Backend, TestApp, on_both_backends, registration, resident_id};
use serde_json::{Value, json};

/// An activity a week after the test day, recruiting with `rules` merged over a default
/// of two slots (北门引导 with two places, 医疗点 with one), a waiting list and no approval.
pub(crate) async fn recruiting(app: &TestApp, organiser: &str, organisation_id: i64, rules: Value) -> (i64, Vec<i64>) {
    let activity = app
        .activity(
            organiser,
            organisation_id,
            json!({"starts_at": "2026-12-12T08:00:00+08:00", "ends_at": "2026-12-12T17:00:00+08:00"}),
        )
        .await["id"]
        .as_i64()
        .expect("id");
    let mut body = json!({
        "slots": [{"name": "北门引导", "capacity": 2}, {"name": "医疗点", "capacity": 1}],
        "signup_deadline": "2026-12-11T20:00",
        "cancel_cutoff": "2026-12-11T12:00:00+08:00",
    });
    if let (Some(b), Some(r)) = (body.as_object_mut(), rules.as_object()) {
        for (k, v) in r {
            b.insert(k.clone(), v.clone());
        }
    }
    let published = app
        .call(reqwest::Method::PUT, &format!("/api/v1/activities/{activity}/recruitment"), Some(organiser), Some(body))
        .await;
    published.expect_status(200);
    let slots =
        published.body["slots"].as_array().expect("slots").iter().map(|s| s["id"].as_i64().expect("id")).collect();
    (activity, slots)
}

async fn sign_up(app: &TestApp, volunteer: &str, activity: i64, slot: i64) -> hourmark_tests::Answer {
    app.post(&format!("/mp/v1/activities/{activity}/signups"), Some(volunteer), json!({"slot_id": slot})).await
}

/// The slots' counts, read behind the API (staff tokens lapse as tests move the clock by
/// days): (approved, pending, waitlisted, left).
async fn places(app: &TestApp, activity: i64) -> Vec<(u32, u32, u32, u32)> {
    let recruitment = app.hourmark.recruitment_for_volunteer(activity).await.expect("published");
    recruitment.slots.iter().map(|s| (s.approved, s.pending, s.waitlisted, s.places_left)).collect()
}

fn kinds_of(notices: &Value, kind: &str) -> Vec<Value> {
    notices.as_array().expect("list").iter().filter(|n| n["kind"] == kind).cloned().collect()
}

on_both_backends! {
    async fn signing_up_fills_places_and_the_waiting_list_moves_up(app: TestApp) {
        let e = crate::event(&app, "toggle").await;
        let (activity, slots) = recruiting(&app, &e.organiser, e.organisation_id, json!({"walk_ins": false})).await;
        let (gate, medic) = (slots[0], slots[1]);
        let recruitment = app.get(&format!("/mp/v1/activities/{activity}/recruitment"), &e.volunteer).await;
        recruitment.expect_status(200);
        assert_eq!(recruitment.body["walk_ins"], false, "the walk-in setting is kept");
        assert_eq!(recruitment.body["signup_deadline"], "2026-12-11T20:00:00+08:00");
        assert_eq!(recruitment.body["slots"][0]["name"], "北门引导");

        let mut volunteers = vec![(e.volunteer_id, e.volunteer.clone())];
        for i in 0..3 {
            volunteers.push(app.volunteer("李四", &format!("1390000000{i}")).await);
        }
        let first = sign_up(&app, &volunteers[0].1, activity, gate).await;
        first.expect_status(201);
        assert_eq!(first.body["status"], "approved");
        assert_eq!(first.body["slot_name"], "北门引导");
        sign_up(&app, &volunteers[1].1, activity, gate).await.expect_status(201);
        // The slot is full: the next two wait, in the order they came.
        let third = sign_up(&app, &volunteers[2].1, activity, gate).await;
        third.expect_status(201);
        assert_eq!(third.body["status"], "waitlisted");
        assert_eq!(third.body["waitlist_position"], 1);
        let fourth = sign_up(&app, &volunteers[3].1, activity, gate).await;
        assert_eq!(fourth.body["waitlist_position"], 2);
        assert_eq!(places(&app, activity).await, vec![(2, 0, 2, 0), (0, 0, 0, 1)]);

        // The first cancels before the cut-off: the first on the waiting list moves up and
        // is told; the second is next.
        let id = first.body["id"].as_i64().expect("id");
        let cancelled = app.post(&format!("/mp/v1/me/signups/{id}/cancel"), Some(&volunteers[0].1), json!({})).await;
        cancelled.expect_status(200);
        assert_eq!(cancelled.body["status"], "cancelled");
        // Cancelling again changes nothing and says so.
        let again = app.post(&format!("/mp/v1/me/signups/{id}/cancel"), Some(&volunteers[0].1), json!({})).await;
        assert_eq!(again.body, cancelled.body);
        let mine = app.get("/mp/v1/me/signups", &volunteers[2].1).await.body;
        assert_eq!(mine[0]["status"], "approved", "{mine}");
        assert!(mine[0].get("waitlist_position").is_none());
        assert_eq!(app.get("/mp/v1/me/signups", &volunteers[3].1).await.body[0]["waitlist_position"], 1);
        let told = kinds_of(&app.get("/mp/v1/me/notifications", &volunteers[2].1).await.body, "signup_moved_up");
        assert_eq!(told.len(), 1);
        assert!(told[0]["body"].as_str().is_some_and(|b| b.contains("请按时参加")), "{}", told[0]);
        assert_eq!(places(&app, activity).await, vec![(2, 0, 1, 0), (0, 0, 0, 1)]);

        // Having cancelled, the volunteer may sign up again (for another slot).
        sign_up(&app, &volunteers[0].1, activity, medic).await.expect_status(201);
        let all = app.get(&format!("/api/v1/activities/{activity}/signups"), &e.organiser).await;
        all.expect_status(200);
        let statuses: Vec<&str> = all.body.as_array().expect("list").iter().map(|s| s["status"].as_str().expect("s")).collect();
        assert_eq!(statuses, ["cancelled", "approved", "approved", "waitlisted", "approved"]);
        // The volunteer's copy of their data carries their sign-ups.
        let export = app.get("/mp/v1/me/export", &volunteers[0].1).await;
        let kept: Vec<&str> = export.body["signups"].as_array().expect("signups").iter().map(|s| s["status"].as_str().expect("s")).collect();
        assert_eq!(kept, ["approved", "cancelled"]);

        // A wait-listed volunteer may leave after the cut-off; one holding a place may not.
        app.advance(chrono::Duration::days(6) + chrono::Duration::hours(4));
        let waiting = fourth.body["id"].as_i64().expect("id");
        let left = app.post(&format!("/mp/v1/me/signups/{waiting}/cancel"), Some(&volunteers[3].1), json!({})).await;
        left.expect_status(200);
        let held = third.body["id"].as_i64().expect("id");
        app.post(&format!("/mp/v1/me/signups/{held}/cancel"), Some(&volunteers[2].1), json!({}))
            .await
            .expect_problem(409, "signup_cancellation_closed");
        assert_eq!(app.get("/mp/v1/me/signups", &volunteers[2].1).await.body[0]["status"], "approved");
        // Another volunteer's sign-up is no sign-up of mine.
        app.post(&format!("/mp/v1/me/signups/{held}/cancel"), Some(&volunteers[1].1), json!({}))
            .await
            .expect_problem(404, "not_found");
    }
}

on_both_backends! {
    async fn organisers_approve_decline_and_approve_in_bulk(app: TestApp) {
        let e = crate::event(&app, "toggle").await;
        let (activity, slots) = recruiting(&app, &e.organiser, e.organisation_id, json!({"approval_required": true})).await;
        let gate = slots[0];
        let (_, v2) = app.volunteer("李四", "13900000001").await;
        let (_, v3) = app.volunteer("王五", "13900000002").await;
        let s1 = sign_up(&app, &e.volunteer, activity, gate).await;
        assert_eq!(s1.body["status"], "pending", "a pending sign-up holds its place");
        let s2 = sign_up(&app, &v2, activity, gate).await;
        let s3 = sign_up(&app, &v3, activity, gate).await;
        assert_eq!(s3.body["status"], "waitlisted");
        let (id1, id2, id3) = (s1.body["id"].as_i64().expect("id"), s2.body["id"].as_i64().expect("id"), s3.body["id"].as_i64().expect("id"));
        let decision = |id: i64| format!("/api/v1/activities/{activity}/signups/{id}/decision");

        // A decline needs a reason; with one, the place goes to the waiting list (still
        // pending: approval is needed) and both volunteers are told.
        app.post(&decision(id1), Some(&e.organiser), json!({"approve": false})).await.expect_problem(422, "invalid_body");
        let declined = app.post(&decision(id1), Some(&e.organiser), json!({"approve": false, "reason": "该岗位需要有引导经验"})).await;
        declined.expect_status(200);
        assert_eq!(declined.body["status"], "declined");
        assert_eq!(declined.body["reason"], "该岗位需要有引导经验");
        let told = kinds_of(&app.get("/mp/v1/me/notifications", &e.volunteer).await.body, "signup_declined");
        assert!(told[0]["body"].as_str().is_some_and(|b| b.ends_with("理由：该岗位需要有引导经验")), "{told:?}");
        let moved = kinds_of(&app.get("/mp/v1/me/notifications", &v3).await.body, "signup_moved_up");
        assert!(moved[0]["body"].as_str().is_some_and(|b| b.contains("待组织方审核")), "{moved:?}");
        assert_eq!(places(&app, activity).await[0], (0, 2, 0, 0));
        // Declined is final: neither approved nor cancelled afterwards.
        app.post(&decision(id1), Some(&e.organiser), json!({"approve": true})).await.expect_problem(409, "signup_decided");
        app.post(&format!("/mp/v1/me/signups/{id1}/cancel"), Some(&e.volunteer), json!({}))
            .await
            .expect_problem(409, "signup_decided");

        // Another organisation's organiser and the activity's leader may not decide.
        let other_org = app.organisation(&e.admin, "滇池保护志愿队").await;
        let other = app.organiser(&e.admin, other_org).await;
        app.post(&decision(id2), Some(&other), json!({"approve": true})).await.expect_problem(404, "not_found");
        app.post(&format!("/api/v1/activities/{activity}/signups/approvals"), Some(&other), json!({"all": true}))
            .await
            .expect_problem(404, "not_found");
        let leader = app.staff(&e.admin, json!({"name": "赵领队", "role": "leader", "organisation_id": e.organisation_id})).await;
        let leader_id = app.get("/api/v1/me", &leader).await.body["staff"]["id"].as_i64().expect("id");
        app.call(reqwest::Method::PUT, &format!("/api/v1/activities/{activity}/leaders/{leader_id}"), Some(&e.organiser), None)
            .await
            .expect_status(204);
        app.get(&format!("/api/v1/activities/{activity}/signups"), &leader).await.expect_status(200);
        app.post(&decision(id2), Some(&leader), json!({"approve": true})).await.expect_problem(403, "forbidden");
        assert_eq!(places(&app, activity).await[0], (0, 2, 0, 0), "nothing changed");
        // A sign-up of another activity is not this activity's.
        let (elsewhere, _) = recruiting(&app, &e.organiser, e.organisation_id, json!({})).await;
        app.post(&format!("/api/v1/activities/{elsewhere}/signups/{id2}/decision"), Some(&e.organiser), json!({"approve": true}))
            .await
            .expect_problem(404, "not_found");

        // Bulk: both pending approved at once, each told; the answer lists them.
        app.post(&format!("/api/v1/activities/{activity}/signups/approvals"), Some(&e.organiser), json!({"all": true, "ids": [id2]}))
            .await
            .expect_problem(422, "invalid_body");
        let approved = app.post(&format!("/api/v1/activities/{activity}/signups/approvals"), Some(&e.organiser), json!({"all": true})).await;
        approved.expect_status(200);
        let ids: Vec<i64> = approved.body.as_array().expect("list").iter().map(|s| s["id"].as_i64().expect("id")).collect();
        assert_eq!(ids, [id2, id3]);
        assert_eq!(kinds_of(&app.get("/mp/v1/me/notifications", &v2).await.body, "signup_approved").len(), 1);
        assert_eq!(places(&app, activity).await[0], (2, 0, 0, 0));
        let again = app.post(&format!("/api/v1/activities/{activity}/signups/approvals"), Some(&e.organiser), json!({"ids": [id2]})).await;
        assert_eq!(again.body, json!([]));
        app.post(&decision(id2), Some(&e.organiser), json!({"approve": true})).await.expect_problem(409, "signup_decided");
        assert_eq!(places(&app, activity).await[0].0, 2, "two approved: whom the board expects");

        // Places cannot fall below those taken, nor a slot with sign-ups be removed.
        let path = format!("/api/v1/activities/{activity}/recruitment");
        let rules = |slots: Value| json!({"slots": slots, "signup_deadline": "2026-12-11T20:00", "cancel_cutoff": "2026-12-11T12:00"});
        let smaller = rules(json!([{"name": "北门引导", "capacity": 1}, {"name": "医疗点", "capacity": 1}]));
        app.call(reqwest::Method::PUT, &path, Some(&e.organiser), Some(smaller)).await.expect_problem(422, "invalid_body");
        let without = rules(json!([{"name": "医疗点", "capacity": 1}]));
        app.call(reqwest::Method::PUT, &path, Some(&e.organiser), Some(without)).await.expect_problem(422, "invalid_body");
        // A slot nobody signed up for may go; the leader may not publish.
        let fewer = rules(json!([{"name": "北门引导", "capacity": 2}]));
        app.call(reqwest::Method::PUT, &path, Some(&leader), Some(fewer.clone())).await.expect_problem(403, "forbidden");
        let published = app.call(reqwest::Method::PUT, &path, Some(&e.organiser), Some(fewer)).await;
        published.expect_status(200);
        assert_eq!(published.body["slots"].as_array().expect("slots").len(), 1);
        assert_eq!(published.body["slots"][0]["id"], gate, "a slot kept by name keeps its id");
    }
}

on_both_backends! {
    async fn bad_sign_ups_are_refused_each_with_its_code_and_change_nothing(app: TestApp) {
        let e = crate::event(&app, "toggle").await;
        let (activity, slots) = recruiting(
            &app,
            &e.organiser,
            e.organisation_id,
            json!({"waitlist": false, "min_age": 18, "required_skills": ["急救"]}),
        )
        .await;
        let (gate, medic) = (slots[0], slots[1]);
        let path = format!("/mp/v1/activities/{activity}/signups");

        // Malformed bodies.
        let bad = app.client.post(app.url(&path)).bearer_auth(&e.volunteer).header("content-type", "application/json").body("{not json").send().await.expect("sent");
        assert_eq!(bad.status().as_u16(), 400);
        app.post(&path, Some(&e.volunteer), json!({})).await.expect_problem(422, "invalid_body");
        app.post(&path, Some(&e.volunteer), json!({"slot_id": "北门"})).await.expect_problem(422, "invalid_body");
        app.post(&path, Some(&e.volunteer), json!({"slot_id": gate, "extra": 1})).await.expect_problem(422, "invalid_body");
        app.post(&path, Some(&e.volunteer), json!({"slot_id": 999_999})).await.expect_problem(422, "invalid_body");
        app.post("/mp/v1/activities/999999/signups", Some(&e.volunteer), json!({"slot_id": gate})).await.expect_problem(404, "not_found");
        let unpublished = app.activity(&e.organiser, e.organisation_id, json!({})).await["id"].as_i64().expect("id");
        app.post(&format!("/mp/v1/activities/{unpublished}/signups"), Some(&e.volunteer), json!({"slot_id": gate}))
            .await
            .expect_problem(404, "not_found");

        // The one place of the medical post is taken; without a waiting list the next is refused.
        sign_up(&app, &e.volunteer, activity, medic).await.expect_status(201);
        let (_, other) = app.volunteer("李四", "13900000001").await;
        sign_up(&app, &other, activity, medic).await.expect_problem(409, "signup_slot_full");
        // Twice for the same activity, whichever slot.
        sign_up(&app, &e.volunteer, activity, gate).await.expect_problem(409, "signup_duplicate");
        sign_up(&app, &e.volunteer, activity, medic).await.expect_problem(409, "signup_duplicate");

        // Requirements: a skill not registered; too young on the activity's day (17, with
        // the guardian's consent); a minor without it.
        let mut unskilled = registration("王五", "13900000002", &resident_id("19900101", 7));
        unskilled["skills"] = json!(["驾驶"]);
        let unskilled = app.post("/mp/v1/volunteers", None, unskilled).await.body["access_token"].as_str().expect("t").to_owned();
        let refused = sign_up(&app, &unskilled, activity, gate).await;
        refused.expect_problem(409, "signup_skill_missing");
        assert!(refused.body["detail"].as_str().is_some_and(|d| d.contains("急救")), "{}", refused.body);
        // 18 on 2026-12-13, the day after the activity (registered with the guardian's code).
        let (_, young) = app.minor("小明", "13900000003", "20081213", 9, "13911112222").await;
        sign_up(&app, &young, activity, gate).await.expect_problem(409, "signup_too_young");
        // The guardian's consent withdrawn: refused for that first.
        let withdraw = json!({"purpose": "guardian", "granted": false, "notice_version": "2026-11"});
        app.post("/mp/v1/me/consents", Some(&young), withdraw).await.expect_status(200);
        sign_up(&app, &young, activity, gate).await.expect_problem(403, "guardian_consent_required");
        // 18 on the activity's day: old enough (and a minor today, with consent).
        let (_, just) = app.minor("小红", "13900000004", "20081212", 11, "13911112223").await;
        sign_up(&app, &just, activity, gate).await.expect_status(201);
        let before = places(&app, activity).await;
        assert_eq!(before, vec![(1, 0, 0, 1), (1, 0, 0, 0)]);

        // Publishing: malformed rules.
        let recruitment = format!("/api/v1/activities/{activity}/recruitment");
        for body in [
            json!({"slots": [], "signup_deadline": "2026-12-11T20:00", "cancel_cutoff": "2026-12-11T12:00"}),
            json!({"slots": [{"name": "甲", "capacity": 0}], "signup_deadline": "2026-12-11T20:00", "cancel_cutoff": "2026-12-11T12:00"}),
            json!({"slots": [{"name": "甲", "capacity": 1}, {"name": "甲", "capacity": 2}], "signup_deadline": "2026-12-11T20:00", "cancel_cutoff": "2026-12-11T12:00"}),
            json!({"slots": [{"name": "甲", "capacity": 1}], "signup_deadline": "2026-12-13T20:00", "cancel_cutoff": "2026-12-11T12:00"}),
            json!({"slots": [{"name": "甲", "capacity": 1}], "signup_deadline": "not a time", "cancel_cutoff": "2026-12-11T12:00"}),
            json!({"slots": [{"name": "甲", "capacity": 1}], "signup_deadline": "2026-12-11T20:00", "cancel_cutoff": "2026-12-11T12:00", "min_age": 0}),
            json!({"slots": [{"name": "甲", "capacity": 1}], "signup_deadline": "2026-12-11T20:00"}),
            json!({"slots": [{"name": "甲", "capacity": 1}], "signup_deadline": "2026-12-11T20:00", "cancel_cutoff": "2026-12-11T12:00", "places": 3}),
        ] {
            app.call(reqwest::Method::PUT, &recruitment, Some(&e.organiser), Some(body.clone()))
                .await
                .expect_problem(422, "invalid_body");
        }

        // After the deadline: refused; after the cut-off: no cancellation.
        app.advance(chrono::Duration::days(6) + chrono::Duration::hours(12));
        let (_, late) = app.volunteer("赵六", "13900000005").await;
        let refused = sign_up(&app, &late, activity, gate).await;
        refused.expect_problem(409, "signup_deadline_passed");
        assert!(refused.body["detail"].as_str().is_some_and(|d| d.contains("12月11日 20:00")), "{}", refused.body);
        let mine = app.get("/mp/v1/me/signups", &e.volunteer).await.body;
        let id = mine[0]["id"].as_i64().expect("id");
        app.post(&format!("/mp/v1/me/signups/{id}/cancel"), Some(&e.volunteer), json!({}))
            .await
            .expect_problem(409, "signup_cancellation_closed");

        // Nothing of it changed a place, and the refused volunteers hold no sign-up.
        assert_eq!(places(&app, activity).await, before);
        for token in [&other, &unskilled, &young, &late] {
            assert_eq!(app.get("/mp/v1/me/signups", token).await.body, json!([]));
        }
        assert_eq!(app.get("/mp/v1/me/signups", &e.volunteer).await.body[0]["status"], "approved");
    }
}

/// Each attempt counts against the volunteer's sign-up limit, refused or not.
async fn rate_limited(backend: Backend) {
    let database = std::sync::Arc::new(hourmark_tests::TestDatabase::create(backend).await);
    let app = TestApp::spawn_with(backend, database, uuid::Uuid::new_v4().simple().to_string(), |c| {
        c.rate_signups_per_volunteer_per_minute = 2;
    })
    .await;
    let e = crate::event(&app, "toggle").await;
    let (activity, slots) = recruiting(&app, &e.organiser, e.organisation_id, json!({})).await;
    sign_up(&app, &e.volunteer, activity, slots[0]).await.expect_status(201);
    sign_up(&app, &e.volunteer, activity, slots[1]).await.expect_problem(409, "signup_duplicate");
    sign_up(&app, &e.volunteer, activity, slots[1]).await.expect_problem(429, "rate_limited");
    // Another volunteer is not slowed by the first.
    let (_, other) = app.volunteer("李四", "13900000001").await;
    sign_up(&app, &other, activity, slots[0]).await.expect_status(201);
    app.advance(chrono::Duration::minutes(1));
    sign_up(&app, &e.volunteer, activity, slots[1]).await.expect_problem(409, "signup_duplicate");
}

mod signing_up_is_rate_limited_per_volunteer {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::rate_limited(super::Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::rate_limited(super::Backend::Postgres).await;
    }
}

/// Two instances on one PostgreSQL: volunteers racing for the last places through both
/// at once get exactly the places there are, the rest wait-listed (or refused when no
/// list is kept), every time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signup_races_across_two_instances_give_each_place_once() {
    let a = TestApp::spawn_adjusted(Backend::Postgres, |c| c.rate_signups_per_volunteer_per_minute = 0).await;
    let b = a.another_instance(|c| c.rate_signups_per_volunteer_per_minute = 0).await;
    let e = crate::event(&a, "toggle").await;
    let mut volunteers = vec![e.volunteer.clone()];
    for i in 0..5 {
        volunteers.push(a.volunteer("李四", &format!("1390000000{i}")).await.1);
    }

    for round in 0..24 {
        let waitlist = round % 2 == 0;
        // Alternately the last of one place between two, and three places among six.
        let (capacity, racers) = if round % 4 < 2 { (1, 2) } else { (3, 6) };
        let rules = json!({"slots": [{"name": "北门引导", "capacity": capacity}], "waitlist": waitlist});
        let (activity, slots) = recruiting(&a, &e.organiser, e.organisation_id, rules).await;
        let calls = volunteers[..racers].iter().enumerate().map(|(i, token)| {
            let app = if i % 2 == 0 { &a } else { &b };
            sign_up(app, token, activity, slots[0])
        });
        let answers = futures_util::future::join_all(calls).await;
        let seen: Vec<String> = answers.iter().map(|r| format!("{} {}", r.status, r.body)).collect();
        let placed = answers.iter().filter(|r| r.status == 201 && r.body["status"] == "approved").count();
        let waiting = answers.iter().filter(|r| r.status == 201 && r.body["status"] == "waitlisted").count();
        let full = answers.iter().filter(|r| r.status == 409 && r.body["code"] == "signup_slot_full").count();
        assert_eq!(placed, capacity, "round {round}: {seen:#?}");
        if waitlist {
            assert_eq!(waiting, racers - capacity, "round {round}");
            let mut positions: Vec<u64> = answers.iter().filter_map(|r| r.body["waitlist_position"].as_u64()).collect();
            positions.sort_unstable();
            assert_eq!(positions, (1..=(racers - capacity) as u64).collect::<Vec<_>>(), "round {round}");
        } else {
            assert_eq!(full, racers - capacity, "round {round}");
        }
        let counted = places(&b, activity).await;
        assert_eq!(counted[0].0 as usize, capacity, "round {round}: the store agrees");
    }

    // One volunteer signing up for two slots at once, through both instances: the two
    // slots' locks do not meet, and the store's one-live-sign-up index keeps one.
    for round in 0..8 {
        let (activity, slots) = recruiting(&a, &e.organiser, e.organisation_id, json!({})).await;
        let (ra, rb) = tokio::join!(
            sign_up(&a, &volunteers[0], activity, slots[0]),
            sign_up(&b, &volunteers[0], activity, slots[1])
        );
        let mut statuses = [ra.status, rb.status];
        statuses.sort_unstable();
        assert_eq!(statuses, [201, 409], "round {round}: {} / {}", ra.body, rb.body);
        let refused = if ra.status == 409 { &ra } else { &rb };
        assert_eq!(refused.body["code"], "signup_duplicate");
        let counted = places(&a, activity).await;
        assert_eq!(counted[0].0 + counted[1].0, 1, "round {round}");
    }
}

on_both_backends! {
    /// An activity that admits no walk-ins lets in only approved sign-ups: a stranger and a
    /// volunteer still waiting for approval are refused at the gate (recorded as refused,
    /// nothing accepted); the moment the organiser approves, the volunteer checks in, though
    /// this instance had just refused them; once walk-ins are allowed, anyone may.
    async fn an_activity_without_walk_ins_admits_only_approved_sign_ups(app: TestApp) {
        let e = crate::event(&app, "toggle").await;
        let path = format!("/api/v1/activities/{}/recruitment", e.activity_id);
        let rules = |walk_ins: bool| {
            json!({
                "slots": [{"name": "入口引导", "capacity": 5}],
                "signup_deadline": "2026-12-05T16:00:00+08:00", "cancel_cutoff": "2026-12-05T12:00:00+08:00",
                "approval_required": true, "walk_ins": walk_ins,
            })
        };
        let published = app.call(reqwest::Method::PUT, &path, Some(&e.organiser), Some(rules(false))).await;
        published.expect_status(200);
        let slot = published.body["slots"][0]["id"].as_i64().expect("slot");
        let signed_up = sign_up(&app, &e.volunteer, e.activity_id, slot).await;
        signed_up.expect_status(201);
        assert_eq!(signed_up.body["status"], "pending");
        let (stranger_id, stranger) = app.volunteer("李四", "13800005678").await;
        let code = || async { app.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned() };

        app.scan(&stranger, &code().await).await.expect_problem(409, "walk_in_refused");
        app.scan(&e.volunteer, &code().await).await.expect_problem(409, "walk_in_refused");
        let totals = app.get(&format!("/api/v1/activities/{}/totals", e.activity_id), &e.organiser).await;
        assert_eq!(totals.body["accepted_scans"], 0, "refused scans accept nobody");
        assert_eq!(app.scans_recorded(stranger_id).await, 1, "the refusal is on the record");

        let decided = app
            .post(
                &format!("/api/v1/activities/{}/signups/{}/decision", e.activity_id, signed_up.body["id"]),
                Some(&e.organiser),
                json!({"approve": true}),
            )
            .await;
        decided.expect_status(200);
        let arrival = app.scan(&e.volunteer, &code().await).await;
        arrival.expect_status(200);
        assert_eq!(arrival.body["outcome"], "checked_in", "approved a moment ago, admitted at once");
        app.advance(chrono::Duration::minutes(30));
        let departure = app.scan(&e.volunteer, &code().await).await;
        departure.expect_status(200);
        assert_eq!(departure.body["outcome"], "checked_out");

        app.call(reqwest::Method::PUT, &path, Some(&e.organiser), Some(rules(true))).await.expect_status(200);
        let walk_in = app.scan(&stranger, &code().await).await;
        walk_in.expect_status(200);
        assert_eq!(walk_in.body["outcome"], "checked_in", "walk-ins allowed now");
    }
}

on_both_backends! {
    /// An approved volunteer is reminded the day before and an hour before, once each,
    /// however often the job runs; one whose sign-up waits on the list hears nothing, and
    /// one approved within the last hour gets only the hour's reminder.
    async fn approved_volunteers_are_reminded_the_day_and_the_hour_before(app: TestApp) {
        let e = crate::event(&app, "toggle").await;
        // 12月12日 08:00, sign-ups open until the start; the medical slot has one place.
        let open_until = json!({"signup_deadline": "2026-12-12T08:00"});
        let (activity, slots) = recruiting(&app, &e.organiser, e.organisation_id, open_until).await;
        sign_up(&app, &e.volunteer, activity, slots[1]).await.expect_status(201);
        let (_, waiting) = app.volunteer("李四", "13800005678").await;
        let queued = sign_up(&app, &waiting, activity, slots[1]).await;
        queued.expect_status(201);
        assert_eq!(queued.body["status"], "waitlisted");
        let (_, late) = app.volunteer("王五", "13800005679").await;
        assert_eq!(app.hourmark.send_signup_reminders().await.expect("job"), 0, "a week ahead: nothing due");
        // 12月11日 09:00, 23 hours before.
        app.advance(chrono::Duration::hours(6 * 24));
        assert_eq!(app.hourmark.send_signup_reminders().await.expect("job"), 1);
        assert_eq!(app.hourmark.send_signup_reminders().await.expect("job"), 0, "once, however often the job runs");
        // 12月12日 07:30: 王五 signs up for the north gate now (no approval needed).
        app.advance(chrono::Duration::minutes(22 * 60 + 30));
        sign_up(&app, &late, activity, slots[0]).await.expect_status(201);
        assert_eq!(app.hourmark.send_signup_reminders().await.expect("job"), 2, "the hour's, to both");
        assert_eq!(app.hourmark.send_signup_reminders().await.expect("job"), 0);

        let mine = reminders(&app, &e.volunteer).await;
        assert_eq!(mine.len(), 2, "{mine:?}");
        assert!(mine.iter().all(|b| b.contains("（医疗点）将于12月12日 08:00开始")), "{mine:?}");
        assert_eq!(reminders(&app, &late).await.len(), 1, "approved within the hour: reminded once");
        assert!(reminders(&app, &waiting).await.is_empty(), "the waiting list is not expected");
    }
}

/// The bodies of a volunteer's sign-up reminders.
async fn reminders(app: &TestApp, token: &str) -> Vec<String> {
    kinds_of(&app.get("/mp/v1/me/notifications", token).await.body, "signup_reminder")
        .iter()
        .map(|n| n["body"].as_str().unwrap_or_default().to_owned())
        .collect()
}

on_both_backends! {
    /// Those signed up planned around the time and place: moving the activity tells each
    /// of them (waiting list included, not those who cancelled), once per change; an edit
    /// of the description alone tells nobody.
    async fn moving_an_activity_tells_everyone_signed_up(app: TestApp) {
        let e = crate::event(&app, "toggle").await;
        let (activity, slots) = recruiting(&app, &e.organiser, e.organisation_id, json!({})).await;
        sign_up(&app, &e.volunteer, activity, slots[1]).await.expect_status(201);
        let (_, waiting) = app.volunteer("李四", "13800005678").await;
        sign_up(&app, &waiting, activity, slots[1]).await.expect_status(201);
        let (_, gone) = app.volunteer("王五", "13800005679").await;
        let cancelled = sign_up(&app, &gone, activity, slots[0]).await;
        app.post(&format!("/mp/v1/me/signups/{}/cancel", cancelled.body["id"]), Some(&gone), json!({}))
            .await
            .expect_status(200);

        let path = format!("/api/v1/activities/{activity}");
        let current = app.get(&path, &e.organiser).await.body;
        let mut body = json!({"organisation_id": e.organisation_id});
        for field in ["name", "category", "recipients", "content", "address", "location", "radius_m", "starts_at",
                      "ends_at", "gates", "code_mode"] {
            body[field] = current[field].clone();
        }
        body["content"] = json!("捡拾垃圾（改）");
        app.call(reqwest::Method::PUT, &path, Some(&e.organiser), Some(body.clone())).await.expect_status(200);
        assert!(changes(&app, &e.volunteer).await.is_empty(), "the description alone is nobody's plan");

        body["starts_at"] = json!("2026-12-12T09:00");
        app.call(reqwest::Method::PUT, &path, Some(&e.organiser), Some(body)).await.expect_status(200);
        let told = changes(&app, &e.volunteer).await;
        assert_eq!(told.len(), 1, "{told:?}");
        assert!(told[0].contains("12月12日 09:00–17:00"), "{told:?}");
        assert_eq!(changes(&app, &waiting).await.len(), 1, "the waiting list plans too");
        assert!(changes(&app, &gone).await.is_empty(), "a cancelled sign-up is not told");
    }
}

/// The bodies of a volunteer's activity-changed notices.
async fn changes(app: &TestApp, token: &str) -> Vec<String> {
    kinds_of(&app.get("/mp/v1/me/notifications", token).await.body, "activity_changed")
        .iter()
        .map(|n| n["body"].as_str().unwrap_or_default().to_owned())
        .collect()
}

on_both_backends! {
    /// Who was approved and never came: while the activity runs, who has not come yet;
    /// after it, the no-shows. Only approved sign-ups count, and only for the
    /// organisation's staff.
    async fn no_shows_are_the_approved_who_never_scanned(app: TestApp) {
        let e = crate::event(&app, "toggle").await;
        let path = format!("/api/v1/activities/{}/recruitment", e.activity_id);
        let rules = json!({
            "slots": [{"name": "入口引导", "capacity": 2}],
            "signup_deadline": "2026-12-05T16:00:00+08:00", "cancel_cutoff": "2026-12-05T12:00:00+08:00",
        });
        let published = app.call(reqwest::Method::PUT, &path, Some(&e.organiser), Some(rules)).await;
        published.expect_status(200);
        let slot = published.body["slots"][0]["id"].as_i64().expect("slot");
        // 李四 and 王五 hold the two places; 赵六 waits. Only 李四 comes.
        let (_, came) = app.volunteer("李四", "13800005678").await;
        let (_, absent) = app.volunteer("王五", "13800005679").await;
        let (_, queued) = app.volunteer("赵六", "13800005680").await;
        for token in [&came, &absent, &queued] {
            sign_up(&app, token, e.activity_id, slot).await.expect_status(201);
        }
        let url = app.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
        app.scan(&came, &url).await.expect_status(200);

        let no_shows = format!("/api/v1/activities/{}/no-shows", e.activity_id);
        let names = |body: &Value| -> Vec<String> {
            let list = body["no_shows"].as_array().expect("list");
            list.iter().map(|s| s["volunteer_name"].as_str().unwrap_or_default().to_owned()).collect()
        };
        let during = app.get(&no_shows, &e.organiser).await;
        during.expect_status(200);
        assert_eq!(during.body["ended"], false);
        assert_eq!(names(&during.body), ["王五"], "not come yet; 赵六 was never expected");

        // After 17:00 the list is final.
        app.advance(chrono::Duration::hours(9));
        let after = app.get(&no_shows, &e.organiser).await;
        assert_eq!(after.body["ended"], true, "{}", after.body);
        assert_eq!(names(&after.body), ["王五"]);
        app.get(&no_shows, &came).await.expect_problem(403, "forbidden");
    }
}

on_both_backends! {
    /// An organisation stripped of its recording qualification takes no sign-ups (as it
    /// takes no scans): refused with its code, the places untouched.
    async fn a_revoked_organisation_takes_no_sign_ups(app: TestApp) {
        let e = crate::event(&app, "toggle").await;
        let (activity, slots) = recruiting(&app, &e.organiser, e.organisation_id, json!({})).await;
        let before = places(&app, activity).await;
        let province = app.staff(&e.admin, json!({"name": "省民政", "role": "officer", "region_code": "530000"})).await;
        let revoke = format!("/api/v1/organisations/{}/revoke", e.organisation_id);
        app.post(&revoke, Some(&province), json!({"reason": "弄虚作假"})).await.expect_status(200);
        sign_up(&app, &e.volunteer, activity, slots[0]).await.expect_problem(409, "organisation_not_approved");
        assert_eq!(places(&app, activity).await, before, "nothing taken");
    }
}

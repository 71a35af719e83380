//! Training completed as a sign-up requirement (issue 17): an activity's recruitment names
//! a training; a volunteer without it is refused (`signup_training_missing`, nothing
//! recorded); the organisation records who completed it by their registered phone number
//! (not twice, and not for a number nobody registered); then the sign-up goes through, and
//! the completion counts for the organisation's next activity requiring the same training.

use hourmark_tests::on_both_backends;
use reqwest::Method;
use serde_json::json;

use crate::signups::recruiting;

on_both_backends! {
    async fn a_volunteer_without_the_required_training_is_refused_until_it_is_recorded(app: TestApp) {
        let e = crate::event(&app, "toggle").await;
        let (activity, slots) =
            recruiting(&app, &e.organiser, e.organisation_id, json!({"required_training": "  赛事岗前培训 "})).await;
        let recruitment = app.get(&format!("/api/v1/activities/{activity}/recruitment"), &e.organiser).await;
        assert_eq!(recruitment.body["required_training"], "赛事岗前培训", "kept trimmed");
        let sign_up = format!("/mp/v1/activities/{activity}/signups");
        let completions = format!("/api/v1/activities/{activity}/training-completions");

        // Without the training: refused, saying which, and nothing recorded.
        let refused = app.post(&sign_up, Some(&e.volunteer), json!({"slot_id": slots[0]})).await;
        refused.expect_problem(409, "signup_training_missing");
        assert!(refused.body["detail"].as_str().is_some_and(|d| d.contains("赛事岗前培训")), "{}", refused.body);
        assert!(app.hourmark.my_signups(e.volunteer_id).await.expect("signups").is_empty());
        let places = app.hourmark.recruitment_for_volunteer(activity).await.expect("published");
        assert_eq!(places.slots[0].places_left, 2, "no place taken");

        // Bad input for the record: each refused with its code, nothing recorded.
        app.post(&completions, Some(&e.organiser), json!({"phone": "12345"})).await.expect_problem(422, "invalid_body");
        app.post(&completions, Some(&e.organiser), json!({"phone": "13999999999"}))
            .await
            .expect_problem(404, "phone_not_registered");
        app.post(&completions, Some(&e.organiser), json!({"mobile": "13800001234"}))
            .await
            .expect_problem(422, "invalid_body");
        let other_admin_org = app.organisation(&e.admin, "另一个协会").await;
        let stranger = app.organiser(&e.admin, other_admin_org).await;
        app.post(&completions, Some(&stranger), json!({"phone": "13800001234"})).await.expect_problem(404, "not_found");
        app.post(&completions, Some(&e.volunteer), json!({"phone": "13800001234"})).await.expect_problem(403, "forbidden");
        let listed = app.get(&completions, &e.organiser).await;
        listed.expect_status(200);
        assert_eq!(listed.body, json!([]));

        // Recorded (twice: the second changes nothing), then the sign-up goes through.
        let recorded = app.post(&completions, Some(&e.organiser), json!({"phone": "138 0000 1234"})).await;
        recorded.expect_status(200);
        assert_eq!(recorded.body["volunteer_name"], "张三");
        assert_eq!(recorded.body["training"], "赛事岗前培训");
        app.advance(chrono::Duration::minutes(5));
        let again = app.post(&completions, Some(&e.organiser), json!({"phone": "13800001234"})).await;
        again.expect_status(200);
        assert_eq!(again.body["recorded_at"], recorded.body["recorded_at"], "recorded once");
        let listed = app.get(&completions, &e.organiser).await;
        assert_eq!(listed.body.as_array().map(Vec::len), Some(1));
        app.post(&sign_up, Some(&e.volunteer), json!({"slot_id": slots[0]})).await.expect_status(201);

        // The organisation's next activity requiring the same training: no second record needed.
        let (next, next_slots) =
            recruiting(&app, &e.organiser, e.organisation_id, json!({"required_training": "赛事岗前培训"})).await;
        app.post(&format!("/mp/v1/activities/{next}/signups"), Some(&e.volunteer), json!({"slot_id": next_slots[0]}))
            .await
            .expect_status(201);

        // An activity whose recruitment requires no training has no completions to record.
        let (plain, _) = recruiting(&app, &e.organiser, e.organisation_id, json!({})).await;
        app.post(&format!("/api/v1/activities/{plain}/training-completions"), Some(&e.organiser), json!({"phone": "13800001234"}))
            .await
            .expect_problem(404, "not_found");
        // Clearing the requirement: published again without it.
        let cleared = app
            .call(
                Method::PUT,
                &format!("/api/v1/activities/{activity}/recruitment"),
                Some(&e.organiser),
                Some(json!({"slots": [{"name": "北门引导", "capacity": 2}, {"name": "医疗点", "capacity": 1}],
                    "signup_deadline": "2026-12-11T20:00", "cancel_cutoff": "2026-12-11T12:00"})),
            )
            .await;
        cleared.expect_status(200);
        assert!(cleared.body.get("required_training").is_none(), "{}", cleared.body);
    }
}

//! A review's pass of the rules judges only what changed since the last pass on this
//! instance (see `review::book`), and raises what a pass over every scan would.

use std::collections::BTreeSet;

use chrono::Duration;
use hourmark_tests::{TestApp, on_both_backends};
use serde_json::json;
use uuid::Uuid;

use crate::event;
use crate::review::recorder;

/// Every flag of the activity as the store keys it: volunteer, rule and key.
async fn flag_keys(app: &TestApp, activity_id: i64) -> BTreeSet<(i64, String, String)> {
    app.hourmark.store().flag_keys(activity_id, None).await.expect("flag keys").into_iter().collect()
}

on_both_backends! {
    /// Round after round, volunteers scan here and at an instance whose events never arrive
    /// here, some of them on one shared phone, some switching phones, in bursts and in
    /// short sessions; each review here judges only the scans read since its last pass.
    /// A newly started instance, whose first pass reads every scan, then finds nothing
    /// those passes missed, and closing the activity finds nothing either.
    async fn a_review_judges_new_scans_as_a_pass_over_every_scan_would(app: TestApp) {
        let e = event(&app, "toggle").await;
        let recorder = recorder(&app, &e.admin, e.organisation_id).await;
        let deaf = TestApp::spawn_with(app.backend, app.database(), Uuid::new_v4().simple().to_string(), |_| {}).await;
        app.call(
            reqwest::Method::PUT,
            &format!("/api/v1/activities/{}/review/settings", e.activity_id),
            Some(&e.organiser),
            Some(json!({"params": {"burst_per_device": 2, "burst_per_network": 4}})),
        )
        .await
        .expect_status(200);
        let mut volunteers = vec![e.volunteer.clone()];
        for i in 0..5 {
            volunteers.push(app.volunteer(&format!("志愿者{i}"), &format!("1390000000{i}")).await.1);
        }
        let review = format!("/api/v1/activities/{}/review", e.activity_id);
        let mut advanced = Duration::zero();
        let mut seen_rules = BTreeSet::new();
        for round in 0..6_usize {
            let at = if round % 2 == 0 { &app } else { &deaf };
            let code = at.code(&e.organiser, e.activity_id, 0, "toggle").await["url"]
                .as_str()
                .expect("url")
                .to_owned();
            for (i, volunteer) in volunteers.iter().enumerate().filter(|(i, _)| round < 2 || (i + round) % 3 != 0) {
                // The first two share a phone from the third round on; the third switches
                // phones every round.
                let device = match i {
                    0 | 1 if round >= 2 => "shared-phone".to_owned(),
                    2 => format!("phone-2-{round}"),
                    _ => format!("phone-{i}"),
                };
                let body = json!({"code": code, "nonce": Uuid::new_v4(), "client_time": at.clock_now().to_rfc3339(),
                                  "device_id": device});
                at.post("/mp/v1/scans", Some(volunteer), body).await.expect_status(200);
            }
            // Past the repeat-scan guard and the time a pass stands, so this instance runs
            // one even for the rounds it heard nothing of; sessions of 1 to 9 minutes.
            let step = Duration::seconds(61 + 240 * (round as i64 % 3));
            for instance in [&app, &deaf] {
                instance.advance(step);
            }
            advanced += step;
            let answer = app.get(&review, &recorder).await;
            answer.expect_status(200);
            seen_rules.extend(flag_keys(&app, e.activity_id).await.into_iter().map(|(_, rule, _)| rule));
        }
        for rule in ["shared_device", "device_switch", "scan_burst", "session_too_short"] {
            assert!(seen_rules.contains(rule), "the rounds raise {rule}: {seen_rules:?}");
        }

        let judged = flag_keys(&app, e.activity_id).await;
        let fresh = TestApp::spawn_with(app.backend, app.database(), Uuid::new_v4().simple().to_string(), |_| {}).await;
        fresh.advance(advanced);
        fresh.get(&review, &recorder).await.expect_status(200);
        assert_eq!(flag_keys(&app, e.activity_id).await, judged, "a pass over every scan raised nothing new");

        // Closing runs every rule over every scan: still nothing new.
        app.advance(Duration::hours(12));
        assert_eq!(app.hourmark.close_left_open_sessions().await.expect("closing"), 1);
        let closed = flag_keys(&app, e.activity_id).await;
        assert!(closed.is_superset(&judged));
        assert!(
            closed.difference(&judged).all(|(_, rule, _)| rule == "left_open"),
            "only the sessions closing closed: {:?}",
            closed.difference(&judged).collect::<Vec<_>>()
        );
    }
}

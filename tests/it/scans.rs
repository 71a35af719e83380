//! Scanning end to end: check-in and check-out, minutes, idempotency, refusals recorded.

use chrono::Duration;
use hourmark_tests::on_both_backends;
use uuid::Uuid;

use crate::event;

on_both_backends! {
    async fn toggle_code_checks_in_then_out_and_credits_minutes(app: TestApp) {
        let e = event(&app, "toggle").await;
        let code = app.code(&e.organiser, e.activity_id, 1, "toggle").await;
        let url = code["url"].as_str().expect("url");

        let arrival = app.scan(&e.volunteer, url).await;
        arrival.expect_status(200);
        assert_eq!(arrival.content_type, "application/json");
        assert_eq!(arrival.body["outcome"], "checked_in");
        assert_eq!(arrival.body["gate"], "南门");
        assert_eq!(arrival.body["activity_id"], e.activity_id);
        assert_eq!(arrival.body["server_time"], "2026-12-05T09:00:00+08:00");
        assert_eq!(arrival.body["session"]["inside"], true);
        assert_eq!(arrival.body["minutes_credited"], 0);

        app.advance(Duration::minutes(150));
        let code = app.code(&e.organiser, e.activity_id, 0, "toggle").await;
        let departure = app.scan(&e.volunteer, code["url"].as_str().expect("url")).await;
        departure.expect_status(200);
        assert_eq!(departure.body["outcome"], "checked_out");
        assert_eq!(departure.body["gate"], "北门");
        assert_eq!(departure.body["session"]["inside"], false);
        assert_eq!(departure.body["minutes_credited"], 150);
        assert_eq!(departure.body["session"]["pairs"], 1);

        let list = app.sessions(&e.organiser, e.activity_id).await;
        assert_eq!(list.len(), 1);
        assert_eq!(list[0]["volunteer_id"], e.volunteer_id);
        assert_eq!(list[0]["volunteer_name"], "张三");
        assert_eq!(list[0]["minutes_credited"], 150);
        assert_eq!(list[0]["inside"], false);
        assert_eq!(list[0]["pairs"][0]["checked_in_at"], "2026-12-05T09:00:00+08:00", "times as people on site read them");
        assert_eq!(list[0]["pairs"][0]["checked_out_at"], "2026-12-05T11:30:00+08:00");

        let totals = app.get(&format!("/api/v1/activities/{}/totals", e.activity_id), &e.organiser).await;
        totals.expect_status(200);
        assert_eq!(totals.body["arrived"], 1);
        assert_eq!(totals.body["left"], 1);
        assert_eq!(totals.body["inside_now"], 0);
        assert_eq!(totals.body["minutes_credited"], 150);
        assert_eq!(totals.body["accepted_scans"], 2);
    }
}

on_both_backends! {
    async fn live_totals_count_who_is_inside_and_minutes_so_far(app: TestApp) {
        let e = event(&app, "toggle").await;
        let (_, second) = app.volunteer("李四", "13900001234").await;
        let (_, third) = app.volunteer("王五", "13700001234").await;
        let url = app.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
        for v in [&e.volunteer, &second, &third] {
            app.scan(v, &url).await.expect_status(200);
        }
        app.advance(Duration::minutes(40));
        let url = app.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
        app.scan(&third, &url).await.expect_status(200);
        app.advance(Duration::minutes(20));

        let totals = app.get(&format!("/api/v1/activities/{}/totals", e.activity_id), &e.organiser).await;
        totals.expect_status(200);
        assert_eq!(totals.body["arrived"], 3);
        assert_eq!(totals.body["inside_now"], 2);
        assert_eq!(totals.body["left"], 1);
        // Two still inside for 60 minutes each, one who left after 40.
        assert_eq!(totals.body["minutes_so_far"], 160);
        assert_eq!(totals.body["minutes_credited"], 40);
    }
}

on_both_backends! {
    async fn early_arrival_earns_nothing_and_late_stay_is_clipped(app: TestApp) {
        let e = event(&app, "toggle").await;
        app.clock.set(hourmark_core::activity::parse_local_or_offset("2026-12-05T07:30:00+08:00").expect("time"));
        let url = app.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
        app.scan(&e.volunteer, &url).await.expect_status(200);
        app.clock.set(hourmark_core::activity::parse_local_or_offset("2026-12-05T17:45:00+08:00").expect("time"));
        let url = app.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
        let out = app.scan(&e.volunteer, &url).await;
        out.expect_status(200);
        // 08:00 (not 07:30) to 17:30 (end plus 30 minutes' grace, not 17:45).
        assert_eq!(out.body["minutes_credited"], 570);
    }
}

on_both_backends! {
    async fn separate_codes_refuse_the_wrong_direction(app: TestApp) {
        let e = event(&app, "separate").await;
        let arrive = app.code(&e.organiser, e.activity_id, 0, "arrival").await["url"].as_str().expect("url").to_owned();
        let depart = app.code(&e.organiser, e.activity_id, 0, "departure").await["url"].as_str().expect("url").to_owned();
        app.get(&format!("/api/v1/activities/{}/code?direction=toggle", e.activity_id), &e.organiser).await
            .expect_problem(400, "invalid_parameter");

        app.scan(&e.volunteer, &depart).await.expect_problem(409, "wrong_direction");
        app.scan(&e.volunteer, &arrive).await.expect_status(200);
        app.advance(Duration::minutes(5));
        let arrive = app.code(&e.organiser, e.activity_id, 0, "arrival").await["url"].as_str().expect("url").to_owned();
        let depart = app.code(&e.organiser, e.activity_id, 0, "departure").await["url"].as_str().expect("url").to_owned();
        app.scan(&e.volunteer, &arrive).await.expect_problem(409, "wrong_direction");
        let out = app.scan(&e.volunteer, &depart).await;
        out.expect_status(200);
        assert_eq!(out.body["outcome"], "checked_out");
        assert_eq!(out.body["minutes_credited"], 5);
        // Every scan is kept, the refused ones too.
        assert_eq!(app.scans_recorded(e.volunteer_id).await, 4);
    }
}

on_both_backends! {
    async fn a_double_tap_is_a_repeat_not_a_checkout(app: TestApp) {
        let e = event(&app, "toggle").await;
        let url = app.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
        app.scan(&e.volunteer, &url).await.expect_status(200);
        app.advance(Duration::seconds(3));
        let again = app.scan(&e.volunteer, &url).await;
        again.expect_problem(409, "repeat_scan");
        assert!(again.body["scan_id"].is_string(), "a refusal names the recorded scan");
        let sessions = app.sessions(&e.organiser, e.activity_id).await;
        assert_eq!(sessions[0]["inside"], true);
    }
}

on_both_backends! {
    async fn a_retry_with_the_same_nonce_gets_the_same_answer_and_counts_once(app: TestApp) {
        let e = event(&app, "toggle").await;
        let url = app.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
        let nonce = Uuid::new_v4();
        let first = app.scan_with_nonce(&e.volunteer, &url, nonce).await;
        first.expect_status(200);
        // Later, even after the state changed, the retry is answered as the original was.
        app.advance(Duration::seconds(20));
        let retry = app.scan_with_nonce(&e.volunteer, &url, nonce).await;
        assert_eq!(retry.status, 200);
        assert_eq!(retry.raw, first.raw, "the identical answer");
        assert_eq!(app.scans_recorded(e.volunteer_id).await, 1);

        // A refused scan's retry is refused identically, and also recorded once.
        app.advance(Duration::minutes(10));
        let stale = Uuid::new_v4();
        let refused = app.scan_with_nonce(&e.volunteer, &url, stale).await;
        refused.expect_problem(422, "code_expired");
        let refused_again = app.scan_with_nonce(&e.volunteer, &url, stale).await;
        assert_eq!(refused_again.raw, refused.raw);
        assert_eq!(app.scans_recorded(e.volunteer_id).await, 2);
    }
}

on_both_backends! {
    async fn racing_retries_of_one_nonce_count_once(app: TestApp) {
        let e = event(&app, "toggle").await;
        let url = app.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
        let nonce = Uuid::new_v4();
        let answers = race_same_scan(&app, &e.volunteer, &url, nonce, 12).await;
        for (status, body) in &answers {
            assert_eq!(*status, 200, "{}", String::from_utf8_lossy(body));
            assert_eq!(body, &answers[0].1, "every racer gets the identical answer");
        }
        assert_eq!(app.scans_recorded(e.volunteer_id).await, 1);
    }
}

on_both_backends! {
    async fn an_old_code_is_refused_and_the_refusal_is_kept(app: TestApp) {
        let e = event(&app, "toggle").await;
        let url = app.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
        // The window it was shown in and the one after are fine...
        app.advance(Duration::seconds(15));
        app.scan(&e.volunteer, &url).await.expect_status(200);
        // ...a replay ten minutes later is not.
        app.advance(Duration::minutes(10));
        let replay = app.scan(&e.volunteer, &url).await;
        replay.expect_problem(422, "code_expired");
        assert_eq!(app.scans_recorded(e.volunteer_id).await, 2);
        let sessions = app.sessions(&e.organiser, e.activity_id).await;
        assert_eq!(sessions[0]["inside"], true, "a refused scan does not check anyone out");
    }
}

on_both_backends! {
    async fn a_code_from_the_future_is_refused(app: TestApp) {
        let e = event(&app, "toggle").await;
        app.advance(Duration::minutes(2));
        let url = app.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
        app.advance(Duration::minutes(-2));
        app.scan(&e.volunteer, &url).await.expect_problem(422, "code_not_yet_valid");
        assert_eq!(app.scans_recorded(e.volunteer_id).await, 1);
    }
}

on_both_backends! {
    async fn scans_outside_the_activity_window_are_refused(app: TestApp) {
        let e = event(&app, "toggle").await;
        // Opens 60 minutes before the 08:00 start.
        app.clock.set(hourmark_core::activity::parse_local_or_offset("2026-12-05T06:59:00+08:00").expect("time"));
        let url = app.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
        app.scan(&e.volunteer, &url).await.expect_problem(409, "activity_not_open");
        // No arrivals after the 17:00 end; departures until two hours after it.
        app.clock.set(hourmark_core::activity::parse_local_or_offset("2026-12-05T16:00:00+08:00").expect("time"));
        let (_, late) = app.volunteer("迟到", "13600001234").await;
        let url = app.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
        app.scan(&e.volunteer, &url).await.expect_status(200);
        app.clock.set(hourmark_core::activity::parse_local_or_offset("2026-12-05T17:01:00+08:00").expect("time"));
        let url = app.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
        app.scan(&late, &url).await.expect_problem(409, "activity_ended");
        app.clock.set(hourmark_core::activity::parse_local_or_offset("2026-12-05T19:00:01+08:00").expect("time"));
        let url = app.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
        app.scan(&e.volunteer, &url).await.expect_problem(409, "activity_ended");
        assert_eq!(app.scans_recorded(e.volunteer_id).await, 3);
    }
}

on_both_backends! {
    async fn bare_tokens_and_lower_case_scans_work(app: TestApp) {
        let e = event(&app, "toggle").await;
        let code = app.code(&e.organiser, e.activity_id, 0, "toggle").await;
        let token = code["token"].as_str().expect("token").to_lowercase();
        let answer = app.scan(&e.volunteer, &token).await;
        answer.expect_status(200);
        assert_eq!(answer.body["outcome"], "checked_in");
    }
}

on_both_backends! {
    async fn a_forgotten_check_out_does_not_credit_the_night(app: TestApp) {
        let e = event(&app, "toggle").await;
        let multi_day = app.activity(&e.organiser, e.organisation_id, serde_json::json!({
            "name": "三天志愿服务", "ends_at": "2026-12-07T17:00:00+08:00"
        })).await;
        let id = multi_day["id"].as_i64().expect("id");
        // Staff tokens last a working day; over three days the screen is the server's own.
        let screen = hourmark_core::identity::Principal::Staff {
            id: 1,
            role: hourmark_core::identity::StaffRole::Administrator,
            organisation_id: None,
        };
        let code = async || {
            app.hourmark.current_code(&screen, id, 0, hourmark_core::qr::CodeDirection::Toggle).await.expect("code").url
        };
        app.scan(&e.volunteer, &code().await).await.expect_status(200);
        // The volunteer leaves without scanning; next morning's scan is an arrival.
        app.clock.set(hourmark_core::activity::parse_local_or_offset("2026-12-06T08:30:00+08:00").expect("time"));
        let morning = app.scan(&e.volunteer, &code().await).await;
        morning.expect_status(200);
        assert_eq!(morning.body["outcome"], "checked_in");
        assert_eq!(morning.body["minutes_credited"], 0);
        app.advance(Duration::hours(2));
        let out = app.scan(&e.volunteer, &code().await).await;
        assert_eq!(out.body["outcome"], "checked_out");
        assert_eq!(out.body["minutes_credited"], 120);
        let sessions = app.hourmark.activity_sessions(&screen, id).await.expect("sessions");
        assert_eq!(sessions[0].unpaired.len(), 1);
        assert_eq!(sessions[0].unpaired[0].reason, hourmark_core::attendance::minutes::UnpairedReason::MissingOut);
    }
}

on_both_backends! {
    async fn one_bad_row_does_not_fail_the_scans_committed_with_it(app: TestApp) {
        use hourmark_core::store::{NewScan, StoredAnswer};
        let e = event(&app, "toggle").await;
        let row = |activity_id: i64| NewScan {
            id: Uuid::now_v7(),
            volunteer_id: e.volunteer_id,
            client_nonce: Uuid::new_v4(),
            activity_id: Some(activity_id),
            gate: Some(0),
            direction: None,
            seq: None,
            outcome: "code_expired".into(),
            server_time: app.clock_now(),
            uploaded_at: None,
            client_time: None,
            code_window: None,
            key_id: None,
            distance_m: None,
            accuracy_m: None,
            geofence: None,
            device_id: None,
            network: None,
            answer: StoredAnswer { status: 422, body: "{}".into() },
        };
        let writer = hourmark_core::attendance::writer::ScanWriter::spawn(app.hourmark.store().clone(), 64, 1);
        // An activity that does not exist violates a foreign key: that row fails, alone.
        let (good, bad, also_good) =
            tokio::join!(writer.write(row(e.activity_id)), writer.write(row(999_999)), writer.write(row(e.activity_id)));
        assert!(good.expect("written"));
        assert!(also_good.expect("written"));
        assert!(bad.is_err());
        assert_eq!(app.scans_recorded(e.volunteer_id).await, 2);
    }
}

/// Sends the same scan from many tasks at once and collects (status, body) of each.
async fn race_same_scan(
    app: &hourmark_tests::TestApp,
    volunteer: &str,
    url: &str,
    nonce: Uuid,
    n: usize,
) -> Vec<(u16, Vec<u8>)> {
    let body = serde_json::json!({
        "code": url,
        "nonce": nonce,
        "client_time": app.clock_now().to_rfc3339(),
        "device_id": "test-phone-1",
    });
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let request = app.client.post(app.url("/mp/v1/scans")).bearer_auth(volunteer).json(&body);
            tokio::spawn(async move {
                let response = request.send().await.expect("sent");
                (response.status().as_u16(), response.bytes().await.expect("body").to_vec())
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.expect("task"));
    }
    out
}

on_both_backends! {
    /// One volunteer's accepted scans at an activity (a presence reload on the scan path, a
    /// volunteer's own hours) are looked up by volunteer in the index, whatever plan the
    /// engine makes: not as a filter over the whole activity's scans (200 000 at a large
    /// event). PostgreSQL is asked for the plan it makes for any value (its generic plan) on
    /// a database it has no statistics of, where it took the partial index of when scans
    /// were recorded for any statement that says "direction is not null"; SQLite for the
    /// only plan it makes.
    async fn one_volunteers_scans_are_read_by_index_whatever_the_plan(app: TestApp) {
        let e = event(&app, "toggle").await;
        let code = app.code(&e.organiser, e.activity_id, 0, "toggle").await;
        app.scan(&e.volunteer, code["url"].as_str().expect("url")).await.expect_status(200);
        let (_, one_volunteer) = hourmark_core::store::ACCEPTED_SCANS;
        let plan = match app.backend {
            hourmark_tests::Backend::Postgres => {
                use sqlx::Connection;
                let mut conn = sqlx::PgConnection::connect(&app.config.database_url).await.expect("connect");
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                    "set enable_seqscan = off; set plan_cache_mode = force_generic_plan;
                     prepare one_volunteer(bigint, bigint) as {one_volunteer}"
                )))
                .execute(&mut conn)
                .await
                .expect("prepare");
                let plan: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "explain execute one_volunteer({}, {})",
                    e.activity_id, e.volunteer_id
                )))
                .fetch_all(&mut conn)
                .await
                .expect("explain");
                plan.join("\n")
            }
            hourmark_tests::Backend::Sqlite => {
                let pool = sqlx::SqlitePool::connect(&app.config.database_url).await.expect("connect");
                let rows: Vec<(i64, i64, i64, String)> =
                    sqlx::query_as(sqlx::AssertSqlSafe(format!("explain query plan {one_volunteer}")))
                        .bind(e.activity_id)
                        .bind(e.volunteer_id)
                        .fetch_all(&pool)
                        .await
                        .expect("explain");
                rows.into_iter().map(|(_, _, _, detail)| detail).collect::<Vec<_>>().join("\n")
            }
        };
        let by_volunteer = plan.contains("volunteer_id = $2") || plan.contains("volunteer_id=?");
        assert!(plan.contains("scan_volunteer_order_uq") && by_volunteer, "not looked up by volunteer:\n{plan}");
    }
}

//! The public working-day calendar and the period preview, and the year-end hold through
//! the API: a count that needs no day the missing notice could change is not held.

use chrono::Duration;
use hourmark_tests::{SoftPasskey, TestApp, on_both_backends};
use serde_json::{Value, json};

use crate::publicity::finalise;
use crate::review::recorder;

/// `GET` without a token.
async fn public(app: &TestApp, path: &str) -> hourmark_tests::Answer {
    app.call(reqwest::Method::GET, path, None, None).await
}

/// The calendar's days as (day, working, reason, name or waiting_for_year).
fn days(answer: &hourmark_tests::Answer) -> Vec<(String, Value, String, Value)> {
    answer.expect_status(200);
    answer.body["days"]
        .as_array()
        .expect("days")
        .iter()
        .map(|d| {
            let why = d.get("name").or_else(|| d.get("waiting_for_year")).cloned().unwrap_or(Value::Null);
            (
                d["day"].as_str().expect("day").to_owned(),
                d["working"].clone(),
                d["reason"].as_str().expect("reason").to_owned(),
                why,
            )
        })
        .collect()
}

fn day(d: &str, working: Value, reason: &str, why: Value) -> (String, Value, String, Value) {
    (d.to_owned(), working, reason.to_owned(), why)
}

/// On the activity's day at 09:00: signs the administrator in again, serves from 09:00 to
/// 11:00 and finalises at 19:00, when check-out has closed.
async fn serve_and_finalise(app: &TestApp, admin_key: &mut SoftPasskey, org: i64, activity: i64, volunteer: &str) {
    let admin = app.sign_in("admin", admin_key).await.expect("passkey").body["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let organiser = app.organiser(&admin, org).await;
    let recorder = recorder(app, &admin, org).await;
    for _ in 0..2 {
        let url = app.code(&organiser, activity, 0, "toggle").await["url"].as_str().expect("url").to_owned();
        app.scan(volunteer, &url).await.expect_status(200);
        app.advance(Duration::hours(2));
    }
    app.advance(Duration::hours(6));
    finalise(app, &recorder, activity).await;
}

on_both_backends! {
    async fn the_public_calendar_shows_each_day_and_why(app: TestApp) {
        let admin = app.administrator().await;
        // National notices: 国庆节 off, a make-up Saturday, the ordinary week around them.
        let national = public(&app, "/api/v1/public/calendar/days?region_code=530102&from=2026-09-30&to=2026-10-11").await;
        let national = days(&national);
        assert_eq!(national.len(), 12);
        assert_eq!(national[0], day("2026-09-30", json!(true), "weekday", Value::Null));
        for d in &national[1..8] {
            assert_eq!((&d.1, d.2.as_str(), &d.3), (&json!(false), "festival", &json!("国庆节")), "{d:?}");
        }
        assert_eq!(national[8], day("2026-10-08", json!(true), "weekday", Value::Null));
        assert_eq!(national[10], day("2026-10-10", json!(true), "make_up_day", json!("国庆节")));
        assert_eq!(national[11], day("2026-10-11", json!(false), "weekend", Value::Null));

        // The year end: from 29 December the days wait for the 2027 notice, not before.
        let year_end = public(&app, "/api/v1/public/calendar/days?region_code=530102&from=2026-12-25&to=2027-01-01").await;
        assert_eq!(days(&year_end), vec![
            day("2026-12-25", json!(true), "weekday", Value::Null),
            day("2026-12-26", json!(false), "weekend", Value::Null),
            day("2026-12-27", json!(false), "weekend", Value::Null),
            day("2026-12-28", json!(true), "weekday", Value::Null),
            day("2026-12-29", Value::Null, "unknown", json!(2027)),
            day("2026-12-30", Value::Null, "unknown", json!(2027)),
            day("2026-12-31", Value::Null, "unknown", json!(2027)),
            day("2027-01-01", Value::Null, "unknown", json!(2027)),
        ]);
        assert_eq!((year_end.body["region_code"].as_str(), year_end.body["from"].as_str(), year_end.body["to"].as_str()),
            (Some("530102"), Some("2026-12-25"), Some("2027-01-01")));

        // Regional overlays apply to the region and the regions below it, never above or beside.
        let chuxiong = app.staff(&admin, json!({"name": "楚雄民政", "role": "officer", "region_code": "532300"})).await;
        let put = |body: Value| {
            let (app, token) = (&app, chuxiong.clone());
            async move { app.call(reqwest::Method::PUT, "/api/v1/calendar/overlays", Some(&token), Some(body)).await }
        };
        put(json!({"region_code": "532300", "day": "2026-12-16", "kind": "off", "name": "彝族年"})).await.expect_status(200);
        put(json!({"region_code": "532301", "day": "2026-12-19", "kind": "work", "name": "调休上班"})).await.expect_status(200);
        let week = |region: &str| format!("/api/v1/public/calendar/days?region_code={region}&from=2026-12-16&to=2026-12-19");
        let county = days(&public(&app, &week("532301")).await);
        assert_eq!(county[0], day("2026-12-16", json!(false), "regional_day_off", json!("彝族年")));
        assert_eq!(county[3], day("2026-12-19", json!(true), "regional_working_day", json!("调休上班")));
        let prefecture = days(&public(&app, &week("532300")).await);
        assert_eq!(prefecture[0], day("2026-12-16", json!(false), "regional_day_off", json!("彝族年")));
        assert_eq!(prefecture[3], day("2026-12-19", json!(false), "weekend", Value::Null));
        let kunming = days(&public(&app, &week("530102")).await);
        assert_eq!(kunming[0], day("2026-12-16", json!(true), "weekday", Value::Null));

        // Once the 2027 notice is added, the last days of 2026 are known.
        let year = json!({
            "year": 2027,
            "source": {"title": "国务院办公厅关于2027年部分节假日安排的通知", "document": null, "published": null, "url": null},
            "holidays": [{"name": "元旦", "days": ["2027-01-01"]}],
            "workdays": []
        });
        app.post("/api/v1/calendar/years", Some(&admin), year).await.expect_status(200);
        let known = days(&public(&app, "/api/v1/public/calendar/days?region_code=530102&from=2026-12-29&to=2027-01-01").await);
        assert_eq!(known[0], day("2026-12-29", json!(true), "weekday", Value::Null));
        assert_eq!(known[3], day("2027-01-01", json!(false), "festival", json!("元旦")));

        // At most 366 days, counting both ends; one day is fine.
        let leap_year = public(&app, "/api/v1/public/calendar/days?region_code=530102&from=2024-01-01&to=2024-12-31").await;
        assert_eq!(days(&leap_year).len(), 366);
        assert_eq!(days(&public(&app, "/api/v1/public/calendar/days?region_code=530102&from=2026-12-16&to=2026-12-16").await).len(), 1);

        // Bad input: each refusal with its code.
        for (query, status, code) in [
            ("region_code=530102&from=2024-01-01&to=2025-01-01", 400, "date_range_invalid"),
            ("region_code=530102&from=2026-12-20&to=2026-12-19", 400, "date_range_invalid"),
            ("region_code=5301&from=2026-12-01&to=2026-12-31", 400, "region_code_invalid"),
            ("region_code=53010a&from=2026-12-01&to=2026-12-31", 400, "region_code_invalid"),
            ("region_code=5301020&from=2026-12-01&to=2026-12-31", 400, "region_code_invalid"),
            ("region_code=530102&from=2026-02-30&to=2026-12-31", 400, "invalid_parameter"),
            ("region_code=530102&from=20261201&to=2026-12-31", 400, "invalid_parameter"),
            ("region_code=530102&from=2026-12-01", 400, "invalid_parameter"),
            ("from=2026-12-01&to=2026-12-31", 400, "invalid_parameter"),
            ("region_code=530102&from=2026-12-01&to=2026-12-31&extra=1", 400, "invalid_parameter"),
        ] {
            public(&app, &format!("/api/v1/public/calendar/days?{query}")).await.expect_problem(status, code);
        }
    }
}

on_both_backends! {
    async fn the_period_preview_answers_for_a_region_or_an_organisation(app: TestApp) {
        let admin = app.administrator().await;
        let org = app.organisation(&admin, "翠湖志愿者协会").await;
        let period = |query: String| {
            let app = &app;
            async move { public(app, &format!("/api/v1/public/calendar/period?{query}")).await }
        };

        // The example: published 22 December with 3 working days ends on the 25th.
        let before_bound = period("region_code=530102&working_days=3&published_on=2026-12-22".into()).await;
        before_bound.expect_status(200);
        assert_eq!(before_bound.body["status"], "ends");
        assert_eq!(before_bound.body["counted_days"], json!(["2026-12-23", "2026-12-24", "2026-12-25"]));
        assert_eq!((before_bound.body["ends_on"].as_str(), before_bound.body["recorded_from"].as_str()),
            (Some("2026-12-25"), Some("2026-12-26")));
        assert!(before_bound.body.get("waiting_for_year").is_none());
        // Five days from the same day need 29 December: held, and it says for which notice.
        let held = period("region_code=530102&working_days=5&published_on=2026-12-22".into()).await;
        held.expect_status(200);
        assert_eq!((held.body["status"].as_str(), held.body["waiting_for_year"].as_i64()), (Some("held"), Some(2027)));
        assert!(held.body["ends_on"].is_null() && held.body["recorded_from"].is_null());
        assert_eq!(held.body["counted_days"], json!([]));
        assert!(held.body["held_because"].as_str().is_some_and(|why| why.contains("2027年部分节假日安排")), "{}", held.body);

        // Without a day: published today (Saturday 5 December): Monday to Wednesday.
        let today = period("region_code=530102".into()).await;
        assert_eq!((today.body["published_on"].as_str(), today.body["working_days"].as_u64()), (Some("2026-12-05"), Some(3)));
        assert_eq!(today.body["ends_on"], "2026-12-09");

        // An organisation's configured length: the province's, then its own.
        let org_period = format!("organisation_id={org}&published_on=2026-12-04");
        assert_eq!(period(org_period.clone()).await.body["ends_on"], "2026-12-09");
        app.call(reqwest::Method::PUT, "/api/v1/publicity/working-days", Some(&admin),
            Some(json!({"province_code": "530000", "working_days": 4}))).await.expect_status(200);
        assert_eq!(period(org_period.clone()).await.body["ends_on"], "2026-12-10");
        assert_eq!(period("region_code=530102&published_on=2026-12-04".into()).await.body["working_days"], 4,
            "a region without a length gets its province's");
        assert_eq!(period("region_code=110101&published_on=2026-12-04".into()).await.body["working_days"], 3,
            "another province keeps the default");
        app.call(reqwest::Method::PUT, "/api/v1/publicity/working-days", Some(&admin),
            Some(json!({"organisation_id": org, "working_days": 5}))).await.expect_status(200);
        let own = period(org_period).await;
        assert_eq!((own.body["working_days"].as_u64(), own.body["ends_on"].as_str()), (Some(5), Some("2026-12-11")));
        assert_eq!((own.body["organisation_id"].as_i64(), own.body["region_code"].as_str()), (Some(org), Some("530102")));

        // Bad input: each refusal with its code.
        let applied = app.post("/api/v1/organisations/applications", None,
            json!({"name": "翠湖社区志愿服务站", "region_code": "530102"})).await;
        applied.expect_status(201);
        let unapproved = applied.body["id"].as_i64().expect("id");
        for (query, status, code) in [
            (String::new(), 400, "invalid_parameter"),
            ("working_days=3".to_owned(), 400, "invalid_parameter"),
            (format!("organisation_id={org}&working_days=3"), 400, "invalid_parameter"),
            (format!("organisation_id={org}&region_code=530102"), 400, "invalid_parameter"),
            ("region_code=530102&working_days=2".to_owned(), 400, "invalid_parameter"),
            ("region_code=530102&working_days=31".to_owned(), 400, "invalid_parameter"),
            ("region_code=530102&working_days=-1".to_owned(), 400, "invalid_parameter"),
            ("region_code=530102&published_on=2026-12-32".to_owned(), 400, "invalid_parameter"),
            ("region_code=53&working_days=3".to_owned(), 400, "region_code_invalid"),
            ("organisation_id=999999".to_owned(), 404, "not_found"),
            (format!("organisation_id={unapproved}"), 404, "not_found"),
        ] {
            period(query).await.expect_problem(status, code);
        }
    }
}

on_both_backends! {
    async fn a_publication_before_the_new_year_bound_runs_and_one_after_it_is_held(app: TestApp) {
        let (admin, mut admin_key) = app.administrator_with_passkey().await;
        let org = app.organisation(&admin, "翠湖志愿者协会").await;
        let organiser = app.organiser(&admin, org).await;
        let on = |day: &str| json!({
            "name": "岁末慰问", "starts_at": format!("{day}T08:00:00+08:00"), "ends_at": format!("{day}T17:00:00+08:00")
        });
        let tuesday = app.activity(&organiser, org, on("2026-12-22")).await["id"].as_i64().expect("id");
        let thursday = app.activity(&organiser, org, on("2026-12-24")).await["id"].as_i64().expect("id");
        let (_, volunteer) = app.volunteer("张三", "13800001234").await;
        let preview = format!("/api/v1/public/calendar/period?organisation_id={org}");

        app.advance(Duration::days(17)); // Tuesday 22 December 2026, 09:00
        serve_and_finalise(&app, &mut admin_key, org, tuesday, &volunteer).await;
        // Published Tuesday: 23, 24 and 25 December, none of which the 2027 notice can change.
        let board = public(&app, "/api/v1/public/publicity").await;
        assert_eq!(board.body.as_array().map(Vec::len), Some(1));
        assert_eq!((board.body[0]["status"].as_str(), board.body[0]["ends_on"].as_str()), (Some("in_publicity"), Some("2026-12-25")));
        // The preview of a publication today says what the publication got.
        let today = public(&app, &preview).await;
        assert_eq!((today.body["published_on"].as_str(), today.body["ends_on"].as_str()), (Some("2026-12-22"), Some("2026-12-25")));

        app.advance(Duration::hours(38)); // Thursday 24 December, 09:00
        serve_and_finalise(&app, &mut admin_key, org, thursday, &volunteer).await;
        // Published Thursday: 25 and 28 December, then the 29th, which the 2027 notice may change.
        let board = public(&app, "/api/v1/public/publicity").await;
        let held = board.body.as_array().expect("lines").iter().find(|l| l["day"] == "2026-12-24").expect("line").clone();
        assert_eq!(held["status"], "held");
        assert!(held["ends_on"].is_null());
        let today = public(&app, &preview).await;
        assert_eq!((today.body["status"].as_str(), today.body["waiting_for_year"].as_i64()), (Some("held"), Some(2027)));
        let page = app.client.get(app.url("/publicity")).send().await.expect("page").text().await.expect("html");
        assert!(page.contains("12月25日") && page.contains("公示中") && page.contains("待公布节假日安排"), "{page}");

        // Saturday 26 December, 00:00: Tuesday's entry is recorded; Thursday's still waits.
        app.advance(Duration::hours(29));
        assert_eq!(app.hourmark.advance_publicity().await.expect("job"), 1);
        let board = public(&app, "/api/v1/public/publicity").await;
        assert_eq!(board.body.as_array().map(Vec::len), Some(1));
        assert_eq!((board.body[0]["day"].as_str(), board.body[0]["status"].as_str()), (Some("2026-12-24"), Some("held")));
        let entries = app.hourmark.register_entries(0, 10).await.expect("register");
        let recorded: Value = serde_json::from_str(&entries[0].content).expect("json");
        assert_eq!((entries.len(), recorded["day"].as_str()), (1, Some("2026-12-22")));
    }
}

//! The recorder's console pages: what awaits review, and one activity's review with its
//! actions (resolve a flag within the cap, ask for a late entry and see the same recorder
//! refused, finalise), in real Chromium; who may not review is refused and nothing changes.

use chrono::Duration;
use hourmark_tests::{Backend, TestApp, on_both_backends};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::event;
use crate::review::recorder;

/// A second recorder of `organisation_id` (late entries need two).
async fn second_recorder(app: &TestApp, admin: &str, organisation_id: i64) -> String {
    app.staff(admin, json!({
        "name": "赵记录", "role": "recorder", "organisation_id": organisation_id,
        "qualification": {"certificate_number": "YN-2025-0002", "issued_on": "2025-12-01", "review_due_on": "2027-12-01"}
    }))
    .await
}

/// The volunteer checks in from 1.1 km north of the venue (outside its 300 m: a flag),
/// and out four hours later from inside it.
async fn serve_with_a_flag(app: &TestApp, organiser: &str, volunteer: &str, activity_id: i64) {
    let code = app.code(organiser, activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
    let body = json!({
        "code": code, "nonce": Uuid::new_v4(), "client_time": app.clock_now().to_rfc3339(), "device_id": "test-phone-1",
        "location": {"lat": 25.057, "lng": 102.704, "accuracy_m": 10.0},
    });
    app.post("/mp/v1/scans", Some(volunteer), body).await.expect_status(200);
    app.advance(Duration::hours(4));
    let code = app.code(organiser, activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
    app.scan(volunteer, &code).await.expect_status(200);
}

fn no_redirects() -> reqwest::Client {
    hourmark_tests::http_client();
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client")
}

/// The recorder's day in Chromium, on a desk and on a tablet.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorder_reviews_and_finalises_in_chromium() {
    let app = TestApp::spawn_for_browser(Backend::Sqlite).await;
    let e = event(&app, "toggle").await;
    let first = recorder(&app, &e.admin, e.organisation_id).await;
    let second = second_recorder(&app, &e.admin, e.organisation_id).await;
    let (absent_id, absent) = app.volunteer("李四", "13800005678").await;
    // The recorder is told the number on the volunteer's card, not an internal id.
    let absent_number =
        app.get("/mp/v1/me", &absent).await.body["volunteer"]["volunteer_number"].as_str().expect("number").to_owned();
    serve_with_a_flag(&app, &e.organiser, &e.volunteer, e.activity_id).await;
    // Past the check-out window: only the open flag and the late entry block finalising.
    app.advance(Duration::minutes(390));
    let first_id = app.get("/api/v1/me", &first).await.body["staff"]["id"].as_i64().expect("id");

    let input = json!({
        "base": app.browser_url(), "first": first, "second": second, "activity_id": e.activity_id,
        "absent_number": absent_number, "volunteer_id": e.volunteer_id,
        "artifacts": crate::browser_script::artifacts("review"),
    });
    let result = crate::browser_script::run_browser_script("review.js", &input).await;

    // The home: one activity with one open flag, not finalisable yet.
    assert_eq!(result["home"]["open_flags"], "1");
    assert_eq!(result["home"]["state"], "待处理后定稿");

    // The flagged day: the rule, its evidence in words, the day's scans.
    let day = &result["day"];
    assert_eq!(day["rule"], "超出签到范围");
    assert!(day["evidence"].as_str().is_some_and(|x| x.contains("离活动地点") && x.contains(" 米")), "{day}");
    assert!(day["summary"].as_str().is_some_and(|x| x.contains("4小时") && x.contains("9小时")), "{day}");
    let scans = day["scans"].as_array().expect("scans");
    assert_eq!(scans.len(), 2, "{day}");
    assert!(scans[0].as_str().is_some_and(|s| s.contains("签到") && s.contains("范围外")), "{scans:?}");
    assert!(scans[1].as_str().is_some_and(|s| s.contains("签退") && s.contains("范围内")), "{scans:?}");
    assert_eq!(result["blockers_before"], json!(["还有 1 个标记待审核"]));

    // Over the cap: refused in the API's words, nothing changed; then adjusted.
    assert_eq!(result["over_cap"]["code"], "minutes_over_cap");
    assert!(result["over_cap"]["text"].as_str().is_some_and(|t| t.contains("超过当日计划时长 540 分钟")), "{result:#}");
    assert_eq!(result["after_adjust"]["flash"], "已保存审核决定。");
    assert_eq!(result["after_adjust"]["decided"], "已调整为 3小时：在停车场引导，已核实");

    // The late entry: the same recorder may not approve it, and finalising says why not.
    assert_eq!(result["late_same"]["code"], "same_recorder");
    assert_eq!(result["late_same"]["text"], "补录须由另一名记录员审批");
    assert_eq!(result["blockers_with_late"], json!(["还有 1 个补录申请待另一名记录员审批"]));
    assert_eq!(result["finalise_refused"]["code"], "flags_open");
    assert!(result["finalise_refused"]["text"].as_str().is_some_and(|t| t.contains("1 个补录申请")), "{result:#}");
    assert_eq!(result["late_by_second"], "已批准（您）：签到表核实");
    assert!(result["finalised"].as_str().is_some_and(|t| t.starts_with("已于")), "{result:#}");
    assert_eq!(result["evaluation"], "良好：引导认真");
    assert_eq!(result["console_errors"], json!([]), "no script errors, no CSP violations");

    // What the page said is what is stored.
    let flags = app.hourmark.store().flags(e.activity_id).await.expect("flags");
    assert_eq!(flags.len(), 1);
    assert_eq!(flags[0].status.as_str(), "adjusted");
    assert_eq!(flags[0].adjusted_minutes, Some(180));
    assert_eq!(flags[0].resolved_by, Some(first_id));
    let late = app.get(&format!("/api/v1/activities/{}/late-entries", e.activity_id), &first).await;
    assert_eq!(late.body[0]["status"], "approved");
    assert_eq!(late.body[0]["requested_by"], first_id);
    assert_ne!(late.body[0]["decided_by"], first_id);
    let finalisation = app.get(&format!("/api/v1/activities/{}/finalisation", e.activity_id), &first).await;
    finalisation.expect_status(200);
    assert_eq!(finalisation.body["finalised_by"], first_id);
    let sessions: Vec<(i64, u64, String)> = finalisation.body["sessions"]
        .as_array()
        .expect("sessions")
        .iter()
        .map(|s| {
            (
                s["volunteer_id"].as_i64().expect("id"),
                s["final_minutes"].as_u64().expect("minutes"),
                s["source"].as_str().expect("source").to_owned(),
            )
        })
        .collect();
    assert_eq!(sessions, vec![(e.volunteer_id, 180, "adjusted".to_owned()), (absent_id, 120, "late_entry".to_owned())]);
    assert_eq!(result["late_volunteer"], format!("李四（{absent_number}）"), "named, though they never scanned here");
    let evaluations = app.get(&format!("/api/v1/activities/{}/evaluations", e.activity_id), &first).await;
    assert_eq!(evaluations.body[0]["grade"], "good");

    // In publicity, someone objects to 张三's day; the recorders uphold it and correct
    // 李四's late entry from the page.
    let board = app.call(reqwest::Method::GET, "/api/v1/public/publicity", None, None).await;
    let zhang =
        board.body.as_array().expect("lines").iter().find(|l| l["name"] == "张*").expect("line")["entry_id"].clone();
    app.post(
        &format!("/api/v1/public/publicity/{zhang}/objections"),
        None,
        json!({"contact": "王先生 13912345678", "reason": "张三当天下午才到"}),
    )
    .await
    .expect_status(201);
    let input = json!({
        "base": app.browser_url(), "first": first, "second": second, "activity_id": e.activity_id,
        "correct_session": format!("{absent_id}|2026-12-05"), "artifacts": crate::browser_script::artifacts("review"),
    });
    let result = crate::browser_script::run_browser_script("review_after.js", &input).await;
    assert!(
        result["objection_subject"].as_str().is_some_and(|s| s.starts_with("张三") && s.contains("12月5日")),
        "the objection names whose day it disputes: {result:#}"
    );
    assert!(
        result["objection_status"].as_str().is_some_and(|s| s.starts_with("已采纳，更正为 2小时30分")),
        "{result:#}"
    );
    assert_eq!(result["objection_own"], "own_decision", "who finalised does not judge it: {result:#}");
    assert_eq!(result["correction_same"], "same_recorder", "{result:#}");
    let rows = result["correction_rows"].as_array().expect("rows");
    assert!(
        rows.iter().any(|r| r.as_str().is_some_and(|r| r.contains("1小时30分") && r.contains("已批准"))),
        "{rows:?}"
    );
    assert!(
        rows.iter().any(|r| r.as_str().is_some_and(|r| r.contains("记录员 王记录"))),
        "the second recorder sees who proposed it by name: {rows:?}"
    );
    let objections = app.get(&format!("/api/v1/activities/{}/objections", e.activity_id), &first).await;
    assert_eq!(objections.body[0]["status"], "upheld", "{}", objections.body);
    let finalisation = app.get(&format!("/api/v1/activities/{}/finalisation", e.activity_id), &first).await;
    let minutes: Vec<(i64, u64)> = finalisation.body["sessions"]
        .as_array()
        .expect("sessions")
        .iter()
        .map(|s| (s["volunteer_id"].as_i64().expect("id"), s["final_minutes"].as_u64().expect("minutes")))
        .collect();
    assert_eq!(minutes, vec![(e.volunteer_id, 150), (absent_id, 90)], "what the page decided is stored");

    // The search box finds 李四 alone, in every section below it.
    let search = &result["search"];
    assert_eq!(search["typed"], "李", "{result:#}");
    assert!(search["pager"].as_str().is_some_and(|p| p.contains("找到 1 人")), "{result:#}");
    assert_eq!(search["finalised"], json!([absent_id]), "{result:#}");
    assert_eq!(search["options"], json!([format!("{absent_id}|2026-12-05")]), "{result:#}");
    assert_eq!(search["evaluations"], json!([absent_id]), "{result:#}");
}

on_both_backends! {
    async fn the_review_pages_refuse_who_may_not_review(app: TestApp) {
        let e = event(&app, "toggle").await;
        let ours = recorder(&app, &e.admin, e.organisation_id).await;
        serve_with_a_flag(&app, &e.organiser, &e.volunteer, e.activity_id).await;
        let leader = app.staff(&e.admin, json!({"name": "钱负责", "role": "leader", "organisation_id": e.organisation_id})).await;
        let other_org = app.organisation(&e.admin, "滇池志愿者协会").await;
        let theirs = app.staff(&e.admin, json!({
            "name": "孙记录", "role": "recorder", "organisation_id": other_org,
            "qualification": {"certificate_number": "YN-2025-0009", "issued_on": "2025-12-01", "review_due_on": "2027-12-01"}
        })).await;
        let page = format!("/console/activities/{}/review", e.activity_id);
        let client = no_redirects();
        let get = |path: String, token: Option<String>| {
            let mut request = client.get(app.url(&path));
            if let Some(token) = token {
                request = request.header("cookie", format!("hourmark_staff={token}"));
            }
            request.send()
        };

        // Without a session: to sign-in, and back here afterwards.
        for path in ["/console/review".to_owned(), page.clone()] {
            let response = get(path.clone(), None).await.expect("page");
            assert_eq!(response.status().as_u16(), 303, "{path}");
            assert_eq!(response.headers()["location"], format!("/staff/sign-in?next={path}").as_str());
        }
        // A leader does not review; another organisation's recorder does not see it.
        let refused = get(page.clone(), Some(leader.clone())).await.expect("page");
        assert_eq!(refused.status().as_u16(), 403);
        assert!(refused.text().await.expect("text").contains("您无权审核这个活动"));
        assert_eq!(get("/console/review".into(), Some(leader)).await.expect("page").status().as_u16(), 403);
        let hidden = get(page.clone(), Some(theirs.clone())).await.expect("page");
        assert_eq!(hidden.status().as_u16(), 404);
        assert!(!hidden.text().await.expect("text").contains("翠湖公园清洁"), "nothing about the activity leaks");
        let home = get("/console/review".into(), Some(theirs)).await.expect("page").text().await.expect("text");
        assert!(!home.contains("翠湖公园清洁"), "another organisation's activity is not listed");

        // The organiser reads the review but is offered no decisions; the recorder is.
        let organiser_view = get(page.clone(), Some(e.organiser.clone())).await.expect("page");
        assert_eq!(organiser_view.status().as_u16(), 200);
        let html = organiser_view.text().await.expect("text");
        assert!(html.contains("超出签到范围") && !html.contains("class=\"form resolve\""), "no decision form for organisers");
        let recorder_view = get(page.clone(), Some(ours.clone())).await.expect("page");
        assert_eq!(recorder_view.status().as_u16(), 200);
        assert!(recorder_view.headers()["content-security-policy"].to_str().expect("ascii").contains("script-src 'self';"));
        let html = recorder_view.text().await.expect("text");
        assert!(html.contains("class=\"form resolve\"") && html.contains("/console/static/review.js"));
        for tag in html.split("<script").skip(1) {
            assert!(tag.split('>').next().unwrap_or_default().contains("src=\"/"), "no inline script");
        }
        let home = get("/console/review".into(), Some(ours.clone())).await.expect("page");
        assert_eq!(home.status().as_u16(), 200);
        let home = home.text().await.expect("text");
        assert!(
            home.contains(&format!("<tr data-activity-id=\"{}\">", e.activity_id)) && home.contains("翠湖公园清洁"),
            "the home lists the activity: {home}"
        );

        // The page's actions need the CSRF token: without it nothing changes.
        let flag_id = app.hourmark.store().flags(e.activity_id).await.expect("flags")[0].id;
        let response = app.client
            .post(app.url(&format!("/api/v1/activities/{}/flags/{flag_id}/resolution", e.activity_id)))
            .header("cookie", format!("hourmark_staff={ours}"))
            .json(&json!({"decision": "reject", "reason": "伪造"}))
            .send().await.expect("post");
        assert_eq!(response.status().as_u16(), 403);
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["code"], "csrf_invalid");
        assert_eq!(app.hourmark.store().flags(e.activity_id).await.expect("flags")[0].status.as_str(), "open");
    }
}

on_both_backends! {
    async fn the_review_page_pages_its_flagged_days(app: TestApp) {
        let e = event(&app, "toggle").await;
        let ours = recorder(&app, &e.admin, e.organisation_id).await;
        let (other_id, other) = app.volunteer("李四", "13800005678").await;
        serve_with_a_flag(&app, &e.organiser, &e.volunteer, e.activity_id).await;
        serve_with_a_flag(&app, &e.organiser, &other, e.activity_id).await;
        let client = no_redirects();
        let page = |query: String| {
            client
                .get(app.url(&format!("/console/activities/{}/review{query}", e.activity_id)))
                .header("cookie", format!("hourmark_staff={ours}"))
                .send()
        };
        let days_on = |html: &str| html.matches("<article class=\"panel day\"").count();

        let first = page("?limit=1".into()).await.expect("page");
        let status = first.status().as_u16();
        let first = first.text().await.expect("text");
        assert_eq!(status, 200, "{first}");
        assert_eq!(days_on(&first), 1);
        let api = app.get(&format!("/api/v1/activities/{}/review", e.activity_id), &ours).await;
        assert_eq!(api.body["days_total"], 2);
        let counts = format!("待审核 {} 个，共 2 人次", api.body["open_flags"]);
        assert!(first.contains(&counts), "the counts cover every page: {counts}");
        assert!(first.contains(&format!("data-volunteer-id=\"{}\"", e.volunteer_id.min(other_id))));
        let next = first
            .split("id=\"next-page\"")
            .next()
            .and_then(|before| before.rsplit("href=\"").next())
            .and_then(|href| href.split('"').next())
            .expect("a link to the next page")
            .replace("&amp;", "&");
        assert!(!first.contains("id=\"first-page\""), "the first page has no way back to itself");
        assert!(first.contains("id=\"rules-run-at\""), "the page says when the rules ran");

        let second = page(format!("{next}&limit=1")).await.expect("page").text().await.expect("text");
        assert_eq!(days_on(&second), 1);
        assert!(second.contains(&format!("data-volunteer-id=\"{}\"", e.volunteer_id.max(other_id))));
        assert!(second.contains("id=\"first-page\"") && !second.contains("id=\"next-page\""), "the last page");

        let bad = page("?after=nonsense".into()).await.expect("page");
        assert_eq!(bad.status().as_u16(), 400);
        assert_eq!(bad.json::<Value>().await.expect("problem")["code"], "invalid_parameter");
    }
}

/// The volunteer ids of a table's rows on a page, in order.
fn rows_of(html: &str, table_id: &str) -> Vec<i64> {
    let Some((_, table)) = html.split_once(&format!("id=\"{table_id}\"")) else { return Vec::new() };
    let table = table.split("</table>").next().unwrap_or_default();
    table
        .split("<tr data-volunteer-id=\"")
        .skip(1)
        .map(|row| row.split('"').next().and_then(|id| id.parse().ok()).expect("an id"))
        .collect()
}

/// The href of the link with this id, unescaped.
fn link(html: &str, id: &str) -> Option<String> {
    let (before, _) = html.split_once(&format!("id=\"{id}\""))?;
    let href = before.rsplit("href=\"").next()?.split('"').next()?;
    Some(href.replace("&amp;", "&"))
}

on_both_backends! {
    async fn the_review_page_finds_and_pages_its_volunteers(app: TestApp) {
        let e = event(&app, "toggle").await;
        let ours = recorder(&app, &e.admin, e.organisation_id).await;
        let mut volunteers = vec![(e.volunteer_id, e.volunteer.clone())];
        for (name, phone) in [("李四", "13800005678"), ("王五", "13800005679")] {
            volunteers.push(app.volunteer(name, phone).await);
        }
        let (stranger, _) = app.volunteer("赵六", "13800005680").await;
        let number = |id: i64| {
            let store = app.hourmark.store();
            async move { store.get_volunteer(id).await.expect("read").expect("stored").volunteer_number }
        };
        let wang_number = number(volunteers[2].0).await;
        let stranger_number = number(stranger).await;
        for (_, token) in &volunteers {
            let code = app.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
            app.scan(token, &code).await.expect_status(200);
        }
        app.advance(Duration::hours(4));
        for (_, token) in &volunteers {
            let code = app.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
            app.scan(token, &code).await.expect_status(200);
        }
        app.advance(Duration::hours(6) + Duration::minutes(35)); // departures closed
        let mut ids: Vec<i64> = volunteers.iter().map(|(id, _)| *id).collect();
        ids.sort_unstable();

        let client = no_redirects();
        let page = |query: String| {
            let request = client
                .get(app.url(&format!("/console/activities/{}/review{query}", e.activity_id)))
                .header("cookie", format!("hourmark_staff={ours}"));
            async move {
                let response = request.send().await.expect("page");
                let status = response.status().as_u16();
                let text = response.text().await.expect("text");
                assert_eq!(status, 200, "{query}: {text}");
                text
            }
        };

        // Before finalising: evaluations for everyone who scanned, two at a time.
        let first = page("?per=2".into()).await;
        assert!(first.contains("（共 3 人）"), "the heading counts everyone");
        assert_eq!(rows_of(&first, "evaluations"), ids[..2]);
        assert!(link(&first, "people-first").is_none(), "the first page has no way back to itself");
        let next = link(&first, "people-next").expect("a next page");
        assert_eq!(next, format!("?per=2&from={}#volunteers-section", ids[1]), "the link keeps the page size");
        let second = page(next).await;
        assert_eq!(rows_of(&second, "evaluations"), ids[2..]);
        assert!(link(&second, "people-next").is_none() && link(&second, "people-first").is_some());

        // By part of a name, kept in the links; by the number on a card.
        let li = page("?who=%E6%9D%8E&per=1".into()).await;
        assert_eq!(rows_of(&li, "evaluations"), vec![volunteers[1].0]);
        assert!(li.contains("value=\"李\"") && li.contains("找到 1 人"), "the box keeps what was typed");
        let wang = page(format!("?who={wang_number}")).await;
        assert_eq!(rows_of(&wang, "evaluations"), vec![volunteers[2].0]);
        // A number that exists but never served here finds nobody, as one that does not exist.
        for absent in [stranger_number.as_str(), "999999999999"] {
            let none = page(format!("?who={absent}")).await;
            assert_eq!(rows_of(&none, "evaluations"), Vec::<i64>::new(), "{absent}");
            assert!(none.contains(&format!("没有找到“{absent}”")), "{absent}");
        }
        let bad = client
            .get(app.url(&format!("/console/activities/{}/review?per=0", e.activity_id)))
            .header("cookie", format!("hourmark_staff={ours}"))
            .send()
            .await
            .expect("page");
        assert_eq!(bad.status().as_u16(), 400);
        assert_eq!(bad.json::<Value>().await.expect("problem")["code"], "invalid_parameter");

        // After finalising: the finalised days and the correction form hold the page's
        // volunteers only.
        let path = format!("/api/v1/activities/{}", e.activity_id);
        crate::review::accept_every_flag(&app, &ours, e.activity_id).await;
        app.post(&format!("{path}/finalise"), Some(&ours), json!({})).await.expect_status(201);
        let finalised = page("?per=2".into()).await;
        assert_eq!(rows_of(&finalised, "finalised-sessions"), ids[..2]);
        assert_eq!(rows_of(&finalised, "evaluations"), ids[..2]);
        let options = finalised.split("<select name=\"session\"").nth(1).expect("the correction form").split("</select>").next().unwrap_or_default();
        assert_eq!(options.matches("<option").count(), 2, "{options}");
        let rest = page(link(&finalised, "people-next").expect("a next page")).await;
        assert_eq!(rows_of(&rest, "finalised-sessions"), ids[2..]);

        // Corrections and objections for all three; 李四's stay undecided. An undecided one
        // is listed on every page; a decided one only with its volunteer.
        let second = second_recorder(&app, &e.admin, e.organisation_id).await;
        let day = app.get(&format!("{path}/finalisation"), &ours).await.body["sessions"][0]["day"].clone();
        for (i, (volunteer, _)) in volunteers.iter().enumerate() {
            let proposed = app
                .post(&format!("{path}/session-corrections"), Some(&ours),
                    json!({"volunteer_id": volunteer, "day": day, "minutes": 60, "reason": "复核"}))
                .await;
            proposed.expect_status(201);
            if i != 1 {
                app.post(&format!("{path}/session-corrections/{}/decision", proposed.body["id"]), Some(&second),
                    json!({"approve": false, "reason": "签到记录无误"}))
                    .await
                    .expect_status(200);
            }
        }
        let board = app.call(reqwest::Method::GET, &format!("/api/v1/public/publicity?activity_id={}", e.activity_id), None, None).await;
        for line in board.body.as_array().expect("lines") {
            let raised = app
                .post(&format!("/api/v1/public/publicity/{}/objections", line["entry_id"]), None,
                    json!({"contact": "王先生 13912345678", "reason": "当天下午才到"}))
                .await;
            raised.expect_status(201);
            if !line["name"].as_str().expect("name").starts_with('李') {
                app.post(&format!("/api/v1/objections/{}/decision", raised.body["id"]), Some(&second),
                    json!({"uphold": false, "reason": "签到记录与现场照片一致"}))
                    .await
                    .expect_status(200);
            }
        }
        let section = |html: &str, id: &str| {
            let table = html.split_once(&format!("id=\"{id}\"")).map(|(_, t)| t).unwrap_or_default();
            table.split("</table>").next().unwrap_or_default().to_owned()
        };
        let named = |table: &str| ["张三", "李四", "王五"].into_iter().filter(|n| table.contains(n)).collect::<Vec<_>>();
        let first = page("?per=2".into()).await;
        assert_eq!(named(&section(&first, "corrections")), ["张三", "李四"]);
        assert_eq!(named(&section(&first, "objections")), ["张三", "李四"]);
        for id in ["corrections-left", "objections-left"] {
            let note = first.split_once(&format!("id=\"{id}\"")).expect(id).1.split("</p>").next().unwrap_or_default();
            assert!(note.contains("另有 1 条已") && !note.contains("还有"), "{id}: {note}");
        }
        let rest = page(link(&first, "people-next").expect("a next page")).await;
        assert_eq!(named(&section(&rest, "corrections")), ["李四", "王五"]);
        assert_eq!(named(&section(&rest, "objections")), ["李四", "王五"]);
        let wang = page(format!("?who={wang_number}")).await;
        assert_eq!(named(&section(&wang, "corrections")), ["李四", "王五"], "the search narrows decided ones too");
    }
}

//! The public board (公示) for the public: filters by organisation, activity and day on
//! the JSON and on the page, durations as people say them, names withheld plainly, and
//! objections filed from the page in real Chromium on a phone-sized screen.

use chrono::Duration;
use hourmark_tests::{Answer, Backend, TestApp, next_resident_id, on_both_backends, registration};
use serde_json::{Value, json};

use crate::publicity::finalise;

/// Two entries in publicity from two activities of one organisation, served Saturday
/// 5 December 2026: 张三 (who consented to publicity) 2 hours 15 minutes at the park,
/// 李四 (who did not) 45 minutes at the care home.
struct TwoEntries {
    admin: String,
    organisation_id: i64,
    park: i64,
    care_home: i64,
}

async fn two_entries(app: &TestApp) -> TwoEntries {
    let e = crate::event(app, "toggle").await;
    let recorder = crate::review::recorder(app, &e.admin, e.organisation_id).await;
    let care_home =
        app.activity(&e.organiser, e.organisation_id, json!({"code_mode": "toggle", "name": "敬老院探访"})).await;
    let care_home = care_home["id"].as_i64().expect("id");
    let mut private = registration("李四", "13800005678", &next_resident_id());
    private["consent"]["publicity"] = json!(false);
    let li = app.post("/mp/v1/volunteers", None, private).await;
    li.expect_status(201);
    let li = li.body["access_token"].as_str().expect("token").to_owned();
    let organiser = e.organiser.as_str();
    let scan = |volunteer: String, activity: i64| async move {
        let url = app.code(organiser, activity, 0, "toggle").await["url"].as_str().expect("url").to_owned();
        app.scan(&volunteer, &url).await.expect_status(200);
    };
    scan(e.volunteer.clone(), e.activity_id).await; // 09:00
    app.advance(Duration::minutes(135));
    scan(e.volunteer.clone(), e.activity_id).await; // 11:15
    scan(li.clone(), care_home).await;
    app.advance(Duration::minutes(45));
    scan(li.clone(), care_home).await; // 12:00
    app.advance(Duration::hours(8)); // 20:00
    finalise(app, &recorder, e.activity_id).await;
    finalise(app, &recorder, care_home).await;
    TwoEntries { admin: e.admin, organisation_id: e.organisation_id, park: e.activity_id, care_home }
}

async fn public(app: &TestApp, path: &str) -> Answer {
    app.call(reqwest::Method::GET, path, None, None).await
}

async fn page(app: &TestApp, path: &str) -> (u16, String) {
    let answer = app.client.get(app.url(path)).send().await.expect("page");
    (answer.status().as_u16(), answer.text().await.expect("html"))
}

fn names(board: &Answer) -> Vec<String> {
    board.body.as_array().expect("lines").iter().map(|l| l["name"].as_str().expect("name").to_owned()).collect()
}

on_both_backends! {
    async fn the_board_is_filtered_by_organisation_activity_and_day(app: TestApp) {
        let t = two_entries(&app).await;
        let all = public(&app, "/api/v1/public/publicity").await;
        all.expect_status(200);
        assert_eq!(names(&all), ["张*", "未公开姓名"]);
        let minutes: Vec<&Value> = all.body.as_array().expect("lines").iter().map(|l| &l["minutes"]).collect();
        assert_eq!(minutes, [&json!(135), &json!(45)]);
        assert_eq!((&all.body[0]["hours"], &all.body[1]["hours"]), (&json!(2.3), &json!(0.8)), "hours kept for older clients");
        assert_eq!((&all.body[0]["activity_id"], &all.body[1]["activity_id"]), (&json!(t.park), &json!(t.care_home)));
        assert_eq!(all.body[0]["organisation_id"], t.organisation_id);

        let shared = &app;
        let by = |query: String| async move { names(&public(shared, &format!("/api/v1/public/publicity?{query}")).await) };
        assert_eq!(by(format!("activity_id={}", t.care_home)).await, ["未公开姓名"]);
        assert_eq!(by(format!("activity_id={}", t.park)).await, ["张*"]);
        assert_eq!(by(format!("organisation_id={}", t.organisation_id)).await, ["张*", "未公开姓名"]);
        assert_eq!(by(format!("organisation_id={}&activity_id={}", t.organisation_id, t.park)).await, ["张*"]);
        assert_eq!(by("day=2026-12-05".to_owned()).await, ["张*", "未公开姓名"]);
        assert!(by("day=2026-12-06".to_owned()).await.is_empty());
        assert_eq!(by("day=".to_owned()).await, ["张*", "未公开姓名"], "an empty day is no filter");
        let other = app.organisation(&t.admin, "滇池志愿者服务队").await;
        assert!(by(format!("organisation_id={other}")).await.is_empty());
        assert!(by(format!("activity_id={}&day=2026-12-05&limit=1&after=0", t.care_home)).await == ["未公开姓名"]);
        // A page of a filtered board goes on with the filter.
        let first = public(&app, &format!("/api/v1/public/publicity?organisation_id={}&limit=1", t.organisation_id)).await;
        let after = first.body[0]["entry_id"].as_i64().expect("id");
        let next = by(format!("organisation_id={}&limit=1&after={after}", t.organisation_id)).await;
        assert_eq!(next, ["未公开姓名"]);

        // Bad filters are refused by the JSON and the page alike.
        for bad in ["day=2026-13-01", "day=5.12", "activity_id=abc", "organisation_id=0", "activity_id=-3", "colour=red"] {
            public(&app, &format!("/api/v1/public/publicity?{bad}")).await.expect_problem(400, "invalid_parameter");
            let (status, body) = page(&app, &format!("/publicity?{bad}")).await;
            assert_eq!(status, 400, "{bad}: {body}");
            assert!(body.contains("invalid_parameter"), "{bad}: {body}");
        }

        // The page: cards, minutes as people say them, the names withheld plainly.
        let (status, html) = page(&app, "/publicity").await;
        assert_eq!(status, 200);
        assert_eq!(html.matches("class=\"entry\"").count(), 2, "{html}");
        assert!(html.contains("2小时15分") && html.contains("45分钟") && html.contains("未公开姓名"), "{html}");
        assert!(html.contains("12月5日") && html.contains("12月9日"), "{html}");
        assert!(!html.contains("0.8") && !html.contains("2.3") && !html.contains(">志愿者<"), "{html}");
        assert!(html.contains("<script src=\"/console/static/publicity.js\">") && !html.contains("<script>"), "{html}");
        let (_, filtered) = page(&app, &format!("/publicity?activity_id={}", t.care_home)).await;
        assert_eq!(filtered.matches("class=\"entry\"").count(), 1, "{filtered}");
        assert!(filtered.contains("活动：敬老院探访") && filtered.contains("清除筛选"), "{filtered}");
        let (_, none) = page(&app, "/publicity?day=2026-12-06").await;
        assert!(none.contains("没有符合筛选条件的记录") && none.contains("value=\"2026-12-06\""), "{none}");
        let (_, paged) = page(&app, &format!("/publicity?organisation_id={}&limit=1", t.organisation_id)).await;
        assert!(paged.contains(&format!("organisation_id={}", t.organisation_id)) && paged.contains("下一页"), "{paged}");
        assert!(paged.contains(&format!("publicity?after={after}&amp;limit=1&amp;organisation_id={}", t.organisation_id)), "{paged}");
        for asset in ["publicity.js", "publicity.css"] {
            public(&app, &format!("/console/static/{asset}")).await.expect_status(200);
        }
    }
}

on_both_backends! {
    /// Names on the board follow consent as it stands at each read, for every line of a
    /// page at once: a child's masked name only with the guardian's consent, and a
    /// volunteer who withdraws publicity is unnamed from the next read on.
    async fn names_on_the_board_follow_consent_as_it_stands(app: TestApp) {
        let e = crate::event(&app, "toggle").await;
        let recorder = crate::review::recorder(&app, &e.admin, e.organisation_id).await;
        // Eleven on the test day (2026-12-05), registered with a guardian's consent.
        let (_, child) = app.minor("小红", "13600000011", "20150301", 1, "13911115555").await;
        for _ in 0..2 {
            let url = app.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
            app.scan(&e.volunteer, &url).await.expect_status(200);
            app.scan(&child, &url).await.expect_status(200);
            app.advance(Duration::minutes(90));
        }
        app.advance(Duration::hours(8)); // 20:00, the check-out window closed
        finalise(&app, &recorder, e.activity_id).await;
        let board = || async {
            let mut names = names(&public(&app, &format!("/api/v1/public/publicity?activity_id={}", e.activity_id)).await);
            names.sort();
            names
        };
        assert_eq!(board().await, ["小*", "张*"]);

        let withdraw = |purpose: &str| json!({"purpose": purpose, "granted": false, "notice_version": "2026-11"});
        app.post("/mp/v1/me/consents", Some(&child), withdraw("guardian")).await.expect_status(200);
        assert_eq!(board().await, ["张*", "未公开姓名"], "under 14 without the guardian's consent");
        app.post("/mp/v1/me/consents", Some(&e.volunteer), withdraw("publicity")).await.expect_status(200);
        assert_eq!(board().await, ["未公开姓名", "未公开姓名"]);
        let (status, html) = page(&app, "/publicity").await;
        assert!(status == 200 && !html.contains("张*") && !html.contains("小*"), "{html}");
    }
}

on_both_backends! {
    async fn a_bad_objection_is_refused_with_its_code_and_nothing_is_stored(app: TestApp) {
        let t = two_entries(&app).await;
        let all = public(&app, "/api/v1/public/publicity").await;
        let entry = all.body[0]["entry_id"].as_i64().expect("id");
        let object = format!("/api/v1/public/publicity/{entry}/objections");
        app.post(&object, None, json!({"contact": "王先生 13912345678", "reason": ""})).await.expect_problem(422, "invalid_body");
        app.post(&object, None, json!({"contact": "王先生 13912345678", "reason": "   "})).await.expect_problem(422, "invalid_body");
        app.post(&object, None, json!({"contact": "", "reason": "时长不对"})).await.expect_problem(422, "invalid_body");
        app.post("/api/v1/public/publicity/999999/objections", None, json!({"contact": "王先生", "reason": "时长不对"}))
            .await
            .expect_problem(404, "not_found");
        let statuses = |board: &Answer| -> Vec<Value> {
            board.body.as_array().expect("lines").iter().map(|l| l["status"].clone()).collect()
        };
        assert_eq!(statuses(&public(&app, "/api/v1/public/publicity").await), [json!("in_publicity"), json!("in_publicity")]);
        let judge = crate::review::recorder(&app, &t.admin, t.organisation_id).await;
        for activity in [t.park, t.care_home] {
            let listed = app.get(&format!("/api/v1/activities/{activity}/objections"), &judge).await;
            listed.expect_status(200);
            assert_eq!(listed.body, json!([]), "nothing stored");
        }
    }
}

/// The board on a phone in real Chromium (390×844, zh-CN): two cards, a filter that
/// narrows it, an objection refused for an empty reason and for an entry that is gone,
/// then filed, after which the entry says 异议处理中 (also after a reload).
/// Chromium and node come from `scripts/test`; without them this fails, never skips.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_board_on_a_phone_in_chromium() {
    let app = TestApp::spawn_for_browser(Backend::Sqlite).await;
    let t = two_entries(&app).await;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let artifacts = root.join("../target/browser-artifacts/publicity");
    let input = json!({"base": app.browser_url(), "artifacts": artifacts});
    let output = tokio::process::Command::new("node")
        .arg(root.join("browser/publicity.js"))
        .arg(input.to_string())
        .output()
        .await
        .expect("node runs (scripts/test installs it, and Chromium, and tests/browser's packages)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let result: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default()).unwrap_or_else(|e| {
        panic!("the script prints JSON ({e}): {stdout}\n{}", String::from_utf8_lossy(&output.stderr))
    });
    assert!(result.get("error").is_none(), "the browser run stopped: {result:#}");
    assert!(output.status.success(), "{result:#}");

    let cards = &result["cards"];
    assert_eq!(cards.as_array().map(Vec::len), Some(2), "{result:#}");
    assert_eq!(cards[0]["name"], "张*");
    assert_eq!(cards[0]["duration"], "2小时15分");
    assert_eq!(cards[1]["name"], "未公开姓名");
    assert_eq!(cards[1]["duration"], "45分钟");
    assert_eq!((&cards[0]["status"], &cards[1]["status"]), (&json!("公示中"), &json!("公示中")));
    assert_eq!(result["one_column"], true, "cards stacked, full width on a phone: {result:#}");
    assert_eq!(result["no_sideways_scroll"], true, "{result:#}");
    assert_eq!(result["filtered_names"], json!(["未公开姓名"]));
    assert_eq!(result["filtered_url"], format!("{}/publicity?activity_id={}", app.browser_url(), t.care_home));
    assert_eq!(result["day_filtered_count"], 0);
    assert_eq!(result["empty_reason"], "请写明哪里不对。");
    assert_eq!(result["gone_entry"], "没有提交成功：没有这条公示");
    assert!(result["entry_number_shown"].as_str().is_some_and(|t| t.contains("记录编号")), "{result:#}");
    let filed = result["filed"].as_str().expect("an answer");
    assert!(filed.starts_with("已收到您对记录编号"), "{filed}");
    assert_eq!(result["status_after_filing"], "异议处理中");
    assert_eq!(result["status_after_reload"], json!(["公示中", "异议处理中"]));
    assert_eq!(result["console_errors"], json!([]), "no script errors, no CSP violations");

    // Only the one objection that was filed is stored, against 李四's entry.
    let judge = crate::review::recorder(&app, &t.admin, t.organisation_id).await;
    let park = app.get(&format!("/api/v1/activities/{}/objections", t.park), &judge).await;
    assert_eq!(park.body, json!([]));
    let care_home = app.get(&format!("/api/v1/activities/{}/objections", t.care_home), &judge).await;
    assert_eq!(care_home.body.as_array().map(Vec::len), Some(1), "{}", care_home.body);
    assert_eq!(care_home.body[0]["reason"], "我当天也在敬老院，李四只待了二十分钟左右");
    for shot in ["1-board", "2-filtered", "3-objection-refused", "4-objection-filed", "5-after-reload"] {
        assert!(artifacts.join(format!("{shot}.png")).exists(), "{shot}");
    }
}

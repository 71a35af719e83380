//! An activity's sessions with their minutes: the console page and the CSV and XLSX
//! downloads, which agree with `GET /api/v1/activities/{id}/sessions`.

use chrono::Duration;
use hourmark_tests::{TestApp, on_both_backends};

use crate::event;

async fn code(app: &TestApp, e: &crate::Event) -> String {
    app.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned()
}

async fn download(app: &TestApp, path: &str, bearer: &str) -> reqwest::Response {
    app.client.get(app.url(path)).bearer_auth(bearer).send().await.expect("sent")
}

on_both_backends! {
    async fn sessions_are_shown_and_downloaded_with_their_minutes(app: TestApp) {
        let e = event(&app, "toggle").await;
        let (_, other) = app.volunteer("李四", "13800005678").await;
        app.scan(&e.volunteer, &code(&app, &e).await).await.expect_status(200);
        app.scan(&other, &code(&app, &e).await).await.expect_status(200);
        app.advance(Duration::minutes(135));
        app.scan(&e.volunteer, &code(&app, &e).await).await.expect_status(200);
        // 张三 left after 2 h 15 min; 李四 is still inside.

        let json = app.get(&format!("/api/v1/activities/{}/sessions", e.activity_id), &e.organiser).await;
        json.expect_status(200);
        let zhang = json.body["sessions"].as_array().expect("list").iter().find(|s| s["volunteer_name"] == "张三").expect("张三").clone();
        assert_eq!(zhang["minutes_credited"], 135);

        let csv = download(&app, &format!("/api/v1/activities/{}/sessions.csv", e.activity_id), &e.organiser).await;
        assert_eq!(csv.status(), 200);
        assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
        assert!(csv.headers()["content-disposition"].to_str().expect("ascii").contains("attachment"));
        let text = csv.text().await.expect("text");
        let mut lines = text.split("\r\n");
        assert_eq!(lines.next(), Some("\u{feff}志愿者编号,姓名,签到时间,签退时间,计入开始,计入结束,计入分钟,状态,备注"));
        let rows: Vec<&str> = lines.filter(|l| !l.is_empty()).collect();
        assert_eq!(rows.len(), 2, "{text}");
        let zhang_row = rows.iter().find(|r| r.contains("\"张三\"")).expect("张三's row");
        assert!(zhang_row.starts_with(&format!("\"{}\",\"张三\",\"2026-12-05 09:00\",\"2026-12-05 11:15\"", e.volunteer_id)), "{zhang_row}");
        assert!(zhang_row.contains(",\"135\",\"已计时\","), "{zhang_row}");
        let li_row = rows.iter().find(|r| r.contains("\"李四\"")).expect("李四's row");
        assert!(li_row.contains("\"在场（未签退）\""), "{li_row}");

        let xlsx = download(&app, &format!("/api/v1/activities/{}/sessions.xlsx", e.activity_id), &e.organiser).await;
        assert_eq!(xlsx.status(), 200);
        assert_eq!(xlsx.headers()["content-type"], "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
        let bytes = xlsx.bytes().await.expect("bytes");
        let mut workbook = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).expect("an XLSX is a zip");
        let mut read = |name: &str| {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut workbook.by_name(name).expect(name), &mut text).expect("utf-8");
            text
        };
        let sheets = read("xl/workbook.xml");
        assert!(sheets.contains("签到记录") && sheets.contains("汇总"), "{sheets}");
        let strings = read("xl/sharedStrings.xml");
        for text in ["张三", "李四", "2026-12-05 11:15", "2小时15分", "已计时"] {
            assert!(strings.contains(text), "{text} in {strings}");
        }
        assert!(read("xl/worksheets/sheet1.xml").contains("<v>135</v>"));
        assert!(read("xl/worksheets/sheet2.xml").contains("<v>135</v>"));

        // Only for those who may see the activity's sessions.
        let other_org = app.organisation(&e.admin, "滇池志愿者协会").await;
        let outsider = app.organiser(&e.admin, other_org).await;
        for format in ["csv", "xlsx"] {
            let path = format!("/api/v1/activities/{}/sessions.{format}", e.activity_id);
            app.get(&path, &outsider).await.expect_problem(404, "not_found");
            app.get(&path, &e.volunteer).await.expect_problem(403, "forbidden");
            app.call(reqwest::Method::GET, &path, None, None).await.expect_problem(401, "unauthenticated");
        }
        app.get("/api/v1/activities/999999/sessions.csv", &e.organiser).await.expect_problem(404, "not_found");

        // The page: minutes as people say them, who is inside, the downloads.
        let cookie = crate::screen_keys::cookie_for_browser(&app, &e.admin, e.organisation_id).await;
        let page = app
            .client
            .get(app.url(&format!("/console/activities/{}/sessions", e.activity_id)))
            .header("cookie", format!("hourmark_staff={cookie}"))
            .send()
            .await
            .expect("page");
        assert_eq!(page.status(), 200);
        let html = page.text().await.expect("html");
        for text in ["张三", "李四", "2小时15分", "12月5日 09:00", "12月5日 11:15", "未签退", "sessions.xlsx", "sessions.csv"] {
            assert!(html.contains(text), "{text} on the page");
        }
        assert!(html.contains("id=\"inside-count\">1<"), "one inside");
    }
}

on_both_backends! {
    async fn officers_of_the_region_read_the_totals_not_the_board(app: TestApp) {
        let e = event(&app, "toggle").await;
        app.scan(&e.volunteer, &code(&app, &e).await).await.expect_status(200);
        let officer = |region: &'static str| {
            app.staff(&e.admin, serde_json::json!({"name": "民政", "role": "officer", "region_code": region}))
        };
        let wuhua = officer("530102").await;
        let panlong = officer("530103").await;
        let totals = format!("/api/v1/activities/{}/totals", e.activity_id);
        let seen = app.get(&totals, &wuhua).await;
        seen.expect_status(200);
        assert_eq!(seen.body["inside_now"], 1);
        assert_eq!(seen.body, app.get(&totals, &e.organiser).await.body, "the same numbers the organiser sees");
        app.get(&totals, &panlong).await.expect_problem(404, "not_found");
        // Names stay with the organisation: the board and the sessions are not the officer's.
        for path in ["board", "sessions", "sessions.csv"] {
            app.get(&format!("/api/v1/activities/{}/{path}", e.activity_id), &wuhua).await.expect_problem(404, "not_found");
        }
    }
}

on_both_backends! {
    /// A page carries some volunteers' sessions and the figures of all of them; walking
    /// `next` reaches everyone once, in volunteer-id order, and the minutes on the pages add
    /// up to the figures.
    async fn sessions_are_read_a_page_at_a_time(app: TestApp) {
        let e = event(&app, "toggle").await;
        let mut volunteers = vec![(e.volunteer_id, e.volunteer.clone())];
        for (name, phone) in
            [("李四", "13800005678"), ("王五", "13800005679"), ("赵六", "13800005680"), ("钱七", "13800005681"), ("孙八", "13800005682")]
        {
            volunteers.push(app.volunteer(name, phone).await);
        }
        for (_, token) in &volunteers {
            app.scan(token, &code(&app, &e).await).await.expect_status(200);
        }
        app.advance(Duration::minutes(60));
        for (_, token) in volunteers.iter().step_by(2) {
            app.scan(token, &code(&app, &e).await).await.expect_status(200);
        }
        // Three left after an hour; three are still inside.

        let path = format!("/api/v1/activities/{}/sessions", e.activity_id);
        let (mut seen, mut credited, mut after) = (Vec::new(), 0, None::<i64>);
        let mut pages = 0;
        loop {
            let url = after.map_or_else(|| format!("{path}?limit=4"), |a| format!("{path}?limit=4&after={a}"));
            let page = app.get(&url, &e.organiser).await;
            page.expect_status(200);
            pages += 1;
            assert_eq!(page.body["volunteers_total"], 6, "{}", page.body);
            assert_eq!(page.body["totals"]["inside_now"], 3, "{}", page.body);
            assert_eq!(page.body["totals"]["arrived"], 6, "{}", page.body);
            assert_eq!(page.body["totals"]["minutes_credited"], 180, "{}", page.body);
            let sessions = page.body["sessions"].as_array().expect("sessions");
            assert!(sessions.len() <= 4, "{}", page.body);
            for s in sessions {
                seen.push(s["volunteer_id"].as_i64().expect("id"));
                credited += s["minutes_credited"].as_i64().expect("minutes");
            }
            match page.body["next"].as_i64() {
                Some(next) => {
                    assert_eq!(Some(next), seen.last().copied(), "next is the page's last volunteer");
                    after = Some(next);
                }
                None => break,
            }
        }
        assert_eq!(pages, 2);
        let mut everyone: Vec<i64> = volunteers.iter().map(|(id, _)| *id).collect();
        everyone.sort_unstable();
        assert_eq!(seen, everyone, "everyone once, by volunteer id");
        assert_eq!(credited, 180, "the pages' minutes add up to the figures");

        // Past the last volunteer: an empty page, and no further one.
        let beyond = app.get(&format!("{path}?after={}", everyone[5]), &e.organiser).await;
        beyond.expect_status(200);
        assert_eq!(beyond.body["sessions"], serde_json::json!([]));
        assert!(beyond.body["next"].is_null(), "{}", beyond.body);
        // Without a limit: the default page holds all six.
        let whole = app.get(&path, &e.organiser).await;
        assert_eq!(whole.body["sessions"].as_array().map(Vec::len), Some(6));
        assert!(whole.body["next"].is_null());

        // A page that cannot be read is refused with a stable code.
        for bad in ["limit=0", "limit=1001", "after=abc", "limit=-1", "page=2"] {
            app.get(&format!("{path}?{bad}"), &e.organiser).await.expect_problem(400, "invalid_parameter");
        }

        // The console page: the figures of everyone, a page of rows, and the way on.
        let cookie = crate::screen_keys::cookie_for_browser(&app, &e.admin, e.organisation_id).await;
        let console = |query: String| {
            let request = app
                .client
                .get(app.url(&format!("/console/activities/{}/sessions?{query}", e.activity_id)))
                .header("cookie", format!("hourmark_staff={cookie}"));
            async move {
                let page = request.send().await.expect("page");
                assert_eq!(page.status(), 200);
                page.text().await.expect("html")
            }
        };
        let first = console("limit=4".to_owned()).await;
        assert_eq!(first.matches("data-volunteer-id=").count(), 4);
        assert!(first.contains("id=\"volunteer-count\">6<") && first.contains("id=\"inside-count\">3<"), "{first}");
        assert!(first.contains(&format!("href=\"?after={}\" id=\"next-page\"", everyone[3])), "{first}");
        assert!(!first.contains("id=\"first-page\""));
        let second = console(format!("limit=4&after={}", everyone[3])).await;
        assert_eq!(second.matches("data-volunteer-id=").count(), 2);
        assert!(second.contains("id=\"volunteer-count\">6<") && second.contains("id=\"first-page\""), "{second}");
        assert!(!second.contains("id=\"next-page\""));
    }
}

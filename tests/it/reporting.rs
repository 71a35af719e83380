//! Reporting to civil affairs: batches of register entries go to the county's department,
//! which confirms or returns them; only confirmed minutes count; exports stream CSV.

use chrono::Duration;
use hourmark_tests::on_both_backends;
use serde_json::json;

on_both_backends! {
    async fn batches_go_to_the_county_and_only_confirmed_minutes_count(app: TestApp) {
        let (admin, mut admin_key) = app.administrator_with_passkey().await;
        let org = app.organisation(&admin, "翠湖志愿者协会").await; // Wuhua district, 530102
        let organiser = app.organiser(&admin, org).await;
        let activity = app.activity(&organiser, org, json!({})).await["id"].as_i64().expect("id");
        let recorder = crate::review::recorder(&app, &admin, org).await;
        let (_, volunteer) = app.volunteer("张三", "13800001234").await;
        for _ in 0..2 {
            let url = app.code(&organiser, activity, 0, "toggle").await["url"].as_str().expect("url").to_owned();
            app.scan(&volunteer, &url).await.expect_status(200);
            app.advance(Duration::hours(3));
        }
        app.advance(Duration::hours(5));
        app.post(&format!("/api/v1/activities/{activity}/finalise"), Some(&recorder), json!({})).await.expect_status(201);
        app.advance(Duration::days(4) + Duration::hours(4)); // Thursday 10 December: recorded
        assert_eq!(app.hourmark.advance_publicity().await.expect("job"), 1);

        let admin = app.sign_in("admin", &mut admin_key).await.expect("passkey").body["access_token"]
            .as_str()
            .expect("token")
            .to_owned();
        let organiser = app.organiser(&admin, org).await;
        assert_eq!(app.get("/mp/v1/me/record", &volunteer).await.body["confirmed_minutes"], 0);

        let submit = format!("/api/v1/organisations/{org}/report-batches");
        let sent = app.post(&submit, Some(&organiser), json!({})).await;
        sent.expect_status(201);
        assert_eq!((sent.body["entries"].as_i64(), sent.body["minutes"].as_i64()), (Some(1), Some(180)));
        assert_eq!(sent.body["county_code"], "530102");
        app.post(&submit, Some(&organiser), json!({})).await.expect_problem(409, "nothing_to_report");
        let batch = sent.body["id"].clone();

        // A correction while the batch is pending: its reversal and replacement wait for
        // the original's batch to be decided.
        let recorder = crate::review::recorder(&app, &admin, org).await;
        let second = crate::review::recorder(&app, &admin, org).await;
        let volunteer_id = app.get("/mp/v1/me", &volunteer).await.body["volunteer"]["id"].clone();
        let corrections = format!("/api/v1/activities/{activity}/session-corrections");
        let proposed = app.post(&corrections, Some(&recorder),
            json!({"volunteer_id": volunteer_id, "day": "2026-12-05", "minutes": 150, "reason": "复核"})).await;
        proposed.expect_status(201);
        app.post(&format!("{corrections}/{}/decision", proposed.body["id"]), Some(&second),
            json!({"approve": true, "reason": "核实"})).await.expect_status(200);
        // Published again: the register takes the correction when the new period ends. A
        // week on, the staff sign in again.
        app.advance(Duration::days(7));
        assert_eq!(app.hourmark.advance_publicity().await.expect("job"), 1);
        let admin = app.sign_in("admin", &mut admin_key).await.expect("passkey").body["access_token"]
            .as_str()
            .expect("token")
            .to_owned();
        let organiser = app.organiser(&admin, org).await;
        let wuhua = app.staff(&admin, json!({"name": "民政", "role": "officer", "region_code": "530102"})).await;
        let kunming = app.staff(&admin, json!({"name": "民政", "role": "officer", "region_code": "530100"})).await;
        let panlong = app.staff(&admin, json!({"name": "民政", "role": "officer", "region_code": "530103"})).await;
        app.post(&submit, Some(&organiser), json!({})).await.expect_problem(409, "nothing_to_report");

        // Only the county's department (or one above it) decides; outside it, no such batch.
        app.post(&format!("/api/v1/report-batches/{batch}/confirm"), Some(&panlong), json!({})).await
            .expect_problem(404, "not_found");
        app.post(&format!("/api/v1/report-batches/{batch}/confirm"), Some(&organiser), json!({})).await
            .expect_problem(403, "forbidden");
        assert!(app.get("/api/v1/report-batches", &panlong).await.body.as_array().is_some_and(Vec::is_empty));
        assert_eq!(app.get("/api/v1/report-batches", &kunming).await.body.as_array().map(Vec::len), Some(1));
        app.post(&format!("/api/v1/report-batches/{batch}/return"), Some(&wuhua), json!({"reason": "  "})).await
            .expect_problem(422, "invalid_body");
        let returned = app.post(&format!("/api/v1/report-batches/{batch}/return"), Some(&wuhua),
            json!({"reason": "请补充服务对象"})).await;
        returned.expect_status(200);
        assert_eq!(returned.body["status"], "returned");
        app.post(&format!("/api/v1/report-batches/{batch}/confirm"), Some(&wuhua), json!({})).await
            .expect_problem(409, "batch_decided");
        assert_eq!(app.get("/mp/v1/me/record", &volunteer).await.body["confirmed_minutes"], 0, "returned: not counted");

        // Sent again, with the correction, and confirmed: now it counts, corrected.
        let again = app.post(&submit, Some(&organiser), json!({})).await;
        again.expect_status(201);
        assert_eq!((again.body["entries"].as_i64(), again.body["minutes"].as_i64()), (Some(3), Some(150)));
        let batch = again.body["id"].clone();
        let confirmed = app.post(&format!("/api/v1/report-batches/{batch}/confirm"), Some(&wuhua), json!({})).await;
        confirmed.expect_status(200);
        assert_eq!(confirmed.body["status"], "confirmed");
        assert_eq!(app.get("/mp/v1/me/record", &volunteer).await.body["confirmed_minutes"], 150);

        // The export: CSV with Chinese headers, streamed.
        let export = app
            .client
            .get(app.url(&format!("/api/v1/report-batches/{batch}/export.csv")))
            .bearer_auth(&wuhua)
            .send()
            .await
            .expect("sent");
        assert_eq!(export.status(), 200);
        assert!(export.headers()["content-type"].to_str().expect("ascii").starts_with("text/csv"));
        let text = export.text().await.expect("text");
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("\u{feff}登记序号,类型,志愿者编号,姓名,活动,服务日期,地点,服务对象,服务内容,时长（分钟）,服务评价,负责人,记录人,组织"));
        let line = lines.next().expect("the original");
        assert!(line.starts_with("\"1\",\"登记\",") && line.contains("\"张三\"") && line.contains("\"180\""), "{line}");
        assert!(line.contains("\"翠湖公园清洁\",\"2026-12-05\""), "{line}");
        assert!(lines.next().is_some_and(|l| l.starts_with("\"2\",\"冲销\",") && l.contains("\"-180\"")));
        assert!(lines.next().is_some_and(|l| l.starts_with("\"3\",\"更正\",") && l.contains("\"150\"")));
        assert_eq!(lines.next(), None);
        let outside = app.get(&format!("/api/v1/report-batches/{batch}/export.csv"), &panlong).await;
        outside.expect_problem(404, "not_found");

        // The workbook: one sheet per batch the officer may see (a zip, as XLSX files are).
        let xlsx = app
            .client
            .get(app.url("/api/v1/report-batches/export.xlsx"))
            .bearer_auth(&kunming)
            .send()
            .await
            .expect("sent");
        assert_eq!(xlsx.status(), 200);
        assert_eq!(
            xlsx.headers()["content-type"],
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        );
        let bytes = xlsx.bytes().await.expect("bytes");
        let mut workbook = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).expect("an XLSX is a zip");
        let mut read = |name: &str| {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut workbook.by_name(name).expect(name), &mut text).expect("utf-8");
            text
        };
        let sheets = read("xl/workbook.xml");
        assert!(sheets.contains("批次1（已退回）") && sheets.contains("批次2（已确认）"), "{sheets}");
        let confirmed = read("xl/worksheets/sheet2.xml");
        for cell in ["登记序号", "时长（分钟）", "张三", "翠湖公园清洁", "2026-12-05", "<v>180</v>"] {
            assert!(confirmed.contains(cell), "{cell} in {confirmed}");
        }
    }
}

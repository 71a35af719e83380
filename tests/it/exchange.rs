//! Exchange with the national volunteer information system and roster imports: a roster
//! is checked row by row (the dry run names every refused row), imported all or nothing,
//! deduplicated by keyed hash; exports hold only confirmed records of consenting
//! volunteers, each sent once.

use chrono::Duration;
use hourmark_tests::{TestApp, next_resident_id, on_both_backends};
use serde_json::json;

pub(crate) const CSV: &str = "text/csv";
const HEADER: &str = "姓名,证件号码,手机号码,技能特长,同意记录,同意公示,告知书版本\r\n";

/// A roster of `rows` good data rows (spreadsheet rows 2 to rows + 1), phones from `phone_base`.
pub(crate) fn roster_rows(rows: u32, phone_base: u32) -> Vec<String> {
    (0..rows)
        .map(|i| format!("志愿者{i},{},139{:08},急救、翻译,是,否,纸质-2023\r\n", next_resident_id(), phone_base + i))
        .collect()
}

pub(crate) fn csv(rows: &[String]) -> Vec<u8> {
    format!("{HEADER}{}", rows.concat()).into_bytes()
}

/// The same ID number with a wrong check character.
pub(crate) fn spoil(row: &str) -> String {
    let mut cells: Vec<String> = row.split(',').map(str::to_owned).collect();
    let id = &cells[1];
    let last = if id.ends_with('0') { '1' } else { '0' };
    cells[1] = format!("{}{last}", &id[..17]);
    cells.join(",")
}

pub(crate) async fn organisation_with_organiser(app: &TestApp) -> (String, i64, String) {
    let admin = app.administrator().await;
    let org = app.organisation(&admin, "翠湖志愿者协会").await;
    let organiser = app.organiser(&admin, org).await;
    (admin, org, organiser)
}

on_both_backends! {
    async fn a_roster_is_checked_row_by_row_and_imported_all_or_nothing(app: TestApp) {
        let (admin, org, organiser) = organisation_with_organiser(&app).await;
        let dry = format!("/api/v1/organisations/{org}/roster-imports/dry-run");
        let import = format!("/api/v1/organisations/{org}/roster-imports");

        // A bad ID number in spreadsheet row 73: the dry run names it; the import writes nothing.
        let mut rows = roster_rows(80, 10_000);
        let good = rows[71].clone();
        rows[71] = spoil(&good);
        let report = app.upload(&dry, &organiser, csv(&rows), CSV).await;
        report.expect_status(200);
        assert_eq!(report.body["rows"], 80);
        assert_eq!(report.body["refused"], json!([{
            "row": 73, "problem": "id_number_invalid", "detail": report.body["refused"][0]["detail"].clone()
        }]));
        assert!(!report.body.to_string().contains(&good.split(',').nth(1).expect("id")[..17]), "no ID number in the report");
        let refused = app.upload(&import, &organiser, csv(&rows), CSV).await;
        refused.expect_problem(422, "roster_invalid");
        assert!(refused.body["detail"].as_str().is_some_and(|d| d.contains("第 73 行")), "{}", refused.body);
        rows[71] = good;
        let report = app.upload(&dry, &organiser, csv(&rows), CSV).await;
        assert_eq!((report.body["new_volunteers"].as_u64(), report.body["already_registered"].as_u64()), (Some(80), Some(0)),
            "the refused import wrote nothing: {}", report.body);

        // A volunteer already registered is linked, not registered again.
        let (_, _) = app.volunteer("张三", "13800001234").await;
        let registered_id = hourmark_tests::resident_id("19800101", 999);
        let mut with_known = rows.clone();
        let known = app.post("/mp/v1/volunteers", None,
            hourmark_tests::registration("李四", "13800005678", &registered_id)).await;
        known.expect_status(201);
        with_known.push(format!("李四,{registered_id},13800005678,,是,是,2026-11\r\n"));
        let done = app.upload(&import, &organiser, csv(&with_known), CSV).await;
        done.expect_status(201);
        assert_eq!((done.body["rows"].as_u64(), done.body["registered"].as_u64(), done.body["linked"].as_u64()),
            (Some(81), Some(80), Some(1)));
        assert_eq!(done.body["file_digest"].as_str().map(str::len), Some(64));
        // The same file again: everyone is registered now; nothing is registered twice.
        let again = app.upload(&import, &organiser, csv(&with_known), CSV).await;
        again.expect_status(201);
        assert_eq!((again.body["registered"].as_u64(), again.body["linked"].as_u64()), (Some(0), Some(81)));

        // A duplicate within the file: the later row is refused, naming the first.
        let mut twice = roster_rows(3, 20_000);
        let copy = twice[0].replace("13900020000", "13900029999");
        twice.push(copy);
        let report = app.upload(&dry, &organiser, csv(&twice), CSV).await;
        report.expect_status(200);
        assert_eq!(report.body["refused"][0]["row"], 5);
        assert_eq!(report.body["refused"][0]["problem"], "duplicate_in_file");
        assert!(report.body["refused"][0]["detail"].as_str().is_some_and(|d| d.contains("第 2 行")));
        app.upload(&import, &organiser, csv(&twice), CSV).await.expect_problem(422, "roster_invalid");

        // A phone number another volunteer registered with is refused.
        let taken = format!("王五,{},13800001234,,是,否,v1\r\n", next_resident_id());
        let report = app.upload(&dry, &organiser, csv(&[taken]), CSV).await;
        assert_eq!(report.body["refused"][0]["problem"], "phone_taken");

        // Encodings: GBK read when guessed or asked for; refused when UTF-8 is asked for.
        let fresh = roster_rows(2, 30_000);
        let text = String::from_utf8(csv(&fresh)).expect("utf-8");
        let gbk = encoding_rs::GBK.encode(&text).0.into_owned();
        app.upload(&format!("{dry}?encoding=utf-8"), &organiser, gbk.clone(), CSV).await
            .expect_problem(422, "roster_encoding");
        let mut utf16 = vec![0xFF, 0xFE];
        utf16.extend(HEADER.encode_utf16().flat_map(u16::to_le_bytes));
        app.upload(&dry, &organiser, utf16, CSV).await.expect_problem(422, "roster_encoding");
        for query in ["", "?encoding=gbk"] {
            let report = app.upload(&format!("{dry}{query}"), &organiser, gbk.clone(), CSV).await;
            report.expect_status(200);
            assert_eq!(report.body["new_volunteers"], 2, "{query}");
        }
        app.upload(&format!("{dry}?encoding=latin1"), &organiser, gbk.clone(), CSV).await
            .expect_problem(400, "invalid_parameter");

        // A header without a required column, and an empty file.
        app.upload(&dry, &organiser, "姓名,手机号码\r\n张三,13800001234\r\n".as_bytes().to_vec(), CSV).await
            .expect_problem(422, "roster_format");
        app.upload(&import, &organiser, Vec::new(), CSV).await.expect_problem(422, "roster_format");

        // XLSX, as Excel saves it (the phone typed as a number).
        let xlsx = {
            let mut workbook = rust_xlsxwriter::Workbook::new();
            let sheet = workbook.add_worksheet();
            for (col, title) in (0u16..).zip(HEADER.trim_end().split(',')) {
                sheet.write_string(0, col, title).expect("cell");
            }
            sheet.write_string(1, 0, "赵六").expect("cell");
            sheet.write_string(1, 1, next_resident_id()).expect("cell");
            sheet.write_number(1, 2, 13_900_040_000.0).expect("cell");
            sheet.write_string(1, 4, "是").expect("cell");
            sheet.write_string(1, 6, "v2").expect("cell");
            workbook.save_to_buffer().expect("xlsx")
        };
        let xlsx_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
        let done = app.upload(&import, &organiser, xlsx, xlsx_type).await;
        done.expect_status(201);
        assert_eq!(done.body["registered"], 1);

        // Who may: the organisation's organisers and administrators, not another's.
        let other = app.organisation(&admin, "滇池保护志愿队").await;
        let other_organiser = app.organiser(&admin, other).await;
        app.upload(&dry, &other_organiser, csv(&fresh), CSV).await.expect_problem(404, "not_found");
        app.upload(&dry, &admin, csv(&fresh), CSV).await.expect_status(200);
    }
}

/// Scans, finalises, publishes and records one 180-minute day for a new volunteer, and
/// gives the volunteer's token.
async fn recorded_day(app: &TestApp, org: i64, admin: &str) -> String {
    let organiser = app.organiser(admin, org).await;
    let activity = app.activity(&organiser, org, json!({})).await["id"].as_i64().expect("id");
    let recorder = crate::review::recorder(app, admin, org).await;
    let (_, volunteer) = app.volunteer("张三", "13800001234").await;
    for _ in 0..2 {
        let url = app.code(&organiser, activity, 0, "toggle").await["url"].as_str().expect("url").to_owned();
        app.scan(&volunteer, &url).await.expect_status(200);
        app.advance(Duration::hours(3));
    }
    app.advance(Duration::hours(5));
    app.post(&format!("/api/v1/activities/{activity}/finalise"), Some(&recorder), json!({})).await.expect_status(201);
    app.advance(Duration::days(4) + Duration::hours(4));
    assert_eq!(app.hourmark.advance_publicity().await.expect("job"), 1);
    volunteer
}

on_both_backends! {
    async fn exports_hold_confirmed_records_of_consenting_volunteers_once(app: TestApp) {
        let (admin, mut admin_key) = app.administrator_with_passkey().await;
        let org = app.organisation(&admin, "翠湖志愿者协会").await;
        let volunteer = recorded_day(&app, org, &admin).await;
        // Staff sessions have idled out over the days: sign in again.
        let admin = app.sign_in("admin", &mut admin_key).await.expect("passkey").body["access_token"]
            .as_str()
            .expect("token")
            .to_owned();
        let organiser = app.organiser(&admin, org).await;
        let wuhua = app.staff(&admin, json!({"name": "民政", "role": "officer", "region_code": "530102"})).await;
        let panlong = app.staff(&admin, json!({"name": "民政", "role": "officer", "region_code": "530103"})).await;
        let sent = app.post(&format!("/api/v1/organisations/{org}/report-batches"), Some(&organiser), json!({})).await;
        sent.expect_status(201);
        let batch = sent.body["id"].clone();
        let exports = format!("/api/v1/organisations/{org}/exchange-exports");

        // Unconfirmed entries are never exported.
        app.post(&exports, Some(&organiser), json!({"kind": "service_records", "batch_id": batch})).await
            .expect_problem(409, "batch_not_confirmed");
        app.post(&exports, Some(&organiser), json!({"kind": "service_records"})).await
            .expect_problem(409, "nothing_to_export");
        app.post(&exports, Some(&organiser), json!({"kind": "activities"})).await
            .expect_problem(409, "nothing_to_export");
        app.post(&exports, Some(&organiser), json!({"kind": "service_records", "organisation_code": "not-a-code"})).await
            .expect_problem(422, "invalid_body");
        assert!(app.get(&exports, &organiser).await.body.as_array().is_some_and(Vec::is_empty), "nothing recorded");

        app.post(&format!("/api/v1/report-batches/{batch}/confirm"), Some(&wuhua), json!({})).await.expect_status(200);

        // Outside the officer's region: no such organisation.
        app.post(&exports, Some(&panlong), json!({"kind": "service_records"})).await.expect_problem(404, "not_found");

        let code = "91530102MA6K12345X";
        let first = app.post(&exports, Some(&wuhua),
            json!({"kind": "service_records", "batch_id": batch, "organisation_code": code})).await;
        first.expect_status(201);
        assert_eq!((first.body["items"].as_u64(), first.body["held_for_consent"].as_u64()), (Some(1), Some(0)));
        // Sent once: the organisation asking again finds nothing new.
        app.post(&exports, Some(&organiser), json!({"kind": "service_records"})).await
            .expect_problem(409, "nothing_to_export");

        let id = first.body["id"].clone();
        let csv = app.call(reqwest::Method::GET, &format!("/api/v1/exchange-exports/{id}/export.csv"), Some(&organiser), None).await;
        csv.expect_status(200);
        let text = String::from_utf8(csv.raw.clone()).expect("utf-8");
        let lines: Vec<&str> = text.trim_start_matches('\u{feff}').lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines[0].starts_with("志愿者编号,姓名,证件类型,证件号码"), "{}", lines[0]);
        let me = app.get("/mp/v1/me", &volunteer).await;
        let id_number = me.body["volunteer"]["id_number"].as_str().map(str::to_owned).unwrap_or_default();
        assert!(!id_number.is_empty() && lines[1].contains(&id_number), "the national system needs the full ID: {}", lines[1]);
        assert!(lines[1].contains("\"居民身份证\"") && lines[1].contains("\"3\"") && lines[1].contains("\"180\""), "{}", lines[1]);
        assert!(lines[1].contains(code) && lines[1].contains(me.body["volunteer"]["volunteer_number"].as_str().expect("number")));
        let xlsx = app.call(reqwest::Method::GET, &format!("/api/v1/exchange-exports/{id}/export.xlsx"), Some(&wuhua), None).await;
        xlsx.expect_status(200);
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(xlsx.raw.clone())).expect("xlsx is a zip");
        let mut sheet = String::new();
        std::io::Read::read_to_string(&mut archive.by_name("xl/worksheets/sheet1.xml").expect("sheet"), &mut sheet).expect("read");
        assert!(sheet.contains(&id_number), "ID number written as text");
        app.call(reqwest::Method::GET, &format!("/api/v1/exchange-exports/{id}/export.csv"), Some(&panlong), None).await
            .expect_problem(404, "not_found");

        // Activities: the one with confirmed service.
        let activities = app.post(&exports, Some(&organiser), json!({"kind": "activities"})).await;
        activities.expect_status(201);
        assert_eq!(activities.body["items"], 1);

        // Volunteers: a withdrawn record consent holds the volunteer back until it is given again.
        let roster = format!("{HEADER}赵六,{},13900050000,,是,否,纸质-2023\r\n", next_resident_id());
        app.upload(&format!("/api/v1/organisations/{org}/roster-imports"), &organiser, roster.into_bytes(), CSV).await
            .expect_status(201);
        let withdraw = |granted: bool| json!({"purpose": "record", "granted": granted, "notice_version": "2026-11"});
        app.post("/mp/v1/me/consents", Some(&volunteer), withdraw(false)).await.expect_status(200);
        let people = app.post(&exports, Some(&organiser), json!({"kind": "volunteers"})).await;
        people.expect_status(201);
        assert_eq!((people.body["items"].as_u64(), people.body["held_for_consent"].as_u64()), (Some(1), Some(1)));
        let held = app.post(&exports, Some(&organiser), json!({"kind": "volunteers"})).await;
        held.expect_problem(409, "nothing_to_export");
        app.post("/mp/v1/me/consents", Some(&volunteer), withdraw(true)).await.expect_status(200);
        let later = app.post(&exports, Some(&organiser), json!({"kind": "volunteers"})).await;
        later.expect_status(201);
        assert_eq!((later.body["items"].as_u64(), later.body["held_for_consent"].as_u64()), (Some(1), Some(0)));

        let listed = app.get(&exports, &wuhua).await;
        listed.expect_status(200);
        let kinds: Vec<&str> = listed.body.as_array().expect("list").iter().filter_map(|e| e["kind"].as_str()).collect();
        assert_eq!(kinds, ["volunteers", "volunteers", "activities", "service_records"], "newest first");
    }
}

/// One value (kB) from `/proc/self/status`.
fn proc_status_kb(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(key)).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

/// A 100,000-row roster, dry run and import, timed, with the process's peak resident
/// memory (server and test client together: both run in this process), and scans made
/// every 400 ms or so for the whole import (how long the slowest waited). Run with
/// `cargo nextest run -p hourmark-tests --run-ignored only -E 'test(/roster_of_100000/)' --no-capture`.
async fn measure_roster_of_100000(backend: hourmark_tests::Backend) {
    const ROWS: u32 = 100_000;
    let app = TestApp::spawn(backend).await;
    let e = crate::event(&app, "toggle").await;
    let (org, organiser) = (e.organisation_id, e.organiser.clone());
    let mut volunteers = vec![e.volunteer.clone()];
    // Registrations are rate-limited per client: 50 volunteers, one arrival each.
    for n in 0..49 {
        volunteers.push(app.volunteer(&format!("志愿者{n}"), &format!("1370000{n:04}")).await.1);
    }
    let mut file = String::from(HEADER);
    for i in 0..ROWS {
        file.push_str(&format!("志愿者{i},{},139{:08},急救,是,否,纸质-2023\r\n", next_resident_id(), i));
    }
    let file = file.into_bytes();
    // Reset the peak so it covers only the dry run and the import.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let before = proc_status_kb("VmRSS:");
    let started = std::time::Instant::now();
    let report =
        app.upload(&format!("/api/v1/organisations/{org}/roster-imports/dry-run"), &organiser, file.clone(), CSV).await;
    report.expect_status(200);
    let dry = started.elapsed();
    assert_eq!(report.body["new_volunteers"], ROWS);
    let started = std::time::Instant::now();
    let done = std::sync::atomic::AtomicBool::new(false);
    let importing = async {
        let answer =
            app.upload(&format!("/api/v1/organisations/{org}/roster-imports"), &organiser, file.clone(), CSV).await;
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        answer
    };
    let scanning = async {
        let mut waits = Vec::new();
        // Round the volunteers again (arrivals, then departures) until the import ends,
        // so the scans cover its publish, the end, however long staging takes.
        for (n, volunteer) in volunteers.iter().cycle().enumerate() {
            if done.load(std::sync::atomic::Ordering::SeqCst) {
                break;
            }
            if n > 0 && n % volunteers.len() == 0 {
                // Past the repeat-scan window: the next round are departures.
                app.advance(Duration::minutes(30));
            }
            let url = app.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
            let asked = std::time::Instant::now();
            let answer = app.scan(volunteer, &url).await;
            if answer.status != 200 {
                println!("a scan answered {}: {}", answer.status, answer.body);
            }
            waits.push((answer.status, asked.elapsed()));
            tokio::time::sleep(std::time::Duration::from_millis(400)).await;
        }
        waits
    };
    let (imported, waits) = tokio::join!(importing, scanning);
    imported.expect_status(201);
    let import = started.elapsed();
    assert_eq!(imported.body["registered"], ROWS);
    let refused = waits.iter().filter(|(status, _)| *status != 200).count();
    let slowest = waits.iter().map(|(_, took)| *took).max().unwrap_or_default();
    println!(
        "roster of {ROWS} rows ({:.1} MiB CSV), {backend:?}: dry run {:.1} s, import {:.1} s; \
         resident memory before {} MiB, peak {} MiB (whole test process); \
         {} scans during the import, {refused} not accepted, the slowest answered in {:.0} ms",
        file.len() as f64 / 1_048_576.0,
        dry.as_secs_f64(),
        import.as_secs_f64(),
        before / 1024,
        proc_status_kb("VmHWM:") / 1024,
        waits.len(),
        slowest.as_secs_f64() * 1000.0,
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: 100,000 rows take a while"]
async fn roster_of_100000_rows_postgres() {
    measure_roster_of_100000(hourmark_tests::Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: 100,000 rows take a while"]
async fn roster_of_100000_rows_sqlite() {
    measure_roster_of_100000(hourmark_tests::Backend::Sqlite).await;
}

on_both_backends! {
    async fn historic_hours_become_late_entries_through_review_never_the_register(app: TestApp) {
        let (admin, org, organiser) = organisation_with_organiser(&app).await;
        // The historic activity, as it was held (before Hourmark).
        let activity = app.activity(&organiser, org, json!({
            "name": "2024 年重阳敬老", "starts_at": "2024-10-11T08:00:00+08:00", "ends_at": "2024-10-11T17:00:00+08:00",
        })).await["id"].as_i64().expect("id");
        let recorder = crate::review::recorder(&app, &admin, org).await;
        let (volunteer_id, volunteer) = app.volunteer("张三", "13800001234").await;
        let number = app.get("/mp/v1/me", &volunteer).await.body["volunteer"]["volunteer_number"].as_str().expect("n").to_owned();
        let imported_id = next_resident_id();
        let roster = format!("{HEADER}李四,{imported_id},13900060000,,是,否,纸质-2023\r\n");
        app.upload(&format!("/api/v1/organisations/{org}/roster-imports"), &organiser, roster.into_bytes(), CSV).await
            .expect_status(201);
        let path = format!("/api/v1/activities/{activity}/historic-hours");
        let header = "志愿者编号,证件号码,服务日期,服务时长（分钟）,纸质凭证编号,说明\r\n";

        // One bad row (a day the activity did not run) refuses the file; nothing is asked for.
        let bad = format!("{header}{number},,2024-10-11,240,台账第 12 页,\r\n,{imported_id},2024-10-12,180,台账第 13 页,\r\n");
        let refused = app.upload(&path, &recorder, bad.into_bytes(), CSV).await;
        refused.expect_problem(422, "roster_invalid");
        assert!(refused.body["detail"].as_str().is_some_and(|d| d.contains("第 3 行")), "{}", refused.body);
        let entries = format!("/api/v1/activities/{activity}/late-entries");
        assert!(app.get(&entries, &recorder).await.body.as_array().is_some_and(Vec::is_empty), "nothing written");

        // Organisers do not record; recorders do.
        let good = format!("{header}{number},,2024-10-11,240,台账第 12 页,\r\n,{imported_id},2024-10-11,180,台账第 13 页,\r\n");
        app.upload(&path, &organiser, good.clone().into_bytes(), CSV).await.expect_problem(403, "forbidden");
        let done = app.upload(&path, &recorder, good.into_bytes(), CSV).await;
        done.expect_status(201);
        let asked = done.body["late_entries"].as_array().expect("entries");
        assert_eq!(asked.len(), 2);
        assert!(asked.iter().all(|e| e["status"] == "open"), "each waits for a second recorder: {}", done.body);
        assert_eq!(asked[0]["volunteer_id"], volunteer_id);
        assert!(asked[1]["evidence"].as_str().is_some_and(|e| e.contains("台账第 13 页")));
        // Nothing reached the register: there is nothing to report.
        app.post(&format!("/api/v1/organisations/{org}/report-batches"), Some(&organiser), json!({})).await
            .expect_problem(409, "nothing_to_report");
    }
}

/// One number from the database behind `app` (`select count(*) …`), read past Hourmark.
pub(crate) async fn count(app: &TestApp, sql: &'static str) -> i64 {
    match app.backend {
        hourmark_tests::Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&app.config.database_url).await.expect("connect");
            sqlx::query_scalar(sql).fetch_one(&pool).await.expect("count")
        }
        hourmark_tests::Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&app.config.database_url).await.expect("connect");
            sqlx::query_scalar(sql).fetch_one(&pool).await.expect("count")
        }
    }
}

/// Four numbers from one statement, so from one snapshot of the database.
async fn four(app: &TestApp, sql: &'static str) -> [i64; 4] {
    let row: (i64, i64, i64, i64) = match app.backend {
        hourmark_tests::Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&app.config.database_url).await.expect("connect");
            sqlx::query_as(sql).fetch_one(&pool).await.expect("counts")
        }
        hourmark_tests::Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&app.config.database_url).await.expect("connect");
            sqlx::query_as(sql).fetch_one(&pool).await.expect("counts")
        }
    };
    [row.0, row.1, row.2, row.3]
}

/// Everything an import makes visible, counted as readers see it, in one snapshot:
/// volunteers, published roster imports, roster members, consents entered by a published
/// import; and the rows staged.
pub(crate) async fn visible_and_staged(app: &TestApp) -> ([i64; 4], i64) {
    let visible = four(
        app,
        "select (select count(*) from visible_volunteer),
                (select count(*) from roster_import where state = 'published'),
                (select count(*) from roster_member m where m.roster_import_id is null
                    or exists (select 1 from roster_import i where i.id = m.roster_import_id and i.state = 'published')),
                (select count(*) from consent c join roster_import i on i.id = c.roster_import_id
                    where i.state = 'published')",
    )
    .await;
    (visible, count(app, "select count(*) from roster_staging").await)
}

/// The rows imports wrote, visible or not: volunteers, roster members, consents entered
/// by an import.
pub(crate) async fn written(app: &TestApp) -> [i64; 3] {
    [
        count(app, "select count(*) from volunteer").await,
        count(app, "select count(*) from roster_member").await,
        count(app, "select count(*) from consent where roster_import_id is not null").await,
    ]
}

/// Waits (polling the database) until an import has begun staging rows.
pub(crate) async fn staging_begun(app: &TestApp) {
    let started = std::time::Instant::now();
    while count(app, "select count(*) from roster_staging").await == 0 {
        assert!(started.elapsed() < std::time::Duration::from_secs(120), "the import never staged a row");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

/// On SQLite every write goes through one writer. A roster import used to hold it for its
/// whole length (44 s for 100,000 rows in a debug build), so scans waited and could time
/// out. Staged in short transactions, it lets scans through between chunks: each scan
/// made while a 20,000-row import runs is accepted, none waits long.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scans_during_a_large_roster_import_are_accepted_on_sqlite() {
    const ROWS: u32 = 20_000;
    let app = TestApp::spawn(hourmark_tests::Backend::Sqlite).await;
    let e = crate::event(&app, "toggle").await;
    let mut volunteers = vec![e.volunteer.clone()];
    for n in 0..59 {
        volunteers.push(app.volunteer(&format!("志愿者{n}"), &format!("1370000{n:04}")).await.1);
    }
    let rows = roster_rows(ROWS, 0);
    let (visible_before, _) = visible_and_staged(&app).await;
    let import = format!("/api/v1/organisations/{}/roster-imports", e.organisation_id);
    let done = std::sync::atomic::AtomicBool::new(false);
    let importing = async {
        let answer = app.upload(&import, &e.organiser, csv(&rows), CSV).await;
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        answer
    };
    let scanning = async {
        staging_begun(&app).await;
        // (answer, how long it took, whether the import was still running when it came)
        let mut scans = Vec::new();
        for volunteer in &volunteers {
            if done.load(std::sync::atomic::Ordering::SeqCst) {
                break;
            }
            let url = app.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
            let started = std::time::Instant::now();
            let answer = app.scan(volunteer, &url).await;
            scans.push((answer, started.elapsed(), !done.load(std::sync::atomic::Ordering::SeqCst)));
            // Spread the scans over the import, as arrivals are.
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        scans
    };
    let (imported, scans) = tokio::join!(importing, scanning);
    imported.expect_status(201);
    assert_eq!(imported.body["registered"], ROWS);
    let during = scans.iter().filter(|(_, _, running)| *running).count();
    assert!(during >= 10, "scans made while the import ran: {during} of {}", scans.len());
    for (answer, took, _) in &scans {
        answer.expect_status(200);
        assert_eq!(answer.body["outcome"], "checked_in", "{}", answer.body);
        assert!(*took < std::time::Duration::from_secs(3), "a scan waited {took:?} for the import");
    }
    let slowest = scans.iter().map(|(_, took, _)| *took).max().unwrap_or_default();
    println!("{during} scans during a {ROWS}-row import on SQLite; the slowest took {slowest:?}");
    let (visible, staged) = visible_and_staged(&app).await;
    assert_eq!(visible[0], visible_before[0] + i64::from(ROWS));
    assert_eq!(staged, 0, "the staged rows are gone once published");
}

on_both_backends! {
    /// An import that fails in the middle of publishing (someone registered the ID number
    /// of its last row, in its second slice on SQLite, while it was being staged) shows
    /// nothing, and its staged rows and whatever its first slice wrote are gone.
    async fn a_roster_import_that_fails_publishes_nothing(app: TestApp) {
        let (_, org, organiser) = organisation_with_organiser(&app).await;
        let rows = roster_rows(3_000, 40_000);
        let taken_id = rows.last().expect("row").split(',').nth(1).expect("id").to_owned();
        let (before, _) = visible_and_staged(&app).await;
        let written_before = written(&app).await;
        let import = format!("/api/v1/organisations/{org}/roster-imports");
        let importing = app.upload(&import, &organiser, csv(&rows), CSV);
        let registering = async {
            staging_begun(&app).await;
            let registered = app.post("/mp/v1/volunteers", None,
                hourmark_tests::registration("李四", "13700009999", &taken_id)).await;
            registered.expect_status(201);
        };
        let (refused, ()) = tokio::join!(importing, registering);
        refused.expect_problem(409, "id_number_taken");
        let (after, staged) = visible_and_staged(&app).await;
        assert_eq!(after, [before[0] + 1, 0, 0, 0], "only the volunteer who registered meanwhile");
        assert_eq!(staged, 0, "the failed import's staged rows are discarded");
        assert_eq!(
            written(&app).await,
            [written_before[0] + 1, written_before[1], written_before[2]],
            "what the failed publish wrote is deleted"
        );
    }
}

on_both_backends! {
    /// Rows staged by an import that never finished (the process died part way) are not
    /// visible, and the retention job erases them a day after they were staged.
    async fn rows_staged_by_an_import_cut_off_are_erased_a_day_later(app: TestApp) {
        let e = crate::event(&app, "toggle").await;
        let (before, _) = visible_and_staged(&app).await;
        let entries = vec![hourmark_core::roster::RosterEntry::Existing { volunteer_id: e.volunteer_id }];
        app.hourmark.store().stage_roster("cut-off", 0, entries, app.clock_now()).await.expect("staged");
        assert_eq!(visible_and_staged(&app).await, (before, 1), "staged, not visible");
        assert_eq!(app.hourmark.erase_outlived_data().await.expect("erase").abandoned_roster_rows, 0);
        app.advance(Duration::days(1) + Duration::minutes(1));
        assert_eq!(app.hourmark.erase_outlived_data().await.expect("erase").abandoned_roster_rows, 1);
        assert_eq!(visible_and_staged(&app).await, (before, 0));
    }
}

/// An import whose request goes away part way (the handler's future is dropped) leaves
/// nothing visible, and its staged rows are discarded in the background.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_roster_import_leaves_nothing() {
    let app = TestApp::spawn(hourmark_tests::Backend::Sqlite).await;
    let (admin, org, _) = organisation_with_organiser(&app).await;
    let me = app.get("/api/v1/me", &admin).await;
    let by = hourmark_core::identity::Principal::Staff {
        id: me.body["staff"]["id"].as_i64().expect("id"),
        role: hourmark_core::identity::StaffRole::Administrator,
        organisation_id: None,
    };
    let (before, _) = visible_and_staged(&app).await;
    let file = csv(&roster_rows(5_000, 50_000));
    let import =
        app.hourmark.import_roster(&by, org, file.into(), hourmark_core::roster::SheetEncoding::default(), None);
    tokio::select! {
        done = import => panic!("the import finished before it was interrupted: {:?}", done.map(|r| r.id)),
        () = staging_begun(&app) => {}
    }
    // The import's future is gone here, part way through staging.
    let started = std::time::Instant::now();
    loop {
        let (visible, staged) = visible_and_staged(&app).await;
        assert_eq!(visible, before, "nothing of the interrupted import is visible");
        if staged == 0 {
            break;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(30), "{staged} staged rows left");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

//! The roster and export desks (issue 16) in real Chromium at a 1280×800 desk: an
//! organiser reaches 名册导入 from the bar, a roster with a bad ID number in row 73 is
//! refused on the dry run naming the row (import stays disabled, nothing is written); the
//! corrected roster (as Excel) passes and imports; on 报送导出 the organiser exports the
//! volunteers, the page lists the export, and the CSV and Excel downloads hold what the
//! database holds. Screenshots in `target/browser-artifacts/exchange/`.

use std::collections::BTreeMap;

use hourmark_tests::{Backend, TestApp, next_resident_id};
use serde_json::json;
use sqlx::Row;

use crate::browser_script::{artifacts, run_interactive_browser_script};
use crate::console_officer::browser_session;

const HEADER: [&str; 7] = ["姓名", "证件号码", "手机号码", "技能特长", "同意记录", "同意公示", "告知书版本"];

/// One roster row: name, ID number, phone, skills, consents, notice version.
type RosterRow = [String; 7];

fn roster(rows: u32) -> Vec<RosterRow> {
    (0..rows)
        .map(|i| {
            [
                format!("志愿者{i:02}"),
                next_resident_id(),
                format!("139{:08}", 50_000 + i),
                "急救、翻译".into(),
                "是".into(),
                if i % 2 == 0 { "是" } else { "否" }.into(),
                "纸质-2023".into(),
            ]
        })
        .collect()
}

fn csv(rows: &[RosterRow]) -> String {
    let mut text = format!("{}\r\n", HEADER.join(","));
    for row in rows {
        text.push_str(&format!("{}\r\n", row.join(",")));
    }
    text
}

fn xlsx(rows: &[RosterRow]) -> Vec<u8> {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    for (col, title) in (0u16..).zip(HEADER) {
        sheet.write_string(0, col, title).expect("cell");
    }
    for (r, row) in (1u32..).zip(rows) {
        for (col, cell) in (0u16..).zip(row) {
            sheet.write_string(r, col, cell).expect("cell");
        }
    }
    workbook.save_to_buffer().expect("xlsx")
}

/// Every volunteer on the organisation's roster as stored: name → (volunteer number,
/// gender code, birth month).
async fn roster_in_database(app: &TestApp, org: i64) -> BTreeMap<String, (String, i64, String)> {
    let sql = "select v.name, v.volunteer_number, v.gender, v.birth_month from roster_member m
               join volunteer v on v.id = m.volunteer_id where m.organisation_id = $1";
    let pool = sqlx::SqlitePool::connect(&app.config.database_url).await.expect("connect");
    let rows = sqlx::query(sql).bind(org).fetch_all(&pool).await.expect("read");
    rows.iter()
        .map(|r| {
            (
                r.get::<String, _>("name"),
                (r.get::<String, _>("volunteer_number"), r.get::<i64, _>("gender"), r.get::<String, _>("birth_month")),
            )
        })
        .collect()
}

async fn volunteers_stored(app: &TestApp) -> i64 {
    let pool = sqlx::SqlitePool::connect(&app.config.database_url).await.expect("connect");
    sqlx::query_scalar("select count(*) from volunteer").fetch_one(&pool).await.expect("count")
}

#[tokio::test]
async fn a_roster_is_dry_run_imported_and_exported_at_the_desk_in_chromium() {
    let app = TestApp::spawn_for_browser(Backend::Sqlite).await;
    let admin = app.administrator().await;
    let org = app.organisation(&admin, "翠湖志愿者协会").await;
    let (organiser, _, _) =
        browser_session(&app, &admin, json!({"name": "李组织", "role": "organiser", "organisation_id": org})).await;
    let dir = artifacts("exchange");
    std::fs::create_dir_all(&dir).expect("artifacts");

    // 80 rows; spreadsheet row 73 (the 72nd data row) has a wrong check character.
    let mut rows = roster(80);
    let good_id = rows[71][1].clone();
    let last = if good_id.ends_with('0') { '1' } else { '0' };
    rows[71][1] = format!("{}{last}", &good_id[..17]);
    let bad_file = dir.join("roster-row-73-bad.csv");
    std::fs::write(&bad_file, csv(&rows)).expect("write");
    rows[71][1] = good_id;
    let good_file = dir.join("roster-good.xlsx");
    std::fs::write(&good_file, xlsx(&rows)).expect("write");
    let before = volunteers_stored(&app).await;
    // An import refused for row 73, through the API: the desk lists it among past imports.
    let refused = app
        .upload(
            &format!("/api/v1/organisations/{org}/roster-imports?file_name=%E6%97%A7%E8%8A%B1%E5%90%8D%E5%86%8C.csv"),
            &admin,
            std::fs::read(&bad_file).expect("bad file"),
            "text/csv",
        )
        .await;
    refused.expect_problem(422, "roster_invalid");

    let input = json!({
        "base": app.browser_url(), "artifacts": dir,
        "organiser_cookie": organiser.split_once('=').expect("pair").1,
        "bad_file": bad_file, "good_file": good_file,
    });
    // The script asks how many volunteers are stored right after the refused dry run.
    let run = run_interactive_browser_script("exchange.js", &input, async |message: &serde_json::Value| {
        assert_eq!(message["op"], "volunteers", "{message}");
        json!({"count": volunteers_stored(&app).await})
    })
    .await;
    assert!(run.get("error").is_none(), "the browser run stopped: {run:#}");
    assert_eq!(run["console_errors"], json!([]), "no script errors, no CSP violations: {run:#}");

    // The dry run named row 73, in Chinese, and nothing else; import stayed off.
    assert_eq!(run["bad_facts"], json!(["80", "79", "0", "1"]), "{run:#}");
    let refused = run["bad_refused"].as_array().expect("rows");
    assert_eq!(refused.len(), 1, "{run:#}");
    assert_eq!(refused[0][0], "第 73 行", "{run:#}");
    assert_eq!(refused[0][2], "id_number_invalid", "{run:#}");
    let why = refused[0][1].as_str().expect("why");
    assert!(why.contains("校验") || why.contains("证件") || why.contains("身份证"), "a Chinese reason: {why}");
    assert!(!run.to_string().contains(&rows[71][1][..17]), "no ID number on the page's report");
    assert_eq!(run["bad_import_disabled"], true, "{run:#}");
    assert!(run["bad_status"].as_str().is_some_and(|s| s.contains("1 行不合格")), "{run:#}");
    assert_eq!(run["stored_after_bad"], before, "the refused roster wrote nothing: {run:#}");

    // The good roster imported whole.
    assert_eq!(run["good_status"], "全部 80 行合格，可以导入。", "{run:#}");
    // Past imports: the refused one (by the administrator, through the API) before; the
    // good one first after, marked, with the file's name as the browser gave it.
    let admin_name = app.get("/api/v1/me", &admin).await.body["staff"]["name"].as_str().expect("name").to_owned();
    let refused_row = json!(["refused", false, admin_name, "旧花名册.csv", "80", "0", "0", "1", "未通过校验"]);
    assert_eq!(run["past_before"], json!([refused_row]), "{run:#}");
    assert_eq!(
        run["past_after"],
        json!([["published", true, "李组织", "roster-good.xlsx", "80", "80", "0", "0", "已导入"], refused_row]),
        "{run:#}"
    );
    assert!(run["import_status"].as_str().is_some_and(|s| s.contains("新登记 80 人")), "{run:#}");
    assert_eq!(run["import_disabled_after"], true, "a roster imports once per dry run: {run:#}");
    let stored = roster_in_database(&app, org).await;
    assert_eq!(volunteers_stored(&app).await, before + 80);
    assert_eq!(stored.len(), 80);

    // The export: listed with its count, and the files hold what the database holds.
    assert_eq!(run["export_rows"], json!([["志愿者", "全部未导出过的", "80", "0"]]), "{run:#}");
    assert!(run["export_status"].as_str().is_some_and(|s| s.contains("80 条")), "{run:#}");
    let text = std::fs::read_to_string(run["csv"].as_str().expect("csv path")).expect("csv");
    let mut lines = text.trim_start_matches('\u{feff}').lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    assert_eq!(&header[..4], ["志愿者编号", "姓名", "证件类型", "证件号码"]);
    let col = |name: &str| header.iter().position(|h| *h == name).expect(name);
    let by_name: BTreeMap<&str, &RosterRow> = rows.iter().map(|r| (r[0].as_str(), r)).collect();
    let mut seen = 0;
    for line in lines {
        let cells: Vec<String> = line.split(',').map(|c| c.trim_matches('"').to_owned()).collect();
        let name = cells[col("姓名")].as_str();
        let (number, gender, birth_month) = stored.get(name).unwrap_or_else(|| panic!("{name} is on the roster"));
        let given = by_name[name];
        assert_eq!(&cells[col("志愿者编号")], number, "{line}");
        assert_eq!(cells[col("证件号码")], given[1], "{line}");
        assert_eq!(cells[col("手机号码")], given[2], "{line}");
        assert_eq!(&cells[col("出生年月")], birth_month, "{line}");
        assert_eq!(cells[col("性别")], if *gender == 1 { "男" } else { "女" }, "{line}");
        assert_eq!(cells[col("所属组织")], "翠湖志愿者协会", "{line}");
        seen += 1;
    }
    assert_eq!(seen, 80, "every volunteer on the roster, once: {text}");
    let bytes = std::fs::read(run["xlsx"].as_str().expect("xlsx path")).expect("xlsx");
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("xlsx is a zip");
    let mut sheet = String::new();
    std::io::Read::read_to_string(&mut archive.by_name("xl/worksheets/sheet1.xml").expect("sheet"), &mut sheet)
        .expect("read");
    let mut strings = String::new();
    if let Ok(mut shared) = archive.by_name("xl/sharedStrings.xml") {
        std::io::Read::read_to_string(&mut shared, &mut strings).expect("read");
    }
    for (number, _, _) in stored.values() {
        assert!(sheet.contains(number.as_str()) || strings.contains(number.as_str()), "{number} in the Excel file");
    }
    // Asking again finds nothing new: the page says so and lists no second export.
    assert!(run["again_status"].as_str().is_some_and(|s| s.starts_with("未生成导出：")), "{run:#}");
    let listed = app.get(&format!("/api/v1/organisations/{org}/exchange-exports"), &admin).await;
    assert_eq!(listed.body.as_array().map(Vec::len), Some(1), "{}", listed.body);
}

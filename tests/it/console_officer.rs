//! The officer's and the administrator's console pages in real Chromium: an officer
//! approves an application, confirms one report batch and returns another, downloads the
//! workbook and reveals a volunteer's numbers after the notice; an administrator invites
//! someone (listed at once) and the QR on the page is the invite link, and removes a lost
//! phone's passkey; the officer's links fit a 1024-pixel screen. And the refusals: no session, the
//! wrong role, no CSRF token, a return without a reason.

use chrono::Duration;
use hourmark_tests::{Backend, TestApp, authenticator, next_login, register_at};
use serde_json::{Value, json};

/// A browser session for a new staff member (`body` as `POST /api/v1/staff` takes it):
/// (the cookie pair, the CSRF token, the staff id).
pub(crate) async fn browser_session(app: &TestApp, admin: &str, mut body: Value) -> (String, String, i64) {
    body["login"] = json!(next_login());
    let created = app.post("/api/v1/staff", Some(admin), body).await;
    created.expect_status(201);
    let start =
        app.post("/api/v1/invites/passkey/start", None, json!({ "invite": created.body["invite"]["token"] })).await;
    start.expect_status(200);
    let origin = webauthn_rs::prelude::Url::parse(&app.browser_url()).expect("the staff origin is a URL");
    let credential = register_at(origin, &mut authenticator(), &start.body);
    let response = app
        .client
        .post(app.url("/api/v1/invites/passkey/finish-browser"))
        .json(&json!({ "ceremony_id": start.body["ceremony_id"], "credential": credential }))
        .send()
        .await
        .expect("finish");
    assert_eq!(response.status().as_u16(), 201);
    let set_cookie = response.headers()["set-cookie"].to_str().expect("ascii").to_owned();
    let body: Value = response.json().await.expect("json");
    let pair = set_cookie.split(';').next().expect("pair").to_owned();
    (pair, body["csrf_token"].as_str().expect("csrf").to_owned(), body["staff"]["id"].as_i64().expect("id"))
}

/// Two organisations in Wuhua district, each with an activity one volunteer served three
/// hours at, finalised and past publicity: (the administrator's token, the organisations,
/// the volunteers' ids).
async fn two_recorded_organisations(app: &TestApp) -> (String, [i64; 2], [i64; 2]) {
    let (admin, mut admin_key) = app.administrator_with_passkey().await;
    let mut organisations = [0; 2];
    let mut volunteers = [0; 2];
    let mut served = Vec::new();
    for (i, (org_name, activity_name, person, phone)) in [
        ("翠湖志愿者协会", "翠湖公园清洁", "张三", "13800001234"),
        ("大观志愿者协会", "大观河清洁", "李四", "13800005678"),
    ]
    .into_iter()
    .enumerate()
    {
        let org = app.organisation(&admin, org_name).await;
        let organiser = app.organiser(&admin, org).await;
        let activity =
            app.activity(&organiser, org, json!({ "name": activity_name })).await["id"].as_i64().expect("id");
        let recorder = crate::review::recorder(app, &admin, org).await;
        let (id, volunteer) = app.volunteer(person, phone).await;
        organisations[i] = org;
        volunteers[i] = id;
        served.push((organiser, activity, recorder, volunteer));
    }
    for _ in 0..2 {
        for (organiser, activity, _, volunteer) in &served {
            let url = app.code(organiser, *activity, 0, "toggle").await["url"].as_str().expect("url").to_owned();
            app.scan(volunteer, &url).await.expect_status(200);
        }
        app.advance(Duration::hours(3));
    }
    app.advance(Duration::hours(5));
    for (_, activity, recorder, _) in &served {
        app.post(&format!("/api/v1/activities/{activity}/finalise"), Some(recorder), json!({}))
            .await
            .expect_status(201);
    }
    app.advance(Duration::days(4) + Duration::hours(4));
    assert_eq!(app.hourmark.advance_publicity().await.expect("job"), 2);
    // The tokens of days ago have lapsed: the administrator signs in again.
    let admin = app.sign_in("admin", &mut admin_key).await.expect("passkey").body["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    (admin, organisations, volunteers)
}

async fn batch_status(app: &TestApp, admin: &str, id: i64) -> String {
    let batches = app.get("/api/v1/report-batches", admin).await;
    let batch = batches.body.as_array().expect("list").iter().find(|b| b["id"] == id).cloned().expect("batch");
    batch["status"].as_str().expect("status").to_owned()
}

/// Reads every worksheet of an XLSX file: (the workbook's sheet names, each sheet's XML).
fn workbook(bytes: &[u8]) -> (String, Vec<String>) {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).expect("an XLSX is a zip");
    let mut read = |name: &str| {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut zip.by_name(name).ok()?, &mut text).expect("utf-8");
        Some(text)
    };
    let names = read("xl/workbook.xml").expect("workbook.xml");
    let sheets = (1..).map_while(|i| read(&format!("xl/worksheets/sheet{i}.xml"))).collect();
    (names, sheets)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn officer_and_administrator_pages_in_chromium() {
    let app = TestApp::spawn_for_browser(Backend::Sqlite).await;
    let (admin, organisations, volunteers) = two_recorded_organisations(&app).await;
    let mut batches = Vec::new();
    for org in organisations {
        let organiser = app.organiser(&admin, org).await;
        let sent = app.post(&format!("/api/v1/organisations/{org}/report-batches"), Some(&organiser), json!({})).await;
        sent.expect_status(201);
        batches.push(sent.body["id"].as_i64().expect("id"));
    }
    let (to_confirm, to_return) = (batches[0], batches[1]);

    // An application in Wuhua, checked by the district: the city approves it.
    let applied = app
        .post("/api/v1/organisations/applications", None, json!({"name": "五华社区服务中心", "region_code": "530102"}))
        .await;
    applied.expect_status(201);
    let application = applied.body["id"].as_i64().expect("id");
    let wuhua = app.staff(&admin, json!({"name": "五华民政", "role": "officer", "region_code": "530102"})).await;
    app.post(&format!("/api/v1/organisations/{application}/check"), Some(&wuhua), json!({})).await.expect_status(200);

    // A recorder whose annual review falls due this month.
    let due = app
        .post("/api/v1/staff", Some(&admin), json!({
            "name": "钱记录", "login": next_login(), "role": "recorder", "organisation_id": organisations[0],
            "qualification": {"certificate_number": "YN-2025-0042", "issued_on": "2025-12-01", "review_due_on": "2026-12-31"}
        }))
        .await;
    due.expect_status(201);
    let recorder_id = due.body["staff"]["id"].as_i64().expect("id");

    let (officer, officer_csrf, officer_id) =
        browser_session(&app, &admin, json!({"name": "昆明民政", "role": "officer", "region_code": "530100"})).await;
    let (administrator, _, _) =
        browser_session(&app, &admin, json!({"name": "第二管理员", "role": "administrator"})).await;
    let (league, _, _) = browser_session(
        &app,
        &admin,
        json!({"name": "省团委", "role": "officer", "region_code": "530000", "agency": "youth_league"}),
    )
    .await;
    // Someone whose phone is lost: the administrator removes its passkey from the page.
    let (lost_phone, _, lost_phone_id) = browser_session(
        &app,
        &admin,
        json!({"name": "孙丢机", "role": "organiser", "organisation_id": organisations[1]}),
    )
    .await;
    let (organiser, organiser_csrf, _) = browser_session(
        &app,
        &admin,
        json!({"name": "李组织", "role": "organiser", "organisation_id": organisations[0]}),
    )
    .await;

    // Refusals first, so the browser run starts from untouched batches.
    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let page = no_redirects.get(app.url("/console/batches")).send().await.expect("page");
    assert_eq!(page.status().as_u16(), 303, "no session: to sign-in");
    assert_eq!(page.headers()["location"], "/staff/sign-in?next=/console/batches");
    for path in [
        "/console/organisations",
        "/console/batches",
        "/console/volunteers",
        "/console/recorders",
        "/console/regional-days",
        "/console/staff",
        "/console/calendar",
    ] {
        let page = app.client.get(app.url(path)).header("cookie", &organiser).send().await.expect("page");
        assert_eq!(page.status().as_u16(), 403, "{path} as an organiser");
        assert!(page.text().await.expect("html").contains("此页面仅供"), "{path} says whose it is");
    }
    let officer_page = app.client.get(app.url("/console/staff")).header("cookie", &officer).send().await.expect("page");
    assert_eq!(officer_page.status().as_u16(), 403, "the staff page is the administrator's");
    let post = |path: String, cookie: &str, csrf: Option<&str>, body: Value| {
        let mut request = app.client.post(app.url(&path)).header("cookie", cookie).json(&body);
        if let Some(csrf) = csrf {
            request = request.header("x-csrf-token", csrf);
        }
        async move {
            let response = request.send().await.expect("post");
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            (status, body["code"].as_str().unwrap_or_default().to_owned())
        }
    };
    let confirm = format!("/api/v1/report-batches/{to_confirm}/confirm");
    let give_back = format!("/api/v1/report-batches/{to_return}/return");
    assert_eq!(post(confirm.clone(), &organiser, Some(&organiser_csrf), json!({})).await, (403, "forbidden".into()));
    assert_eq!(post(confirm.clone(), &officer, None, json!({})).await, (403, "csrf_invalid".into()));
    assert_eq!(
        post(give_back.clone(), &officer, Some(&officer_csrf), json!({"reason": "  "})).await,
        (422, "invalid_body".into())
    );
    assert_eq!(batch_status(&app, &admin, to_confirm).await, "submitted", "nothing changed");
    assert_eq!(batch_status(&app, &admin, to_return).await, "submitted", "nothing changed");

    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let artifacts = root.join("../target/browser-artifacts/officer");
    let staff_login = next_login();
    let input = json!({
        "base": app.browser_url(), "artifacts": artifacts,
        "officer_cookie": officer.split_once('=').expect("pair").1,
        "admin_cookie": administrator.split_once('=').expect("pair").1,
        "application": "五华社区服务中心", "confirm_batch": to_confirm, "return_batch": to_return,
        "return_reason": "请补充服务对象", "volunteer_id": volunteers[0],
        "invite_name": "赵新人", "invite_login": staff_login, "recorder_id": recorder_id,
        "regional_day": "2026-12-21", "regional_name": "地方纪念日", "lost_phone_id": lost_phone_id,
        "league_cookie": league.split_once('=').expect("pair").1,
    });
    let output = tokio::process::Command::new("node")
        .arg(root.join("browser/officer.js"))
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
    assert_eq!(result["console_errors"], json!([]), "no script errors, no CSP violations");

    // The application, approved from the page.
    assert_eq!(result["approved_state"], "已批准");
    let public = app.call(reqwest::Method::GET, "/api/v1/public/organisations", None, None).await;
    assert!(public.body.as_array().expect("list").iter().any(|o| o["id"] == application && o["status"] == "approved"));

    // One batch confirmed, the other returned with the reason typed.
    assert_eq!(result["empty_return_kept_pending"], true, "the form wants a reason before anything is sent");
    assert_eq!(batch_status(&app, &admin, to_confirm).await, "confirmed");
    assert_eq!(batch_status(&app, &admin, to_return).await, "returned");
    let returned = app.get("/api/v1/report-batches", &admin).await;
    let returned =
        returned.body.as_array().expect("list").iter().find(|b| b["id"] == to_return).cloned().expect("batch");
    assert_eq!(returned["reason"], "请补充服务对象");
    let states = result["batch_states"].as_array().expect("states");
    assert!(states.iter().any(|s| s.as_str().is_some_and(|s| s.starts_with("已确认"))), "{states:?}");
    assert!(states.iter().any(|s| s.as_str().is_some_and(|s| s.contains("请补充服务对象"))), "{states:?}");
    assert_eq!(result["batch_durations"], json!(["3小时", "3小时"]));

    // The workbook downloaded from the page: one sheet per batch, the rows the batch holds.
    let bytes = std::fs::read(result["xlsx"].as_str().expect("path")).expect("the download");
    let (names, sheets) = workbook(&bytes);
    assert!(names.contains(&format!("批次{to_confirm}（已确认）")), "{names}");
    assert!(names.contains(&format!("批次{to_return}（已退回）")), "{names}");
    assert_eq!(sheets.len(), 2, "{names}");
    let confirmed = sheets.iter().find(|s| s.contains("张三")).expect("the confirmed batch's sheet");
    for cell in ["登记序号", "翠湖公园清洁", "2026-12-05", "<v>180</v>", "翠湖志愿者协会"] {
        assert!(confirmed.contains(cell), "{cell} in {confirmed}");
    }
    assert!(!confirmed.contains("李四"), "only the batch's own rows");
    // And the confirmed batch alone, from its row.
    let bytes = std::fs::read(result["batch_xlsx"].as_str().expect("path")).expect("the download");
    let (names, sheets) = workbook(&bytes);
    assert_eq!(sheets.len(), 1, "{names}");
    assert!(names.contains(&format!("批次{to_confirm}（已确认）")), "{names}");
    assert!(sheets[0].contains("张三") && !sheets[0].contains("李四"), "{}", sheets[0]);

    // The reveal: announced before, recorded after, and the page says so.
    assert!(result["masked"]["phone"].as_str().expect("phone").contains('*'), "{}", result["masked"]);
    assert!(result["reveal_notice"].as_str().expect("dialog").starts_with("此操作将被记录："));
    assert_eq!(result["revealed"]["phone"], "13800001234");
    assert!(!result["revealed"]["id_number"].as_str().expect("id").contains('*'));
    assert!(result["revealed"]["status"].as_str().expect("status").contains("已记入审计记录"));
    assert!(result["revealed"]["audit_row"].as_str().expect("row").contains("查看了完整身份证号和手机号"));
    let audit = app.hourmark.store().audit_events("volunteer", volunteers[0]).await.expect("audit");
    let reads: Vec<_> = audit.iter().filter(|a| a.action == "personal_data_read").collect();
    assert_eq!(reads.len(), 1, "one reveal, one entry: {audit:?}");
    assert_eq!(reads[0].actor_id, Some(officer_id));
    assert!(result["volunteers_listed"].as_array().is_some_and(|v| v.len() == 2), "{}", result["volunteers_listed"]);

    // The invite: the QR on the page is the link shown, and the link is a working invite.
    let url = result["invite_url"].as_str().expect("url");
    let qr = image::open(result["invite_qr_shot"].as_str().expect("path")).expect("screenshot").to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(qr);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "one code on the canvas");
    assert_eq!(grids[0].decode().expect("decodes").1, url);
    let token = url.rsplit_once("invite=").expect("the token is in the link").1;
    app.post("/api/v1/invites/passkey/start", None, json!({ "invite": token })).await.expect_status(200);
    let staff = app.get("/api/v1/staff", &admin).await;
    assert!(staff.body.as_array().expect("list").iter().any(|s| s["staff"]["login"] == staff_login.as_str()));
    assert!(result["reinvite_url"].as_str().is_some_and(|u| u.contains("invite=") && u != url));
    assert_eq!(result["invited_row_before_reload"], 1, "the new person is listed at once");

    // The lost phone's passkey: listed, removed after the warning, and the person is out.
    let listed = result["passkeys_listed"].as_array().expect("list");
    assert!(listed.len() == 1 && listed[0].as_str().is_some_and(|l| l.contains("通行密钥") && l.contains("删除")));
    assert_eq!(result["passkeys_expanded"], "true");
    assert!(result["passkey_removal_notice"].as_str().expect("dialog").contains("删除后此人需重新邀请才能登录"));
    assert!(result["passkey_removed_status"].as_str().expect("status").contains("登录已全部失效"));
    assert!(result["passkeys_after"].as_str().expect("row").contains("需重新邀请"));
    assert!(app.hourmark.store().passkeys(lost_phone_id).await.expect("passkeys").is_empty());
    let page = no_redirects.get(app.url("/console")).header("cookie", &lost_phone).send().await.expect("page");
    assert_eq!(page.status().as_u16(), 303, "the lost phone's session ended");
    assert_eq!(result["officer_nav_one_line"], true, "the officer's links fit a 1024-pixel screen");

    // The Youth League officer: what they approve, and who handles the rest.
    assert!(result["league_organisations"].as_str().expect("text").contains("由省团委批准"));
    assert_eq!(result["league_batches"]["status"], 403);
    assert!(result["league_batches"]["text"].as_str().expect("text").contains("报送批次的确认和退回由民政部门办理"));

    // The annual review recorded from the page, and the regional day set there.
    assert_eq!(result["recorder_after"], json!({"state": "有效", "due": "2027年12月31日"}));
    let history = app.get(&format!("/api/v1/staff/{recorder_id}/qualification"), &wuhua).await;
    history.expect_status(200);
    assert_eq!(history.body["history"].as_array().map(Vec::len), Some(1), "{}", history.body);
    assert_eq!(result["regional_days"], json!(["2026年12月21日 放假 地方纪念日 删除"]));
    let days = app
        .call(
            reqwest::Method::GET,
            "/api/v1/public/calendar/days?region_code=530102&from=2026-12-21&to=2026-12-21",
            None,
            None,
        )
        .await;
    assert_eq!(days.body["days"][0]["reason"], "regional_day_off", "{}", days.body);
}

//! The volunteers who served in an officer's region: the store's query on both engines
//! (region by prefix, search by number, pages by cursor), the use case's masking and
//! refusals, and the page; and a Youth League officer on each officer page.

use hourmark_tests::{Backend, TestApp, on_both_backends};
use serde_json::json;

/// An approved organisation in `region_code` with an activity: (organiser's token, activity).
async fn organisation_in(app: &TestApp, admin: &str, name: &str, region_code: &str) -> (String, i64) {
    let created =
        app.post("/api/v1/organisations", Some(admin), json!({"name": name, "region_code": region_code})).await;
    created.expect_status(201);
    let org = created.body["id"].as_i64().expect("id");
    let organiser = app.organiser(admin, org).await;
    let activity = app.activity(&organiser, org, json!({})).await["id"].as_i64().expect("id");
    (organiser, activity)
}

/// A volunteer who scanned in at `activity`: (id, volunteer number).
async fn served(app: &TestApp, organiser: &str, activity: i64, name: &str, phone: &str) -> (i64, String) {
    let (id, token) = app.volunteer(name, phone).await;
    let url = app.code(organiser, activity, 0, "toggle").await["url"].as_str().expect("url").to_owned();
    app.scan(&token, &url).await.expect_status(200);
    let stored = app.hourmark.store().get_volunteer(id).await.expect("read").expect("stored");
    (id, stored.volunteer_number)
}

/// Two volunteers served in Wuhua (Kunming), one in Qujing; one registered and never served.
async fn three_served(app: &TestApp) -> (String, Vec<(i64, String)>, (i64, String)) {
    let admin = app.administrator().await;
    let (wuhua, wuhua_activity) = organisation_in(app, &admin, "翠湖志愿者协会", "530102").await;
    let (qujing, qujing_activity) = organisation_in(app, &admin, "麒麟志愿者协会", "530302").await;
    let mut kunming = vec![
        served(app, &wuhua, wuhua_activity, "张三", "13800001111").await,
        served(app, &wuhua, wuhua_activity, "李四", "13800002222").await,
    ];
    kunming.sort_by(|a, b| a.1.cmp(&b.1));
    let elsewhere = served(app, &qujing, qujing_activity, "王五", "13800003333").await;
    app.volunteer("赵六", "13800004444").await;
    (admin, kunming, elsewhere)
}

on_both_backends! {
    async fn the_store_lists_a_regions_volunteers_by_number_a_page_at_a_time(app: TestApp) {
        let (_, kunming, elsewhere) = three_served(&app).await;
        let store = app.hourmark.store();
        let ids = |v: &[(i64, String)]| v.iter().map(|(id, _)| *id).collect::<Vec<_>>();
        assert_eq!(store.volunteers_served_in("5301", "", "", 10).await.expect("city"), ids(&kunming));
        assert_eq!(store.volunteers_served_in("530102", "", "", 10).await.expect("district"), ids(&kunming));
        assert_eq!(store.volunteers_served_in("530103", "", "", 10).await.expect("district"), Vec::<i64>::new());
        let province = store.volunteers_served_in("53", "", "", 10).await.expect("province");
        assert_eq!(province.len(), 3, "the one who never served is nobody's: {province:?}");
        assert!(province.contains(&elsewhere.0));
        // One a page: the cursor is the last number shown.
        let first = store.volunteers_served_in("5301", "", "", 1).await.expect("page 1");
        assert_eq!(first, vec![kunming[0].0]);
        let second = store.volunteers_served_in("5301", "", &kunming[0].1, 1).await.expect("page 2");
        assert_eq!(second, vec![kunming[1].0]);
        assert!(store.volunteers_served_in("5301", "", &kunming[1].1, 1).await.expect("page 3").is_empty());
        // By number: the whole number, or its first digits.
        let number = &kunming[1].1;
        assert_eq!(store.volunteers_served_in("5301", number, "", 10).await.expect("search"), vec![kunming[1].0]);
        let found = store.volunteers_served_in("5301", &number[..3], "", 10).await.expect("prefix");
        assert!(found.contains(&kunming[1].0), "{found:?}");
        assert!(store.volunteers_served_in("5303", number, "", 10).await.expect("search").is_empty());
    }
}

on_both_backends! {
    async fn an_officer_reads_their_regions_volunteers_masked(app: TestApp) {
        let (admin, kunming, elsewhere) = three_served(&app).await;
        let officer = app.staff(&admin, json!({"name": "昆明民政", "role": "officer", "region_code": "530100"})).await;
        let by = app.hourmark.authenticate(&officer).await.expect("the officer's token");
        let page = app.hourmark.volunteers_served_in_region(&by, "", None).await.expect("the list");
        let numbers: Vec<_> = page.volunteers.iter().map(|v| v.volunteer_number.clone()).collect();
        assert_eq!(numbers, vec![kunming[0].1.clone(), kunming[1].1.clone()]);
        assert!(!numbers.contains(&elsewhere.1), "Qujing's volunteer is not Kunming's");
        assert!(page.volunteers.iter().all(|v| v.phone.contains('*') && v.id_number.contains('*')), "masked");
        assert_eq!(page.next, None, "one page holds them");
        let found = app.hourmark.volunteers_served_in_region(&by, &kunming[1].1, None).await.expect("search");
        assert_eq!(found.volunteers.len(), 1);
        assert_eq!(found.volunteers[0].id, kunming[1].0);
        let refused = app.hourmark.volunteers_served_in_region(&by, "HM12", None).await.expect_err("not digits");
        assert_eq!(refused.error_code().as_str(), "invalid_parameter");
        // Nobody's volunteers appear through anybody else.
        let administrator = app.hourmark.authenticate(&admin).await.expect("admin");
        let refused = app.hourmark.volunteers_served_in_region(&administrator, "", None).await.expect_err("no region");
        assert_eq!(refused.error_code().as_str(), "forbidden");
    }
}

/// A console session for a staff member `body` describes: the cookie pair.
async fn cookie_for(app: &TestApp, admin: &str, body: serde_json::Value) -> String {
    crate::console_officer::browser_session(app, admin, body).await.0
}

#[tokio::test]
async fn the_volunteers_page_searches_by_number_and_pages() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (admin, kunming, _) = three_served(&app).await;
    let officer =
        cookie_for(&app, &admin, json!({"name": "昆明民政", "role": "officer", "region_code": "530100"})).await;
    let page = |query: String| {
        let request = app.client.get(app.url(&format!("/console/volunteers{query}"))).header("cookie", &officer);
        async move {
            let response = request.send().await.expect("page");
            (response.status().as_u16(), response.text().await.expect("html"))
        }
    };
    let (status, all) = page(String::new()).await;
    assert_eq!(status, 200, "{all}");
    assert!(all.contains("张三") && all.contains("李四") && !all.contains("王五"), "{all}");
    assert!(all.contains("138****1111"), "masked: {all}");
    assert!(!all.contains("下一页"), "one page");
    let name_of = |id: i64| {
        let store = app.hourmark.store();
        async move { store.get_volunteer(id).await.expect("read").expect("stored").name }
    };
    let (first, second) = (name_of(kunming[0].0).await, name_of(kunming[1].0).await);
    let (status, one) = page(format!("?number={}", kunming[1].1)).await;
    assert_eq!(status, 200);
    assert!(one.contains(&second) && !one.contains(&first), "{one}");
    let (status, after) = page(format!("?after={}", kunming[0].1)).await;
    assert_eq!(status, 200);
    assert!(after.contains(&second) && !after.contains(&first) && after.contains("第一页"), "{after}");
    let (status, wrong) = page("?number=HM12".into()).await;
    assert_eq!(status, 200);
    assert!(wrong.contains("志愿者编号只含数字"), "{wrong}");
}

#[tokio::test]
async fn a_youth_league_officer_is_told_which_department_handles_each_page() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let admin = app.administrator().await;
    // A university group in Kunming, checked by Wuhua's civil affairs: the province's
    // Youth League approves it.
    let applied = app
        .post(
            "/api/v1/organisations/applications",
            None,
            json!({"name": "云南大学青年志愿者协会", "region_code": "530102", "kind": "university"}),
        )
        .await;
    applied.expect_status(201);
    let university = applied.body["id"].as_i64().expect("id");
    let wuhua = app.staff(&admin, json!({"name": "五华民政", "role": "officer", "region_code": "530102"})).await;
    app.post(&format!("/api/v1/organisations/{university}/check"), Some(&wuhua), json!({})).await.expect_status(200);
    app.post(
        "/api/v1/organisations/applications",
        None,
        json!({"name": "五华大学志愿者协会", "region_code": "530102", "kind": "university"}),
    )
    .await
    .expect_status(201);
    let league = cookie_for(
        &app,
        &admin,
        json!({"name": "省团委", "role": "officer", "region_code": "530000", "agency": "youth_league"}),
    )
    .await;
    let open = |path: &'static str| {
        let request = app.client.get(app.url(path)).header("cookie", &league);
        async move {
            let response = request.send().await.expect("page");
            let status = response.status().as_u16();
            let kind = response.headers()["content-type"].to_str().expect("ascii").to_owned();
            (status, kind, response.text().await.expect("html"))
        }
    };

    let (status, kind, organisations) = open("/console/organisations").await;
    assert_eq!((status, kind.starts_with("text/html")), (200, true), "{organisations}");
    assert!(organisations.contains("云南大学青年志愿者协会") && organisations.contains("data-action=\"approve\""));
    assert!(organisations.contains("由省团委批准"), "the page says what the Youth League does");
    let bar = organisations.split("</nav>").next().expect("the page bar");
    assert!(bar.contains(r#"<span class="who">团委</span>"#), "named as the Youth League: {bar}");
    assert!(bar.contains(r#"href="/console/organisations""#), "{bar}");
    for civil_affairs in ["/console/batches", "/console/volunteers", "/console/recorders", "/console/regional-days"] {
        assert!(!bar.contains(civil_affairs), "no link to civil affairs' {civil_affairs}: {bar}");
    }
    assert!(!organisations.contains("data-action=\"check\""), "checking is civil affairs'");
    assert!(organisations.contains("待民政部门初审"), "{organisations}");
    assert!(!organisations.contains("revoke-form"), "so is revoking");

    for (path, work) in [
        ("/console/batches", "报送批次的确认和退回由民政部门办理"),
        ("/console/volunteers", "辖区志愿者的查看由民政部门办理"),
        ("/console/recorders", "记录员的年审和续证由民政部门办理"),
        ("/console/regional-days", "地方放假和调休日期的设置由民政部门办理"),
    ] {
        let (status, kind, html) = open(path).await;
        assert_eq!(status, 403, "{path}: {html}");
        assert!(kind.starts_with("text/html"), "{path} answers a page, not {kind}");
        assert!(html.contains(work), "{path} says who handles it: {html}");
        assert!(html.contains("记录机构"), "{path} says where the Youth League's work is");
    }
}

//! Recording organisations: apply → checked by the region → approved by the level above →
//! public list; revocation stops recording at once and keeps history; officers act only
//! within their region.

use hourmark_tests::on_both_backends;
use serde_json::json;

async fn officer(app: &hourmark_tests::TestApp, admin: &str, region: &str) -> String {
    app.staff(admin, json!({"name": "民政", "role": "officer", "region_code": region})).await
}

on_both_backends! {
    async fn an_organisation_records_only_while_approved(app: TestApp) {
        let admin = app.administrator().await;
        let wuhua = officer(&app, &admin, "530102").await;
        let panlong = officer(&app, &admin, "530103").await;
        let kunming = officer(&app, &admin, "530100").await;
        let yunnan = officer(&app, &admin, "530000").await;
        app.post("/api/v1/staff", Some(&admin), json!({"name": "x", "login": "officer.x", "role": "officer"})).await
            .expect_problem(422, "invalid_body");

        let applied = app.post("/api/v1/organisations/applications", None,
            json!({"name": "翠湖社区志愿服务站", "region_code": "530102"})).await;
        applied.expect_status(201);
        assert_eq!(applied.body["status"], "applied");
        let id = applied.body["id"].as_i64().expect("id");
        let public = app.call(reqwest::Method::GET, "/api/v1/public/organisations", None, None).await;
        assert!(public.body.as_array().expect("list").iter().all(|o| o["id"] != id), "not public before approval");

        // It may plan an activity, but check-in stays shut.
        let organiser = app.organiser(&admin, id).await;
        let activity = app.activity(&organiser, id, json!({})).await;
        let activity_id = activity["id"].as_i64().expect("id");
        assert_eq!(activity["organisation_approved"], false);
        let (_, volunteer) = app.volunteer("张三", "13800001234").await;
        let url = app.code(&organiser, activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
        app.scan(&volunteer, &url).await.expect_problem(409, "organisation_not_approved");

        // Out of region: unknown. Wrong order or wrong level: refused, nothing changes.
        app.post(&format!("/api/v1/organisations/{id}/check"), Some(&panlong), json!({})).await
            .expect_problem(404, "not_found");
        app.post(&format!("/api/v1/organisations/{id}/approve"), Some(&kunming), json!({})).await
            .expect_problem(409, "organisation_status_conflict");
        app.post(&format!("/api/v1/organisations/{id}/check"), Some(&organiser), json!({})).await
            .expect_problem(403, "forbidden");
        app.post(&format!("/api/v1/organisations/{id}/check"), Some(&kunming), json!({})).await
            .expect_problem(403, "forbidden");
        let checked = app.post(&format!("/api/v1/organisations/{id}/check"), Some(&wuhua), json!({})).await;
        checked.expect_status(200);
        assert_eq!(checked.body["status"], "checked");
        app.post(&format!("/api/v1/organisations/{id}/approve"), Some(&wuhua), json!({})).await
            .expect_problem(403, "forbidden");
        app.post(&format!("/api/v1/organisations/{id}/approve"), Some(&yunnan), json!({})).await
            .expect_problem(403, "forbidden");
        let approved = app.post(&format!("/api/v1/organisations/{id}/approve"), Some(&kunming), json!({})).await;
        approved.expect_status(200);
        assert_eq!(approved.body["status"], "approved");
        let public = app.call(reqwest::Method::GET, "/api/v1/public/organisations", None, None).await;
        assert!(public.body.as_array().expect("list").iter().any(|o| o["id"] == id));

        // Approved: check-in opens at once.
        app.scan(&volunteer, &url).await.expect_status(200);

        // Revoked: no reason, no revocation; with one, recording stops at once.
        app.post(&format!("/api/v1/organisations/{id}/revoke"), Some(&yunnan), json!({"reason": " "})).await
            .expect_problem(422, "invalid_body");
        let revoked = app.post(&format!("/api/v1/organisations/{id}/revoke"), Some(&yunnan), json!({"reason": "弄虚作假"})).await;
        revoked.expect_status(200);
        assert_eq!(revoked.body["status"], "revoked");
        app.advance(chrono::Duration::minutes(5));
        let url = app.code(&organiser, activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
        app.scan(&volunteer, &url).await.expect_problem(409, "organisation_not_approved");
        // History stays: the organisation and its scans are still there.
        let listed = app.get("/api/v1/organisations", &kunming).await;
        assert!(listed.body.as_array().expect("list").iter().any(|o| o["id"] == id && o["status"] == "revoked"));
        assert_eq!(app.sessions(&organiser, activity_id).await.len(), 1);
        app.post(&format!("/api/v1/organisations/{id}/revoke"), Some(&yunnan), json!({"reason": "again"})).await
            .expect_problem(409, "organisation_status_conflict");
    }
}

on_both_backends! {
    async fn university_groups_are_approved_by_the_provincial_youth_league(app: TestApp) {
        let admin = app.administrator().await;
        let wuhua = officer(&app, &admin, "530102").await;
        let kunming = officer(&app, &admin, "530100").await;
        let yunnan = officer(&app, &admin, "530000").await;
        let league = |region: &'static str| {
            let (app, admin) = (&app, admin.clone());
            async move {
                app.staff(&admin, json!({"name": "团委", "role": "officer", "region_code": region, "agency": "youth_league"}))
                    .await
            }
        };
        let yunnan_league = league("530000").await;
        let kunming_league = league("530100").await;
        assert_eq!(app.get("/api/v1/me", &yunnan_league).await.body["staff"]["agency"], "youth_league");
        assert_eq!(app.get("/api/v1/me", &yunnan).await.body["staff"]["agency"], "civil_affairs");

        let applied = app.post("/api/v1/organisations/applications", None,
            json!({"name": "云南大学青年志愿者协会", "region_code": "530102", "kind": "university"})).await;
        let id = applied.body["id"].as_i64().expect("id");
        let general = app.post("/api/v1/organisations/applications", None,
            json!({"name": "翠湖社区志愿服务站", "region_code": "530102"})).await.body["id"].as_i64().expect("id");
        // The region's civil-affairs department checks; the League does not.
        app.post(&format!("/api/v1/organisations/{id}/check"), Some(&yunnan_league), json!({})).await
            .expect_problem(403, "forbidden");
        app.post(&format!("/api/v1/organisations/{id}/check"), Some(&wuhua), json!({})).await.expect_status(200);
        app.post(&format!("/api/v1/organisations/{general}/check"), Some(&wuhua), json!({})).await.expect_status(200);
        // The League sees the university group, not the general one.
        let listed = app.get("/api/v1/organisations", &yunnan_league).await;
        let ids: Vec<i64> = listed.body.as_array().expect("list").iter().filter_map(|o| o["id"].as_i64()).collect();
        assert_eq!(ids, vec![id]);

        // Approval: the provincial League; not civil affairs at any level, not a city League.
        for wrong in [&kunming, &yunnan, &kunming_league] {
            app.post(&format!("/api/v1/organisations/{id}/approve"), Some(wrong), json!({})).await
                .expect_problem(403, "forbidden");
        }
        let approved = app.post(&format!("/api/v1/organisations/{id}/approve"), Some(&yunnan_league), json!({})).await;
        approved.expect_status(200);
        assert_eq!(approved.body["kind"], "university");
        // The League approves nothing else, revokes nothing, and oversees no volunteers.
        app.post(&format!("/api/v1/organisations/{general}/approve"), Some(&kunming_league), json!({})).await
            .expect_problem(404, "not_found");
        app.post(&format!("/api/v1/organisations/{id}/revoke"), Some(&yunnan_league), json!({"reason": "x"})).await
            .expect_problem(403, "forbidden");
        app.get("/api/v1/corrections", &yunnan_league).await.expect_problem(403, "forbidden");
        app.post(&format!("/api/v1/organisations/{general}/approve"), Some(&kunming), json!({})).await
            .expect_status(200);

        // Only officers speak for a body.
        app.post("/api/v1/staff", Some(&admin),
            json!({"name": "x", "login": "org.x", "role": "administrator", "agency": "youth_league"})).await
            .expect_problem(422, "invalid_body");
        app.post("/api/v1/organisations/applications", None, json!({"name": "x", "region_code": "5301"})).await
            .expect_problem(422, "invalid_body");
        app.post("/api/v1/organisations/applications", None, json!({"name": "云南大学青年志愿者协会", "region_code": "530102"})).await
            .expect_problem(409, "organisation_name_taken");
    }
}

on_both_backends! {
    async fn recorders_carry_a_certificate_that_lapses_after_its_review_date(app: TestApp) {
        let admin = app.administrator().await;
        let org = app.organisation(&admin, "翠湖志愿者协会").await;
        let recorder = |due: &str| json!({
            "name": "王记录", "login": hourmark_tests::next_login(), "role": "recorder", "organisation_id": org,
            "qualification": {"certificate_number": "YN-2025-0001", "issued_on": "2025-12-01", "review_due_on": due}
        });
        // The test day is 2026-12-05.
        let current = app.staff(&admin, recorder("2026-12-05")).await;
        let lapsed = app.staff(&admin, recorder("2026-12-04")).await;

        let me = app.get("/api/v1/me", &current).await;
        me.expect_status(200);
        assert_eq!(me.body["staff"]["role"], "recorder");
        assert_eq!(me.body["staff"]["qualification"]["certificate_number"], "YN-2025-0001");
        assert_eq!(me.body["qualification_valid"], true);
        assert_eq!(app.get("/api/v1/me", &lapsed).await.body["qualification_valid"], false);
        // Finalising and issuing (later issues) are gated on a valid qualification.
        let current_principal = app.hourmark.authenticate(&current).await.expect("signed in");
        let lapsed_principal = app.hourmark.authenticate(&lapsed).await.expect("signed in");
        assert!(app.hourmark.require_qualified_recorder(&current_principal).await.is_ok());
        let refused = app.hourmark.require_qualified_recorder(&lapsed_principal).await.expect_err("lapsed");
        assert_eq!(refused.error_code(), hourmark_core::ErrorCode::Forbidden);
        let admin_principal = app.hourmark.authenticate(&admin).await.expect("signed in");
        assert!(app.hourmark.require_qualified_recorder(&admin_principal).await.is_err());

        // A lapsed recorder still reads.
        let activity = app.activity(&admin, org, json!({})).await["id"].as_i64().expect("id");
        app.get(&format!("/api/v1/activities/{activity}/sessions"), &lapsed).await.expect_status(200);

        // A recorder needs a certificate; nobody else has one.
        app.post("/api/v1/staff", Some(&admin), json!({"name": "x", "login": "recorder.x", "role": "recorder", "organisation_id": org})).await
            .expect_problem(422, "invalid_body");
        let mut organiser = recorder("2026-12-05");
        organiser["role"] = json!("organiser");
        app.post("/api/v1/staff", Some(&admin), organiser).await.expect_problem(422, "invalid_body");
        app.post("/api/v1/staff", Some(&admin), recorder("2025-11-30")).await.expect_problem(422, "invalid_body");
    }
}

/// In production an administrator's organisation is an application: it goes through check
/// and approval like any other, and its activities take no scans until it is approved.
async fn in_production_an_administrators_organisation_must_be_approved(backend: hourmark_tests::Backend) {
    let database = std::sync::Arc::new(hourmark_tests::TestDatabase::create(backend).await);
    let prefix = uuid::Uuid::new_v4().simple().to_string();
    // A production installation registers volunteers only after an SMS code, and no SMS
    // sender is configured here: the volunteer registers through a development instance
    // on the same database, as a volunteer who registered elsewhere would arrive.
    let development = hourmark_tests::TestApp::spawn_with(backend, database.clone(), prefix.clone(), |_| {}).await;
    let (_, volunteer) = development.volunteer("张三", "13800001234").await;
    let app = hourmark_tests::TestApp::spawn_with(backend, database, prefix, |c| {
        c.production = true;
    })
    .await;
    let admin = app.administrator().await;
    let admin_id = app.get("/api/v1/me", &admin).await.body["staff"]["id"].as_i64().expect("id");
    let wuhua = officer(&app, &admin, "530102").await;
    let kunming = officer(&app, &admin, "530100").await;

    let created = app
        .post("/api/v1/organisations", Some(&admin), json!({"name": "翠湖志愿者协会", "region_code": "530102"}))
        .await;
    created.expect_status(201);
    assert_eq!(created.body["status"], "applied");
    let id = created.body["id"].as_i64().expect("id");
    let public = app.call(reqwest::Method::GET, "/api/v1/public/organisations", None, None).await;
    assert!(public.body.as_array().expect("list").iter().all(|o| o["id"] != id), "not public before approval");
    let audit = app.hourmark.store().audit_events("organisation", id).await.expect("audit");
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0].action, "organisation_applied_for");
    assert_eq!(audit[0].actor_id, Some(admin_id));
    assert_eq!(audit[0].detail["installation"], "production");

    // It may plan, but hosts no scanning until the chain has run.
    let organiser = app.organiser(&admin, id).await;
    let activity = app.activity(&organiser, id, json!({})).await;
    assert_eq!(activity["organisation_approved"], false);
    let activity_id = activity["id"].as_i64().expect("id");
    let url = app.code(&organiser, activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
    app.scan(&volunteer, &url).await.expect_problem(409, "organisation_not_approved");
    // The administrator cannot approve it either: approval is the level above's.
    app.post(&format!("/api/v1/organisations/{id}/approve"), Some(&admin), json!({}))
        .await
        .expect_problem(403, "forbidden");
    app.post(&format!("/api/v1/organisations/{id}/approve"), Some(&kunming), json!({}))
        .await
        .expect_problem(409, "organisation_status_conflict");
    app.scan(&volunteer, &url).await.expect_problem(409, "organisation_not_approved");

    app.post(&format!("/api/v1/organisations/{id}/check"), Some(&wuhua), json!({})).await.expect_status(200);
    let approved = app.post(&format!("/api/v1/organisations/{id}/approve"), Some(&kunming), json!({})).await;
    approved.expect_status(200);
    assert_eq!(approved.body["status"], "approved");
    app.scan(&volunteer, &url).await.expect_status(200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_production_an_administrators_organisation_must_be_approved_sqlite() {
    in_production_an_administrators_organisation_must_be_approved(hourmark_tests::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_production_an_administrators_organisation_must_be_approved_postgres() {
    in_production_an_administrators_organisation_must_be_approved(hourmark_tests::Backend::Postgres).await;
}

on_both_backends! {
    async fn in_development_an_administrators_organisation_is_approved_at_once_and_audited(app: TestApp) {
        let admin = app.administrator().await;
        let admin_id = app.get("/api/v1/me", &admin).await.body["staff"]["id"].as_i64().expect("id");
        let created =
            app.post("/api/v1/organisations", Some(&admin), json!({"name": "翠湖志愿者协会", "region_code": "530102"})).await;
        created.expect_status(201);
        assert_eq!(created.body["status"], "approved");
        let id = created.body["id"].as_i64().expect("id");

        let audit = app.hourmark.store().audit_events("organisation", id).await.expect("audit");
        assert_eq!(audit.len(), 1, "{audit:?}");
        let entry = &audit[0];
        assert_eq!(entry.action, "organisation_approved_without_chain");
        assert_eq!((entry.actor_kind.as_str(), entry.actor_id), ("staff", Some(admin_id)));
        assert_eq!(entry.at, app.hourmark.now());
        assert_eq!(entry.detail["installation"], "development");
        assert_eq!(entry.detail["status"], "approved");
        assert!(entry.detail["reason"].as_str().is_some_and(|r| r.contains("开发环境")), "{}", entry.detail);

        // Nothing is audited for a refused creation, nor for an application by the public.
        app.post("/api/v1/organisations", Some(&admin), json!({"name": "翠湖志愿者协会", "region_code": "530102"})).await
            .expect_problem(409, "organisation_name_taken");
        let organiser = app.organiser(&admin, id).await;
        app.post("/api/v1/organisations", Some(&organiser), json!({"name": "别的协会", "region_code": "530102"})).await
            .expect_problem(403, "forbidden");
        let applied = app.post("/api/v1/organisations/applications", None,
            json!({"name": "别的协会", "region_code": "530102"})).await;
        applied.expect_status(201);
        let applied = applied.body["id"].as_i64().expect("id");
        assert!(app.hourmark.store().audit_events("organisation", applied).await.expect("audit").is_empty());
        assert_eq!(app.hourmark.store().audit_events("organisation", id).await.expect("audit").len(), 1);
        assert_eq!(app.hourmark.store().list_organisations(None).await.expect("list").len(), 2);
    }
}

on_both_backends! {
    async fn a_revoked_organisation_creates_no_activities(app: TestApp) {
        let admin = app.administrator().await;
        let yunnan = officer(&app, &admin, "530000").await;
        let id = app.organisation(&admin, "翠湖志愿者协会").await;
        let organiser = app.organiser(&admin, id).await;
        app.activity(&organiser, id, json!({})).await;
        app.post(&format!("/api/v1/organisations/{id}/revoke"), Some(&yunnan), json!({"reason": "弄虚作假"})).await
            .expect_status(200);

        let body = json!({
            "organisation_id": id, "name": "翠湖公园清洁", "category": "environment", "recipients": "市民",
            "content": "捡拾垃圾", "address": "昆明市五华区翠湖公园", "location": {"lat": 25.047, "lng": 102.704},
            "radius_m": 300, "starts_at": "2026-12-06T08:00:00+08:00", "ends_at": "2026-12-06T17:00:00+08:00",
        });
        for token in [&organiser, &admin] {
            app.post("/api/v1/activities", Some(token), body.clone()).await.expect_problem(409, "organisation_revoked");
        }
        assert_eq!(app.hourmark.store().activity_ids_of(id).await.expect("ids").len(), 1, "nothing new was created");
        // Another organisation's activities are unaffected.
        let other = app.organisation(&admin, "滇池保护志愿队").await;
        let mut elsewhere = body.clone();
        elsewhere["organisation_id"] = json!(other);
        app.post("/api/v1/activities", Some(&admin), elsewhere).await.expect_status(201);
    }
}

//! Hardening (issue 14): names and texts others read carry no hidden characters.
//!
//! Every kind of invisible or direction-changing character is refused with
//! `text_invalid` wherever a person or organisation is named or a text is shown to
//! others, and a refused request stores nothing.

use chrono::Duration;
use hourmark_tests::{next_login, next_resident_id, on_both_backends, registration};
use serde_json::{Value, json};

/// One of each kind the issue names: bidi override, embedding and isolates, zero-width
/// space, byte-order mark, direction marks, a tag character, and a plain control.
const HIDDEN: [char; 10] = [
    '\u{202e}',
    '\u{202a}',
    '\u{2066}',
    '\u{2069}',
    '\u{200b}',
    '\u{feff}',
    '\u{200e}',
    '\u{200f}',
    '\u{e0041}',
    '\u{7}',
];

/// "张<c>三丰": the name from the issue with the character in the middle.
fn name_with(c: char) -> String {
    format!("张{c}三丰")
}

/// Asserts a `text_invalid` refusal that names the character's code point.
#[track_caller]
fn expect_hidden(answer: &hourmark_tests::Answer, c: char) {
    answer.expect_problem(422, "text_invalid");
    let detail = answer.body["detail"].as_str().expect("detail");
    assert!(detail.contains(&format!("U+{:04X}", u32::from(c))), "{detail}");
}

on_both_backends! {
    async fn hidden_characters_in_names_and_activity_texts_are_refused_and_nothing_is_stored(app: TestApp) {
        let admin = app.administrator().await;
        let org = app.organisation(&admin, "翠湖志愿者协会").await;
        let organiser = app.organiser(&admin, org).await;
        let store = app.hourmark.store();
        let staff_before = store.list_staff().await.expect("staff").len();
        let organisations_before = store.list_organisations(None).await.expect("organisations").len();
        let id_number = next_resident_id();
        let login = next_login();
        let activity = |field: &str, value: String| {
            let mut body = json!({
                "organisation_id": org, "name": "翠湖公园清洁", "category": "environment", "recipients": "市民",
                "content": "捡拾垃圾", "address": "昆明市五华区翠湖公园", "location": {"lat": 25.047, "lng": 102.704},
                "radius_m": 300, "starts_at": "2026-12-05T08:00:00+08:00", "ends_at": "2026-12-05T17:00:00+08:00",
            });
            body[field] = json!(value);
            body
        };
        for c in HIDDEN {
            // Registration: the volunteer's own name, and a skill shown to staff.
            let answer = app.post("/mp/v1/volunteers", None, registration(&name_with(c), "13800001234", &id_number)).await;
            expect_hidden(&answer, c);
            let mut body = registration("张三丰", "13800001234", &id_number);
            body["skills"] = json!([format!("急{c}救")]);
            expect_hidden(&app.post("/mp/v1/volunteers", None, body).await, c);
            // Staff creation.
            let body = json!({"name": name_with(c), "login": login, "role": "organiser", "organisation_id": org});
            expect_hidden(&app.post("/api/v1/staff", Some(&admin), body).await, c);
            // An organisation's application, and an administrator's new organisation.
            let body = json!({"name": format!("翠湖{c}社区志愿服务站"), "region_code": "530102"});
            expect_hidden(&app.post("/api/v1/organisations/applications", None, body.clone()).await, c);
            expect_hidden(&app.post("/api/v1/organisations", Some(&admin), body).await, c);
            // Every text of an activity.
            for field in ["name", "recipients", "content", "address"] {
                let answer = app.post("/api/v1/activities", Some(&organiser), activity(field, format!("翠湖{c}清洁"))).await;
                expect_hidden(&answer, c);
                assert!(answer.body["detail"].as_str().expect("detail").contains(field), "{}", answer.body);
            }
        }
        // Nothing was stored: the same phone, ID number and login are still free, the
        // lists did not grow, the organisation has no activity.
        assert_eq!(store.list_staff().await.expect("staff").len(), staff_before);
        assert_eq!(store.list_organisations(None).await.expect("organisations").len(), organisations_before);
        assert!(store.activity_ids_of(org).await.expect("activities").is_empty());
        let registered = app.post("/mp/v1/volunteers", None, registration("张三丰", "13800001234", &id_number)).await;
        registered.expect_status(201);
        assert_eq!(registered.body["volunteer"]["name"], "张三丰");
        let body = json!({"name": "王组织", "login": login, "role": "organiser", "organisation_id": org});
        app.post("/api/v1/staff", Some(&admin), body).await.expect_status(201);

        // A multi-line text keeps its newlines; a name does not take one.
        let answer = app.post("/api/v1/activities", Some(&organiser), activity("content", "捡拾垃圾\n劝导文明游园".into())).await;
        answer.expect_status(201);
        assert_eq!(answer.body["content"], "捡拾垃圾\n劝导文明游园");
        let answer = app.post("/api/v1/activities", Some(&organiser), activity("name", "翠湖\n清洁".into())).await;
        expect_hidden(&answer, '\n');
    }
}

on_both_backends! {
    async fn names_are_stored_in_one_normal_form(app: TestApp) {
        // "Zoë" typed with a combining diaeresis is stored precomposed, as every other
        // spelling of it is, so the two cannot be told apart on a list.
        let answer = app.post("/mp/v1/volunteers", None, registration("  Zoe\u{308} ", "13800002222", &next_resident_id())).await;
        answer.expect_status(201);
        assert_eq!(answer.body["volunteer"]["name"], "Zo\u{eb}");
        let id = answer.body["volunteer"]["id"].as_i64().expect("id");
        let stored = app.hourmark.store().get_volunteer(id).await.expect("read").expect("stored");
        assert_eq!(stored.name, "Zo\u{eb}");
        // And an organisation that differs from an existing one only in normal form is taken.
        let admin = app.administrator().await;
        app.organisation(&admin, "Café 志愿者协会").await;
        let again = json!({"name": "Cafe\u{301} 志愿者协会", "region_code": "530102"});
        app.post("/api/v1/organisations", Some(&admin), again).await.expect_problem(409, "organisation_name_taken");
    }
}

on_both_backends! {
    async fn hidden_characters_in_an_objection_are_refused_and_nothing_is_stored(app: TestApp) {
        let admin = app.administrator().await;
        let org = app.organisation(&admin, "翠湖志愿者协会").await;
        let organiser = app.organiser(&admin, org).await;
        let activity = app.activity(&organiser, org, json!({})).await["id"].as_i64().expect("id");
        let recorder = crate::review::recorder(&app, &admin, org).await;
        let (_, zhang) = app.volunteer("张三", "13800001234").await;
        for _ in 0..2 {
            let url = app.code(&organiser, activity, 0, "toggle").await["url"].as_str().expect("url").to_owned();
            app.scan(&zhang, &url).await.expect_status(200);
            app.advance(Duration::hours(3));
        }
        app.advance(Duration::hours(5)); // 20:00
        crate::publicity::finalise(&app, &recorder, activity).await;
        let board = app.call(reqwest::Method::GET, "/api/v1/public/publicity", None, None).await;
        let entry: Value = board.body[0]["entry_id"].clone();
        let object = format!("/api/v1/public/publicity/{entry}/objections");
        for c in HIDDEN {
            let body = json!({"contact": "王先生", "reason": format!("张三当天{c}下午才到")});
            let answer = app.post(&object, None, body).await;
            expect_hidden(&answer, c);
            assert!(answer.body["detail"].as_str().expect("detail").contains("reason"));
            let body = json!({"contact": format!("王先生{c}"), "reason": "张三当天下午才到"});
            expect_hidden(&app.post(&object, None, body).await, c);
        }
        let store = app.hourmark.store();
        assert!(store.objections_of_activity(activity).await.expect("objections").is_empty(), "nothing stored");
        let board_after = app.call(reqwest::Method::GET, "/api/v1/public/publicity", None, None).await;
        assert_eq!(board_after.body, board.body, "the board did not change");
        // A clean objection with a line break in its reason is taken.
        let body = json!({"contact": "王先生", "reason": "张三当天\n下午才到"});
        app.post(&object, None, body).await.expect_status(201);
        assert_eq!(store.objections_of_activity(activity).await.expect("objections").len(), 1);
    }
}

on_both_backends! {
    async fn a_masked_id_number_shows_its_first_and_last_characters_only(app: TestApp) {
        // The example: a man born in January 1980, registered in Wuhua district.
        let id_number = hourmark_tests::resident_id("19800128", 1);
        assert_eq!(id_number, "530102198001280015");
        let masked = "5****************5";
        let registered = app.post("/mp/v1/volunteers", None, registration("张三", "13800003333", &id_number)).await;
        registered.expect_status(201);
        assert_eq!(registered.body["volunteer"]["id_number"], masked);
        assert_eq!(registered.body["volunteer"]["birth_month"], "1980-01", "the birth month is still shown");
        let id = registered.body["volunteer"]["id"].as_i64().expect("id");

        // The unaudited staff read shows the same, and neither the region nor the
        // sequence; the audited reveal still shows the number in clear.
        let admin = app.administrator().await;
        let read = app.get(&format!("/api/v1/volunteers/{id}"), &admin).await;
        read.expect_status(200);
        assert_eq!(read.body["id_number"], masked);
        assert_eq!(read.body["birth_month"], "1980-01");
        // The random volunteer number may contain these digits by chance: leave it out.
        let number = read.body["volunteer_number"].as_str().expect("volunteer number");
        let raw = String::from_utf8_lossy(&read.raw).replace(number, "<volunteer number>");
        assert!(!raw.contains("530102") && !raw.contains("0015") && !raw.contains("19800128"), "{raw}");
        let revealed = app.get(&format!("/api/v1/volunteers/{id}/personal-data"), &admin).await;
        revealed.expect_status(200);
        assert_eq!(revealed.body["id_number"], id_number);
    }
}

/// The answer's `Cache-Control`.
fn cache_control(answer: &hourmark_tests::Answer) -> &str {
    answer.headers.get("cache-control").and_then(|v| v.to_str().ok()).unwrap_or("")
}

on_both_backends! {
    async fn answers_with_tokens_or_personal_data_are_not_stored_by_caches(app: TestApp) {
        let (admin, mut admin_key) = app.administrator_with_passkey().await;
        // Registration (a token and the volunteer's data).
        let registered = app.post("/mp/v1/volunteers", None, registration("张三", "13800004444", &next_resident_id())).await;
        registered.expect_status(201);
        assert_eq!(cache_control(&registered), "no-store");
        let volunteer = registered.body["access_token"].as_str().expect("token").to_owned();
        let id = registered.body["volunteer"]["id"].as_i64().expect("id");
        // Passkey sign-in finish (a staff token).
        let signed_in = app.sign_in("admin", &mut admin_key).await.expect("passkey");
        signed_in.expect_status(200);
        assert_eq!(cache_control(&signed_in), "no-store");
        // The volunteer's own data, and its export.
        for path in ["/mp/v1/me", "/mp/v1/me/export", "/mp/v1/me/sessions"] {
            let answer = app.get(path, &volunteer).await;
            answer.expect_status(200);
            assert_eq!(cache_control(&answer), "no-store", "{path}");
        }
        // Staff reads of volunteers, masked and in clear, and a refusal.
        for path in [format!("/api/v1/volunteers/{id}"), format!("/api/v1/volunteers/{id}/personal-data")] {
            let answer = app.get(&path, &admin).await;
            answer.expect_status(200);
            assert_eq!(cache_control(&answer), "no-store", "{path}");
        }
        let refused = app.get(&format!("/api/v1/volunteers/{id}"), &volunteer).await;
        refused.expect_problem(403, "forbidden");
        assert_eq!(cache_control(&refused), "no-store");
        // A handler that chose its own caching keeps it: the public board.
        let board = app.call(reqwest::Method::GET, "/api/v1/public/publicity", None, None).await;
        board.expect_status(200);
        assert!(!cache_control(&board).is_empty());
    }
}

on_both_backends! {
    async fn a_volunteer_token_refreshes_once_and_the_old_one_is_refused(app: TestApp) {
        let (_, token) = app.volunteer("张三", "13800005555").await;
        let refreshed = app.post("/mp/v1/me/token/refresh", Some(&token), json!({})).await;
        refreshed.expect_status(200);
        assert_eq!(cache_control(&refreshed), "no-store");
        let new = refreshed.body["access_token"].as_str().expect("token").to_owned();
        assert_ne!(new, token);
        // The new token lives its full lifetime from now, the old one is refused at once
        // and cannot refresh again.
        let lifetime = Duration::hours(app.config.volunteer_token_ttl_hours);
        let expires = chrono::DateTime::parse_from_rfc3339(refreshed.body["expires_at"].as_str().expect("expiry"))
            .expect("RFC 3339");
        assert_eq!(expires.with_timezone(&chrono::Utc), app.clock_now() + lifetime);
        app.get("/mp/v1/me", &token).await.expect_problem(401, "unauthenticated");
        app.post("/mp/v1/me/token/refresh", Some(&token), json!({})).await.expect_problem(401, "unauthenticated");
        app.get("/mp/v1/me", &new).await.expect_status(200);
        let sessions = app.get("/mp/v1/me/sessions", &new).await;
        assert_eq!(sessions.body.as_array().expect("sessions").len(), 1, "one session, not two");

        // A token past its lifetime cannot refresh: log in again.
        app.advance(lifetime + Duration::seconds(1));
        app.get("/mp/v1/me", &new).await.expect_problem(401, "unauthenticated");
        app.post("/mp/v1/me/token/refresh", Some(&new), json!({})).await.expect_problem(401, "unauthenticated");
        // Staff tokens are not refreshed here.
        let admin = app.administrator().await;
        app.post("/mp/v1/me/token/refresh", Some(&admin), json!({})).await.expect_problem(403, "forbidden");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_volunteer_token_lifetime_is_configurable_and_a_week_by_default() {
    use hourmark_tests::{Backend, TestApp, TestDatabase};
    // The default: a week.
    let database = std::sync::Arc::new(TestDatabase::create(Backend::Sqlite).await);
    let app = TestApp::spawn_with(Backend::Sqlite, database, "ttl-default".into(), |c| {
        c.volunteer_token_ttl_hours = hourmark_server::Config::default().volunteer_token_ttl_hours;
    })
    .await;
    let (_, token) = app.volunteer("李四", "13800006667").await;
    app.advance(Duration::days(7) - Duration::seconds(1));
    app.get("/mp/v1/me", &token).await.expect_status(200);
    app.advance(Duration::seconds(1));
    app.get("/mp/v1/me", &token).await.expect_problem(401, "unauthenticated");

    // Two hours when configured so.
    let database = std::sync::Arc::new(TestDatabase::create(Backend::Sqlite).await);
    let app = TestApp::spawn_with(Backend::Sqlite, database, "ttl".into(), |c| {
        c.volunteer_token_ttl_hours = 2;
    })
    .await;
    let (_, token) = app.volunteer("张三", "13800006666").await;
    app.advance(Duration::minutes(119));
    let refreshed = app.post("/mp/v1/me/token/refresh", Some(&token), json!({})).await;
    refreshed.expect_status(200);
    let new = refreshed.body["access_token"].as_str().expect("token").to_owned();
    app.advance(Duration::minutes(119));
    app.get("/mp/v1/me", &new).await.expect_status(200);
    app.advance(Duration::minutes(2));
    app.get("/mp/v1/me", &new).await.expect_problem(401, "unauthenticated");
}

/// A second sealing key, for rotation.
const SECOND_PII_KEY: &str = "2:c2Vjb25kLXBpaS1rZXktdGhpcnR5LXR3by1ieXRlcyE=";

/// Every sealed value in the database, by table.column, straight from the engine.
async fn sealed_values(app: &hourmark_tests::TestApp) -> Vec<(String, String)> {
    use hourmark_core::identity::pii::SealedColumn;
    let mut out = Vec::new();
    for column in SealedColumn::ALL {
        let sql = format!("select {} from {} where {0} is not null", column.column(), column.table());
        let values: Vec<String> = match app.backend {
            hourmark_tests::Backend::Postgres => {
                let pool = sqlx::PgPool::connect(&app.config.database_url).await.expect("connect");
                sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_all(&pool).await.expect("read")
            }
            hourmark_tests::Backend::Sqlite => {
                let pool = sqlx::SqlitePool::connect(&app.config.database_url).await.expect("connect");
                sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_all(&pool).await.expect("read")
            }
        };
        out.extend(values.into_iter().map(|v| (format!("{}.{}", column.table(), column.column()), v)));
    }
    out.sort();
    out
}

on_both_backends! {
    async fn rotating_the_pii_key_reseals_every_value_in_resumable_batches(app: TestApp) {
        // Data under key 1: volunteers (ID and phone numbers) and an extra field.
        let (_, zhang) = app.volunteer("张三", "13800007777").await;
        let (_, li) = app.volunteer("李四", "13800008888").await;
        app.post("/mp/v1/volunteers", None, registration("王五", "13800009999", &next_resident_id())).await
            .expect_status(201);
        let extra = json!({"value": "zhang@example.cn", "notice_version": "2026-11"});
        let given = app.call(reqwest::Method::PUT, "/mp/v1/me/extra-fields/email", Some(&zhang), Some(extra)).await;
        assert!(given.status < 300, "{}", given.body);
        let before_me = app.get("/mp/v1/me", &zhang).await.body;
        let before = sealed_values(&app).await;
        assert_eq!(before.len(), 7, "three volunteers' ID and phone numbers, one extra field: {before:?}");
        assert!(before.iter().all(|(_, v)| v.starts_with("v1.1.")));

        // A second instance with key 2 added seals new values under it; old ones still open.
        let rotated = hourmark_tests::TestApp::spawn_with(app.backend, app.database(), "rotation".into(), |c| {
            c.pii_keys = Some(hourmark_server::config::Secret(format!("{},{SECOND_PII_KEY}", hourmark_tests::TEST_PII_KEYS)));
        })
        .await;
        // Interrupted after two batches of two: the three ID numbers moved (two, then one),
        // the rest still under key 1.
        assert_eq!(rotated.hourmark.reseal_personal_data(2, Some(2)).await.expect("partial run"), 3);
        let partial = sealed_values(&app).await;
        let moved: Vec<_> = partial.iter().filter(|(_, v)| v.starts_with("v1.2.")).map(|(c, _)| c.as_str()).collect();
        assert_eq!(moved, vec!["volunteer.id_number_sealed"; 3]);
        // Run again: it picks up the rest.
        let rest = rotated.hourmark.reseal_personal_data(2, None).await.expect("run");
        assert_eq!(rest as usize, before.len() - 3);
        let after = sealed_values(&app).await;
        assert_eq!(after.len(), before.len());
        assert!(after.iter().all(|(_, v)| v.starts_with("v1.2.")), "{after:?}");
        // Readable, unchanged, through the API of the rotated instance.
        assert_eq!(rotated.get("/mp/v1/me", &zhang).await.body["volunteer"], before_me["volunteer"]);
        rotated.get("/mp/v1/me", &li).await.expect_status(200);
        // A second run changes nothing.
        assert_eq!(rotated.hourmark.reseal_personal_data(2, None).await.expect("idempotent"), 0);
        assert_eq!(sealed_values(&app).await, after);

        // Key 1 can now be retired: an instance with key 2 alone reads everything.
        let retired = hourmark_tests::TestApp::spawn_with(app.backend, app.database(), "retired".into(), |c| {
            c.pii_keys = Some(hourmark_server::config::Secret(SECOND_PII_KEY.into()));
        })
        .await;
        assert_eq!(retired.get("/mp/v1/me", &zhang).await.body["volunteer"], before_me["volunteer"]);
    }
}

//! Test support: a real Hourmark server on a real store and cache, one per test.
//!
//! [`TestApp::spawn`] gives each test its own database (a fresh PostgreSQL database, or a
//! fresh SQLite file), its own Redis key prefix, a free port, and a [`ManualClock`] the
//! test moves by hand. External services are real: PostgreSQL and Redis must be running
//! (the README's test command starts them when they are not).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Duration, Utc};
use hourmark_core::{Hourmark, ManualClock};
use hourmark_server::Config;
use hourmark_server::config::Secret;
use serde_json::{Value, json};
use tokio::sync::oneshot;
use uuid::Uuid;
use webauthn_authenticator_rs::WebauthnAuthenticator;
pub use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs::prelude::{CreationChallengeResponse, RequestChallengeResponse, Url};

/// The storage and cache pairing a test runs on. Every storage test runs on both stores,
/// and with them every cache test on both caches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite with the in-process cache: the embedded default.
    Sqlite,
    /// PostgreSQL with Redis: production.
    Postgres,
}

/// The certificate signing key of every test server (a 32-byte seed, base64): production
/// refuses to start without one.
pub const TEST_CERTIFICATE_KEY: &str = "dGVzdC1jZXJ0aWZpY2F0ZS1zZWVkLTMyLWJ5dGVzISE=";
/// The QR key ring every test server shares unless a test says otherwise.
pub const TEST_QR_KEYS: &str = "1:dGVzdC1tYXN0ZXIta2V5LW9uZS0zMi1ieXRlcy1sb25nISE=";
/// Personal-data sealing keys for test servers (32 bytes).
pub const TEST_PII_KEYS: &str = "1:cGlpLXNlYWxpbmcta2V5LW9uZS0zMi1ieXRlcyEhISE=";
/// The personal-data lookup key for test servers.
pub const TEST_PII_LOOKUP_KEY: &str = "cGlpLWxvb2t1cC1rZXktdGhpcnR5LXR3by1ieXRlcyE=";

/// A valid resident ID number (Kunming, Wuhua district) for a birth date `YYYYMMDD` and
/// a sequence number: the check character computed as GB 11643 prescribes.
pub fn resident_id(birth: &str, sequence: u16) -> String {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let body = format!("530102{birth}{:03}", sequence % 1000);
    let sum: u32 = body.bytes().zip(WEIGHTS).map(|(b, w)| u32::from(b - b'0') * w).sum();
    let check = char::from(b"10X98765432"[(sum % 11) as usize]);
    format!("{body}{check}")
}

/// A different valid adult resident ID number on every call.
pub fn next_resident_id() -> String {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let birth = format!("19{:02}{:02}{:02}", 60 + (n / 28_000) % 30, 1 + (n / 1_000 / 28) % 12, 1 + (n / 1_000) % 28);
    resident_id(&birth, u16::try_from(n % 1_000).unwrap_or(0))
}

/// A registration body for an adult with every consent given.
pub fn registration(name: &str, phone: &str, id_number: &str) -> Value {
    json!({
        "name": name,
        "id_type": "resident_id",
        "id_number": id_number,
        "phone": phone,
        "skills": ["急救"],
        "consent": {"notice_version": "2026-11", "record": true, "publicity": true, "location": true},
    })
}

/// An HTTP client for the tests (reqwest needs the TLS provider installed first).
pub fn http_client() -> reqwest::Client {
    hourmark_core::wechat::install_tls_provider();
    reqwest::Client::new()
}

/// The PostgreSQL server tests create their databases on.
pub fn postgres_admin_url() -> String {
    std::env::var("HOURMARK_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// The Redis tests use.
pub fn redis_url() -> String {
    std::env::var("HOURMARK_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A fresh, empty database for one test; dropped when the value is.
#[derive(Debug)]
pub struct TestDatabase {
    /// The URL Hourmark is given.
    pub url: String,
    postgres_name: Option<String>,
    sqlite_dir: Option<PathBuf>,
}

impl TestDatabase {
    /// Creates an empty database on `backend`.
    pub async fn create(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(format!("hourmark-test-{}", Uuid::new_v4().simple()));
                std::fs::create_dir_all(&dir).expect("temp dir");
                Self {
                    url: format!("sqlite:{}", dir.join("hourmark.db").display()),
                    postgres_name: None,
                    sqlite_dir: Some(dir),
                }
            }
            Backend::Postgres => {
                let name = format!("hourmark_test_{}", Uuid::new_v4().simple());
                let admin = postgres_admin_url();
                let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
                    .await
                    .expect("PostgreSQL must be running for the tests (see README)");
                sqlx::Executor::execute(&mut conn, sqlx::AssertSqlSafe(format!("create database {name}")))
                    .await
                    .expect("create test database");
                let base = admin.rsplit_once('/').map(|(b, _)| b.to_owned()).unwrap_or(admin);
                Self { url: format!("{base}/{name}"), postgres_name: Some(name), sqlite_dir: None }
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some(dir) = self.sqlite_dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
        if let Some(name) = self.postgres_name.take() {
            // Drop runs outside any runtime guarantee; a short-lived thread does the async work.
            let admin = postgres_admin_url();
            let _ = std::thread::spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
                rt.block_on(async {
                    if let Ok(mut conn) = <sqlx::PgConnection as sqlx::Connection>::connect(&admin).await {
                        let _ = sqlx::Executor::execute(
                            &mut conn,
                            sqlx::AssertSqlSafe(format!("drop database if exists {name} with (force)")),
                        )
                        .await;
                    }
                });
            })
            .join();
        }
    }
}

/// The instant test clocks start at: Saturday 5 December 2026, 09:00 in Kunming.
pub fn start_of_tests() -> DateTime<Utc> {
    hourmark_core::activity::parse_local_or_offset("2026-12-05T09:00:00+08:00").expect("valid")
}

/// The origin the test server's passkeys are bound to (the default for port 8080).
pub fn staff_origin() -> Url {
    Url::parse("http://localhost:8080").expect("valid origin")
}

/// A software authenticator that performs real passkey ceremonies (it claims user
/// verification, as a phone's screen lock would).
pub fn authenticator() -> SoftPasskey {
    SoftPasskey::new(true)
}

/// Answers a registration start (`{ceremony_id, options}`) with `authenticator`.
pub fn register(authenticator: &mut SoftPasskey, start: &Value) -> Value {
    register_at(staff_origin(), authenticator, start)
}

/// Answers a registration start for staff pages served from `origin`.
pub fn register_at(origin: Url, authenticator: &mut SoftPasskey, start: &Value) -> Value {
    let options: CreationChallengeResponse =
        serde_json::from_value(start["options"].clone()).expect("creation options");
    let credential = authenticator.do_registration(origin, options).expect("the authenticator registers");
    serde_json::to_value(credential).expect("credential serialises")
}

/// A login no other test staff member has.
pub fn next_login() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!("staff.{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// A running server.
#[derive(Debug)]
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub base_url: String,
    /// The HTTP client.
    pub client: reqwest::Client,
    /// The server's clock.
    pub clock: ManualClock,
    /// The server's context, for looking behind the API.
    pub hourmark: Hourmark,
    /// Which backend it runs on.
    pub backend: Backend,
    /// The configuration it was built from.
    pub config: Config,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    database: Option<Arc<TestDatabase>>,
}

impl TestApp {
    /// A server on a fresh database.
    pub async fn spawn(backend: Backend) -> Self {
        let database = Arc::new(TestDatabase::create(backend).await);
        Self::spawn_with(backend, database, Uuid::new_v4().simple().to_string(), |_| {}).await
    }

    /// A server on a given database and Redis prefix (to run several instances as one),
    /// with a chance to change the configuration.
    pub async fn spawn_with(
        backend: Backend,
        database: Arc<TestDatabase>,
        redis_prefix: String,
        adjust: impl FnOnce(&mut Config),
    ) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        Self::spawn_on(backend, database, redis_prefix, listener, adjust).await
    }

    /// A server on a fresh database, with a chance to change the configuration.
    pub async fn spawn_adjusted(backend: Backend, adjust: impl FnOnce(&mut Config)) -> Self {
        let database = Arc::new(TestDatabase::create(backend).await);
        Self::spawn_with(backend, database, Uuid::new_v4().simple().to_string(), adjust).await
    }

    /// Another instance of this one's installation (its database and Redis prefix), with a
    /// chance to change its configuration.
    pub async fn another_instance(&self, adjust: impl FnOnce(&mut Config)) -> Self {
        let prefix = self.config.redis_prefix.trim_start_matches("hourmark-test:").to_owned();
        Self::spawn_with(self.backend, self.database(), prefix, adjust).await
    }

    /// A server for a real browser: its staff origin is `http://localhost:<port>`, since
    /// browsers allow passkeys on `localhost` but never on an IP address. Browse
    /// [`TestApp::browser_url`].
    pub async fn spawn_for_browser(backend: Backend) -> Self {
        Self::spawn_for_browser_with(backend, |_| {}).await
    }

    /// [`TestApp::spawn_for_browser`] with a chance to change the configuration.
    pub async fn spawn_for_browser_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> Self {
        let database = Arc::new(TestDatabase::create(backend).await);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("address").port();
        Self::spawn_on(backend, database, Uuid::new_v4().simple().to_string(), listener, |config| {
            config.staff_origin = Some(format!("http://localhost:{port}"));
            adjust(config);
        })
        .await
    }

    /// The server's staff origin, as a browser must use it.
    pub fn browser_url(&self) -> String {
        self.hourmark.settings().passkeys.staff_origin.origin().ascii_serialization()
    }

    async fn spawn_on(
        backend: Backend,
        database: Arc<TestDatabase>,
        redis_prefix: String,
        listener: tokio::net::TcpListener,
        adjust: impl FnOnce(&mut Config),
    ) -> Self {
        let mut config = Config {
            database_url: database.url.clone(),
            redis_url: (backend == Backend::Postgres).then(redis_url),
            redis_prefix: format!("hourmark-test:{redis_prefix}"),
            qr_keys: Some(Secret(TEST_QR_KEYS.into())),
            certificate_key: Some(Secret(TEST_CERTIFICATE_KEY.into())),
            pii_keys: Some(Secret(TEST_PII_KEYS.into())),
            pii_lookup_key: Some(Secret(TEST_PII_LOOKUP_KEY.into())),
            data_dir: std::env::temp_dir().join("hourmark-test-data-unused"),
            code_base_url: Some("HTTPS://HM.EXAMPLE.CN/S/".into()),
            // Every problem a test provokes is checked against the API description.
            check_error_docs: true,
            // Many tests follow one volunteer across weeks of publicity without the mini
            // program's refresh in between; the week-long default is tested on its own.
            volunteer_token_ttl_hours: 24 * 30,
            ..Config::default()
        };
        adjust(&mut config);
        config.check().expect("test configuration is valid");
        let clock = ManualClock::new(start_of_tests());
        let hourmark = hourmark_server::build(&config, Arc::new(clock.clone())).await.expect("server builds");
        let base_url = format!("http://{}", listener.local_addr().expect("address"));
        let (tx, rx) = oneshot::channel::<()>();
        let server = tokio::spawn({
            let hourmark = hourmark.clone();
            async move {
                hourmark_server::serve(hourmark, listener, async {
                    let _ = rx.await;
                })
                .await
                .expect("server runs");
            }
        });
        Self {
            base_url,
            client: http_client(),
            clock,
            hourmark,
            backend,
            config,
            shutdown: Some(tx),
            server: Some(server),
            database: Some(database),
        }
    }

    /// The shared database handle, to start a second instance on it.
    pub fn database(&self) -> Arc<TestDatabase> {
        self.database.clone().expect("database is held until drop")
    }

    /// Stops the server and waits for it.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }

    /// Full URL of a path.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// A JSON request; returns status and body (JSON, or `Value::Null` if not JSON).
    pub async fn call(&self, method: reqwest::Method, path: &str, bearer: Option<&str>, body: Option<Value>) -> Answer {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        Answer::from(request.send().await.expect("request sent")).await
    }

    /// A POST of raw bytes (a file upload) with the given content type.
    pub async fn upload(&self, path: &str, bearer: &str, bytes: Vec<u8>, content_type: &str) -> Answer {
        let request =
            self.client.post(self.url(path)).bearer_auth(bearer).header("content-type", content_type).body(bytes);
        Answer::from(request.send().await.expect("request sent")).await
    }

    /// Opens a server-sent event stream with a bearer token, without reading it.
    pub async fn open_stream(&self, path: &str, bearer: Option<&str>) -> reqwest::Response {
        let mut request = self.client.get(self.url(path)).header("accept", "text/event-stream");
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("request sent")
    }

    /// A server-sent event stream that must open (200, `text/event-stream`).
    pub async fn events(&self, path: &str, bearer: &str) -> EventStream {
        self.events_after(path, bearer, None).await
    }

    /// [`TestApp::events`], as a client reconnecting after the event `last_event_id`.
    pub async fn events_after(&self, path: &str, bearer: &str, last_event_id: Option<&str>) -> EventStream {
        let mut request = self.client.get(self.url(path)).header("accept", "text/event-stream").bearer_auth(bearer);
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let response = request.send().await.expect("request sent");
        assert_eq!(response.status().as_u16(), 200, "{path}");
        let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
        assert!(content_type.starts_with("text/event-stream"), "{content_type}");
        EventStream { response, buffer: String::new() }
    }

    /// GET with a bearer token.
    pub async fn get(&self, path: &str, bearer: &str) -> Answer {
        self.call(reqwest::Method::GET, path, Some(bearer), None).await
    }

    /// POST JSON with an optional bearer token.
    pub async fn post(&self, path: &str, bearer: Option<&str>, body: Value) -> Answer {
        self.call(reqwest::Method::POST, path, bearer, Some(body)).await
    }

    /// The first administrator's bearer token and the authenticator holding their passkey
    /// (login `admin`), to sign in again after the token expires.
    pub async fn administrator_with_passkey(&self) -> (String, SoftPasskey) {
        let token = self.hourmark.issue_bootstrap_token(None).await.expect("issue").expect("no admin yet");
        let answer =
            self.post("/api/v1/bootstrap", None, json!({"token": token, "name": "管理员", "login": "admin"})).await;
        answer.expect_status(201);
        let invite = answer.body["invite"]["token"].as_str().expect("invite").to_owned();
        let mut passkey = authenticator();
        let enrolled = self.enrol(&invite, &mut passkey).await;
        enrolled.expect_status(201);
        (enrolled.body["access_token"].as_str().expect("token").to_owned(), passkey)
    }

    /// Issues a bootstrap token, spends it and enrols the administrator's passkey: the
    /// first administrator's bearer token.
    pub async fn administrator(&self) -> String {
        self.administrator_with_passkey().await.0
    }

    /// Starts and finishes a passkey enrolment with an invite token on `authenticator`.
    pub async fn enrol(&self, invite: &str, authenticator: &mut SoftPasskey) -> Answer {
        let start = self.post("/api/v1/invites/passkey/start", None, json!({ "invite": invite })).await;
        if start.status != 200 {
            return start;
        }
        let origin = Url::parse(&self.browser_url()).expect("the staff origin is a URL");
        let credential = register_at(origin, authenticator, &start.body);
        self.post(
            "/api/v1/invites/passkey/finish",
            None,
            json!({ "ceremony_id": start.body["ceremony_id"], "credential": credential }),
        )
        .await
    }

    /// Starts and finishes a sign-in as `login` with `authenticator`; `None` when the
    /// authenticator holds none of the credentials the server offered.
    pub async fn sign_in(&self, login: &str, authenticator: &mut SoftPasskey) -> Option<Answer> {
        let start = self.post("/api/v1/sign-in/passkey/start", None, json!({ "login": login })).await;
        start.expect_status(200);
        let options: RequestChallengeResponse =
            serde_json::from_value(start.body["options"].clone()).expect("request options");
        let origin = Url::parse(&self.browser_url()).expect("the staff origin is a URL");
        match authenticator.do_authentication(origin, options) {
            Ok(credential) => Some(
                self.post(
                    "/api/v1/sign-in/passkey/finish",
                    None,
                    json!({ "ceremony_id": start.body["ceremony_id"], "credential": credential }),
                )
                .await,
            ),
            Err(_) => None,
        }
    }

    /// Steps up the session of `bearer` with `authenticator`'s passkey: the answer to
    /// `POST /api/v1/me/step-up/finish` (or to the start, if it failed).
    pub async fn step_up(&self, bearer: &str, authenticator: &mut SoftPasskey) -> Answer {
        let start = self.post("/api/v1/me/step-up/start", Some(bearer), json!({})).await;
        if start.status != 200 {
            return start;
        }
        let options: RequestChallengeResponse =
            serde_json::from_value(start.body["options"].clone()).expect("request options");
        let origin = Url::parse(&self.browser_url()).expect("the staff origin is a URL");
        let credential = authenticator.do_authentication(origin, options).expect("the authenticator answers");
        self.post(
            "/api/v1/me/step-up/finish",
            Some(bearer),
            json!({ "ceremony_id": start.body["ceremony_id"], "credential": credential }),
        )
        .await
    }

    /// Creates a staff member (`body` as `POST /api/v1/staff` takes it; a unique login is
    /// added when missing) and enrols their passkey → their bearer token.
    pub async fn staff(&self, admin: &str, mut body: Value) -> String {
        if body.get("login").is_none() {
            body["login"] = json!(next_login());
        }
        let answer = self.post("/api/v1/staff", Some(admin), body).await;
        answer.expect_status(201);
        let invite = answer.body["invite"]["token"].as_str().expect("invite").to_owned();
        let enrolled = self.enrol(&invite, &mut authenticator()).await;
        enrolled.expect_status(201);
        enrolled.body["access_token"].as_str().expect("token").to_owned()
    }

    /// A fresh organisation (administrator token, name) → id.
    pub async fn organisation(&self, admin: &str, name: &str) -> i64 {
        let answer =
            self.post("/api/v1/organisations", Some(admin), json!({"name": name, "region_code": "530102"})).await;
        answer.expect_status(201);
        answer.body["id"].as_i64().expect("id")
    }

    /// An organiser of `organisation_id` → their token.
    pub async fn organiser(&self, admin: &str, organisation_id: i64) -> String {
        self.staff(admin, json!({"name": "李组织", "role": "organiser", "organisation_id": organisation_id})).await
    }

    /// An activity from 08:00 to 17:00 on the test day, with overrides merged in.
    pub async fn activity(&self, staff: &str, organisation_id: i64, overrides: Value) -> Value {
        let mut body = json!({
            "organisation_id": organisation_id,
            "name": "翠湖公园清洁",
            "category": "environment",
            "recipients": "市民",
            "content": "捡拾垃圾、劝导文明游园",
            "address": "昆明市五华区翠湖公园",
            "location": {"lat": 25.047, "lng": 102.704},
            "radius_m": 300,
            "starts_at": "2026-12-05T08:00:00+08:00",
            "ends_at": "2026-12-05T17:00:00+08:00",
            "gates": ["北门", "南门"],
        });
        if let (Some(b), Some(o)) = (body.as_object_mut(), overrides.as_object()) {
            for (k, v) in o {
                b.insert(k.clone(), v.clone());
            }
        }
        let answer = self.post("/api/v1/activities", Some(staff), body).await;
        answer.expect_status(201);
        answer.body
    }

    /// The last code the server's development SMS sink "sent" to `phone` (the default
    /// test configuration sends SMS there; read in-process, never over HTTP).
    pub fn sent_code(&self, phone: &str) -> Option<String> {
        self.hourmark.settings().sms.sender.as_ref()?.development_outbox()?.last_code(phone)
    }

    /// Whether a volunteer is registered with this phone number (asked of the store: no
    /// public answer tells).
    pub async fn has_account(&self, phone: &str) -> bool {
        self.hourmark.volunteer_with_phone(phone).await.expect("a phone number").is_some()
    }

    /// A registration confirmed by its code: the first request; if it waits for a code
    /// (202), the code "sent" to `code_phone` (the guardian's for a minor), and the same
    /// registration again with it. → the last answer.
    pub async fn register_confirmed(&self, body: Value, code_phone: &str) -> Answer {
        let first = self.post("/mp/v1/volunteers", None, body.clone()).await;
        if first.status != 202 {
            return first;
        }
        let code = self.sent_code(code_phone).expect("a code was sent to that phone");
        let mut again = body;
        again["confirmation"] = json!({"registration_id": first.body["registration_id"], "code": code});
        self.post("/mp/v1/volunteers", None, again).await
    }

    /// A registered minor (born on `birth`, `YYYYMMDD`), confirmed by the guardian's code
    /// sent to `guardian_phone` → (id, token).
    pub async fn minor(
        &self,
        name: &str,
        phone: &str,
        birth: &str,
        sequence: u16,
        guardian_phone: &str,
    ) -> (i64, String) {
        let mut body = registration(name, phone, &resident_id(birth, sequence));
        body["guardian"] = json!({"name": "王芳", "relation": "母亲", "phone": guardian_phone});
        let answer = self.register_confirmed(body, guardian_phone).await;
        answer.expect_status(201);
        (
            answer.body["volunteer"]["id"].as_i64().expect("id"),
            answer.body["access_token"].as_str().expect("token").to_owned(),
        )
    }

    /// A registered volunteer → (id, token).
    pub async fn volunteer(&self, name: &str, phone: &str) -> (i64, String) {
        let answer = self.post("/mp/v1/volunteers", None, registration(name, phone, &next_resident_id())).await;
        answer.expect_status(201);
        (
            answer.body["volunteer"]["id"].as_i64().expect("id"),
            answer.body["access_token"].as_str().expect("token").to_owned(),
        )
    }

    /// The current code's JSON.
    pub async fn code(&self, staff: &str, activity_id: i64, gate: u8, direction: &str) -> Value {
        let answer =
            self.get(&format!("/api/v1/activities/{activity_id}/code?gate={gate}&direction={direction}"), staff).await;
        answer.expect_status(200);
        answer.body
    }

    /// A scan with a fresh nonce.
    pub async fn scan(&self, volunteer: &str, code: &str) -> Answer {
        self.scan_with_nonce(volunteer, code, Uuid::new_v4()).await
    }

    /// A scan with a given nonce.
    pub async fn scan_with_nonce(&self, volunteer: &str, code: &str, nonce: Uuid) -> Answer {
        self.post(
            "/mp/v1/scans",
            Some(volunteer),
            json!({
                "code": code,
                "nonce": nonce,
                "client_time": self.clock_now().to_rfc3339(),
                "device_id": "test-phone-1",
                "location": {"lat": 25.0471, "lng": 102.7041, "accuracy_m": 12.0},
            }),
        )
        .await
    }

    /// The server's current time.
    pub fn clock_now(&self) -> DateTime<Utc> {
        hourmark_core::Clock::now(&self.clock)
    }

    /// Moves the server's clock.
    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// The first page of an activity's sessions (`GET /api/v1/activities/{id}/sessions`),
    /// one per volunteer in id order, as `staff` reads them; the answer must be 200. The
    /// tests of paging and totals read the whole answer themselves.
    pub async fn sessions(&self, staff: &str, activity_id: i64) -> Vec<Value> {
        let answer = self.get(&format!("/api/v1/activities/{activity_id}/sessions"), staff).await;
        answer.expect_status(200);
        answer.body["sessions"].as_array().cloned().unwrap_or_else(|| panic!("no sessions: {}", answer.body))
    }

    /// Scans recorded for a volunteer (accepted and refused), straight from the store.
    pub async fn scans_recorded(&self, volunteer_id: i64) -> i64 {
        self.hourmark.store().count_scans(volunteer_id).await.expect("count")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// An HTTP answer.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// `content-type`.
    pub content_type: String,
    /// The body as JSON (`Null` if it was not JSON).
    pub body: Value,
    /// The raw body.
    pub raw: Vec<u8>,
    /// The response headers.
    pub headers: reqwest::header::HeaderMap,
}

impl Answer {
    async fn from(response: reqwest::Response) -> Self {
        let status = response.status().as_u16();
        let content_type =
            response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        let headers = response.headers().clone();
        let raw = response.bytes().await.expect("body").to_vec();
        let body = serde_json::from_slice(&raw).unwrap_or(Value::Null);
        Self { status, content_type, body, raw, headers }
    }

    /// Panics with the body if the status differs.
    #[track_caller]
    pub fn expect_status(&self, status: u16) -> &Self {
        assert_eq!(self.status, status, "unexpected status; body: {}", String::from_utf8_lossy(&self.raw));
        self
    }

    /// Asserts a problem+json answer with this status and code.
    #[track_caller]
    pub fn expect_problem(&self, status: u16, code: &str) -> &Self {
        self.expect_status(status);
        assert_eq!(self.content_type, "application/problem+json", "body: {}", String::from_utf8_lossy(&self.raw));
        assert_eq!(self.body["code"], code, "body: {}", self.body);
        assert_eq!(self.body["status"], status);
        assert_eq!(self.body["type"], format!("urn:hourmark:problem:{code}"));
        assert!(self.body["detail"].as_str().is_some_and(|d| !d.is_empty()), "a human sentence is required");
        self
    }
}

/// Runs an async test body once per backend: `<name>::sqlite` and `<name>::postgres`.
#[macro_export]
macro_rules! on_both_backends {
    ($(#[$meta:meta])* async fn $name:ident($app:ident: TestApp) $body:block) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn run($app: $crate::TestApp) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run($crate::TestApp::spawn($crate::Backend::Sqlite).await).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                run($crate::TestApp::spawn($crate::Backend::Postgres).await).await
            }
        }
    };
}

/// One server-sent event.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerEvent {
    /// Its `event:` name.
    pub name: String,
    /// Its `id:`.
    pub id: String,
    /// Its `data:`, as JSON.
    pub data: Value,
}

/// An open server-sent event stream.
#[derive(Debug)]
pub struct EventStream {
    response: reqwest::Response,
    buffer: String,
}

impl EventStream {
    /// The next event (keep-alive comments skipped), if one arrives within `within`.
    pub async fn next_within(&mut self, within: std::time::Duration) -> Option<ServerEvent> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut event = ServerEvent { name: "message".into(), id: String::new(), data: Value::Null };
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        event.name = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("id:") {
                        event.id = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if data.is_empty() && event.id.is_empty() && event.name == "message" {
                    continue; // a keep-alive comment
                }
                event.data = serde_json::from_str(&data).unwrap_or(Value::String(data));
                return Some(event);
            }
            match tokio::time::timeout_at(deadline, self.response.chunk()).await {
                Ok(Ok(Some(chunk))) => self.buffer.push_str(&String::from_utf8_lossy(&chunk)),
                _ => return None,
            }
        }
    }

    /// The next event with this name within `within`, skipping others.
    pub async fn next_named(&mut self, name: &str, within: std::time::Duration) -> Option<ServerEvent> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let event = self.next_within(left).await?;
            if event.name == name {
                return Some(event);
            }
        }
    }
}

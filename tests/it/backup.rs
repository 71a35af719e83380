//! `hourmark backup` and `hourmark restore` on the real binary: a SQLite database is copied
//! while a server writes to it, restored under a new name, and a server on the copy sees
//! the same record with its register intact. Every refusal exits non-zero, says why, and
//! leaves the files as they were.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;

use chrono::Duration;
use hourmark_tests::{Backend, TestApp, TestDatabase};
use uuid::Uuid;

use crate::publicity::finalise;
use crate::review::recorder;

/// Runs the binary with `args` against the database `database_url`.
fn hourmark(args: &[&str], database_url: &str, data_dir: &Path) -> Output {
    std::process::Command::new(crate::binary::server_binary())
        .args(args)
        .env("HOURMARK_DATABASE_URL", database_url)
        .env("HOURMARK_QR_KEYS", hourmark_tests::TEST_QR_KEYS)
        .env("HOURMARK_PII_KEYS", hourmark_tests::TEST_PII_KEYS)
        .env("HOURMARK_PII_LOOKUP_KEY", hourmark_tests::TEST_PII_LOOKUP_KEY)
        .env("HOURMARK_DATA_DIR", data_dir)
        .env("HOURMARK_LOG", "warn")
        .env_remove("HOURMARK_REDIS_URL")
        .output()
        .expect("the binary runs")
}

fn said(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

/// A folder of its own, removed when the test ends.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("hourmark-backup-{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("scratch folder");
        Self(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn sqlite_file(url: &str) -> PathBuf {
    PathBuf::from(url.strip_prefix("sqlite:").expect("a sqlite: URL"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_the_server_runs_restores_to_the_same_record() {
    let scratch = Scratch::new();
    let app = TestApp::spawn(Backend::Sqlite).await;
    let e = crate::event(&app, "toggle").await;
    let recorder = recorder(&app, &e.admin, e.organisation_id).await;
    for advance in [3, 8] {
        let url = app.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
        app.scan(&e.volunteer, &url).await.expect_status(200);
        app.advance(Duration::hours(advance)); // checked out at 12:00; the day is over at 20:00
    }
    finalise(&app, &recorder, e.activity_id).await;
    let sessions_path = format!("/api/v1/activities/{}/sessions", e.activity_id);
    let sessions = app.get(&sessions_path, &e.organiser).await;
    sessions.expect_status(200);
    assert_eq!(sessions.body["sessions"].as_array().map(Vec::len), Some(1), "{}", sessions.body);
    app.advance(Duration::days(5)); // past the three working days of publicity
    assert_eq!(app.hourmark.advance_publicity().await.expect("job"), 1);
    let register = app.hourmark.register_entries(0, 10).await.expect("register");
    assert_eq!(register.len(), 1);

    // Backed up while the server above is running on the database.
    let backup = scratch.0.join("hourmark-backup.db");
    let out = hourmark(&["backup", backup.to_str().expect("utf-8")], &app.config.database_url, &scratch.0);
    assert!(out.status.success(), "{}", said(&out));
    assert!(said(&out).contains("backed up to"), "{}", said(&out));
    let backed_up = std::fs::read(&backup).expect("the backup exists");
    // The server keeps writing to the original meanwhile.
    app.volunteer("李四", "13800005678").await;

    // A second backup to the same name is refused and leaves the first as it was.
    let out = hourmark(&["backup", backup.to_str().expect("utf-8")], &app.config.database_url, &scratch.0);
    assert!(!out.status.success());
    assert!(said(&out).contains("already exists"), "{}", said(&out));
    assert_eq!(std::fs::read(&backup).expect("still there"), backed_up, "the backup is untouched");
    let leftovers: Vec<_> = std::fs::read_dir(&scratch.0)
        .expect("list")
        .map(|f| f.expect("entry").file_name())
        .filter(|n| n.to_string_lossy().contains("partial"))
        .collect();
    assert!(leftovers.is_empty(), "no temporary file is left behind: {leftovers:?}");

    // Restored under a new name, the register is checked and reported.
    let copy = Arc::new(TestDatabase::create(Backend::Sqlite).await);
    let out = hourmark(&["restore", backup.to_str().expect("utf-8")], &copy.url, &scratch.0);
    assert!(out.status.success(), "{}", said(&out));
    assert!(said(&out).contains("register intact: 1 entries"), "{}", said(&out));

    // Restoring over it without --force is refused and changes nothing; with it, it works.
    let restored = std::fs::read(sqlite_file(&copy.url)).expect("restored file");
    let out = hourmark(&["restore", backup.to_str().expect("utf-8")], &copy.url, &scratch.0);
    assert!(!out.status.success());
    assert!(said(&out).contains("already exists") && said(&out).contains("--force"), "{}", said(&out));
    assert_eq!(std::fs::read(sqlite_file(&copy.url)).expect("file"), restored, "the database is untouched");
    let out = hourmark(&["restore", "--force", backup.to_str().expect("utf-8")], &copy.url, &scratch.0);
    assert!(out.status.success(), "{}", said(&out));

    // A server on the copy (its clock back at the first day, so the staff's tokens from
    // then still work there) sees the same record.
    let second = TestApp::spawn_with(Backend::Sqlite, copy, Uuid::new_v4().simple().to_string(), |_| {}).await;
    let again = second.get(&sessions_path, &e.organiser).await;
    again.expect_status(200);
    // The same record, read at another time.
    let record = |body: &serde_json::Value| {
        let mut body = body.clone();
        body["totals"]["as_of"] = serde_json::Value::Null;
        body
    };
    assert_eq!(record(&again.body), record(&sessions.body), "the copy has the same sessions");
    let copied = second.hourmark.register_entries(0, 10).await.expect("register");
    let chain = |rows: &[hourmark_core::publicity::RegisterRow]| {
        rows.iter().map(|r| (r.seq, r.content.clone(), r.hash.clone())).collect::<Vec<_>>()
    };
    assert_eq!(chain(&copied), chain(&register), "the copy has the same register");
    assert!(second.hourmark.verify_register().await.expect("verify").holds());
    second.stop().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_refuses_what_is_not_a_hourmark_database_and_changes_nothing() {
    let scratch = Scratch::new();
    let target = TestDatabase::create(Backend::Sqlite).await;
    let text = scratch.0.join("notes.txt");
    std::fs::write(&text, "这不是数据库".repeat(200)).expect("write");
    let other = scratch.0.join("other.db");
    {
        use sqlx::ConnectOptions;
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&other)
            .create_if_missing(true)
            .connect()
            .await
            .expect("a SQLite file");
        sqlx::Executor::execute(&mut conn, "create table note (body text)").await.expect("table");
    }
    let missing = scratch.0.join("missing.db");
    for (file, why) in [(&text, "does not"), (&other, "no _sqlx_migrations table"), (&missing, "no such file")] {
        let out = hourmark(&["restore", "--force", file.to_str().expect("utf-8")], &target.url, &scratch.0);
        assert!(!out.status.success(), "{} was restored", file.display());
        assert!(said(&out).contains("is not a Hourmark SQLite database") && said(&out).contains(why), "{}", said(&out));
        assert!(!sqlite_file(&target.url).exists(), "nothing was written for {}", file.display());
    }
    // Nor is a backup taken of a database that is not there.
    let out = hourmark(&["backup", scratch.0.join("b.db").to_str().expect("utf-8")], &target.url, &scratch.0);
    assert!(!out.status.success());
    assert!(said(&out).contains("no database"), "{}", said(&out));
    assert!(!scratch.0.join("b.db").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_and_restore_refuse_postgresql_and_point_at_the_readme() {
    let scratch = Scratch::new();
    let database = TestDatabase::create(Backend::Postgres).await;
    let file = scratch.0.join("pg.db");
    for args in
        [vec!["backup", file.to_str().expect("utf-8")], vec!["restore", "--force", file.to_str().expect("utf-8")]]
    {
        let out = hourmark(&args, &database.url, &scratch.0);
        assert!(!out.status.success(), "{args:?} must be refused");
        assert!(said(&out).contains("pg_dump") && said(&out).contains("README"), "{}", said(&out));
        assert!(!file.exists());
    }
}

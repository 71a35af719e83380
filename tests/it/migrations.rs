//! Upgrading a database that already holds data: migrations are append-only, and the
//! ones that reshape tables (SQLite rebuilds `staff` to change its checks) keep every row
//! and every reference.

use std::borrow::Cow;
use std::path::Path;

use hourmark_tests::{Backend, TestDatabase};
use sqlx::migrate::Migrator;

/// The migrator for `backend`, holding only the migrations up to `version`.
async fn migrator_up_to(backend: Backend, version: i64) -> Migrator {
    let folder = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations").join(folder);
    let mut migrator = Migrator::new(path).await.expect("migrations");
    let kept: Vec<_> = migrator.migrations.iter().filter(|m| m.version <= version).cloned().collect();
    assert_eq!(kept.len() as i64, version, "migrations are numbered 1..");
    migrator.migrations = Cow::Owned(kept);
    migrator
}

/// Rows as an installation before passkeys had them: an administrator with a session, an
/// organisation and an activity that administrator created.
const BEFORE_PASSKEYS: &[&str] = &[
    "insert into organisation (name, region_code, created_at) values ('翠湖', '530102', 0)",
    "insert into staff (name, role, created_at) values ('管理员', 'administrator', 0)",
    "insert into staff (organisation_id, name, role, created_at) values (1, '李组织', 'organiser', 0)",
    "insert into staff (name, role, region_code, created_at) values ('民政', 'officer', '530102', 0)",
    "insert into access_token (token_hash, staff_id, created_at, expires_at) values (X'00', 1, 0, 1)",
];

async fn staff_survive_the_passkey_migration(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    match backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&format!("{}?mode=rwc", database.url)).await.expect("connect");
            migrator_up_to(backend, 4).await.run(&pool).await.expect("migrate to 4");
            for statement in BEFORE_PASSKEYS {
                sqlx::query(*statement).execute(&pool).await.expect(statement);
            }
            sqlx::query(
                "insert into activity (organisation_id, name, category, recipients, content, address, latitude,
                 longitude, radius_m, starts_at, ends_at, gates, code_mode, created_by, created_at)
                 values (1, 'a', 'environment', 'r', 'c', 'ad', 25.0, 102.7, 100, 0, 1, '[]', 'toggle', 2, 0)",
            )
            .execute(&pool)
            .await
            .expect("activity");
            pool.close().await;
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&database.url).await.expect("connect");
            migrator_up_to(backend, 4).await.run(&pool).await.expect("migrate to 4");
            for statement in BEFORE_PASSKEYS {
                // The same rows; PostgreSQL keeps times as timestamps and hashes as bytea.
                let statement =
                    statement.replace(", 0)", ", now())").replace("X'00', 1, 0, 1", "'\\x00', 1, now(), now()");
                sqlx::query(sqlx::AssertSqlSafe(statement.clone())).execute(&pool).await.expect(&statement);
            }
            sqlx::query(
                "insert into activity (organisation_id, name, category, recipients, content, address, latitude,
                 longitude, radius_m, starts_at, ends_at, gates, code_mode, created_by, created_at)
                 values (1, 'a', 'environment', 'r', 'c', 'ad', 25.0, 102.7, 100, now(), now() + interval '1 hour',
                 '[]', 'toggle', 2, now())",
            )
            .execute(&pool)
            .await
            .expect("activity");
            pool.close().await;
        }
    }

    // The server's own migration takes it the rest of the way.
    let store = hourmark_core::store::connect(&database.url).await.expect("open");
    store.migrate().await.expect("migrate to the latest");

    let admin = store.staff_account(1).await.expect("read").expect("the administrator survived");
    assert_eq!(admin.staff.login, "staff1");
    assert_eq!(admin.staff.name, "管理员");
    let organiser = store.staff_account(2).await.expect("read").expect("the organiser survived");
    assert_eq!(organiser.staff.login, "staff2");
    assert_eq!(organiser.staff.organisation_id, Some(1));
    assert_ne!(admin.webauthn_user_id, organiser.webauthn_user_id, "each gets their own user handle");
    assert_eq!(store.get_activity(1).await.expect("read").expect("activity").created_by, 2);
    // Officers from before agencies existed speak for civil affairs.
    let officer = store.get_staff(3).await.expect("read").expect("the officer survived");
    assert_eq!(officer.agency, Some(hourmark_core::identity::Agency::CivilAffairs));
    assert_eq!(admin.staff.agency, None);
    // The administrator can be re-invited to enrol a passkey.
    let by_login = store.staff_account_by_login("staff1").await.expect("read").expect("found");
    assert_eq!(by_login.staff.id, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_survive_the_passkey_migration_sqlite() {
    staff_survive_the_passkey_migration(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_survive_the_passkey_migration_postgres() {
    staff_survive_the_passkey_migration(Backend::Postgres).await;
}

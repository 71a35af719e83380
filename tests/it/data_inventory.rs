//! The data inventory agrees with the migrated schema (read from each engine's catalogue),
//! `docs/data-inventory.md` is what it generates, and administrators read it over the API.

use hourmark_core::data_inventory::{disagreements, render_markdown};
use hourmark_tests::{Backend, TestDatabase, on_both_backends};
use sqlx::Row;

/// Every table of the migrated schema and its columns, migration bookkeeping excluded.
async fn catalogue(backend: Backend) -> Vec<(String, Vec<String>)> {
    let database = TestDatabase::create(backend).await;
    let store = hourmark_core::store::connect(&database.url).await.expect("connect");
    store.migrate().await.expect("migrate");
    let rows: Vec<(String, String)> = match backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&database.url).await.expect("connect");
            sqlx::query(
                "select m.name, p.name from sqlite_master m join pragma_table_info(m.name) p
                 where m.type = 'table' and m.name not like 'sqlite_%' and m.name not like '_sqlx_%'
                 order by m.name, p.cid",
            )
            .fetch_all(&pool)
            .await
            .expect("catalogue")
            .into_iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect()
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&database.url).await.expect("connect");
            sqlx::query(
                "select c.table_name::text, c.column_name::text from information_schema.columns c
                 join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name
                 where c.table_schema = current_schema() and t.table_type = 'BASE TABLE'
                   and c.table_name not like '\\_sqlx\\_%'
                 order by c.table_name, c.ordinal_position",
            )
            .fetch_all(&pool)
            .await
            .expect("catalogue")
            .into_iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect()
        }
    };
    let mut tables: Vec<(String, Vec<String>)> = Vec::new();
    for (table, column) in rows {
        match tables.last_mut() {
            Some((last, columns)) if *last == table => columns.push(column),
            _ => tables.push((table, vec![column])),
        }
    }
    assert!(tables.len() > 40, "the catalogue was read: {} tables", tables.len());
    tables
}

async fn every_column_of_the_schema_is_classified(backend: Backend) {
    let problems = disagreements(&catalogue(backend).await);
    assert!(problems.is_empty(), "the data inventory and the schema disagree:\n{}", problems.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_inventory_classifies_every_column_sqlite() {
    every_column_of_the_schema_is_classified(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_inventory_classifies_every_column_postgres() {
    every_column_of_the_schema_is_classified(Backend::Postgres).await;
}

#[test]
fn data_inventory_document_is_generated() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/data-inventory.md");
    let generated = render_markdown();
    if std::env::var_os("HOURMARK_REGENERATE_DOCS").is_some() {
        std::fs::write(&path, &generated).expect("write docs/data-inventory.md");
    }
    let written = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        written == generated,
        "docs/data-inventory.md is not what core/src/data_inventory.rs generates: run \
         HOURMARK_REGENERATE_DOCS=1 cargo nextest run -E 'test(/data_inventory_document/)'"
    );
}

on_both_backends! {
    async fn data_inventory_is_served_to_administrators(app: TestApp) {
        let admin = app.administrator().await;
        let answer = app.get("/api/v1/data-inventory", &admin).await;
        answer.expect_status(200);
        let rows = answer.body.as_array().expect("a list");
        let id_number = rows.iter().find(|r| r["column"] == "volunteer.id_number_sealed").expect("the ID number");
        assert_eq!(id_number["protection"], "sealed");
        assert_eq!(id_number["subject"], "volunteer");
        assert_eq!(id_number["legal_basis"], "statutory_duty");
        assert!(id_number["readers"].as_str().is_some_and(|r| r.contains("masked")));
        assert_eq!(rows.len(), hourmark_core::data_inventory::rows().len());

        let organisation_id = app.organisation(&admin, "翠湖志愿者协会").await;
        let organiser = app.organiser(&admin, organisation_id).await;
        app.get("/api/v1/data-inventory", &organiser).await.expect_problem(403, "forbidden");
    }
}

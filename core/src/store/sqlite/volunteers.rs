//! Registration written for SQLite alone: the volunteer, their consents, a WeChat binding
//! and the first access token in one transaction of the single writer. SQLite runs in
//! process, so a statement is a function call, not a round trip; PostgreSQL writes the
//! same rows in one statement (`postgres/volunteers.rs`).

use sqlx::Row;

use super::SqliteStore;
use crate::store::codec::Stamp;
use crate::store::volunteers::{bind_volunteer_data, insert_volunteers};
use crate::store::{NewRegistration, StoreResult, volunteer_conflict};

impl SqliteStore {
    /// Writes a registration and returns the volunteer's id.
    pub(super) async fn insert_registration(&self, registration: &NewRegistration<'_>) -> StoreResult<i64> {
        let NewRegistration { volunteer: v, wechat, token, at, .. } = *registration;
        let mut tx = self.writer().begin().await?;
        let insert = sqlx::query(insert_volunteers(
            "values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, null, $13) returning id",
        ));
        let row = bind_volunteer_data!(insert, v)
            .bind(v.device_id.as_deref())
            .bind(v.device_id.as_ref().map(|_| Stamp(at)))
            .bind(Stamp(at))
            .fetch_one(&mut *tx)
            .await
            .map_err(volunteer_conflict)?;
        let id: i64 = row.try_get("id")?;
        // Every consent in one statement (three for an adult, a fourth for a minor's
        // guardian), as on PostgreSQL, where each statement is a round trip.
        let rows = registration.consent_rows();
        if !rows.is_empty() {
            let values: Vec<String> = (0..rows.len())
                .map(|i| {
                    let n = 6 * i;
                    format!("(${}, ${}, ${}, ${}, ${}, ${})", n + 1, n + 2, n + 3, n + 4, n + 5, n + 6)
                })
                .collect();
            // Only numbered placeholders are added to the fixed text; every value is bound.
            let sql = format!(
                "insert into consent (volunteer_id, purpose, granted, notice_version, detail_sealed, recorded_at) values {}",
                values.join(", ")
            );
            let mut insert = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (c, detail_sealed) in rows {
                insert = insert
                    .bind(id)
                    .bind(c.purpose.as_str())
                    .bind(c.granted)
                    .bind(&c.notice_version)
                    .bind(detail_sealed)
                    .bind(Stamp(c.recorded_at));
            }
            insert.execute(&mut *tx).await?;
        }
        if let Some(w) = wechat {
            let insert = if w.official_account {
                r"insert into wechat_binding_oa (oa_openid, unionid, volunteer_id, bound_at) values ($1, $2, $3, $4)"
            } else {
                r"insert into wechat_binding (openid, unionid, volunteer_id, bound_at) values ($1, $2, $3, $4)"
            };
            sqlx::query(insert)
                .bind(&w.openid)
                .bind(w.unionid.as_deref())
                .bind(id)
                .bind(Stamp(at))
                .execute(&mut *tx)
                .await
                .map_err(volunteer_conflict)?;
        }
        sqlx::query(
            r"insert into access_token (token_hash, volunteer_id, created_at, expires_at) values ($1, $2, $3, $4)",
        )
        .bind(token.0.as_slice())
        .bind(id)
        .bind(Stamp(at))
        .bind(Stamp(token.1))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(id)
    }
}

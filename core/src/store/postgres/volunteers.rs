//! Registration written for PostgreSQL alone: the volunteer, their consents, a WeChat
//! binding and the first access token in one statement.
//!
//! Written as a transaction of four statements, a registration was seven round trips to
//! PostgreSQL (the pool's check of the connection when it is handed out and when it comes
//! back, `begin`, three inserts, `commit`), and PostgreSQL spent 557-727 µs of CPU on each,
//! more than the server did (BENCHMARKS.md, "Registration in one statement"). One
//! statement is atomic without `begin` and `commit`, and its data-modifying `with` parts
//! all see the volunteer's new id; the foreign keys of the consents and the token are
//! checked at the statement's end, when the volunteer's row is there. A conflict fails the
//! whole statement and names its constraint exactly as the volunteer's insert did, so
//! the taken phone, ID number, volunteer number or WeChat binding is told the same way.

use std::sync::LazyLock;

use sqlx::Row;

use super::PostgresStore;
use crate::store::volunteers::{bind_volunteer_data, insert_volunteers};
use crate::store::{NewRegistration, StoreResult, volunteer_conflict};

/// See the module's comment. `$14`-`$18` are the consents as arrays (one element each),
/// `$19`-`$21` the WeChat binding (`$21` says which table, null for none), `$22`-`$23`
/// the token.
static REGISTER: LazyLock<String> = LazyLock::new(|| {
    let volunteer =
        insert_volunteers("values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, null, $13) returning id").0;
    format!(
        "with v as ({volunteer}),
         c as (insert into consent (volunteer_id, purpose, granted, notice_version, detail_sealed, recorded_at)
               select v.id, c.purpose, c.granted, c.notice_version, c.detail_sealed, c.recorded_at
               from v, unnest($14::text[], $15::boolean[], $16::text[], $17::text[], $18::timestamptz[])
                       as c(purpose, granted, notice_version, detail_sealed, recorded_at)),
         w as (insert into wechat_binding (openid, unionid, volunteer_id, bound_at)
               select $19, $20, v.id, $13 from v where $21 = 'mini_program'),
         o as (insert into wechat_binding_oa (oa_openid, unionid, volunteer_id, bound_at)
               select $19, $20, v.id, $13 from v where $21 = 'official_account'),
         t as (insert into access_token (token_hash, volunteer_id, created_at, expires_at)
               select $22, v.id, $13, $23 from v)
         select id from v"
    )
});

impl PostgresStore {
    /// Writes a registration and returns the volunteer's id.
    pub(super) async fn insert_registration(&self, registration: &NewRegistration<'_>) -> StoreResult<i64> {
        let NewRegistration { volunteer: v, wechat, token, at, .. } = *registration;
        let rows = registration.consent_rows();
        let binding = wechat.map(|w| if w.official_account { "official_account" } else { "mini_program" });
        let row = bind_volunteer_data!(sqlx::query(sqlx::AssertSqlSafe(REGISTER.as_str())), v)
            .bind(v.device_id.as_deref())
            .bind(v.device_id.as_ref().map(|_| at))
            .bind(at)
            .bind(rows.iter().map(|(c, _)| c.purpose.as_str()).collect::<Vec<_>>())
            .bind(rows.iter().map(|(c, _)| c.granted).collect::<Vec<_>>())
            .bind(rows.iter().map(|(c, _)| c.notice_version.as_str()).collect::<Vec<_>>())
            .bind(rows.iter().map(|(_, detail)| *detail).collect::<Vec<_>>())
            .bind(rows.iter().map(|(c, _)| c.recorded_at).collect::<Vec<_>>())
            .bind(wechat.map(|w| w.openid.as_str()))
            .bind(wechat.and_then(|w| w.unionid.as_deref()))
            .bind(binding)
            .bind(token.0.as_slice())
            .bind(token.1)
            .fetch_one(self.writer())
            .await
            .map_err(volunteer_conflict)?;
        Ok(row.try_get("id")?)
    }
}

//! Bearer tokens and console sessions, on both engines.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::Engine;
use crate::identity::{Principal, StaffRole, TokenGrant, TokenHash};
use crate::store::codec::{RowTimes, Stamp};
use crate::store::{SessionStore, StoreResult, StoredSession, corrupt, hash_from, token_owner};

#[async_trait]
impl SessionStore for Engine {
    async fn put_access_token(
        &self,
        hash: &TokenHash,
        principal: &Principal,
        at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let (staff_id, volunteer_id) = match principal {
            Principal::Staff { id, .. } => (Some(*id), None),
            Principal::Volunteer { id } => (None, Some(*id)),
        };
        sqlx::query(
            r"insert into access_token (token_hash, staff_id, volunteer_id, created_at, expires_at)
              values ($1, $2, $3, $4, $5)",
        )
        .bind(hash.as_slice())
        .bind(staff_id)
        .bind(volunteer_id)
        .bind(Stamp(at))
        .bind(Stamp(expires_at))
        .execute(self.writer())
        .await?;
        Ok(())
    }

    async fn find_access_token(&self, hash: &TokenHash) -> StoreResult<Option<TokenGrant>> {
        let row = sqlx::query(
            r"select t.expires_at, t.idle_minutes, t.last_seen_at, t.volunteer_id, s.id as staff_id, s.role,
                     s.organisation_id
              from access_token t left join staff s on s.id = t.staff_id
              where t.revoked_at is null and t.token_hash = $1",
        )
        .bind(hash.as_slice())
        .fetch_optional(self.reader())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let principal = match row.try_get::<Option<i64>, _>("volunteer_id")? {
            Some(id) => Principal::Volunteer { id },
            None => Principal::Staff {
                id: row.try_get("staff_id")?,
                role: StaffRole::parse(row.try_get("role")?).ok_or_else(|| corrupt("role"))?,
                organisation_id: row.try_get("organisation_id")?,
            },
        };
        Ok(Some(TokenGrant {
            principal,
            expires_at: row.time("expires_at")?,
            idle_minutes: row.try_get::<Option<i32>, _>("idle_minutes")?.and_then(|m| u32::try_from(m).ok()),
            last_seen_at: row.maybe_time("last_seen_at")?,
        }))
    }

    async fn set_token_idle(&self, hash: &TokenHash, idle_minutes: u32, at: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(r"update access_token set idle_minutes = $2, last_seen_at = $3 where token_hash = $1")
            .bind(hash.as_slice())
            .bind(i32::try_from(idle_minutes).unwrap_or(i32::MAX))
            .bind(Stamp(at))
            .execute(self.writer())
            .await?;
        Ok(())
    }

    async fn touch_access_token(&self, hash: &TokenHash, at: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(
            r"update access_token set last_seen_at = $2
              where token_hash = $1 and revoked_at is null and (last_seen_at is null or last_seen_at < $2)",
        )
        .bind(hash.as_slice())
        .bind(Stamp(at))
        .execute(self.writer())
        .await?;
        Ok(())
    }

    async fn list_access_tokens(&self, principal: &Principal) -> StoreResult<Vec<StoredSession>> {
        let (column, id) = token_owner(principal);
        let sql = if column == "staff_id" {
            r"select token_hash, created_at, expires_at, idle_minutes, last_seen_at from access_token
              where staff_id = $1 and revoked_at is null order by created_at desc"
        } else {
            r"select token_hash, created_at, expires_at, idle_minutes, last_seen_at from access_token
              where volunteer_id = $1 and revoked_at is null order by created_at desc"
        };
        let rows = sqlx::query(sql).bind(id).fetch_all(self.reader()).await?;
        rows.iter()
            .map(|row| {
                Ok(StoredSession {
                    hash: hash_from(row.try_get("token_hash")?)?,
                    created_at: row.time("created_at")?,
                    expires_at: row.time("expires_at")?,
                    idle_minutes: row.try_get::<Option<i32>, _>("idle_minutes")?.and_then(|m| u32::try_from(m).ok()),
                    last_seen_at: row.maybe_time("last_seen_at")?,
                })
            })
            .collect()
    }

    async fn revoke_access_tokens(
        &self,
        principal: &Principal,
        only: Option<&TokenHash>,
        at: DateTime<Utc>,
    ) -> StoreResult<Vec<TokenHash>> {
        let (column, id) = token_owner(principal);
        let sql = if column == "staff_id" {
            r"update access_token set revoked_at = $1
              where staff_id = $2 and revoked_at is null and ($3 is null or token_hash = $3)
              returning token_hash"
        } else {
            r"update access_token set revoked_at = $1
              where volunteer_id = $2 and revoked_at is null and ($3 is null or token_hash = $3)
              returning token_hash"
        };
        let rows =
            sqlx::query(sql).bind(Stamp(at)).bind(id).bind(only.map(|h| h.to_vec())).fetch_all(self.writer()).await?;
        rows.into_iter().map(|row| hash_from(row.try_get("token_hash")?)).collect()
    }
}

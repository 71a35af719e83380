//! SQLite: one-time SMS codes (see [`crate::store::sms_code`]). Every write goes through
//! the single writer connection, so the check-and-count below is serialised.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{SqliteStore, from_ms, ms};
use crate::store::StoreResult;
use crate::store::sms_code::{NewSmsCode, SmsCodeCheck, SmsCodeStore, judge};

#[async_trait]
impl SmsCodeStore for SqliteStore {
    async fn put_sms_code(&self, code: &NewSmsCode) -> StoreResult<()> {
        sqlx::query(
            r"insert into sms_code (phone_lookup, code_hash, created_at, expires_at, attempts, used_at)
              values ($1, $2, $3, $4, 0, null)
              on conflict (phone_lookup) do update
              set code_hash = excluded.code_hash, created_at = excluded.created_at,
                  expires_at = excluded.expires_at, attempts = 0, used_at = null",
        )
        .bind(code.phone_lookup.as_slice())
        .bind(code.code_hash.as_slice())
        .bind(ms(code.created_at))
        .bind(ms(code.expires_at))
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn check_sms_code(
        &self,
        phone_lookup: &[u8; 32],
        code_hash: &[u8; 32],
        now: DateTime<Utc>,
        max_attempts: u32,
    ) -> StoreResult<SmsCodeCheck> {
        let mut tx = self.write.begin().await?;
        let row = sqlx::query(r"select code_hash, attempts, used_at, expires_at from sms_code where phone_lookup = $1")
            .bind(phone_lookup.as_slice())
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else { return Ok(SmsCodeCheck::NoCode) };
        let stored: Vec<u8> = row.try_get("code_hash")?;
        let attempts: i64 = row.try_get("attempts")?;
        let used_at: Option<i64> = row.try_get("used_at")?;
        let expires_at = from_ms(row.try_get("expires_at")?)?;
        let check = judge(&stored, attempts, used_at.is_some(), expires_at, code_hash, now, max_attempts);
        match check {
            SmsCodeCheck::Accepted => {
                sqlx::query(r"update sms_code set used_at = $2 where phone_lookup = $1")
                    .bind(phone_lookup.as_slice())
                    .bind(ms(now))
                    .execute(&mut *tx)
                    .await?;
            }
            SmsCodeCheck::Wrong { .. } => {
                sqlx::query(r"update sms_code set attempts = attempts + 1 where phone_lookup = $1")
                    .bind(phone_lookup.as_slice())
                    .execute(&mut *tx)
                    .await?;
            }
            _ => {}
        }
        tx.commit().await?;
        Ok(check)
    }
}

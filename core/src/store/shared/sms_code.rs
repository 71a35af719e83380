//! One-time SMS codes (see [`crate::store::sms_code`]), on both engines. The check and
//! the count below run in one transaction that holds the code's row.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::Engine;
use crate::store::StoreResult;
use crate::store::codec::{RowTimes, Stamp};
use crate::store::sms_code::{NewSmsCode, SmsCodeCheck, SmsCodeStore, judge};

#[async_trait]
impl SmsCodeStore for Engine {
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
        .bind(Stamp(code.created_at))
        .bind(Stamp(code.expires_at))
        .execute(self.writer())
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
        let mut tx = self.writer().begin().await?;
        let row = sqlx::query(concat!(
            "select code_hash, attempts, used_at, expires_at from sms_code where phone_lookup = $1",
            for_update!()
        ))
        .bind(phone_lookup.as_slice())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(SmsCodeCheck::NoCode) };
        let stored: Vec<u8> = row.try_get("code_hash")?;
        let attempts: i32 = row.try_get("attempts")?;
        let used_at = row.maybe_time("used_at")?;
        let expires_at = row.time("expires_at")?;
        let check = judge(&stored, attempts.into(), used_at.is_some(), expires_at, code_hash, now, max_attempts);
        match check {
            SmsCodeCheck::Accepted => {
                sqlx::query(r"update sms_code set used_at = $2 where phone_lookup = $1")
                    .bind(phone_lookup.as_slice())
                    .bind(Stamp(now))
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

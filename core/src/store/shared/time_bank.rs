//! The time bank on PostgreSQL. Concurrency: accounts are created in their own short
//! statement before the posting transaction, and a posting transaction first claims its
//! key (a second request with the same key waits there for the first to finish) and then
//! moves balances in account-id order with a guarded `update`, so two transactions never
//! wait on each other in a cycle and no balance that must not go negative can.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{DbRow, Engine, insert_audit};
use crate::audit::AuditEvent;
use crate::store::codec::{RowTimes, Stamp};
use crate::store::{StoreResult, TimeBankStore, corrupt};
use crate::time_bank::{
    AccountRef, BankTransaction, BankTransactionKind, LedgerCheck, NewBankTransaction, Posting, RegisterCredit,
    StatementLine, TimeBankSetting,
};

const TRANSACTION_COLUMNS: &str = "t.id, t.key, t.kind, t.minutes, t.shortfall, t.register_seq, t.organisation_id, t.service, t.beneficiary, t.created_at";

fn transaction_from(row: &DbRow) -> StoreResult<BankTransaction> {
    let kind: String = row.try_get("kind")?;
    Ok(BankTransaction {
        id: row.try_get("id")?,
        key: row.try_get("key")?,
        kind: BankTransactionKind::parse(&kind).ok_or_else(|| corrupt("time bank transaction kind"))?,
        minutes: row.try_get("minutes")?,
        shortfall: row.try_get("shortfall")?,
        register_seq: row.try_get("register_seq")?,
        organisation_id: row.try_get("organisation_id")?,
        service: row.try_get("service")?,
        beneficiary: row.try_get("beneficiary")?,
        created_at: row.time("created_at")?,
    })
}

impl Engine {
    /// The account's id, if it exists.
    async fn bank_account_id(&self, account: AccountRef) -> StoreResult<Option<i64>> {
        let id = match account {
            AccountRef::Volunteer(volunteer_id) => {
                sqlx::query_scalar(r"select id from time_bank_account where kind = 'volunteer' and volunteer_id = $1")
                    .bind(volunteer_id)
                    .fetch_optional(self.reader())
                    .await?
            }
            nominal => {
                sqlx::query_scalar(r"select id from time_bank_account where kind = $1")
                    .bind(nominal.kind())
                    .fetch_optional(self.reader())
                    .await?
            }
        };
        Ok(id)
    }

    /// The account's id, creating a volunteer's account on first use (committed at once).
    async fn ensure_bank_account(&self, account: AccountRef, at: DateTime<Utc>) -> StoreResult<i64> {
        if let AccountRef::Volunteer(volunteer_id) = account {
            sqlx::query(
                r"insert into time_bank_account (kind, volunteer_id, created_at) values ('volunteer', $1, $2)
                  on conflict (volunteer_id) where kind = 'volunteer' do nothing",
            )
            .bind(volunteer_id)
            .bind(Stamp(at))
            .execute(self.writer())
            .await?;
        }
        self.bank_account_id(account).await?.ok_or_else(|| corrupt("time bank account"))
    }
}

#[async_trait]
impl TimeBankStore for Engine {
    async fn time_bank_setting(&self, organisation_id: i64) -> StoreResult<Option<TimeBankSetting>> {
        let row = sqlx::query(
            r"select enabled, expiry_months, min_stars_to_spend from time_bank_setting where organisation_id = $1",
        )
        .bind(organisation_id)
        .fetch_optional(self.reader())
        .await?;
        row.map(|row| {
            let months: Option<i32> = row.try_get("expiry_months")?;
            let min_stars: Option<i16> = row.try_get("min_stars_to_spend")?;
            Ok(TimeBankSetting {
                enabled: row.try_get("enabled")?,
                expiry_months: months.and_then(|m| u32::try_from(m).ok()),
                min_stars_to_spend: min_stars.and_then(|s| u8::try_from(s).ok()),
            })
        })
        .transpose()
    }

    async fn put_time_bank_setting(
        &self,
        organisation_id: i64,
        setting: &TimeBankSetting,
        by: i64,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.writer().begin().await?;
        sqlx::query(
            r"insert into time_bank_setting (organisation_id, enabled, expiry_months, set_by, set_at, min_stars_to_spend)
              values ($1, $2, $3, $4, $5, $6)
              on conflict (organisation_id) do update set enabled = excluded.enabled,
                  expiry_months = excluded.expiry_months, set_by = excluded.set_by, set_at = excluded.set_at,
                  min_stars_to_spend = excluded.min_stars_to_spend",
        )
        .bind(organisation_id)
        .bind(setting.enabled)
        .bind(setting.expiry_months.map(|m| i32::try_from(m).unwrap_or(i32::MAX)))
        .bind(by)
        .bind(Stamp(at))
        .bind(setting.min_stars_to_spend.map(i16::from))
        .execute(&mut *tx)
        .await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn undeposited_register_entries(&self, volunteer_id: i64) -> StoreResult<Vec<RegisterCredit>> {
        let rows = sqlx::query(
            r"select r.seq, r.organisation_id, r.minutes, s.expiry_months
              from register_entry r
              join time_bank_setting s on s.organisation_id = r.organisation_id and s.enabled
              where r.volunteer_id = $1
                and exists (select 1 from report_item i join report_batch b on b.id = i.batch_id
                            where i.register_seq = r.seq and b.status = 'confirmed')
                and not exists (select 1 from time_bank_transaction t where t.register_seq = r.seq)
              order by r.seq",
        )
        .bind(volunteer_id)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|row| {
                let minutes: i32 = row.try_get("minutes")?;
                let months: Option<i32> = row.try_get("expiry_months")?;
                Ok(RegisterCredit {
                    seq: row.try_get("seq")?,
                    organisation_id: row.try_get("organisation_id")?,
                    minutes: i64::from(minutes),
                    expiry_months: months.and_then(|m| u32::try_from(m).ok()),
                })
            })
            .collect()
    }

    async fn post_bank_transaction(&self, t: &NewBankTransaction) -> StoreResult<Posting> {
        let mut postings = Vec::with_capacity(t.postings.len());
        for (account, minutes) in &t.postings {
            postings.push((self.ensure_bank_account(*account, t.at).await?, *minutes));
        }
        postings.sort_unstable();
        let fingerprint = t.fingerprint();
        let mut tx = self.writer().begin().await?;
        let id: Option<i64> = sqlx::query_scalar(
            r"insert into time_bank_transaction (key, kind, fingerprint, minutes, shortfall, register_seq,
                  organisation_id, service, beneficiary, expires_at, by_staff, by_volunteer, created_at)
              values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
              on conflict (key) do nothing
              returning id",
        )
        .bind(&t.key)
        .bind(t.kind.as_str())
        .bind(&fingerprint)
        .bind(t.minutes)
        .bind(t.shortfall)
        .bind(t.register_seq)
        .bind(t.organisation_id)
        .bind(&t.service)
        .bind(&t.beneficiary)
        .bind(t.expires_at.map(Stamp))
        .bind(t.by_staff)
        .bind(t.by_volunteer)
        .bind(Stamp(t.at))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(id) = id else {
            tx.rollback().await?;
            let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                "select {TRANSACTION_COLUMNS}, t.fingerprint from time_bank_transaction t where t.key = $1"
            )))
            .bind(&t.key)
            .fetch_one(self.reader())
            .await?;
            let theirs: String = row.try_get("fingerprint")?;
            return Ok(if theirs == fingerprint {
                Posting::Replayed(transaction_from(&row)?)
            } else {
                Posting::KeyReused
            });
        };
        for (account_id, minutes) in &postings {
            let moved = sqlx::query(
                r"update time_bank_account set balance = balance + $2
                  where id = $1 and (kind not in ('volunteer', 'pool') or balance + $2 >= 0)",
            )
            .bind(account_id)
            .bind(minutes)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if moved != 1 {
                tx.rollback().await?;
                return Ok(Posting::Insufficient);
            }
        }
        // Two or three postings a transaction: one statement each costs nothing worth a
        // per-engine bulk insert.
        for (account_id, minutes) in &postings {
            sqlx::query(r"insert into time_bank_posting (transaction_id, account_id, minutes) values ($1, $2, $3)")
                .bind(id)
                .bind(account_id)
                .bind(minutes)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(Posting::Posted(BankTransaction {
            id,
            key: t.key.clone(),
            kind: t.kind,
            minutes: t.minutes,
            shortfall: t.shortfall,
            register_seq: t.register_seq,
            organisation_id: t.organisation_id,
            service: t.service.clone(),
            beneficiary: t.beneficiary.clone(),
            created_at: t.at,
        }))
    }

    async fn bank_balance(&self, account: AccountRef) -> StoreResult<i64> {
        let Some(id) = self.bank_account_id(account).await? else { return Ok(0) };
        Ok(sqlx::query_scalar(r"select balance from time_bank_account where id = $1")
            .bind(id)
            .fetch_one(self.reader())
            .await?)
    }

    async fn bank_lines(
        &self,
        account: AccountRef,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> StoreResult<Vec<StatementLine>> {
        let Some(id) = self.bank_account_id(account).await? else { return Ok(Vec::new()) };
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "select {TRANSACTION_COLUMNS}, p.minutes as change
             from time_bank_posting p join time_bank_transaction t on t.id = p.transaction_id
             where p.account_id = $1 and ($2 is null or t.created_at >= $2)
               and ($3 is null or t.created_at < $3)
             order by t.id"
        )))
        .bind(id)
        .bind(from.map(Stamp))
        .bind(to.map(Stamp))
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|row| Ok(StatementLine { transaction: transaction_from(row)?, change: row.try_get("change")? }))
            .collect()
    }

    async fn bank_expiring_credits(&self, volunteer_id: i64) -> StoreResult<(Vec<(DateTime<Utc>, i64)>, i64)> {
        let Some(id) = self.bank_account_id(AccountRef::Volunteer(volunteer_id)).await? else {
            return Ok((Vec::new(), 0));
        };
        let rows = sqlx::query(
            r"select t.expires_at, p.minutes
              from time_bank_posting p join time_bank_transaction t on t.id = p.transaction_id
              where p.account_id = $1 and t.kind = 'deposit' and t.expires_at is not null",
        )
        .bind(id)
        .fetch_all(self.reader())
        .await?;
        let credits = rows
            .iter()
            .map(|row| Ok((row.time("expires_at")?, row.try_get("minutes")?)))
            .collect::<StoreResult<Vec<_>>>()?;
        let debits: i64 = sqlx::query_scalar(
            r"select cast(coalesce(-sum(minutes), 0) as bigint) from time_bank_posting where account_id = $1 and minutes < 0",
        )
        .bind(id)
        .fetch_one(self.reader())
        .await?;
        Ok((credits, debits))
    }

    async fn bank_check(&self) -> StoreResult<LedgerCheck> {
        let row = sqlx::query(
            r"select
                (select count(*) from time_bank_account) as accounts,
                (select count(*) from time_bank_transaction) as transactions,
                (select cast(coalesce(sum(balance), 0) as bigint) from time_bank_account) as balance_sum,
                (select count(*) from (select transaction_id from time_bank_posting
                                       group by transaction_id having sum(minutes) <> 0) u) as unbalanced,
                (select count(*) from time_bank_account a
                 where a.balance <> coalesce((select sum(p.minutes) from time_bank_posting p
                                              where p.account_id = a.id), 0)) as drifted,
                (select count(*) from time_bank_account
                 where kind in ('volunteer', 'pool') and balance < 0) as negative",
        )
        .fetch_one(self.reader())
        .await?;
        let check = LedgerCheck {
            accounts: row.try_get("accounts")?,
            transactions: row.try_get("transactions")?,
            balance_sum: row.try_get("balance_sum")?,
            unbalanced_transactions: row.try_get("unbalanced")?,
            drifted_accounts: row.try_get("drifted")?,
            negative_accounts: row.try_get("negative")?,
            ok: false,
        };
        Ok(LedgerCheck {
            ok: check.balance_sum == 0
                && check.unbalanced_transactions == 0
                && check.drifted_accounts == 0
                && check.negative_accounts == 0,
            ..check
        })
    }

    async fn volunteer_id_by_number(&self, number: &str) -> StoreResult<Option<i64>> {
        Ok(sqlx::query_scalar(r"select id from visible_volunteer where volunteer_number = $1")
            .bind(number)
            .fetch_optional(self.reader())
            .await?)
    }
}

//! The time bank's storage: a narrow trait, implemented once for both engines in
//! `shared/time_bank.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreResult;
use crate::audit::AuditEvent;
use crate::time_bank::{
    AccountRef, LedgerCheck, NewBankTransaction, Posting, RegisterCredit, StatementLine, TimeBankSetting,
};

/// What the time bank keeps.
#[async_trait]
pub trait TimeBankStore: Send + Sync {
    /// An organisation's setting, if it was ever set.
    async fn time_bank_setting(&self, organisation_id: i64) -> StoreResult<Option<TimeBankSetting>>;
    /// Sets an organisation's setting with its audit entry, in one transaction.
    async fn put_time_bank_setting(
        &self,
        organisation_id: i64,
        setting: &TimeBankSetting,
        by: i64,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    /// The volunteer's register entries in confirmed batches, from organisations with the
    /// time bank on, that have no deposit or reversal yet; in register order.
    async fn undeposited_register_entries(&self, volunteer_id: i64) -> StoreResult<Vec<RegisterCredit>>;
    /// Posts a transaction, all or nothing: its key not used before, every account it
    /// touches staying at or above zero where that binds. Accounts are created on first use.
    async fn post_bank_transaction(&self, transaction: &NewBankTransaction) -> StoreResult<Posting>;
    /// An account's balance (0 for an account never used).
    async fn bank_balance(&self, account: AccountRef) -> StoreResult<i64>;
    /// An account's postings with their transactions, oldest first, made in `[from, to)`.
    async fn bank_lines(
        &self,
        account: AccountRef,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> StoreResult<Vec<StatementLine>>;
    /// The volunteer's deposits that lapse, with when and how much, and every minute ever
    /// debited from their account.
    async fn bank_expiring_credits(&self, volunteer_id: i64) -> StoreResult<(Vec<(DateTime<Utc>, i64)>, i64)>;
    /// Whether the books balance.
    async fn bank_check(&self) -> StoreResult<LedgerCheck>;
    /// The volunteer with this volunteer number.
    async fn volunteer_id_by_number(&self, number: &str) -> StoreResult<Option<i64>>;
}

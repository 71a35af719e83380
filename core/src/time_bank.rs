//! The time bank (时间储蓄, DOMAIN.md point 11): volunteers save the minutes the register
//! confirms, and later receive service from others up to what they saved, give minutes to
//! another volunteer or to a common pool, or see them lapse where their organisation sets
//! an expiry.
//!
//! It is a double-entry ledger. Every transaction is a set of postings that sums to zero,
//! over five kinds of account: one per volunteer, the common `pool`, and three nominal
//! accounts that are the other side of the books: `deposits` (minus every minute brought
//! in from the register), `services` (every minute spent on a service received) and
//! `expired`. So:
//!
//! - the sum over all accounts is zero;
//! - no volunteer account and not the pool ever goes below zero (the store refuses a
//!   posting that would, atomically, so two concurrent spends cannot both pass);
//! - an account's balance is the sum of its postings;
//! - a transaction is idempotent by its key: the same key with the same contents answers
//!   the first transaction again, with other contents it is `time_bank_key_reused`.
//!
//! Deposits are not a separate step anyone must remember: whenever a volunteer's account
//! is read or debited, every civil-affairs-confirmed register entry of theirs from an
//! organisation with the time bank on that has no deposit yet is deposited first (key
//! `register:<seq>`, so this is safe to race). A register correction is a reversal and a
//! replacement: the replacement is deposited first and the reversal then takes the old
//! minutes back; if some were already spent it takes back what is there and records the
//! rest as its `shortfall`, because the ledger never goes below zero and a service
//! received cannot be un-received.
//!
//! Expiry is first-in-first-out: debits consume the earliest-lapsing credits first, so what
//! has lapsed by now is `max(0, credits lapsed by now − all debits so far)`, posted as one
//! expiry transaction per sweep.

use chrono::{DateTime, Datelike, Months, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{CoreError, ErrorCode};
use crate::identity::{Principal, StaffRole};

mod use_cases;

/// The most minutes one transaction may move (about 11 years of full days): beyond it a
/// number is a typo, not a service.
pub const MAX_TRANSACTION_MINUTES: i64 = 100_000;

/// An account of the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AccountRef {
    /// A volunteer's savings.
    Volunteer(i64),
    /// The common pool donations go to; organisations spend from it for those in need.
    Pool,
    /// Nominal: minus every minute deposited from the register.
    Deposits,
    /// Nominal: every minute spent on services received.
    Services,
    /// Nominal: every minute that lapsed.
    Expired,
}

impl AccountRef {
    /// The stored kind.
    pub fn kind(self) -> &'static str {
        match self {
            Self::Volunteer(_) => "volunteer",
            Self::Pool => "pool",
            Self::Deposits => "deposits",
            Self::Services => "services",
            Self::Expired => "expired",
        }
    }
}

/// What a transaction does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BankTransactionKind {
    /// Confirmed register minutes saved.
    Deposit,
    /// A register correction taking minutes back.
    Reversal,
    /// A service received, recorded by an approved organisation.
    Spend,
    /// Minutes given to another volunteer or to the pool.
    Donation,
    /// Minutes that lapsed.
    Expiry,
}

crate::stored_names!(BankTransactionKind {
    Deposit => "deposit",
    Reversal => "reversal",
    Spend => "spend",
    Donation => "donation",
    Expiry => "expiry",
});

/// A transaction to post.
#[derive(Debug, Clone, PartialEq)]
pub struct NewBankTransaction {
    /// The idempotency key.
    pub key: String,
    /// What it does.
    pub kind: BankTransactionKind,
    /// Minutes moved (positive).
    pub minutes: i64,
    /// For reversals: minutes that could not be taken back.
    pub shortfall: i64,
    /// The register entry it comes from (deposits and reversals).
    pub register_seq: Option<i64>,
    /// The organisation that recorded it.
    pub organisation_id: Option<i64>,
    /// The service received (spends).
    pub service: Option<String>,
    /// Who received it, when not the volunteer (a family member they named).
    pub beneficiary: Option<String>,
    /// When a deposit lapses.
    pub expires_at: Option<DateTime<Utc>>,
    /// The staff member who recorded it.
    pub by_staff: Option<i64>,
    /// The volunteer who made it (donations).
    pub by_volunteer: Option<i64>,
    /// When.
    pub at: DateTime<Utc>,
    /// Postings: account and signed minutes; they sum to zero.
    pub postings: Vec<(AccountRef, i64)>,
}

impl NewBankTransaction {
    /// A digest of everything the transaction does except when: a retry has the same one.
    pub fn fingerprint(&self) -> String {
        let mut postings = self.postings.clone();
        postings.sort();
        let text = format!(
            "{}|{}|{}|{:?}|{:?}|{:?}|{:?}|{:?}",
            self.kind.as_str(),
            self.minutes,
            self.shortfall,
            self.register_seq,
            self.organisation_id,
            self.service,
            self.beneficiary,
            postings,
        );
        data_encoding::HEXLOWER.encode(ring::digest::digest(&ring::digest::SHA256, text.as_bytes()).as_ref())
    }
}

/// A posted transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct BankTransaction {
    /// Its id.
    pub id: i64,
    /// The client's idempotency key.
    pub key: String,
    /// What it did.
    pub kind: BankTransactionKind,
    /// Minutes moved.
    pub minutes: i64,
    /// For reversals: minutes that had been spent and could not be taken back.
    pub shortfall: i64,
    /// The register entry it comes from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub register_seq: Option<i64>,
    /// The organisation that recorded it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organisation_id: Option<i64>,
    /// The service received.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Who received the service, when not the volunteer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub beneficiary: Option<String>,
    /// When.
    #[serde(with = "crate::activity::shanghai_time")]
    #[schema(value_type = String)]
    pub created_at: DateTime<Utc>,
}

/// What posting a transaction came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Posting {
    /// Posted now.
    Posted(BankTransaction),
    /// The key was used before with the same contents: that transaction.
    Replayed(BankTransaction),
    /// The key was used before with other contents; nothing posted.
    KeyReused,
    /// An account would have gone below zero; nothing posted.
    Insufficient,
}

/// A confirmed register entry that has no deposit yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterCredit {
    /// The register entry.
    pub seq: i64,
    /// Its organisation.
    pub organisation_id: i64,
    /// Its minutes (negative for a reversal).
    pub minutes: i64,
    /// When the organisation's deposits lapse, months (if it sets an expiry).
    pub expiry_months: Option<u32>,
}

/// One line of an account's statement: a posting with its transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct StatementLine {
    /// The transaction.
    #[serde(flatten)]
    pub transaction: BankTransaction,
    /// What it did to this account (signed).
    pub change: i64,
}

/// An organisation's time-bank setting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TimeBankSetting {
    /// Whether confirmed minutes from this organisation are saved.
    pub enabled: bool,
    /// Deposits lapse this many months after they are made, unless spent (1–600); none:
    /// they never lapse.
    #[serde(default)]
    pub expiry_months: Option<u32>,
    /// Only volunteers holding at least this many stars (1–5) may spend their savings
    /// on a service this organisation records; none: anyone may. Spending from the
    /// common pool is not capped.
    #[serde(default)]
    pub min_stars_to_spend: Option<u8>,
}

/// A volunteer's account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct TimeBankAccount {
    /// The volunteer.
    pub volunteer_id: i64,
    /// Minutes saved and not yet spent, given or lapsed.
    pub balance_minutes: i64,
    /// The earliest lapse ahead, if any of the balance lapses.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub next_expiry: Option<DateTime<Utc>>,
}

/// Whether the books balance (for an officer answering to an inspector).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct LedgerCheck {
    /// Accounts.
    pub accounts: i64,
    /// Transactions.
    pub transactions: i64,
    /// The sum of every account's balance: zero when the books balance.
    pub balance_sum: i64,
    /// Transactions whose postings do not sum to zero.
    pub unbalanced_transactions: i64,
    /// Accounts whose balance is not the sum of their postings.
    pub drifted_accounts: i64,
    /// Volunteer accounts or the pool below zero.
    pub negative_accounts: i64,
    /// Whether all of the above hold.
    pub ok: bool,
}

/// A service received, paid from a volunteer's savings or from the pool.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSpend {
    /// The client's idempotency key (1–100 printable ASCII characters): a retry with the
    /// same key and contents answers the first transaction again.
    pub key: String,
    /// Whose savings pay: a volunteer id, or none for the common pool.
    #[serde(default)]
    pub volunteer_id: Option<i64>,
    /// Or the volunteer number (志愿者编号) on their card, as a desk is told it; not
    /// both.
    #[serde(default)]
    pub volunteer_number: Option<String>,
    /// Minutes (1–100000).
    pub minutes: i64,
    /// The service received (1–200 characters).
    pub service: String,
    /// Who received it when not the volunteer: the family member they named.
    #[serde(default)]
    pub beneficiary: Option<String>,
}

/// Minutes a volunteer gives away.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDonation {
    /// The client's idempotency key (1–100 printable ASCII characters).
    pub key: String,
    /// The volunteer number (志愿者编号) of the recipient; none for the common pool.
    #[serde(default)]
    pub to_volunteer_number: Option<String>,
    /// Minutes (1–100000).
    pub minutes: i64,
}

fn validate_key(key: &str) -> Result<(), CoreError> {
    if key.is_empty() || key.len() > 100 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(CoreError::refused(ErrorCode::InvalidBody, "key 须为 1 至 100 个可见 ASCII 字符"));
    }
    // Keys the server makes for itself cannot be borrowed by a client.
    if key.starts_with("register:") || key.starts_with("expiry:") {
        return Err(CoreError::refused(ErrorCode::InvalidBody, "key 不能以 register: 或 expiry: 开头"));
    }
    Ok(())
}

fn validate_minutes(minutes: i64) -> Result<(), CoreError> {
    if !(1..=MAX_TRANSACTION_MINUTES).contains(&minutes) {
        return Err(CoreError::refused(
            ErrorCode::InvalidBody,
            format!("minutes 须在 1 至 {MAX_TRANSACTION_MINUTES} 之间"),
        ));
    }
    Ok(())
}

/// Minutes that have lapsed by `now` and are not yet posted as expired: credits consume
/// debits earliest-lapsing first, so what lapsed unspent is the lapsed credits less every
/// debit so far (expiries already posted are debits too).
pub fn lapsed_minutes(credits: &[(DateTime<Utc>, i64)], debits: i64, now: DateTime<Utc>) -> i64 {
    let lapsed: i64 = credits.iter().filter(|(at, _)| *at <= now).map(|(_, m)| m).sum();
    (lapsed - debits).max(0)
}

/// The first lapse ahead that still has minutes in it.
fn next_expiry(credits: &[(DateTime<Utc>, i64)], debits: i64, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let mut sorted = credits.to_vec();
    sorted.sort();
    let mut consumed = debits;
    for (at, minutes) in sorted {
        if consumed >= minutes {
            consumed -= minutes;
            continue;
        }
        if at > now {
            return Some(at);
        }
        consumed = 0;
    }
    None
}

/// The first and last instant of a month in Beijing time (`2026-12`).
pub fn month_bounds(month: &str) -> Result<(DateTime<Utc>, DateTime<Utc>), CoreError> {
    let bad = || CoreError::refused(ErrorCode::InvalidParameter, "month 须为 YYYY-MM，如 2026-12");
    let first = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").map_err(|_| bad())?;
    if month.len() != 7 {
        return Err(bad());
    }
    let next = first.checked_add_months(Months::new(1)).ok_or_else(bad)?;
    let zone = chrono_tz::Asia::Shanghai;
    let start = zone.from_local_datetime(&first.and_hms_opt(0, 0, 0).ok_or_else(bad)?).single().ok_or_else(bad)?;
    let end = zone.from_local_datetime(&next.and_hms_opt(0, 0, 0).ok_or_else(bad)?).single().ok_or_else(bad)?;
    Ok((start.with_timezone(&Utc), end.with_timezone(&Utc)))
}

/// A month's statement of a volunteer's account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Statement {
    /// The volunteer.
    pub volunteer_id: i64,
    /// The month, `YYYY-MM` (Beijing time).
    pub month: String,
    /// The balance when the month began.
    pub opening_minutes: i64,
    /// The month's lines, oldest first.
    pub lines: Vec<StatementLine>,
    /// The balance when the month ended (or now, for the current month).
    pub closing_minutes: i64,
}

/// The volunteer themselves, or an administrator.
fn require_account_reader(by: &Principal, volunteer_id: i64) -> Result<(), CoreError> {
    match by {
        Principal::Volunteer { id } if *id == volunteer_id => Ok(()),
        Principal::Staff { role: StaffRole::Administrator, .. } => Ok(()),
        _ => Err(CoreError::code(ErrorCode::Forbidden)),
    }
}

/// Today's month in Beijing time, `YYYY-MM`.
pub fn current_month(now: DateTime<Utc>) -> String {
    let local = now.with_timezone(&chrono_tz::Asia::Shanghai);
    format!("{:04}-{:02}", local.year(), local.month())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, day, 0, 0, 0).single().expect("valid")
    }

    #[test]
    fn debits_consume_the_earliest_lapsing_credits_first() {
        let credits = [(at(10), 60), (at(20), 30)];
        // Nothing lapsed yet.
        assert_eq!(lapsed_minutes(&credits, 0, at(5)), 0);
        // The first credit lapsed, nothing spent: all 60 lapse.
        assert_eq!(lapsed_minutes(&credits, 0, at(10)), 60);
        // 50 spent came out of the first credit: 10 lapse.
        assert_eq!(lapsed_minutes(&credits, 50, at(15)), 10);
        // Spent more than the first credit: nothing of it is left to lapse.
        assert_eq!(lapsed_minutes(&credits, 70, at(15)), 0);
        // Both lapsed, 70 debited: 20 left of the second.
        assert_eq!(lapsed_minutes(&credits, 70, at(25)), 20);
        assert_eq!(next_expiry(&credits, 0, at(5)), Some(at(10)));
        assert_eq!(next_expiry(&credits, 60, at(5)), Some(at(20)));
        assert_eq!(next_expiry(&credits, 90, at(5)), None);
    }

    #[test]
    fn the_fingerprint_ignores_when_and_posting_order_but_not_what() {
        let base = NewBankTransaction {
            key: "k".into(),
            kind: BankTransactionKind::Donation,
            minutes: 30,
            shortfall: 0,
            register_seq: None,
            organisation_id: None,
            service: None,
            beneficiary: None,
            expires_at: None,
            by_staff: None,
            by_volunteer: Some(1),
            at: at(1),
            postings: vec![(AccountRef::Volunteer(1), -30), (AccountRef::Pool, 30)],
        };
        let mut later = base.clone();
        later.at = at(2);
        later.postings.reverse();
        assert_eq!(base.fingerprint(), later.fingerprint());
        let mut more = base.clone();
        more.minutes = 31;
        more.postings = vec![(AccountRef::Volunteer(1), -31), (AccountRef::Pool, 31)];
        assert_ne!(base.fingerprint(), more.fingerprint());
    }

    #[test]
    fn months_are_beijing_months() {
        let (from, to) = month_bounds("2026-12").expect("valid");
        assert_eq!(from, Utc.with_ymd_and_hms(2026, 11, 30, 16, 0, 0).single().expect("valid"));
        assert_eq!(to, Utc.with_ymd_and_hms(2026, 12, 31, 16, 0, 0).single().expect("valid"));
        for bad in ["2026-13", "2026-1", "december", "2026-12-01", ""] {
            assert!(month_bounds(bad).is_err(), "{bad}");
        }
        assert_eq!(current_month(from), "2026-12");
    }
}

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

use crate::audit::AuditEvent;
use crate::error::{CoreError, ErrorCode};
use crate::hourmark::Hourmark;
use crate::identity::guards::require_manager_of;
use crate::identity::{OrganisationStatus, Principal, StaffRole};
use crate::text::{self, Lines};

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

impl Hourmark {
    /// Turns an organisation's time bank on or off and sets its expiry (administrators and
    /// the organisation's own organisers). Audited.
    pub async fn set_time_bank(
        &self,
        by: &Principal,
        organisation_id: i64,
        setting: TimeBankSetting,
    ) -> Result<TimeBankSetting, CoreError> {
        let staff_id = require_manager_of(by, organisation_id)?;
        if matches!(by, Principal::Staff { role: StaffRole::Recorder | StaffRole::Officer, .. }) {
            return Err(CoreError::code(ErrorCode::Forbidden));
        }
        if setting.expiry_months.is_some_and(|m| !(1..=600).contains(&m)) {
            return Err(CoreError::refused(ErrorCode::InvalidBody, "expiry_months 须在 1 至 600 之间"));
        }
        if setting.min_stars_to_spend.is_some_and(|s| !(1..=5).contains(&s)) {
            return Err(CoreError::refused(ErrorCode::InvalidBody, "min_stars_to_spend 须在 1 至 5 之间"));
        }
        self.store().get_organisation(organisation_id).await?.ok_or_else(|| CoreError::code(ErrorCode::NotFound))?;
        let now = self.now();
        let audit = AuditEvent {
            at: now,
            actor_kind: "staff".into(),
            actor_id: Some(staff_id),
            action: "time_bank_set".into(),
            subject_kind: "organisation".into(),
            subject_id: Some(organisation_id),
            detail: serde_json::json!({
                "enabled": setting.enabled,
                "expiry_months": setting.expiry_months,
                "min_stars_to_spend": setting.min_stars_to_spend,
            }),
        };
        self.store().put_time_bank_setting(organisation_id, &setting, staff_id, now, &audit).await?;
        Ok(setting)
    }

    /// An organisation's time-bank setting (off when never set).
    pub async fn time_bank_setting(&self, by: &Principal, organisation_id: i64) -> Result<TimeBankSetting, CoreError> {
        require_manager_of(by, organisation_id)?;
        Ok(self.store().time_bank_setting(organisation_id).await?.unwrap_or(TimeBankSetting {
            enabled: false,
            expiry_months: None,
            min_stars_to_spend: None,
        }))
    }

    /// A volunteer's account, after saving their newly confirmed minutes and lapsing what
    /// has expired (the volunteer themselves, or an administrator).
    pub async fn time_bank_account(&self, by: &Principal, volunteer_id: i64) -> Result<TimeBankAccount, CoreError> {
        require_account_reader(by, volunteer_id)?;
        self.settle(volunteer_id).await?;
        let store = self.store();
        let balance = store.bank_balance(AccountRef::Volunteer(volunteer_id)).await?;
        let (credits, debits) = store.bank_expiring_credits(volunteer_id).await?;
        Ok(TimeBankAccount {
            volunteer_id,
            balance_minutes: balance,
            next_expiry: next_expiry(&credits, debits, self.now()),
        })
    }

    /// A volunteer's account found by the number on their card (administrators, who read
    /// any account). The caller's role is checked before the number is looked up, so a
    /// caller who may not read accounts learns nothing of which numbers exist.
    pub async fn time_bank_account_by_number(
        &self,
        by: &Principal,
        volunteer_number: &str,
    ) -> Result<TimeBankAccount, CoreError> {
        crate::identity::guards::require_administrator(by)?;
        let number = volunteer_number.trim();
        let unknown = || CoreError::refused(ErrorCode::NotFound, "没有这个志愿者编号");
        // Volunteer numbers are twelve digits; anything else is no one's.
        if number.is_empty() || number.len() > 32 || !number.bytes().all(|b| b.is_ascii_digit()) {
            return Err(unknown());
        }
        let volunteer_id = self.store().volunteer_id_by_number(number).await?.ok_or_else(unknown)?;
        self.time_bank_account(by, volunteer_id).await
    }

    /// One month of a volunteer's account.
    pub async fn time_bank_statement(
        &self,
        by: &Principal,
        volunteer_id: i64,
        month: &str,
    ) -> Result<Statement, CoreError> {
        require_account_reader(by, volunteer_id)?;
        let (from, to) = month_bounds(month)?;
        self.settle(volunteer_id).await?;
        let account = AccountRef::Volunteer(volunteer_id);
        let before = self.store().bank_lines(account, None, Some(from)).await?;
        let lines = self.store().bank_lines(account, Some(from), Some(to)).await?;
        let opening: i64 = before.iter().map(|l| l.change).sum();
        let closing = opening + lines.iter().map(|l| l.change).sum::<i64>();
        Ok(Statement {
            volunteer_id,
            month: month.to_owned(),
            opening_minutes: opening,
            lines,
            closing_minutes: closing,
        })
    }

    /// Records a service received, paid from a volunteer's savings or the pool: staff of an
    /// approved organisation (administrators record for none).
    pub async fn spend_time(&self, by: &Principal, spend: NewSpend) -> Result<BankTransaction, CoreError> {
        let (staff_id, organisation_id) = match by {
            Principal::Staff { id, role: StaffRole::Organiser | StaffRole::Recorder, organisation_id: Some(org) } => {
                (*id, *org)
            }
            _ => return Err(CoreError::code(ErrorCode::Forbidden)),
        };
        validate_key(&spend.key)?;
        validate_minutes(spend.minutes)?;
        let service = text::clean(&spend.service, 200, "service", Lines::One)?;
        let beneficiary =
            spend.beneficiary.as_deref().map(|b| text::clean(b, 50, "beneficiary", Lines::One)).transpose()?;
        let organisation = self
            .store()
            .get_organisation(organisation_id)
            .await?
            .ok_or_else(|| CoreError::code(ErrorCode::Forbidden))?;
        if organisation.status != OrganisationStatus::Approved {
            return Err(CoreError::code(ErrorCode::OrganisationNotApproved));
        }
        let volunteer_id = match (spend.volunteer_id, spend.volunteer_number.as_deref()) {
            (Some(_), Some(_)) => {
                return Err(CoreError::refused(ErrorCode::InvalidBody, "volunteer_id 与 volunteer_number 只填一个"));
            }
            (None, Some(number)) => Some(
                self.store()
                    .volunteer_id_by_number(number.trim())
                    .await?
                    .ok_or_else(|| CoreError::refused(ErrorCode::NotFound, "没有这个志愿者编号"))?,
            ),
            (id, None) => id,
        };
        let from = match volunteer_id {
            Some(volunteer_id) => {
                self.store().get_volunteer(volunteer_id).await?.ok_or_else(|| CoreError::code(ErrorCode::NotFound))?;
                self.check_star_cap(organisation_id, volunteer_id).await?;
                self.settle(volunteer_id).await?;
                AccountRef::Volunteer(volunteer_id)
            }
            None => AccountRef::Pool,
        };
        let transaction = NewBankTransaction {
            key: spend.key,
            kind: BankTransactionKind::Spend,
            minutes: spend.minutes,
            shortfall: 0,
            register_seq: None,
            organisation_id: Some(organisation_id),
            service: Some(service),
            beneficiary,
            expires_at: None,
            by_staff: Some(staff_id),
            by_volunteer: None,
            at: self.now(),
            postings: vec![(from, -spend.minutes), (AccountRef::Services, spend.minutes)],
        };
        self.post(&transaction).await
    }

    /// Refuses a spend from a volunteer's savings when the recording organisation lets
    /// only holders of some stars spend, and the volunteer holds fewer.
    async fn check_star_cap(&self, organisation_id: i64, volunteer_id: i64) -> Result<(), CoreError> {
        let Some(needed) = self.store().time_bank_setting(organisation_id).await?.and_then(|s| s.min_stars_to_spend)
        else {
            return Ok(());
        };
        let held = crate::stars::stars_held(&self.store().star_applications_of(volunteer_id).await?);
        if held < needed {
            return Err(CoreError::refused(
                ErrorCode::TimeBankStarsRequired,
                format!("本组织规定星级达到 {needed} 星的志愿者方可使用时间储蓄，该志愿者现为 {held} 星"),
            ));
        }
        Ok(())
    }

    /// Gives minutes to another volunteer (by volunteer number) or to the common pool.
    pub async fn donate_time(&self, by: &Principal, donation: NewDonation) -> Result<BankTransaction, CoreError> {
        let Principal::Volunteer { id: volunteer_id } = by else {
            return Err(CoreError::code(ErrorCode::Forbidden));
        };
        let volunteer_id = *volunteer_id;
        validate_key(&donation.key)?;
        validate_minutes(donation.minutes)?;
        let to = match donation.to_volunteer_number.as_deref() {
            None => AccountRef::Pool,
            Some(number) => {
                let recipient = self
                    .store()
                    .volunteer_id_by_number(number.trim())
                    .await?
                    .ok_or_else(|| CoreError::refused(ErrorCode::NotFound, "没有这个志愿者编号"))?;
                if recipient == volunteer_id {
                    return Err(CoreError::code(ErrorCode::TimeBankSelfTransfer));
                }
                AccountRef::Volunteer(recipient)
            }
        };
        self.settle(volunteer_id).await?;
        let transaction = NewBankTransaction {
            key: donation.key,
            kind: BankTransactionKind::Donation,
            minutes: donation.minutes,
            shortfall: 0,
            register_seq: None,
            organisation_id: None,
            service: None,
            beneficiary: None,
            expires_at: None,
            by_staff: None,
            by_volunteer: Some(volunteer_id),
            at: self.now(),
            postings: vec![(AccountRef::Volunteer(volunteer_id), -donation.minutes), (to, donation.minutes)],
        };
        self.post(&transaction).await
    }

    /// Whether the books balance (administrators).
    pub async fn check_time_bank(&self, by: &Principal) -> Result<LedgerCheck, CoreError> {
        crate::identity::guards::require_administrator(by)?;
        self.store().bank_check().await
    }

    async fn post(&self, transaction: &NewBankTransaction) -> Result<BankTransaction, CoreError> {
        match self.store().post_bank_transaction(transaction).await? {
            Posting::Posted(t) | Posting::Replayed(t) => Ok(t),
            Posting::KeyReused => Err(CoreError::code(ErrorCode::TimeBankKeyReused)),
            Posting::Insufficient => Err(CoreError::code(ErrorCode::TimeBankInsufficient)),
        }
    }

    /// Deposits the volunteer's confirmed register minutes not yet deposited, then lapses
    /// what has expired. Every step is keyed, so concurrent settles post each once.
    async fn settle(&self, volunteer_id: i64) -> Result<(), CoreError> {
        let store = self.store();
        let mut credits = store.undeposited_register_entries(volunteer_id).await?;
        // A correction is a reversal and a replacement confirmed together: deposit the
        // replacement first, so the reversal finds its minutes and only what was really
        // spent becomes a shortfall.
        credits.sort_by_key(|c| (c.minutes < 0, c.seq));
        for credit in credits {
            let now = self.now();
            let transaction = if credit.minutes >= 0 {
                if credit.minutes == 0 {
                    continue;
                }
                NewBankTransaction {
                    key: format!("register:{}", credit.seq),
                    kind: BankTransactionKind::Deposit,
                    minutes: credit.minutes,
                    shortfall: 0,
                    register_seq: Some(credit.seq),
                    organisation_id: Some(credit.organisation_id),
                    service: None,
                    beneficiary: None,
                    expires_at: credit.expiry_months.and_then(|m| now.checked_add_months(Months::new(m))),
                    by_staff: None,
                    by_volunteer: None,
                    at: now,
                    postings: vec![
                        (AccountRef::Deposits, -credit.minutes),
                        (AccountRef::Volunteer(volunteer_id), credit.minutes),
                    ],
                }
            } else {
                // Take back what is there; what was spent meanwhile is the shortfall.
                let owed = -credit.minutes;
                let balance = store.bank_balance(AccountRef::Volunteer(volunteer_id)).await?;
                let taken = owed.min(balance);
                let mut postings = Vec::new();
                if taken > 0 {
                    postings = vec![(AccountRef::Volunteer(volunteer_id), -taken), (AccountRef::Deposits, taken)];
                }
                NewBankTransaction {
                    key: format!("register:{}", credit.seq),
                    kind: BankTransactionKind::Reversal,
                    minutes: owed,
                    shortfall: owed - taken,
                    register_seq: Some(credit.seq),
                    organisation_id: Some(credit.organisation_id),
                    service: None,
                    beneficiary: None,
                    expires_at: None,
                    by_staff: None,
                    by_volunteer: None,
                    at: now,
                    postings,
                }
            };
            match store.post_bank_transaction(&transaction).await? {
                Posting::Posted(_) | Posting::Replayed(_) => {}
                // Another settle posted this entry with a balance read at another moment:
                // the entry is deposited, which is what matters.
                Posting::KeyReused => {}
                // The balance moved between reading and posting; the next settle retries.
                Posting::Insufficient => {
                    return Err(CoreError::refused(ErrorCode::Unavailable, "账户正在变动，请重试"));
                }
            }
        }
        let (credits, debits) = store.bank_expiring_credits(volunteer_id).await?;
        let now = self.now();
        let lapsed = lapsed_minutes(&credits, debits, now);
        if lapsed > 0 {
            // Keyed by the debits so far: two concurrent sweeps that saw the same books post once.
            let transaction = NewBankTransaction {
                key: format!("expiry:{volunteer_id}:{debits}"),
                kind: BankTransactionKind::Expiry,
                minutes: lapsed,
                shortfall: 0,
                register_seq: None,
                organisation_id: None,
                service: None,
                beneficiary: None,
                expires_at: None,
                by_staff: None,
                by_volunteer: None,
                at: now,
                postings: vec![(AccountRef::Volunteer(volunteer_id), -lapsed), (AccountRef::Expired, lapsed)],
            };
            match store.post_bank_transaction(&transaction).await? {
                Posting::Posted(_) | Posting::Replayed(_) | Posting::KeyReused => {}
                Posting::Insufficient => {
                    return Err(CoreError::refused(ErrorCode::Unavailable, "账户正在变动，请重试"));
                }
            }
        }
        Ok(())
    }
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

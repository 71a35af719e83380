//! The time bank's use cases: settings, statements, spending, giving, expiry and the
//! ledger check, each an `impl Hourmark` block over the types and rules in `time_bank`.

use crate::audit::AuditEvent;
use crate::error::{CoreError, ErrorCode};
use crate::hourmark::Hourmark;
use crate::identity::guards::require_manager_of;
use crate::identity::{OrganisationStatus, Principal, StaffRole};
use crate::text::{self, Lines};
use chrono::Months;

use super::{
    AccountRef, BankTransaction, BankTransactionKind, LedgerCheck, NewBankTransaction, NewDonation, NewSpend, Posting,
    Statement, TimeBankAccount, TimeBankSetting, lapsed_minutes, month_bounds, next_expiry, require_account_reader,
    validate_key, validate_minutes,
};

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
    pub(super) async fn check_star_cap(&self, organisation_id: i64, volunteer_id: i64) -> Result<(), CoreError> {
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

    pub(super) async fn post(&self, transaction: &NewBankTransaction) -> Result<BankTransaction, CoreError> {
        match self.store().post_bank_transaction(transaction).await? {
            Posting::Posted(t) | Posting::Replayed(t) => Ok(t),
            Posting::KeyReused => Err(CoreError::code(ErrorCode::TimeBankKeyReused)),
            Posting::Insufficient => Err(CoreError::code(ErrorCode::TimeBankInsufficient)),
        }
    }

    /// Deposits the volunteer's confirmed register minutes not yet deposited, then lapses
    /// what has expired. Every step is keyed, so concurrent settles post each once.
    pub(super) async fn settle(&self, volunteer_id: i64) -> Result<(), CoreError> {
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

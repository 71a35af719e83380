//! Registrations confirmed out of band by a one-time SMS code, and a guardian's consent
//! confirmed the same way.
//!
//! Two things must not hinge on what a phone's holder merely types:
//!
//! - **A minor's guardian** (个人信息保护法 Art. 31, 志愿服务条例): the child's own session
//!   cannot declare it. The code goes to the phone the form names as the guardian's
//!   (never the child's own number), and only the code from that phone lets the
//!   registration through. Until then nothing about the child is stored.
//! - **Whether an ID number is registered.** Answering `id_number_taken` at once told
//!   anyone who typed a number whether that person has an account. Every registration
//!   that needs a code gets the same first answer (202, a code sent to the phone given),
//!   whatever the ID number; only once the phone is proven does the answer say that the
//!   ID number already has an account. Guessing then costs an SMS to a phone one holds,
//!   limited per number and per client like sign-in codes. Where the operator configured
//!   its template, the ID number's owner is told by SMS that someone tried it (once a
//!   day per ID number).
//!
//! Nothing is kept between the two requests but the code's keyed hash. The page already
//! holds the form, so it sends the same registration again with the code; the hash binds
//! the code to the registration's id *and* to every field of it, so a code cannot confirm
//! a registration other than the one it was sent for, nor one altered in between (a new
//! guardian phone, a new ID number). A minor's data is therefore never stored before the
//! guardian's consent, not even sealed; the code rows are the sign-in codes' table
//! (`sms_code`, keyed by a hash of the registration id rather than of a phone number),
//! with the same five minutes, five tries, single use, and the retention job's erasure.
//!
//! ```text
//! page                         Hourmark                                 SMS
//!   │ POST /mp/v1/volunteers     │ validate; minor → guardian required    │
//!   │ {…, guardian?}             │ limits: client, destination number     │
//!   ├───────────────────────────►│ keep H(id, code, registration), 5 min  │
//!   │                            ├── code → guardian's (or own) phone ───►│
//!   │ 202 {registration_id, …}   │ (same answer whether or not the ID     │
//!   │◄───────────────────────────┤  number is registered)                 │
//!   │ POST /mp/v1/volunteers     │ limit: client; check in one            │
//!   │ {… same …, confirmation:   │ transaction: used? 5 wrong? expired?   │
//!   │  {registration_id, code}}  │ right → used, then store the volunteer │
//!   ├───────────────────────────►│ (+ the guardian's consent, with who,   │
//!   │ 201 {token} | 409 taken    │  relation, phone, how confirmed)       │
//!   │◄───────────────────────────┤                                        │
//! ```
//!
//! A minor already registered (before this rule, or whose guardian withdrew) gets the
//! guardian's consent through `POST /mp/v1/me/guardian-consent` the same way: the first
//! request sends the code to the guardian, the second carries it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{CoreError, ErrorCode};
use crate::hourmark::Hourmark;
use crate::identity::id_number::mask_phone;
use crate::identity::pii::PiiField;
use crate::login::sms::{CODE_TTL, MAX_ATTEMPTS, SmsCodeSent, new_code, sms_refusal};
use crate::notification::HoursNotice;
use crate::store::sms_code::{NewSmsCode, SmsCodeCheck};

/// A minor's guardian, as the registration form names them. `Debug` hides who.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GuardianContact {
    /// The guardian's name, 1–50 characters.
    pub name: String,
    /// How they are related (父亲, 母亲, 其他监护人 …), 1–20 characters.
    pub relation: String,
    /// The guardian's mainland mobile number: the confirmation code is sent there. Not
    /// the minor's own.
    pub phone: String,
}

impl std::fmt::Debug for GuardianContact {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuardianContact").field("relation", &self.relation).finish_non_exhaustive()
    }
}

/// The code that confirms a registration, sent with the same registration again.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistrationConfirmation {
    /// From the 202 answer.
    pub registration_id: String,
    /// The six digits from the SMS.
    pub code: String,
}

impl std::fmt::Debug for RegistrationConfirmation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RegistrationConfirmation(<redacted>)")
    }
}

/// Whose phone a registration's code went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CodeRecipient {
    /// The volunteer's own phone (an adult).
    Volunteer,
    /// The guardian's phone (a volunteer under 18).
    Guardian,
}

/// A registration waiting for its code. Nothing of it is stored: send the same
/// registration again with `confirmation`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RegistrationPending {
    /// Names this registration in the confirmation.
    pub registration_id: String,
    /// Whose phone the code went to.
    pub code_sent_to: CodeRecipient,
    /// Where the code went (masked), when it stops working, when another may be asked.
    #[serde(flatten)]
    pub sent: SmsCodeSent,
}

/// What a registration request came to.
#[derive(Debug, Clone)]
pub enum Registration {
    /// Stored and signed in.
    Registered(crate::identity::registration::VolunteerWithToken),
    /// Waiting for the code.
    Pending(RegistrationPending),
}

/// 16 random bytes in hex: a registration id nobody guesses.
fn new_registration_id() -> Result<String, CoreError> {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| CoreError::Internal("system random source failed".into()))?;
    Ok(data_encoding::HEXLOWER.encode(&bytes))
}

/// What a code row is filed under and what it must match.
pub(crate) struct CodeBinding {
    /// The row's key: a keyed hash of the purpose and its subject (a registration id, a
    /// volunteer id), never a phone number's lookup hash, so these codes never sign anyone
    /// in.
    pub key: [u8; 32],
    /// Everything the code vouches for, in a fixed serialisation.
    pub content: String,
}

impl Hourmark {
    fn bound_code_hash(&self, binding: &CodeBinding, code: &str) -> [u8; 32] {
        self.vault().lookup(PiiField::SmsCode, &format!("{code}\u{1f}{}", binding.content))
    }

    pub(crate) fn code_binding(&self, purpose: &str, subject: &str, content: String) -> CodeBinding {
        CodeBinding { key: self.vault().lookup(PiiField::SmsCode, &format!("{purpose}:{subject}")), content }
    }

    /// Sends a one-time code to `phone` for what `binding` describes, limited like
    /// sign-in codes (per client address, per destination number). A guardian's code
    /// (`guardian_of`: the minor's name) also goes to the guardian in the mini program
    /// when the phone is a volunteer's (see [`Hourmark::tell_guardian_in_app`]).
    pub(crate) async fn send_bound_code(
        &self,
        binding: &CodeBinding,
        phone: &str,
        client: &str,
        guardian_of: Option<&str>,
    ) -> Result<SmsCodeSent, CoreError> {
        let settings = &self.settings().sms;
        let sender = settings.sender.as_ref().ok_or_else(|| CoreError::code(ErrorCode::SmsNotConfigured))?;
        self.sms_limit("sms_client", client, settings.per_client).await?;
        let number = data_encoding::HEXLOWER.encode(&self.vault().lookup(PiiField::Phone, phone)[..16]);
        self.sms_limit("sms_number", &number, settings.per_number).await?;
        self.sms_limit("sms_number_hour", &number, settings.per_number_hourly).await?;
        let code = new_code()?;
        let now = self.now();
        let expires_at = now + CODE_TTL;
        self.store()
            .put_sms_code(&NewSmsCode {
                phone_lookup: binding.key,
                code_hash: self.bound_code_hash(binding, &code),
                created_at: now,
                expires_at,
            })
            .await?;
        let minutes = u32::try_from(CODE_TTL.num_minutes()).unwrap_or(5);
        sender.send_code(phone, &code, minutes, now).await.map_err(|e| sms_refusal(&e))?;
        if let Some(minor) = guardian_of {
            let (this, phone, minor) = (self.clone(), phone.to_owned(), minor.to_owned());
            // After the answer, so that neither it nor its timing tells whether the
            // guardian's number is a volunteer's.
            tokio::spawn(async move { this.tell_guardian_in_app(&phone, &minor, &code, expires_at).await });
        }
        Ok(SmsCodeSent {
            phone: mask_phone(phone),
            expires_at,
            resend_after_secs: settings.per_number.per.as_secs(),
            attempts_allowed: MAX_ATTEMPTS,
        })
    }

    /// A guardian's code, also where the guardian reads Hourmark's messages: when the
    /// guardian's phone is a volunteer's, the code is in their notifications (消息) and,
    /// where their WeChat is bound and subscribed, in a WeChat subscription message. The
    /// SMS has gone either way; a failure here is logged, never answered (the answer is
    /// the same whoever holds the number).
    async fn tell_guardian_in_app(&self, phone: &str, minor: &str, code: &str, expires_at: DateTime<Utc>) {
        let lookup = self.vault().lookup(PiiField::Phone, phone);
        let guardian = match self.store().volunteer_by_phone(&lookup).await {
            Ok(Some(volunteer_id)) => volunteer_id,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, "a guardian's code was not put in their messages");
                return;
            }
        };
        self.notify_hours(HoursNotice::GuardianCode {
            volunteer_id: guardian,
            minor: minor.to_owned(),
            code: code.to_owned(),
            expires_at,
        })
        .await;
    }

    /// Checks a code for what `binding` describes: a right one is used up, a wrong one
    /// counted (five kill it). Unknown or used: `registration_expired` (send again).
    pub(crate) async fn check_bound_code(
        &self,
        binding: &CodeBinding,
        code: &str,
        client: &str,
    ) -> Result<(), CoreError> {
        self.sms_limit("sms_check", client, self.settings().sms.checks_per_client).await?;
        let code = code.trim();
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CoreError::refused(ErrorCode::SmsCodeInvalid, "验证码为 6 位数字"));
        }
        let hash = self.bound_code_hash(binding, code);
        match self.store().check_sms_code(&binding.key, &hash, self.now(), MAX_ATTEMPTS).await? {
            SmsCodeCheck::Accepted => Ok(()),
            SmsCodeCheck::NoCode | SmsCodeCheck::Used => Err(CoreError::refused(
                ErrorCode::RegistrationExpired,
                "该验证码对应的提交已完成或不存在，请重新提交获取新验证码",
            )),
            SmsCodeCheck::Wrong { tries_left: 0 } | SmsCodeCheck::Exhausted => Err(CoreError::refused(
                ErrorCode::SmsCodeAttemptsExhausted,
                "验证码错误次数过多，此验证码已失效，请重新提交获取新验证码",
            )),
            SmsCodeCheck::Wrong { tries_left } => {
                Err(CoreError::refused(ErrorCode::SmsCodeInvalid, format!("验证码错误，还可再试 {tries_left} 次")))
            }
            SmsCodeCheck::Expired => Err(CoreError::refused(
                ErrorCode::SmsCodeExpired,
                "验证码已过期（5 分钟内有效），请重新提交获取新验证码",
            )),
        }
    }

    /// Starts a registration that waits for a code: sends it to `phone` (the guardian's
    /// for a minor), bound to the registration's content. The answer is the same whether
    /// or not the ID number or phone is registered already.
    pub(crate) async fn start_confirmed_registration(
        &self,
        content: String,
        phone: &str,
        recipient: CodeRecipient,
        minor: &str,
        client: &str,
    ) -> Result<RegistrationPending, CoreError> {
        let registration_id = new_registration_id()?;
        let binding = self.code_binding("registration", &registration_id, content);
        let guardian_of = (recipient == CodeRecipient::Guardian).then_some(minor);
        let sent = self.send_bound_code(&binding, phone, client, guardian_of).await?;
        Ok(RegistrationPending { registration_id, code_sent_to: recipient, sent })
    }

    /// Checks a registration's code against the registration as sent again.
    pub(crate) async fn check_registration_code(
        &self,
        content: String,
        confirmation: &RegistrationConfirmation,
        client: &str,
    ) -> Result<(), CoreError> {
        let id = confirmation.registration_id.trim();
        if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(CoreError::refused(ErrorCode::RegistrationExpired, "登记编号无效，请重新提交"));
        }
        let binding = self.code_binding("registration", id, content);
        self.check_bound_code(&binding, &confirmation.code, client).await
    }
}

//! The use cases of the phone's and the guardian's confirmation (`impl Hourmark`), apart
//! from its types and rules in the parent module, which the store and the context import
//! without importing these.

use super::*;
use crate::error::{CoreError, ErrorCode};
use crate::hourmark::Hourmark;
use crate::identity::id_number::mask_phone;
use crate::identity::pii::PiiField;
use crate::login::sms::{CODE_TTL, MAX_ATTEMPTS, SmsCodeSent, new_code, sms_refusal};
use crate::notification::HoursNotice;
use crate::store::sms_code::{NewSmsCode, SmsCodeCheck};
use chrono::{DateTime, Utc};

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

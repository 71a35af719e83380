//! The use cases of the SMS sign-in (`impl Hourmark`), apart from its types and rules in
//! the parent module, which the store and the context import without importing these.

use super::super::LoginAnswer;
use super::*;
use crate::audit::AuditEvent;
use crate::error::{CoreError, ErrorCode};
use crate::hourmark::Hourmark;
use crate::identity::normalise_phone;
use crate::identity::pii::PiiField;
use crate::ratelimit::Limit;
use crate::sms::SmsNotice;
use crate::store::sms_code::{NewSmsCode, SmsCodeCheck};

impl Hourmark {
    /// Counts one request against an SMS limit; over it is `sms_rate_limited` with the
    /// wait in the sentence.
    pub(crate) async fn sms_limit(&self, scope: &str, subject: &str, limit: Limit) -> Result<(), CoreError> {
        match self.limit(scope, subject, limit).await {
            Err(CoreError::RateLimited { retry_after_secs }) => Err(CoreError::refused(
                ErrorCode::SmsRateLimited,
                format!("操作过于频繁，请 {retry_after_secs} 秒后再试"),
            )),
            other => other,
        }
    }

    fn code_hash(&self, phone: &str, code: &str) -> [u8; 32] {
        self.vault().lookup(PiiField::SmsCode, &format!("{phone}:{code}"))
    }

    /// Sends a sign-in code to a registered volunteer's number. The answer is the same for
    /// a number no volunteer has (see the module's notes): limits counted alike, nothing
    /// stored or sent for it but the optional "not registered" notice, and the sending
    /// done after the answer in both cases, so that neither the answer nor its timing
    /// tells whether the number is registered.
    pub async fn send_sms_code(&self, request: SmsCodeRequest, client: &str) -> Result<SmsCodeSent, CoreError> {
        let settings = &self.settings().sms;
        let sender = settings.sender.clone().ok_or_else(|| CoreError::code(ErrorCode::SmsNotConfigured))?;
        let phone = normalise_phone(&request.phone)?;
        self.sms_limit("sms_client", client, settings.per_client).await?;
        let lookup = self.vault().lookup(PiiField::Phone, &phone);
        let number = data_encoding::HEXLOWER.encode(&lookup[..16]);
        self.sms_limit("sms_number", &number, settings.per_number).await?;
        self.sms_limit("sms_number_hour", &number, settings.per_number_hourly).await?;
        let registered = self.store().volunteer_by_phone(&lookup).await?.is_some();
        let now = self.now();
        let expires_at = now + CODE_TTL;
        let answer = SmsCodeSent {
            phone: crate::identity::id_number::mask_phone(&phone),
            expires_at,
            resend_after_secs: settings.per_number.per.as_secs(),
            attempts_allowed: MAX_ATTEMPTS,
        };
        if registered {
            let code = new_code()?;
            let code_hash = self.code_hash(&phone, &code);
            let this = self.clone();
            tokio::spawn(async move {
                // Kept before sending, so the code works as soon as it arrives.
                let new = NewSmsCode { phone_lookup: lookup, code_hash, created_at: now, expires_at };
                if let Err(e) = this.store().put_sms_code(&new).await {
                    tracing::error!(error = %e, "a sign-in code could not be kept, so it was not sent");
                    return;
                }
                let minutes = u32::try_from(CODE_TTL.num_minutes()).unwrap_or(5);
                if let Err(e) = sender.send_code(&phone, &code, minutes, now).await {
                    tracing::warn!(error = %e, "a sign-in code was not sent");
                }
            });
        } else if sender.sends(SmsNotice::NotRegistered) {
            tokio::spawn(async move {
                if let Err(e) = sender.send_notice(&phone, SmsNotice::NotRegistered, now).await {
                    tracing::warn!(error = %e, "the \"not registered\" notice was not sent");
                }
            });
        }
        Ok(answer)
    }

    /// Signs a volunteer in with the code sent to their number, and applies the device
    /// binding rule to the device signing in.
    pub async fn login_sms(&self, request: SmsLoginRequest, client: &str) -> Result<SmsLoginAnswer, CoreError> {
        self.sms_limit("sms_check", client, self.settings().sms.checks_per_client).await?;
        let phone = normalise_phone(&request.phone)?;
        let code = request.code.trim();
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CoreError::refused(ErrorCode::SmsCodeInvalid, "验证码为 6 位数字"));
        }
        let device_id = crate::identity::validate_device_id(request.device_id.as_deref())?.map(str::to_owned);
        let lookup = self.vault().lookup(PiiField::Phone, &phone);
        let check =
            self.store().check_sms_code(&lookup, &self.code_hash(&phone, code), self.now(), MAX_ATTEMPTS).await?;
        match check {
            SmsCodeCheck::Accepted => {}
            SmsCodeCheck::NoCode => {
                return Err(CoreError::refused(ErrorCode::SmsCodeInvalid, "验证码错误：请先获取发往该手机号的验证码"));
            }
            SmsCodeCheck::Used => {
                return Err(CoreError::refused(ErrorCode::SmsCodeInvalid, "该验证码已使用过，请重新获取"));
            }
            SmsCodeCheck::Wrong { tries_left: 0 } => {
                return Err(CoreError::refused(ErrorCode::SmsCodeInvalid, "验证码错误，此验证码已失效，请重新获取"));
            }
            SmsCodeCheck::Wrong { tries_left } => {
                return Err(CoreError::refused(
                    ErrorCode::SmsCodeInvalid,
                    format!("验证码错误，还可再试 {tries_left} 次"),
                ));
            }
            SmsCodeCheck::Expired => {
                return Err(CoreError::refused(ErrorCode::SmsCodeExpired, "验证码已过期（5 分钟内有效），请重新获取"));
            }
            SmsCodeCheck::Exhausted => {
                return Err(CoreError::refused(
                    ErrorCode::SmsCodeAttemptsExhausted,
                    "验证码错误次数过多，此验证码已失效，请重新获取",
                ));
            }
        }
        let volunteer_id = self
            .store()
            .volunteer_by_phone(&lookup)
            .await?
            .ok_or_else(|| CoreError::refused(ErrorCode::PhoneNotRegistered, "该手机号尚未登记，请先登记"))?;
        let (login, device) = self.volunteer_signs_in(volunteer_id, device_id.as_deref(), "signed_in_by_sms").await?;
        Ok(SmsLoginAnswer { login, device })
    }

    /// A returning volunteer proven by some means (`action` names it in the audit log):
    /// the device binding rule applied to this device, the sign-in audited, a token.
    pub(in crate::login) async fn volunteer_signs_in(
        &self,
        volunteer_id: i64,
        device_id: Option<&str>,
        action: &'static str,
    ) -> Result<(LoginAnswer, DeviceStanding), CoreError> {
        let device = self.device_standing(volunteer_id, device_id).await?;
        self.store()
            .add_audit(&AuditEvent {
                at: self.now(),
                actor_kind: "volunteer".into(),
                actor_id: Some(volunteer_id),
                action: action.into(),
                subject_kind: "volunteer".into(),
                subject_id: Some(volunteer_id),
                detail: serde_json::json!({ "device": device.state }),
            })
            .await?;
        Ok((self.signed_in(volunteer_id).await?, device))
    }

    /// Applies the device binding rule to a device signing in: binds it when nothing is
    /// bound or the cool-down since the last binding has passed; otherwise says when.
    pub(super) async fn device_standing(
        &self,
        volunteer_id: i64,
        device_id: Option<&str>,
    ) -> Result<DeviceStanding, CoreError> {
        let standing = |state, rebind_allowed_from, advice: &str, may_scan_here| DeviceStanding {
            state,
            rebind_allowed_from,
            advice: advice.to_owned(),
            may_scan_here,
        };
        let Some(device_id) = device_id else {
            return Ok(standing(DeviceState::NotGiven, None, "扫码须使用已绑定的手机", false));
        };
        let v = self
            .store()
            .get_volunteer(volunteer_id)
            .await?
            .ok_or_else(|| CoreError::refused(ErrorCode::PhoneNotRegistered, "该手机号尚未登记，请先登记"))?;
        let previous = v.device_id.clone();
        if previous.as_deref() == Some(device_id) {
            return Ok(standing(DeviceState::Bound, None, "本机是您绑定的扫码设备，可直接扫码", true));
        }
        match self.rebind_device(volunteer_id, device_id).await {
            Ok(()) if previous.is_none() => {
                Ok(standing(DeviceState::NewlyBound, None, "已将本机绑定为您的扫码设备", true))
            }
            Ok(()) => Ok(standing(DeviceState::Rebound, None, "已将本机设为您的扫码设备，原来的手机不能再扫码", true)),
            Err(CoreError::Refused { code: ErrorCode::DeviceRebindTooSoon, .. }) => {
                let from = v.device_bound_at.map(|at| at + self.settings().device_rebind_cooldown);
                let when = from
                    .map(|t| crate::activity::to_shanghai(t).format("%-m月%-d日 %H:%M").to_string())
                    .unwrap_or_default();
                Ok(standing(
                    DeviceState::BoundElsewhere,
                    from,
                    &format!(
                        "您最近已绑定另一部手机，{when} 之前请用那部手机扫码；之后在本机重新登录即可改用本机。可在本机查看服务时长和个人信息。"
                    ),
                    false,
                ))
            }
            Err(e) => Err(e),
        }
    }
}

//! The use cases of sign-in (`impl Hourmark`), apart from its types and rules in the parent
//! module, which the store and the context import without importing these.

use super::*;
use crate::error::{CoreError, ErrorCode};
use crate::hourmark::Hourmark;
use crate::identity::pii::PiiField;
use crate::identity::registration::MyData;
use crate::identity::{Principal, WeChatIdentity, normalise_phone};

impl Hourmark {
    /// Exchanges a `wx.login` code: a token for a bound account (by openid, or else by
    /// unionid, binding the openid), a registration ticket otherwise.
    pub async fn login_wechat(&self, request: WeChatLoginRequest) -> Result<LoginAnswer, CoreError> {
        let client = self.settings().wechat.as_ref().ok_or_else(|| CoreError::code(ErrorCode::WechatNotConfigured))?;
        let session = client.code_to_session(&request.code).await.map_err(|e| wechat_refusal(&e))?;
        let mut bound = self.store().volunteer_by_openid(&session.openid).await?;
        if let (None, Some(unionid)) = (bound, session.unionid.as_deref()) {
            bound =
                self.store().bind_openid_by_unionid(&session.openid, unionid, &self.unionid_binding_audit()).await?;
        }
        match bound {
            Some(volunteer_id) => self.signed_in(volunteer_id).await,
            None => {
                let expires_at = self.now() + TICKET_TTL;
                let ticket = Ticket {
                    openid: session.openid,
                    unionid: session.unionid,
                    expires_ms: expires_at.timestamp_millis(),
                    official_account: false,
                };
                let json = serde_json::to_string(&ticket).map_err(|e| CoreError::Internal(e.to_string()))?;
                let sealed =
                    self.vault().seal(PiiField::WeChatTicket, &json).map_err(|e| CoreError::Internal(e.to_string()))?;
                Ok(LoginAnswer {
                    registered: false,
                    volunteer: None,
                    token: None,
                    registration_ticket: Some(sealed),
                    ticket_expires_at: Some(expires_at),
                })
            }
        }
    }

    /// The audit entry for a mini-program openid bound by its unionid (actor and subject
    /// filled in by the store: the volunteer it finds).
    fn unionid_binding_audit(&self) -> crate::audit::AuditEvent {
        crate::audit::AuditEvent {
            at: self.now(),
            actor_kind: "volunteer".into(),
            actor_id: None,
            action: "wechat_bound_by_unionid".into(),
            subject_kind: "volunteer".into(),
            subject_id: None,
            detail: serde_json::json!({ "app": "mini_program" }),
        }
    }

    /// Signs a registered volunteer in by phone number, without WeChat: for local
    /// development only. The server refuses to start with it on in production.
    pub async fn login_dev(&self, request: DevLoginRequest) -> Result<LoginAnswer, CoreError> {
        if !self.settings().dev_login {
            return Err(CoreError::refused(ErrorCode::NotFound, "没有这个接口"));
        }
        let phone = normalise_phone(&request.phone)?;
        let lookup = self.vault().lookup(PiiField::Phone, &phone);
        let volunteer_id = self
            .store()
            .volunteer_by_phone(&lookup)
            .await?
            .ok_or_else(|| CoreError::refused(ErrorCode::NotFound, "该手机号尚未登记"))?;
        self.signed_in(volunteer_id).await
    }

    pub(super) async fn signed_in(&self, volunteer_id: i64) -> Result<LoginAnswer, CoreError> {
        let data = self.my_data(volunteer_id).await?;
        let token =
            self.issue_token(Principal::Volunteer { id: volunteer_id }, self.settings().volunteer_token_ttl).await?;
        Ok(LoginAnswer {
            registered: true,
            volunteer: Some(self.masked(data.volunteer)),
            token: Some(token),
            registration_ticket: None,
            ticket_expires_at: None,
        })
    }

    /// Replaces the volunteer's phone number with the one WeChat has verified for them
    /// (`getuserphonenumber`; WeChat's access token is cached and refreshed by the client).
    pub async fn bind_wechat_phone(
        &self,
        volunteer_id: i64,
        request: PhoneBindingRequest,
    ) -> Result<MyData, CoreError> {
        let normalised = self.wechat_phone(&request.code).await?;
        let sealed = self.vault().seal(PiiField::Phone, &normalised).map_err(|e| CoreError::Internal(e.to_string()))?;
        let lookup = self.vault().lookup(PiiField::Phone, &normalised);
        let audit = crate::audit::AuditEvent {
            at: self.now(),
            actor_kind: "volunteer".into(),
            actor_id: Some(volunteer_id),
            action: "phone_bound".into(),
            subject_kind: "volunteer".into(),
            subject_id: Some(volunteer_id),
            detail: serde_json::json!({ "source": "wechat" }),
        };
        self.store().update_phone(volunteer_id, &sealed, &lookup, &audit).await?;
        self.my_data(volunteer_id).await
    }

    /// The mainland number WeChat verified for a `getPhoneNumber` code (single use),
    /// normalised: a phone proven without an SMS of ours.
    pub(crate) async fn wechat_phone(&self, code: &str) -> Result<String, CoreError> {
        let client = self.settings().wechat.as_ref().ok_or_else(|| CoreError::code(ErrorCode::WechatNotConfigured))?;
        let phone = client.phone_number(code).await.map_err(|e| wechat_refusal(&e))?;
        if phone.country_code.trim_start_matches('+') != "86" {
            return Err(CoreError::refused(ErrorCode::InvalidBody, "目前仅支持中国大陆手机号"));
        }
        normalise_phone(&phone.pure_phone_number)
    }

    /// Opens a registration ticket: the WeChat account it binds, if it is authentic and
    /// unexpired.
    pub(crate) fn open_ticket(&self, ticket: &str) -> Result<WeChatIdentity, CoreError> {
        let invalid = || CoreError::code(ErrorCode::RegistrationTicketInvalid);
        if ticket.len() > 2048 {
            return Err(invalid());
        }
        let json = self.vault().open(PiiField::WeChatTicket, ticket).map_err(|_| invalid())?;
        let ticket: Ticket = serde_json::from_str(&json).map_err(|_| invalid())?;
        if ticket.expires_ms <= self.now().timestamp_millis() {
            return Err(invalid());
        }
        Ok(WeChatIdentity { openid: ticket.openid, unionid: ticket.unionid, official_account: ticket.official_account })
    }
}

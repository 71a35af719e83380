//! The use cases of the WeChat official account sign-in (`impl Hourmark`), apart from its
//! types and rules in the parent module, which the store and the context import without
//! importing these.

use super::super::{LoginAnswer, TICKET_TTL, Ticket};
use super::*;
use crate::error::{CoreError, ErrorCode};
use crate::hourmark::Hourmark;
use crate::identity::pii::PiiField;
use crate::wechat::OaAuthorisation;
use chrono::{DateTime, Utc};

impl Hourmark {
    fn wechat_oa(&self) -> Result<&WeChatOaSettings, CoreError> {
        self.settings().wechat_oa.as_ref().ok_or_else(|| CoreError::code(ErrorCode::WechatOaNotConfigured))
    }

    /// Starts a sign-in from the scan page of `request.code`: the URL to send the browser
    /// to, and the binder for its cookie.
    pub async fn wechat_oa_start(&self, request: WeChatOaStartRequest) -> Result<WeChatOaStart, CoreError> {
        let settings = self.wechat_oa()?;
        if !plausible_scan_code(&request.code) {
            return Err(CoreError::refused(ErrorCode::InvalidBody, "签到码格式不对"));
        }
        let state = random_hex(16)?;
        let binder = random_hex(32)?;
        let started = Started {
            scan_code: request.code,
            binder_hash: binder_hash(&binder),
            expires_ms: (self.now() + STATE_TTL).timestamp_millis(),
        };
        let bytes = serde_json::to_vec(&started).map_err(|e| CoreError::Internal(e.to_string()))?;
        // Kept a little longer than it is good, so a late return is told "expired", not "invalid".
        let keep = (STATE_TTL * 2).to_std().unwrap_or_default();
        self.cache().set(&format!("wx_oa_state:{state}"), &bytes, keep).await?;
        Ok(WeChatOaStart { authorize_url: authorize_url(settings, &state)?, binder })
    }

    /// Takes the state WeChat brought back. Every refusal here leaves nothing behind: a
    /// malformed state or a missing cookie is refused before the cache is touched.
    async fn take_started(&self, state: Option<&str>, binder: Option<&str>) -> Result<Started, CoreError> {
        let (Some(state), Some(binder)) = (state, binder) else { return Err(state_invalid()) };
        if !well_formed(state) {
            return Err(state_invalid());
        }
        let bytes = self.cache().take(&format!("wx_oa_state:{state}")).await?.ok_or_else(state_invalid)?;
        let started: Started = serde_json::from_slice(&bytes).map_err(|_| state_invalid())?;
        if started.binder_hash != binder_hash(binder) {
            tracing::warn!("a WeChat sign-in came back to a browser that did not start it");
            return Err(state_invalid());
        }
        if started.expires_ms <= self.now().timestamp_millis() {
            return Err(CoreError::code(ErrorCode::WechatOaStateExpired));
        }
        Ok(started)
    }

    /// The callback WeChat sends the browser to. A forged, replayed, expired or foreign
    /// state is an error answered as such (the page it would return to is not known, or
    /// not to be trusted). Past that, the answer is where to send the browser: the scan
    /// page, with `#wechat_oa=<handle>` on success, `#wechat_oa_error=<code>` otherwise
    /// (`wechat_oa_refused` when the user refused; else the WeChat error's code).
    pub async fn wechat_oa_callback(
        &self,
        callback: WeChatOaCallback,
        binder: Option<&str>,
    ) -> Result<String, CoreError> {
        // WeChat never sends anyone here for an installation without an account: there is
        // nothing here (404, not a server fault), and the detail says why.
        let settings = self
            .settings()
            .wechat_oa
            .as_ref()
            .ok_or_else(|| CoreError::refused(ErrorCode::NotFound, "本服务未开通微信内登录"))?;
        let started = self.take_started(callback.state.as_deref(), binder).await?;
        let page = format!("/S/{}", started.scan_code);
        let back_with_error = |code: &str| format!("{page}#wechat_oa_error={code}");
        let Some(code) = callback.code.filter(|c| !c.is_empty()) else {
            return Ok(back_with_error("wechat_oa_refused"));
        };
        let authorisation = match settings.client.oa_authorisation(&code).await {
            Ok(OaAuthorisation { snapshot_user: true, .. }) => return Ok(back_with_error("wechat_oa_refused")),
            Ok(authorisation) => authorisation,
            Err(error) => return Ok(back_with_error(error.code())),
        };
        let volunteer_id =
            self.store().volunteer_by_wechat_oa(&authorisation.openid, authorisation.unionid.as_deref()).await?;
        let finished = Finished {
            volunteer_id,
            openid: authorisation.openid,
            unionid: authorisation.unionid,
            binder_hash: started.binder_hash,
            expires_ms: (self.now() + RESULT_TTL).timestamp_millis(),
        };
        let handle = random_hex(16)?;
        let bytes = serde_json::to_vec(&finished).map_err(|e| CoreError::Internal(e.to_string()))?;
        self.cache()
            .set(&format!("wx_oa_result:{handle}"), &bytes, (RESULT_TTL * 2).to_std().unwrap_or_default())
            .await?;
        Ok(format!("{page}#wechat_oa={handle}"))
    }

    /// Collects a sign-in's result, once: a token for a volunteer already bound (the
    /// device binding rule applied), a registration ticket otherwise.
    pub async fn wechat_oa_finish(
        &self,
        request: WeChatOaFinishRequest,
        binder: Option<&str>,
    ) -> Result<WeChatOaAnswer, CoreError> {
        self.wechat_oa()?;
        let device_id = crate::identity::validate_device_id(request.device_id.as_deref())?.map(str::to_owned);
        let Some(binder) = binder.filter(|_| well_formed(&request.handle)) else { return Err(state_invalid()) };
        let bytes = self.cache().take(&format!("wx_oa_result:{}", request.handle)).await?.ok_or_else(state_invalid)?;
        let finished: Finished = serde_json::from_slice(&bytes).map_err(|_| state_invalid())?;
        if finished.binder_hash != binder_hash(binder) {
            return Err(state_invalid());
        }
        if finished.expires_ms <= self.now().timestamp_millis() {
            return Err(CoreError::code(ErrorCode::WechatOaStateExpired));
        }
        let Some(volunteer_id) = finished.volunteer_id else {
            let expires_at = self.now() + TICKET_TTL;
            let ticket = Ticket {
                openid: finished.openid,
                unionid: finished.unionid,
                expires_ms: expires_at.timestamp_millis(),
                official_account: true,
            };
            return Ok(WeChatOaAnswer { login: self.sealed_ticket(&ticket, expires_at)?, device: None });
        };
        let (login, device) =
            self.volunteer_signs_in(volunteer_id, device_id.as_deref(), "signed_in_by_wechat_oa").await?;
        Ok(WeChatOaAnswer { login, device: Some(device) })
    }

    fn sealed_ticket(&self, ticket: &Ticket, expires_at: DateTime<Utc>) -> Result<LoginAnswer, CoreError> {
        let json = serde_json::to_string(ticket).map_err(|e| CoreError::Internal(e.to_string()))?;
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

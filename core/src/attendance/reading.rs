//! Reading a scanned code before anything is asked: the scan page shows what the code
//! names (activity, organisation, gate, 签到 or 签退) and whether it is still fresh, so a
//! volunteer who scanned a forged or stale code is told so before any form, and one who
//! must register first knows what they are registering for.
//!
//! Nothing personal is read or returned: the answer is what the code itself vouches for,
//! plus the activity's public facts. A fresh code also yields a pending-scan ticket
//! ([`super::ticket`]) that keeps the scan valid while the volunteer registers.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::ticket::sign_ticket;
use crate::activity::{CodeMode, shanghai_time};
use crate::error::{CoreError, ErrorCode};
use crate::hourmark::Hourmark;
use crate::qr::CodeDirection;

/// What a fresh code names, for the page to show before asking anything.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CodeReading {
    /// The activity.
    pub activity_id: i64,
    /// Its name.
    pub activity_name: String,
    /// The recording organisation's name.
    pub organisation_name: String,
    /// Where it takes place.
    pub address: String,
    /// Scheduled start (+08:00).
    #[serde(with = "shanghai_time")]
    #[schema(value_type = String)]
    pub starts_at: DateTime<Utc>,
    /// Scheduled end (+08:00).
    #[serde(with = "shanghai_time")]
    #[schema(value_type = String)]
    pub ends_at: DateTime<Utc>,
    /// The gate's name.
    pub gate: String,
    /// `arrival` (签到), `departure` (签退) or `toggle` (签到或签退, whichever applies).
    pub direction: CodeDirection,
    /// Always true in a 200 answer (a stale code is the `code_expired` problem instead);
    /// here so that a client can show the state without knowing that rule.
    pub fresh: bool,
    /// When the server read the code (+08:00): the time a scan with the ticket is taken at.
    #[serde(with = "shanghai_time")]
    #[schema(value_type = String)]
    pub read_at: DateTime<Utc>,
    /// Send this as `pending_ticket` with the scan: the scan is then judged and recorded
    /// as of `read_at`, if it arrives before `ticket_expires_at`.
    pub pending_ticket: String,
    /// Until when the ticket is accepted (+08:00).
    #[serde(with = "shanghai_time")]
    #[schema(value_type = String)]
    pub ticket_expires_at: DateTime<Utc>,
}

impl Hourmark {
    /// Reads a scanned code: the same readability, authenticity and freshness checks as a
    /// scan, with the same codes, and nothing recorded.
    pub async fn read_code(&self, scanned: &str) -> Result<CodeReading, CoreError> {
        let refused = |code: ErrorCode, detail: &str| CoreError::refused(code, detail);
        if scanned.is_empty() || scanned.len() > 512 {
            return Err(refused(ErrorCode::CodeUnreadable, "这不是本平台的签到码，请扫描活动现场展示的二维码"));
        }
        let Some(token) = crate::qr::token_from_scanned(scanned) else {
            return Err(refused(ErrorCode::CodeUnreadable, "这不是本平台的签到码，请扫描活动现场展示的二维码"));
        };
        let now = self.now();
        let settings = self.settings();
        let claims = self.check_code(token, now).await?.map_err(|r| CoreError::refused(r.code, r.detail))?;
        let activity = self
            .activity(i64::from(claims.activity_id))
            .await?
            .ok_or_else(|| refused(ErrorCode::CodeInvalid, "签到码所指的活动不存在"))?;
        let gate = activity
            .gates
            .get(usize::from(claims.gate))
            .cloned()
            .ok_or_else(|| refused(ErrorCode::CodeInvalid, "签到码所指的入口不存在"))?;
        let fits = matches!(
            (activity.code_mode, claims.direction),
            (CodeMode::Toggle, CodeDirection::Toggle)
                | (CodeMode::Separate, CodeDirection::Arrival | CodeDirection::Departure)
        );
        if !fits {
            return Err(refused(ErrorCode::CodeInvalid, "签到码与活动的签到方式不符"));
        }
        let organisation_name =
            self.store().get_organisation(activity.organisation_id).await?.map(|o| o.name).unwrap_or_default();
        let pending_ticket = sign_ticket(&self.inner().keys, claims.key_id, token, now)
            .ok_or_else(|| CoreError::Internal("the code's key vanished from the ring".into()))?;
        Ok(CodeReading {
            activity_id: activity.id,
            activity_name: activity.name.clone(),
            organisation_name,
            address: activity.address.clone(),
            starts_at: activity.starts_at,
            ends_at: activity.ends_at,
            gate,
            direction: claims.direction,
            fresh: true,
            read_at: now,
            pending_ticket,
            ticket_expires_at: now + settings.pending_scan_ttl,
        })
    }
}

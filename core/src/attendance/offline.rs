//! Late uploads: a scan the phone kept while it had no network, sent when the network
//! returns.
//!
//! A basement hall, a mountain trail, a crowded square whose cell is saturated: the scan
//! page still reads the code from the camera and keeps the scan on the phone (IndexedDB)
//! with its nonce, the code, the phone's clock and a monotonic clock reading. When the
//! network returns it uploads the scan with [`OfflineScan`]: how long ago, by the phone's
//! own measure, the scan was made.
//!
//! ```text
//! phone (offline): read code ─► keep {nonce, code, phone time, performance.now()} ─┐
//!                                                                                  │ network back
//! phone ─► POST /mp/v1/scans {code, nonce, offline: {elapsed_ms}} ◄────────────────┘
//! server: arrived = now; scanned = arrived − elapsed_ms
//!         bound device? ─► code valid at `scanned`? ─► arrived before the bound? ─► rules at `scanned`
//!         record at `scanned` with `uploaded_at = arrived` ─► late_upload rule measures arrival
//! phone ◄─ receipt or refusal (stored with the nonce: a retry gets the same answer)
//! ```
//!
//! What is trusted, and why the bound limits it:
//! - the claimed scan time is `arrival − elapsed_ms`. The server's own clock anchors it, so a
//!   phone whose clock is wrong (common, and the `client_clock_skew` rule's business) still
//!   places its scan right; only the *elapsed* time is the phone's claim. The page measures
//!   it with `performance.now()` when the same page kept and sent the scan (a monotonic clock
//!   the user cannot set), and with the difference of two wall-clock readings otherwise;
//! - the code must have been valid at that claimed time by the same window rules as a live
//!   scan. A code's token carries its window and is signed, so nobody can know a token
//!   before its window was shown: the claim can never place a scan before the code existed.
//!   What a late upload widens is the other side: a photo of a code, "scanned" later while
//!   claiming the moment it was shown. That is the same power as scanning the photo within
//!   its window, which the live path already allows for a few seconds;
//! - so the bound is what limits it: the upload must arrive before the activity's check-out
//!   window closes (or, when configured, within so many minutes of the claimed scan). After
//!   that the activity's hours are being reviewed and a back-dated scan would change them
//!   under the recorder; the volunteer asks the leader to add the hours by hand instead;
//! - only the volunteer's bound device may upload: a queued scan carries the device id it
//!   was made on, and a late upload from an unbound (or no bound) device is refused, since
//!   the device binding is what ties a scan to the person's own phone;
//! - it is recorded at the claimed time and never later, so it cannot stretch a session past
//!   what the phone saw, and the ordering rule still refuses a claim older than the
//!   volunteer's last accepted scan as `repeat_scan`;
//! - every late upload keeps `uploaded_at`, and the `late_upload` rule raises a flag when it
//!   arrived more than the activity's threshold (10 minutes by default) after the code was
//!   shown, so a recorder decides on every long-offline scan before its hours are final;
//! - the nonce makes every retry, and two tabs uploading the same queued scan at once, count
//!   once: the second write finds the nonce taken and answers with the first's stored answer.

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use utoipa::ToSchema;

use super::checkin::Refusal;
use crate::activity::{Activity, to_shanghai};
use crate::error::{CoreError, ErrorCode};

/// The most a queued scan may claim to have waited: a week, far past any bound.
const MAX_ELAPSED_MS: i64 = 7 * 24 * 3600 * 1000;

/// The late-upload part of a scan request: present only for a scan the phone kept offline.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfflineScan {
    /// Milliseconds from the scan to this upload, as the phone measured them: with its
    /// monotonic clock when one page both kept and sent the scan, else as the difference of
    /// its wall-clock readings (0 to 7 days). The scan is recorded at the server's time of
    /// arrival minus this.
    pub elapsed_ms: i64,
}

impl OfflineScan {
    pub(crate) fn validate(&self) -> Result<(), CoreError> {
        if !(0..=MAX_ELAPSED_MS).contains(&self.elapsed_ms) {
            return Err(CoreError::refused(ErrorCode::InvalidBody, "offline.elapsed_ms 须在 0 至 604800000 之间"));
        }
        Ok(())
    }

    /// When the scan was made, by the server's clock at `arrived`: never in the future.
    pub(crate) fn scanned_at(&self, arrived: DateTime<Utc>) -> DateTime<Utc> {
        arrived - Duration::milliseconds(self.elapsed_ms)
    }
}

/// Until when a scan kept offline may still arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LateUploadBound {
    /// Before the activity's check-out window closes (its end plus
    /// `checkout_closes_after`): the default.
    #[default]
    CheckoutCloses,
    /// Within this long of the claimed scan time.
    AfterScan(Duration),
}

impl LateUploadBound {
    /// The last moment an upload of a scan made at `scanned_at` at `activity` is taken.
    pub(crate) fn deadline(
        self,
        activity: &Activity,
        checkout_closes_after: Duration,
        scanned_at: DateTime<Utc>,
    ) -> DateTime<Utc> {
        match self {
            Self::CheckoutCloses => activity.ends_at + checkout_closes_after,
            Self::AfterScan(within) => scanned_at + within,
        }
    }
}

/// The refusal for a late upload whose claimed time its code was not valid at: the
/// freshness refusals of a live scan get their own code, since the phone's claim, not the
/// code on the screen, is what failed.
pub(crate) fn not_valid_then(refusal: Refusal) -> Refusal {
    match refusal.code {
        ErrorCode::CodeExpired | ErrorCode::CodeNotYetValid => Refusal {
            code: ErrorCode::LateUploadCodeNotValidThen,
            detail: "离线扫码记录的时间与签到码的有效时间不符，本次不计时。请联网后重新扫描现场的二维码".into(),
        },
        _ => refusal,
    }
}

/// The refusal for a late upload that arrived after `deadline`.
pub(crate) fn too_late(deadline: DateTime<Utc>) -> Refusal {
    Refusal {
        code: ErrorCode::LateUploadTooLate,
        detail: format!(
            "离线扫码须在 {} 前上传，已超过补传期限，本次不计时。如确实参加了活动，请联系活动负责人补录。",
            to_shanghai(deadline).format("%-m月%-d日 %H:%M")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_claimed_time_is_the_arrival_less_the_elapsed_time_and_never_later() {
        let arrived: DateTime<Utc> = "2026-12-05T01:30:00Z".parse().expect("time");
        let scan = OfflineScan { elapsed_ms: 90_000 };
        assert_eq!(scan.scanned_at(arrived), arrived - Duration::seconds(90));
        assert!(OfflineScan { elapsed_ms: 0 }.validate().is_ok());
        assert!(OfflineScan { elapsed_ms: MAX_ELAPSED_MS }.validate().is_ok());
        assert!(OfflineScan { elapsed_ms: -1 }.validate().is_err(), "a claim from the future");
        assert!(OfflineScan { elapsed_ms: MAX_ELAPSED_MS + 1 }.validate().is_err());
    }

    #[test]
    fn only_freshness_refusals_become_not_valid_then() {
        let refusal = |code| Refusal { code, detail: String::new() };
        assert_eq!(not_valid_then(refusal(ErrorCode::CodeExpired)).code, ErrorCode::LateUploadCodeNotValidThen);
        assert_eq!(not_valid_then(refusal(ErrorCode::CodeNotYetValid)).code, ErrorCode::LateUploadCodeNotValidThen);
        assert_eq!(not_valid_then(refusal(ErrorCode::CodeInvalid)).code, ErrorCode::CodeInvalid, "a forgery stays one");
    }
}

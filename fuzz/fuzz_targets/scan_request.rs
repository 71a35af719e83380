//! Scan request bodies (`POST /mp/v1/scans`): deserialised as the API does, then the
//! checks that run before anything is stored, then reading the code and its ticket.
//!
//! Properties beyond "no panic":
//! - a body the shape checks refuse is refused as `invalid_body` (a 422, never a 5xx);
//! - a body they pass has bounded text, a plausible clock, a printable device id and a
//!   finite location in range (what the store and the distance maths rely on);
//! - reading the code never panics, a code that verifies is judged on its window alone,
//!   and a pending-scan ticket that verifies opened within the bound, not in the future.
#![no_main]

use std::sync::LazyLock;

use chrono::{Datelike, Duration};
use hourmark_core::attendance::checkin::judge_code;
use hourmark_core::attendance::scan::ScanRequest;
use hourmark_core::attendance::ticket::verify_ticket;
use hourmark_core::qr::{CodeWindows, KeyRing, ScannedCode, read, token_from_scanned};
use hourmark_core::{CoreError, ErrorCode};
use libfuzzer_sys::fuzz_target;

static RING: LazyLock<KeyRing> = LazyLock::new(|| KeyRing::new(vec![(1, vec![0x11; 32])], 1).expect("ring"));

fuzz_target!(|data: &[u8]| {
    let Ok(request) = serde_json::from_slice::<ScanRequest>(data) else { return };
    if let Err(e) = request.validate() {
        assert!(
            matches!(e, CoreError::Refused { code: ErrorCode::InvalidBody, .. }),
            "a malformed body must be refused as invalid_body, not {e:?}"
        );
        return;
    }
    assert!((1..=512).contains(&request.code.len()));
    assert!((2000..=2100).contains(&request.client_time.year()));
    assert!((1..=64).contains(&request.device_id.len()) && request.device_id.bytes().all(|b| b.is_ascii_graphic()));
    if let Some(loc) = request.location {
        assert!(loc.lat.is_finite() && loc.lng.is_finite() && loc.accuracy_m.is_finite());
        assert!((-90.0..=90.0).contains(&loc.lat) && (-180.0..=180.0).contains(&loc.lng));
        assert!((0.0..=100_000.0).contains(&loc.accuracy_m));
    }
    if let Some(offline) = request.offline {
        assert!((0..=7 * 24 * 3600 * 1000).contains(&offline.elapsed_ms));
        assert!(request.pending_ticket.is_none());
    }

    let now = request.client_time;
    let Some(token) = token_from_scanned(&request.code) else { return };
    let verified = match read(&RING, token) {
        Ok(ScannedCode::Server(claims)) => Ok(claims),
        Ok(ScannedCode::Screen(code)) => Ok(code.claims),
        Err(e) => Err(e),
    };
    let key_id = verified.map(|c| c.key_id);
    let judged = judge_code(verified, &CodeWindows::default(), now);
    if let Ok(claims) = judged {
        assert_eq!(Ok(claims), verified, "judging changes no claim");
        assert!(CodeWindows::default().check(claims.window, now).is_ok());
    }
    if let (Some(ticket), Ok(key_id)) = (request.pending_ticket.as_deref(), key_id) {
        let bound = Duration::minutes(10);
        if let Ok(opened_at) = verify_ticket(&RING, key_id, token, ticket, now, bound) {
            assert!(opened_at <= now + Duration::minutes(1) && now - opened_at <= bound);
        }
    }
});

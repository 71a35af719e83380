//! The QR token codec against hostile scanned text and arbitrary claims.
//!
//! Properties beyond "no panic":
//! - `verify` and `read` of any text never panic, and a token that verifies is the one
//!   spelling (modulo case) that signing its claims produces, so tokens can serve as
//!   de-duplication keys;
//! - signing any claims and verifying the token gives the claims back, in upper and lower
//!   case, and the token survives the URL round trip through `token_from_scanned`;
//! - a gate outside 0..=63 is refused rather than silently truncated.
#![no_main]

use std::sync::LazyLock;

use hourmark_core::qr::{
    CodeDirection, KeyRing, MAX_GATE, ScannedCode, ScreenGrant, TOKEN_CHARS, code_url, is_qr_alphanumeric, read,
    sign_screen_code, token_from_scanned, verify,
};
use libfuzzer_sys::fuzz_target;

/// Two rings over the same two master keys, one signing with each, so a token that
/// verifies can be re-signed by the ring whose current key signed it.
static RINGS: LazyLock<[KeyRing; 2]> = LazyLock::new(|| {
    let keys = || vec![(1, vec![0x11; 32]), (9, vec![0x99; 32])];
    [KeyRing::new(keys(), 1).expect("ring"), KeyRing::new(keys(), 9).expect("ring")]
});

const BASE: &str = "HTTPS://HM.EXAMPLE.CN/S/";

fn ring_signing_with(key_id: u8) -> &'static KeyRing {
    RINGS.iter().find(|r| r.current_key_id() == key_id).expect("both keys sign")
}

fn u32_at(data: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]])
}

fuzz_target!(|data: &[u8]| {
    let ring = &RINGS[1];

    // Any text: what a scanner might hand over.
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(claims) = verify(ring, text) {
            let again = ring_signing_with(claims.key_id)
                .sign(claims.activity_id, claims.gate, claims.direction, claims.window)
                .expect("a verified gate is in range");
            assert_eq!(again.claims, claims);
            assert_eq!(again.token, text.to_ascii_uppercase(), "a verified token has one spelling");
        }
        match read(ring, text) {
            Ok(ScannedCode::Server(claims)) => assert_eq!(verify(ring, text), Ok(claims)),
            Ok(ScannedCode::Screen(code)) => assert!(ring.contains(code.claims.key_id)),
            Err(_) => {}
        }
        if let Some(token) = token_from_scanned(text) {
            assert!(!token.is_empty() && token.bytes().all(|b| b.is_ascii_alphanumeric()));
            let _ = read(ring, token);
        }
    }

    // Arbitrary claims: sign, then read back every way a scan can arrive.
    if data.len() >= 14 {
        let activity_id = u32_at(data, 0);
        let gate = data[4];
        let direction =
            [CodeDirection::Toggle, CodeDirection::Arrival, CodeDirection::Departure][usize::from(data[5] % 3)];
        let window = u32_at(data, 6);
        let which = &RINGS[usize::from(data[10] & 1)];
        let Ok(signed) = which.sign(activity_id, gate, direction, window) else {
            assert!(gate > MAX_GATE, "gate {gate} is in range but was refused");
            return;
        };
        assert!(gate <= MAX_GATE, "gate {gate} is out of range but was signed");
        assert_eq!(signed.token.len(), TOKEN_CHARS);
        assert!(is_qr_alphanumeric(&signed.token));
        assert_eq!(verify(ring, &signed.token), Ok(signed.claims));
        assert_eq!(verify(ring, &signed.token.to_ascii_lowercase()), Ok(signed.claims));
        assert_eq!(read(ring, &signed.token), Ok(ScannedCode::Server(signed.claims)));
        let url = code_url(BASE, &signed.token);
        assert_eq!(token_from_scanned(&url), Some(signed.token.as_str()));

        // A screen-minted code for the same claims reads back as the same claims, and
        // verifies against its grant only.
        let grant = ScreenGrant {
            screen_key_id: u32_at(data, 10),
            key_id: signed.claims.key_id,
            activity_id,
            gate,
            direction,
            last_window: window,
        };
        let key = ring.screen_key(&grant).expect("the key is in the ring");
        let token = sign_screen_code(&key, &grant, window);
        let Ok(ScannedCode::Screen(code)) = read(ring, &token) else { panic!("a screen code reads as one") };
        assert_eq!(code.claims, signed.claims);
        assert_eq!(code.verify(ring, &grant), Ok(signed.claims));
        let other = ScreenGrant { screen_key_id: grant.screen_key_id.wrapping_add(1), ..grant };
        assert!(code.verify(ring, &other).is_err(), "a code verified against another grant");
    }
});

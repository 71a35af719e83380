//! Screen keys: codes a projector mints by itself, so it keeps showing valid codes while
//! its network is down.
//!
//! A projector page is given a *screen key*: an HMAC key bound to one activity, one gate,
//! one direction and a last window, derived from the activity's key (never the master
//! secret, which the page never sees). The page signs each window's code with it in
//! JavaScript; the server verifies such a code by deriving the same key again from the
//! grant it stored when it issued the key, so nothing secret is stored at all.
//!
//! ```text
//! server                                         projector page (offline or not)
//!   activity key = HKDF(master[key id], activity id)            (as for server codes)
//!   screen key   = HMAC(activity key, "hourmark screen key v1"
//!                       ‖ screen key id ‖ gate<<2|direction ‖ last window)
//!   grant row (id, activity, gate, direction, key id, expires) ──► screen key, grant
//!                                                                 every window w ≤ last:
//!                                                                 token = v2(w) + HMAC tag
//! scan: token v2 ─► grant row (cache, then store) ─► revoked? expired? ─► derive ─► tag
//! ```
//!
//! # Binary layout (version 2)
//!
//! ```text
//! offset  len  field
//!      0    1  version                      (always 2)
//!      1    1  key id                       (the master key the screen key derives from)
//!      2    4  activity id                  (big-endian u32)
//!      6    1  gate << 2 | direction
//!      7    4  window index                 (big-endian u32)
//!     11    4  screen key id                (big-endian u32)
//!     15   10  HMAC-SHA256 tag, truncated   (over bytes 0..15, under the screen key)
//!   ----  ---
//!     25 bytes = 40 base32 characters, no padding bits
//! ```
//!
//! The first 11 bytes mean what they mean in a version-1 token, so a scan records the same
//! facts whichever kind of code was scanned.

use data_encoding::BASE32_NOPAD;
use ring::hmac;

use super::keys::KeyRing;
use super::token::{
    BODY_LEN, CodeClaims, CodeDirection, CodeError, MAX_DECODED_LEN, TAG_LEN, constant_time_eq, decode, verify,
};

/// Version byte of screen-minted tokens.
pub const SCREEN_TOKEN_VERSION: u8 = 2;

/// Length of a screen-minted token in characters.
pub const SCREEN_TOKEN_CHARS: usize = 40;

/// Domain separation of the screen-key derivation: no other HMAC input under an activity
/// key starts with these bytes (code bodies start with a version byte 1 or 2).
const SCREEN_KEY_INFO: &[u8] = b"hourmark screen key v1";

/// Signed bytes of a screen token before its tag.
const SCREEN_BODY_LEN: usize = BODY_LEN + 4;
/// Bytes of a whole screen token.
const SCREEN_TOKEN_LEN: usize = SCREEN_BODY_LEN + TAG_LEN;

/// What a screen key may sign, as the server stored it when it issued the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScreenGrant {
    /// The grant's id (its row), carried inside every code it signs.
    pub screen_key_id: u32,
    /// The master key the screen key derives from.
    pub key_id: u8,
    /// The activity.
    pub activity_id: u32,
    /// The gate, 0..=63.
    pub gate: u8,
    /// What its codes record.
    pub direction: CodeDirection,
    /// The last window it may sign; later codes are refused as expired.
    pub last_window: u32,
}

impl ScreenGrant {
    fn derivation_input(&self) -> [u8; 22 + 4 + 1 + 4] {
        let mut input = [0u8; 31];
        input[..22].copy_from_slice(SCREEN_KEY_INFO);
        input[22..26].copy_from_slice(&self.screen_key_id.to_be_bytes());
        input[26] = (self.gate << 2) | self.direction.bits();
        input[27..31].copy_from_slice(&self.last_window.to_be_bytes());
        input
    }
}

/// A screen key's 32 bytes, as the projector page receives them. `Debug` hides them.
#[derive(Clone, PartialEq, Eq)]
pub struct ScreenKey(pub [u8; 32]);

impl std::fmt::Debug for ScreenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ScreenKey(..)")
    }
}

impl KeyRing {
    /// The key a screen holding `grant` signs with, or `None` if the grant's master key is
    /// no longer in the ring (its codes then fail as [`CodeError::UnknownKey`]).
    #[must_use]
    pub fn screen_key(&self, grant: &ScreenGrant) -> Option<ScreenKey> {
        let activity_key = self.activity_key(grant.key_id, grant.activity_id)?;
        let tag = hmac::sign(&activity_key, &grant.derivation_input());
        let mut key = [0u8; 32];
        key.copy_from_slice(tag.as_ref());
        Some(ScreenKey(key))
    }
}

/// Signs the code for `window` with a screen key: what the projector page does in
/// JavaScript (`screen-code.js`), here for the tests that pin the two together.
#[must_use]
pub fn sign_screen_code(key: &ScreenKey, grant: &ScreenGrant, window: u32) -> String {
    let mut bytes = [0u8; SCREEN_TOKEN_LEN];
    bytes[0] = SCREEN_TOKEN_VERSION;
    bytes[1] = grant.key_id;
    bytes[2..6].copy_from_slice(&grant.activity_id.to_be_bytes());
    bytes[6] = (grant.gate << 2) | grant.direction.bits();
    bytes[7..11].copy_from_slice(&window.to_be_bytes());
    bytes[11..15].copy_from_slice(&grant.screen_key_id.to_be_bytes());
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &key.0), &bytes[..SCREEN_BODY_LEN]);
    bytes[SCREEN_BODY_LEN..].copy_from_slice(&tag.as_ref()[..TAG_LEN]);
    BASE32_NOPAD.encode(&bytes)
}

/// A screen-minted code read but not yet verified: verifying needs its grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScreenCode {
    /// What the code claims (`key_id` is the master key of its screen key).
    pub claims: CodeClaims,
    /// The grant it names.
    pub screen_key_id: u32,
    body: [u8; SCREEN_BODY_LEN],
    tag: [u8; TAG_LEN],
}

/// A scanned code, by who signed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScannedCode {
    /// Signed by a server: already verified.
    Server(CodeClaims),
    /// Minted by a projector: verify with [`ScreenCode::verify`] and its grant.
    Screen(ScreenCode),
}

/// Reads a token of either kind: a server's code is verified in full; a screen's is read
/// and its master key checked, and the caller verifies it against its grant.
///
/// # Errors
///
/// See [`CodeError`].
pub fn read(ring: &KeyRing, token: &str) -> Result<ScannedCode, CodeError> {
    let mut decoded = [0u8; MAX_DECODED_LEN];
    let len = decode(token, &mut decoded)?;
    match decoded[..len].first() {
        Some(&SCREEN_TOKEN_VERSION) => {}
        // Version 1, and every other version, which `verify` reports as such.
        _ => return verify(ring, token).map(ScannedCode::Server),
    }
    let bytes: &[u8; SCREEN_TOKEN_LEN] = decoded[..len].try_into().map_err(|_| CodeError::Malformed)?;
    let claims = CodeClaims {
        key_id: bytes[1],
        activity_id: u32::from_be_bytes([bytes[2], bytes[3], bytes[4], bytes[5]]),
        gate: bytes[6] >> 2,
        direction: CodeDirection::from_bits(bytes[6] & 0b11).ok_or(CodeError::Malformed)?,
        window: u32::from_be_bytes([bytes[7], bytes[8], bytes[9], bytes[10]]),
    };
    if !ring.contains(claims.key_id) {
        return Err(CodeError::UnknownKey);
    }
    let mut body = [0u8; SCREEN_BODY_LEN];
    body.copy_from_slice(&bytes[..SCREEN_BODY_LEN]);
    let mut tag = [0u8; TAG_LEN];
    tag.copy_from_slice(&bytes[SCREEN_BODY_LEN..]);
    Ok(ScannedCode::Screen(ScreenCode {
        claims,
        screen_key_id: u32::from_be_bytes([bytes[11], bytes[12], bytes[13], bytes[14]]),
        body,
        tag,
    }))
}

impl ScreenCode {
    /// Verifies the code against the grant it names: the code must claim exactly the
    /// grant's activity, gate, direction and master key, and carry a tag made with the
    /// grant's screen key. Freshness, the grant's last window and revocation are the
    /// caller's to check.
    ///
    /// # Errors
    ///
    /// [`CodeError::BadSignature`] for a code that does not fit its grant or whose tag is
    /// wrong; [`CodeError::UnknownKey`] if the master key left the ring.
    pub fn verify(&self, ring: &KeyRing, grant: &ScreenGrant) -> Result<CodeClaims, CodeError> {
        let fits = self.screen_key_id == grant.screen_key_id
            && self.claims.key_id == grant.key_id
            && self.claims.activity_id == grant.activity_id
            && self.claims.gate == grant.gate
            && self.claims.direction == grant.direction;
        if !fits {
            return Err(CodeError::BadSignature);
        }
        let key = ring.screen_key(grant).ok_or(CodeError::UnknownKey)?;
        let expected = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &key.0), &self.body);
        if constant_time_eq(&expected.as_ref()[..TAG_LEN], &self.tag) {
            Ok(self.claims)
        } else {
            Err(CodeError::BadSignature)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring() -> KeyRing {
        KeyRing::new(vec![(3, vec![0x42; 32])], 3).unwrap()
    }

    fn grant() -> ScreenGrant {
        ScreenGrant {
            screen_key_id: 7,
            key_id: 3,
            activity_id: 1234,
            gate: 5,
            direction: CodeDirection::Arrival,
            last_window: 117_002_880,
        }
    }

    fn screen(token: &str) -> ScreenCode {
        match read(&ring(), token).unwrap() {
            ScannedCode::Screen(code) => code,
            ScannedCode::Server(claims) => panic!("a screen code read as a server's: {claims:?}"),
        }
    }

    #[test]
    fn golden_screen_token_pins_the_format() {
        // Cross-checked against an independent implementation (Python hmac/hashlib/base64:
        // HKDF-SHA256 as for version 1, then the HMAC derivation and the layout above). The
        // projector's JavaScript is held to the same values by the browser tests.
        let key = ring().screen_key(&grant()).unwrap();
        assert_eq!(
            data_encoding::HEXLOWER.encode(&key.0),
            "789d21ae7744889d457b4a1d6c0d59524b6db8ea380779da4eacea725f318dcb"
        );
        let token = sign_screen_code(&key, &grant(), 117_000_000);
        assert_eq!(token.len(), SCREEN_TOKEN_CHARS);
        assert_eq!(token, "AIBQAAAE2IKQN6KHIAAAAAAH5EXB7LPHH6O6PLOI");
    }

    #[test]
    fn a_screen_code_verifies_against_its_grant_only() {
        let ring = ring();
        let key = ring.screen_key(&grant()).unwrap();
        let token = sign_screen_code(&key, &grant(), 117_000_000);
        let code = screen(&token);
        assert_eq!(code.screen_key_id, 7);
        let want = CodeClaims {
            key_id: 3,
            activity_id: 1234,
            gate: 5,
            direction: CodeDirection::Arrival,
            window: 117_000_000,
        };
        assert_eq!(code.verify(&ring, &grant()), Ok(want));
        assert_eq!(screen(&token.to_ascii_lowercase()).verify(&ring, &grant()), Ok(want));

        // Any other grant: another id, gate, direction, activity, or last window.
        let others = [
            ScreenGrant { screen_key_id: 8, ..grant() },
            ScreenGrant { gate: 6, ..grant() },
            ScreenGrant { direction: CodeDirection::Departure, ..grant() },
            ScreenGrant { activity_id: 1235, ..grant() },
            ScreenGrant { last_window: 117_002_881, ..grant() },
        ];
        for other in others {
            assert_eq!(code.verify(&ring, &other), Err(CodeError::BadSignature), "{other:?}");
        }
        // Another master secret under the same id.
        let other_ring = KeyRing::new(vec![(3, vec![0x43; 32])], 3).unwrap();
        assert_eq!(code.verify(&other_ring, &grant()), Err(CodeError::BadSignature));
    }

    #[test]
    fn tampered_screen_codes_fail() {
        let ring = ring();
        let key = ring.screen_key(&grant()).unwrap();
        let good = BASE32_NOPAD.decode(sign_screen_code(&key, &grant(), 9).as_bytes()).unwrap();
        for i in 1..SCREEN_TOKEN_LEN {
            let mut bytes = good.clone();
            bytes[i] ^= 0x01;
            let verdict = read(&ring, &BASE32_NOPAD.encode(&bytes)).and_then(|c| match c {
                ScannedCode::Screen(code) => code.verify(&ring, &grant()),
                ScannedCode::Server(claims) => Ok(claims),
            });
            assert!(verdict.is_err(), "byte {i}");
        }
        // Truncated, or an unknown master key.
        assert_eq!(read(&ring, &BASE32_NOPAD.encode(&good[..24])), Err(CodeError::Malformed));
        let mut unknown = good.clone();
        unknown[1] = 9;
        assert_eq!(read(&ring, &BASE32_NOPAD.encode(&unknown)), Err(CodeError::UnknownKey));
    }

    #[test]
    fn a_screen_key_cannot_forge_a_server_code() {
        // The screen key is not the activity key: a version-1 body tagged with it fails.
        let ring = ring();
        let key = ring.screen_key(&grant()).unwrap();
        let server = ring.sign(1234, 5, CodeDirection::Arrival, 9).unwrap();
        let mut bytes = BASE32_NOPAD.decode(server.token.as_bytes()).unwrap();
        let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &key.0), &bytes[..BODY_LEN]);
        bytes[BODY_LEN..].copy_from_slice(&tag.as_ref()[..TAG_LEN]);
        assert_eq!(read(&ring, &BASE32_NOPAD.encode(&bytes)), Err(CodeError::BadSignature));
        // And a server code still reads as one.
        assert_eq!(read(&ring, &server.token), Ok(ScannedCode::Server(server.claims)));
    }
}

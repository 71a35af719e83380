//! Signed code tokens: the claims a QR code carries and their wire format.
//!
//! # Binary layout (version 1)
//!
//! ```text
//! offset  len  field
//!      0    1  version                      (always 1)
//!      1    1  key id                       (which master key signed it)
//!      2    4  activity id                  (big-endian u32)
//!      6    1  gate << 2 | direction        (gate 0..=63; direction 0..=2)
//!      7    4  window index                 (big-endian u32, see `CodeWindows`)
//!     11   10  HMAC-SHA256 tag, truncated   (over bytes 0..11)
//!   ----  ---
//!     21 bytes in total
//! ```
//!
//! The tag is keyed with the per-activity key derived from the key id's
//! master secret (see [`super::keys`]). It is cut to 80 bits: a forger gets
//! one online guess per scan request, so 2^80 is far beyond reach, while
//! every byte saved keeps the QR code small.
//!
//! # Text form
//!
//! RFC 4648 base32, upper case, no padding: 21 bytes become
//! [`TOKEN_CHARS`] = 34 characters, all inside the QR alphanumeric charset
//! (`0-9 A-Z space $ % * + - . / :`), so a URL ending in a token can be
//! encoded in the dense alphanumeric mode. Decoding accepts lower case as
//! well, because some scanner apps and keyboards fold case. Decoding also
//! insists on zero padding bits, so every valid token has exactly one
//! spelling (modulo case) and can double as a de-duplication key.

use data_encoding::BASE32_NOPAD;
use ring::hmac;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::keys::KeyRing;

/// Version byte of the current token format.
pub const TOKEN_VERSION: u8 = 1;

/// Highest gate number a token can carry (six bits).
pub const MAX_GATE: u8 = 63;

/// Length of a version-1 token in characters.
pub const TOKEN_CHARS: usize = 34;

/// Inputs longer than this are rejected without being decoded.
///
/// It is generous enough that a future, longer token version still gets as far as
/// its version byte (and so reports [`CodeError::UnsupportedVersion`]).
pub const MAX_TOKEN_CHARS: usize = 64;

/// Signed bytes before the tag.
pub(super) const BODY_LEN: usize = 11;
/// Bytes of the truncated HMAC tag.
pub(super) const TAG_LEN: usize = 10;
/// Bytes of a whole version-1 token.
const TOKEN_LEN: usize = BODY_LEN + TAG_LEN;
/// Largest decoded size of a [`MAX_TOKEN_CHARS`]-character input.
pub(super) const MAX_DECODED_LEN: usize = MAX_TOKEN_CHARS * 5 / 8;

/// What a scan of a code records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CodeDirection {
    /// The scan checks the volunteer in if they are out, and out if they are in.
    Toggle,
    /// The scan always records an arrival.
    Arrival,
    /// The scan always records a departure.
    Departure,
}

impl CodeDirection {
    /// The two low bits of the gate/direction byte.
    pub(super) const fn bits(self) -> u8 {
        match self {
            Self::Toggle => 0,
            Self::Arrival => 1,
            Self::Departure => 2,
        }
    }

    /// Inverse of [`CodeDirection::bits`]; `None` for the unused value 3.
    pub(super) const fn from_bits(bits: u8) -> Option<Self> {
        match bits {
            0 => Some(Self::Toggle),
            1 => Some(Self::Arrival),
            2 => Some(Self::Departure),
            _ => None,
        }
    }
}

/// The facts a verified token vouches for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub struct CodeClaims {
    /// Id of the master key that signed the token.
    pub key_id: u8,
    /// The activity the code was shown at.
    pub activity_id: u32,
    /// Which of the activity's gates (entrances, desks) showed it, 0..=63.
    pub gate: u8,
    /// What a scan of it records.
    pub direction: CodeDirection,
    /// The time window it was issued for; check it with `CodeWindows::check`.
    pub window: u32,
}

/// A freshly signed token together with the claims it encodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCode {
    /// The token text: [`TOKEN_CHARS`] upper-case base32 characters.
    pub token: String,
    /// What the token says, with `key_id` set to the signing key.
    pub claims: CodeClaims,
}

/// Why a token was rejected by [`verify`].
///
/// Only [`CodeError::BadSignature`] and [`CodeError::UnknownKey`] hint at
/// tampering or a misconfigured ring; the rest are damaged or foreign input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum CodeError {
    /// Not a token: wrong length, characters outside base32, non-canonical
    /// encoding, or fields with impossible values.
    #[error("the code is malformed")]
    Malformed,
    /// A token of a format version this build does not understand.
    #[error("the code uses an unsupported format version")]
    UnsupportedVersion,
    /// Signed with a key id that is not (or no longer) in the key ring.
    #[error("the code was signed with an unknown key")]
    UnknownKey,
    /// The tag does not match: forged, tampered with, or corrupted.
    #[error("the code's signature is invalid")]
    BadSignature,
}

/// A gate number that does not fit the token's six gate bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[error("gate {0} is out of range; gates are 0..={MAX_GATE}")]
pub struct GateOutOfRange(pub u8);

impl KeyRing {
    /// Signs a token for `activity_id`, `gate` and `direction`, valid for
    /// `window`, with the ring's current key.
    ///
    /// # Errors
    ///
    /// [`GateOutOfRange`] if `gate` exceeds [`MAX_GATE`].
    pub fn sign(
        &self,
        activity_id: u32,
        gate: u8,
        direction: CodeDirection,
        window: u32,
    ) -> Result<SignedCode, GateOutOfRange> {
        if gate > MAX_GATE {
            return Err(GateOutOfRange(gate));
        }
        let (key_id, key) = self.current_activity_key(activity_id);
        let claims = CodeClaims { key_id, activity_id, gate, direction, window };
        let token = encode(&key, &body(&claims, TOKEN_VERSION));
        Ok(SignedCode { token, claims })
    }

    /// Verifies `token` against this ring; see [`verify`].
    ///
    /// # Errors
    ///
    /// See [`CodeError`].
    pub fn verify(&self, token: &str) -> Result<CodeClaims, CodeError> {
        verify(self, token)
    }
}

/// Checks a token's format and signature and returns its claims.
///
/// Accepts upper or lower case. Never panics, whatever the input. It does
/// *not* check freshness: pass `claims.window` to `CodeWindows::check`.
///
/// # Errors
///
/// See [`CodeError`]; the checks run in the order format, version, key, tag.
pub fn verify(ring: &KeyRing, token: &str) -> Result<CodeClaims, CodeError> {
    let mut decoded = [0u8; MAX_DECODED_LEN];
    let len = decode(token, &mut decoded)?;
    let bytes = &decoded[..len];

    // Version first, so a future format of another length is reported as
    // such rather than as garbage.
    match bytes.first() {
        Some(&TOKEN_VERSION) => {}
        Some(_) => return Err(CodeError::UnsupportedVersion),
        None => return Err(CodeError::Malformed),
    }
    let bytes: &[u8; TOKEN_LEN] = bytes.try_into().map_err(|_| CodeError::Malformed)?;
    let (body, tag) = bytes.split_at(BODY_LEN);

    let claims = CodeClaims {
        key_id: bytes[1],
        activity_id: u32::from_be_bytes([bytes[2], bytes[3], bytes[4], bytes[5]]),
        gate: bytes[6] >> 2,
        direction: CodeDirection::from_bits(bytes[6] & 0b11).ok_or(CodeError::Malformed)?,
        window: u32::from_be_bytes([bytes[7], bytes[8], bytes[9], bytes[10]]),
    };

    let key = ring.activity_key(claims.key_id, claims.activity_id).ok_or(CodeError::UnknownKey)?;
    let expected = hmac::sign(&key, body);
    // ring's hmac::verify only checks full-length tags, so compare the
    // truncated prefix ourselves, in constant time.
    if constant_time_eq(&expected.as_ref()[..TAG_LEN], tag) { Ok(claims) } else { Err(CodeError::BadSignature) }
}

/// The signed part of a token.
fn body(claims: &CodeClaims, version: u8) -> [u8; BODY_LEN] {
    let mut body = [0u8; BODY_LEN];
    body[0] = version;
    body[1] = claims.key_id;
    body[2..6].copy_from_slice(&claims.activity_id.to_be_bytes());
    body[6] = (claims.gate << 2) | claims.direction.bits();
    body[7..11].copy_from_slice(&claims.window.to_be_bytes());
    body
}

/// Appends the truncated tag to `body` and renders the token text.
fn encode(key: &hmac::Key, body: &[u8; BODY_LEN]) -> String {
    let tag = hmac::sign(key, body);
    let mut bytes = [0u8; TOKEN_LEN];
    bytes[..BODY_LEN].copy_from_slice(body);
    bytes[BODY_LEN..].copy_from_slice(&tag.as_ref()[..TAG_LEN]);
    BASE32_NOPAD.encode(&bytes)
}

/// Decodes token text into `out`, returning the decoded length.
pub(super) fn decode(token: &str, out: &mut [u8; MAX_DECODED_LEN]) -> Result<usize, CodeError> {
    let text = token.as_bytes();
    if text.is_empty() || text.len() > MAX_TOKEN_CHARS {
        return Err(CodeError::Malformed);
    }
    // Upper-case on the stack: the hot path allocates nothing.
    let mut upper = [0u8; MAX_TOKEN_CHARS];
    let upper = &mut upper[..text.len()];
    upper.copy_from_slice(text);
    upper.make_ascii_uppercase();

    let len = BASE32_NOPAD.decode_len(upper.len()).map_err(|_| CodeError::Malformed)?;
    let out = out.get_mut(..len).ok_or(CodeError::Malformed)?;
    // data-encoding rejects characters outside the alphabet and non-zero
    // padding bits, which keeps tokens canonical.
    BASE32_NOPAD.decode_mut(upper, out).map_err(|_| CodeError::Malformed)
}

/// Compares two byte strings in time independent of where they differ, so a
/// forger cannot learn a tag byte by byte from response timing.
pub(super) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    // Keep the optimiser from turning the fold into an early-exit loop.
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const GATE: u8 = 5;

    fn ring_with(keys: &[u8], current: u8) -> KeyRing {
        KeyRing::new(keys.iter().map(|&id| (id, vec![id; 32])).collect(), current).unwrap()
    }

    fn ring() -> KeyRing {
        ring_with(&[1], 1)
    }

    fn raw(token: &str) -> Vec<u8> {
        BASE32_NOPAD.decode(token.as_bytes()).unwrap()
    }

    fn text(bytes: &[u8]) -> String {
        BASE32_NOPAD.encode(bytes)
    }

    /// Builds a correctly signed token from arbitrary body bytes, to reach
    /// the checks that run before the signature check.
    fn forge_with_valid_tag(ring: &KeyRing, body: [u8; BODY_LEN]) -> String {
        let activity = u32::from_be_bytes([body[2], body[3], body[4], body[5]]);
        encode(&ring.activity_key(body[1], activity).unwrap(), &body)
    }

    #[test]
    fn round_trip() {
        let ring = ring_with(&[1, 9], 9);
        for direction in [CodeDirection::Toggle, CodeDirection::Arrival, CodeDirection::Departure] {
            for (activity_id, gate, window) in [(0, 0, 0), (1234, GATE, 117_000_000), (u32::MAX, MAX_GATE, u32::MAX)] {
                let signed = ring.sign(activity_id, gate, direction, window).unwrap();
                let want = CodeClaims { key_id: 9, activity_id, gate, direction, window };
                assert_eq!(signed.claims, want);
                assert_eq!(signed.token.len(), TOKEN_CHARS);
                assert!(signed.token.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
                assert_eq!(verify(&ring, &signed.token), Ok(want));
                assert_eq!(ring.verify(&signed.token), Ok(want));
            }
        }
    }

    #[test]
    fn golden_token_pins_the_format() {
        // If this changes, every code on every screen breaks at deploy time:
        // bump TOKEN_VERSION instead. The value was cross-checked against an
        // independent implementation of the layout (Python hmac/hashlib:
        // HKDF-SHA256 extract+expand, HMAC-SHA256, base32).
        let ring = KeyRing::new(vec![(3, vec![0x42; 32])], 3).unwrap();
        let signed = ring.sign(1234, GATE, CodeDirection::Arrival, 117_000_000).unwrap();
        assert_eq!(signed.token, "AEBQAAAE2IKQN6KHIDUH575MJ4OFYLDSRI");
    }

    #[test]
    fn gate_out_of_range_is_refused() {
        assert_eq!(ring().sign(1, MAX_GATE + 1, CodeDirection::Toggle, 0), Err(GateOutOfRange(64)));
        assert_eq!(ring().sign(1, u8::MAX, CodeDirection::Toggle, 0), Err(GateOutOfRange(255)));
    }

    #[test]
    fn lower_and_mixed_case_accepted() {
        let ring = ring();
        let signed = ring.sign(42, GATE, CodeDirection::Departure, 7).unwrap();
        assert_eq!(verify(&ring, &signed.token.to_ascii_lowercase()), Ok(signed.claims));
        let mixed: String = signed
            .token
            .chars()
            .enumerate()
            .map(|(i, c)| if i % 2 == 0 { c.to_ascii_lowercase() } else { c })
            .collect();
        assert_eq!(verify(&ring, &mixed), Ok(signed.claims));
    }

    #[test]
    fn every_error_variant() {
        let ring = ring();
        let good = ring.sign(42, GATE, CodeDirection::Arrival, 7).unwrap();
        let body = body(&good.claims, TOKEN_VERSION);

        // Malformed: impossible direction bits, even under a valid tag.
        let mut bad_direction = body;
        bad_direction[6] |= 0b11;
        assert_eq!(verify(&ring, &forge_with_valid_tag(&ring, bad_direction)), Err(CodeError::Malformed));

        // UnsupportedVersion: version 0, 2 and 255, with or without a valid tag,
        // and at another length than version 1.
        for version in [0, 2, 255] {
            let mut other = body;
            other[0] = version;
            assert_eq!(verify(&ring, &forge_with_valid_tag(&ring, other)), Err(CodeError::UnsupportedVersion));
            assert_eq!(verify(&ring, &text(&[version; 30])), Err(CodeError::UnsupportedVersion));
        }

        // UnknownKey.
        let mut bytes = raw(&good.token);
        bytes[1] = 2;
        assert_eq!(verify(&ring, &text(&bytes)), Err(CodeError::UnknownKey));

        // BadSignature.
        let mut bytes = raw(&good.token);
        bytes[TOKEN_LEN - 1] ^= 1;
        assert_eq!(verify(&ring, &text(&bytes)), Err(CodeError::BadSignature));
    }

    #[test]
    fn forged_tag_bytes_rejected() {
        let ring = ring();
        let good = raw(&ring.sign(42, GATE, CodeDirection::Toggle, 7).unwrap().token);
        for i in BODY_LEN..TOKEN_LEN {
            for flip in [0x01, 0x80, 0xff] {
                let mut bytes = good.clone();
                bytes[i] ^= flip;
                assert_eq!(verify(&ring, &text(&bytes)), Err(CodeError::BadSignature), "byte {i}");
            }
        }
    }

    #[test]
    fn tampered_body_bytes_never_verify() {
        let ring = ring();
        let good = raw(&ring.sign(42, GATE, CodeDirection::Toggle, 7).unwrap().token);
        for i in 0..BODY_LEN {
            for flip in [0x01, 0x02, 0x04, 0x80] {
                let mut bytes = good.clone();
                bytes[i] ^= flip;
                assert!(verify(&ring, &text(&bytes)).is_err(), "byte {i} flip {flip:#x}");
            }
        }
    }

    #[test]
    fn activity_swap_detected() {
        let ring = ring();
        let signed = ring.sign(1000, GATE, CodeDirection::Arrival, 7).unwrap();
        let mut bytes = raw(&signed.token);
        bytes[2..6].copy_from_slice(&1001u32.to_be_bytes());
        assert_eq!(verify(&ring, &text(&bytes)), Err(CodeError::BadSignature));

        // Even a tag that is valid for the body under the *other* activity's
        // key does not transfer: keys are per activity.
        let theirs = ring.activity_key(1, 2000).unwrap();
        let mut body = body(&signed.claims, TOKEN_VERSION);
        body[2..6].copy_from_slice(&1000u32.to_be_bytes());
        assert_eq!(verify(&ring, &encode(&theirs, &body)), Err(CodeError::BadSignature));
    }

    #[test]
    fn truncated_tokens_are_malformed() {
        let ring = ring();
        let token = ring.sign(42, GATE, CodeDirection::Toggle, 7).unwrap().token;
        for len in 0..TOKEN_CHARS {
            assert_eq!(verify(&ring, &token[..len]), Err(CodeError::Malformed), "len {len}");
        }
        // Whole bytes missing from the end, re-encoded canonically.
        let bytes = raw(&token);
        for len in 1..TOKEN_LEN {
            assert_eq!(verify(&ring, &text(&bytes[..len])), Err(CodeError::Malformed), "bytes {len}");
        }
    }

    #[test]
    fn oversized_tokens_are_malformed() {
        let ring = ring();
        let token = ring.sign(42, GATE, CodeDirection::Toggle, 7).unwrap().token;
        // Extra bytes after a valid version-1 token.
        let mut bytes = raw(&token);
        bytes.push(0);
        assert_eq!(verify(&ring, &text(&bytes)), Err(CodeError::Malformed));
        for extra in ["A", "AA", "AAAAAAAA"] {
            assert_eq!(verify(&ring, &format!("{token}{extra}")), Err(CodeError::Malformed));
        }
        assert_eq!(verify(&ring, &"A".repeat(MAX_TOKEN_CHARS + 1)), Err(CodeError::Malformed));
        assert_eq!(verify(&ring, &token.repeat(30_000)), Err(CodeError::Malformed));
    }

    #[test]
    fn garbage_is_malformed() {
        let ring = ring();
        let token = ring.sign(42, GATE, CodeDirection::Toggle, 7).unwrap().token;
        let mut cases: Vec<String> = ["0", "1", "8", "9", "=", " ", "-", "é", "\0", "\u{1F600}"]
            .iter()
            .map(|bad| format!("{bad}{}", &token[bad.chars().count()..]))
            .collect();
        cases.push(format!(" {token}"));
        cases.push(format!("{token}\n"));
        cases.push(format!("{}=", &token[..TOKEN_CHARS - 1]));
        cases.push(format!("{token}======"));
        cases.push("https://hm.example.cn/S/".to_owned());
        for case in cases {
            assert_eq!(verify(&ring, &case), Err(CodeError::Malformed), "{case:?}");
        }
    }

    #[test]
    fn non_canonical_padding_bits_rejected() {
        // 21 bytes use 168 of the 170 bits of 34 characters; the last two
        // must be zero or two spellings would verify as the same token.
        let ring = ring();
        let token = ring.sign(42, GATE, CodeDirection::Toggle, 7).unwrap().token;
        let last = BASE32_NOPAD.decode_len(TOKEN_CHARS).unwrap();
        assert_eq!(last, TOKEN_LEN);
        let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        let accepted = alphabet
            .chars()
            .filter(|&c| {
                let variant = format!("{}{c}", &token[..TOKEN_CHARS - 1]);
                verify(&ring, &variant).is_ok()
            })
            .count();
        assert_eq!(accepted, 1);
    }

    #[test]
    fn arbitrary_input_never_panics() {
        // A small deterministic fuzz loop over base32-ish and hostile bytes.
        let ring = ring();
        let alphabet: Vec<char> = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567abcxyz0189=/ :é\u{1F600}".chars().collect();
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let len = usize::try_from(next() % 80).unwrap();
            let s: String = (0..len).map(|_| alphabet[usize::try_from(next()).unwrap() % alphabet.len()]).collect();
            let _ = verify(&ring, &s);
        }
    }

    #[test]
    fn key_rotation() {
        let old = ring_with(&[1], 1);
        let signed = old.sign(42, GATE, CodeDirection::Arrival, 7).unwrap();
        assert_eq!(signed.claims.key_id, 1);

        // Key 2 introduced and made current: old codes still verify,
        // new codes are signed with key 2.
        let rotated = ring_with(&[1, 2], 2);
        assert_eq!(verify(&rotated, &signed.token), Ok(signed.claims));
        let fresh = rotated.sign(42, GATE, CodeDirection::Arrival, 8).unwrap();
        assert_eq!(fresh.claims.key_id, 2);
        // The old ring does not know key 2 yet (a server not yet redeployed).
        assert_eq!(verify(&old, &fresh.token), Err(CodeError::UnknownKey));

        // Key 1 retired.
        let retired = ring_with(&[2], 2);
        assert_eq!(verify(&retired, &signed.token), Err(CodeError::UnknownKey));
        assert_eq!(verify(&retired, &fresh.token), Ok(fresh.claims));
    }

    #[test]
    fn a_different_secret_under_the_same_id_fails() {
        let signed = ring().sign(42, GATE, CodeDirection::Arrival, 7).unwrap();
        let other = KeyRing::new(vec![(1, vec![0xAA; 32])], 1).unwrap();
        assert_eq!(verify(&other, &signed.token), Err(CodeError::BadSignature));
    }

    #[test]
    fn constant_time_eq_basics() {
        assert!(constant_time_eq(b"", b""));
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }

    #[test]
    fn direction_serde_is_snake_case() {
        use serde::de::IntoDeserializer;
        use serde::de::value::{Error, StrDeserializer};
        // The API exposes directions as snake_case strings.
        for (name, want) in [
            ("toggle", CodeDirection::Toggle),
            ("arrival", CodeDirection::Arrival),
            ("departure", CodeDirection::Departure),
        ] {
            let de: StrDeserializer<'_, Error> = name.into_deserializer();
            assert_eq!(CodeDirection::deserialize(de), Ok(want));
        }
        let de: StrDeserializer<'_, Error> = "Arrival".into_deserializer();
        assert!(CodeDirection::deserialize(de).is_err());
    }
}

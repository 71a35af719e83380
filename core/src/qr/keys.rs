//! The master-key ring behind QR code signatures.
//!
//! A [`KeyRing`] holds one or more master secrets, each named by a one-byte
//! key id that travels inside every token. Exactly one key is *current* and
//! signs new codes; every key in the ring verifies. That split is what makes
//! rotation painless: deploy a ring with the new key added and made current,
//! wait until every code signed under the old key has expired (a few
//! windows, i.e. well under a minute), then deploy a ring without it.
//!
//! Codes are never signed with a master secret directly. Each activity gets
//! its own HMAC key, derived with HKDF-SHA256 (salt = [`HKDF_SALT`],
//! info = activity id, big-endian). A leaked or brute-forced per-activity key
//! therefore only forges codes for that one activity, and the activity id is
//! bound into the MAC twice over (once in the signed bytes, once in the key).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use data_encoding::{BASE64, BASE64_NOPAD};
use ring::hkdf;
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

/// Domain-separation salt for HKDF. Changing it invalidates every code ever
/// issued, so bump it only together with the token version byte.
pub const HKDF_SALT: &[u8] = b"hourmark qr v1";

/// HKDF info of the pending-scan ticket key (see [`KeyRing::pending_scan_key`]).
const PENDING_SCAN_INFO: &[u8] = b"hourmark pending scan v1";

/// Minimum length of a master secret in bytes.
///
/// 32 bytes (256 bits) is the full strength HKDF-SHA256 can carry; anything
/// shorter is almost certainly a configuration mistake (a password pasted
/// instead of a generated key).
pub const MIN_SECRET_LEN: usize = 32;

/// Why a key ring could not be built.
///
/// No variant carries secret material, so these errors are safe to log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyRingError {
    /// The ring has no keys at all.
    #[error("the QR key ring is empty")]
    Empty,
    /// Two keys share the same id.
    #[error("QR key id {0} appears more than once")]
    DuplicateId(u8),
    /// The requested current key id is not in the ring.
    #[error("QR key id {0} is selected as current but is not in the ring")]
    CurrentMissing(u8),
    /// A master secret is shorter than [`MIN_SECRET_LEN`] bytes.
    #[error("QR key id {id} is only {len} bytes long; at least {MIN_SECRET_LEN} are required")]
    SecretTooShort {
        /// The offending key's id.
        id: u8,
        /// Its length in bytes.
        len: usize,
    },
    /// An entry of a key spec is not of the form `ID:BASE64` with `ID` in 0..=255.
    #[error("QR key spec entry {entry} is not of the form ID:BASE64 with ID in 0..=255")]
    InvalidEntry {
        /// 1-based position of the entry in the comma-separated spec.
        entry: usize,
    },
    /// The secret of a key spec entry is not valid standard base64.
    #[error("the secret of QR key id {id} is not valid base64")]
    InvalidBase64 {
        /// The id of the entry whose secret failed to decode.
        id: u8,
    },
}

/// One master key, kept only as its HKDF pseudo-random key: extraction is
/// all the raw secret is ever needed for, so the ring keeps no copy of it.
#[derive(Clone)]
struct MasterKey {
    id: u8,
    prk: hkdf::Prk,
}

/// The set of master secrets that sign and verify QR codes.
///
/// Cloning is cheap (an `Arc` bump) and the ring's keys never change, so it
/// can be shared freely across request handlers. Per-activity keys are derived
/// on first use and kept (`DERIVED_KEPT` at most): a derivation (HKDF-Expand,
/// then the HMAC key's inner and outer states) is about 9 700 instructions,
/// 4 % of all a scan costs the server (BENCHMARKS.md, "Where a scan's
/// instructions go"), and every scan verifies a code.
///
/// `Debug` prints key ids only, never secrets.
#[derive(Clone)]
pub struct KeyRing {
    inner: Arc<Inner>,
}

/// The shared, immutable state behind a [`KeyRing`].
struct Inner {
    /// Every key, sorted by id; a handful at most, so a linear scan is fastest.
    keys: Vec<MasterKey>,
    /// A copy of the signing key, so signing needs no lookup that could fail.
    current: MasterKey,
    /// Per-activity keys already derived, by master key id and activity id.
    derived: Mutex<HashMap<(u8, u32), hmac::Key>>,
}

/// How many derived keys are kept: far more activities than run at once. Tokens
/// naming made-up activities (forged, so refused after the lookup) can only empty
/// it, never grow it past this.
const DERIVED_KEPT: usize = 4096;

impl KeyRing {
    /// Builds a ring from `(key id, master secret)` pairs, signing with `current`.
    ///
    /// # Errors
    ///
    /// [`KeyRingError::Empty`] if `keys` is empty, [`KeyRingError::DuplicateId`]
    /// if an id repeats, [`KeyRingError::SecretTooShort`] if a secret has fewer
    /// than [`MIN_SECRET_LEN`] bytes, [`KeyRingError::CurrentMissing`] if no key
    /// has the id `current`.
    pub fn new(keys: Vec<(u8, Vec<u8>)>, current: u8) -> Result<Self, KeyRingError> {
        if keys.is_empty() {
            return Err(KeyRingError::Empty);
        }
        let salt = hkdf::Salt::new(hkdf::HKDF_SHA256, HKDF_SALT);
        let mut ring: Vec<MasterKey> = Vec::with_capacity(keys.len());
        for (id, secret) in keys {
            if ring.iter().any(|k| k.id == id) {
                return Err(KeyRingError::DuplicateId(id));
            }
            if secret.len() < MIN_SECRET_LEN {
                return Err(KeyRingError::SecretTooShort { id, len: secret.len() });
            }
            ring.push(MasterKey { id, prk: salt.extract(&secret) });
        }
        let current = ring.iter().find(|k| k.id == current).ok_or(KeyRingError::CurrentMissing(current))?.clone();
        ring.sort_unstable_by_key(|k| k.id);
        Ok(Self { inner: Arc::new(Inner { keys: ring, current, derived: Mutex::new(HashMap::new()) }) })
    }

    /// Parses a config string such as `"1:BASE64SECRET,2:BASE64SECRET"`.
    ///
    /// Secrets are standard base64 (RFC 4648 §4); trailing `=` padding is
    /// optional. Whitespace around entries, ids and secrets is ignored so the
    /// spec survives being wrapped in a config file. `current` defaults to the
    /// highest id, so rotating in a new key is "append an entry with a bigger
    /// id" and nothing else.
    ///
    /// # Errors
    ///
    /// [`KeyRingError::InvalidEntry`] or [`KeyRingError::InvalidBase64`] for
    /// syntax errors, plus everything [`KeyRing::new`] reports. Error values
    /// never contain secret text.
    pub fn parse(spec: &str, current: Option<u8>) -> Result<Self, KeyRingError> {
        if spec.trim().is_empty() {
            return Err(KeyRingError::Empty);
        }
        let mut keys = Vec::new();
        for (index, entry) in spec.split(',').enumerate() {
            let invalid = KeyRingError::InvalidEntry { entry: index + 1 };
            let (id, secret) = entry.split_once(':').ok_or(invalid)?;
            let id: u8 = id.trim().parse().map_err(|_| invalid)?;
            // BASE64_NOPAD rejects '=', so strip any padding first; it still
            // checks the trailing bits, so sloppy encodings are caught.
            let secret = secret.trim().trim_end_matches('=');
            let secret = BASE64_NOPAD.decode(secret.as_bytes()).map_err(|_| KeyRingError::InvalidBase64 { id })?;
            keys.push((id, secret));
        }
        let current = match current {
            Some(id) => id,
            None => keys.iter().map(|(id, _)| *id).max().ok_or(KeyRingError::Empty)?,
        };
        Self::new(keys, current)
    }

    /// Generates a spec holding one fresh 32-byte random key with id 1,
    /// suitable for [`KeyRing::parse`] (e.g. for a `generate-key` CLI command).
    ///
    /// # Panics
    ///
    /// Panics if the operating system's random number generator fails. There
    /// is no safe fallback for key material, and this only runs from operator
    /// tooling, never on a request path.
    #[must_use]
    pub fn generate_spec() -> String {
        let mut secret = [0u8; MIN_SECRET_LEN];
        SystemRandom::new()
            .fill(&mut secret)
            .expect("the OS random number generator must work to generate key material");
        format!("1:{}", BASE64.encode(&secret))
    }

    /// The id of the key that signs new codes.
    #[must_use]
    pub fn current_key_id(&self) -> u8 {
        self.inner.current.id
    }

    /// Every key id in the ring, ascending.
    pub fn key_ids(&self) -> impl Iterator<Item = u8> + '_ {
        self.inner.keys.iter().map(|k| k.id)
    }

    /// Whether `id` names a key in the ring.
    #[must_use]
    pub fn contains(&self, id: u8) -> bool {
        self.inner.keys.iter().any(|k| k.id == id)
    }

    /// Derives the HMAC key that signs codes for `activity_id` under master
    /// key `key_id`, or `None` if that key is not in the ring.
    pub(super) fn activity_key(&self, key_id: u8, activity_id: u32) -> Option<hmac::Key> {
        let master = self.inner.keys.iter().find(|k| k.id == key_id)?;
        Some(self.kept(master, activity_id))
    }

    /// `master`'s key for `activity_id`, derived once and kept.
    fn kept(&self, master: &MasterKey, activity_id: u32) -> hmac::Key {
        // A poisoned lock only means another thread panicked mid-insert: the map is whole.
        let mut derived = self.inner.derived.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(key) = derived.get(&(master.id, activity_id)) {
            return key.clone();
        }
        if derived.len() >= DERIVED_KEPT {
            derived.clear();
        }
        let key = master.activity_key(activity_id);
        derived.insert((master.id, activity_id), key.clone());
        key
    }

    /// The HMAC key for pending-scan tickets under master key `key_id` (the key that
    /// signed the code the ticket is for), or `None` if that key is not in the ring.
    ///
    /// Its own HKDF info (longer than the 4-byte activity infos, so it can never equal
    /// one) keeps a ticket from ever being read as a code signature or the other way round.
    pub fn pending_scan_key(&self, key_id: u8) -> Option<hmac::Key> {
        let master = self.inner.keys.iter().find(|k| k.id == key_id)?;
        let info = [PENDING_SCAN_INFO];
        let okm = master.prk.expand(&info, hmac::HMAC_SHA256).expect("a 32-byte HKDF-SHA256 output is always in range");
        Some(hmac::Key::from(okm))
    }

    /// The current key's id and its HMAC key for `activity_id`.
    pub(super) fn current_activity_key(&self, activity_id: u32) -> (u8, hmac::Key) {
        let current = &self.inner.current;
        (current.id, self.kept(current, activity_id))
    }
}

impl MasterKey {
    /// HKDF-Expand with info = the activity id, big-endian.
    fn activity_key(&self, activity_id: u32) -> hmac::Key {
        let info = activity_id.to_be_bytes();
        let info = [&info[..]];
        let okm = self
            .prk
            .expand(&info, hmac::HMAC_SHA256)
            // HKDF only refuses outputs longer than 255 hash blocks; we ask
            // for one HMAC-SHA256 key (32 bytes).
            .expect("a 32-byte HKDF-SHA256 output is always in range");
        hmac::Key::from(okm)
    }
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Hand-written so no future field can leak key material into logs.
        let ids: Vec<u8> = self.key_ids().collect();
        f.debug_struct("KeyRing")
            .field("key_ids", &ids)
            .field("current", &self.current_key_id())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(byte: u8) -> Vec<u8> {
        vec![byte; 32]
    }

    #[test]
    fn new_rejects_bad_rings() {
        assert_eq!(KeyRing::new(vec![], 1).unwrap_err(), KeyRingError::Empty);
        assert_eq!(KeyRing::new(vec![(1, secret(1)), (1, secret(2))], 1).unwrap_err(), KeyRingError::DuplicateId(1));
        assert_eq!(KeyRing::new(vec![(1, secret(1))], 2).unwrap_err(), KeyRingError::CurrentMissing(2));
        assert_eq!(
            KeyRing::new(vec![(1, vec![7; 31])], 1).unwrap_err(),
            KeyRingError::SecretTooShort { id: 1, len: 31 }
        );
    }

    #[test]
    fn parse_defaults_current_to_highest_id() {
        let a = BASE64.encode(&secret(1));
        let b = BASE64_NOPAD.encode(&secret(2));
        let ring = KeyRing::parse(&format!("7:{a}, 3 : {b} ,"), None);
        // A trailing comma leaves an empty entry, which is a syntax error.
        assert_eq!(ring.unwrap_err(), KeyRingError::InvalidEntry { entry: 3 });

        let ring = KeyRing::parse(&format!("7:{a}, 3 : {b}"), None).unwrap();
        assert_eq!(ring.current_key_id(), 7);
        assert_eq!(ring.key_ids().collect::<Vec<_>>(), vec![3, 7]);

        let ring = KeyRing::parse(&format!("7:{a},3:{b}"), Some(3)).unwrap();
        assert_eq!(ring.current_key_id(), 3);
    }

    #[test]
    fn parse_errors() {
        let good = BASE64.encode(&secret(1));
        let short = BASE64.encode(&[1u8; 16]);
        let cases: Vec<(String, Option<u8>, KeyRingError)> = vec![
            (String::new(), None, KeyRingError::Empty),
            ("   ".into(), None, KeyRingError::Empty),
            (good.clone(), None, KeyRingError::InvalidEntry { entry: 1 }),
            (format!("1:{good},x:{good}"), None, KeyRingError::InvalidEntry { entry: 2 }),
            (format!("256:{good}"), None, KeyRingError::InvalidEntry { entry: 1 }),
            (format!("-1:{good}"), None, KeyRingError::InvalidEntry { entry: 1 }),
            (format!(":{good}"), None, KeyRingError::InvalidEntry { entry: 1 }),
            ("4:not base64!".into(), None, KeyRingError::InvalidBase64 { id: 4 }),
            // URL-safe alphabet is not standard base64.
            (format!("4:{}", "_-".repeat(22)), None, KeyRingError::InvalidBase64 { id: 4 }),
            (format!("1:{good},1:{good}"), None, KeyRingError::DuplicateId(1)),
            (format!("1:{good}"), Some(9), KeyRingError::CurrentMissing(9)),
            (format!("1:{short}"), None, KeyRingError::SecretTooShort { id: 1, len: 16 }),
        ];
        for (spec, current, want) in cases {
            assert_eq!(KeyRing::parse(&spec, current).unwrap_err(), want, "spec {spec:?}");
        }
    }

    #[test]
    fn generated_spec_parses() {
        let spec = KeyRing::generate_spec();
        assert!(spec.starts_with("1:"));
        let ring = KeyRing::parse(&spec, None).unwrap();
        assert_eq!(ring.current_key_id(), 1);
        assert_ne!(spec, KeyRing::generate_spec(), "keys must be random");
    }

    #[test]
    fn debug_hides_secrets() {
        let spec = KeyRing::generate_spec();
        let ring = KeyRing::parse(&spec, None).unwrap();
        let debug = format!("{ring:?} {ring:#?}");
        let b64 = spec.trim_start_matches("1:").trim_end_matches('=');
        assert!(!debug.contains(b64), "{debug}");
        assert!(!debug.contains(&b64[..8]), "{debug}");
        assert_eq!(format!("{ring:?}"), "KeyRing { key_ids: [1], current: 1, .. }");

        // Errors never echo secrets either.
        let err = KeyRing::parse("5:SECRETSECRET!", None).unwrap_err();
        assert!(!format!("{err} {err:?}").contains("SECRET"));
    }

    #[test]
    fn derived_keys_differ_per_activity_and_master() {
        let ring = KeyRing::new(vec![(1, secret(1)), (2, secret(2))], 1).unwrap();
        let tag = |kid, activity| hmac::sign(&ring.activity_key(kid, activity).unwrap(), b"x").as_ref().to_vec();
        assert_eq!(tag(1, 10), tag(1, 10));
        assert_ne!(tag(1, 10), tag(1, 11));
        assert_ne!(tag(1, 10), tag(2, 10));
        assert!(ring.activity_key(3, 10).is_none());
    }

    #[test]
    fn kept_keys_are_the_derived_ones_and_stay_bounded() {
        let ring = KeyRing::new(vec![(1, secret(1)), (2, secret(2))], 2).unwrap();
        let fresh = |kid: u8, activity: u32| {
            let master = ring.inner.keys.iter().find(|k| k.id == kid).unwrap();
            hmac::sign(&master.activity_key(activity), b"x").as_ref().to_vec()
        };
        let kept = |kid, activity| hmac::sign(&ring.activity_key(kid, activity).unwrap(), b"x").as_ref().to_vec();
        for activity in 0..=u32::try_from(DERIVED_KEPT).unwrap() {
            assert_eq!(kept(1, activity), fresh(1, activity));
        }
        assert!(ring.inner.derived.lock().unwrap().len() <= DERIVED_KEPT);
        // Asked again after the map was emptied, and for the signing key: the same keys.
        assert_eq!(kept(1, 3), fresh(1, 3));
        let (id, key) = ring.current_activity_key(3);
        assert_eq!((id, hmac::sign(&key, b"x").as_ref().to_vec()), (2, fresh(2, 3)));
        assert_eq!(kept(2, 3), fresh(2, 3));
    }

    #[test]
    fn ring_is_shareable() {
        fn assert_shareable<T: Clone + Send + Sync + 'static>() {}
        assert_shareable::<KeyRing>();
    }
}

//! Personal data at rest: ID and phone numbers are sealed with AEAD and found by keyed hash.
//!
//! - **Sealing** (AES-256-GCM, ring): each value carries the id of the key that sealed it,
//!   so keys can rotate (seal with the current key, open with any key still configured)
//!   and a database copy alone reveals nothing. The field's name is the associated data,
//!   so a sealed phone number cannot be passed off as an ID number.
//! - **Lookup** (HMAC-SHA256 under a separate key): "is this ID number registered?" is
//!   answered by comparing keyed hashes, never by decrypting rows.
//!
//! The keys come from configuration, never from the database.

use std::collections::BTreeMap;
use std::sync::Arc;

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

/// Which personal field a value is: bound into every seal and lookup hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PiiField {
    /// An ID number (normalised).
    IdNumber,
    /// A mobile phone number (normalised).
    Phone,
    /// A WeChat registration ticket (an openid waiting to be bound).
    WeChatTicket,
    /// Who gave a guardian's consent.
    GuardianDetail,
    /// A personal field given with its own consent (e-mail, employer…).
    Extra,
    /// A one-time SMS sign-in code, with the number it was sent to (lookup only: the
    /// code is kept as this keyed hash, never in clear).
    SmsCode,
}

impl PiiField {
    fn tag(self) -> &'static [u8] {
        match self {
            Self::IdNumber => b"id_number",
            Self::Phone => b"phone",
            Self::WeChatTicket => b"wechat_ticket",
            Self::GuardianDetail => b"guardian_detail",
            Self::Extra => b"extra_field",
            Self::SmsCode => b"sms_code",
        }
    }
}

/// Every stored column that holds a sealed value, with the field it is sealed as: what
/// re-sealing under a new key walks. A new sealed column must be added here, or rotation
/// would leave its values under the old key (the rotation test lists them too).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealedColumn {
    /// `volunteer.id_number_sealed`.
    VolunteerIdNumber,
    /// `volunteer.phone_sealed`.
    VolunteerPhone,
    /// `consent.detail_sealed` (who gave a guardian's consent; null for other consents).
    GuardianDetail,
    /// `extra_field.value_sealed`.
    ExtraFieldValue,
    /// `complaint.complainant_sealed`.
    Complainant,
    /// `objection.contact_sealed`.
    ObjectionContact,
}

impl SealedColumn {
    /// Every sealed column.
    pub const ALL: [SealedColumn; 6] = [
        Self::VolunteerIdNumber,
        Self::VolunteerPhone,
        Self::GuardianDetail,
        Self::ExtraFieldValue,
        Self::Complainant,
        Self::ObjectionContact,
    ];

    /// The table (a fixed name, safe to put in SQL).
    pub fn table(self) -> &'static str {
        match self {
            Self::VolunteerIdNumber | Self::VolunteerPhone => "volunteer",
            Self::GuardianDetail => "consent",
            Self::ExtraFieldValue => "extra_field",
            Self::Complainant => "complaint",
            Self::ObjectionContact => "objection",
        }
    }

    /// The column (a fixed name, safe to put in SQL).
    pub fn column(self) -> &'static str {
        match self {
            Self::VolunteerIdNumber => "id_number_sealed",
            Self::VolunteerPhone => "phone_sealed",
            Self::GuardianDetail => "detail_sealed",
            Self::ExtraFieldValue => "value_sealed",
            Self::Complainant => "complainant_sealed",
            Self::ObjectionContact => "contact_sealed",
        }
    }

    /// The field its values are sealed as.
    pub fn field(self) -> PiiField {
        match self {
            Self::VolunteerIdNumber => PiiField::IdNumber,
            Self::VolunteerPhone => PiiField::Phone,
            Self::GuardianDetail => PiiField::GuardianDetail,
            Self::ExtraFieldValue | Self::Complainant | Self::ObjectionContact => PiiField::Extra,
        }
    }
}

/// Why the vault could not be built or a value could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PiiError {
    /// The key specification is malformed (says which part).
    #[error("invalid PII key configuration: {0}")]
    Config(&'static str),
    /// A stored value names a key that is not configured.
    #[error("sealed with key {0}, which is not configured")]
    UnknownKey(u8),
    /// A stored value is damaged or was sealed for another field.
    #[error("a sealed value does not open")]
    Corrupt,
    /// The system random source failed.
    #[error("random source failed")]
    Random,
}

/// The sealing keys and the lookup key. Cheap to clone; `Debug` shows key ids only.
#[derive(Clone)]
pub struct PiiVault {
    inner: Arc<Inner>,
}

struct Inner {
    keys: BTreeMap<u8, LessSafeKey>,
    current: u8,
    lookup: hmac::Key,
    rng: SystemRandom,
}

impl std::fmt::Debug for PiiVault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PiiVault")
            .field("key_ids", &self.inner.keys.keys().collect::<Vec<_>>())
            .field("current", &self.inner.current)
            .finish_non_exhaustive()
    }
}

const B64: data_encoding::Encoding = data_encoding::BASE64;
const B64URL: data_encoding::Encoding = data_encoding::BASE64URL_NOPAD;

fn decode_key(text: &str) -> Result<Vec<u8>, PiiError> {
    let text = text.trim();
    let padded = match text.len() % 4 {
        0 => text.to_owned(),
        n => format!("{text}{}", "=".repeat(4 - n)),
    };
    B64.decode(padded.as_bytes()).map_err(|_| PiiError::Config("a key is not base64"))
}

impl PiiVault {
    /// Builds the vault from `id:base64,id:base64` sealing keys (32 bytes each; `current`
    /// defaults to the highest id) and a base64 lookup key of at least 32 bytes.
    pub fn parse(keys: &str, current: Option<u8>, lookup_key: &str) -> Result<Self, PiiError> {
        let mut map = BTreeMap::new();
        for entry in keys.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (id, secret) = entry.split_once(':').ok_or(PiiError::Config("each key must be id:base64"))?;
            let id: u8 = id.trim().parse().map_err(|_| PiiError::Config("a key id is not a number 0-255"))?;
            let bytes = decode_key(secret)?;
            if bytes.len() != 32 {
                return Err(PiiError::Config("each sealing key must be exactly 32 bytes"));
            }
            let key = UnboundKey::new(&AES_256_GCM, &bytes).map_err(|_| PiiError::Config("a key is unusable"))?;
            if map.insert(id, LessSafeKey::new(key)).is_some() {
                return Err(PiiError::Config("a key id appears twice"));
            }
        }
        let current = match current {
            Some(id) if map.contains_key(&id) => id,
            Some(_) => return Err(PiiError::Config("the current key id is not among the keys")),
            None => *map.keys().next_back().ok_or(PiiError::Config("no sealing key"))?,
        };
        let lookup = decode_key(lookup_key)?;
        if lookup.len() < 32 {
            return Err(PiiError::Config("the lookup key must be at least 32 bytes"));
        }
        Ok(Self {
            inner: Arc::new(Inner {
                keys: map,
                current,
                lookup: hmac::Key::new(hmac::HMAC_SHA256, &lookup),
                rng: SystemRandom::new(),
            }),
        })
    }

    /// A fresh configuration: (`1:<32 random bytes>`, lookup key), base64.
    pub fn generate() -> Result<(String, String), PiiError> {
        let rng = SystemRandom::new();
        let mut seal = [0u8; 32];
        let mut lookup = [0u8; 32];
        rng.fill(&mut seal).map_err(|_| PiiError::Random)?;
        rng.fill(&mut lookup).map_err(|_| PiiError::Random)?;
        Ok((format!("1:{}", B64.encode(&seal)), B64.encode(&lookup)))
    }

    /// Seals a value with the current key: `v1.<key id>.<base64url(nonce ‖ ciphertext ‖ tag)>`.
    pub fn seal(&self, field: PiiField, plaintext: &str) -> Result<String, PiiError> {
        let key = self.inner.keys.get(&self.inner.current).ok_or(PiiError::UnknownKey(self.inner.current))?;
        let mut nonce = [0u8; NONCE_LEN];
        self.inner.rng.fill(&mut nonce).map_err(|_| PiiError::Random)?;
        let mut data = plaintext.as_bytes().to_vec();
        key.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(field.tag()), &mut data)
            .map_err(|_| PiiError::Corrupt)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        Ok(format!("v1.{}.{}", self.inner.current, B64URL.encode(&out)))
    }

    /// The id of the key new values are sealed with.
    pub fn current_key_id(&self) -> u8 {
        self.inner.current
    }

    /// The prefix every value sealed under the current key starts with (`v1.<id>.`).
    pub fn current_prefix(&self) -> String {
        format!("v1.{}.", self.inner.current)
    }

    /// Opens a value sealed under any configured key and seals it again under the current
    /// one, for key rotation. The plaintext never leaves this function.
    pub fn reseal(&self, field: PiiField, sealed: &str) -> Result<String, PiiError> {
        self.seal(field, &self.open(field, sealed)?)
    }

    /// Opens a sealed value. Callers that show it to staff must write an audit entry.
    pub fn open(&self, field: PiiField, sealed: &str) -> Result<String, PiiError> {
        let mut parts = sealed.splitn(3, '.');
        if parts.next() != Some("v1") {
            return Err(PiiError::Corrupt);
        }
        let key_id: u8 = parts.next().and_then(|k| k.parse().ok()).ok_or(PiiError::Corrupt)?;
        let key = self.inner.keys.get(&key_id).ok_or(PiiError::UnknownKey(key_id))?;
        let mut bytes =
            B64URL.decode(parts.next().ok_or(PiiError::Corrupt)?.as_bytes()).map_err(|_| PiiError::Corrupt)?;
        if bytes.len() < NONCE_LEN {
            return Err(PiiError::Corrupt);
        }
        let mut ciphertext = bytes.split_off(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(&bytes).map_err(|_| PiiError::Corrupt)?;
        let plain = key.open_in_place(nonce, Aad::from(field.tag()), &mut ciphertext).map_err(|_| PiiError::Corrupt)?;
        String::from_utf8(plain.to_vec()).map_err(|_| PiiError::Corrupt)
    }

    /// A secret derived from the lookup key for another purpose (`label` names it), so
    /// every instance derives the same one without another key to configure.
    pub(crate) fn derive_secret(&self, label: &str) -> [u8; 32] {
        let mut ctx = hmac::Context::with_key(&self.inner.lookup);
        ctx.update(b"derive\0");
        ctx.update(label.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.sign().as_ref());
        out
    }

    /// A short keyed digest of a network address: enough to see many scans come from one
    /// place, useless for finding the address.
    pub fn network_digest(&self, address: &str) -> String {
        let mut ctx = hmac::Context::with_key(&self.inner.lookup);
        ctx.update(b"network\0");
        ctx.update(address.as_bytes());
        data_encoding::HEXLOWER.encode(&ctx.sign().as_ref()[..8])
    }

    /// The keyed hash a normalised value is found by.
    pub fn lookup(&self, field: PiiField, normalised: &str) -> [u8; 32] {
        let mut ctx = hmac::Context::with_key(&self.inner.lookup);
        ctx.update(field.tag());
        ctx.update(&[0]);
        ctx.update(normalised.as_bytes());
        let tag = ctx.sign();
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vault(keys: &str) -> PiiVault {
        PiiVault::parse(keys, None, "bG9va3VwLWtleS1sb29rdXAta2V5LWxvb2t1cC1rZXktISE=").expect("valid")
    }

    const K1: &str = "1:MTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTE=";
    const K2: &str = "2:MjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjI=";

    #[test]
    fn values_round_trip_and_are_not_in_the_clear() {
        let v = vault(K1);
        let sealed = v.seal(PiiField::IdNumber, "11010519491231002X").expect("seal");
        assert!(sealed.starts_with("v1.1."));
        assert!(!sealed.contains("1949"));
        assert_eq!(v.open(PiiField::IdNumber, &sealed).expect("open"), "11010519491231002X");
        // Fresh nonce each time: equal values do not look equal.
        assert_ne!(v.seal(PiiField::IdNumber, "11010519491231002X").expect("seal"), sealed);
    }

    #[test]
    fn a_value_sealed_for_one_field_does_not_open_as_another_and_tampering_is_caught() {
        let v = vault(K1);
        let sealed = v.seal(PiiField::Phone, "13800001234").expect("seal");
        assert_eq!(v.open(PiiField::IdNumber, &sealed), Err(PiiError::Corrupt));
        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 1;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(v.open(PiiField::Phone, &String::from_utf8(tampered).expect("ascii")), Err(PiiError::Corrupt));
        for garbage in ["", "v1", "v1.1", "v1.x.AAAA", "v2.1.AAAA", "v1.1.!!!!"] {
            assert!(v.open(PiiField::Phone, garbage).is_err(), "{garbage}");
        }
    }

    #[test]
    fn keys_rotate_old_values_still_open_and_missing_keys_are_named() {
        let old = vault(K1);
        let sealed = old.seal(PiiField::Phone, "13800001234").expect("seal");
        let both = vault(&format!("{K1},{K2}"));
        assert!(both.seal(PiiField::Phone, "x").expect("seal").starts_with("v1.2."));
        assert_eq!(both.open(PiiField::Phone, &sealed).expect("old key still opens"), "13800001234");
        assert_eq!(vault(K2).open(PiiField::Phone, &sealed), Err(PiiError::UnknownKey(1)));
        // Re-sealing moves a value to the current key without changing it.
        let moved = both.reseal(PiiField::Phone, &sealed).expect("reseal");
        assert!(moved.starts_with(&both.current_prefix()) && both.current_key_id() == 2, "{moved}");
        assert_eq!(vault(K2).open(PiiField::Phone, &moved).expect("new key alone opens it"), "13800001234");
        assert_eq!(both.reseal(PiiField::IdNumber, &sealed), Err(PiiError::Corrupt), "field-bound");
    }

    #[test]
    fn lookups_are_stable_keyed_and_field_bound() {
        let v = vault(K1);
        let a = v.lookup(PiiField::IdNumber, "11010519491231002X");
        assert_eq!(a, v.lookup(PiiField::IdNumber, "11010519491231002X"));
        assert_ne!(a, v.lookup(PiiField::Phone, "11010519491231002X"));
        let other = PiiVault::parse(K1, None, "YW5vdGhlci1sb29rdXAta2V5LWFub3RoZXItbG9va3VwLWs=").expect("valid");
        assert_ne!(a, other.lookup(PiiField::IdNumber, "11010519491231002X"));
    }

    #[test]
    fn bad_configuration_is_refused_and_debug_hides_keys() {
        let lookup = "bG9va3VwLWtleS1sb29rdXAta2V5LWxvb2t1cC1rZXktISE=";
        for bad in ["", "1", "x:MTEx", "1:MTEx", &format!("{K1},{K1}")] {
            assert!(PiiVault::parse(bad, None, lookup).is_err(), "{bad}");
        }
        assert!(PiiVault::parse(K1, Some(3), lookup).is_err());
        assert!(PiiVault::parse(K1, None, "c2hvcnQ=").is_err());
        let v = vault(K1);
        let shown = format!("{v:?}");
        assert!(!shown.contains("MTEx"), "{shown}");
        let (keys, lookup) = PiiVault::generate().expect("random");
        assert!(PiiVault::parse(&keys, None, &lookup).is_ok());
    }
}

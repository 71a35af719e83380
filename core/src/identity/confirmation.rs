//! Registrations confirmed out of band by a one-time SMS code, and a guardian's consent
//! confirmed the same way.
//!
//! Two things must not hinge on what a phone's holder merely types:
//!
//! - **A minor's guardian** (个人信息保护法 Art. 31, 志愿服务条例): the child's own session
//!   cannot declare it. The code goes to the phone the form names as the guardian's
//!   (never the child's own number), and only the code from that phone lets the
//!   registration through. Until then nothing about the child is stored.
//! - **Whether an ID number is registered.** Answering `id_number_taken` at once told
//!   anyone who typed a number whether that person has an account. Every registration
//!   that needs a code gets the same first answer (202, a code sent to the phone given),
//!   whatever the ID number; only once the phone is proven does the answer say that the
//!   ID number already has an account. Guessing then costs an SMS to a phone one holds,
//!   limited per number and per client like sign-in codes. Where the operator configured
//!   its template, the ID number's owner is told by SMS that someone tried it (once a
//!   day per ID number).
//!
//! Nothing is kept between the two requests but the code's keyed hash. The page already
//! holds the form, so it sends the same registration again with the code; the hash binds
//! the code to the registration's id *and* to every field of it, so a code cannot confirm
//! a registration other than the one it was sent for, nor one altered in between (a new
//! guardian phone, a new ID number). A minor's data is therefore never stored before the
//! guardian's consent, not even sealed; the code rows are the sign-in codes' table
//! (`sms_code`, keyed by a hash of the registration id rather than of a phone number),
//! with the same five minutes, five tries, single use, and the retention job's erasure.
//!
//! ```text
//! page                         Hourmark                                 SMS
//!   │ POST /mp/v1/volunteers     │ validate; minor → guardian required    │
//!   │ {…, guardian?}             │ limits: client, destination number     │
//!   ├───────────────────────────►│ keep H(id, code, registration), 5 min  │
//!   │                            ├── code → guardian's (or own) phone ───►│
//!   │ 202 {registration_id, …}   │ (same answer whether or not the ID     │
//!   │◄───────────────────────────┤  number is registered)                 │
//!   │ POST /mp/v1/volunteers     │ limit: client; check in one            │
//!   │ {… same …, confirmation:   │ transaction: used? 5 wrong? expired?   │
//!   │  {registration_id, code}}  │ right → used, then store the volunteer │
//!   ├───────────────────────────►│ (+ the guardian's consent, with who,   │
//!   │ 201 {token} | 409 taken    │  relation, phone, how confirmed)       │
//!   │◄───────────────────────────┤                                        │
//! ```
//!
//! A minor already registered (before this rule, or whose guardian withdrew) gets the
//! guardian's consent through `POST /mp/v1/me/guardian-consent` the same way: the first
//! request sends the code to the guardian, the second carries it.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::CoreError;
use crate::login::sms::SmsCodeSent;

mod use_cases;

/// A minor's guardian, as the registration form names them. `Debug` hides who.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GuardianContact {
    /// The guardian's name, 1–50 characters.
    pub name: String,
    /// How they are related (父亲, 母亲, 其他监护人 …), 1–20 characters.
    pub relation: String,
    /// The guardian's mainland mobile number: the confirmation code is sent there. Not
    /// the minor's own.
    pub phone: String,
}

impl std::fmt::Debug for GuardianContact {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuardianContact").field("relation", &self.relation).finish_non_exhaustive()
    }
}

/// The code that confirms a registration, sent with the same registration again.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistrationConfirmation {
    /// From the 202 answer.
    pub registration_id: String,
    /// The six digits from the SMS.
    pub code: String,
}

impl std::fmt::Debug for RegistrationConfirmation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RegistrationConfirmation(<redacted>)")
    }
}

/// Whose phone a registration's code went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CodeRecipient {
    /// The volunteer's own phone (an adult).
    Volunteer,
    /// The guardian's phone (a volunteer under 18).
    Guardian,
}

/// A registration waiting for its code. Nothing of it is stored: send the same
/// registration again with `confirmation`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RegistrationPending {
    /// Names this registration in the confirmation.
    pub registration_id: String,
    /// Whose phone the code went to.
    pub code_sent_to: CodeRecipient,
    /// Where the code went (masked), when it stops working, when another may be asked.
    #[serde(flatten)]
    pub sent: SmsCodeSent,
}

/// 16 random bytes in hex: a registration id nobody guesses.
fn new_registration_id() -> Result<String, CoreError> {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| CoreError::Internal("system random source failed".into()))?;
    Ok(data_encoding::HEXLOWER.encode(&bytes))
}

/// What a code row is filed under and what it must match.
pub(crate) struct CodeBinding {
    /// The row's key: a keyed hash of the purpose and its subject (a registration id, a
    /// volunteer id), never a phone number's lookup hash, so these codes never sign anyone
    /// in.
    pub key: [u8; 32],
    /// Everything the code vouches for, in a fixed serialisation.
    pub content: String,
}

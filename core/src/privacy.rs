//! A volunteer's say over their data: changing consents, a guardian's consent for a
//! minor, and what the scan path may do as a result.
//!
//! The scan path reads a volunteer's [`ScanPermission`] on every scan, so it is cached
//! like a token grant: seconds in-process, minutes in the shared cache, rebuilt from the
//! consent history in the store. A change drops both copies on the instance that made it;
//! other instances see it within [`LOCAL_PERMISSION_TTL`].

use std::time::Duration as StdDuration;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::CoreError;
use crate::identity::consent::ScanPermission;
use crate::identity::registration::MyData;
use crate::identity::{ConsentPurpose, VolunteerProfile};
use crate::login::sms::SmsCodeSent;

mod use_cases;

/// How long an instance keeps a volunteer's scan permission without asking the shared cache.
pub const LOCAL_PERMISSION_TTL: StdDuration = StdDuration::from_secs(30);
/// Long, so a crowd's permissions do not all expire together and send every volunteer's
/// consent history to the database at once (that stampede cost seconds of latency under
/// load). Changes drop the entry explicitly instead, twice (see `forget_scan_permission`).
const SHARED_PERMISSION_TTL: StdDuration = StdDuration::from_secs(3600);

/// A permission computed from a history read just before a change can be written back just
/// after the change dropped it; dropping it again this much later clears such a write.
const SECOND_FORGET_AFTER: StdDuration = StdDuration::from_secs(2);

/// A permission is small: both cache tiers keep it as it is.
impl crate::cache::TierValue for ScanPermission {
    type Shared = Self;
    fn shared(&self) -> &Self {
        self
    }
    fn from_shared(shared: Self) -> Self {
        shared
    }
}

/// How many volunteers one page of a region's list holds.
pub const REGION_VOLUNTEERS_PAGE: u32 = 50;

/// One page of the volunteers who served in a region, masked.
#[derive(Debug)]
pub struct RegionVolunteers {
    /// The volunteers, by volunteer number.
    pub volunteers: Vec<VolunteerProfile>,
    /// The cursor of the next page (the last number here), if there is one.
    pub next: Option<String>,
}

/// A change of one consent.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentChange {
    /// `record`, `publicity` or `location`; `guardian` only to withdraw (a guardian's
    /// consent is given through its own request).
    pub purpose: ConsentPurpose,
    /// Give (true) or withdraw (false).
    pub granted: bool,
    /// The version of the notice shown, 1–32 characters.
    pub notice_version: String,
}

/// A guardian's consent for a volunteer under 18, confirmed by the code sent to the
/// guardian's phone: send it once without `code` (the code goes to `guardian_phone`),
/// then again, unchanged, with the code.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GuardianConsent {
    /// The guardian's name.
    pub guardian_name: String,
    /// How they are related (父亲, 母亲, 其他监护人 …), 1–20 characters.
    pub relation: String,
    /// The guardian's mobile number (not the volunteer's own): the code goes there.
    pub guardian_phone: String,
    /// The version of the notice the guardian was shown, 1–32 characters.
    pub notice_version: String,
    /// The six digits the guardian received; absent on the first request.
    #[serde(default)]
    pub code: Option<String>,
}

impl std::fmt::Debug for GuardianConsent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuardianConsent").field("relation", &self.relation).finish_non_exhaustive()
    }
}

/// What a guardian-consent request came to.
#[derive(Debug, Clone)]
pub enum GuardianConsentAnswer {
    /// The code went to the guardian's phone; nothing is recorded yet.
    CodeSent(SmsCodeSent),
    /// The guardian's code matched: recorded. The volunteer's data and consents.
    Recorded(Box<MyData>),
}

fn notice_version(v: &str) -> Result<String, CoreError> {
    crate::identity::line_text(v, 32, "notice_version")
}

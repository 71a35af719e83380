//! Volunteers: registration, look-ups, consents, devices, phones, extra fields and sealed values.
//!
//! One area of [`Store`](super::Store): a narrow trait whose implementation is written once
//! for both engines, in `shared/volunteers.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreResult;
use crate::audit::AuditEvent;
use crate::extra_fields::{ExtraField, ExtraFieldConsent};
use crate::identity::{ConsentRecord, StoredVolunteer, TokenHash, WeChatIdentity};

/// What a volunteer is registered with that a roster's staged row (`roster_staging`) also
/// holds, under the same names, in the order every writer of `volunteer` gives it.
pub(crate) const VOLUNTEER_DATA: &str = "volunteer_number, name, gender, birth_month, id_type, id_number_sealed, \
                                         id_number_lookup, phone_sealed, phone_lookup, skills";

/// Binds a volunteer's [`VOLUNTEER_DATA`] to `$query`, in its order, as every writer of
/// those columns does (a registration, a roster's staged row): one list, so that no
/// writer binds a column out of place.
macro_rules! bind_volunteer_data {
    ($query:expr, $v:expr) => {
        $query
            .bind(&$v.volunteer_number)
            .bind(&$v.name)
            .bind(i16::from($v.gender.code()))
            .bind(&$v.birth_month)
            .bind($v.id_type.as_str())
            .bind(&$v.id_number_sealed)
            .bind($v.id_number_lookup.as_slice())
            .bind(&$v.phone_sealed)
            .bind($v.phone_lookup.as_slice())
            .bind($crate::store::skills_json(&$v.skills))
    };
}
pub(crate) use bind_volunteer_data;

/// The one `insert into volunteer` of both engines, followed by `rows`: registration's
/// `values (…)` or a roster publish's `select … from roster_staging`. Each gives
/// [`VOLUNTEER_DATA`] in order, then the bound device, when it was bound, the import that
/// registered the volunteer and the time. A column added to `VOLUNTEER_DATA` is written by
/// both, or both statements fail (their row lists no longer match the columns), so
/// neither can forget it; a roster stages it too (`roster_staging` must then have it).
pub(crate) fn insert_volunteers(rows: &str) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(format!(
        "insert into volunteer ({VOLUNTEER_DATA}, device_id, device_bound_at, roster_import_id, created_at) {rows}"
    ))
}

/// What a registration writes, all of it or none ([`VolunteerStore::create_volunteer`]).
#[derive(Debug, Clone, Copy)]
pub struct NewRegistration<'a> {
    /// The volunteer (id 0).
    pub volunteer: &'a StoredVolunteer,
    /// Their consents.
    pub consents: &'a [ConsentRecord],
    /// A minor's guardian's consent, with who gave it, sealed.
    pub guardian: Option<(&'a ConsentRecord, &'a str)>,
    /// The WeChat account to bind.
    pub wechat: Option<&'a WeChatIdentity>,
    /// The first bearer token's hash and expiry.
    pub token: (&'a TokenHash, DateTime<Utc>),
    /// When.
    pub at: DateTime<Utc>,
}

impl<'a> NewRegistration<'a> {
    /// Every consent row to write, each with its sealed detail: the volunteer's own (none),
    /// then a minor's guardian's.
    pub(crate) fn consent_rows(&self) -> Vec<(&'a ConsentRecord, Option<&'a str>)> {
        self.consents.iter().map(|c| (c, None)).chain(self.guardian.map(|(c, detail)| (c, Some(detail)))).collect()
    }
}

/// Volunteers: registration, look-ups, consents, devices, phones, extra fields and sealed values.
#[async_trait]
pub trait VolunteerStore: Send + Sync {
    /// The regions (GB/T 2260) of the organisations whose activities a volunteer has an
    /// accepted scan at: where they served, and so which officers oversee them.
    async fn volunteer_service_regions(&self, volunteer_id: i64) -> StoreResult<Vec<String>>;
    /// Records a consent decision about an extra field and, in the same transaction, stores
    /// its sealed value (`Some`) or erases it (`None`).
    async fn set_extra_field(
        &self,
        volunteer_id: i64,
        consent: &ExtraFieldConsent,
        sealed: Option<&str>,
    ) -> StoreResult<()>;
    /// A volunteer's extra fields (sealed values) and their consent history.
    async fn extra_fields(
        &self,
        volunteer_id: i64,
    ) -> StoreResult<(Vec<(ExtraField, String, DateTime<Utc>)>, Vec<ExtraFieldConsent>)>;
    /// Registers a volunteer with their consents, all or nothing. A registered ID number
    /// is `id_number_taken`, a registered phone `phone_taken`; a volunteer-number collision
    /// is reported as a [`StorageError::Conflict`](super::StorageError::Conflict) on `volunteer_number` for the caller to draw another.
    /// With `wechat`, the WeChat account is bound in the same transaction; an account
    /// already bound is `wechat_already_bound`. The volunteer's first bearer token
    /// (`token`: hash and expiry) is stored in the same transaction too, so a registration
    /// never commits without a way to sign in. A minor's `guardian` consent (with who gave
    /// it, sealed) is stored in the same transaction too: a minor is never stored without
    /// it, and a failure storing it leaves no volunteer behind.
    async fn create_volunteer(&self, registration: &NewRegistration<'_>) -> StoreResult<StoredVolunteer>;
    /// The volunteer a WeChat account is bound to.
    async fn volunteer_by_openid(&self, openid: &str) -> StoreResult<Option<i64>>;
    /// The volunteer bound to this Official Account openid, or to this unionid through
    /// either WeChat app (the mini program's openid differs from the OA's; the unionid is
    /// common to both). A null unionid matches nothing.
    async fn volunteer_by_wechat_oa(&self, oa_openid: &str, unionid: Option<&str>) -> StoreResult<Option<i64>>;
    /// Binds a mini-program `openid` that no one has yet to the one volunteer `unionid`
    /// already finds (bound through the Official Account, or through the mini program
    /// under another openid), with the audit entry, in one transaction: the volunteer to
    /// sign in. `None` when the unionid finds no one, or more than one volunteer (bindings
    /// that disagree are for a person to sort out, not for a login to pick from). An openid
    /// already bound, or a volunteer who already has another mini-program openid, is left
    /// as it is: nothing is ever rebound; the volunteer is still found by the unionid.
    /// `audit` comes without actor and subject: both are the volunteer found.
    async fn bind_openid_by_unionid(&self, openid: &str, unionid: &str, audit: &AuditEvent)
    -> StoreResult<Option<i64>>;
    /// The volunteer with this ID number's lookup hash (of the document type and number).
    async fn volunteer_by_id_number(&self, id_number_lookup: &[u8; 32]) -> StoreResult<Option<i64>>;
    /// The volunteer with this phone number's lookup hash.
    async fn volunteer_by_phone(&self, phone_lookup: &[u8; 32]) -> StoreResult<Option<i64>>;
    /// One volunteer.
    async fn get_volunteer(&self, id: i64) -> StoreResult<Option<StoredVolunteer>>;
    /// The volunteers of `ids` that exist, by id (a page's people in one read).
    async fn get_volunteers(&self, ids: &[i64]) -> StoreResult<Vec<StoredVolunteer>>;
    /// Up to `limit` values of a sealed column that do not start with `current_prefix`
    /// (sealed under another key), for key rotation. Re-sealed values drop out of the
    /// answer, so calling again after [`VolunteerStore::replace_sealed_values`] moves on.
    async fn sealed_values_not_under(
        &self,
        column: crate::identity::pii::SealedColumn,
        current_prefix: &str,
        limit: i64,
    ) -> StoreResult<Vec<String>>;
    /// Replaces sealed values (old, new) in one transaction. Each row is found by its old
    /// value (unique: every seal has a fresh nonce), so a value changed meanwhile is left
    /// alone. Returns how many rows changed.
    async fn replace_sealed_values(
        &self,
        column: crate::identity::pii::SealedColumn,
        pairs: &[(String, String)],
    ) -> StoreResult<u64>;
    /// A volunteer's consent history, oldest first.
    async fn consents(&self, volunteer_id: i64) -> StoreResult<Vec<ConsentRecord>>;
    /// The consent histories of `volunteers`, each oldest first, as (volunteer, record).
    async fn consents_of(&self, volunteers: &[i64]) -> StoreResult<Vec<(i64, ConsentRecord)>>;
    /// Binds a volunteer to a device and records the audit entry, in one transaction.
    async fn rebind_device(&self, volunteer_id: i64, device_id: &str, audit: &AuditEvent) -> StoreResult<()>;
    /// Replaces a volunteer's phone number and records the audit entry, in one transaction;
    /// a number another volunteer has is `phone_taken`.
    async fn update_phone(
        &self,
        volunteer_id: i64,
        sealed: &str,
        lookup: &[u8; 32],
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    /// Appends a consent decision (`detail_sealed`: who gave a guardian's consent).
    async fn add_consent(
        &self,
        volunteer_id: i64,
        consent: &ConsentRecord,
        detail_sealed: Option<&str>,
    ) -> StoreResult<()>;
}

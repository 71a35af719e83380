//! [`Hourmark`]: the application context every HTTP handler and job works through.
//!
//! It owns the store, the cache, the QR key ring, the clock and the settings, and offers
//! the use cases as methods. Cloning it is cheap (one `Arc`).
//!
//! Hot-path lookups are layered: a small in-process cache with a short lifetime in front
//! of the shared cache (Redis or in-process), in front of the store. Bearer-token grants
//! and activities are read on every scan, so they must not cost a network round trip each
//! time; their local copies live seconds, which bounds how stale another instance's view
//! can be.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, SubsecRound, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::activity::{Activity, NewActivity, shanghai_time};
use crate::attendance::checkin::CheckinPolicy;
use crate::attendance::writer::ScanWriter;
use crate::cache::Cache;
use crate::clock::Clock;
use crate::error::{CoreError, ErrorCode};
use crate::identity::pii::PiiVault;
use crate::identity::{BearerToken, NewOrganisation, Organisation, Principal, Staff, StaffRole, TokenGrant, TokenHash};
use crate::qr::{CodeDirection, CodeWindows, KeyRing};
use crate::store::Store;

pub use crate::identity::confirmation::{GuardianContact, Registration, RegistrationConfirmation, RegistrationPending};
pub use crate::identity::registration::{ConsentAnswers, MyData, NewVolunteer, VolunteerWithToken};
pub(crate) use crate::identity::registration::{validate_birth_month, validate_skills};
pub use crate::identity::staff::{NewStaff, QualificationWarning, StaffProfile, StaffRecord, StaffWithToken};

/// What the core needs to know beyond its services. The server's `Config` fills it in.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Rotation period and how many earlier windows are still accepted.
    pub code_windows: CodeWindows,
    /// The URL prefix codes are put behind, e.g. `HTTPS://HM.EXAMPLE.CN/S/`.
    pub code_base_url: String,
    /// The check-in and minutes rules.
    pub checkin: CheckinPolicy,
    /// How long a pending-scan ticket keeps a scan valid while the volunteer registers
    /// (see [`crate::attendance::ticket`]).
    pub pending_scan_ttl: Duration,
    /// Until when a scan the phone kept offline may still be uploaded (see
    /// [`crate::attendance::offline`]).
    pub late_upload_bound: crate::attendance::offline::LateUploadBound,
    /// How long a volunteer's bearer token lives.
    pub volunteer_token_ttl: Duration,
    /// How long a staff bearer token lives.
    pub staff_token_ttl: Duration,
    /// How long a console (browser) session lasts without use.
    pub console_idle: Duration,
    /// Largest group commit of scans.
    pub scan_batch_max: usize,
    /// Scan batches committing at once.
    pub scan_batches_in_flight: usize,
    /// The WeChat login client, when the server has a mini-program app configured.
    pub wechat: Option<crate::wechat::WeChatClient>,
    /// Sign-in inside WeChat's browser through the Official Account, when configured.
    pub wechat_oa: Option<crate::login::wechat_oa::WeChatOaSettings>,
    /// Whether the development login (by phone number, no WeChat) is on.
    pub dev_login: bool,
    /// SMS sign-in: the sender and its limits.
    pub sms: crate::login::sms::SmsSettings,
    /// Whether an adult's registration waits for a one-time code sent to the phone given
    /// (see [`crate::identity::confirmation`]): always in production, so that nobody can
    /// learn whether an ID number is registered without proving a phone. A minor's
    /// registration always waits for their guardian's code, whatever this says.
    pub registration_phone_code: bool,
    /// A production installation: no development shortcuts (an administrator's new
    /// organisation goes through application, check and approval like any other).
    pub production: bool,
    /// Rate limits.
    pub rate_limits: crate::ratelimit::RateLimits,
    /// How long after binding a device a volunteer must wait to bind another.
    pub device_rebind_cooldown: Duration,
    /// Whether to take the client address from the last `X-Forwarded-For` hop (only
    /// behind a proxy that sets it).
    pub trust_forwarded_for: bool,
    /// Staff passkeys: the relying party and the invite links.
    pub passkeys: crate::passkeys::PasskeySettings,
    /// Development aid: every problem answer an operation's description does not list
    /// becomes a 500 that says so (the tests run with it on).
    pub check_error_docs: bool,
    /// The bearer token `GET /metrics` answers to; none: the endpoint does not exist.
    pub metrics_token: Option<crate::wechat::Secret>,
    /// Certificates: the signing key and the verification URL.
    pub certificates: crate::certificates::CertificateSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            code_windows: CodeWindows { secs: 15, accept_previous: 1 },
            code_base_url: "HTTP://127.0.0.1:8080/S/".to_owned(),
            checkin: CheckinPolicy::default(),
            pending_scan_ttl: Duration::minutes(10),
            late_upload_bound: crate::attendance::offline::LateUploadBound::CheckoutCloses,
            volunteer_token_ttl: Duration::days(7),
            staff_token_ttl: Duration::hours(12),
            console_idle: Duration::minutes(30),
            scan_batch_max: 512,
            scan_batches_in_flight: 2,
            wechat: None,
            wechat_oa: None,
            dev_login: false,
            sms: crate::login::sms::SmsSettings::default(),
            registration_phone_code: false,
            production: false,
            rate_limits: crate::ratelimit::RateLimits::default(),
            device_rebind_cooldown: Duration::hours(24),
            trust_forwarded_for: false,
            passkeys: crate::passkeys::PasskeySettings::default(),
            check_error_docs: false,
            metrics_token: None,
            certificates: crate::certificates::CertificateSettings::default(),
        }
    }
}

/// How long the in-process copies of hot values live.
const LOCAL_TOKEN_TTL: StdDuration = StdDuration::from_secs(30);
const LOCAL_ACTIVITY_TTL: StdDuration = StdDuration::from_secs(5);
/// How long the shared cache keeps a bearer-token grant (never past its expiry).
const SHARED_GRANT_TTL: StdDuration = StdDuration::from_secs(24 * 3600);
/// How long the shared cache keeps an activity snapshot.
const SHARED_ACTIVITY_TTL: StdDuration = StdDuration::from_secs(300);
/// Number of per-volunteer locks that serialise one volunteer's concurrent scans.
const SCAN_STRIPES: usize = 4096;

/// The application context.
#[derive(Clone)]
pub struct Hourmark {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) cache: Arc<dyn Cache>,
    pub(crate) keys: KeyRing,
    pub(crate) vault: PiiVault,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) settings: Settings,
    pub(crate) writer: ScanWriter,
    /// Where boards' live events are published.
    pub(crate) live: crate::live::LiveEvents,
    pub(crate) local_grants: moka::future::Cache<TokenHash, TokenGrant>,
    local_activities: moka::future::Cache<i64, Arc<Activity>>,
    pub(crate) local_permissions: moka::future::Cache<i64, crate::identity::consent::ScanPermission>,
    /// Activities' review settings, read by the scan path's per-scan rules. Another
    /// instance's change is seen within [`LOCAL_ACTIVITY_TTL`].
    pub(crate) review_settings: moka::future::Cache<i64, crate::review::ReviewSettings>,
    /// Coalesces concurrent presence loads of one activity on this instance.
    pub(crate) presence_loads: moka::future::Cache<i64, ()>,
    pub(crate) scan_stripes: Box<[tokio::sync::Mutex<()>]>,
    /// Each watched activity's board snapshot, shared by its boards on this instance.
    pub(crate) board_snapshots: crate::attendance::board::BoardSnapshots,
    /// Per activity that admits no walk-ins, who has an approved sign-up (`None`: anyone
    /// may check in). See `Hourmark::walk_in_refusal`.
    pub(crate) walk_ins: moka::future::Cache<i64, Arc<crate::signups::Admission>>,
}

impl std::fmt::Debug for Hourmark {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hourmark")
            .field("store", &self.inner.store)
            .field("cache", &self.inner.cache)
            .field("keys", &self.inner.keys)
            .field("settings", &self.inner.settings)
            .finish_non_exhaustive()
    }
}

/// A bearer token just issued, with whom it belongs to.
#[derive(Clone, Serialize, ToSchema)]
pub struct IssuedToken {
    /// The bearer token. Shown once; only its hash is stored.
    pub access_token: String,
    /// When it stops working (+08:00).
    #[serde(with = "shanghai_time")]
    #[schema(value_type = String)]
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedToken")
            .field("access_token", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// The code to show now at one gate and direction.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CurrentCode {
    /// The signed token (34 characters).
    pub token: String,
    /// The URL the QR code holds.
    pub url: String,
    /// The gate number.
    pub gate: u8,
    /// The gate's name.
    pub gate_name: String,
    /// Toggle, arrival or departure.
    pub direction: CodeDirection,
    /// When this code's window began (+08:00).
    #[serde(with = "shanghai_time")]
    #[schema(value_type = String)]
    pub window_start: DateTime<Utc>,
    /// When the server stops accepting this code (+08:00).
    #[serde(with = "shanghai_time")]
    #[schema(value_type = String)]
    pub expires_at: DateTime<Utc>,
    /// Seconds until the screen should fetch the next code.
    pub seconds_to_rotation: u32,
}

impl Hourmark {
    /// Builds the context and starts the scan writer on the current runtime.
    pub fn new(
        store: Arc<dyn Store>,
        cache: Arc<dyn Cache>,
        keys: KeyRing,
        vault: PiiVault,
        clock: Arc<dyn Clock>,
        settings: Settings,
        live: crate::live::LiveEvents,
    ) -> Self {
        let writer = ScanWriter::spawn(store.clone(), settings.scan_batch_max, settings.scan_batches_in_flight);
        let inner = Inner {
            store,
            cache,
            keys,
            vault,
            clock,
            writer,
            live,
            local_grants: moka::future::Cache::builder().max_capacity(100_000).time_to_live(LOCAL_TOKEN_TTL).build(),
            local_activities: moka::future::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(LOCAL_ACTIVITY_TTL)
                .build(),
            local_permissions: moka::future::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(crate::privacy::LOCAL_PERMISSION_TTL)
                .build(),
            review_settings: moka::future::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(LOCAL_ACTIVITY_TTL)
                .build(),
            presence_loads: moka::future::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(StdDuration::from_secs(5))
                .build(),
            scan_stripes: (0..SCAN_STRIPES).map(|_| tokio::sync::Mutex::new(())).collect(),
            board_snapshots: crate::attendance::board::BoardSnapshots::default(),
            walk_ins: moka::future::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(crate::signups::WALK_IN_RULE_FRESH)
                .build(),
            settings,
        };
        Self { inner: Arc::new(inner) }
    }

    pub(crate) fn inner(&self) -> &Inner {
        &self.inner
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// The cache.
    pub(crate) fn cache(&self) -> &Arc<dyn Cache> {
        &self.inner.cache
    }

    /// The personal-data vault.
    pub(crate) fn vault(&self) -> &PiiVault {
        &self.inner.vault
    }

    /// The current time by the injected clock, to the millisecond: what both stores keep
    /// exactly, so an answer never shows a time the database would round.
    pub fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now().trunc_subsecs(3)
    }

    pub(crate) async fn issue_token(&self, principal: Principal, ttl: Duration) -> Result<IssuedToken, CoreError> {
        let token = BearerToken::generate()?;
        let now = self.now();
        let expires_at = now + ttl;
        let hash = token.hash();
        self.inner.store.put_access_token(&hash, &principal, now, expires_at).await?;
        // A volunteer usually registers at the gate and scans at once: have the grant ready.
        self.share_grant(&hash, &TokenGrant { principal, expires_at, idle_minutes: None, last_seen_at: None }).await;
        Ok(IssuedToken { access_token: token.expose().to_owned(), expires_at })
    }

    pub(crate) fn grant_key(hash: &TokenHash) -> String {
        format!("grant:{}", data_encoding::HEXLOWER.encode(hash))
    }

    /// Drops a revoked token's grant from this instance and from the shared cache.
    pub(crate) async fn forget_grant(&self, hash: &TokenHash) {
        self.inner.local_grants.invalidate(hash).await;
        if let Err(e) = self.inner.cache.delete(&Self::grant_key(hash)).await {
            tracing::warn!(error = %e, "could not drop a revoked token from the cache");
        }
    }

    /// Puts a grant in the shared cache until it expires (at most a day). Best effort.
    pub(crate) async fn share_grant(&self, hash: &TokenHash, grant: &TokenGrant) {
        let ttl = (grant.expires_at - self.now()).to_std().unwrap_or_default().min(SHARED_GRANT_TTL);
        if ttl.is_zero() {
            return;
        }
        match serde_json::to_vec(grant) {
            Ok(bytes) => {
                if let Err(e) = self.inner.cache.set(&Self::grant_key(hash), &bytes, ttl).await {
                    tracing::warn!(error = %e, "could not cache a token grant");
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not encode a token grant"),
        }
    }

    /// Who a bearer token belongs to. Unknown, malformed and expired tokens are all
    /// `unauthenticated`, indistinguishably.
    pub async fn authenticate(&self, bearer: &str) -> Result<Principal, CoreError> {
        let unauthenticated = || CoreError::refused(ErrorCode::Unauthenticated, "未登录或登录已失效，请重新登录");
        let token = BearerToken::from_presented(bearer).ok_or_else(unauthenticated)?;
        let hash = token.hash();
        let local = self.inner.local_grants.get(&hash).await;
        crate::metrics::cache_lookup("local", local.is_some());
        let grant = match local {
            Some(grant) => grant,
            None => {
                let shared = match self.inner.cache.get(&Self::grant_key(&hash)).await {
                    Ok(bytes) => {
                        crate::metrics::cache_lookup("shared", bytes.is_some());
                        bytes.and_then(|b| serde_json::from_slice::<TokenGrant>(&b).ok())
                    }
                    Err(e) => {
                        metrics::counter!(crate::metrics::CACHE_ERRORS).increment(1);
                        tracing::warn!(error = %e, "cache unavailable; reading the token from the store");
                        None
                    }
                };
                let grant = match shared {
                    Some(grant) => grant,
                    None => {
                        let grant = self.inner.store.find_access_token(&hash).await?.ok_or_else(unauthenticated)?;
                        self.share_grant(&hash, &grant).await;
                        grant
                    }
                };
                self.inner.local_grants.insert(hash, grant).await;
                grant
            }
        };
        if grant.expires_at <= self.now() {
            return Err(unauthenticated());
        }
        if grant.idle_minutes.is_some() {
            self.console_session_in_use(&hash, grant).await?;
        }
        Ok(grant.principal)
    }

    /// Creates an organisation (administrators only), audited. In production it is an
    /// application made on the organisation's behalf, checked and approved like any other:
    /// the chain is the only way to the right to record. A development installation keeps
    /// the shortcut that approves it at once (first sessions and tests rely on it), and the
    /// audit log says it skipped the chain.
    pub async fn create_organisation(&self, by: &Principal, new: NewOrganisation) -> Result<Organisation, CoreError> {
        use crate::identity::OrganisationStatus;
        let admin = require_administrator(by)?;
        let new = new.validate()?;
        let (status, action, installation, reason) = if self.inner.settings.production {
            (OrganisationStatus::Applied, "organisation_applied_for", "production", "管理员代为申报，须经审核和批准")
        } else {
            (
                OrganisationStatus::Approved,
                "organisation_approved_without_chain",
                "development",
                "开发环境：未经申报、审核和批准，直接批准",
            )
        };
        let audit = crate::audit::AuditEvent {
            at: self.now(),
            actor_kind: "staff".into(),
            actor_id: Some(admin),
            action: action.into(),
            subject_kind: "organisation".into(),
            subject_id: None,
            detail: serde_json::json!({
                "installation": installation, "reason": reason, "status": status.as_str(),
                "name": new.name, "region_code": new.region_code, "kind": new.kind.as_str(),
            }),
        };
        self.inner.store.create_organisation_audited(&new, status, admin, reason, &audit).await
    }

    /// Lists organisations: all for administrators; their region's for officers (only
    /// university groups for the Youth League); their own for organisation staff.
    pub async fn list_organisations(&self, by: &Principal) -> Result<Vec<Organisation>, CoreError> {
        match by {
            Principal::Staff { role: StaffRole::Administrator, .. } => self.inner.store.list_organisations(None).await,
            Principal::Staff { id, role: StaffRole::Officer, .. } => {
                let (region, agency) = self.officer(*id).await?;
                let all = self.inner.store.list_organisations(None).await?;
                Ok(all
                    .into_iter()
                    .filter(|o| crate::identity::region_covers(&region, &o.region_code))
                    .filter(|o| {
                        agency == crate::identity::Agency::CivilAffairs
                            || o.kind == crate::identity::OrganisationKind::University
                    })
                    .collect())
            }
            Principal::Staff { organisation_id: Some(id), .. } => {
                Ok(self.inner.store.get_organisation(*id).await?.into_iter().collect())
            }
            _ => Err(CoreError::code(ErrorCode::Forbidden)),
        }
    }

    /// Creates an activity in an organisation the caller manages.
    pub async fn create_activity(&self, by: &Principal, new: NewActivity) -> Result<Activity, CoreError> {
        let staff_id = require_manager_of(by, new.organisation_id)?;
        let new = new.validate()?;
        match self.inner.store.get_organisation(new.organisation_id).await? {
            None => return Err(CoreError::refused(ErrorCode::InvalidBody, "organisation_id 所指的组织不存在")),
            // An applicant may plan while it waits for approval; a revoked organisation
            // has lost the right to record, so nothing new starts under it.
            Some(org) if org.status == crate::identity::OrganisationStatus::Revoked => {
                return Err(CoreError::refused(
                    ErrorCode::OrganisationRevoked,
                    "该组织已被撤销记录资格，不能再创建活动",
                ));
            }
            Some(_) => {}
        }
        let activity = self.inner.store.create_activity(&new, staff_id, self.now()).await?;
        if u32::try_from(activity.id).is_err() {
            // Codes carry the id in 32 bits; four billion activities is far off, but say so.
            return Err(CoreError::Internal("activity ids have outgrown the 32-bit code field".into()));
        }
        Ok(activity)
    }

    /// An activity, if it exists (no access check: internal and scan-path use).
    pub async fn activity(&self, id: i64) -> Result<Option<Arc<Activity>>, CoreError> {
        let local = self.inner.local_activities.get(&id).await;
        crate::metrics::cache_lookup("local", local.is_some());
        if let Some(a) = local {
            return Ok(Some(a));
        }
        let key = format!("activity:{id}");
        let shared = match self.inner.cache.get(&key).await {
            Ok(bytes) => {
                crate::metrics::cache_lookup("shared", bytes.is_some());
                bytes.and_then(|b| serde_json::from_slice::<Activity>(&b).ok())
            }
            Err(e) => {
                metrics::counter!(crate::metrics::CACHE_ERRORS).increment(1);
                tracing::warn!(error = %e, "cache unavailable; reading the activity from the store");
                None
            }
        };
        let activity = match shared {
            Some(a) => a,
            None => {
                let Some(a) = self.inner.store.get_activity(id).await? else { return Ok(None) };
                if let Ok(bytes) = serde_json::to_vec(&a)
                    && let Err(e) = self.inner.cache.set(&key, &bytes, SHARED_ACTIVITY_TTL).await
                {
                    tracing::warn!(error = %e, "could not cache an activity");
                }
                a
            }
        };
        let activity = Arc::new(activity);
        self.inner.local_activities.insert(id, activity.clone()).await;
        Ok(Some(activity))
    }

    /// Drops an activity's cached snapshot here and in the shared cache.
    pub(crate) async fn forget_activity(&self, id: i64) {
        self.inner.local_activities.invalidate(&id).await;
        if let Err(e) = self.inner.cache.delete(&format!("activity:{id}")).await {
            tracing::warn!(error = %e, activity_id = id, "could not drop a cached activity");
        }
    }

    /// An activity the caller may manage; others' activities are `not_found`, so their
    /// existence is not revealed.
    pub async fn managed_activity(&self, by: &Principal, id: i64) -> Result<Arc<Activity>, CoreError> {
        let not_found = || CoreError::refused(ErrorCode::NotFound, "活动不存在");
        let activity = self.activity(id).await?.ok_or_else(not_found)?;
        match by {
            Principal::Staff { role: StaffRole::Administrator, .. } => Ok(activity),
            // A leader sees only the activities they lead; the rest of the organisation's
            // activities do not exist for them.
            Principal::Staff { id, role: StaffRole::Leader, organisation_id: Some(org) }
                if *org == activity.organisation_id =>
            {
                if self.inner.store.is_activity_leader(activity.id, *id).await? {
                    Ok(activity)
                } else {
                    Err(not_found())
                }
            }
            Principal::Staff { organisation_id: Some(org), .. } if *org == activity.organisation_id => Ok(activity),
            Principal::Staff { .. } => Err(not_found()),
            Principal::Volunteer { .. } => Err(CoreError::code(ErrorCode::Forbidden)),
        }
    }

    /// Makes `staff_id`, a leader of the activity's organisation, one of its leaders
    /// (the organisation's organisers and recorders, and administrators). Idempotent.
    pub async fn assign_leader(&self, by: &Principal, activity_id: i64, staff_id: i64) -> Result<(), CoreError> {
        let activity = self.managed_activity(by, activity_id).await?;
        require_manager_of(by, activity.organisation_id)?;
        let leader = self.inner.store.get_staff(staff_id).await?;
        match leader {
            Some(s) if s.role == StaffRole::Leader && s.organisation_id == Some(activity.organisation_id) => {}
            _ => return Err(CoreError::refused(ErrorCode::InvalidBody, "只能指派本组织的活动负责人")),
        }
        self.inner.store.assign_activity_leader(activity_id, staff_id, self.now()).await
    }

    /// Ends `staff_id`'s leadership of the activity. `not_found` if they were not leading it.
    pub async fn unassign_leader(&self, by: &Principal, activity_id: i64, staff_id: i64) -> Result<(), CoreError> {
        let activity = self.managed_activity(by, activity_id).await?;
        require_manager_of(by, activity.organisation_id)?;
        if self.inner.store.remove_activity_leader(activity_id, staff_id).await? {
            Ok(())
        } else {
            Err(CoreError::code(ErrorCode::NotFound))
        }
    }

    /// The activity's leaders.
    pub async fn activity_leaders(&self, by: &Principal, activity_id: i64) -> Result<Vec<Staff>, CoreError> {
        self.managed_activity(by, activity_id).await?;
        self.inner.store.activity_leaders(activity_id).await
    }

    /// The code to show now at `gate` for `direction`.
    pub async fn current_code(
        &self,
        by: &Principal,
        activity_id: i64,
        gate: u8,
        direction: CodeDirection,
    ) -> Result<CurrentCode, CoreError> {
        let activity = self.managed_activity(by, activity_id).await?;
        let gate_name = crate::screen_keys::code_target(&activity, gate, direction)?;
        let activity_id =
            u32::try_from(activity.id).map_err(|_| CoreError::Internal("activity id exceeds 32 bits".into()))?;
        let now = self.now();
        let windows = &self.inner.settings.code_windows;
        let window = windows.window_at(now);
        let signed = self
            .inner
            .keys
            .sign(activity_id, gate, direction, window)
            .map_err(|e| CoreError::refused(ErrorCode::InvalidParameter, e.to_string()))?;
        Ok(CurrentCode {
            url: crate::qr::code_url(&self.inner.settings.code_base_url, &signed.token),
            token: signed.token,
            gate,
            gate_name,
            direction,
            window_start: windows.window_start(window),
            expires_at: windows.expires_at(window),
            seconds_to_rotation: windows.seconds_to_rotation(now),
        })
    }
}

pub(crate) fn staff_principal(staff: &Staff) -> Principal {
    Principal::Staff { id: staff.id, role: staff.role, organisation_id: staff.organisation_id }
}

/// The staff id of an administrator; anyone else is `forbidden`.
pub(crate) fn require_administrator(by: &Principal) -> Result<i64, CoreError> {
    match by {
        Principal::Staff { id, role: StaffRole::Administrator, .. } => Ok(*id),
        _ => Err(CoreError::code(ErrorCode::Forbidden)),
    }
}

/// The staff id of a caller who may manage `organisation_id`'s activities.
pub(crate) fn require_manager_of(by: &Principal, organisation_id: i64) -> Result<i64, CoreError> {
    match by {
        Principal::Staff { id, role: StaffRole::Administrator, .. } => Ok(*id),
        // Leaders run the activities they are given; they do not create or assign.
        Principal::Staff { role: StaffRole::Leader, .. } => Err(CoreError::code(ErrorCode::Forbidden)),
        Principal::Staff { id, organisation_id: Some(org), .. } if *org == organisation_id => Ok(*id),
        _ => Err(CoreError::code(ErrorCode::Forbidden)),
    }
}

/// Device ids are opaque but bounded: at most 64 printable ASCII characters.
pub(crate) fn validate_device_id(device_id: Option<&str>) -> Result<Option<&str>, CoreError> {
    match device_id {
        Some(d) if d.is_empty() || d.len() > 64 || !d.bytes().all(|b| b.is_ascii_graphic()) => {
            Err(CoreError::refused(ErrorCode::InvalidBody, "device_id 须为 1 至 64 个可见 ASCII 字符"))
        }
        other => Ok(other),
    }
}

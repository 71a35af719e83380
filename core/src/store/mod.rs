//! Storage: one trait, two engines.
//!
//! PostgreSQL is the production store; SQLite is the embedded default, so Hourmark runs on
//! a bare machine. Both implement [`Store`] with the same behaviour (the end-to-end suite
//! runs against each), and each is free to use its engine's strengths on the hot path:
//! PostgreSQL inserts a whole batch of scans with one `unnest` statement, SQLite with one
//! multi-row insert on its single writer connection.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::activity::{Activity, NewActivity};
use crate::attendance::Direction;
use crate::audit::AuditEvent;
use crate::calendar::{Overlay, YearArrangement};
use crate::corrections::{CorrectionField, CorrectionRequest, CorrectionStatus, MyScan, VolunteerChange};
use crate::error::CoreError;
use crate::error::ErrorCode;
use crate::extra_fields::{ExtraField, ExtraFieldConsent};
use crate::hourmark::StaffRecord;
use crate::identity::{
    ConsentRecord, NewOrganisation, Organisation, OrganisationStatus, Principal, Staff, StoredVolunteer, TokenGrant,
    TokenHash, WeChatIdentity,
};
use crate::notification::{DeliveryOutcome, NewNotification, Notification, PendingDelivery};
use crate::passkeys::{NewInvite, PasskeyRemoval, StaffAccount, StoredPasskey};
use crate::publicity::{
    BoardFilter, NewPublicity, NewRegisterEntry, Objection, PublicityRow, RegisterGuard, RegisterRow, Restart,
};
use crate::qualification::{NewQualificationEvent, QualificationEvent};
use crate::reporting::{BatchStatus, ReportBatch};
use crate::review::correction::{CorrectionProposal, Decided, NewProposal, Proposed};
use crate::review::finalise::{Finalisation, FinalisedSession, LateEntry, LateEntryStatus, NewLateEntry};
use crate::review::record::{Award, Complaint, ComplaintStatus, Evaluation, RecordSession, Satisfaction, Training};
use crate::review::{Flag, FlagStatus, NewFlag, ReviewSettings, ScanElsewhere, StoredScanEvidence};

pub mod backup;
mod cancellations;
mod certificates;
pub mod my_hours;
mod postgres;
pub mod region_volunteers;
mod signups;
pub mod sms_code;
mod sqlite;
mod stars;
mod time_bank;
mod trainings;

pub use cancellations::CancellationStore;
pub use certificates::CertificateStore;
pub use postgres::PostgresStore;
pub use signups::SignupStore;
pub use sqlite::SqliteStore;
pub use stars::StarStore;
pub use time_bank::TimeBankStore;
pub use trainings::TrainingStore;

/// Shorthand for store results.
pub type StoreResult<T> = Result<T, CoreError>;

/// A scan to record, accepted or refused, with the answer the volunteer gets.
#[derive(Debug, Clone, PartialEq)]
pub struct NewScan {
    /// Assigned by the server before the write (UUIDv7: time-ordered).
    pub id: Uuid,
    /// Who scanned.
    pub volunteer_id: i64,
    /// The client's idempotency key; unique per volunteer.
    pub client_nonce: Uuid,
    /// The activity the code named, when the code could be read.
    pub activity_id: Option<i64>,
    /// The gate the code named.
    pub gate: Option<u8>,
    /// Set for accepted scans only.
    pub direction: Option<Direction>,
    /// For accepted scans: the volunteer's accepted scans at the activity before this one,
    /// plus one. Unique per (activity, volunteer), so a decision made on a state another
    /// instance has already moved on from cannot be written (see `attendance::scan`).
    pub seq: Option<u32>,
    /// `checked_in`, `checked_out`, or the refusal's error code.
    pub outcome: String,
    /// When the server took the scan; for a late upload, the scan time the phone claimed.
    pub server_time: DateTime<Utc>,
    /// For a late upload only: when it reached the server (see `attendance::offline`).
    pub uploaded_at: Option<DateTime<Utc>>,
    /// What the phone's clock said.
    pub client_time: Option<DateTime<Utc>>,
    /// The code's time window.
    pub code_window: Option<u32>,
    /// The key id the code was signed with.
    pub key_id: Option<u8>,
    /// Distance from the activity's location, metres. The position itself is not kept.
    pub distance_m: Option<f64>,
    /// The phone's reported accuracy, metres.
    pub accuracy_m: Option<f64>,
    /// The geofence verdict, when a location was used.
    pub geofence: Option<crate::geo::Geofence>,
    /// The device the scan came from.
    pub device_id: Option<String>,
    /// A keyed digest of the client's network address (never the address).
    pub network: Option<String>,
    /// The exact answer, replayed for a retry with the same nonce.
    pub answer: StoredAnswer,
}

/// An answer as sent: HTTP status and JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAnswer {
    /// HTTP status.
    pub status: u16,
    /// The JSON body, verbatim.
    pub body: String,
}

/// An accepted scan, as the minutes derivation and the live board read it.
#[derive(Debug, Clone, PartialEq)]
pub struct AcceptedScan {
    /// The scan's id.
    pub id: Uuid,
    /// Who.
    pub volunteer_id: i64,
    /// Their name.
    pub volunteer_name: String,
    /// When the server took it.
    pub at: DateTime<Utc>,
    /// In or out.
    pub direction: Direction,
    /// The gate it was taken at.
    pub gate: Option<u8>,
}

/// Everything Hourmark keeps, behind one interface.
#[async_trait]
pub trait Store:
    CertificateStore
    + StarStore
    + TimeBankStore
    + SignupStore
    + TrainingStore
    + CancellationStore
    + sms_code::SmsCodeStore
    + my_hours::MyHoursStore
    + region_volunteers::RegionVolunteerStore
    + Send
    + Sync
    + std::fmt::Debug
{
    /// Applies pending migrations.
    async fn migrate(&self) -> StoreResult<()>;
    /// The versions of this build's migrations the database has not applied (empty when
    /// it is up to date). Fails when the database does not answer.
    async fn pending_migrations(&self) -> StoreResult<Vec<i64>>;

    /// Whether any administrator exists (if not, a bootstrap token is issued at start-up).
    async fn administrator_exists(&self) -> StoreResult<bool>;
    /// Stores a fresh bootstrap token's hash.
    async fn put_bootstrap_token(&self, hash: &TokenHash, at: DateTime<Utc>) -> StoreResult<()>;
    /// Spends an unused bootstrap token and creates the first administrator with the
    /// invite for their first passkey, atomically. `None` when the token is unknown or
    /// already spent.
    async fn redeem_bootstrap_token(
        &self,
        hash: &TokenHash,
        admin: &StaffRecord<'_>,
        invite: &NewInvite,
    ) -> StoreResult<Option<Staff>>;

    /// Creates an organisation in `status`; a taken name is `organisation_name_taken`.
    async fn create_organisation(
        &self,
        new: &NewOrganisation,
        status: OrganisationStatus,
        at: DateTime<Utc>,
    ) -> StoreResult<Organisation>;
    /// Creates an organisation in `status` on a staff member's word, with the organisation
    /// event (`reason`) and `audit` (its subject id set to the new organisation's), in one
    /// transaction; a taken name is `organisation_name_taken`.
    async fn create_organisation_audited(
        &self,
        new: &NewOrganisation,
        status: OrganisationStatus,
        staff_id: i64,
        reason: &str,
        audit: &AuditEvent,
    ) -> StoreResult<Organisation>;
    /// Moves an organisation from one of `from` to `to`, recording who did it and why, in
    /// one transaction. `None` when it was not in one of `from` (nothing changes).
    #[allow(clippy::too_many_arguments)]
    async fn change_organisation_status(
        &self,
        id: i64,
        from: &[OrganisationStatus],
        to: OrganisationStatus,
        staff_id: i64,
        reason: Option<&str>,
        at: DateTime<Utc>,
    ) -> StoreResult<Option<Organisation>>;
    /// The ids of an organisation's activities.
    async fn activity_ids_of(&self, organisation_id: i64) -> StoreResult<Vec<i64>>;
    /// One organisation.
    async fn get_organisation(&self, id: i64) -> StoreResult<Option<Organisation>>;
    /// Organisations (in one status, if given), by id.
    async fn list_organisations(&self, status: Option<OrganisationStatus>) -> StoreResult<Vec<Organisation>>;

    /// One staff member.
    async fn get_staff(&self, id: i64) -> StoreResult<Option<Staff>>;
    /// Creates a staff member with the invite for their first passkey, in one
    /// transaction. A taken login is a unique violation.
    async fn create_staff(&self, staff: &StaffRecord<'_>, invite: &NewInvite, at: DateTime<Utc>) -> StoreResult<Staff>;
    /// Every staff member, by id.
    async fn list_staff(&self) -> StoreResult<Vec<Staff>>;
    /// Gives a recorder `event.qualification` if they still hold `event.previous`, appending
    /// the history entry and `audit`, in one transaction. `None` (nothing written) when
    /// their certificate is no longer `event.previous`.
    async fn record_qualification(
        &self,
        event: &NewQualificationEvent,
        audit: &AuditEvent,
    ) -> StoreResult<Option<QualificationEvent>>;
    /// A recorder's qualification history, oldest first.
    async fn qualification_history(&self, staff_id: i64) -> StoreResult<Vec<QualificationEvent>>;
    /// Makes a staff member one of an activity's leaders (no-op if already).
    async fn assign_activity_leader(&self, activity_id: i64, staff_id: i64, at: DateTime<Utc>) -> StoreResult<()>;
    /// Ends a leadership; `false` if there was none.
    async fn remove_activity_leader(&self, activity_id: i64, staff_id: i64) -> StoreResult<bool>;
    /// Whether a staff member leads an activity.
    async fn is_activity_leader(&self, activity_id: i64, staff_id: i64) -> StoreResult<bool>;
    /// An activity's leaders, by id.
    async fn activity_leaders(&self, activity_id: i64) -> StoreResult<Vec<Staff>>;
    /// The regions (GB/T 2260) of the organisations whose activities a volunteer has an
    /// accepted scan at: where they served, and so which officers oversee them.
    async fn volunteer_service_regions(&self, volunteer_id: i64) -> StoreResult<Vec<String>>;
    /// Files a correction request.
    async fn add_correction(
        &self,
        volunteer_id: i64,
        field: CorrectionField,
        requested_value: &str,
        reason: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<CorrectionRequest>;
    /// One correction request.
    async fn get_correction(&self, id: i64) -> StoreResult<Option<CorrectionRequest>>;
    /// A volunteer's correction requests, oldest first.
    async fn corrections_of(&self, volunteer_id: i64) -> StoreResult<Vec<CorrectionRequest>>;
    /// Requests waiting for a decision, oldest first (at most 1000).
    async fn open_corrections(&self) -> StoreResult<Vec<CorrectionRequest>>;
    /// Decides an open request: applies `change` to the volunteer and writes `audit`, in
    /// one transaction. `None` (nothing changed) if it was no longer open.
    #[allow(clippy::too_many_arguments)]
    async fn decide_correction(
        &self,
        id: i64,
        status: CorrectionStatus,
        decided_by: i64,
        reason: &str,
        at: DateTime<Utc>,
        change: Option<&VolunteerChange>,
        audit: &AuditEvent,
    ) -> StoreResult<Option<CorrectionRequest>>;
    /// A volunteer's scans, accepted or refused, oldest first, with activity names.
    async fn volunteer_scans(&self, volunteer_id: i64) -> StoreResult<Vec<MyScan>>;
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
    /// An activity's review settings, if any were set.
    async fn review_settings(&self, activity_id: i64) -> StoreResult<Option<ReviewSettings>>;
    /// Sets an activity's review settings.
    async fn put_review_settings(
        &self,
        activity_id: i64,
        settings: &ReviewSettings,
        by: i64,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Stores flags, skipping any already raised (same activity, volunteer, rule and key);
    /// returns how many were new.
    async fn raise_flags(&self, flags: &[NewFlag]) -> StoreResult<usize>;
    /// An activity's flags, by volunteer, day and id.
    async fn flags(&self, activity_id: i64) -> StoreResult<Vec<Flag>>;
    /// One flag.
    async fn get_flag(&self, id: i64) -> StoreResult<Option<Flag>>;
    /// Resolves an open flag with its audit entry; `None` (nothing changed) if it was no
    /// longer open.
    #[allow(clippy::too_many_arguments)]
    async fn resolve_flag(
        &self,
        id: i64,
        status: FlagStatus,
        by: i64,
        reason: &str,
        minutes: Option<u32>,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> StoreResult<Option<Flag>>;
    /// Every scan at an activity, accepted or refused, in time order, with names.
    async fn scan_evidence(&self, activity_id: i64) -> StoreResult<Vec<StoredScanEvidence>>;
    /// Accepted scans at other activities by the volunteers who scanned at this one, within
    /// a day of it.
    async fn scans_elsewhere(&self, activity_id: i64) -> StoreResult<Vec<ScanElsewhere>>;
    /// Whether a volunteer has served with an organisation: an accepted scan at one of its
    /// activities, or an approved late entry there.
    async fn served_with_organisation(&self, volunteer_id: i64, organisation_id: i64) -> StoreResult<bool>;
    /// Whether an activity's left-open sessions have been closed.
    async fn is_closed(&self, activity_id: i64) -> StoreResult<bool>;
    /// Whether an activity has been finalised.
    async fn is_finalised(&self, activity_id: i64) -> StoreResult<bool>;
    /// Activities that ended before `cutoff` and have not been closed, oldest first.
    async fn activities_to_close(&self, cutoff: DateTime<Utc>, limit: i64) -> StoreResult<Vec<i64>>;
    /// Marks an activity's left-open sessions closed (no-op if already).
    async fn mark_closed(&self, activity_id: i64, at: DateTime<Utc>) -> StoreResult<()>;
    /// Stores notifications, skipping any already written (same volunteer and key), and
    /// queues a WeChat delivery, due `now`, for each that asks for one.
    async fn add_notifications(&self, notifications: &[NewNotification], now: DateTime<Utc>) -> StoreResult<()>;
    /// A volunteer's notifications, newest first (at most 100), or only the unread.
    async fn notifications(&self, volunteer_id: i64, unread_only: bool) -> StoreResult<Vec<Notification>>;
    /// Marks a volunteer's notifications read (these, or all with `None`); how many changed.
    async fn mark_notifications_read(
        &self,
        volunteer_id: i64,
        ids: Option<&[i64]>,
        at: DateTime<Utc>,
    ) -> StoreResult<u64>;
    /// Claims up to `limit` WeChat deliveries due by `now`, moving their next attempt to
    /// `lease_until` so no other instance takes them meanwhile.
    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<PendingDelivery>>;
    /// Records what became of a delivery attempt.
    async fn finish_delivery(
        &self,
        notification_id: i64,
        outcome: &DeliveryOutcome,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Files a late entry.
    async fn add_late_entry(
        &self,
        activity_id: i64,
        new: &NewLateEntry,
        evidence: &str,
        reason: &str,
        by: i64,
        at: DateTime<Utc>,
    ) -> StoreResult<LateEntry>;
    /// An activity's late entries, oldest first.
    async fn late_entries(&self, activity_id: i64) -> StoreResult<Vec<LateEntry>>;
    /// Decides an open late entry with its audit entry; `None` if no longer open.
    async fn decide_late_entry(
        &self,
        id: i64,
        status: LateEntryStatus,
        by: i64,
        reason: &str,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> StoreResult<Option<LateEntry>>;
    /// Finalises an activity with its sessions, their publicity and the audit entry, in one
    /// transaction; `false` (nothing written) if it was already finalised.
    #[allow(clippy::too_many_arguments)]
    async fn finalise(
        &self,
        activity_id: i64,
        by: i64,
        at: DateTime<Utc>,
        sessions: &[FinalisedSession],
        publicity: &[NewPublicity],
        audit: &AuditEvent,
    ) -> StoreResult<bool>;
    /// Years of the national calendar added by officers.
    async fn calendar_years(&self) -> StoreResult<Vec<YearArrangement>>;
    /// Adds a year; `false` if that year is already there.
    async fn add_calendar_year(&self, year: &YearArrangement, by: i64, at: DateTime<Utc>) -> StoreResult<bool>;
    /// Every regional overlay.
    async fn calendar_overlays(&self) -> StoreResult<Vec<Overlay>>;
    /// Removes a region's overlay for a day; `false` if there was none.
    async fn remove_calendar_overlay(&self, region_code: &str, day: chrono::NaiveDate) -> StoreResult<bool>;
    /// Sets (or replaces) a region's overlay for a day.
    async fn put_calendar_overlay(&self, overlay: &Overlay, by: i64, at: DateTime<Utc>) -> StoreResult<()>;
    /// Entries in publicity or held with ids after `after` that match `filter`, oldest
    /// first.
    async fn publicity_in_progress(
        &self,
        after: i64,
        limit: i64,
        filter: &BoardFilter,
    ) -> StoreResult<Vec<PublicityRow>>;
    /// Entries held for the calendar.
    async fn publicity_held(&self) -> StoreResult<Vec<PublicityRow>>;
    /// Gives a held entry its period's end.
    async fn set_publicity_end(&self, id: i64, ends_on: chrono::NaiveDate) -> StoreResult<()>;
    /// Entries whose period ended before `today`.
    async fn publicity_due(&self, today: chrono::NaiveDate) -> StoreResult<Vec<PublicityRow>>;
    /// Appends entries to the register, each chained to the one before, in one transaction
    /// serialised against other appends, if `guard` still holds under that serialisation
    /// (`false`, nothing written, if not).
    async fn append_register(
        &self,
        entries: &[NewRegisterEntry],
        guard: &RegisterGuard,
        at: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// The entry that currently stands for a publicity entry (its original or latest
    /// replacement), if it is in the register.
    async fn standing_register_entry(&self, publicity_entry_id: i64) -> StoreResult<Option<RegisterRow>>;
    /// One publicity entry.
    async fn publicity_entry(&self, id: i64) -> StoreResult<Option<PublicityRow>>;
    /// Publishes one more finalised day (no-op if that day is already published).
    async fn add_publicity(&self, activity_id: i64, publicity: &NewPublicity, at: DateTime<Utc>) -> StoreResult<()>;
    /// The publicity entry of a volunteer's finalised day.
    async fn publicity_entry_for(
        &self,
        activity_id: i64,
        volunteer_id: i64,
        day: chrono::NaiveDate,
    ) -> StoreResult<Option<PublicityRow>>;
    /// Starts an entry's publicity again with corrected minutes; `false` if it has been
    /// recorded meanwhile.
    async fn restart_publicity(&self, id: i64, restart: &Restart) -> StoreResult<bool>;
    /// Stores an objection, unless the entry has been recorded meanwhile (`None`).
    async fn add_objection(
        &self,
        entry_id: i64,
        contact_sealed: &str,
        reason: &str,
        raised_by: Option<i64>,
        at: DateTime<Utc>,
    ) -> StoreResult<Option<Objection>>;
    /// One objection.
    async fn objection(&self, id: i64) -> StoreResult<Option<Objection>>;
    /// The objections to an activity's entries.
    async fn objections_of_activity(&self, activity_id: i64) -> StoreResult<Vec<Objection>>;
    /// Decides an open objection with its audit entry, in one transaction: with `restart`
    /// (upheld), the finalised session is corrected (and the correction recorded) and the
    /// entry's publicity starts again. `None` if the objection was no longer open.
    #[allow(clippy::too_many_arguments)]
    async fn decide_objection(
        &self,
        id: i64,
        entry: &PublicityRow,
        by: i64,
        reason: &str,
        restart: Option<&Restart>,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> StoreResult<Option<Objection>>;
    /// Puts every register entry of an organisation not in a submitted or confirmed batch
    /// into a new submitted batch for `county_code`, in one transaction serialised against
    /// other batches; `None` when there is nothing to send.
    async fn create_batch(
        &self,
        organisation_id: i64,
        county_code: &str,
        by: i64,
        at: DateTime<Utc>,
    ) -> StoreResult<Option<ReportBatch>>;
    /// Every batch, by id.
    async fn report_batches(&self) -> StoreResult<Vec<ReportBatch>>;
    /// A page of a batch's register entries after `after`, in order.
    async fn batch_entries(&self, batch_id: i64, after: i64, limit: i64) -> StoreResult<Vec<RegisterRow>>;
    /// Confirms or returns a submitted batch with its audit entry; `None` if it was no
    /// longer submitted.
    #[allow(clippy::too_many_arguments)]
    async fn decide_batch(
        &self,
        id: i64,
        to: BatchStatus,
        by: i64,
        reason: Option<&str>,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> StoreResult<Option<ReportBatch>>;
    /// A volunteer's minutes in confirmed batches.
    async fn confirmed_minutes(&self, volunteer_id: i64) -> StoreResult<i64>;
    /// The publicity period set for a scope (`org:<id>` or a province's region code).
    async fn publicity_rule(&self, scope: &str) -> StoreResult<Option<u32>>;
    /// Sets the publicity period for a scope.
    async fn put_publicity_rule(&self, scope: &str, working_days: u32, by: i64, at: DateTime<Utc>) -> StoreResult<()>;
    /// How many publicity entries are marked recorded but have no original register entry.
    async fn recorded_without_register_entry(&self) -> StoreResult<u64>;
    /// Finalised days whose publicity or register does not show their final minutes (a
    /// correction interrupted between its two steps), at most `limit`: the day's
    /// finalised session, and the reason of its latest correction, if any.
    async fn unpublished_corrections(&self, limit: i64) -> StoreResult<Vec<(i64, FinalisedSession, Option<String>)>>;
    /// Register entries after `after`, in order.
    async fn register_page(&self, after: i64, limit: i64) -> StoreResult<Vec<RegisterRow>>;
    /// A finalised activity and its sessions.
    async fn finalisation(&self, activity_id: i64) -> StoreResult<Option<Finalisation>>;
    /// Stores a proposed correction of a finalised session (from its current final minutes)
    /// with its audit entry.
    async fn propose_session_correction(&self, proposal: &NewProposal, audit: &AuditEvent) -> StoreResult<Proposed>;
    /// An activity's correction proposals, oldest first.
    async fn session_correction_proposals(&self, activity_id: i64) -> StoreResult<Vec<CorrectionProposal>>;
    /// Decides a proposal: an approval corrects the finalised session (if its minutes are
    /// still the proposal's `from`) and records the correction, proposer and approver; all
    /// with the audit entry, in one transaction.
    async fn decide_session_correction(
        &self,
        id: i64,
        approve: bool,
        by: i64,
        reason: &str,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> StoreResult<Decided>;
    /// Records (or replaces) an evaluation with its audit entry.
    async fn put_evaluation(&self, evaluation: &Evaluation, audit: &AuditEvent) -> StoreResult<()>;
    /// An activity's evaluations.
    async fn evaluations(&self, activity_id: i64) -> StoreResult<Vec<Evaluation>>;
    /// A volunteer's evaluations.
    async fn evaluations_of(&self, volunteer_id: i64) -> StoreResult<Vec<Evaluation>>;
    /// Records (or replaces) the recipients' satisfaction with an activity.
    async fn put_satisfaction(
        &self,
        activity_id: i64,
        satisfaction: &Satisfaction,
        by: i64,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Files a complaint.
    #[allow(clippy::too_many_arguments)]
    async fn add_complaint(
        &self,
        volunteer_id: i64,
        organisation_id: i64,
        activity_id: Option<i64>,
        complainant_sealed: &str,
        description: &str,
        by: i64,
        at: DateTime<Utc>,
    ) -> StoreResult<Complaint>;
    /// One complaint.
    async fn get_complaint(&self, id: i64) -> StoreResult<Option<Complaint>>;
    /// Moves a complaint from one of `from` to `to`: `text` is the investigation note, or
    /// the decision's reason (with who decided and when). `None` if it was not in `from`.
    #[allow(clippy::too_many_arguments)]
    async fn complaint_step(
        &self,
        id: i64,
        from: &[ComplaintStatus],
        to: ComplaintStatus,
        by: i64,
        text: &str,
        at: DateTime<Utc>,
        audit: Option<&AuditEvent>,
    ) -> StoreResult<Option<Complaint>>;
    /// Complaints against a volunteer.
    async fn complaints_of(&self, volunteer_id: i64) -> StoreResult<Vec<Complaint>>;
    /// Records training.
    #[allow(clippy::too_many_arguments)]
    async fn add_training(
        &self,
        volunteer_id: i64,
        organisation_id: i64,
        title: &str,
        held_on: chrono::NaiveDate,
        hours: u32,
        by: i64,
        at: DateTime<Utc>,
    ) -> StoreResult<Training>;
    /// A volunteer's training.
    async fn trainings_of(&self, volunteer_id: i64) -> StoreResult<Vec<Training>>;
    /// Records an award.
    #[allow(clippy::too_many_arguments)]
    async fn add_award(
        &self,
        volunteer_id: i64,
        organisation_id: i64,
        title: &str,
        awarded_by: &str,
        awarded_on: chrono::NaiveDate,
        by: i64,
        at: DateTime<Utc>,
    ) -> StoreResult<Award>;
    /// A volunteer's awards.
    async fn awards_of(&self, volunteer_id: i64) -> StoreResult<Vec<Award>>;
    /// A volunteer's finalised sessions, by day.
    async fn finalised_sessions_of(&self, volunteer_id: i64) -> StoreResult<Vec<RecordSession>>;
    /// A staff member with their passkey user handle.
    async fn staff_account(&self, id: i64) -> StoreResult<Option<StaffAccount>>;
    /// The staff member who signs in as `login`.
    async fn staff_account_by_login(&self, login: &str) -> StoreResult<Option<StaffAccount>>;
    /// Stores another invite for a staff member, with its audit entry.
    async fn add_invite(&self, staff_id: i64, invite: &NewInvite, audit: &AuditEvent) -> StoreResult<()>;
    /// The staff member an invite is for, if it is unused and unexpired at `at`.
    async fn invited_staff(&self, hash: &TokenHash, at: DateTime<Utc>) -> StoreResult<Option<i64>>;
    /// Stores a passkey with its audit entry; with `invite`, spends that invite in the same
    /// transaction. `false` (nothing stored) when the invite is no longer usable at the
    /// passkey's `created_at`. A credential id already registered is a unique violation.
    async fn add_passkey(
        &self,
        passkey: &StoredPasskey,
        invite: Option<&TokenHash>,
        audit: &AuditEvent,
    ) -> StoreResult<bool>;
    /// A staff member's passkeys, oldest first.
    async fn passkeys(&self, staff_id: i64) -> StoreResult<Vec<StoredPasskey>>;
    /// Records a sign-in with a passkey: its updated credential (counter) and the time.
    async fn passkey_used(&self, id: Uuid, credential: &str, at: DateTime<Utc>) -> StoreResult<()>;
    /// Removes one of a staff member's passkeys with its audit entry; the last one only
    /// with `last_too` (an administrator removing a lost phone's: the person is re-invited).
    async fn remove_passkey(
        &self,
        staff_id: i64,
        id: Uuid,
        last_too: bool,
        audit: &AuditEvent,
    ) -> StoreResult<PasskeyRemoval>;

    /// Registers a volunteer with their consents, in one transaction. A registered ID number
    /// is `id_number_taken`, a registered phone `phone_taken`; a volunteer-number collision
    /// is reported as a [`StorageError::Conflict`] on `volunteer_number` for the caller to draw another.
    /// With `wechat`, the WeChat account is bound in the same transaction; an account
    /// already bound is `wechat_already_bound`. The volunteer's first bearer token
    /// (`token`: hash and expiry) is stored in the same transaction too, so a registration
    /// never commits without a way to sign in.
    async fn create_volunteer(
        &self,
        volunteer: &StoredVolunteer,
        consents: &[ConsentRecord],
        wechat: Option<&WeChatIdentity>,
        token: (&TokenHash, DateTime<Utc>),
        at: DateTime<Utc>,
    ) -> StoreResult<StoredVolunteer>;
    /// The volunteer a WeChat account is bound to.
    async fn volunteer_by_openid(&self, openid: &str) -> StoreResult<Option<i64>>;
    /// The volunteer with this phone number's lookup hash.
    async fn volunteer_by_phone(&self, phone_lookup: &[u8; 32]) -> StoreResult<Option<i64>>;
    /// One volunteer.
    async fn get_volunteer(&self, id: i64) -> StoreResult<Option<StoredVolunteer>>;
    /// Up to `limit` values of a sealed column that do not start with `current_prefix`
    /// (sealed under another key), for key rotation. Re-sealed values drop out of the
    /// answer, so calling again after [`Store::replace_sealed_values`] moves on.
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
    /// Appends an audit entry on its own (for reads, which change nothing else).
    async fn add_audit(&self, audit: &AuditEvent) -> StoreResult<()>;
    /// Audit entries about a subject, oldest first.
    async fn audit_events(&self, subject_kind: &str, subject_id: i64) -> StoreResult<Vec<AuditEvent>>;
    /// Stores a screen key's grant; its id.
    /// The key and its audit entry are written in one transaction; the entry's `detail`
    /// gains the new key's `screen_key_id`.
    async fn add_screen_key(&self, key: &crate::screen_keys::NewScreenKey, audit: &AuditEvent) -> StoreResult<i64>;
    /// A screen key by id.
    async fn screen_key(&self, id: i64) -> StoreResult<Option<crate::screen_keys::ScreenKeyRecord>>;
    /// An activity's screen keys, oldest first.
    async fn screen_keys(&self, activity_id: i64) -> StoreResult<Vec<crate::screen_keys::ScreenKeyRecord>>;
    /// Revokes a screen key with its audit entry, in one transaction; `None` (nothing
    /// written) if there is no such key or it was already revoked.
    async fn revoke_screen_key(
        &self,
        id: i64,
        by: i64,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> StoreResult<Option<crate::screen_keys::ScreenKeyRecord>>;
    /// Appends a consent decision (`detail_sealed`: who gave a guardian's consent).
    async fn add_consent(
        &self,
        volunteer_id: i64,
        consent: &ConsentRecord,
        detail_sealed: Option<&str>,
    ) -> StoreResult<()>;

    /// Stores a bearer token's hash for `principal`.
    async fn put_access_token(
        &self,
        hash: &TokenHash,
        principal: &Principal,
        at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Looks a token up by hash (expired ones too: the caller judges expiry by its clock;
    /// revoked ones never).
    async fn find_access_token(&self, hash: &TokenHash) -> StoreResult<Option<TokenGrant>>;
    /// A principal's unrevoked tokens (expired ones too), newest first.
    async fn list_access_tokens(&self, principal: &Principal) -> StoreResult<Vec<StoredSession>>;
    /// Makes a token a console session that ends after `idle_minutes` without use, last
    /// used `at`.
    async fn set_token_idle(&self, hash: &TokenHash, idle_minutes: u32, at: DateTime<Utc>) -> StoreResult<()>;
    /// Records that a console session was used `at` (never moving it back).
    async fn touch_access_token(&self, hash: &TokenHash, at: DateTime<Utc>) -> StoreResult<()>;
    /// Revokes a principal's tokens: those in `only`, or all when `only` is `None`.
    /// Returns the hashes revoked now.
    async fn revoke_access_tokens(
        &self,
        principal: &Principal,
        only: Option<&TokenHash>,
        at: DateTime<Utc>,
    ) -> StoreResult<Vec<TokenHash>>;

    /// Creates an activity from validated input.
    async fn create_activity(&self, new: &NewActivity, created_by: i64, at: DateTime<Utc>) -> StoreResult<Activity>;
    /// One activity.
    async fn get_activity(&self, id: i64) -> StoreResult<Option<Activity>>;
    /// Replaces an activity's editable fields (everything but its organisation and
    /// creator) with its audit entry, in one transaction; `None` if there is no such activity.
    async fn update_activity(
        &self,
        id: i64,
        changes: &NewActivity,
        audit: &AuditEvent,
    ) -> StoreResult<Option<Activity>>;

    /// Records a batch of scans in one transaction, committed before it returns. For each
    /// input, `true` if it was written, `false` if that volunteer had already used its nonce
    /// (the earlier scan stands; see [`Store::find_scan_answer`]).
    async fn insert_scans(&self, scans: &[NewScan]) -> StoreResult<Vec<bool>>;
    /// The answer recorded for a volunteer's nonce.
    async fn find_scan_answer(&self, volunteer_id: i64, nonce: Uuid) -> StoreResult<Option<StoredAnswer>>;
    /// Accepted scans of an activity (of one volunteer, if given), in server-time order.
    async fn accepted_scans(&self, activity_id: i64, volunteer_id: Option<i64>) -> StoreResult<Vec<AcceptedScan>>;
    /// The accepted scans of an activity recorded after `after` (every one for `None`),
    /// each with its number in its volunteer's order, and where to read from next time
    /// (`None`: from the start). It may return scans it returned before; it never skips
    /// one recorded after `after`, whatever order concurrent writers committed in. A live
    /// board keeps the activity's scans and reads only what is new (see
    /// `attendance::board`).
    async fn accepted_scans_after(
        &self,
        activity_id: i64,
        after: Option<ScanCursor>,
    ) -> StoreResult<(Vec<NumberedScan>, Option<ScanCursor>)>;
    /// How many scans (accepted and refused) a volunteer has made: for tests and audits.
    async fn count_scans(&self, volunteer_id: i64) -> StoreResult<i64>;
}

/// Where a reader of an activity's accepted scans got to, for
/// [`Store::accepted_scans_after`]. Each engine gives it its own meaning: on PostgreSQL the
/// oldest transaction still running when the scans were read (every transaction before it
/// had finished, so nothing older can still appear); on SQLite, whose one writer commits
/// in row order, the last row read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanCursor(pub i64);

/// An accepted scan and its number in its volunteer's order at the activity (1, 2, …).
#[derive(Debug, Clone)]
pub struct NumberedScan {
    /// The scan.
    pub scan: AcceptedScan,
    /// Its number: one more than the volunteer's previous accepted scan there.
    pub seq: u32,
}

/// A stored session (bearer token) as its owner may see it: never the token itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSession {
    /// The token's hash.
    pub hash: TokenHash,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// A console session's idle limit, minutes.
    pub idle_minutes: Option<u32>,
    /// A console session's last use.
    pub last_seen_at: Option<DateTime<Utc>>,
}

/// The owner column and id of a principal's tokens.
fn token_owner(principal: &Principal) -> (&'static str, i64) {
    match principal {
        Principal::Staff { id, .. } => ("staff_id", *id),
        Principal::Volunteer { id } => ("volunteer_id", *id),
    }
}

fn hash_from(bytes: Vec<u8>) -> StoreResult<TokenHash> {
    bytes.try_into().map_err(|_| corrupt("token hash"))
}

/// The up migrations of `migrator` whose versions are not in `applied`.
fn pending(migrator: &sqlx::migrate::Migrator, applied: &[i64]) -> Vec<i64> {
    migrator
        .iter()
        .filter(|m| !m.migration_type.is_down_migration() && !applied.contains(&m.version))
        .map(|m| m.version)
        .collect()
}

/// Opens the store a URL names: `postgres://…` / `postgresql://…`, or `sqlite:…`.
pub async fn connect(url: &str) -> StoreResult<Arc<dyn Store>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PostgresStore::connect(url).await?))
    } else if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect(url).await?))
    } else {
        Err(CoreError::Internal(format!(
            "unsupported database URL scheme in {:?}: use postgres:// or sqlite:",
            url.split(':').next().unwrap_or_default()
        )))
    }
}

/// How storage failed, without the driver's types: the domain needs to know only whether
/// a named unique constraint refused the write (to answer with its own code), whether the
/// database is unreachable right now (503: retry with the same nonce), or neither.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    /// A unique constraint refused the write: PostgreSQL's constraint name, or SQLite's
    /// message (which names the table and columns).
    #[error("storage conflict on {0}")]
    Conflict(String),
    /// Not reachable right now: lost connections, a closed or exhausted pool, connection
    /// failures, shutdown, serialization conflicts, a busy SQLite file.
    #[error("storage unavailable: {0}")]
    Outage(String),
    /// Anything else (logged, answered as `internal`).
    #[error("storage: {0}")]
    Other(String),
}

impl StorageError {
    /// Whether a unique constraint whose name (or SQLite message) contains `name` refused
    /// the write.
    pub fn is_conflict_on(&self, name: &str) -> bool {
        matches!(self, Self::Conflict(what) if what.contains(name))
    }
}

impl From<sqlx::Error> for StorageError {
    fn from(e: sqlx::Error) -> Self {
        let error = if let sqlx::Error::Database(db) = &e
            && db.kind() == sqlx::error::ErrorKind::UniqueViolation
        {
            Self::Conflict(db.constraint().map(str::to_owned).unwrap_or_else(|| db.message().to_owned()))
        } else if is_outage(&e) {
            Self::Outage(e.to_string())
        } else {
            Self::Other(e.to_string())
        };
        let kind = match error {
            Self::Conflict(_) => "conflict",
            Self::Outage(_) => "outage",
            Self::Other(_) => "other",
        };
        metrics::counter!(crate::metrics::STORAGE_ERRORS, "kind" => kind).increment(1);
        error
    }
}

impl From<sqlx::Error> for CoreError {
    fn from(e: sqlx::Error) -> Self {
        Self::Storage(e.into())
    }
}

impl From<sqlx::migrate::MigrateError> for CoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        Self::Storage(StorageError::Other(format!("migration: {e}")))
    }
}

/// Whether a driver error means "not reachable right now" rather than "this request is
/// wrong": lost connections, a closed or exhausted pool, and the SQLSTATE classes for
/// connection failures, shutdown and serialization conflicts (SQLite: busy, locked).
/// A full disk is one too (PostgreSQL's `disk_full`; SQLite's `SQLITE_FULL`, and its
/// I/O errors, which is how a write refused by the system shows): nothing about the
/// request is wrong, it can be retried with its nonce once there is space again.
fn is_outage(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(db) => {
            db.code().is_some_and(|c| {
                c.starts_with("08")
                    || c.starts_with("57P0")
                    || c == "40001"
                    || c == "40P01"
                    || c == "53300"
                    || c == "53100"
                    || c == "5"
                    || c == "6"
            }) || is_sqlite_out_of_space(db.as_ref())
        }
        _ => false,
    }
}

/// Whether SQLite failed to write: `SQLITE_FULL` (13) or any `SQLITE_IOERR` (10, with
/// its extended codes `10 + 256·n`). SQLite reports extended codes, and only SQLite's are
/// read so, since a numeric PostgreSQL SQLSTATE could share the low byte.
fn is_sqlite_out_of_space(db: &dyn sqlx::error::DatabaseError) -> bool {
    db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some()
        && db.code().and_then(|c| c.parse::<u32>().ok()).is_some_and(|code| matches!(code & 0xff, 10 | 13))
}

/// Maps a unique violation on the volunteer table to its refusal. PostgreSQL names the
/// constraint; SQLite names the column in its message. A taken volunteer number stays a
/// storage conflict (`volunteer_number`), for the caller to draw another.
fn volunteer_conflict(e: sqlx::Error) -> CoreError {
    let e = StorageError::from(e);
    if e.is_conflict_on("wechat_binding") {
        CoreError::code(ErrorCode::WechatAlreadyBound)
    } else if e.is_conflict_on("id_number") {
        CoreError::code(ErrorCode::IdNumberTaken)
    } else if e.is_conflict_on("phone") {
        CoreError::code(ErrorCode::PhoneTaken)
    } else {
        CoreError::Storage(e)
    }
}

fn skills_json(skills: &[String]) -> String {
    serde_json::to_string(skills).unwrap_or_else(|_| "[]".to_owned())
}

fn parse_skills(json: &str) -> StoreResult<Vec<String>> {
    serde_json::from_str(json).map_err(|_| corrupt("skills"))
}

/// Whether a driver error is a unique-constraint violation (both engines report it so).
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.kind() == sqlx::error::ErrorKind::UniqueViolation)
}

/// Parses a stored direction.
fn parse_direction(s: &str) -> StoreResult<Direction> {
    match s {
        "in" => Ok(Direction::In),
        "out" => Ok(Direction::Out),
        other => Err(CoreError::Internal(format!("stored direction {other:?}"))),
    }
}

/// The stored name of a direction.
fn direction_str(d: Direction) -> &'static str {
    match d {
        Direction::In => "in",
        Direction::Out => "out",
    }
}

fn corrupt(what: &str) -> CoreError {
    CoreError::Internal(format!("stored {what} does not parse"))
}

//! The store's contract: [`Store`], the supertrait of every area's narrow trait, which both
//! engines implement, and what the engines share about migrations and serialised writes.

use async_trait::async_trait;

use super::StoreResult;
use super::activities::ActivityStore;
use super::audit::AuditStore;
use super::calendar::CalendarStore;
use super::cancellations::CancellationStore;
use super::certificates::CertificateStore;
use super::corrections::CorrectionStore;
use super::exchange::ExchangeStore;
use super::notifications::NotificationStore;
use super::organisations::OrganisationStore;
use super::publicity::PublicityStore;
use super::record::RecordStore;
use super::register::RegisterStore;
use super::review::ReviewStore;
use super::scans::ScanStore;
use super::session_corrections::SessionCorrectionStore;
use super::sessions::SessionStore;
use super::signups::SignupStore;
use super::staff::StaffStore;
use super::stars::StarStore;
use super::time_bank::TimeBankStore;
use super::trainings::TrainingStore;
use super::volunteers::VolunteerStore;
use super::{my_hours, region_volunteers, retention, sms_code};

/// Everything Hourmark keeps, behind one interface: every area's trait, one a line (so areas
/// added in parallel merge without conflict), and the migrations.
#[async_trait]
pub trait Store:
    CertificateStore
    + ExchangeStore
    + StarStore
    + TimeBankStore
    + SignupStore
    + TrainingStore
    + CancellationStore
    + sms_code::SmsCodeStore
    + my_hours::MyHoursStore
    + region_volunteers::RegionVolunteerStore
    + CalendarStore
    + StaffStore
    + SessionStore
    + OrganisationStore
    + ActivityStore
    + VolunteerStore
    + CorrectionStore
    + ScanStore
    + ReviewStore
    + SessionCorrectionStore
    + RecordStore
    + NotificationStore
    + PublicityStore
    + RegisterStore
    + AuditStore
    + retention::RetentionStore
    + Send
    + Sync
    + std::fmt::Debug
{
    /// Applies pending migrations.
    async fn migrate(&self) -> StoreResult<()>;
    /// The versions of this build's migrations the database has not applied (empty when
    /// it is up to date). Fails when the database does not answer.
    async fn pending_migrations(&self) -> StoreResult<Vec<i64>>;
}

/// The up migrations of `migrator` whose versions are not in `applied`.
pub(crate) fn pending(migrator: &sqlx::migrate::Migrator, applied: &[i64]) -> Vec<i64> {
    migrator
        .iter()
        .filter(|m| !m.migration_type.is_down_migration() && !applied.contains(&m.version))
        .map(|m| m.version)
        .collect()
}

/// Writes that must not run two at a time, each in its own transaction until it ends
/// (an engine's `serialise`). PostgreSQL takes an advisory lock; SQLite's single writer
/// already runs one write transaction at a time.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Serialised {
    /// The first administrator's bootstrap: only one may be created.
    Bootstrap = 7_240_001,
    /// Appending to the register's hash chain.
    RegisterAppend = 7_240_002,
    /// Gathering an organisation's register entries into a report batch.
    ReportBatch = 7_240_003,
}

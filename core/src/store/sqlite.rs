//! The SQLite store: the embedded default, so Hourmark runs with no other service.
//!
//! SQLite allows one writer at a time, so every write goes through a pool of exactly one
//! connection (no `SQLITE_BUSY` storms under load) while reads use their own pool. The
//! database runs in WAL mode with `synchronous = FULL`: a commit is on disk before the
//! scan is acknowledged, and readers never block the writer. Times are stored as integer
//! milliseconds (UTC) so they order exactly.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous};
use sqlx::{QueryBuilder, Row, Sqlite, SqlitePool};
use uuid::Uuid;

mod cancellations;
mod certificates;
mod my_hours;
mod region_volunteers;
mod signups;
mod sms_code;
mod stars;
mod time_bank;
mod trainings;

use super::{
    AcceptedScan, NewScan, NumberedScan, ScanCursor, Store, StoreResult, StoredAnswer, StoredSession, corrupt,
    direction_str, hash_from, is_unique_violation, parse_direction, parse_skills, pending, skills_json, token_owner,
    volunteer_conflict,
};
use crate::activity::{Activity, CodeMode, NewActivity, ServiceCategory};
use crate::audit::AuditEvent;
use crate::calendar::{Overlay, OverlayKind, YearArrangement};
use crate::corrections::{CorrectionField, CorrectionRequest, CorrectionStatus, MyScan, VolunteerChange};
use crate::error::{CoreError, ErrorCode};
use crate::extra_fields::{ExtraField, ExtraFieldConsent};
use crate::geo::LatLng;
use crate::hourmark::StaffRecord;
use crate::identity::{
    Agency, ConsentPurpose, ConsentRecord, Gender, IdType, NewOrganisation, Organisation, OrganisationKind,
    OrganisationStatus, Principal, RecorderQualification, Staff, StaffRole, StoredVolunteer, TokenGrant, TokenHash,
    WeChatIdentity,
};
use crate::notification::{DeliveryOutcome, NewNotification, Notification, NotificationKind, PendingDelivery};
use crate::passkeys::{NewInvite, PasskeyRemoval, StaffAccount, StoredPasskey};
use crate::publicity::{
    BoardFilter, NewPublicity, NewRegisterEntry, Objection, ObjectionStatus, PublicityRow, PublicityStatus,
    RegisterGuard, RegisterKind, RegisterRow, Restart,
};
use crate::qualification::{NewQualificationEvent, QualificationEvent, QualificationEventKind};
use crate::reporting::{BatchStatus, ReportBatch};
use crate::review::correction::{CorrectionProposal, Decided, NewProposal, ProposalStatus, Proposed};
use crate::review::finalise::{
    Finalisation, FinalisedSession, LateEntry, LateEntryStatus, MinutesSource, NewLateEntry,
};
use crate::review::record::{
    Award, Complaint, ComplaintStatus, Evaluation, Grade, RecordSession, Satisfaction, Training,
};
use crate::review::rules::{Reviewer, RuleCode, ScanEvidence, Severity};
use crate::review::{Flag, FlagStatus, LeftOpenPolicy, NewFlag, ReviewSettings, ScanElsewhere, StoredScanEvidence};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");

/// SQLite with one writer connection and a small pool of readers.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    write: SqlitePool,
    read: SqlitePool,
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn from_ms(v: i64) -> StoreResult<DateTime<Utc>> {
    DateTime::from_timestamp_millis(v).ok_or_else(|| corrupt("timestamp"))
}

impl SqliteStore {
    /// Opens (creating the file and its folder if missing) the database a `sqlite:` URL names.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        if let Some(parent) = options.get_filename().parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent)
                .map_err(|e| CoreError::Internal(format!("cannot create {}: {e}", parent.display())))?;
        }
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            // A failed write can leave the driver and SQLite disagreeing about the open
            // transaction: SQLite rolls a transaction back by itself on some errors (an I/O
            // error, a full disk), the driver's rollback then fails, and it still counts the
            // transaction open. Its next `begin` would then be a savepoint and its `commit` a
            // release of it, inside a transaction that is never committed, while the caller
            // is told "committed": with the disk full for a moment, every scan after it was
            // acknowledged and lost. So a connection still in a transaction when it comes
            // back (after the ping that flushes a dropped transaction's rollback) is closed,
            // and the next write gets a fresh one.
            .after_release(|conn, _| {
                Box::pin(async move {
                    sqlx::Connection::ping(conn).await?;
                    Ok(!sqlx::Connection::is_in_transaction(conn))
                })
            })
            .connect_with(options.clone())
            .await?;
        let read = SqlitePoolOptions::new().max_connections(4).connect_with(options).await?;
        Ok(Self { write, read })
    }
}

/// The activity columns every query returns, as a literal so queries stay `&'static str`.
macro_rules! activity_columns {
    () => {
        "id, organisation_id, name, category, recipients, content, address, latitude, longitude, \
         radius_m, starts_at, ends_at, gates, code_mode, created_by"
    };
}

fn activity_from_row(row: &SqliteRow) -> StoreResult<Activity> {
    let gates: String = row.try_get("gates")?;
    Ok(Activity {
        id: row.try_get("id")?,
        organisation_id: row.try_get("organisation_id")?,
        name: row.try_get("name")?,
        category: ServiceCategory::parse(row.try_get("category")?).ok_or_else(|| corrupt("category"))?,
        recipients: row.try_get("recipients")?,
        content: row.try_get("content")?,
        address: row.try_get("address")?,
        location: LatLng { lat: row.try_get("latitude")?, lng: row.try_get("longitude")? },
        radius_m: u32::try_from(row.try_get::<i64, _>("radius_m")?).map_err(|_| corrupt("radius"))?,
        starts_at: from_ms(row.try_get("starts_at")?)?,
        ends_at: from_ms(row.try_get("ends_at")?)?,
        gates: serde_json::from_str(&gates).map_err(|_| corrupt("gates"))?,
        code_mode: CodeMode::parse(row.try_get("code_mode")?).ok_or_else(|| corrupt("code mode"))?,
        created_by: row.try_get("created_by")?,
        organisation_approved: row.try_get("organisation_approved")?,
    })
}

fn qualification_from_row(row: &SqliteRow) -> StoreResult<Option<crate::identity::RecorderQualification>> {
    let number: Option<String> = row.try_get("certificate_number")?;
    let Some(certificate_number) = number else { return Ok(None) };
    let date = |column: &str| -> StoreResult<chrono::NaiveDate> {
        let text: String = row.try_get(column)?;
        chrono::NaiveDate::parse_from_str(&text, "%Y-%m-%d").map_err(|_| corrupt("certificate date"))
    };
    Ok(Some(crate::identity::RecorderQualification {
        certificate_number,
        issued_on: date("certificate_issued_on")?,
        review_due_on: date("review_due_on")?,
    }))
}

fn staff_from_row(row: &SqliteRow) -> StoreResult<Staff> {
    Ok(Staff {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        login: row.try_get("login")?,
        role: StaffRole::parse(row.try_get("role")?).ok_or_else(|| corrupt("role"))?,
        organisation_id: row.try_get("organisation_id")?,
        region_code: row.try_get("region_code")?,
        agency: match row.try_get::<Option<String>, _>("agency")? {
            Some(a) => Some(Agency::parse(&a).ok_or_else(|| corrupt("agency"))?),
            None => None,
        },
        qualification: qualification_from_row(row)?,
    })
}

/// The qualification-history columns every query returns.
macro_rules! qualification_event_columns {
    () => {
        "id, staff_id, kind, reviewed_on, previous_certificate_number, previous_certificate_issued_on, \
         previous_review_due_on, certificate_number, certificate_issued_on, review_due_on, recorded_by, created_at"
    };
}

fn qualification_event_from_row(row: &SqliteRow) -> StoreResult<QualificationEvent> {
    let day = |column: &str| -> StoreResult<chrono::NaiveDate> { parse_day(&row.try_get::<String, _>(column)?) };
    let kind: String = row.try_get("kind")?;
    Ok(QualificationEvent {
        id: row.try_get("id")?,
        staff_id: row.try_get("staff_id")?,
        kind: QualificationEventKind::parse(&kind).ok_or_else(|| corrupt("qualification event kind"))?,
        reviewed_on: row.try_get::<Option<String>, _>("reviewed_on")?.as_deref().map(parse_day).transpose()?,
        previous: RecorderQualification {
            certificate_number: row.try_get("previous_certificate_number")?,
            issued_on: day("previous_certificate_issued_on")?,
            review_due_on: day("previous_review_due_on")?,
        },
        qualification: RecorderQualification {
            certificate_number: row.try_get("certificate_number")?,
            issued_on: day("certificate_issued_on")?,
            review_due_on: day("review_due_on")?,
        },
        recorded_by: row.try_get("recorded_by")?,
        recorded_at: from_ms(row.try_get("created_at")?)?,
    })
}

/// The staff columns every query returns.
macro_rules! staff_columns {
    () => {
        "id, name, login, role, organisation_id, region_code, certificate_number, certificate_issued_on, \
         review_due_on, webauthn_user_id, agency"
    };
}

fn account_from_row(row: &SqliteRow) -> StoreResult<StaffAccount> {
    Ok(StaffAccount { staff: staff_from_row(row)?, webauthn_user_id: row.try_get("webauthn_user_id")? })
}

/// Inserts a staff member and their first invite on a transaction.
async fn insert_staff(
    conn: &mut sqlx::SqliteConnection,
    staff: &StaffRecord<'_>,
    invite: &NewInvite,
) -> StoreResult<Staff> {
    let q = staff.qualification;
    let row = sqlx::query(concat!(
        r"insert into staff (name, login, role, organisation_id, region_code, certificate_number,
                             certificate_issued_on, review_due_on, webauthn_user_id, created_at, agency)
          values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
          returning ",
        staff_columns!()
    ))
    .bind(staff.name)
    .bind(staff.login)
    .bind(staff.role.as_str())
    .bind(staff.organisation_id)
    .bind(staff.region_code)
    .bind(q.map(|q| q.certificate_number.clone()))
    .bind(q.map(|q| q.issued_on.format("%Y-%m-%d").to_string()))
    .bind(q.map(|q| q.review_due_on.format("%Y-%m-%d").to_string()))
    .bind(staff.webauthn_user_id)
    .bind(ms(invite.created_at))
    .bind(staff.agency.map(Agency::as_str))
    .fetch_one(&mut *conn)
    .await?;
    let created = staff_from_row(&row)?;
    insert_invite(conn, created.id, invite).await?;
    Ok(created)
}

async fn insert_invite(conn: &mut sqlx::SqliteConnection, staff_id: i64, invite: &NewInvite) -> StoreResult<()> {
    sqlx::query(
        r"insert into staff_invite (token_hash, staff_id, created_by, created_at, expires_at) values (?1, ?2, ?3, ?4, ?5)",
    )
    .bind(invite.hash.as_slice())
    .bind(staff_id)
    .bind(invite.created_by)
    .bind(ms(invite.created_at))
    .bind(ms(invite.expires_at))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The correction-request columns every query returns.
macro_rules! correction_columns {
    () => {
        "id, volunteer_id, field, requested_value, reason, status, requested_at, decided_by, decided_at, \
         decision_reason"
    };
}

fn correction_from_row(row: &SqliteRow) -> StoreResult<CorrectionRequest> {
    Ok(CorrectionRequest {
        id: row.try_get("id")?,
        volunteer_id: row.try_get("volunteer_id")?,
        field: CorrectionField::parse(row.try_get("field")?).ok_or_else(|| corrupt("correction field"))?,
        requested_value: row.try_get("requested_value")?,
        reason: row.try_get("reason")?,
        status: CorrectionStatus::parse(row.try_get("status")?).ok_or_else(|| corrupt("correction status"))?,
        requested_at: from_ms(row.try_get("requested_at")?)?,
        decided_by: row.try_get("decided_by")?,
        decided_at: row.try_get::<Option<i64>, _>("decided_at")?.map(from_ms).transpose()?,
        decision_reason: row.try_get("decision_reason")?,
    })
}

/// Applies an accepted correction to the volunteer row, on a transaction.
async fn apply_volunteer_change(
    conn: &mut sqlx::SqliteConnection,
    volunteer_id: i64,
    change: &VolunteerChange,
) -> StoreResult<()> {
    let query = match change {
        VolunteerChange::Name(name) => {
            sqlx::query(r"update volunteer set name = ?2 where id = ?1").bind(volunteer_id).bind(name.clone())
        }
        VolunteerChange::Gender(gender) => sqlx::query(r"update volunteer set gender = ?2 where id = ?1")
            .bind(volunteer_id)
            .bind(i64::from(gender.code())),
        VolunteerChange::BirthMonth(month) => {
            sqlx::query(r"update volunteer set birth_month = ?2 where id = ?1").bind(volunteer_id).bind(month.clone())
        }
        VolunteerChange::Skills(skills) => {
            sqlx::query(r"update volunteer set skills = ?2 where id = ?1").bind(volunteer_id).bind(skills_json(skills))
        }
    };
    query.execute(&mut *conn).await?;
    Ok(())
}

/// The flag columns every query returns.
macro_rules! flag_columns {
    () => {
        "id, activity_id, volunteer_id, rule, severity, reviewer, local_day, evidence, explanation, raised_at, status, \
         resolved_by, resolved_at, resolution_reason, adjusted_minutes"
    };
}

fn severity_str(s: Severity) -> &'static str {
    match s {
        Severity::Low => "low",
        Severity::Medium => "medium",
        Severity::High => "high",
    }
}

fn reviewer_str(r: Reviewer) -> &'static str {
    match r {
        Reviewer::Organisation => "organisation",
        Reviewer::CivilAffairs => "civil_affairs",
    }
}

fn flag_from_row(row: &SqliteRow) -> StoreResult<Flag> {
    let rule: String = row.try_get("rule")?;
    let severity: String = row.try_get("severity")?;
    let reviewer: String = row.try_get("reviewer")?;
    let day: String = row.try_get("local_day")?;
    let evidence: String = row.try_get("evidence")?;
    let status: String = row.try_get("status")?;
    Ok(Flag {
        id: row.try_get("id")?,
        activity_id: row.try_get("activity_id")?,
        volunteer_id: row.try_get("volunteer_id")?,
        rule: RuleCode::parse(&rule).ok_or_else(|| corrupt("rule"))?,
        severity: match severity.as_str() {
            "low" => Severity::Low,
            "medium" => Severity::Medium,
            "high" => Severity::High,
            _ => return Err(corrupt("severity")),
        },
        reviewer: match reviewer.as_str() {
            "organisation" => Reviewer::Organisation,
            "civil_affairs" => Reviewer::CivilAffairs,
            _ => return Err(corrupt("reviewer")),
        },
        day: chrono::NaiveDate::parse_from_str(&day, "%Y-%m-%d").map_err(|_| corrupt("flag day"))?,
        evidence: serde_json::from_str(&evidence).map_err(|_| corrupt("flag evidence"))?,
        explanation: row.try_get("explanation")?,
        raised_at: from_ms(row.try_get("raised_at")?)?,
        status: FlagStatus::parse(&status).ok_or_else(|| corrupt("flag status"))?,
        resolved_by: row.try_get("resolved_by")?,
        resolved_at: row.try_get::<Option<i64>, _>("resolved_at")?.map(from_ms).transpose()?,
        resolution_reason: row.try_get("resolution_reason")?,
        adjusted_minutes: row.try_get::<Option<i64>, _>("adjusted_minutes")?.and_then(|m| u32::try_from(m).ok()),
    })
}

/// The late-entry columns every query returns.
macro_rules! late_entry_columns {
    () => {
        "id, activity_id, volunteer_id, local_day, minutes, evidence, reason, requested_by, requested_at, status, \
         decided_by, decision_reason"
    };
}

fn parse_day(text: &str) -> StoreResult<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| corrupt("day"))
}

fn late_entry_from_row(row: &SqliteRow) -> StoreResult<LateEntry> {
    let day: String = row.try_get("local_day")?;
    let status: String = row.try_get("status")?;
    Ok(LateEntry {
        id: row.try_get("id")?,
        activity_id: row.try_get("activity_id")?,
        volunteer_id: row.try_get("volunteer_id")?,
        day: parse_day(&day)?,
        minutes: u32::try_from(row.try_get::<i64, _>("minutes")?).map_err(|_| corrupt("minutes"))?,
        evidence: row.try_get("evidence")?,
        reason: row.try_get("reason")?,
        requested_by: row.try_get("requested_by")?,
        requested_at: from_ms(row.try_get("requested_at")?)?,
        status: LateEntryStatus::parse(&status).ok_or_else(|| corrupt("late entry status"))?,
        decided_by: row.try_get("decided_by")?,
        decision_reason: row.try_get("decision_reason")?,
    })
}

fn finalised_from_row(row: &SqliteRow) -> StoreResult<FinalisedSession> {
    let day: String = row.try_get("local_day")?;
    let source: String = row.try_get("source")?;
    let minutes = |column: &str| -> StoreResult<u32> {
        u32::try_from(row.try_get::<i64, _>(column)?).map_err(|_| corrupt("minutes"))
    };
    Ok(FinalisedSession {
        volunteer_id: row.try_get("volunteer_id")?,
        day: parse_day(&day)?,
        scan_minutes: minutes("scan_minutes")?,
        final_minutes: minutes("final_minutes")?,
        source: MinutesSource::parse(&source).ok_or_else(|| corrupt("minutes source"))?,
    })
}

/// The correction-proposal columns every query returns.
macro_rules! proposal_columns {
    () => {
        "id, activity_id, volunteer_id, local_day, from_minutes, to_minutes, reason, proposed_by, proposed_at, \
         status, decided_by, decided_at, decision_reason"
    };
}

fn proposal_from_row(row: &SqliteRow) -> StoreResult<CorrectionProposal> {
    let day: String = row.try_get("local_day")?;
    let status: String = row.try_get("status")?;
    let minutes = |column: &str| -> StoreResult<u32> {
        u32::try_from(row.try_get::<i64, _>(column)?).map_err(|_| corrupt("minutes"))
    };
    Ok(CorrectionProposal {
        id: row.try_get("id")?,
        activity_id: row.try_get("activity_id")?,
        volunteer_id: row.try_get("volunteer_id")?,
        day: parse_day(&day)?,
        from_minutes: minutes("from_minutes")?,
        to_minutes: minutes("to_minutes")?,
        reason: row.try_get("reason")?,
        proposed_by: row.try_get("proposed_by")?,
        proposed_at: from_ms(row.try_get("proposed_at")?)?,
        status: ProposalStatus::parse(&status).ok_or_else(|| corrupt("proposal status"))?,
        decided_by: row.try_get("decided_by")?,
        decided_at: row.try_get::<Option<i64>, _>("decided_at")?.map(from_ms).transpose()?,
        decision_reason: row.try_get("decision_reason")?,
    })
}

/// The evaluation columns every query returns.
macro_rules! evaluation_columns {
    () => {
        "activity_id, volunteer_id, grade, comment, evaluated_by, evaluated_at"
    };
}

fn evaluation_from_row(row: &SqliteRow) -> StoreResult<Evaluation> {
    let grade: String = row.try_get("grade")?;
    Ok(Evaluation {
        activity_id: row.try_get("activity_id")?,
        volunteer_id: row.try_get("volunteer_id")?,
        grade: Grade::parse(&grade).ok_or_else(|| corrupt("grade"))?,
        comment: row.try_get("comment")?,
        evaluated_by: row.try_get("evaluated_by")?,
        evaluated_at: from_ms(row.try_get("evaluated_at")?)?,
    })
}

/// The complaint columns every query returns (never the complainant).
macro_rules! complaint_columns {
    () => {
        "id, volunteer_id, organisation_id, activity_id, description, status, filed_by, filed_at, investigation, \
         decided_by, decision_reason"
    };
}

fn complaint_from_row(row: &SqliteRow) -> StoreResult<Complaint> {
    let status: String = row.try_get("status")?;
    Ok(Complaint {
        id: row.try_get("id")?,
        volunteer_id: row.try_get("volunteer_id")?,
        organisation_id: row.try_get("organisation_id")?,
        activity_id: row.try_get("activity_id")?,
        description: row.try_get("description")?,
        status: ComplaintStatus::parse(&status).ok_or_else(|| corrupt("complaint status"))?,
        filed_by: row.try_get("filed_by")?,
        filed_at: from_ms(row.try_get("filed_at")?)?,
        investigation: row.try_get("investigation")?,
        decided_by: row.try_get("decided_by")?,
        decision_reason: row.try_get("decision_reason")?,
    })
}

/// The publicity columns, with the activity's and organisation's names.
macro_rules! publicity_select {
    () => {
        "select p.id, p.activity_id, p.volunteer_id, p.local_day, p.minutes, p.published_on, p.working_days, \
         p.ends_on, p.status, a.name as activity_name, a.organisation_id, o.name as organisation_name, o.region_code, p.restart_reason, \
         exists (select 1 from objection j where j.publicity_entry_id = p.id and j.status = 'open') as objection_open \
         from publicity_entry p join activity a on a.id = p.activity_id join organisation o on o.id = a.organisation_id"
    };
}

fn publicity_from_row(row: &SqliteRow) -> StoreResult<PublicityRow> {
    let day: String = row.try_get("local_day")?;
    let published_on: String = row.try_get("published_on")?;
    let ends_on: Option<String> = row.try_get("ends_on")?;
    let status: String = row.try_get("status")?;
    let count = |column: &str| -> StoreResult<u32> {
        u32::try_from(row.try_get::<i64, _>(column)?).map_err(|_| corrupt("count"))
    };
    Ok(PublicityRow {
        id: row.try_get("id")?,
        activity_id: row.try_get("activity_id")?,
        volunteer_id: row.try_get("volunteer_id")?,
        day: parse_day(&day)?,
        minutes: count("minutes")?,
        published_on: parse_day(&published_on)?,
        working_days: count("working_days")?,
        ends_on: ends_on.as_deref().map(parse_day).transpose()?,
        status: PublicityStatus::parse(&status).ok_or_else(|| corrupt("publicity status"))?,
        objection_open: row.try_get("objection_open")?,
        activity_name: row.try_get("activity_name")?,
        organisation_id: row.try_get("organisation_id")?,
        organisation_name: row.try_get("organisation_name")?,
        region_code: row.try_get("region_code")?,
        restart_reason: row.try_get("restart_reason")?,
    })
}

/// The objection columns every query returns (never the contact).
macro_rules! objection_columns {
    () => {
        "id, publicity_entry_id, reason, status, raised_at, decided_by, decision_reason, corrected_minutes"
    };
}

fn objection_from_row(row: &SqliteRow) -> StoreResult<Objection> {
    let status: String = row.try_get("status")?;
    Ok(Objection {
        id: row.try_get("id")?,
        entry_id: row.try_get("publicity_entry_id")?,
        reason: row.try_get("reason")?,
        status: ObjectionStatus::parse(&status).ok_or_else(|| corrupt("objection status"))?,
        raised_at: from_ms(row.try_get("raised_at")?)?,
        decided_by: row.try_get("decided_by")?,
        decision_reason: row.try_get("decision_reason")?,
        corrected_minutes: row.try_get::<Option<i64>, _>("corrected_minutes")?.and_then(|m| u32::try_from(m).ok()),
    })
}

/// The register columns every query returns.
macro_rules! register_columns {
    () => {
        "seq, kind, publicity_entry_id, organisation_id, volunteer_id, minutes, content, previous_hash, hash"
    };
}

fn register_from_row(row: &SqliteRow) -> StoreResult<RegisterRow> {
    let kind: String = row.try_get("kind")?;
    Ok(RegisterRow {
        seq: row.try_get("seq")?,
        kind: RegisterKind::parse(&kind).ok_or_else(|| corrupt("register kind"))?,
        publicity_entry_id: row.try_get("publicity_entry_id")?,
        organisation_id: row.try_get("organisation_id")?,
        volunteer_id: row.try_get("volunteer_id")?,
        minutes: row.try_get::<i64, _>("minutes")?,
        content: row.try_get("content")?,
        previous_hash: row.try_get("previous_hash")?,
        hash: row.try_get("hash")?,
    })
}

/// The batch columns every query returns.
macro_rules! batch_columns {
    () => {
        "id, organisation_id, county_code, status, entries, minutes, submitted_by, submitted_at, decided_by, reason"
    };
}

fn batch_from_row(row: &SqliteRow) -> StoreResult<ReportBatch> {
    let status: String = row.try_get("status")?;
    Ok(ReportBatch {
        id: row.try_get("id")?,
        organisation_id: row.try_get("organisation_id")?,
        county_code: row.try_get("county_code")?,
        status: BatchStatus::parse(&status).ok_or_else(|| corrupt("batch status"))?,
        entries: u32::try_from(row.try_get::<i64, _>("entries")?).map_err(|_| corrupt("entries"))?,
        minutes: row.try_get::<i64, _>("minutes")?,
        submitted_by: row.try_get("submitted_by")?,
        submitted_at: from_ms(row.try_get("submitted_at")?)?,
        decided_by: row.try_get("decided_by")?,
        reason: row.try_get("reason")?,
    })
}

/// Sets a finalised session's minutes and records the correction (old and new minutes,
/// who, when, why) on a transaction; `None` if there is no such finalised session.
async fn correct_finalised(
    conn: &mut sqlx::SqliteConnection,
    (activity_id, volunteer_id, day): (i64, i64, chrono::NaiveDate),
    minutes: u32,
    reason: &str,
    (by, approved_by): (i64, Option<i64>),
    at: DateTime<Utc>,
) -> StoreResult<Option<FinalisedSession>> {
    let day = day.format("%Y-%m-%d").to_string();
    let old: Option<i64> = sqlx::query_scalar(
        r"select final_minutes from finalised_session where activity_id = ?1 and volunteer_id = ?2 and local_day = ?3",
    )
    .bind(activity_id)
    .bind(volunteer_id)
    .bind(&day)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(old) = old else { return Ok(None) };
    sqlx::query(
        r"insert into session_correction (activity_id, volunteer_id, local_day, old_minutes, new_minutes, reason,
                                          corrected_by, corrected_at, approved_by)
          values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )
    .bind(activity_id)
    .bind(volunteer_id)
    .bind(&day)
    .bind(old)
    .bind(i64::from(minutes))
    .bind(reason)
    .bind(by)
    .bind(ms(at))
    .bind(approved_by)
    .execute(&mut *conn)
    .await?;
    let row = sqlx::query(
        r"update finalised_session set final_minutes = ?4
          where activity_id = ?1 and volunteer_id = ?2 and local_day = ?3
          returning volunteer_id, local_day, scan_minutes, final_minutes, 'corrected' as source",
    )
    .bind(activity_id)
    .bind(volunteer_id)
    .bind(&day)
    .bind(i64::from(minutes))
    .fetch_one(&mut *conn)
    .await?;
    Ok(Some(finalised_from_row(&row)?))
}

/// Starts a publicity entry's period again with corrected minutes, on a connection. A
/// recorded entry starts again too: its register entry stands until the new period ends.
async fn restart_entry(conn: &mut sqlx::SqliteConnection, id: i64, restart: &Restart) -> StoreResult<bool> {
    let restarted = sqlx::query(
        r"update publicity_entry set minutes = ?2, published_on = ?3, ends_on = ?4, status = ?5, restart_reason = ?6
          where id = ?1",
    )
    .bind(id)
    .bind(i64::from(restart.minutes))
    .bind(restart.published_on.format("%Y-%m-%d").to_string())
    .bind(restart.ends_on.map(|d| d.format("%Y-%m-%d").to_string()))
    .bind(if restart.ends_on.is_some() { "in_publicity" } else { "held" })
    .bind(&restart.reason)
    .execute(&mut *conn)
    .await?;
    Ok(restarted.rows_affected() == 1)
}

fn organisation_from_row(row: &SqliteRow) -> StoreResult<Organisation> {
    Ok(Organisation {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        region_code: row.try_get("region_code")?,
        kind: OrganisationKind::parse(row.try_get("kind")?).ok_or_else(|| corrupt("organisation kind"))?,
        status: OrganisationStatus::parse(row.try_get("status")?).ok_or_else(|| corrupt("organisation status"))?,
    })
}

/// Appends an audit entry on a connection (inside the caller's transaction, if any).
macro_rules! screen_key_columns {
    () => {
        "id, activity_id, gate, direction, key_id, last_window, expires_at, issued_by, created_at, revoked_at, revoked_by"
    };
}

fn screen_key_from_row(row: &SqliteRow) -> StoreResult<crate::screen_keys::ScreenKeyRecord> {
    let direction: String = row.try_get("direction")?;
    let gate: i64 = row.try_get("gate")?;
    let key_id: i64 = row.try_get("key_id")?;
    let last_window: i64 = row.try_get("last_window")?;
    Ok(crate::screen_keys::ScreenKeyRecord {
        id: row.try_get("id")?,
        activity_id: row.try_get("activity_id")?,
        gate: u8::try_from(gate).map_err(|_| corrupt("screen key gate"))?,
        direction: crate::screen_keys::parse_direction_word(&direction)
            .ok_or_else(|| corrupt("screen key direction"))?,
        key_id: u8::try_from(key_id).map_err(|_| corrupt("screen key id"))?,
        last_window: u32::try_from(last_window).map_err(|_| corrupt("screen key window"))?,
        expires_at: from_ms(row.try_get("expires_at")?)?,
        issued_by: row.try_get("issued_by")?,
        created_at: from_ms(row.try_get("created_at")?)?,
        revoked_at: row.try_get::<Option<i64>, _>("revoked_at")?.map(from_ms).transpose()?,
        revoked_by: row.try_get("revoked_by")?,
    })
}

async fn insert_audit(conn: &mut sqlx::SqliteConnection, audit: &AuditEvent) -> StoreResult<()> {
    sqlx::query(
        r"insert into audit_event (at, actor_kind, actor_id, action, subject_kind, subject_id, detail)
          values (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .bind(ms(audit.at))
    .bind(&audit.actor_kind)
    .bind(audit.actor_id)
    .bind(&audit.action)
    .bind(&audit.subject_kind)
    .bind(audit.subject_id)
    .bind(audit.detail.to_string())
    .execute(conn)
    .await?;
    Ok(())
}

#[async_trait]
impl Store for SqliteStore {
    async fn migrate(&self) -> StoreResult<()> {
        MIGRATOR.run(&self.write).await.map_err(|e| CoreError::Internal(format!("migration failed: {e}")))
    }

    async fn pending_migrations(&self) -> StoreResult<Vec<i64>> {
        let applied: Vec<i64> =
            sqlx::query_scalar("select version from _sqlx_migrations where success").fetch_all(&self.read).await?;
        Ok(pending(&MIGRATOR, &applied))
    }

    async fn administrator_exists(&self) -> StoreResult<bool> {
        let row = sqlx::query(r"select exists (select 1 from staff where role = 'administrator') as present")
            .fetch_one(&self.read)
            .await?;
        Ok(row.try_get::<bool, _>("present")?)
    }

    async fn put_bootstrap_token(&self, hash: &TokenHash, at: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(r"insert into bootstrap_token (token_hash, created_at) values (?1, ?2)")
            .bind(hash.as_slice())
            .bind(ms(at))
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn redeem_bootstrap_token(
        &self,
        hash: &TokenHash,
        admin: &StaffRecord<'_>,
        invite: &NewInvite,
    ) -> StoreResult<Option<Staff>> {
        let at = invite.created_at;
        let mut tx = self.write.begin().await?;
        let spent = sqlx::query(
            r"update bootstrap_token set used_at = ?2
              where token_hash = ?1 and used_at is null
                and not exists (select 1 from staff where role = 'administrator')",
        )
        .bind(hash.as_slice())
        .bind(ms(at))
        .execute(&mut *tx)
        .await?;
        if spent.rows_affected() != 1 {
            return Ok(None);
        }
        let staff = insert_staff(&mut tx, admin, invite).await?;
        tx.commit().await?;
        Ok(Some(staff))
    }

    async fn create_organisation(
        &self,
        new: &NewOrganisation,
        status: OrganisationStatus,
        at: DateTime<Utc>,
    ) -> StoreResult<Organisation> {
        let row = sqlx::query(
            r"insert into organisation (name, region_code, kind, status, created_at) values (?1, ?2, ?3, ?4, ?5)
              returning id, name, region_code, kind, status",
        )
        .bind(&new.name)
        .bind(&new.region_code)
        .bind(new.kind.as_str())
        .bind(status.as_str())
        .bind(ms(at))
        .fetch_one(&self.write)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) { CoreError::code(ErrorCode::OrganisationNameTaken) } else { e.into() }
        })?;
        organisation_from_row(&row)
    }

    async fn create_organisation_audited(
        &self,
        new: &NewOrganisation,
        status: OrganisationStatus,
        staff_id: i64,
        reason: &str,
        audit: &AuditEvent,
    ) -> StoreResult<Organisation> {
        let mut tx = self.write.begin().await?;
        let row = sqlx::query(
            r"insert into organisation (name, region_code, kind, status, created_at) values (?1, ?2, ?3, ?4, ?5)
              returning id, name, region_code, kind, status",
        )
        .bind(&new.name)
        .bind(&new.region_code)
        .bind(new.kind.as_str())
        .bind(status.as_str())
        .bind(ms(audit.at))
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) { CoreError::code(ErrorCode::OrganisationNameTaken) } else { e.into() }
        })?;
        let organisation = organisation_from_row(&row)?;
        sqlx::query(
            r"insert into organisation_event (organisation_id, staff_id, action, reason, at) values (?1, ?2, ?3, ?4, ?5)",
        )
        .bind(organisation.id)
        .bind(staff_id)
        .bind(status.as_str())
        .bind(reason)
        .bind(ms(audit.at))
        .execute(&mut *tx)
        .await?;
        insert_audit(&mut tx, &AuditEvent { subject_id: Some(organisation.id), ..audit.clone() }).await?;
        tx.commit().await?;
        Ok(organisation)
    }

    async fn change_organisation_status(
        &self,
        id: i64,
        from: &[OrganisationStatus],
        to: OrganisationStatus,
        staff_id: i64,
        reason: Option<&str>,
        at: DateTime<Utc>,
    ) -> StoreResult<Option<Organisation>> {
        let mut tx = self.write.begin().await?;
        let current =
            sqlx::query(r"select status from organisation where id = ?1").bind(id).fetch_optional(&mut *tx).await?;
        let Some(current) = current else { return Ok(None) };
        let status =
            OrganisationStatus::parse(current.try_get("status")?).ok_or_else(|| corrupt("organisation status"))?;
        if !from.contains(&status) {
            return Ok(None);
        }
        let row = sqlx::query(
            r"update organisation set status = ?1 where id = ?2 and status = ?3
              returning id, name, region_code, kind, status",
        )
        .bind(to.as_str())
        .bind(id)
        .bind(status.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(None) };
        sqlx::query(
            r"insert into organisation_event (organisation_id, staff_id, action, reason, at) values (?1, ?2, ?3, ?4, ?5)",
        )
        .bind(id)
        .bind(staff_id)
        .bind(to.as_str())
        .bind(reason)
        .bind(ms(at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(organisation_from_row(&row)?))
    }

    async fn activity_ids_of(&self, organisation_id: i64) -> StoreResult<Vec<i64>> {
        let rows = sqlx::query(r"select id from activity where organisation_id = ?1 order by id")
            .bind(organisation_id)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(|r| Ok(r.try_get("id")?)).collect()
    }

    async fn get_organisation(&self, id: i64) -> StoreResult<Option<Organisation>> {
        let row = sqlx::query(r"select id, name, region_code, kind, status from organisation where id = ?1")
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(organisation_from_row).transpose()
    }

    async fn list_organisations(&self, status: Option<OrganisationStatus>) -> StoreResult<Vec<Organisation>> {
        let rows = sqlx::query(
            r"select id, name, region_code, kind, status from organisation where (?1 is null or status = ?1) order by id",
        )
        .bind(status.map(OrganisationStatus::as_str))
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(organisation_from_row).collect()
    }

    async fn get_staff(&self, id: i64) -> StoreResult<Option<Staff>> {
        let row = sqlx::query(concat!("select ", staff_columns!(), " from staff where id = ?1"))
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(staff_from_row).transpose()
    }

    async fn create_staff(
        &self,
        staff: &StaffRecord<'_>,
        invite: &NewInvite,
        _at: DateTime<Utc>,
    ) -> StoreResult<Staff> {
        let mut tx = self.write.begin().await?;
        let staff = insert_staff(&mut tx, staff, invite).await?;
        tx.commit().await?;
        Ok(staff)
    }

    async fn list_staff(&self) -> StoreResult<Vec<Staff>> {
        let rows =
            sqlx::query(concat!("select ", staff_columns!(), " from staff order by id")).fetch_all(&self.read).await?;
        rows.iter().map(staff_from_row).collect()
    }

    async fn record_qualification(
        &self,
        event: &NewQualificationEvent,
        audit: &AuditEvent,
    ) -> StoreResult<Option<QualificationEvent>> {
        let day = |d: chrono::NaiveDate| d.format("%Y-%m-%d").to_string();
        let (previous, next) = (&event.previous, &event.qualification);
        let mut tx = self.write.begin().await?;
        // Only if the certificate is still the one the change was computed from: two
        // officers recording the same review at once move the due date on once.
        let changed = sqlx::query(
            r"update staff set certificate_number = ?2, certificate_issued_on = ?3, review_due_on = ?4
              where id = ?1 and role = 'recorder'
                and certificate_number = ?5 and certificate_issued_on = ?6 and review_due_on = ?7",
        )
        .bind(event.staff_id)
        .bind(&next.certificate_number)
        .bind(day(next.issued_on))
        .bind(day(next.review_due_on))
        .bind(&previous.certificate_number)
        .bind(day(previous.issued_on))
        .bind(day(previous.review_due_on))
        .execute(&mut *tx)
        .await?;
        if changed.rows_affected() != 1 {
            return Ok(None);
        }
        let row = sqlx::query(concat!(
            r"insert into recorder_qualification_event (staff_id, kind, reviewed_on, previous_certificate_number,
                  previous_certificate_issued_on, previous_review_due_on, certificate_number, certificate_issued_on,
                  review_due_on, recorded_by, created_at)
              values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
              returning ",
            qualification_event_columns!()
        ))
        .bind(event.staff_id)
        .bind(event.kind.as_str())
        .bind(event.reviewed_on.map(day))
        .bind(&previous.certificate_number)
        .bind(day(previous.issued_on))
        .bind(day(previous.review_due_on))
        .bind(&next.certificate_number)
        .bind(day(next.issued_on))
        .bind(day(next.review_due_on))
        .bind(event.recorded_by)
        .bind(ms(event.at))
        .fetch_one(&mut *tx)
        .await?;
        let recorded = qualification_event_from_row(&row)?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(Some(recorded))
    }

    async fn qualification_history(&self, staff_id: i64) -> StoreResult<Vec<QualificationEvent>> {
        let rows = sqlx::query(concat!(
            "select ",
            qualification_event_columns!(),
            " from recorder_qualification_event where staff_id = ?1 order by id"
        ))
        .bind(staff_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(qualification_event_from_row).collect()
    }

    async fn assign_activity_leader(&self, activity_id: i64, staff_id: i64, at: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(
            r"insert into activity_leader (activity_id, staff_id, assigned_at) values (?1, ?2, ?3)
              on conflict (activity_id, staff_id) do nothing",
        )
        .bind(activity_id)
        .bind(staff_id)
        .bind(ms(at))
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn remove_activity_leader(&self, activity_id: i64, staff_id: i64) -> StoreResult<bool> {
        let removed = sqlx::query(r"delete from activity_leader where activity_id = ?1 and staff_id = ?2")
            .bind(activity_id)
            .bind(staff_id)
            .execute(&self.write)
            .await?;
        Ok(removed.rows_affected() == 1)
    }

    async fn is_activity_leader(&self, activity_id: i64, staff_id: i64) -> StoreResult<bool> {
        let row = sqlx::query(r"select 1 as one from activity_leader where activity_id = ?1 and staff_id = ?2")
            .bind(activity_id)
            .bind(staff_id)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.is_some())
    }

    async fn activity_leaders(&self, activity_id: i64) -> StoreResult<Vec<Staff>> {
        let rows = sqlx::query(concat!(
            "select ",
            staff_columns!(),
            " from staff where id in (select staff_id from activity_leader where activity_id = ?1) order by id"
        ))
        .bind(activity_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(staff_from_row).collect()
    }

    async fn volunteer_service_regions(&self, volunteer_id: i64) -> StoreResult<Vec<String>> {
        Ok(sqlx::query_scalar(
            r"select distinct o.region_code from scan s
              join activity a on a.id = s.activity_id
              join organisation o on o.id = a.organisation_id
              where s.volunteer_id = ?1 and s.direction is not null
              order by o.region_code",
        )
        .bind(volunteer_id)
        .fetch_all(&self.read)
        .await?)
    }

    async fn add_correction(
        &self,
        volunteer_id: i64,
        field: CorrectionField,
        requested_value: &str,
        reason: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<CorrectionRequest> {
        let row = sqlx::query(concat!(
            r"insert into correction_request (volunteer_id, field, requested_value, reason, requested_at)
              values (?1, ?2, ?3, ?4, ?5) returning ",
            correction_columns!()
        ))
        .bind(volunteer_id)
        .bind(field.as_str())
        .bind(requested_value)
        .bind(reason)
        .bind(ms(at))
        .fetch_one(&self.write)
        .await?;
        correction_from_row(&row)
    }

    async fn get_correction(&self, id: i64) -> StoreResult<Option<CorrectionRequest>> {
        let row = sqlx::query(concat!("select ", correction_columns!(), " from correction_request where id = ?1"))
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(correction_from_row).transpose()
    }

    async fn corrections_of(&self, volunteer_id: i64) -> StoreResult<Vec<CorrectionRequest>> {
        let rows = sqlx::query(concat!(
            "select ",
            correction_columns!(),
            " from correction_request where volunteer_id = ?1 order by requested_at, id"
        ))
        .bind(volunteer_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(correction_from_row).collect()
    }

    async fn open_corrections(&self) -> StoreResult<Vec<CorrectionRequest>> {
        let rows = sqlx::query(concat!(
            "select ",
            correction_columns!(),
            " from correction_request where status = 'open' order by requested_at, id limit 1000"
        ))
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(correction_from_row).collect()
    }

    async fn decide_correction(
        &self,
        id: i64,
        status: CorrectionStatus,
        decided_by: i64,
        reason: &str,
        at: DateTime<Utc>,
        change: Option<&VolunteerChange>,
        audit: &AuditEvent,
    ) -> StoreResult<Option<CorrectionRequest>> {
        let mut tx = self.write.begin().await?;
        let row = sqlx::query(concat!(
            r"update correction_request set status = ?2, decided_by = ?3, decision_reason = ?4, decided_at = ?5
              where id = ?1 and status = 'open' returning ",
            correction_columns!()
        ))
        .bind(id)
        .bind(status.as_str())
        .bind(decided_by)
        .bind(reason)
        .bind(ms(at))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let decided = correction_from_row(&row)?;
        if let Some(change) = change {
            apply_volunteer_change(&mut tx, decided.volunteer_id, change).await?;
        }
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(Some(decided))
    }

    async fn volunteer_scans(&self, volunteer_id: i64) -> StoreResult<Vec<MyScan>> {
        let rows = sqlx::query(
            r"select s.server_time, s.activity_id, a.name as activity_name, s.direction, s.outcome, s.geofence,
                     s.distance_m, s.device_id
              from scan s left join activity a on a.id = s.activity_id
              where s.volunteer_id = ?1 order by s.server_time, s.id",
        )
        .bind(volunteer_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(MyScan {
                    at: from_ms(row.try_get("server_time")?)?,
                    activity_id: row.try_get("activity_id")?,
                    activity_name: row.try_get("activity_name")?,
                    direction: row.try_get("direction")?,
                    outcome: row.try_get("outcome")?,
                    geofence: row.try_get("geofence")?,
                    distance_m: row.try_get("distance_m")?,
                    device_id: row.try_get("device_id")?,
                })
            })
            .collect()
    }

    async fn set_extra_field(
        &self,
        volunteer_id: i64,
        consent: &ExtraFieldConsent,
        sealed: Option<&str>,
    ) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        sqlx::query(
            r"insert into extra_field_consent (volunteer_id, field, granted, notice_version, recorded_at)
              values (?1, ?2, ?3, ?4, ?5)",
        )
        .bind(volunteer_id)
        .bind(consent.field.as_str())
        .bind(i64::from(consent.granted))
        .bind(&consent.notice_version)
        .bind(ms(consent.recorded_at))
        .execute(&mut *tx)
        .await?;
        match sealed {
            Some(sealed) => {
                sqlx::query(
                    r"insert into extra_field (volunteer_id, field, value_sealed, updated_at) values (?1, ?2, ?3, ?4)
                      on conflict (volunteer_id, field) do update set value_sealed = excluded.value_sealed,
                                                                      updated_at = excluded.updated_at",
                )
                .bind(volunteer_id)
                .bind(consent.field.as_str())
                .bind(sealed)
                .bind(ms(consent.recorded_at))
                .execute(&mut *tx)
                .await?;
            }
            None => {
                sqlx::query(r"delete from extra_field where volunteer_id = ?1 and field = ?2")
                    .bind(volunteer_id)
                    .bind(consent.field.as_str())
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn extra_fields(
        &self,
        volunteer_id: i64,
    ) -> StoreResult<(Vec<(ExtraField, String, DateTime<Utc>)>, Vec<ExtraFieldConsent>)> {
        let field = |row: &_| -> StoreResult<ExtraField> {
            let name: String = Row::try_get(row, "field")?;
            ExtraField::parse(&name).ok_or_else(|| corrupt("extra field"))
        };
        let rows = sqlx::query(
            r"select field, value_sealed, updated_at from extra_field where volunteer_id = ?1 order by field",
        )
        .bind(volunteer_id)
        .fetch_all(&self.read)
        .await?;
        let values = rows
            .iter()
            .map(|row| Ok((field(row)?, row.try_get("value_sealed")?, from_ms(row.try_get("updated_at")?)?)))
            .collect::<StoreResult<Vec<_>>>()?;
        let rows = sqlx::query(
            r"select field, granted, notice_version, recorded_at from extra_field_consent
              where volunteer_id = ?1 order by recorded_at, id",
        )
        .bind(volunteer_id)
        .fetch_all(&self.read)
        .await?;
        let consents = rows
            .iter()
            .map(|row| {
                Ok(ExtraFieldConsent {
                    field: field(row)?,
                    granted: row.try_get::<i64, _>("granted")? != 0,
                    notice_version: row.try_get("notice_version")?,
                    recorded_at: from_ms(row.try_get("recorded_at")?)?,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        Ok((values, consents))
    }

    async fn review_settings(&self, activity_id: i64) -> StoreResult<Option<ReviewSettings>> {
        let row = sqlx::query(r"select params, left_open_policy from activity_review_settings where activity_id = ?1")
            .bind(activity_id)
            .fetch_optional(&self.read)
            .await?;
        row.map(|row| {
            let params: String = row.try_get("params")?;
            let policy: String = row.try_get("left_open_policy")?;
            Ok(ReviewSettings {
                params: serde_json::from_str(&params).map_err(|_| corrupt("rule parameters"))?,
                left_open_policy: LeftOpenPolicy::parse(&policy).ok_or_else(|| corrupt("left-open policy"))?,
            })
        })
        .transpose()
    }

    async fn put_review_settings(
        &self,
        activity_id: i64,
        settings: &ReviewSettings,
        by: i64,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let params = serde_json::to_string(&settings.params).map_err(|e| CoreError::Internal(e.to_string()))?;
        sqlx::query(
            r"insert into activity_review_settings (activity_id, params, left_open_policy, updated_by, updated_at)
              values (?1, ?2, ?3, ?4, ?5)
              on conflict (activity_id) do update set params = excluded.params,
                  left_open_policy = excluded.left_open_policy, updated_by = excluded.updated_by,
                  updated_at = excluded.updated_at",
        )
        .bind(activity_id)
        .bind(params)
        .bind(settings.left_open_policy.as_str())
        .bind(by)
        .bind(ms(at))
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn raise_flags(&self, flags: &[NewFlag]) -> StoreResult<usize> {
        let mut tx = self.write.begin().await?;
        let mut raised = 0;
        for flag in flags {
            let f = &flag.finding;
            let done = sqlx::query(
                r"insert into review_flag (activity_id, volunteer_id, rule, severity, reviewer, local_day, dedupe_key,
                                           evidence, explanation, raised_at)
                  values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                  on conflict (activity_id, volunteer_id, rule, dedupe_key) do nothing",
            )
            .bind(flag.activity_id)
            .bind(f.volunteer_id)
            .bind(f.rule.as_str())
            .bind(severity_str(f.rule.severity()))
            .bind(reviewer_str(f.rule.reviewer()))
            .bind(f.day.format("%Y-%m-%d").to_string())
            .bind(&f.key)
            .bind(f.values.to_string())
            .bind(&f.explanation)
            .bind(ms(flag.raised_at))
            .execute(&mut *tx)
            .await?;
            raised += done.rows_affected() as usize;
        }
        tx.commit().await?;
        Ok(raised)
    }

    async fn flags(&self, activity_id: i64) -> StoreResult<Vec<Flag>> {
        let rows = sqlx::query(concat!(
            "select ",
            flag_columns!(),
            " from review_flag where activity_id = ?1 order by volunteer_id, local_day, id"
        ))
        .bind(activity_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(flag_from_row).collect()
    }

    async fn get_flag(&self, id: i64) -> StoreResult<Option<Flag>> {
        let row = sqlx::query(concat!("select ", flag_columns!(), " from review_flag where id = ?1"))
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(flag_from_row).transpose()
    }

    async fn resolve_flag(
        &self,
        id: i64,
        status: FlagStatus,
        by: i64,
        reason: &str,
        minutes: Option<u32>,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> StoreResult<Option<Flag>> {
        let mut tx = self.write.begin().await?;
        let row = sqlx::query(concat!(
            r"update review_flag set status = ?2, resolved_by = ?3, resolution_reason = ?4,
                                     adjusted_minutes = ?5, resolved_at = ?6
              where id = ?1 and status = 'open' returning ",
            flag_columns!()
        ))
        .bind(id)
        .bind(status.as_str())
        .bind(by)
        .bind(reason)
        .bind(minutes.map(i64::from))
        .bind(ms(at))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let flag = flag_from_row(&row)?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(Some(flag))
    }

    async fn scan_evidence(&self, activity_id: i64) -> StoreResult<Vec<StoredScanEvidence>> {
        let rows = sqlx::query(
            r"select s.id, s.volunteer_id, v.name, s.server_time, s.direction, s.outcome, s.client_time, s.code_window,
                     s.distance_m, s.accuracy_m, s.geofence, s.device_id, s.client_network, s.uploaded_at
              from scan s join volunteer v on v.id = s.volunteer_id
              where s.activity_id = ?1 order by s.server_time, s.id",
        )
        .bind(activity_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| {
                let direction: Option<String> = row.try_get("direction")?;
                let geofence: Option<String> = row.try_get("geofence")?;
                Ok(StoredScanEvidence {
                    evidence: ScanEvidence {
                        id: row.try_get("id")?,
                        volunteer_id: row.try_get("volunteer_id")?,
                        at: from_ms(row.try_get("server_time")?)?,
                        direction: direction.as_deref().map(parse_direction).transpose()?,
                        client_time: row.try_get::<Option<i64>, _>("client_time")?.map(from_ms).transpose()?,
                        uploaded_at: row.try_get::<Option<i64>, _>("uploaded_at")?.map(from_ms).transpose()?,
                        code_shown_at: None,
                        distance_m: row.try_get("distance_m")?,
                        accuracy_m: row.try_get("accuracy_m")?,
                        geofence: geofence.as_deref().and_then(crate::geo::Geofence::parse),
                        device_id: row.try_get("device_id")?,
                        network: row.try_get("client_network")?,
                    },
                    volunteer_name: row.try_get("name")?,
                    outcome: row.try_get("outcome")?,
                    code_window: row.try_get::<Option<i64>, _>("code_window")?.and_then(|w| u32::try_from(w).ok()),
                })
            })
            .collect()
    }

    async fn scans_elsewhere(&self, activity_id: i64) -> StoreResult<Vec<ScanElsewhere>> {
        let rows = sqlx::query(
            r"select s.volunteer_id, s.activity_id, a.latitude, a.longitude, a.starts_at, a.ends_at, s.server_time,
                     s.direction
              from scan s
              join activity a on a.id = s.activity_id
              join activity here on here.id = ?1
              where s.direction is not null and s.activity_id <> ?1
                and s.server_time between here.starts_at - 86400000 and here.ends_at + 86400000
                and s.volunteer_id in (select volunteer_id from scan where activity_id = ?1 and direction is not null)
              order by s.volunteer_id, s.activity_id, s.server_time",
        )
        .bind(activity_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| {
                let direction: String = row.try_get("direction")?;
                Ok(ScanElsewhere {
                    volunteer_id: row.try_get("volunteer_id")?,
                    activity_id: row.try_get("activity_id")?,
                    venue: LatLng { lat: row.try_get("latitude")?, lng: row.try_get("longitude")? },
                    schedule: crate::attendance::Schedule {
                        starts_at: from_ms(row.try_get("starts_at")?)?,
                        ends_at: from_ms(row.try_get("ends_at")?)?,
                    },
                    at: from_ms(row.try_get("server_time")?)?,
                    direction: parse_direction(&direction)?,
                })
            })
            .collect()
    }

    async fn served_with_organisation(&self, volunteer_id: i64, organisation_id: i64) -> StoreResult<bool> {
        let row = sqlx::query(
            r"select 1 as one where exists (
                  select 1 from scan s join activity a on a.id = s.activity_id
                  where s.volunteer_id = ?1 and a.organisation_id = ?2 and s.direction is not null)
              or exists (
                  select 1 from late_entry l join activity a on a.id = l.activity_id
                  where l.volunteer_id = ?1 and a.organisation_id = ?2 and l.status = 'approved')",
        )
        .bind(volunteer_id)
        .bind(organisation_id)
        .fetch_optional(&self.read)
        .await?;
        Ok(row.is_some())
    }

    async fn is_closed(&self, activity_id: i64) -> StoreResult<bool> {
        let row = sqlx::query(r"select 1 as one from activity_closure where activity_id = ?1")
            .bind(activity_id)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.is_some())
    }

    async fn is_finalised(&self, activity_id: i64) -> StoreResult<bool> {
        let row = sqlx::query(r"select 1 as one from activity_finalisation where activity_id = ?1")
            .bind(activity_id)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.is_some())
    }

    async fn activities_to_close(&self, cutoff: DateTime<Utc>, limit: i64) -> StoreResult<Vec<i64>> {
        Ok(sqlx::query_scalar(
            r"select a.id from activity a
              where a.ends_at < ?1 and not exists (select 1 from activity_closure c where c.activity_id = a.id)
              order by a.ends_at, a.id limit ?2",
        )
        .bind(ms(cutoff))
        .bind(limit)
        .fetch_all(&self.read)
        .await?)
    }

    async fn mark_closed(&self, activity_id: i64, at: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(r"insert into activity_closure (activity_id, closed_at) values (?1, ?2) on conflict do nothing")
            .bind(activity_id)
            .bind(ms(at))
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn add_notifications(&self, notifications: &[NewNotification], now: DateTime<Utc>) -> StoreResult<()> {
        if notifications.is_empty() {
            return Ok(());
        }
        let mut tx = self.write.begin().await?;
        for n in notifications {
            let id: Option<i64> = sqlx::query_scalar(
                r"insert into notification (volunteer_id, dedupe_key, body, created_at, kind, data)
                  values (?1, ?2, ?3, ?4, ?5, ?6)
                  on conflict (volunteer_id, dedupe_key) do nothing returning id",
            )
            .bind(n.volunteer_id)
            .bind(&n.key)
            .bind(&n.body)
            .bind(ms(n.created_at))
            .bind(n.kind.as_str())
            .bind(n.data.to_string())
            .fetch_optional(&mut *tx)
            .await?;
            if let (Some(id), true) = (id, n.push) {
                sqlx::query(r"insert into wechat_delivery (notification_id, next_attempt_at) values (?1, ?2)")
                    .bind(id)
                    .bind(ms(now))
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn notifications(&self, volunteer_id: i64, unread_only: bool) -> StoreResult<Vec<Notification>> {
        let rows = sqlx::query(
            r"select id, kind, body, data, created_at, read_at from notification
              where volunteer_id = ?1 and (not ?2 or read_at is null)
              order by created_at desc, id desc limit 100",
        )
        .bind(volunteer_id)
        .bind(unread_only)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| {
                let kind: String = row.try_get("kind")?;
                let data: String = row.try_get("data")?;
                Ok(Notification {
                    id: row.try_get("id")?,
                    kind: NotificationKind::parse(&kind).ok_or_else(|| corrupt("notification kind"))?,
                    body: row.try_get("body")?,
                    data: serde_json::from_str(&data).map_err(|_| corrupt("notification data"))?,
                    created_at: from_ms(row.try_get("created_at")?)?,
                    read_at: row.try_get::<Option<i64>, _>("read_at")?.map(from_ms).transpose()?,
                })
            })
            .collect()
    }

    async fn mark_notifications_read(
        &self,
        volunteer_id: i64,
        ids: Option<&[i64]>,
        at: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let mut query: QueryBuilder<Sqlite> = QueryBuilder::new("update notification set read_at = ");
        query.push_bind(ms(at)).push(" where volunteer_id = ").push_bind(volunteer_id).push(" and read_at is null");
        if let Some(ids) = ids {
            query.push(" and id in (");
            let mut list = query.separated(", ");
            for id in ids {
                list.push_bind(*id);
            }
            list.push_unseparated(")");
        }
        Ok(query.build().execute(&self.write).await?.rows_affected())
    }

    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<PendingDelivery>> {
        // SQLite's single writer makes the claim exclusive.
        let mut tx = self.write.begin().await?;
        let claimed: Vec<(i64, i64)> = sqlx::query_as(
            r"update wechat_delivery set next_attempt_at = ?2
              where notification_id in (
                  select notification_id from wechat_delivery
                  where status = 'pending' and next_attempt_at <= ?1
                  order by next_attempt_at limit ?3)
              returning notification_id, attempts",
        )
        .bind(ms(now))
        .bind(ms(lease_until))
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        let mut out = Vec::with_capacity(claimed.len());
        for (notification_id, attempts) in claimed {
            let row = sqlx::query(
                r"select n.kind, n.body, n.data, w.openid
                  from notification n left join wechat_binding w on w.volunteer_id = n.volunteer_id
                  where n.id = ?1",
            )
            .bind(notification_id)
            .fetch_one(&mut *tx)
            .await?;
            let kind: String = row.try_get("kind")?;
            let data: String = row.try_get("data")?;
            out.push(PendingDelivery {
                notification_id,
                openid: row.try_get("openid")?,
                kind: NotificationKind::parse(&kind).ok_or_else(|| corrupt("notification kind"))?,
                body: row.try_get("body")?,
                data: serde_json::from_str(&data).map_err(|_| corrupt("notification data"))?,
                attempts: u32::try_from(attempts).map_err(|_| corrupt("attempts"))?,
            });
        }
        tx.commit().await?;
        out.sort_by_key(|d| d.notification_id);
        Ok(out)
    }

    async fn finish_delivery(
        &self,
        notification_id: i64,
        outcome: &DeliveryOutcome,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let (status, next, error): (&str, Option<DateTime<Utc>>, Option<&str>) = match outcome {
            DeliveryOutcome::Sent => ("sent", None, None),
            DeliveryOutcome::Skipped(why) => ("skipped", None, Some(why)),
            DeliveryOutcome::Retry(when, why) => ("pending", Some(*when), Some(why)),
            DeliveryOutcome::Failed(why) => ("failed", None, Some(why)),
        };
        sqlx::query(
            r"update wechat_delivery
              set status = ?2, attempts = attempts + case when ?2 = 'skipped' then 0 else 1 end,
                  next_attempt_at = coalesce(?3, next_attempt_at), last_error = ?4,
                  finished_at = case when ?2 = 'pending' then null else ?5 end
              where notification_id = ?1 and status = 'pending'",
        )
        .bind(notification_id)
        .bind(status)
        .bind(next.map(ms))
        .bind(error)
        .bind(ms(at))
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn add_late_entry(
        &self,
        activity_id: i64,
        new: &NewLateEntry,
        evidence: &str,
        reason: &str,
        by: i64,
        at: DateTime<Utc>,
    ) -> StoreResult<LateEntry> {
        let row = sqlx::query(concat!(
            r"insert into late_entry (activity_id, volunteer_id, local_day, minutes, evidence, reason, requested_by,
                                      requested_at)
              values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) returning ",
            late_entry_columns!()
        ))
        .bind(activity_id)
        .bind(new.volunteer_id)
        .bind(new.day.format("%Y-%m-%d").to_string())
        .bind(i64::from(new.minutes))
        .bind(evidence)
        .bind(reason)
        .bind(by)
        .bind(ms(at))
        .fetch_one(&self.write)
        .await?;
        late_entry_from_row(&row)
    }

    async fn late_entries(&self, activity_id: i64) -> StoreResult<Vec<LateEntry>> {
        let rows = sqlx::query(concat!(
            "select ",
            late_entry_columns!(),
            " from late_entry where activity_id = ?1 order by id"
        ))
        .bind(activity_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(late_entry_from_row).collect()
    }

    async fn decide_late_entry(
        &self,
        id: i64,
        status: LateEntryStatus,
        by: i64,
        reason: &str,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> StoreResult<Option<LateEntry>> {
        let mut tx = self.write.begin().await?;
        let row = sqlx::query(concat!(
            r"update late_entry set status = ?2, decided_by = ?3, decision_reason = ?4, decided_at = ?5
              where id = ?1 and status = 'open' returning ",
            late_entry_columns!()
        ))
        .bind(id)
        .bind(status.as_str())
        .bind(by)
        .bind(reason)
        .bind(ms(at))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let entry = late_entry_from_row(&row)?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(Some(entry))
    }

    async fn finalise(
        &self,
        activity_id: i64,
        by: i64,
        at: DateTime<Utc>,
        sessions: &[FinalisedSession],
        publicity: &[NewPublicity],
        audit: &AuditEvent,
    ) -> StoreResult<bool> {
        let mut tx = self.write.begin().await?;
        let done = sqlx::query(
            r"insert into activity_finalisation (activity_id, finalised_by, finalised_at) values (?1, ?2, ?3)
              on conflict do nothing",
        )
        .bind(activity_id)
        .bind(by)
        .bind(ms(at))
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        for s in sessions {
            sqlx::query(
                r"insert into finalised_session (activity_id, volunteer_id, local_day, scan_minutes, final_minutes, source)
                  values (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .bind(activity_id)
            .bind(s.volunteer_id)
            .bind(s.day.format("%Y-%m-%d").to_string())
            .bind(i64::from(s.scan_minutes))
            .bind(i64::from(s.final_minutes))
            .bind(s.source.as_str())
            .execute(&mut *tx)
            .await?;
        }
        for p in publicity {
            sqlx::query(
                r"insert into publicity_entry (activity_id, volunteer_id, local_day, minutes, published_on, working_days,
                                               ends_on, status, created_at)
                  values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )
            .bind(activity_id)
            .bind(p.volunteer_id)
            .bind(p.day.format("%Y-%m-%d").to_string())
            .bind(i64::from(p.minutes))
            .bind(p.published_on.format("%Y-%m-%d").to_string())
            .bind(i64::from(p.working_days))
            .bind(p.ends_on.map(|d| d.format("%Y-%m-%d").to_string()))
            .bind(if p.ends_on.is_some() { "in_publicity" } else { "held" })
            .bind(ms(at))
            .execute(&mut *tx)
            .await?;
        }
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn finalisation(&self, activity_id: i64) -> StoreResult<Option<Finalisation>> {
        let Some(row) =
            sqlx::query(r"select finalised_by, finalised_at from activity_finalisation where activity_id = ?1")
                .bind(activity_id)
                .fetch_optional(&self.read)
                .await?
        else {
            return Ok(None);
        };
        let (finalised_by, finalised_at) = (row.try_get("finalised_by")?, from_ms(row.try_get("finalised_at")?)?);
        let rows = sqlx::query(
            r"select f.volunteer_id, f.local_day, f.scan_minutes, f.final_minutes,
                     case when exists (select 1 from session_correction c where c.activity_id = f.activity_id
                                       and c.volunteer_id = f.volunteer_id and c.local_day = f.local_day)
                          then 'corrected' else f.source end as source
              from finalised_session f
              where f.activity_id = ?1 order by f.volunteer_id, f.local_day",
        )
        .bind(activity_id)
        .fetch_all(&self.read)
        .await?;
        let sessions = rows.iter().map(finalised_from_row).collect::<StoreResult<Vec<_>>>()?;
        Ok(Some(Finalisation { activity_id, finalised_by, finalised_at, sessions }))
    }

    async fn propose_session_correction(&self, proposal: &NewProposal, audit: &AuditEvent) -> StoreResult<Proposed> {
        let mut tx = self.write.begin().await?;
        let day = proposal.day.format("%Y-%m-%d").to_string();
        let current: Option<i64> = sqlx::query_scalar(
            r"select final_minutes from finalised_session where activity_id = ?1 and volunteer_id = ?2 and local_day = ?3",
        )
        .bind(proposal.activity_id)
        .bind(proposal.volunteer_id)
        .bind(&day)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(current) = current else { return Ok(Proposed::NoSession) };
        let row = sqlx::query(concat!(
            r"insert into session_correction_proposal (activity_id, volunteer_id, local_day, from_minutes, to_minutes,
                                                      reason, proposed_by, proposed_at)
              values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
              on conflict do nothing returning ",
            proposal_columns!()
        ))
        .bind(proposal.activity_id)
        .bind(proposal.volunteer_id)
        .bind(&day)
        .bind(current)
        .bind(i64::from(proposal.to_minutes))
        .bind(&proposal.reason)
        .bind(proposal.proposed_by)
        .bind(ms(proposal.at))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(Proposed::Pending) };
        let stored = proposal_from_row(&row)?;
        let mut audit = audit.clone();
        audit.detail["from_minutes"] = stored.from_minutes.into();
        audit.detail["proposal_id"] = stored.id.into();
        insert_audit(&mut tx, &audit).await?;
        tx.commit().await?;
        Ok(Proposed::Open(stored))
    }

    async fn session_correction_proposals(&self, activity_id: i64) -> StoreResult<Vec<CorrectionProposal>> {
        let rows = sqlx::query(concat!(
            "select ",
            proposal_columns!(),
            " from session_correction_proposal where activity_id = ?1 order by id"
        ))
        .bind(activity_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(proposal_from_row).collect()
    }

    async fn decide_session_correction(
        &self,
        id: i64,
        approve: bool,
        by: i64,
        reason: &str,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> StoreResult<Decided> {
        let mut tx = self.write.begin().await?;
        let row =
            sqlx::query(concat!("select ", proposal_columns!(), " from session_correction_proposal where id = ?1"))
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(row) = row else { return Ok(Decided::NotFound) };
        let proposal = proposal_from_row(&row)?;
        if proposal.status != ProposalStatus::Proposed {
            return Ok(Decided::AlreadyDecided);
        }
        let corrected = if approve {
            let session = (proposal.activity_id, proposal.volunteer_id, proposal.day);
            let current: Option<i64> = sqlx::query_scalar(
                r"select final_minutes from finalised_session
                  where activity_id = ?1 and volunteer_id = ?2 and local_day = ?3",
            )
            .bind(session.0)
            .bind(session.1)
            .bind(proposal.day.format("%Y-%m-%d").to_string())
            .fetch_optional(&mut *tx)
            .await?;
            if current.and_then(|m| u32::try_from(m).ok()) != Some(proposal.from_minutes) {
                return Ok(Decided::Stale);
            }
            let who = (proposal.proposed_by, Some(by));
            correct_finalised(&mut tx, session, proposal.to_minutes, &proposal.reason, who, at).await?
        } else {
            None
        };
        let row = sqlx::query(concat!(
            r"update session_correction_proposal set status = ?2, decided_by = ?3, decided_at = ?4, decision_reason = ?5
              where id = ?1 returning ",
            proposal_columns!()
        ))
        .bind(id)
        .bind(if approve { "approved" } else { "rejected" })
        .bind(by)
        .bind(ms(at))
        .bind(reason)
        .fetch_one(&mut *tx)
        .await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(Decided::Done(proposal_from_row(&row)?, corrected))
    }

    async fn put_evaluation(&self, evaluation: &Evaluation, audit: &AuditEvent) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        sqlx::query(
            r"insert into evaluation (activity_id, volunteer_id, grade, comment, evaluated_by, evaluated_at)
              values (?1, ?2, ?3, ?4, ?5, ?6)
              on conflict (activity_id, volunteer_id) do update set grade = excluded.grade, comment = excluded.comment,
                  evaluated_by = excluded.evaluated_by, evaluated_at = excluded.evaluated_at",
        )
        .bind(evaluation.activity_id)
        .bind(evaluation.volunteer_id)
        .bind(evaluation.grade.as_str())
        .bind(&evaluation.comment)
        .bind(evaluation.evaluated_by)
        .bind(ms(evaluation.evaluated_at))
        .execute(&mut *tx)
        .await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn evaluations(&self, activity_id: i64) -> StoreResult<Vec<Evaluation>> {
        let rows = sqlx::query(concat!(
            "select ",
            evaluation_columns!(),
            " from evaluation where activity_id = ?1 order by volunteer_id"
        ))
        .bind(activity_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(evaluation_from_row).collect()
    }

    async fn evaluations_of(&self, volunteer_id: i64) -> StoreResult<Vec<Evaluation>> {
        let rows = sqlx::query(concat!(
            "select ",
            evaluation_columns!(),
            " from evaluation where volunteer_id = ?1 order by activity_id"
        ))
        .bind(volunteer_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(evaluation_from_row).collect()
    }

    async fn put_satisfaction(
        &self,
        activity_id: i64,
        satisfaction: &Satisfaction,
        by: i64,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            r"insert into recipient_satisfaction (activity_id, score, respondents, comment, recorded_by, recorded_at)
              values (?1, ?2, ?3, ?4, ?5, ?6)
              on conflict (activity_id) do update set score = excluded.score, respondents = excluded.respondents,
                  comment = excluded.comment, recorded_by = excluded.recorded_by, recorded_at = excluded.recorded_at",
        )
        .bind(activity_id)
        .bind(i64::from(satisfaction.score))
        .bind(i64::from(satisfaction.respondents))
        .bind(&satisfaction.comment)
        .bind(by)
        .bind(ms(at))
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn add_complaint(
        &self,
        volunteer_id: i64,
        organisation_id: i64,
        activity_id: Option<i64>,
        complainant_sealed: &str,
        description: &str,
        by: i64,
        at: DateTime<Utc>,
    ) -> StoreResult<Complaint> {
        let row = sqlx::query(concat!(
            r"insert into complaint (volunteer_id, organisation_id, activity_id, complainant_sealed, description,
                                     filed_by, filed_at)
              values (?1, ?2, ?3, ?4, ?5, ?6, ?7) returning ",
            complaint_columns!()
        ))
        .bind(volunteer_id)
        .bind(organisation_id)
        .bind(activity_id)
        .bind(complainant_sealed)
        .bind(description)
        .bind(by)
        .bind(ms(at))
        .fetch_one(&self.write)
        .await?;
        complaint_from_row(&row)
    }

    async fn get_complaint(&self, id: i64) -> StoreResult<Option<Complaint>> {
        let row = sqlx::query(concat!("select ", complaint_columns!(), " from complaint where id = ?1"))
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(complaint_from_row).transpose()
    }

    async fn complaint_step(
        &self,
        id: i64,
        from: &[ComplaintStatus],
        to: ComplaintStatus,
        by: i64,
        text: &str,
        at: DateTime<Utc>,
        audit: Option<&AuditEvent>,
    ) -> StoreResult<Option<Complaint>> {
        let mut tx = self.write.begin().await?;
        let current: Option<String> =
            sqlx::query_scalar(r"select status from complaint where id = ?1").bind(id).fetch_optional(&mut *tx).await?;
        let Some(current) = current.as_deref().and_then(ComplaintStatus::parse).filter(|s| from.contains(s)) else {
            return Ok(None);
        };
        let query = if to == ComplaintStatus::Investigating {
            sqlx::query(concat!(
                r"update complaint set status = ?2, investigation = ?3 where id = ?1 and status = ?4 returning ",
                complaint_columns!()
            ))
            .bind(id)
            .bind(to.as_str())
            .bind(text)
            .bind(current.as_str())
        } else {
            sqlx::query(concat!(
                r"update complaint set status = ?2, decision_reason = ?3, decided_by = ?4, decided_at = ?5
                  where id = ?1 and status = ?6 returning ",
                complaint_columns!()
            ))
            .bind(id)
            .bind(to.as_str())
            .bind(text)
            .bind(by)
            .bind(ms(at))
            .bind(current.as_str())
        };
        let Some(row) = query.fetch_optional(&mut *tx).await? else { return Ok(None) };
        let complaint = complaint_from_row(&row)?;
        if let Some(audit) = audit {
            insert_audit(&mut tx, audit).await?;
        }
        tx.commit().await?;
        Ok(Some(complaint))
    }

    async fn complaints_of(&self, volunteer_id: i64) -> StoreResult<Vec<Complaint>> {
        let rows = sqlx::query(concat!(
            "select ",
            complaint_columns!(),
            " from complaint where volunteer_id = ?1 order by id"
        ))
        .bind(volunteer_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(complaint_from_row).collect()
    }

    async fn add_training(
        &self,
        volunteer_id: i64,
        organisation_id: i64,
        title: &str,
        held_on: chrono::NaiveDate,
        hours: u32,
        by: i64,
        at: DateTime<Utc>,
    ) -> StoreResult<Training> {
        let id: i64 = sqlx::query_scalar(
            r"insert into training (volunteer_id, organisation_id, title, held_on, hours, recorded_by, recorded_at)
              values (?1, ?2, ?3, ?4, ?5, ?6, ?7) returning id",
        )
        .bind(volunteer_id)
        .bind(organisation_id)
        .bind(title)
        .bind(held_on.format("%Y-%m-%d").to_string())
        .bind(i64::from(hours))
        .bind(by)
        .bind(ms(at))
        .fetch_one(&self.write)
        .await?;
        Ok(Training { id, volunteer_id, organisation_id, title: title.to_owned(), held_on, hours })
    }

    async fn trainings_of(&self, volunteer_id: i64) -> StoreResult<Vec<Training>> {
        let rows = sqlx::query(
            r"select id, volunteer_id, organisation_id, title, held_on, hours from training
              where volunteer_id = ?1 order by held_on, id",
        )
        .bind(volunteer_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| {
                let held_on: String = row.try_get("held_on")?;
                Ok(Training {
                    id: row.try_get("id")?,
                    volunteer_id: row.try_get("volunteer_id")?,
                    organisation_id: row.try_get("organisation_id")?,
                    title: row.try_get("title")?,
                    held_on: parse_day(&held_on)?,
                    hours: u32::try_from(row.try_get::<i64, _>("hours")?).map_err(|_| corrupt("hours"))?,
                })
            })
            .collect()
    }

    async fn add_award(
        &self,
        volunteer_id: i64,
        organisation_id: i64,
        title: &str,
        awarded_by: &str,
        awarded_on: chrono::NaiveDate,
        by: i64,
        at: DateTime<Utc>,
    ) -> StoreResult<Award> {
        let id: i64 = sqlx::query_scalar(
            r"insert into award (volunteer_id, organisation_id, title, awarded_by, awarded_on, recorded_by, recorded_at)
              values (?1, ?2, ?3, ?4, ?5, ?6, ?7) returning id",
        )
        .bind(volunteer_id)
        .bind(organisation_id)
        .bind(title)
        .bind(awarded_by)
        .bind(awarded_on.format("%Y-%m-%d").to_string())
        .bind(by)
        .bind(ms(at))
        .fetch_one(&self.write)
        .await?;
        Ok(Award {
            id,
            volunteer_id,
            organisation_id,
            title: title.to_owned(),
            awarded_by: awarded_by.to_owned(),
            awarded_on,
        })
    }

    async fn awards_of(&self, volunteer_id: i64) -> StoreResult<Vec<Award>> {
        let rows = sqlx::query(
            r"select id, volunteer_id, organisation_id, title, awarded_by, awarded_on from award
              where volunteer_id = ?1 order by awarded_on, id",
        )
        .bind(volunteer_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| {
                let awarded_on: String = row.try_get("awarded_on")?;
                Ok(Award {
                    id: row.try_get("id")?,
                    volunteer_id: row.try_get("volunteer_id")?,
                    organisation_id: row.try_get("organisation_id")?,
                    title: row.try_get("title")?,
                    awarded_by: row.try_get("awarded_by")?,
                    awarded_on: parse_day(&awarded_on)?,
                })
            })
            .collect()
    }

    async fn finalised_sessions_of(&self, volunteer_id: i64) -> StoreResult<Vec<RecordSession>> {
        let rows = sqlx::query(
            r"select f.activity_id, a.name, f.local_day, f.final_minutes from finalised_session f
              join activity a on a.id = f.activity_id
              where f.volunteer_id = ?1 order by f.local_day, f.activity_id",
        )
        .bind(volunteer_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| {
                let day: String = row.try_get("local_day")?;
                Ok(RecordSession {
                    activity_id: row.try_get("activity_id")?,
                    activity_name: row.try_get("name")?,
                    day: parse_day(&day)?,
                    minutes: u32::try_from(row.try_get::<i64, _>("final_minutes")?).map_err(|_| corrupt("minutes"))?,
                })
            })
            .collect()
    }

    async fn calendar_years(&self) -> StoreResult<Vec<YearArrangement>> {
        let rows: Vec<String> =
            sqlx::query_scalar(r"select data from calendar_year order by year").fetch_all(&self.read).await?;
        rows.iter().map(|data| serde_json::from_str(data).map_err(|_| corrupt("calendar year"))).collect()
    }

    async fn add_calendar_year(&self, year: &YearArrangement, by: i64, at: DateTime<Utc>) -> StoreResult<bool> {
        let data = serde_json::to_string(year).map_err(|e| CoreError::Internal(e.to_string()))?;
        let done = sqlx::query(
            r"insert into calendar_year (year, data, added_by, added_at) values (?1, ?2, ?3, ?4)
              on conflict (year) do nothing",
        )
        .bind(year.year)
        .bind(data)
        .bind(by)
        .bind(ms(at))
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn calendar_overlays(&self) -> StoreResult<Vec<Overlay>> {
        let rows = sqlx::query(r"select region_code, day, kind, name from calendar_overlay order by region_code, day")
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|row| {
                let day: String = row.try_get("day")?;
                let kind: String = row.try_get("kind")?;
                Ok(Overlay {
                    region_code: row.try_get("region_code")?,
                    day: parse_day(&day)?,
                    kind: OverlayKind::parse(&kind).ok_or_else(|| corrupt("overlay kind"))?,
                    name: row.try_get("name")?,
                })
            })
            .collect()
    }

    async fn remove_calendar_overlay(&self, region_code: &str, day: chrono::NaiveDate) -> StoreResult<bool> {
        let removed = sqlx::query(r"delete from calendar_overlay where region_code = ?1 and day = ?2")
            .bind(region_code)
            .bind(day.format("%Y-%m-%d").to_string())
            .execute(&self.write)
            .await?;
        Ok(removed.rows_affected() == 1)
    }

    async fn put_calendar_overlay(&self, overlay: &Overlay, by: i64, at: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(
            r"insert into calendar_overlay (region_code, day, kind, name, created_by, created_at)
              values (?1, ?2, ?3, ?4, ?5, ?6)
              on conflict (region_code, day) do update set kind = excluded.kind, name = excluded.name,
                  created_by = excluded.created_by, created_at = excluded.created_at",
        )
        .bind(&overlay.region_code)
        .bind(overlay.day.format("%Y-%m-%d").to_string())
        .bind(overlay.kind.as_str())
        .bind(&overlay.name)
        .bind(by)
        .bind(ms(at))
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn publicity_in_progress(
        &self,
        after: i64,
        limit: i64,
        filter: &BoardFilter,
    ) -> StoreResult<Vec<PublicityRow>> {
        let rows = sqlx::query(concat!(
            publicity_select!(),
            " where p.status in ('in_publicity', 'held') and p.id > ?1 \
              and (?3 is null or a.organisation_id = ?3) and (?4 is null or p.activity_id = ?4) \
              and (?5 is null or p.local_day = ?5) \
              order by p.id limit ?2"
        ))
        .bind(after)
        .bind(limit)
        .bind(filter.organisation_id)
        .bind(filter.activity_id)
        .bind(filter.day.map(|d| d.format("%Y-%m-%d").to_string()))
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(publicity_from_row).collect()
    }

    async fn publicity_held(&self) -> StoreResult<Vec<PublicityRow>> {
        let rows = sqlx::query(concat!(publicity_select!(), " where p.status = 'held' order by p.id"))
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(publicity_from_row).collect()
    }

    async fn set_publicity_end(&self, id: i64, ends_on: chrono::NaiveDate) -> StoreResult<()> {
        sqlx::query(
            r"update publicity_entry set ends_on = ?2, status = 'in_publicity' where id = ?1 and status = 'held'",
        )
        .bind(id)
        .bind(ends_on.format("%Y-%m-%d").to_string())
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn publicity_due(&self, today: chrono::NaiveDate) -> StoreResult<Vec<PublicityRow>> {
        let rows = sqlx::query(concat!(
            publicity_select!(),
            " where p.status = 'in_publicity' and p.ends_on < ?1 \
              and not exists (select 1 from objection j where j.publicity_entry_id = p.id and j.status = 'open') \
              order by p.id"
        ))
        .bind(today.format("%Y-%m-%d").to_string())
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(publicity_from_row).collect()
    }

    async fn append_register(
        &self,
        entries: &[NewRegisterEntry],
        guard: &RegisterGuard,
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = self.write.begin().await?;
        // The single writer connection serialises appends.
        let RegisterGuard::Recording { entry_id, minutes, published_on, standing } = guard;
        // The entry that stands for this publicity entry now (an original or the latest
        // replacement): still the one the reversal was built against, or none for a first
        // recording.
        let stands: Option<i64> = sqlx::query_scalar(
            r"select max(seq) from register_entry
              where publicity_entry_id = ?1 and kind in ('original', 'replacement')",
        )
        .bind(entry_id)
        .fetch_one(&mut *tx)
        .await?;
        if stands != *standing {
            return Ok(false);
        }
        let marked = sqlx::query(
                    r"update publicity_entry set status = 'recorded', recorded_at = ?2
                      where id = ?1 and status = 'in_publicity' and minutes = ?3 and published_on = ?4
                        and not exists (select 1 from objection j where j.publicity_entry_id = ?1 and j.status = 'open')",
                )
                .bind(entry_id)
                .bind(ms(at))
                .bind(i64::from(*minutes))
                .bind(published_on.format("%Y-%m-%d").to_string())
                .execute(&mut *tx)
                .await?;
        let holds = marked.rows_affected() == 1;
        if !holds {
            return Ok(false);
        }
        let last = sqlx::query(r"select seq, hash from register_entry order by seq desc limit 1")
            .fetch_optional(&mut *tx)
            .await?;
        let (mut seq, mut previous): (i64, Vec<u8>) = match last {
            Some(row) => (row.try_get("seq")?, row.try_get("hash")?),
            None => (0, crate::publicity::GENESIS.to_vec()),
        };
        for entry in entries {
            seq += 1;
            let hash =
                crate::publicity::chain_hash(&previous, entry.kind, Some(entry.publicity_entry_id), &entry.content);
            sqlx::query(
                r"insert into register_entry (seq, kind, publicity_entry_id, organisation_id, volunteer_id, minutes,
                                              content, previous_hash, hash, created_at)
                  values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )
            .bind(seq)
            .bind(entry.kind.as_str())
            .bind(entry.publicity_entry_id)
            .bind(entry.organisation_id)
            .bind(entry.volunteer_id)
            .bind(entry.minutes)
            .bind(&entry.content)
            .bind(&previous)
            .bind(hash.as_slice())
            .bind(ms(at))
            .execute(&mut *tx)
            .await?;
            previous = hash.to_vec();
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn standing_register_entry(&self, publicity_entry_id: i64) -> StoreResult<Option<RegisterRow>> {
        let row = sqlx::query(concat!(
            "select ",
            register_columns!(),
            " from register_entry where publicity_entry_id = ?1 and kind in ('original', 'replacement') \
              order by seq desc limit 1"
        ))
        .bind(publicity_entry_id)
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(register_from_row).transpose()
    }

    async fn publicity_entry(&self, id: i64) -> StoreResult<Option<PublicityRow>> {
        let row =
            sqlx::query(concat!(publicity_select!(), " where p.id = ?1")).bind(id).fetch_optional(&self.read).await?;
        row.as_ref().map(publicity_from_row).transpose()
    }

    async fn add_publicity(&self, activity_id: i64, p: &NewPublicity, at: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(
            r"insert into publicity_entry (activity_id, volunteer_id, local_day, minutes, published_on, working_days,
                                           ends_on, status, created_at)
              values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
              on conflict (activity_id, volunteer_id, local_day) do nothing",
        )
        .bind(activity_id)
        .bind(p.volunteer_id)
        .bind(p.day.format("%Y-%m-%d").to_string())
        .bind(i64::from(p.minutes))
        .bind(p.published_on.format("%Y-%m-%d").to_string())
        .bind(i64::from(p.working_days))
        .bind(p.ends_on.map(|d| d.format("%Y-%m-%d").to_string()))
        .bind(if p.ends_on.is_some() { "in_publicity" } else { "held" })
        .bind(ms(at))
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn publicity_entry_for(
        &self,
        activity_id: i64,
        volunteer_id: i64,
        day: chrono::NaiveDate,
    ) -> StoreResult<Option<PublicityRow>> {
        let row = sqlx::query(concat!(
            publicity_select!(),
            " where p.activity_id = ?1 and p.volunteer_id = ?2 and p.local_day = ?3"
        ))
        .bind(activity_id)
        .bind(volunteer_id)
        .bind(day.format("%Y-%m-%d").to_string())
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(publicity_from_row).transpose()
    }

    async fn restart_publicity(&self, id: i64, restart: &Restart) -> StoreResult<bool> {
        let mut conn = self.write.acquire().await?;
        restart_entry(&mut conn, id, restart).await
    }

    async fn add_objection(
        &self,
        entry_id: i64,
        contact_sealed: &str,
        reason: &str,
        raised_by: Option<i64>,
        at: DateTime<Utc>,
    ) -> StoreResult<Option<Objection>> {
        let mut tx = self.write.begin().await?;
        // Lock the entry: the register job's marking waits for this objection, or this
        // objection sees the entry recorded.
        let status: Option<String> = sqlx::query_scalar(r"select status from publicity_entry where id = ?1")
            .bind(entry_id)
            .fetch_optional(&mut *tx)
            .await?;
        if status.as_deref() != Some("in_publicity") && status.as_deref() != Some("held") {
            return Ok(None);
        }
        let row = sqlx::query(concat!(
            r"insert into objection (publicity_entry_id, contact_sealed, reason, raised_by_staff, raised_at)
              values (?1, ?2, ?3, ?4, ?5) returning ",
            objection_columns!()
        ))
        .bind(entry_id)
        .bind(contact_sealed)
        .bind(reason)
        .bind(raised_by)
        .bind(ms(at))
        .fetch_one(&mut *tx)
        .await?;
        let objection = objection_from_row(&row)?;
        tx.commit().await?;
        Ok(Some(objection))
    }

    async fn objection(&self, id: i64) -> StoreResult<Option<Objection>> {
        let row = sqlx::query(concat!("select ", objection_columns!(), " from objection where id = ?1"))
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(objection_from_row).transpose()
    }

    async fn objections_of_activity(&self, activity_id: i64) -> StoreResult<Vec<Objection>> {
        let rows = sqlx::query(concat!(
            "select ",
            objection_columns!(),
            " from objection where publicity_entry_id in (select id from publicity_entry where activity_id = ?1) order by id"
        ))
        .bind(activity_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(objection_from_row).collect()
    }

    async fn decide_objection(
        &self,
        id: i64,
        entry: &PublicityRow,
        by: i64,
        reason: &str,
        restart: Option<&Restart>,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> StoreResult<Option<Objection>> {
        let mut tx = self.write.begin().await?;
        let row = sqlx::query(concat!(
            r"update objection set status = ?2, decided_by = ?3, decision_reason = ?4, decided_at = ?5,
                                   corrected_minutes = ?6
              where id = ?1 and status = 'open' returning ",
            objection_columns!()
        ))
        .bind(id)
        .bind(if restart.is_some() { "upheld" } else { "dismissed" })
        .bind(by)
        .bind(reason)
        .bind(ms(at))
        .bind(restart.map(|r| i64::from(r.minutes)))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let objection = objection_from_row(&row)?;
        if let Some(restart) = restart {
            let session = (entry.activity_id, entry.volunteer_id, entry.day);
            correct_finalised(&mut tx, session, restart.minutes, reason, (by, None), at).await?;
            restart_entry(&mut tx, entry.id, restart).await?;
        }
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(Some(objection))
    }

    async fn create_batch(
        &self,
        organisation_id: i64,
        county_code: &str,
        by: i64,
        at: DateTime<Utc>,
    ) -> StoreResult<Option<ReportBatch>> {
        let mut tx = self.write.begin().await?;
        // The single writer connection serialises batches.
        let rows = sqlx::query(
            r"select seq, minutes, kind, content from register_entry r
              where r.organisation_id = ?1
                and not exists (select 1 from report_item i join report_batch b on b.id = i.batch_id
                                where i.register_seq = r.seq and b.status in ('submitted', 'confirmed'))
              order by seq",
        )
        .bind(organisation_id)
        .fetch_all(&mut *tx)
        .await?;
        // A correction waits while the entry it corrects is in a batch still pending: a
        // batch never confirms a reversal without what it reverses.
        let pending: std::collections::HashSet<i64> = sqlx::query_scalar(
            r"select i.register_seq from report_item i join report_batch b on b.id = i.batch_id
              where b.status = 'submitted'",
        )
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .collect();
        let mut kept = Vec::with_capacity(rows.len());
        for row in rows {
            let kind: String = row.try_get("kind")?;
            let corrects = if kind == "original" {
                None
            } else {
                let content: String = row.try_get("content")?;
                let content: serde_json::Value =
                    serde_json::from_str(&content).map_err(|_| corrupt("register content"))?;
                content["reverses"].as_i64().or_else(|| content["replaces"].as_i64())
            };
            if corrects.is_none_or(|seq| !pending.contains(&seq)) {
                kept.push(row);
            }
        }
        let rows = kept;
        if rows.is_empty() {
            return Ok(None);
        }
        let seqs = rows.iter().map(|r| r.try_get::<i64, _>("seq")).collect::<Result<Vec<_>, _>>()?;
        let minutes: i64 = rows.iter().map(|r| r.try_get::<i64, _>("minutes")).sum::<Result<i64, _>>()?;
        let row = sqlx::query(concat!(
            r"insert into report_batch (organisation_id, county_code, status, entries, minutes, submitted_by, submitted_at)
              values (?1, ?2, 'submitted', ?3, ?4, ?5, ?6) returning ",
            batch_columns!()
        ))
        .bind(organisation_id)
        .bind(county_code)
        .bind(i64::try_from(seqs.len()).unwrap_or(i64::MAX))
        .bind(minutes)
        .bind(by)
        .bind(ms(at))
        .fetch_one(&mut *tx)
        .await?;
        let batch = batch_from_row(&row)?;
        for seq in seqs {
            sqlx::query(r"insert into report_item (batch_id, register_seq) values (?1, ?2)")
                .bind(batch.id)
                .bind(seq)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(Some(batch))
    }

    async fn report_batches(&self) -> StoreResult<Vec<ReportBatch>> {
        let rows = sqlx::query(concat!("select ", batch_columns!(), " from report_batch order by id"))
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(batch_from_row).collect()
    }

    async fn batch_entries(&self, batch_id: i64, after: i64, limit: i64) -> StoreResult<Vec<RegisterRow>> {
        let rows = sqlx::query(concat!(
            "select ",
            register_columns!(),
            " from register_entry where seq in (select register_seq from report_item where batch_id = ?1) \
              and seq > ?2 order by seq limit ?3"
        ))
        .bind(batch_id)
        .bind(after)
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(register_from_row).collect()
    }

    async fn decide_batch(
        &self,
        id: i64,
        to: BatchStatus,
        by: i64,
        reason: Option<&str>,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> StoreResult<Option<ReportBatch>> {
        let mut tx = self.write.begin().await?;
        let row = sqlx::query(concat!(
            r"update report_batch set status = ?2, decided_by = ?3, reason = ?4, decided_at = ?5
              where id = ?1 and status = 'submitted' returning ",
            batch_columns!()
        ))
        .bind(id)
        .bind(to.as_str())
        .bind(by)
        .bind(reason)
        .bind(ms(at))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let batch = batch_from_row(&row)?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(Some(batch))
    }

    async fn confirmed_minutes(&self, volunteer_id: i64) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            r"select coalesce(sum(r.minutes), 0) from register_entry r
              where r.volunteer_id = ?1 and exists (select 1 from report_item i join report_batch b on b.id = i.batch_id
                                                 where i.register_seq = r.seq and b.status = 'confirmed')",
        )
        .bind(volunteer_id)
        .fetch_one(&self.read)
        .await?)
    }

    async fn publicity_rule(&self, scope: &str) -> StoreResult<Option<u32>> {
        let days: Option<i64> = sqlx::query_scalar(r"select working_days from publicity_rule where scope = ?1")
            .bind(scope)
            .fetch_optional(&self.read)
            .await?;
        Ok(days.and_then(|d| u32::try_from(d).ok()))
    }

    async fn put_publicity_rule(&self, scope: &str, working_days: u32, by: i64, at: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(
            r"insert into publicity_rule (scope, working_days, set_by, set_at) values (?1, ?2, ?3, ?4)
              on conflict (scope) do update set working_days = excluded.working_days, set_by = excluded.set_by,
                  set_at = excluded.set_at",
        )
        .bind(scope)
        .bind(i64::from(working_days))
        .bind(by)
        .bind(ms(at))
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn recorded_without_register_entry(&self) -> StoreResult<u64> {
        let missing: i64 = sqlx::query_scalar(
            r"select count(*) from publicity_entry p where p.status = 'recorded'
              and not exists (select 1 from register_entry r where r.publicity_entry_id = p.id and r.kind = 'original')",
        )
        .fetch_one(&self.read)
        .await?;
        Ok(u64::try_from(missing).unwrap_or_default())
    }

    async fn unpublished_corrections(&self, limit: i64) -> StoreResult<Vec<(i64, FinalisedSession, Option<String>)>> {
        let rows = sqlx::query(
            r"select f.activity_id, f.volunteer_id, f.local_day, f.scan_minutes, f.final_minutes, f.source,
                     (select c.reason from session_correction c
                      where c.activity_id = f.activity_id and c.volunteer_id = f.volunteer_id
                        and c.local_day = f.local_day
                      order by c.id desc limit 1) as reason
              from finalised_session f
              left join publicity_entry p
                on p.activity_id = f.activity_id and p.volunteer_id = f.volunteer_id and p.local_day = f.local_day
              where (p.id is null and f.final_minutes > 0)
                 or (p.status in ('in_publicity', 'held') and p.minutes <> f.final_minutes)
                 or (p.status = 'recorded' and f.final_minutes <> (
                        select r.minutes from register_entry r
                        where r.publicity_entry_id = p.id and r.kind in ('original', 'replacement')
                        order by r.seq desc limit 1))
              order by f.activity_id, f.volunteer_id, f.local_day
              limit ?1",
        )
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| Ok((row.try_get("activity_id")?, finalised_from_row(row)?, row.try_get("reason")?)))
            .collect()
    }

    async fn register_page(&self, after: i64, limit: i64) -> StoreResult<Vec<RegisterRow>> {
        let rows = sqlx::query(concat!(
            "select ",
            register_columns!(),
            " from register_entry where seq > ?1 order by seq limit ?2"
        ))
        .bind(after)
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(register_from_row).collect()
    }

    async fn staff_account(&self, id: i64) -> StoreResult<Option<StaffAccount>> {
        let row = sqlx::query(concat!("select ", staff_columns!(), " from staff where id = ?1"))
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(account_from_row).transpose()
    }

    async fn staff_account_by_login(&self, login: &str) -> StoreResult<Option<StaffAccount>> {
        let row = sqlx::query(concat!("select ", staff_columns!(), " from staff where login = ?1"))
            .bind(login)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(account_from_row).transpose()
    }

    async fn add_invite(&self, staff_id: i64, invite: &NewInvite, audit: &AuditEvent) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        insert_invite(&mut tx, staff_id, invite).await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn invited_staff(&self, hash: &TokenHash, at: DateTime<Utc>) -> StoreResult<Option<i64>> {
        let row = sqlx::query(
            r"select staff_id from staff_invite where token_hash = ?1 and used_at is null and expires_at > ?2",
        )
        .bind(hash.as_slice())
        .bind(ms(at))
        .fetch_optional(&self.read)
        .await?;
        Ok(row.map(|r| r.try_get("staff_id")).transpose()?)
    }

    async fn add_passkey(
        &self,
        passkey: &StoredPasskey,
        invite: Option<&TokenHash>,
        audit: &AuditEvent,
    ) -> StoreResult<bool> {
        let mut tx = self.write.begin().await?;
        if let Some(hash) = invite {
            let spent = sqlx::query(
                r"update staff_invite set used_at = ?3
                  where token_hash = ?1 and staff_id = ?2 and used_at is null and expires_at > ?3",
            )
            .bind(hash.as_slice())
            .bind(passkey.staff_id)
            .bind(ms(passkey.created_at))
            .execute(&mut *tx)
            .await?;
            if spent.rows_affected() != 1 {
                return Ok(false);
            }
        }
        sqlx::query(
            r"insert into staff_passkey (id, staff_id, credential_id, credential, label, created_at)
              values (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .bind(passkey.id)
        .bind(passkey.staff_id)
        .bind(&passkey.credential_id)
        .bind(&passkey.credential)
        .bind(&passkey.label)
        .bind(ms(passkey.created_at))
        .execute(&mut *tx)
        .await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn passkeys(&self, staff_id: i64) -> StoreResult<Vec<StoredPasskey>> {
        let rows = sqlx::query(
            r"select id, staff_id, credential_id, credential, label, created_at, last_used_at from staff_passkey
              where staff_id = ?1 order by created_at, id",
        )
        .bind(staff_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(StoredPasskey {
                    id: row.try_get("id")?,
                    staff_id: row.try_get("staff_id")?,
                    credential_id: row.try_get("credential_id")?,
                    credential: row.try_get("credential")?,
                    label: row.try_get("label")?,
                    created_at: from_ms(row.try_get("created_at")?)?,
                    last_used_at: row.try_get::<Option<i64>, _>("last_used_at")?.map(from_ms).transpose()?,
                })
            })
            .collect()
    }

    async fn passkey_used(&self, id: Uuid, credential: &str, at: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(r"update staff_passkey set credential = ?2, last_used_at = ?3 where id = ?1")
            .bind(id)
            .bind(credential)
            .bind(ms(at))
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn remove_passkey(
        &self,
        staff_id: i64,
        id: Uuid,
        last_too: bool,
        audit: &AuditEvent,
    ) -> StoreResult<PasskeyRemoval> {
        // The single writer connection serialises this transaction against any other write.
        let mut tx = self.write.begin().await?;
        let ids: Vec<Uuid> = sqlx::query_scalar(r"select id from staff_passkey where staff_id = ?1")
            .bind(staff_id)
            .fetch_all(&mut *tx)
            .await?;
        if !ids.contains(&id) {
            return Ok(PasskeyRemoval::NotFound);
        }
        if ids.len() == 1 && !last_too {
            return Ok(PasskeyRemoval::Last);
        }
        sqlx::query(r"delete from staff_passkey where id = ?1").bind(id).execute(&mut *tx).await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(PasskeyRemoval::Removed)
    }

    async fn create_volunteer(
        &self,
        v: &StoredVolunteer,
        consents: &[ConsentRecord],
        wechat: Option<&WeChatIdentity>,
        token: (&TokenHash, DateTime<Utc>),
        at: DateTime<Utc>,
    ) -> StoreResult<StoredVolunteer> {
        let mut tx = self.write.begin().await?;
        let row = sqlx::query(
            r"insert into volunteer (volunteer_number, name, gender, birth_month, id_type, id_number_sealed,
                                    id_number_lookup, phone_sealed, phone_lookup, skills, device_id, created_at,
                                    device_bound_at)
              values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
              returning id",
        )
        .bind(&v.volunteer_number)
        .bind(&v.name)
        .bind(i64::from(v.gender.code()))
        .bind(&v.birth_month)
        .bind(v.id_type.as_str())
        .bind(&v.id_number_sealed)
        .bind(v.id_number_lookup.as_slice())
        .bind(&v.phone_sealed)
        .bind(v.phone_lookup.as_slice())
        .bind(skills_json(&v.skills))
        .bind(v.device_id.as_deref())
        .bind(ms(at))
        .bind(v.device_id.as_ref().map(|_| ms(at)))
        .fetch_one(&mut *tx)
        .await
        .map_err(volunteer_conflict)?;
        let id: i64 = row.try_get("id")?;
        for c in consents {
            sqlx::query(
                r"insert into consent (volunteer_id, purpose, granted, notice_version, recorded_at)
                  values (?1, ?2, ?3, ?4, ?5)",
            )
            .bind(id)
            .bind(c.purpose.as_str())
            .bind(c.granted)
            .bind(&c.notice_version)
            .bind(ms(c.recorded_at))
            .execute(&mut *tx)
            .await?;
        }
        if let Some(w) = wechat {
            sqlx::query(
                r"insert into wechat_binding (openid, unionid, volunteer_id, bound_at) values (?1, ?2, ?3, ?4)",
            )
            .bind(&w.openid)
            .bind(w.unionid.as_deref())
            .bind(id)
            .bind(ms(at))
            .execute(&mut *tx)
            .await
            .map_err(volunteer_conflict)?;
        }
        sqlx::query(
            r"insert into access_token (token_hash, volunteer_id, created_at, expires_at) values (?1, ?2, ?3, ?4)",
        )
        .bind(token.0.as_slice())
        .bind(id)
        .bind(ms(at))
        .bind(ms(token.1))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(StoredVolunteer { id, ..v.clone() })
    }

    async fn rebind_device(&self, volunteer_id: i64, device_id: &str, audit: &AuditEvent) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        sqlx::query(r"update volunteer set device_id = ?1, device_bound_at = ?2 where id = ?3")
            .bind(device_id)
            .bind(ms(audit.at))
            .bind(volunteer_id)
            .execute(&mut *tx)
            .await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn update_phone(
        &self,
        volunteer_id: i64,
        sealed: &str,
        lookup: &[u8; 32],
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        sqlx::query(r"update volunteer set phone_sealed = ?1, phone_lookup = ?2 where id = ?3")
            .bind(sealed)
            .bind(lookup.as_slice())
            .bind(volunteer_id)
            .execute(&mut *tx)
            .await
            .map_err(volunteer_conflict)?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn add_audit(&self, audit: &AuditEvent) -> StoreResult<()> {
        let mut conn = self.write.acquire().await?;
        insert_audit(&mut conn, audit).await
    }

    async fn add_screen_key(&self, key: &crate::screen_keys::NewScreenKey, audit: &AuditEvent) -> StoreResult<i64> {
        let mut tx = self.write.begin().await?;
        let id: i64 = sqlx::query_scalar(
            r"insert into screen_key (activity_id, gate, direction, key_id, last_window, expires_at, issued_by, created_at)
              values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) returning id",
        )
        .bind(key.activity_id)
        .bind(i64::from(key.gate))
        .bind(crate::screen_keys::direction_word(key.direction))
        .bind(i64::from(key.key_id))
        .bind(i64::from(key.last_window))
        .bind(ms(key.expires_at))
        .bind(key.issued_by)
        .bind(ms(key.created_at))
        .fetch_one(&mut *tx)
        .await?;
        let mut audit = audit.clone();
        audit.detail["screen_key_id"] = id.into();
        insert_audit(&mut tx, &audit).await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn screen_key(&self, id: i64) -> StoreResult<Option<crate::screen_keys::ScreenKeyRecord>> {
        let row = sqlx::query(concat!("select ", screen_key_columns!(), " from screen_key where id = ?1"))
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(screen_key_from_row).transpose()
    }

    async fn screen_keys(&self, activity_id: i64) -> StoreResult<Vec<crate::screen_keys::ScreenKeyRecord>> {
        let rows = sqlx::query(concat!(
            "select ",
            screen_key_columns!(),
            " from screen_key where activity_id = ?1 order by id"
        ))
        .bind(activity_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(screen_key_from_row).collect()
    }

    async fn revoke_screen_key(
        &self,
        id: i64,
        by: i64,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> StoreResult<Option<crate::screen_keys::ScreenKeyRecord>> {
        let mut tx = self.write.begin().await?;
        let row = sqlx::query(concat!(
            "update screen_key set revoked_at = ?2, revoked_by = ?3 where id = ?1 and revoked_at is null returning ",
            screen_key_columns!()
        ))
        .bind(id)
        .bind(ms(at))
        .bind(by)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let record = screen_key_from_row(&row)?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(Some(record))
    }

    async fn audit_events(&self, subject_kind: &str, subject_id: i64) -> StoreResult<Vec<AuditEvent>> {
        let rows = sqlx::query(
            r"select at, actor_kind, actor_id, action, subject_kind, subject_id, detail from audit_event
              where subject_kind = ?1 and subject_id = ?2 order by id",
        )
        .bind(subject_kind)
        .bind(subject_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| {
                let detail: String = row.try_get("detail")?;
                Ok(AuditEvent {
                    at: from_ms(row.try_get("at")?)?,
                    actor_kind: row.try_get("actor_kind")?,
                    actor_id: row.try_get("actor_id")?,
                    action: row.try_get("action")?,
                    subject_kind: row.try_get("subject_kind")?,
                    subject_id: row.try_get("subject_id")?,
                    detail: serde_json::from_str(&detail).map_err(|_| corrupt("audit detail"))?,
                })
            })
            .collect()
    }

    async fn add_consent(
        &self,
        volunteer_id: i64,
        consent: &ConsentRecord,
        detail_sealed: Option<&str>,
    ) -> StoreResult<()> {
        sqlx::query(
            r"insert into consent (volunteer_id, purpose, granted, notice_version, detail_sealed, recorded_at)
              values (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .bind(volunteer_id)
        .bind(consent.purpose.as_str())
        .bind(consent.granted)
        .bind(&consent.notice_version)
        .bind(detail_sealed)
        .bind(ms(consent.recorded_at))
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn volunteer_by_openid(&self, openid: &str) -> StoreResult<Option<i64>> {
        let row = sqlx::query(r"select volunteer_id from wechat_binding where openid = ?1")
            .bind(openid)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.map(|r| r.try_get("volunteer_id")).transpose()?)
    }

    async fn volunteer_by_phone(&self, phone_lookup: &[u8; 32]) -> StoreResult<Option<i64>> {
        let row = sqlx::query(r"select id from volunteer where phone_lookup = ?1")
            .bind(phone_lookup.as_slice())
            .fetch_optional(&self.read)
            .await?;
        Ok(row.map(|r| r.try_get("id")).transpose()?)
    }

    async fn sealed_values_not_under(
        &self,
        column: crate::identity::pii::SealedColumn,
        current_prefix: &str,
        limit: i64,
    ) -> StoreResult<Vec<String>> {
        // Table and column come from a closed list of fixed names, never from input.
        let (table, col) = (column.table(), column.column());
        let sql = format!(
            "select {col} from {table} where {col} is not null and substr({col}, 1, {len}) <> ?1 limit ?2",
            len = current_prefix.len()
        );
        Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(current_prefix).bind(limit).fetch_all(&self.read).await?)
    }

    async fn replace_sealed_values(
        &self,
        column: crate::identity::pii::SealedColumn,
        pairs: &[(String, String)],
    ) -> StoreResult<u64> {
        let sql = format!("update {} set {col} = ?1 where {col} = ?2", column.table(), col = column.column());
        let mut tx = self.write.begin().await?;
        let mut changed = 0;
        for (old, new) in pairs {
            changed += sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                .bind(new)
                .bind(old)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        tx.commit().await?;
        Ok(changed)
    }

    async fn get_volunteer(&self, id: i64) -> StoreResult<Option<StoredVolunteer>> {
        let row = sqlx::query(
            r"select id, volunteer_number, name, gender, birth_month, id_type, id_number_sealed, id_number_lookup,
                     phone_sealed, phone_lookup, skills, device_id, device_bound_at
              from volunteer where id = ?1",
        )
        .bind(id)
        .fetch_optional(&self.read)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let lookup = |name: &str| -> StoreResult<[u8; 32]> {
            let bytes: Vec<u8> = row.try_get(name)?;
            bytes.try_into().map_err(|_| corrupt("lookup hash"))
        };
        Ok(Some(StoredVolunteer {
            id: row.try_get("id")?,
            volunteer_number: row.try_get("volunteer_number")?,
            name: row.try_get("name")?,
            gender: u8::try_from(row.try_get::<i64, _>("gender")?)
                .ok()
                .and_then(Gender::from_code)
                .ok_or_else(|| corrupt("gender"))?,
            birth_month: row.try_get("birth_month")?,
            id_type: IdType::parse(row.try_get("id_type")?).ok_or_else(|| corrupt("id type"))?,
            id_number_sealed: row.try_get("id_number_sealed")?,
            id_number_lookup: lookup("id_number_lookup")?,
            phone_sealed: row.try_get("phone_sealed")?,
            phone_lookup: lookup("phone_lookup")?,
            skills: parse_skills(row.try_get("skills")?)?,
            device_id: row.try_get("device_id")?,
            device_bound_at: row.try_get::<Option<i64>, _>("device_bound_at")?.map(from_ms).transpose()?,
        }))
    }

    async fn consents(&self, volunteer_id: i64) -> StoreResult<Vec<ConsentRecord>> {
        let rows = sqlx::query(
            r"select purpose, granted, notice_version, recorded_at from consent
              where volunteer_id = ?1 order by id",
        )
        .bind(volunteer_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ConsentRecord {
                    purpose: ConsentPurpose::parse(row.try_get("purpose")?)
                        .ok_or_else(|| corrupt("consent purpose"))?,
                    granted: row.try_get("granted")?,
                    notice_version: row.try_get("notice_version")?,
                    recorded_at: from_ms(row.try_get("recorded_at")?)?,
                })
            })
            .collect()
    }

    async fn put_access_token(
        &self,
        hash: &TokenHash,
        principal: &Principal,
        at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let (staff_id, volunteer_id) = match principal {
            Principal::Staff { id, .. } => (Some(*id), None),
            Principal::Volunteer { id } => (None, Some(*id)),
        };
        sqlx::query(
            r"insert into access_token (token_hash, staff_id, volunteer_id, created_at, expires_at)
              values (?1, ?2, ?3, ?4, ?5)",
        )
        .bind(hash.as_slice())
        .bind(staff_id)
        .bind(volunteer_id)
        .bind(ms(at))
        .bind(ms(expires_at))
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn find_access_token(&self, hash: &TokenHash) -> StoreResult<Option<TokenGrant>> {
        let row = sqlx::query(
            r"select t.expires_at, t.idle_minutes, t.last_seen_at, t.volunteer_id, s.id as staff_id, s.role,
                     s.organisation_id
              from access_token t left join staff s on s.id = t.staff_id
              where t.revoked_at is null and t.token_hash = ?1",
        )
        .bind(hash.as_slice())
        .fetch_optional(&self.read)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let principal = match row.try_get::<Option<i64>, _>("volunteer_id")? {
            Some(id) => Principal::Volunteer { id },
            None => Principal::Staff {
                id: row.try_get("staff_id")?,
                role: StaffRole::parse(row.try_get("role")?).ok_or_else(|| corrupt("role"))?,
                organisation_id: row.try_get("organisation_id")?,
            },
        };
        Ok(Some(TokenGrant {
            principal,
            expires_at: from_ms(row.try_get("expires_at")?)?,
            idle_minutes: row.try_get::<Option<i64>, _>("idle_minutes")?.and_then(|m| u32::try_from(m).ok()),
            last_seen_at: row.try_get::<Option<i64>, _>("last_seen_at")?.map(from_ms).transpose()?,
        }))
    }

    async fn set_token_idle(&self, hash: &TokenHash, idle_minutes: u32, at: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(r"update access_token set idle_minutes = ?2, last_seen_at = ?3 where token_hash = ?1")
            .bind(hash.as_slice())
            .bind(i64::from(idle_minutes))
            .bind(ms(at))
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn touch_access_token(&self, hash: &TokenHash, at: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(
            r"update access_token set last_seen_at = ?2
              where token_hash = ?1 and revoked_at is null and (last_seen_at is null or last_seen_at < ?2)",
        )
        .bind(hash.as_slice())
        .bind(ms(at))
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn list_access_tokens(&self, principal: &Principal) -> StoreResult<Vec<StoredSession>> {
        let (column, id) = token_owner(principal);
        let sql = if column == "staff_id" {
            r"select token_hash, created_at, expires_at, idle_minutes, last_seen_at from access_token
              where staff_id = ?1 and revoked_at is null order by created_at desc"
        } else {
            r"select token_hash, created_at, expires_at, idle_minutes, last_seen_at from access_token
              where volunteer_id = ?1 and revoked_at is null order by created_at desc"
        };
        let rows = sqlx::query(sql).bind(id).fetch_all(&self.read).await?;
        rows.iter()
            .map(|row| {
                Ok(StoredSession {
                    hash: hash_from(row.try_get("token_hash")?)?,
                    created_at: from_ms(row.try_get("created_at")?)?,
                    expires_at: from_ms(row.try_get("expires_at")?)?,
                    idle_minutes: row.try_get::<Option<i64>, _>("idle_minutes")?.and_then(|m| u32::try_from(m).ok()),
                    last_seen_at: row.try_get::<Option<i64>, _>("last_seen_at")?.map(from_ms).transpose()?,
                })
            })
            .collect()
    }

    async fn revoke_access_tokens(
        &self,
        principal: &Principal,
        only: Option<&TokenHash>,
        at: DateTime<Utc>,
    ) -> StoreResult<Vec<TokenHash>> {
        let (column, id) = token_owner(principal);
        let sql = if column == "staff_id" {
            r"update access_token set revoked_at = ?1
              where staff_id = ?2 and revoked_at is null and (?3 is null or token_hash = ?3)
              returning token_hash"
        } else {
            r"update access_token set revoked_at = ?1
              where volunteer_id = ?2 and revoked_at is null and (?3 is null or token_hash = ?3)
              returning token_hash"
        };
        let rows = sqlx::query(sql).bind(ms(at)).bind(id).bind(only.map(|h| h.to_vec())).fetch_all(&self.write).await?;
        rows.into_iter().map(|row| hash_from(row.try_get("token_hash")?)).collect()
    }

    async fn create_activity(&self, new: &NewActivity, created_by: i64, at: DateTime<Utc>) -> StoreResult<Activity> {
        let gates = serde_json::to_string(&new.gates).map_err(|e| CoreError::Internal(e.to_string()))?;
        let row = sqlx::query(
            r"insert into activity (organisation_id, name, category, recipients, content, address, latitude, longitude,
                                    radius_m, starts_at, ends_at, gates, code_mode, created_by, created_at)
              values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
              returning id",
        )
        .bind(new.organisation_id)
        .bind(&new.name)
        .bind(new.category.as_str())
        .bind(&new.recipients)
        .bind(&new.content)
        .bind(&new.address)
        .bind(new.location.lat)
        .bind(new.location.lng)
        .bind(i64::from(new.radius_m))
        .bind(ms(new.starts_at))
        .bind(ms(new.ends_at))
        .bind(gates)
        .bind(new.code_mode.as_str())
        .bind(created_by)
        .bind(ms(at))
        .fetch_one(&self.write)
        .await?;
        let id: i64 = row.try_get("id")?;
        self.get_activity(id).await?.ok_or_else(|| CoreError::Internal("a new activity vanished".into()))
    }

    async fn update_activity(
        &self,
        id: i64,
        changes: &NewActivity,
        audit: &AuditEvent,
    ) -> StoreResult<Option<Activity>> {
        let gates = serde_json::to_string(&changes.gates).map_err(|e| CoreError::Internal(e.to_string()))?;
        let mut tx = self.write.begin().await?;
        let updated = sqlx::query(
            r"update activity set name = ?2, category = ?3, recipients = ?4, content = ?5, address = ?6,
                                  latitude = ?7, longitude = ?8, radius_m = ?9, starts_at = ?10, ends_at = ?11,
                                  gates = ?12, code_mode = ?13
              where id = ?1",
        )
        .bind(id)
        .bind(&changes.name)
        .bind(changes.category.as_str())
        .bind(&changes.recipients)
        .bind(&changes.content)
        .bind(&changes.address)
        .bind(changes.location.lat)
        .bind(changes.location.lng)
        .bind(i64::from(changes.radius_m))
        .bind(ms(changes.starts_at))
        .bind(ms(changes.ends_at))
        .bind(gates)
        .bind(changes.code_mode.as_str())
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Ok(None);
        }
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        self.get_activity(id).await
    }

    async fn get_activity(&self, id: i64) -> StoreResult<Option<Activity>> {
        let row = sqlx::query(concat!(
            "select ",
            activity_columns!(),
            ", (select o.status = 'approved' from organisation o where o.id = activity.organisation_id)
               as organisation_approved from activity where id = ?1"
        ))
        .bind(id)
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(activity_from_row).transpose()
    }

    async fn insert_scans(&self, scans: &[NewScan]) -> StoreResult<Vec<bool>> {
        if scans.is_empty() {
            return Ok(Vec::new());
        }
        // 21 columns per row; SQLite allows 32 766 bound values, so chunk well below that.
        let mut written = std::collections::HashSet::with_capacity(scans.len());
        let mut tx = self.write.begin().await?;
        for chunk in scans.chunks(1024) {
            let mut query: QueryBuilder<Sqlite> = QueryBuilder::new(
                "insert into scan (id, volunteer_id, client_nonce, activity_id, gate, direction, outcome, server_time, \
                 client_time, code_window, key_id, distance_m, accuracy_m, device_id, answer_status, answer, created_at, \
                 geofence, client_network, seq, uploaded_at) ",
            );
            query.push_values(chunk, |mut row, s| {
                row.push_bind(s.id)
                    .push_bind(s.volunteer_id)
                    .push_bind(s.client_nonce)
                    .push_bind(s.activity_id)
                    .push_bind(s.gate.map(i64::from))
                    .push_bind(s.direction.map(direction_str))
                    .push_bind(s.outcome.as_str())
                    .push_bind(ms(s.server_time))
                    .push_bind(s.client_time.map(ms))
                    .push_bind(s.code_window.map(i64::from))
                    .push_bind(s.key_id.map(i64::from))
                    .push_bind(s.distance_m)
                    .push_bind(s.accuracy_m)
                    .push_bind(s.device_id.as_deref())
                    .push_bind(i64::from(s.answer.status))
                    .push_bind(s.answer.body.as_str())
                    .push_bind(ms(s.server_time))
                    .push_bind(s.geofence.map(crate::geo::Geofence::as_str))
                    .push_bind(s.network.as_deref())
                    .push_bind(s.seq.map(i64::from))
                    .push_bind(s.uploaded_at.map(ms));
            });
            // A repeated nonce, or a scan number already taken, writes nothing.
            query.push(" on conflict do nothing returning id");
            for row in query.build().fetch_all(&mut *tx).await? {
                written.insert(row.try_get::<Uuid, _>("id")?);
            }
        }
        tx.commit().await?;
        Ok(scans.iter().map(|s| written.contains(&s.id)).collect())
    }

    async fn find_scan_answer(&self, volunteer_id: i64, nonce: Uuid) -> StoreResult<Option<StoredAnswer>> {
        let row = sqlx::query(r"select answer_status, answer from scan where volunteer_id = ?1 and client_nonce = ?2")
            .bind(volunteer_id)
            .bind(nonce)
            .fetch_optional(&self.read)
            .await?;
        row.map(|row| {
            Ok(StoredAnswer {
                status: u16::try_from(row.try_get::<i64, _>("answer_status")?).map_err(|_| corrupt("status"))?,
                body: row.try_get("answer")?,
            })
        })
        .transpose()
    }

    async fn accepted_scans(&self, activity_id: i64, volunteer_id: Option<i64>) -> StoreResult<Vec<AcceptedScan>> {
        let rows = sqlx::query(
            r"select s.id, s.volunteer_id, v.name, s.server_time, s.direction, s.gate
              from scan s join volunteer v on v.id = s.volunteer_id
              where s.activity_id = ?1 and s.direction is not null and (?2 is null or s.volunteer_id = ?2)
              order by s.server_time, s.id",
        )
        .bind(activity_id)
        .bind(volunteer_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(accepted_scan_from_row).collect()
    }

    async fn accepted_scans_after(
        &self,
        activity_id: i64,
        after: Option<ScanCursor>,
    ) -> StoreResult<(Vec<NumberedScan>, Option<ScanCursor>)> {
        // One writer, so rows are numbered in the order they were committed: a reader sees
        // a prefix, and the next read starts after the last row of this one.
        let rows = sqlx::query(
            r"select s.rowid as row_number, s.id, s.volunteer_id, v.name, s.server_time, s.direction, s.gate, s.seq
              from scan s join volunteer v on v.id = s.volunteer_id
              where s.activity_id = ?1 and s.direction is not null and (?2 is null or s.rowid > ?2)",
        )
        .bind(activity_id)
        .bind(after.map(|c| c.0))
        .fetch_all(&self.read)
        .await?;
        let mut next = after;
        let scans = rows
            .iter()
            .map(|row| {
                let row_number: i64 = row.try_get("row_number")?;
                next = Some(ScanCursor(next.map_or(row_number, |n| n.0.max(row_number))));
                Ok(NumberedScan {
                    scan: accepted_scan_from_row(row)?,
                    seq: u32::try_from(row.try_get::<i64, _>("seq")?).unwrap_or(0),
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        Ok((scans, next))
    }

    async fn count_scans(&self, volunteer_id: i64) -> StoreResult<i64> {
        let row = sqlx::query(r"select count(*) as n from scan where volunteer_id = ?1")
            .bind(volunteer_id)
            .fetch_one(&self.read)
            .await?;
        Ok(row.try_get("n")?)
    }
}

/// An accepted scan from a row of `id, volunteer_id, name, server_time, direction, gate`.
fn accepted_scan_from_row(row: &SqliteRow) -> StoreResult<AcceptedScan> {
    Ok(AcceptedScan {
        id: row.try_get("id")?,
        volunteer_id: row.try_get("volunteer_id")?,
        volunteer_name: row.try_get("name")?,
        at: from_ms(row.try_get("server_time")?)?,
        direction: parse_direction(row.try_get("direction")?)?,
        gate: row.try_get::<Option<i64>, _>("gate")?.and_then(|g| u8::try_from(g).ok()),
    })
}

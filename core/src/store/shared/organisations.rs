//! Organisations, their status, and recorders' qualification, on both engines.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{DbRow, Engine, insert_audit, parse_day};
use crate::audit::AuditEvent;
use crate::error::{CoreError, ErrorCode};
use crate::identity::{NewOrganisation, Organisation, OrganisationKind, OrganisationStatus, RecorderQualification};
use crate::qualification::{NewQualificationEvent, QualificationEvent, QualificationEventKind};
use crate::store::codec::{RowTimes, Stamp};
use crate::store::{OrganisationStore, StoreResult, corrupt, is_unique_violation};

/// The qualification-history columns every query returns.
macro_rules! qualification_event_columns {
    () => {
        "id, staff_id, kind, reviewed_on, previous_certificate_number, previous_certificate_issued_on, \
         previous_review_due_on, certificate_number, certificate_issued_on, review_due_on, recorded_by, created_at"
    };
}

fn qualification_event_from_row(row: &DbRow) -> StoreResult<QualificationEvent> {
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
        recorded_at: row.time("created_at")?,
    })
}

fn organisation_from_row(row: &DbRow) -> StoreResult<Organisation> {
    Ok(Organisation {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        region_code: row.try_get("region_code")?,
        kind: OrganisationKind::parse(row.try_get("kind")?).ok_or_else(|| corrupt("organisation kind"))?,
        status: OrganisationStatus::parse(row.try_get("status")?).ok_or_else(|| corrupt("organisation status"))?,
    })
}

#[async_trait]
impl OrganisationStore for Engine {
    async fn create_organisation(
        &self,
        new: &NewOrganisation,
        status: OrganisationStatus,
        at: DateTime<Utc>,
    ) -> StoreResult<Organisation> {
        let row = sqlx::query(
            r"insert into organisation (name, region_code, kind, status, created_at) values ($1, $2, $3, $4, $5)
              returning id, name, region_code, kind, status",
        )
        .bind(&new.name)
        .bind(&new.region_code)
        .bind(new.kind.as_str())
        .bind(status.as_str())
        .bind(Stamp(at))
        .fetch_one(self.writer())
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
        let mut tx = self.writer().begin().await?;
        let row = sqlx::query(
            r"insert into organisation (name, region_code, kind, status, created_at) values ($1, $2, $3, $4, $5)
              returning id, name, region_code, kind, status",
        )
        .bind(&new.name)
        .bind(&new.region_code)
        .bind(new.kind.as_str())
        .bind(status.as_str())
        .bind(Stamp(audit.at))
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) { CoreError::code(ErrorCode::OrganisationNameTaken) } else { e.into() }
        })?;
        let organisation = organisation_from_row(&row)?;
        sqlx::query(
            r"insert into organisation_event (organisation_id, staff_id, action, reason, at) values ($1, $2, $3, $4, $5)",
        )
        .bind(organisation.id)
        .bind(staff_id)
        .bind(status.as_str())
        .bind(reason)
        .bind(Stamp(audit.at))
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
        let mut tx = self.writer().begin().await?;
        let current =
            sqlx::query(r"select status from organisation where id = $1").bind(id).fetch_optional(&mut *tx).await?;
        let Some(current) = current else { return Ok(None) };
        let status =
            OrganisationStatus::parse(current.try_get("status")?).ok_or_else(|| corrupt("organisation status"))?;
        if !from.contains(&status) {
            return Ok(None);
        }
        let row = sqlx::query(
            r"update organisation set status = $1 where id = $2 and status = $3
              returning id, name, region_code, kind, status",
        )
        .bind(to.as_str())
        .bind(id)
        .bind(status.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(None) };
        sqlx::query(
            r"insert into organisation_event (organisation_id, staff_id, action, reason, at) values ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(staff_id)
        .bind(to.as_str())
        .bind(reason)
        .bind(Stamp(at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(organisation_from_row(&row)?))
    }

    async fn activity_ids_of(&self, organisation_id: i64) -> StoreResult<Vec<i64>> {
        let rows = sqlx::query(r"select id from activity where organisation_id = $1 order by id")
            .bind(organisation_id)
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(|r| Ok(r.try_get("id")?)).collect()
    }

    async fn get_organisation(&self, id: i64) -> StoreResult<Option<Organisation>> {
        let row = sqlx::query(r"select id, name, region_code, kind, status from organisation where id = $1")
            .bind(id)
            .fetch_optional(self.reader())
            .await?;
        row.as_ref().map(organisation_from_row).transpose()
    }

    async fn list_organisations(&self, status: Option<OrganisationStatus>) -> StoreResult<Vec<Organisation>> {
        let rows = sqlx::query(
            r"select id, name, region_code, kind, status from organisation where ($1 is null or status = $1) order by id",
        )
        .bind(status.map(OrganisationStatus::as_str))
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(organisation_from_row).collect()
    }

    async fn record_qualification(
        &self,
        event: &NewQualificationEvent,
        audit: &AuditEvent,
    ) -> StoreResult<Option<QualificationEvent>> {
        let day = |d: chrono::NaiveDate| d.format("%Y-%m-%d").to_string();
        let (previous, next) = (&event.previous, &event.qualification);
        let mut tx = self.writer().begin().await?;
        // Only if the certificate is still the one the change was computed from: two
        // officers recording the same review at once move the due date on once.
        let changed = sqlx::query(
            r"update staff set certificate_number = $2, certificate_issued_on = $3, review_due_on = $4
              where id = $1 and role = 'recorder'
                and certificate_number = $5 and certificate_issued_on = $6 and review_due_on = $7",
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
              values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
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
        .bind(Stamp(event.at))
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
            " from recorder_qualification_event where staff_id = $1 order by id"
        ))
        .bind(staff_id)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(qualification_event_from_row).collect()
    }
}

//! Volunteers' requests to correct their data, and the scans they may cite, on both engines.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Conn, DbRow, Engine, insert_audit};
use crate::audit::AuditEvent;
use crate::corrections::{CorrectionField, CorrectionRequest, CorrectionStatus, MyScan, VolunteerChange};
use crate::store::codec::{RowTimes, Stamp};
use crate::store::{CorrectionStore, StoreResult, corrupt, skills_json};

/// The correction-request columns every query returns.
macro_rules! correction_columns {
    () => {
        "id, volunteer_id, field, requested_value, reason, status, requested_at, decided_by, decided_at, \
         decision_reason"
    };
}

fn correction_from_row(row: &DbRow) -> StoreResult<CorrectionRequest> {
    Ok(CorrectionRequest {
        id: row.try_get("id")?,
        volunteer_id: row.try_get("volunteer_id")?,
        field: CorrectionField::parse(row.try_get("field")?).ok_or_else(|| corrupt("correction field"))?,
        requested_value: row.try_get("requested_value")?,
        reason: row.try_get("reason")?,
        status: CorrectionStatus::parse(row.try_get("status")?).ok_or_else(|| corrupt("correction status"))?,
        requested_at: row.time("requested_at")?,
        decided_by: row.try_get("decided_by")?,
        decided_at: row.maybe_time("decided_at")?,
        decision_reason: row.try_get("decision_reason")?,
    })
}

/// Applies an accepted correction to the volunteer row, on a transaction.
async fn apply_volunteer_change(conn: &mut Conn, volunteer_id: i64, change: &VolunteerChange) -> StoreResult<()> {
    let query = match change {
        VolunteerChange::Name(name) => {
            sqlx::query(r"update volunteer set name = $2 where id = $1").bind(volunteer_id).bind(name.clone())
        }
        VolunteerChange::Gender(gender) => sqlx::query(r"update volunteer set gender = $2 where id = $1")
            .bind(volunteer_id)
            .bind(i16::from(gender.code())),
        VolunteerChange::BirthMonth(month) => {
            sqlx::query(r"update volunteer set birth_month = $2 where id = $1").bind(volunteer_id).bind(month.clone())
        }
        VolunteerChange::Skills(skills) => {
            sqlx::query(r"update volunteer set skills = $2 where id = $1").bind(volunteer_id).bind(skills_json(skills))
        }
    };
    query.execute(&mut *conn).await?;
    Ok(())
}

#[async_trait]
impl CorrectionStore for Engine {
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
              values ($1, $2, $3, $4, $5) returning ",
            correction_columns!()
        ))
        .bind(volunteer_id)
        .bind(field.as_str())
        .bind(requested_value)
        .bind(reason)
        .bind(Stamp(at))
        .fetch_one(self.writer())
        .await?;
        correction_from_row(&row)
    }

    async fn get_correction(&self, id: i64) -> StoreResult<Option<CorrectionRequest>> {
        let row = sqlx::query(concat!("select ", correction_columns!(), " from correction_request where id = $1"))
            .bind(id)
            .fetch_optional(self.reader())
            .await?;
        row.as_ref().map(correction_from_row).transpose()
    }

    async fn corrections_of(&self, volunteer_id: i64) -> StoreResult<Vec<CorrectionRequest>> {
        let rows = sqlx::query(concat!(
            "select ",
            correction_columns!(),
            " from correction_request where volunteer_id = $1 order by requested_at, id"
        ))
        .bind(volunteer_id)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(correction_from_row).collect()
    }

    async fn open_corrections(&self) -> StoreResult<Vec<CorrectionRequest>> {
        let rows = sqlx::query(concat!(
            "select ",
            correction_columns!(),
            " from correction_request where status = 'open' order by requested_at, id limit 1000"
        ))
        .fetch_all(self.reader())
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
        let mut tx = self.writer().begin().await?;
        let row = sqlx::query(concat!(
            r"update correction_request set status = $2, decided_by = $3, decision_reason = $4, decided_at = $5
              where id = $1 and status = 'open' returning ",
            correction_columns!()
        ))
        .bind(id)
        .bind(status.as_str())
        .bind(decided_by)
        .bind(reason)
        .bind(Stamp(at))
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
              where s.volunteer_id = $1 order by s.server_time, s.id",
        )
        .bind(volunteer_id)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(MyScan {
                    at: row.time("server_time")?,
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
}

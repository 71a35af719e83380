//! A volunteer's service record: evaluations, satisfaction, complaints, training, awards and finalised sessions, on both engines.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{DbRow, Engine, insert_audit, parse_day};
use crate::audit::AuditEvent;
use crate::review::record::{
    Award, Complaint, ComplaintStatus, Evaluation, Grade, RecordSession, Satisfaction, Training,
};
use crate::store::codec::{RowTimes, Stamp};
use crate::store::{RecordStore, StoreResult, corrupt};

/// The evaluation columns every query returns.
macro_rules! evaluation_columns {
    () => {
        "activity_id, volunteer_id, grade, comment, evaluated_by, evaluated_at"
    };
}

fn evaluation_from_row(row: &DbRow) -> StoreResult<Evaluation> {
    let grade: String = row.try_get("grade")?;
    Ok(Evaluation {
        activity_id: row.try_get("activity_id")?,
        volunteer_id: row.try_get("volunteer_id")?,
        grade: Grade::parse(&grade).ok_or_else(|| corrupt("grade"))?,
        comment: row.try_get("comment")?,
        evaluated_by: row.try_get("evaluated_by")?,
        evaluated_at: row.time("evaluated_at")?,
    })
}

/// The complaint columns every query returns (never the complainant).
macro_rules! complaint_columns {
    () => {
        "id, volunteer_id, organisation_id, activity_id, description, status, filed_by, filed_at, investigation, \
         decided_by, decision_reason"
    };
}

fn complaint_from_row(row: &DbRow) -> StoreResult<Complaint> {
    let status: String = row.try_get("status")?;
    Ok(Complaint {
        id: row.try_get("id")?,
        volunteer_id: row.try_get("volunteer_id")?,
        organisation_id: row.try_get("organisation_id")?,
        activity_id: row.try_get("activity_id")?,
        description: row.try_get("description")?,
        status: ComplaintStatus::parse(&status).ok_or_else(|| corrupt("complaint status"))?,
        filed_by: row.try_get("filed_by")?,
        filed_at: row.time("filed_at")?,
        investigation: row.try_get("investigation")?,
        decided_by: row.try_get("decided_by")?,
        decision_reason: row.try_get("decision_reason")?,
    })
}

#[async_trait]
impl RecordStore for Engine {
    async fn put_evaluation(&self, evaluation: &Evaluation, audit: &AuditEvent) -> StoreResult<()> {
        let mut tx = self.writer().begin().await?;
        sqlx::query(
            r"insert into evaluation (activity_id, volunteer_id, grade, comment, evaluated_by, evaluated_at)
              values ($1, $2, $3, $4, $5, $6)
              on conflict (activity_id, volunteer_id) do update set grade = excluded.grade, comment = excluded.comment,
                  evaluated_by = excluded.evaluated_by, evaluated_at = excluded.evaluated_at",
        )
        .bind(evaluation.activity_id)
        .bind(evaluation.volunteer_id)
        .bind(evaluation.grade.as_str())
        .bind(&evaluation.comment)
        .bind(evaluation.evaluated_by)
        .bind(Stamp(evaluation.evaluated_at))
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
            " from evaluation where activity_id = $1 order by volunteer_id"
        ))
        .bind(activity_id)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(evaluation_from_row).collect()
    }

    async fn evaluations_of(&self, volunteer_id: i64) -> StoreResult<Vec<Evaluation>> {
        let rows = sqlx::query(concat!(
            "select ",
            evaluation_columns!(),
            " from evaluation where volunteer_id = $1 order by activity_id"
        ))
        .bind(volunteer_id)
        .fetch_all(self.reader())
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
              values ($1, $2, $3, $4, $5, $6)
              on conflict (activity_id) do update set score = excluded.score, respondents = excluded.respondents,
                  comment = excluded.comment, recorded_by = excluded.recorded_by, recorded_at = excluded.recorded_at",
        )
        .bind(activity_id)
        .bind(i32::from(satisfaction.score))
        .bind(i32::try_from(satisfaction.respondents).unwrap_or(i32::MAX))
        .bind(&satisfaction.comment)
        .bind(by)
        .bind(Stamp(at))
        .execute(self.writer())
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
              values ($1, $2, $3, $4, $5, $6, $7) returning ",
            complaint_columns!()
        ))
        .bind(volunteer_id)
        .bind(organisation_id)
        .bind(activity_id)
        .bind(complainant_sealed)
        .bind(description)
        .bind(by)
        .bind(Stamp(at))
        .fetch_one(self.writer())
        .await?;
        complaint_from_row(&row)
    }

    async fn get_complaint(&self, id: i64) -> StoreResult<Option<Complaint>> {
        let row = sqlx::query(concat!("select ", complaint_columns!(), " from complaint where id = $1"))
            .bind(id)
            .fetch_optional(self.reader())
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
        let mut tx = self.writer().begin().await?;
        let current: Option<String> =
            sqlx::query_scalar(r"select status from complaint where id = $1").bind(id).fetch_optional(&mut *tx).await?;
        let Some(current) = current.as_deref().and_then(ComplaintStatus::parse).filter(|s| from.contains(s)) else {
            return Ok(None);
        };
        let query = if to == ComplaintStatus::Investigating {
            sqlx::query(concat!(
                r"update complaint set status = $2, investigation = $3 where id = $1 and status = $4 returning ",
                complaint_columns!()
            ))
            .bind(id)
            .bind(to.as_str())
            .bind(text)
            .bind(current.as_str())
        } else {
            sqlx::query(concat!(
                r"update complaint set status = $2, decision_reason = $3, decided_by = $4, decided_at = $5
                  where id = $1 and status = $6 returning ",
                complaint_columns!()
            ))
            .bind(id)
            .bind(to.as_str())
            .bind(text)
            .bind(by)
            .bind(Stamp(at))
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
            " from complaint where volunteer_id = $1 order by id"
        ))
        .bind(volunteer_id)
        .fetch_all(self.reader())
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
              values ($1, $2, $3, $4, $5, $6, $7) returning id",
        )
        .bind(volunteer_id)
        .bind(organisation_id)
        .bind(title)
        .bind(held_on.format("%Y-%m-%d").to_string())
        .bind(i32::try_from(hours).unwrap_or(i32::MAX))
        .bind(by)
        .bind(Stamp(at))
        .fetch_one(self.writer())
        .await?;
        Ok(Training { id, volunteer_id, organisation_id, title: title.to_owned(), held_on, hours })
    }

    async fn trainings_of(&self, volunteer_id: i64) -> StoreResult<Vec<Training>> {
        let rows = sqlx::query(
            r"select id, volunteer_id, organisation_id, title, held_on, hours from training
              where volunteer_id = $1 order by held_on, id",
        )
        .bind(volunteer_id)
        .fetch_all(self.reader())
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
                    hours: u32::try_from(row.try_get::<i32, _>("hours")?).map_err(|_| corrupt("hours"))?,
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
              values ($1, $2, $3, $4, $5, $6, $7) returning id",
        )
        .bind(volunteer_id)
        .bind(organisation_id)
        .bind(title)
        .bind(awarded_by)
        .bind(awarded_on.format("%Y-%m-%d").to_string())
        .bind(by)
        .bind(Stamp(at))
        .fetch_one(self.writer())
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
              where volunteer_id = $1 order by awarded_on, id",
        )
        .bind(volunteer_id)
        .fetch_all(self.reader())
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
              where f.volunteer_id = $1 order by f.local_day, f.activity_id",
        )
        .bind(volunteer_id)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|row| {
                let day: String = row.try_get("local_day")?;
                Ok(RecordSession {
                    activity_id: row.try_get("activity_id")?,
                    activity_name: row.try_get("name")?,
                    day: parse_day(&day)?,
                    minutes: u32::try_from(row.try_get::<i32, _>("final_minutes")?).map_err(|_| corrupt("minutes"))?,
                })
            })
            .collect()
    }
}

//! Training completions, on both engines.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{DbRow, Engine, insert_audit};
use crate::audit::AuditEvent;
use crate::signups::TrainingCompletion;
use crate::store::codec::{RowTimes, Stamp};
use crate::store::{StoreResult, TrainingStore, corrupt};

/// A completion with the volunteer's name.
macro_rules! completion_select {
    () => {
        r"
    select t.training, t.volunteer_id, v.name as volunteer_name, t.recorded_at
    from training_completion t join volunteer v on v.id = t.volunteer_id"
    };
}

fn completion_from(row: &DbRow) -> StoreResult<TrainingCompletion> {
    Ok(TrainingCompletion {
        training: row.try_get("training")?,
        volunteer_id: row.try_get("volunteer_id")?,
        volunteer_name: row.try_get("volunteer_name")?,
        recorded_at: row.time("recorded_at")?,
    })
}

#[async_trait]
impl TrainingStore for Engine {
    async fn record_training_completion(
        &self,
        organisation_id: i64,
        training: &str,
        volunteer_id: i64,
        by: i64,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> StoreResult<TrainingCompletion> {
        let mut tx = self.writer().begin().await?;
        let inserted = sqlx::query(
            r"insert into training_completion (organisation_id, training, volunteer_id, recorded_by, recorded_at)
              values ($1, $2, $3, $4, $5)
              on conflict (organisation_id, training, volunteer_id) do nothing",
        )
        .bind(organisation_id)
        .bind(training)
        .bind(volunteer_id)
        .bind(by)
        .bind(Stamp(at))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 1 {
            insert_audit(&mut tx, audit).await?;
        }
        let row = sqlx::query(concat!(
            completion_select!(),
            " where t.organisation_id = $1 and t.training = $2 and t.volunteer_id = $3"
        ))
        .bind(organisation_id)
        .bind(training)
        .bind(volunteer_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| corrupt("training completion vanished"))?;
        tx.commit().await?;
        completion_from(&row)
    }

    async fn has_completed_training(
        &self,
        organisation_id: i64,
        training: &str,
        volunteer_id: i64,
    ) -> StoreResult<bool> {
        Ok(sqlx::query_scalar(
            r"select exists (select 1 from training_completion
                  where organisation_id = $1 and training = $2 and volunteer_id = $3)",
        )
        .bind(organisation_id)
        .bind(training)
        .bind(volunteer_id)
        .fetch_one(self.reader())
        .await?)
    }

    async fn training_completions(&self, organisation_id: i64, training: &str) -> StoreResult<Vec<TrainingCompletion>> {
        let rows = sqlx::query(concat!(
            completion_select!(),
            " where t.organisation_id = $1 and t.training = $2 order by t.recorded_at desc, t.id desc"
        ))
        .bind(organisation_id)
        .bind(training)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(completion_from).collect()
    }
}

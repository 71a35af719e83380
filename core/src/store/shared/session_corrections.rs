//! Corrections of finalised sessions: proposals and decisions, on both engines.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{DbRow, Engine, correct_finalised, finalised_from_row, insert_audit, parse_day};
use crate::audit::AuditEvent;
use crate::review::correction::{CorrectionProposal, Decided, NewProposal, ProposalStatus, Proposed};
use crate::review::finalise::FinalisedSession;
use crate::store::codec::{RowTimes, Stamp};
use crate::store::{SessionCorrectionStore, StoreResult, corrupt};

/// The correction-proposal columns every query returns.
macro_rules! proposal_columns {
    () => {
        "id, activity_id, volunteer_id, local_day, from_minutes, to_minutes, reason, proposed_by, proposed_at, \
         status, decided_by, decided_at, decision_reason"
    };
}

fn proposal_from_row(row: &DbRow) -> StoreResult<CorrectionProposal> {
    let day: String = row.try_get("local_day")?;
    let status: String = row.try_get("status")?;
    let minutes = |column: &str| -> StoreResult<u32> {
        u32::try_from(row.try_get::<i32, _>(column)?).map_err(|_| corrupt("minutes"))
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
        proposed_at: row.time("proposed_at")?,
        status: ProposalStatus::parse(&status).ok_or_else(|| corrupt("proposal status"))?,
        decided_by: row.try_get("decided_by")?,
        decided_at: row.maybe_time("decided_at")?,
        decision_reason: row.try_get("decision_reason")?,
    })
}

#[async_trait]
impl SessionCorrectionStore for Engine {
    async fn propose_session_correction(&self, proposal: &NewProposal, audit: &AuditEvent) -> StoreResult<Proposed> {
        let mut tx = self.writer().begin().await?;
        let day = proposal.day.format("%Y-%m-%d").to_string();
        let current: Option<i32> = sqlx::query_scalar(concat!(
            "select final_minutes from finalised_session where activity_id = $1 and volunteer_id = $2 and local_day = $3",
            for_update!()
        ))
        .bind(proposal.activity_id)
        .bind(proposal.volunteer_id)
        .bind(&day)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(current) = current else { return Ok(Proposed::NoSession) };
        let row = sqlx::query(concat!(
            r"insert into session_correction_proposal (activity_id, volunteer_id, local_day, from_minutes, to_minutes,
                                                      reason, proposed_by, proposed_at)
              values ($1, $2, $3, $4, $5, $6, $7, $8)
              on conflict do nothing returning ",
            proposal_columns!()
        ))
        .bind(proposal.activity_id)
        .bind(proposal.volunteer_id)
        .bind(&day)
        .bind(current)
        .bind(i32::try_from(proposal.to_minutes).unwrap_or(i32::MAX))
        .bind(&proposal.reason)
        .bind(proposal.proposed_by)
        .bind(Stamp(proposal.at))
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
            " from session_correction_proposal where activity_id = $1 order by id"
        ))
        .bind(activity_id)
        .fetch_all(self.reader())
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
        let mut tx = self.writer().begin().await?;
        let row = sqlx::query(concat!(
            "select ",
            proposal_columns!(),
            " from session_correction_proposal where id = $1",
            for_update!()
        ))
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
            let current: Option<i32> = sqlx::query_scalar(concat!(
                "select final_minutes from finalised_session where activity_id = $1 and volunteer_id = $2 and local_day = $3",
                for_update!()
            ))
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
            r"update session_correction_proposal set status = $2, decided_by = $3, decided_at = $4, decision_reason = $5
              where id = $1 returning ",
            proposal_columns!()
        ))
        .bind(id)
        .bind(if approve { "approved" } else { "rejected" })
        .bind(by)
        .bind(Stamp(at))
        .bind(reason)
        .fetch_one(&mut *tx)
        .await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(Decided::Done(proposal_from_row(&row)?, corrected))
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
              limit $1",
        )
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|row| Ok((row.try_get("activity_id")?, finalised_from_row(row)?, row.try_get("reason")?)))
            .collect()
    }
}

//! Review: settings, flags, closing, late entries and finalisation, on both engines.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{QueryBuilder, Row};

use super::{Db, DbRow, Engine, finalised_from_row, insert_audit, parse_day};
use crate::audit::AuditEvent;
use crate::error::CoreError;
use crate::publicity::NewPublicity;
use crate::review::finalise::{Finalisation, FinalisedSession, LateEntry, LateEntryStatus, NewLateEntry};
use crate::review::rules::{Reviewer, RuleCode, Severity};
use crate::review::{Flag, FlagCounts, FlagStatus, LeftOpenPolicy, NewFlag, ReviewSettings};
use crate::store::codec::{List, RowTimes, Stamp};
use crate::store::{FlaggedDays, ReviewStore, StoreResult, corrupt};

/// The flag columns every query returns.
macro_rules! flag_columns {
    () => {
        "id, activity_id, volunteer_id, rule, severity, reviewer, local_day, evidence, explanation, raised_at, status, \
         resolved_by, resolved_at, resolution_reason, adjusted_minutes"
    };
}

/// A stored count as the API answers it (a count past `u32::MAX` is shown as that).
fn count(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn flag_from_row(row: &DbRow) -> StoreResult<Flag> {
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
        severity: Severity::parse(&severity).ok_or_else(|| corrupt("severity"))?,
        reviewer: Reviewer::parse(&reviewer).ok_or_else(|| corrupt("reviewer"))?,
        day: chrono::NaiveDate::parse_from_str(&day, "%Y-%m-%d").map_err(|_| corrupt("flag day"))?,
        evidence: serde_json::from_str(&evidence).map_err(|_| corrupt("flag evidence"))?,
        explanation: row.try_get("explanation")?,
        raised_at: row.time("raised_at")?,
        status: FlagStatus::parse(&status).ok_or_else(|| corrupt("flag status"))?,
        resolved_by: row.try_get("resolved_by")?,
        resolved_at: row.maybe_time("resolved_at")?,
        resolution_reason: row.try_get("resolution_reason")?,
        adjusted_minutes: row.try_get::<Option<i32>, _>("adjusted_minutes")?.and_then(|m| u32::try_from(m).ok()),
    })
}

/// The late-entry columns every query returns.
macro_rules! late_entry_columns {
    () => {
        "id, activity_id, volunteer_id, local_day, minutes, evidence, reason, requested_by, requested_at, status, \
         decided_by, decision_reason"
    };
}

fn late_entry_from_row(row: &DbRow) -> StoreResult<LateEntry> {
    let day: String = row.try_get("local_day")?;
    let status: String = row.try_get("status")?;
    Ok(LateEntry {
        id: row.try_get("id")?,
        activity_id: row.try_get("activity_id")?,
        volunteer_id: row.try_get("volunteer_id")?,
        day: parse_day(&day)?,
        minutes: u32::try_from(row.try_get::<i32, _>("minutes")?).map_err(|_| corrupt("minutes"))?,
        evidence: row.try_get("evidence")?,
        reason: row.try_get("reason")?,
        requested_by: row.try_get("requested_by")?,
        requested_at: row.time("requested_at")?,
        status: LateEntryStatus::parse(&status).ok_or_else(|| corrupt("late entry status"))?,
        decided_by: row.try_get("decided_by")?,
        decision_reason: row.try_get("decision_reason")?,
    })
}

#[async_trait]
impl ReviewStore for Engine {
    async fn review_settings(&self, activity_id: i64) -> StoreResult<Option<ReviewSettings>> {
        let row = sqlx::query(r"select params, left_open_policy from activity_review_settings where activity_id = $1")
            .bind(activity_id)
            .fetch_optional(self.reader())
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
              values ($1, $2, $3, $4, $5)
              on conflict (activity_id) do update set params = excluded.params,
                  left_open_policy = excluded.left_open_policy, updated_by = excluded.updated_by,
                  updated_at = excluded.updated_at",
        )
        .bind(activity_id)
        .bind(params)
        .bind(settings.left_open_policy.as_str())
        .bind(by)
        .bind(Stamp(at))
        .execute(self.writer())
        .await?;
        Ok(())
    }

    async fn raise_flags(&self, flags: &[NewFlag], known: &mut FlaggedDays) -> StoreResult<usize> {
        // Activities in id order: two instances raising for the same activities lock
        // their count rows in the same order.
        let mut by_activity: BTreeMap<i64, Vec<&NewFlag>> = BTreeMap::new();
        for flag in flags {
            by_activity.entry(flag.activity_id).or_default().push(flag);
        }
        let mut tx = self.writer().begin().await?;
        let mut raised: i64 = 0;
        let mut seen: Vec<(i64, i64, String)> = Vec::new();
        for (activity_id, flags) in by_activity {
            // The count row is locked before anything is read, so that the days already
            // flagged are read after any other instance's raise has committed: two
            // passes raising different rules on one new day count that day once.
            sqlx::query("insert into review_flag_count (activity_id) values ($1) on conflict (activity_id) do nothing")
                .bind(activity_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query(concat!("select flags from review_flag_count where activity_id = $1", for_update!()))
                .bind(activity_id)
                .fetch_one(&mut *tx)
                .await?;
            let day_of = |f: &NewFlag| f.finding.day.format("%Y-%m-%d").to_string();
            let volunteers: Vec<i64> = flags
                .iter()
                .filter(|f| !known.contains(&(activity_id, f.finding.volunteer_id, day_of(f))))
                .map(|f| f.finding.volunteer_id)
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            // The flagged days of the volunteers read here; a day in `known` is not new.
            let mut days: HashSet<(i64, String)> = if volunteers.is_empty() {
                HashSet::new()
            } else {
                sqlx::query(concat!(
                    "select distinct volunteer_id, local_day from review_flag where activity_id = $1 and volunteer_id",
                    member_of!("$2")
                ))
                .bind(activity_id)
                .bind(List(&volunteers))
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|row| Ok((row.try_get("volunteer_id")?, row.try_get("local_day")?)))
                .collect::<StoreResult<_>>()?
            };
            let mut new_days: i64 = 0;
            let mut inserted: i64 = 0;
            // Many rows to a statement: a pass over an activity where everyone was flagged
            // raises tens of thousands at once. Ten values a row stays far below either
            // engine's limit on bound values.
            for chunk in flags.chunks(1000) {
                let mut query: QueryBuilder<Db> = QueryBuilder::new(
                    "insert into review_flag (activity_id, volunteer_id, rule, severity, reviewer, local_day, \
                     dedupe_key, evidence, explanation, raised_at) ",
                );
                query.push_values(chunk, |mut row, flag| {
                    let f = &flag.finding;
                    row.push_bind(activity_id)
                        .push_bind(f.volunteer_id)
                        .push_bind(f.rule.as_str())
                        .push_bind(f.rule.severity().as_str())
                        .push_bind(f.rule.reviewer().as_str())
                        .push_bind(f.day.format("%Y-%m-%d").to_string())
                        .push_bind(f.key.clone())
                        .push_bind(f.values.to_string())
                        .push_bind(f.explanation.clone())
                        .push_bind(Stamp(flag.raised_at));
                });
                query.push(
                    " on conflict (activity_id, volunteer_id, rule, dedupe_key) do nothing \
                     returning volunteer_id, local_day",
                );
                // Not kept prepared: each row count is its own statement text (see the
                // scan batch's shapes in `sqlite/scan_batches.rs`).
                for row in query.build().persistent(false).fetch_all(&mut *tx).await? {
                    inserted += 1;
                    let (volunteer_id, day): (i64, String) = (row.try_get("volunteer_id")?, row.try_get("local_day")?);
                    if !known.contains(&(activity_id, volunteer_id, day.clone())) && days.insert((volunteer_id, day)) {
                        new_days += 1;
                    }
                }
            }
            if inserted > 0 {
                // Every flag is raised open.
                sqlx::query(
                    "update review_flag_count set flags = flags + $2, open_flags = open_flags + $2, \
                     flagged_days = flagged_days + $3 where activity_id = $1",
                )
                .bind(activity_id)
                .bind(inserted)
                .bind(new_days)
                .execute(&mut *tx)
                .await?;
            }
            raised += inserted;
            seen.extend(days.into_iter().map(|(volunteer_id, day)| (activity_id, volunteer_id, day)));
        }
        tx.commit().await?;
        known.extend(seen);
        Ok(usize::try_from(raised).unwrap_or(usize::MAX))
    }

    async fn flags(&self, activity_id: i64) -> StoreResult<Vec<Flag>> {
        let rows = sqlx::query(concat!(
            "select ",
            flag_columns!(),
            " from review_flag where activity_id = $1 order by volunteer_id, local_day, id"
        ))
        .bind(activity_id)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(flag_from_row).collect()
    }

    async fn flag_page(&self, activity_id: i64, after: Option<(i64, NaiveDate)>, days: u32) -> StoreResult<Vec<Flag>> {
        // Days are stored as 'YYYY-MM-DD', so text order is day order and '' precedes all.
        let (volunteer, day) = after.map_or((i64::MIN, String::new()), |(v, d)| (v, d.format("%Y-%m-%d").to_string()));
        let rows = sqlx::query(concat!(
            "select ",
            flag_columns!(),
            " from review_flag where activity_id = $1 and (volunteer_id, local_day) in (
                  select distinct volunteer_id, local_day from review_flag
                  where activity_id = $1 and (volunteer_id, local_day) > ($2, $3)
                  order by volunteer_id, local_day limit $4)
              order by volunteer_id, local_day, id"
        ))
        .bind(activity_id)
        .bind(volunteer)
        .bind(day)
        .bind(i64::from(days))
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(flag_from_row).collect()
    }

    async fn flag_counts(&self, activity_id: i64) -> StoreResult<FlagCounts> {
        // Kept by every raise and decision in their own transactions: reading them costs
        // the same for ten flags as for a quarter of a million.
        let row = sqlx::query("select open_flags, flagged_days from review_flag_count where activity_id = $1")
            .bind(activity_id)
            .fetch_optional(self.reader())
            .await?;
        let Some(row) = row else { return Ok(FlagCounts::default()) };
        Ok(FlagCounts { open: count(row.try_get("open_flags")?), days: count(row.try_get("flagged_days")?) })
    }

    async fn newest_flags(&self, activity_id: i64, limit: u32) -> StoreResult<(Vec<Flag>, u32)> {
        // The total from the kept counts, in the same statement as the list: one snapshot,
        // and no count over every flag. Newest first walks `review_flag_raised_ix` back.
        let rows = sqlx::query(concat!(
            "select ",
            flag_columns!(),
            ", (select flags from review_flag_count c where c.activity_id = $1) as total
              from review_flag where activity_id = $1
              order by raised_at desc, id desc limit $2"
        ))
        .bind(activity_id)
        .bind(i64::from(limit))
        .fetch_all(self.reader())
        .await?;
        let total = match rows.first() {
            Some(row) => count(row.try_get::<Option<i64>, _>("total")?.unwrap_or_default()),
            None => 0,
        };
        Ok((rows.iter().map(flag_from_row).collect::<StoreResult<_>>()?, total))
    }

    async fn flag_keys(&self, activity_id: i64, volunteers: Option<&[i64]>) -> StoreResult<Vec<(i64, String, String)>> {
        let rows =
            match volunteers {
                None => {
                    sqlx::query(r"select volunteer_id, rule, dedupe_key from review_flag where activity_id = $1")
                        .bind(activity_id)
                        .fetch_all(self.reader())
                        .await?
                }
                Some(volunteers) => sqlx::query(concat!(
                    "select volunteer_id, rule, dedupe_key from review_flag where activity_id = $1 and volunteer_id",
                    member_of!("$2")
                ))
                .bind(activity_id)
                .bind(List(volunteers))
                .fetch_all(self.reader())
                .await?,
            };
        rows.iter()
            .map(|row| Ok((row.try_get("volunteer_id")?, row.try_get("rule")?, row.try_get("dedupe_key")?)))
            .collect()
    }

    async fn get_flag(&self, id: i64) -> StoreResult<Option<Flag>> {
        let row = sqlx::query(concat!("select ", flag_columns!(), " from review_flag where id = $1"))
            .bind(id)
            .fetch_optional(self.reader())
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
        let mut tx = self.writer().begin().await?;
        let row = sqlx::query(concat!(
            r"update review_flag set status = $2, resolved_by = $3, resolution_reason = $4,
                                     adjusted_minutes = $5, resolved_at = $6
              where id = $1 and status = 'open' returning ",
            flag_columns!()
        ))
        .bind(id)
        .bind(status.as_str())
        .bind(by)
        .bind(reason)
        .bind(minutes.map(|m| i32::try_from(m).unwrap_or(i32::MAX)))
        .bind(Stamp(at))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let flag = flag_from_row(&row)?;
        // Only an open flag is decided, once: one fewer open.
        sqlx::query("update review_flag_count set open_flags = open_flags - 1 where activity_id = $1")
            .bind(flag.activity_id)
            .execute(&mut *tx)
            .await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(Some(flag))
    }

    async fn is_closed(&self, activity_id: i64) -> StoreResult<bool> {
        let row = sqlx::query(r"select 1 as one from activity_closure where activity_id = $1")
            .bind(activity_id)
            .fetch_optional(self.reader())
            .await?;
        Ok(row.is_some())
    }

    async fn is_finalised(&self, activity_id: i64) -> StoreResult<bool> {
        let row = sqlx::query(r"select 1 as one from activity_finalisation where activity_id = $1")
            .bind(activity_id)
            .fetch_optional(self.reader())
            .await?;
        Ok(row.is_some())
    }

    async fn activities_to_close(&self, cutoff: DateTime<Utc>, limit: i64) -> StoreResult<Vec<i64>> {
        Ok(sqlx::query_scalar(
            r"select a.id from activity a
              where a.ends_at < $1 and not exists (select 1 from activity_closure c where c.activity_id = a.id)
              order by a.ends_at, a.id limit $2",
        )
        .bind(Stamp(cutoff))
        .bind(limit)
        .fetch_all(self.reader())
        .await?)
    }

    async fn mark_closed(&self, activity_id: i64, at: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(r"insert into activity_closure (activity_id, closed_at) values ($1, $2) on conflict do nothing")
            .bind(activity_id)
            .bind(Stamp(at))
            .execute(self.writer())
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
              values ($1, $2, $3, $4, $5, $6, $7, $8) returning ",
            late_entry_columns!()
        ))
        .bind(activity_id)
        .bind(new.volunteer_id)
        .bind(new.day.format("%Y-%m-%d").to_string())
        .bind(i32::try_from(new.minutes).unwrap_or(i32::MAX))
        .bind(evidence)
        .bind(reason)
        .bind(by)
        .bind(Stamp(at))
        .fetch_one(self.writer())
        .await?;
        late_entry_from_row(&row)
    }

    async fn late_entries(&self, activity_id: i64) -> StoreResult<Vec<LateEntry>> {
        let rows = sqlx::query(concat!(
            "select ",
            late_entry_columns!(),
            " from late_entry where activity_id = $1 order by id"
        ))
        .bind(activity_id)
        .fetch_all(self.reader())
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
        let mut tx = self.writer().begin().await?;
        let row = sqlx::query(concat!(
            r"update late_entry set status = $2, decided_by = $3, decision_reason = $4, decided_at = $5
              where id = $1 and status = 'open' returning ",
            late_entry_columns!()
        ))
        .bind(id)
        .bind(status.as_str())
        .bind(by)
        .bind(reason)
        .bind(Stamp(at))
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
        let mut tx = self.writer().begin().await?;
        let done = sqlx::query(
            r"insert into activity_finalisation (activity_id, finalised_by, finalised_at) values ($1, $2, $3)
              on conflict do nothing",
        )
        .bind(activity_id)
        .bind(by)
        .bind(Stamp(at))
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        for s in sessions {
            sqlx::query(
                r"insert into finalised_session (activity_id, volunteer_id, local_day, scan_minutes, final_minutes, source)
                  values ($1, $2, $3, $4, $5, $6)",
            )
            .bind(activity_id)
            .bind(s.volunteer_id)
            .bind(s.day.format("%Y-%m-%d").to_string())
            .bind(i32::try_from(s.scan_minutes).unwrap_or(i32::MAX))
            .bind(i32::try_from(s.final_minutes).unwrap_or(i32::MAX))
            .bind(s.source.as_str())
            .execute(&mut *tx)
            .await?;
        }
        for p in publicity {
            sqlx::query(
                r"insert into publicity_entry (activity_id, volunteer_id, local_day, minutes, published_on, working_days,
                                               ends_on, status, created_at)
                  values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(activity_id)
            .bind(p.volunteer_id)
            .bind(p.day.format("%Y-%m-%d").to_string())
            .bind(i32::try_from(p.minutes).unwrap_or(i32::MAX))
            .bind(p.published_on.format("%Y-%m-%d").to_string())
            .bind(i32::try_from(p.working_days).unwrap_or(i32::MAX))
            .bind(p.ends_on.map(|d| d.format("%Y-%m-%d").to_string()))
            .bind(if p.ends_on.is_some() { "in_publicity" } else { "held" })
            .bind(Stamp(at))
            .execute(&mut *tx)
            .await?;
        }
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn finalisation(&self, activity_id: i64) -> StoreResult<Option<Finalisation>> {
        let Some(row) =
            sqlx::query(r"select finalised_by, finalised_at from activity_finalisation where activity_id = $1")
                .bind(activity_id)
                .fetch_optional(self.reader())
                .await?
        else {
            return Ok(None);
        };
        let (finalised_by, finalised_at) = (row.try_get("finalised_by")?, row.time("finalised_at")?);
        let rows = sqlx::query(
            r"select f.volunteer_id, f.local_day, f.scan_minutes, f.final_minutes,
                     case when exists (select 1 from session_correction c where c.activity_id = f.activity_id
                                       and c.volunteer_id = f.volunteer_id and c.local_day = f.local_day)
                          then 'corrected' else f.source end as source
              from finalised_session f
              where f.activity_id = $1 order by f.volunteer_id, f.local_day",
        )
        .bind(activity_id)
        .fetch_all(self.reader())
        .await?;
        let sessions = rows.iter().map(finalised_from_row).collect::<StoreResult<Vec<_>>>()?;
        Ok(Some(Finalisation { activity_id, finalised_by, finalised_at, sessions }))
    }
}

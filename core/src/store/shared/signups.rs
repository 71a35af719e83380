//! Recruitment and sign-ups, on both engines. A change to who holds a slot's places locks
//! the slot's row before counting them (`for update` on PostgreSQL; SQLite's one writer
//! does as much), so two instances signing up for the last place at once are served one
//! after the other: the second counts the first.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Conn, DbRow, Engine, insert_audit};
use crate::audit::AuditEvent;
use crate::signups::{
    ActivityCancellation, Freed, HOLDING, NewRecruitment, Placing, Publishing, Recruitment, RecruitmentSlot, Signup,
    SignupStatus,
};
use crate::store::codec::{List, RowTimes, Stamp};
use crate::store::{SignupStore, StoreResult, corrupt};

/// A sign-up with the names people read, and its place on the waiting list.
macro_rules! signup_select {
    () => {
        r"
    select s.id, s.activity_id, a.name as activity_name, a.starts_at, s.slot_id, r.name as slot_name,
           s.volunteer_id, v.name as volunteer_name, s.status, s.reason, s.decided_at, s.created_at, s.updated_at,
           case when s.status = 'waitlisted' then
               (select count(*) from signup w where w.slot_id = s.slot_id and w.status = 'waitlisted' and w.id <= s.id)
           end as waitlist_position,
           c.reason as cancelled_reason, c.cancelled_at as cancelled_at
    from signup s
    join activity a on a.id = s.activity_id
    left join activity_cancellation c on c.activity_id = s.activity_id
    join recruitment_slot r on r.id = s.slot_id
    join volunteer v on v.id = s.volunteer_id"
    };
}

fn signup_from(row: &DbRow) -> StoreResult<Signup> {
    let status: String = row.try_get("status")?;
    let position: Option<i64> = row.try_get("waitlist_position")?;
    Ok(Signup {
        id: row.try_get("id")?,
        activity_id: row.try_get("activity_id")?,
        activity_name: row.try_get("activity_name")?,
        starts_at: row.time("starts_at")?,
        slot_id: row.try_get("slot_id")?,
        slot_name: row.try_get("slot_name")?,
        volunteer_id: row.try_get("volunteer_id")?,
        volunteer_name: row.try_get("volunteer_name")?,
        status: SignupStatus::parse(&status).ok_or_else(|| corrupt("sign-up status"))?,
        waitlist_position: position.and_then(|p| u32::try_from(p).ok()),
        reason: row.try_get("reason")?,
        decided_at: row.maybe_time("decided_at")?,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
        activity_cancellation: match row.try_get::<Option<String>, _>("cancelled_reason")? {
            Some(reason) => Some(Box::new(ActivityCancellation {
                activity_id: row.try_get("activity_id")?,
                reason,
                cancelled_at: row.time("cancelled_at")?,
            })),
            None => None,
        },
    })
}

fn count(v: i64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

fn words(statuses: &[SignupStatus]) -> Vec<String> {
    statuses.iter().map(|s| s.as_str().to_owned()).collect()
}

/// Places taken in a slot (the caller holds its lock).
async fn taken(conn: &mut Conn, slot_id: i64) -> StoreResult<i64> {
    Ok(sqlx::query_scalar(concat!("select count(*) from signup where slot_id = $1 and status", member_of!("$2")))
        .bind(slot_id)
        .bind(List(&words(&HOLDING)))
        .fetch_one(&mut *conn)
        .await?)
}

/// Moves a slot's waiting list up into its free places (the caller holds the slot's lock):
/// the first to sign up first, to `pending` when the recruitment needs approval. Answers
/// the ids moved up.
async fn move_up(conn: &mut Conn, slot_id: i64, at: DateTime<Utc>) -> StoreResult<Vec<i64>> {
    let row = sqlx::query(
        r"select s.capacity, r.approval_required from recruitment_slot s
          join recruitment r on r.activity_id = s.activity_id where s.id = $1",
    )
    .bind(slot_id)
    .fetch_one(&mut *conn)
    .await?;
    let capacity: i32 = row.try_get("capacity")?;
    let approval: bool = row.try_get("approval_required")?;
    let free = i64::from(capacity) - taken(conn, slot_id).await?;
    if free <= 0 {
        return Ok(Vec::new());
    }
    let to = if approval { SignupStatus::Pending } else { SignupStatus::Approved };
    Ok(sqlx::query_scalar(
        r"update signup set status = $3, updated_at = $4
          where id in (select id from signup where slot_id = $1 and status = 'waitlisted' order by id limit $2)
          returning id",
    )
    .bind(slot_id)
    .bind(free)
    .bind(to.as_str())
    .bind(Stamp(at))
    .fetch_all(&mut *conn)
    .await?)
}

impl Engine {
    async fn signups_by_ids(&self, ids: &[i64]) -> StoreResult<Vec<Signup>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(concat!(signup_select!(), " where s.id", member_of!("$1"), " order by s.id"))
            .bind(List(ids))
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(signup_from).collect()
    }

    /// Leaves a live sign-up (to `to`, with the decline's fields when declined) and moves
    /// the waiting list up, with `audit`, in one transaction.
    async fn leave(
        &self,
        id: i64,
        from: &[SignupStatus],
        to: SignupStatus,
        decided: Option<(i64, &str)>,
        at: DateTime<Utc>,
        audit: Option<&AuditEvent>,
    ) -> StoreResult<Option<Freed>> {
        let mut tx = self.writer().begin().await?;
        let Some(slot_id) = sqlx::query_scalar::<_, i64>(r"select slot_id from signup where id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(None);
        };
        sqlx::query(concat!("select id from recruitment_slot where id = $1", for_update!()))
            .bind(slot_id)
            .execute(&mut *tx)
            .await?;
        let left = sqlx::query(concat!(
            r"update signup set status = $3, reason = coalesce($4, reason), decided_by = coalesce($5, decided_by),
                  decided_at = case when cast($5 as bigint) is null then decided_at else $6 end, updated_at = $6
              where id = $1 and status",
            member_of!("$2")
        ))
        .bind(id)
        .bind(List(&words(from)))
        .bind(to.as_str())
        .bind(decided.map(|(_, reason)| reason))
        .bind(decided.map(|(by, _)| by))
        .bind(Stamp(at))
        .execute(&mut *tx)
        .await?;
        if left.rows_affected() == 0 {
            return Ok(None);
        }
        let moved = move_up(&mut tx, slot_id, at).await?;
        if let Some(audit) = audit {
            insert_audit(&mut tx, audit).await?;
        }
        tx.commit().await?;
        let signup = self.signup(id).await?.ok_or_else(|| corrupt("sign-up"))?;
        Ok(Some(Freed { signup, moved_up: self.signups_by_ids(&moved).await? }))
    }
}

#[async_trait]
impl SignupStore for Engine {
    async fn recruitment(&self, activity_id: i64) -> StoreResult<Option<Recruitment>> {
        let Some(row) = sqlx::query(r"select * from recruitment where activity_id = $1")
            .bind(activity_id)
            .fetch_optional(self.reader())
            .await?
        else {
            return Ok(None);
        };
        let slots = sqlx::query(
            r"select r.id, r.name, r.capacity,
                  count(*) filter (where s.status = 'approved') as approved,
                  count(*) filter (where s.status = 'pending') as pending,
                  count(*) filter (where s.status = 'waitlisted') as waitlisted
              from recruitment_slot r left join signup s on s.slot_id = r.id
              where r.activity_id = $1
              group by r.id order by r.position",
        )
        .bind(activity_id)
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(|s| {
            let capacity: i32 = s.try_get("capacity")?;
            let (approved, pending) = (count(s.try_get("approved")?), count(s.try_get("pending")?));
            let capacity = u32::try_from(capacity).unwrap_or(0);
            Ok(RecruitmentSlot {
                id: s.try_get("id")?,
                name: s.try_get("name")?,
                capacity,
                approved,
                pending,
                waitlisted: count(s.try_get("waitlisted")?),
                places_left: capacity.saturating_sub(approved + pending),
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
        let skills: String = row.try_get("required_skills")?;
        let min_age: Option<i32> = row.try_get("min_age")?;
        Ok(Some(Recruitment {
            activity_id,
            slots,
            min_age: min_age.and_then(|a| u8::try_from(a).ok()),
            required_skills: serde_json::from_str(&skills).map_err(|_| corrupt("required skills"))?,
            required_training: row.try_get("required_training")?,
            signup_deadline: row.time("signup_deadline")?,
            cancel_cutoff: row.time("cancel_cutoff")?,
            approval_required: row.try_get("approval_required")?,
            waitlist: row.try_get("waitlist")?,
            walk_ins: row.try_get("walk_ins")?,
            published_at: row.time("published_at")?,
            updated_at: row.time("updated_at")?,
        }))
    }

    async fn publish_recruitment(&self, new: &NewRecruitment, audit: &AuditEvent) -> StoreResult<Publishing> {
        let mut tx = self.writer().begin().await?;
        sqlx::query(
            r"insert into recruitment (activity_id, signup_deadline, cancel_cutoff, approval_required, waitlist,
                  walk_ins, min_age, required_skills, published_by, published_at, updated_at, required_training)
              values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11)
              on conflict (activity_id) do update set signup_deadline = excluded.signup_deadline,
                  cancel_cutoff = excluded.cancel_cutoff, approval_required = excluded.approval_required,
                  waitlist = excluded.waitlist, walk_ins = excluded.walk_ins, min_age = excluded.min_age,
                  required_skills = excluded.required_skills, updated_at = excluded.updated_at,
                  required_training = excluded.required_training",
        )
        .bind(new.activity_id)
        .bind(Stamp(new.signup_deadline))
        .bind(Stamp(new.cancel_cutoff))
        .bind(new.approval_required)
        .bind(new.waitlist)
        .bind(new.walk_ins)
        .bind(new.min_age.map(i32::from))
        .bind(serde_json::to_string(&new.required_skills).unwrap_or_else(|_| "[]".into()))
        .bind(new.by)
        .bind(Stamp(new.at))
        .bind(new.required_training.as_deref())
        .execute(&mut *tx)
        .await?;
        // Lock every slot of the activity: their places are about to change.
        let existing: Vec<(i64, String)> = sqlx::query_as(concat!(
            "select id, name from recruitment_slot where activity_id = $1 order by id",
            for_update!()
        ))
        .bind(new.activity_id)
        .fetch_all(&mut *tx)
        .await?;
        for (id, name) in &existing {
            if new.slots.iter().any(|(n, _)| n == name) {
                continue;
            }
            let used: bool = sqlx::query_scalar(r"select exists (select 1 from signup where slot_id = $1)")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
            if used {
                return Ok(Publishing::SlotInUse(name.clone()));
            }
            sqlx::query(r"delete from recruitment_slot where id = $1").bind(id).execute(&mut *tx).await?;
        }
        let mut slot_ids = Vec::with_capacity(new.slots.len());
        for (position, (name, capacity)) in (0i32..).zip(&new.slots) {
            let capacity = i32::try_from(*capacity).unwrap_or(i32::MAX);
            if let Some((id, _)) = existing.iter().find(|(_, n)| n == name) {
                let held = taken(&mut tx, *id).await?;
                if i64::from(capacity) < held {
                    return Ok(Publishing::BelowTaken { slot: name.clone(), taken: count(held) });
                }
                sqlx::query(r"update recruitment_slot set capacity = $2, position = $3 where id = $1")
                    .bind(id)
                    .bind(capacity)
                    .bind(position)
                    .execute(&mut *tx)
                    .await?;
                slot_ids.push(*id);
            } else {
                let id: i64 = sqlx::query_scalar(
                    r"insert into recruitment_slot (activity_id, name, capacity, position) values ($1, $2, $3, $4)
                      returning id",
                )
                .bind(new.activity_id)
                .bind(name)
                .bind(capacity)
                .bind(position)
                .fetch_one(&mut *tx)
                .await?;
                slot_ids.push(id);
            }
        }
        let mut moved = Vec::new();
        for slot_id in slot_ids {
            moved.extend(move_up(&mut tx, slot_id, new.at).await?);
        }
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(Publishing::Published(self.signups_by_ids(&moved).await?))
    }

    async fn sign_up(
        &self,
        activity_id: i64,
        slot_id: i64,
        volunteer_id: i64,
        at: DateTime<Utc>,
    ) -> StoreResult<Placing> {
        let mut tx = self.writer().begin().await?;
        // The lock that serialises every change to this slot's places.
        let Some(slot) = sqlx::query(concat!(
            r"select s.capacity, r.approval_required, r.waitlist from recruitment_slot s
              join recruitment r on r.activity_id = s.activity_id
              where s.id = $1 and s.activity_id = $2",
            for_update!("s")
        ))
        .bind(slot_id)
        .bind(activity_id)
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(Placing::NoSuchSlot);
        };
        let already: bool = sqlx::query_scalar(
            r"select exists (select 1 from signup where activity_id = $1 and volunteer_id = $2
                             and status in ('pending', 'approved', 'waitlisted'))",
        )
        .bind(activity_id)
        .bind(volunteer_id)
        .fetch_one(&mut *tx)
        .await?;
        if already {
            return Ok(Placing::Duplicate);
        }
        let capacity: i32 = slot.try_get("capacity")?;
        let status = if taken(&mut tx, slot_id).await? < i64::from(capacity) {
            if slot.try_get::<bool, _>("approval_required")? { SignupStatus::Pending } else { SignupStatus::Approved }
        } else if slot.try_get::<bool, _>("waitlist")? {
            SignupStatus::Waitlisted
        } else {
            return Ok(Placing::Full);
        };
        // The partial unique index catches the same volunteer signing up for two slots at
        // once (two slots, two locks).
        let id: Option<i64> = sqlx::query_scalar(
            r"insert into signup (activity_id, slot_id, volunteer_id, status, created_at, updated_at)
              values ($1, $2, $3, $4, $5, $5)
              on conflict (activity_id, volunteer_id) where status in ('pending', 'approved', 'waitlisted') do nothing
              returning id",
        )
        .bind(activity_id)
        .bind(slot_id)
        .bind(volunteer_id)
        .bind(status.as_str())
        .bind(Stamp(at))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(id) = id else { return Ok(Placing::Duplicate) };
        tx.commit().await?;
        Ok(Placing::Placed(self.signup(id).await?.ok_or_else(|| corrupt("sign-up"))?))
    }

    async fn signup(&self, id: i64) -> StoreResult<Option<Signup>> {
        let row =
            sqlx::query(concat!(signup_select!(), " where s.id = $1")).bind(id).fetch_optional(self.reader()).await?;
        row.as_ref().map(signup_from).transpose()
    }

    async fn activity_signups(&self, activity_id: i64) -> StoreResult<Vec<Signup>> {
        let rows = sqlx::query(concat!(signup_select!(), " where s.activity_id = $1 order by r.position, s.id"))
            .bind(activity_id)
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(signup_from).collect()
    }

    async fn volunteer_signups(&self, volunteer_id: i64) -> StoreResult<Vec<Signup>> {
        let rows = sqlx::query(concat!(signup_select!(), " where s.volunteer_id = $1 order by s.id desc"))
            .bind(volunteer_id)
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(signup_from).collect()
    }

    async fn record_no_shows(
        &self,
        activity_id: i64,
        signup_ids: &[i64],
        by: i64,
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = self.writer().begin().await?;
        let recorded = sqlx::query(
            r"insert into no_show_record (activity_id, recorded_by, recorded_at) values ($1, $2, $3)
              on conflict (activity_id) do nothing",
        )
        .bind(activity_id)
        .bind(by)
        .bind(Stamp(at))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if recorded == 0 {
            return Ok(false);
        }
        sqlx::query(concat!(
            r"insert into no_show (signup_id, activity_id, volunteer_id)
              select id, activity_id, volunteer_id from signup where activity_id = $1 and id",
            member_of!("$2")
        ))
        .bind(activity_id)
        .bind(List(signup_ids))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn recorded_no_shows(&self, activity_id: i64) -> StoreResult<Option<(DateTime<Utc>, Vec<Signup>)>> {
        let at: Option<Stamp> = sqlx::query_scalar(r"select recorded_at from no_show_record where activity_id = $1")
            .bind(activity_id)
            .fetch_optional(self.reader())
            .await?;
        let Some(Stamp(at)) = at else { return Ok(None) };
        let rows = sqlx::query(concat!(
            signup_select!(),
            " where s.id in (select signup_id from no_show where activity_id = $1) order by r.position, s.id"
        ))
        .bind(activity_id)
        .fetch_all(self.reader())
        .await?;
        Ok(Some((at, rows.iter().map(signup_from).collect::<StoreResult<_>>()?)))
    }

    async fn due_signup_reminders(
        &self,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
        stage: &str,
        limit: i64,
    ) -> StoreResult<Vec<Signup>> {
        let rows = sqlx::query(concat!(
            signup_select!(),
            // A cancelled activity has nothing to remind of: its volunteers were told it is off.
            r" where s.status = 'approved' and c.activity_id is null and a.starts_at > $1 and a.starts_at <= $2
                 and not exists (select 1 from notification n where n.volunteer_id = s.volunteer_id
                                 and n.dedupe_key = 'signup:' || s.id || ':' || $3)
               order by a.starts_at, s.id limit $4"
        ))
        .bind(Stamp(after))
        .bind(Stamp(until))
        .bind(stage)
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(signup_from).collect()
    }

    async fn cancel_signup(&self, id: i64, from: &[SignupStatus], at: DateTime<Utc>) -> StoreResult<Option<Freed>> {
        self.leave(id, from, SignupStatus::Cancelled, None, at, None).await
    }

    async fn decline_signup(
        &self,
        id: i64,
        by: i64,
        reason: &str,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> StoreResult<Option<Freed>> {
        self.leave(id, &crate::signups::LIVE, SignupStatus::Declined, Some((by, reason)), at, Some(audit)).await
    }

    async fn approve_signups(
        &self,
        activity_id: i64,
        ids: Option<&[i64]>,
        by: i64,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> StoreResult<Vec<Signup>> {
        let mut tx = self.writer().begin().await?;
        let approved: Vec<i64> = sqlx::query_scalar(concat!(
            r"update signup set status = 'approved', decided_by = $3, decided_at = $4, updated_at = $4
              where activity_id = $1 and status = 'pending' and ($2 is null or id",
            member_of!("$2"),
            ") returning id"
        ))
        .bind(activity_id)
        .bind(ids.map(List))
        .bind(by)
        .bind(Stamp(at))
        .fetch_all(&mut *tx)
        .await?;
        if approved.is_empty() {
            return Ok(Vec::new());
        }
        let mut audit = audit.clone();
        audit.detail["signup_ids"] = serde_json::json!(approved);
        insert_audit(&mut tx, &audit).await?;
        tx.commit().await?;
        self.signups_by_ids(&approved).await
    }
}

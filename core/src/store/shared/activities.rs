//! Activities, their leaders and their screen keys, on both engines.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{DbRow, Engine, insert_audit, staff_from_row};
use crate::activity::{Activity, CodeMode, NewActivity, ServiceCategory};
use crate::audit::AuditEvent;
use crate::error::{CoreError, ErrorCode};
use crate::geo::LatLng;
use crate::identity::Staff;
use crate::store::codec::{RowTimes, Stamp};
use crate::store::{ActivityStore, StoreResult, corrupt};

/// The activity columns every query returns, as a literal so queries stay `&'static str`.
macro_rules! activity_columns {
    () => {
        "id, organisation_id, name, category, recipients, content, address, latitude, longitude, \
         radius_m, starts_at, ends_at, gates, code_mode, created_by"
    };
}

fn activity_from_row(row: &DbRow) -> StoreResult<Activity> {
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
        radius_m: u32::try_from(row.try_get::<i32, _>("radius_m")?).map_err(|_| corrupt("radius"))?,
        starts_at: row.time("starts_at")?,
        ends_at: row.time("ends_at")?,
        gates: serde_json::from_str(&gates).map_err(|_| corrupt("gates"))?,
        code_mode: CodeMode::parse(row.try_get("code_mode")?).ok_or_else(|| corrupt("code mode"))?,
        created_by: row.try_get("created_by")?,
        organisation_approved: row.try_get("organisation_approved")?,
    })
}

/// Appends an audit entry on a connection (inside the caller's transaction, if any).
macro_rules! screen_key_columns {
    () => {
        "id, activity_id, gate, direction, key_id, last_window, expires_at, issued_by, created_at, revoked_at, revoked_by"
    };
}

fn screen_key_from_row(row: &DbRow) -> StoreResult<crate::screen_keys::ScreenKeyRecord> {
    let direction: String = row.try_get("direction")?;
    let gate: i32 = row.try_get("gate")?;
    let key_id: i32 = row.try_get("key_id")?;
    let last_window: i64 = row.try_get("last_window")?;
    Ok(crate::screen_keys::ScreenKeyRecord {
        id: row.try_get("id")?,
        activity_id: row.try_get("activity_id")?,
        gate: u8::try_from(gate).map_err(|_| corrupt("screen key gate"))?,
        direction: crate::screen_keys::parse_direction_word(&direction)
            .ok_or_else(|| corrupt("screen key direction"))?,
        key_id: u8::try_from(key_id).map_err(|_| corrupt("screen key id"))?,
        last_window: u32::try_from(last_window).map_err(|_| corrupt("screen key window"))?,
        expires_at: row.time("expires_at")?,
        issued_by: row.try_get("issued_by")?,
        created_at: row.time("created_at")?,
        revoked_at: row.maybe_time("revoked_at")?,
        revoked_by: row.try_get("revoked_by")?,
    })
}

#[async_trait]
impl ActivityStore for Engine {
    async fn assign_activity_leader(&self, activity_id: i64, staff_id: i64, at: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(
            r"insert into activity_leader (activity_id, staff_id, assigned_at) values ($1, $2, $3)
              on conflict (activity_id, staff_id) do nothing",
        )
        .bind(activity_id)
        .bind(staff_id)
        .bind(Stamp(at))
        .execute(self.writer())
        .await?;
        Ok(())
    }

    async fn remove_activity_leader(&self, activity_id: i64, staff_id: i64) -> StoreResult<bool> {
        let removed = sqlx::query(r"delete from activity_leader where activity_id = $1 and staff_id = $2")
            .bind(activity_id)
            .bind(staff_id)
            .execute(self.writer())
            .await?;
        Ok(removed.rows_affected() == 1)
    }

    async fn is_activity_leader(&self, activity_id: i64, staff_id: i64) -> StoreResult<bool> {
        let row = sqlx::query(r"select 1 as one from activity_leader where activity_id = $1 and staff_id = $2")
            .bind(activity_id)
            .bind(staff_id)
            .fetch_optional(self.reader())
            .await?;
        Ok(row.is_some())
    }

    async fn activity_leaders(&self, activity_id: i64) -> StoreResult<Vec<Staff>> {
        let rows = sqlx::query(concat!(
            "select ",
            staff_columns!(),
            " from staff where id in (select staff_id from activity_leader where activity_id = $1) order by id"
        ))
        .bind(activity_id)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(staff_from_row).collect()
    }

    async fn add_screen_key(&self, key: &crate::screen_keys::NewScreenKey, audit: &AuditEvent) -> StoreResult<i64> {
        let mut tx = self.writer().begin().await?;
        let id: i64 = sqlx::query_scalar(
            r"insert into screen_key (activity_id, gate, direction, key_id, last_window, expires_at, issued_by, created_at)
              values ($1, $2, $3, $4, $5, $6, $7, $8) returning id",
        )
        .bind(key.activity_id)
        .bind(i32::from(key.gate))
        .bind(crate::screen_keys::direction_word(key.direction))
        .bind(i32::from(key.key_id))
        .bind(i64::from(key.last_window))
        .bind(Stamp(key.expires_at))
        .bind(key.issued_by)
        .bind(Stamp(key.created_at))
        .fetch_one(&mut *tx)
        .await?;
        let mut audit = audit.clone();
        audit.detail["screen_key_id"] = id.into();
        insert_audit(&mut tx, &audit).await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn screen_key(&self, id: i64) -> StoreResult<Option<crate::screen_keys::ScreenKeyRecord>> {
        let row = sqlx::query(concat!("select ", screen_key_columns!(), " from screen_key where id = $1"))
            .bind(id)
            .fetch_optional(self.reader())
            .await?;
        row.as_ref().map(screen_key_from_row).transpose()
    }

    async fn screen_keys(&self, activity_id: i64) -> StoreResult<Vec<crate::screen_keys::ScreenKeyRecord>> {
        let rows = sqlx::query(concat!(
            "select ",
            screen_key_columns!(),
            " from screen_key where activity_id = $1 order by id"
        ))
        .bind(activity_id)
        .fetch_all(self.reader())
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
        let mut tx = self.writer().begin().await?;
        let row = sqlx::query(concat!(
            "update screen_key set revoked_at = $2, revoked_by = $3 where id = $1 and revoked_at is null returning ",
            screen_key_columns!()
        ))
        .bind(id)
        .bind(Stamp(at))
        .bind(by)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let record = screen_key_from_row(&row)?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(Some(record))
    }

    async fn create_activity(&self, new: &NewActivity, created_by: i64, at: DateTime<Utc>) -> StoreResult<Activity> {
        let gates = serde_json::to_string(&new.gates).map_err(|e| CoreError::Internal(e.to_string()))?;
        let row = sqlx::query(
            r"insert into activity (organisation_id, name, category, recipients, content, address, latitude, longitude,
                                    radius_m, starts_at, ends_at, gates, code_mode, created_by, created_at)
              values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
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
        .bind(i32::try_from(new.radius_m).map_err(|_| CoreError::code(ErrorCode::InvalidBody))?)
        .bind(Stamp(new.starts_at))
        .bind(Stamp(new.ends_at))
        .bind(gates)
        .bind(new.code_mode.as_str())
        .bind(created_by)
        .bind(Stamp(at))
        .fetch_one(self.writer())
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
        let mut tx = self.writer().begin().await?;
        let updated = sqlx::query(
            r"update activity set name = $2, category = $3, recipients = $4, content = $5, address = $6,
                                  latitude = $7, longitude = $8, radius_m = $9, starts_at = $10, ends_at = $11,
                                  gates = $12, code_mode = $13
              where id = $1",
        )
        .bind(id)
        .bind(&changes.name)
        .bind(changes.category.as_str())
        .bind(&changes.recipients)
        .bind(&changes.content)
        .bind(&changes.address)
        .bind(changes.location.lat)
        .bind(changes.location.lng)
        .bind(i32::try_from(changes.radius_m).map_err(|_| CoreError::code(ErrorCode::InvalidBody))?)
        .bind(Stamp(changes.starts_at))
        .bind(Stamp(changes.ends_at))
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
               as organisation_approved from activity where id = $1"
        ))
        .bind(id)
        .fetch_optional(self.reader())
        .await?;
        row.as_ref().map(activity_from_row).transpose()
    }
}

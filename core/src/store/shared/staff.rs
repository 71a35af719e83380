//! Staff members, the first administrator's bootstrap, invites and passkeys, on both engines.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use uuid::Uuid;

use super::{Conn, DbRow, Engine, insert_audit, serialise, staff_from_row};
use crate::audit::AuditEvent;
use crate::identity::staff::StaffRecord;
use crate::identity::{Agency, Staff, TokenHash};
use crate::passkeys::{NewInvite, PasskeyRemoval, StaffAccount, StoredPasskey};
use crate::store::Serialised;
use crate::store::codec::{RowTimes, Stamp};
use crate::store::{StaffStore, StoreResult};

fn account_from_row(row: &DbRow) -> StoreResult<StaffAccount> {
    Ok(StaffAccount { staff: staff_from_row(row)?, webauthn_user_id: row.try_get("webauthn_user_id")? })
}

/// Inserts a staff member and their first invite on a transaction.
async fn insert_staff(conn: &mut Conn, staff: &StaffRecord<'_>, invite: &NewInvite) -> StoreResult<Staff> {
    let q = staff.qualification;
    let row = sqlx::query(concat!(
        r"insert into staff (name, login, role, organisation_id, region_code, certificate_number,
                             certificate_issued_on, review_due_on, webauthn_user_id, created_at, agency)
          values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
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
    .bind(Stamp(invite.created_at))
    .bind(staff.agency.map(Agency::as_str))
    .fetch_one(&mut *conn)
    .await?;
    let created = staff_from_row(&row)?;
    insert_invite(conn, created.id, invite).await?;
    Ok(created)
}

async fn insert_invite(conn: &mut Conn, staff_id: i64, invite: &NewInvite) -> StoreResult<()> {
    sqlx::query(
        r"insert into staff_invite (token_hash, staff_id, created_by, created_at, expires_at) values ($1, $2, $3, $4, $5)",
    )
    .bind(invite.hash.as_slice())
    .bind(staff_id)
    .bind(invite.created_by)
    .bind(Stamp(invite.created_at))
    .bind(Stamp(invite.expires_at))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[async_trait]
impl StaffStore for Engine {
    async fn administrator_exists(&self) -> StoreResult<bool> {
        let row = sqlx::query(r"select exists (select 1 from staff where role = 'administrator') as present")
            .fetch_one(self.reader())
            .await?;
        Ok(row.try_get("present")?)
    }

    async fn put_bootstrap_token(&self, hash: &TokenHash, at: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(r"insert into bootstrap_token (token_hash, created_at) values ($1, $2)")
            .bind(hash.as_slice())
            .bind(Stamp(at))
            .execute(self.writer())
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
        let mut tx = self.writer().begin().await?;
        // Two different outstanding tokens redeemed at once must still make one
        // administrator: serialise redemptions for the length of the transaction.
        serialise(&mut tx, Serialised::Bootstrap).await?;
        let spent = sqlx::query(
            r"update bootstrap_token set used_at = $2
              where token_hash = $1 and used_at is null
                and not exists (select 1 from staff where role = 'administrator')",
        )
        .bind(hash.as_slice())
        .bind(Stamp(at))
        .execute(&mut *tx)
        .await?;
        if spent.rows_affected() != 1 {
            return Ok(None);
        }
        let staff = insert_staff(&mut tx, admin, invite).await?;
        tx.commit().await?;
        Ok(Some(staff))
    }

    async fn get_staff(&self, id: i64) -> StoreResult<Option<Staff>> {
        let row = sqlx::query(concat!("select ", staff_columns!(), " from staff where id = $1"))
            .bind(id)
            .fetch_optional(self.reader())
            .await?;
        row.as_ref().map(staff_from_row).transpose()
    }

    async fn create_staff(
        &self,
        staff: &StaffRecord<'_>,
        invite: &NewInvite,
        _at: DateTime<Utc>,
    ) -> StoreResult<Staff> {
        let mut tx = self.writer().begin().await?;
        let staff = insert_staff(&mut tx, staff, invite).await?;
        tx.commit().await?;
        Ok(staff)
    }

    async fn list_staff(&self) -> StoreResult<Vec<Staff>> {
        let rows = sqlx::query(concat!("select ", staff_columns!(), " from staff order by id"))
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(staff_from_row).collect()
    }

    async fn staff_account(&self, id: i64) -> StoreResult<Option<StaffAccount>> {
        let row = sqlx::query(concat!("select ", staff_columns!(), " from staff where id = $1"))
            .bind(id)
            .fetch_optional(self.reader())
            .await?;
        row.as_ref().map(account_from_row).transpose()
    }

    async fn staff_account_by_login(&self, login: &str) -> StoreResult<Option<StaffAccount>> {
        let row = sqlx::query(concat!("select ", staff_columns!(), " from staff where login = $1"))
            .bind(login)
            .fetch_optional(self.reader())
            .await?;
        row.as_ref().map(account_from_row).transpose()
    }

    async fn add_invite(&self, staff_id: i64, invite: &NewInvite, audit: &AuditEvent) -> StoreResult<()> {
        let mut tx = self.writer().begin().await?;
        insert_invite(&mut tx, staff_id, invite).await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn invited_staff(&self, hash: &TokenHash, at: DateTime<Utc>) -> StoreResult<Option<i64>> {
        let row = sqlx::query(
            r"select staff_id from staff_invite where token_hash = $1 and used_at is null and expires_at > $2",
        )
        .bind(hash.as_slice())
        .bind(Stamp(at))
        .fetch_optional(self.reader())
        .await?;
        Ok(row.map(|r| r.try_get("staff_id")).transpose()?)
    }

    async fn add_passkey(
        &self,
        passkey: &StoredPasskey,
        invite: Option<&TokenHash>,
        audit: &AuditEvent,
    ) -> StoreResult<bool> {
        let mut tx = self.writer().begin().await?;
        if let Some(hash) = invite {
            let spent = sqlx::query(
                r"update staff_invite set used_at = $3
                  where token_hash = $1 and staff_id = $2 and used_at is null and expires_at > $3",
            )
            .bind(hash.as_slice())
            .bind(passkey.staff_id)
            .bind(Stamp(passkey.created_at))
            .execute(&mut *tx)
            .await?;
            if spent.rows_affected() != 1 {
                return Ok(false);
            }
        }
        sqlx::query(
            r"insert into staff_passkey (id, staff_id, credential_id, credential, label, created_at)
              values ($1, $2, $3, $4, $5, $6)",
        )
        .bind(passkey.id)
        .bind(passkey.staff_id)
        .bind(&passkey.credential_id)
        .bind(&passkey.credential)
        .bind(&passkey.label)
        .bind(Stamp(passkey.created_at))
        .execute(&mut *tx)
        .await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn passkeys(&self, staff_id: i64) -> StoreResult<Vec<StoredPasskey>> {
        let rows = sqlx::query(
            r"select id, staff_id, credential_id, credential, label, created_at, last_used_at from staff_passkey
              where staff_id = $1 order by created_at, id",
        )
        .bind(staff_id)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(StoredPasskey {
                    id: row.try_get("id")?,
                    staff_id: row.try_get("staff_id")?,
                    credential_id: row.try_get("credential_id")?,
                    credential: row.try_get("credential")?,
                    label: row.try_get("label")?,
                    created_at: row.time("created_at")?,
                    last_used_at: row.maybe_time("last_used_at")?,
                })
            })
            .collect()
    }

    async fn passkey_used(&self, id: Uuid, credential: &str, at: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(r"update staff_passkey set credential = $2, last_used_at = $3 where id = $1")
            .bind(id)
            .bind(credential)
            .bind(Stamp(at))
            .execute(self.writer())
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
        let mut tx = self.writer().begin().await?;
        // Lock the owner's passkeys so two removals at once cannot both see "not the last".
        let ids: Vec<Uuid> =
            sqlx::query_scalar(concat!("select id from staff_passkey where staff_id = $1", for_update!()))
                .bind(staff_id)
                .fetch_all(&mut *tx)
                .await?;
        if !ids.contains(&id) {
            return Ok(PasskeyRemoval::NotFound);
        }
        if ids.len() == 1 && !last_too {
            return Ok(PasskeyRemoval::Last);
        }
        sqlx::query(r"delete from staff_passkey where id = $1").bind(id).execute(&mut *tx).await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(PasskeyRemoval::Removed)
    }
}

//! Certificates, on both engines.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::Row;

use super::{DbRow, Engine, insert_audit, register_from_row};
use crate::audit::AuditEvent;
use crate::certificates::{
    CertificateRequest, CertificateRequestStatus, CertificateScope, NewCertificateRequest, StoredCertificate,
};
use crate::publicity::RegisterRow;
use crate::store::codec::{RowTimes, Stamp};
use crate::store::{CertificateStore, StoreResult, corrupt};

fn day(text: Option<String>) -> StoreResult<Option<NaiveDate>> {
    text.map(|t| t.parse().map_err(|_| corrupt("certificate scope day"))).transpose()
}

fn request_from(row: &DbRow) -> StoreResult<CertificateRequest> {
    let status: String = row.try_get("status")?;
    Ok(CertificateRequest {
        id: row.try_get("id")?,
        volunteer_id: row.try_get("volunteer_id")?,
        scope: CertificateScope {
            organisation_id: row.try_get("organisation_id")?,
            from: day(row.try_get("from_day")?)?,
            to: day(row.try_get("to_day")?)?,
        },
        route_organisation_id: row.try_get("route_organisation_id")?,
        route_region: row.try_get("route_region")?,
        status: CertificateRequestStatus::parse(&status).ok_or_else(|| corrupt("certificate request status"))?,
        certificate_number: row.try_get("certificate_number")?,
        created_at: row.time("created_at")?,
        decline_reason: row.try_get("decline_reason")?,
        declined_at: row.maybe_time("declined_at")?,
    })
}

fn certificate_from(row: &DbRow) -> StoreResult<StoredCertificate> {
    Ok(StoredCertificate {
        number: row.try_get("number")?,
        request_id: row.try_get("request_id")?,
        volunteer_id: row.try_get("volunteer_id")?,
        content: row.try_get("content")?,
        signature: row.try_get("signature")?,
        key_id: row.try_get("key_id")?,
        total_minutes: row.try_get("total_minutes")?,
        issuer_organisation_id: row.try_get("issuer_organisation_id")?,
        issuer_region: row.try_get("issuer_region")?,
        issued_by: row.try_get("issued_by")?,
        issued_at: row.time("issued_at")?,
        revoked_at: row.maybe_time("revoked_at")?,
        revoke_reason: row.try_get("revoke_reason")?,
    })
}

#[async_trait]
impl CertificateStore for Engine {
    async fn confirmed_register_entries(&self, volunteer_id: i64) -> StoreResult<Vec<RegisterRow>> {
        let rows = sqlx::query(
            r"select seq, kind, publicity_entry_id, organisation_id, volunteer_id, minutes, content, previous_hash, hash
              from register_entry r
              where r.volunteer_id = $1
                and exists (select 1 from report_item i join report_batch b on b.id = i.batch_id
                            where i.register_seq = r.seq and b.status = 'confirmed')
              order by seq",
        )
        .bind(volunteer_id)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(register_from_row).collect()
    }

    async fn add_certificate_request(&self, new: &NewCertificateRequest) -> StoreResult<CertificateRequest> {
        let row = sqlx::query(
            r"insert into certificate_request
                  (volunteer_id, organisation_id, from_day, to_day, route_organisation_id, route_region, created_at)
              values ($1, $2, $3, $4, $5, $6, $7)
              returning *",
        )
        .bind(new.volunteer_id)
        .bind(new.scope.organisation_id)
        .bind(new.scope.from.map(|d| d.to_string()))
        .bind(new.scope.to.map(|d| d.to_string()))
        .bind(new.route_organisation_id)
        .bind(&new.route_region)
        .bind(Stamp(new.at))
        .fetch_one(self.writer())
        .await?;
        request_from(&row)
    }

    async fn certificate_request(&self, id: i64) -> StoreResult<Option<CertificateRequest>> {
        let row = sqlx::query(r"select * from certificate_request where id = $1")
            .bind(id)
            .fetch_optional(self.reader())
            .await?;
        row.as_ref().map(request_from).transpose()
    }

    async fn certificate_requests_of(&self, volunteer_id: i64) -> StoreResult<Vec<CertificateRequest>> {
        let rows = sqlx::query(r"select * from certificate_request where volunteer_id = $1 order by id desc")
            .bind(volunteer_id)
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(request_from).collect()
    }

    async fn pending_certificate_requests(&self) -> StoreResult<Vec<CertificateRequest>> {
        let rows = sqlx::query(r"select * from certificate_request where status = 'pending' order by id")
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(request_from).collect()
    }

    async fn decline_certificate_request(
        &self,
        id: i64,
        reason: &str,
        by: i64,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> StoreResult<Option<CertificateRequest>> {
        let mut tx = self.writer().begin().await?;
        let row = sqlx::query(
            r"update certificate_request set status = 'declined', decline_reason = $2, declined_by = $3, declined_at = $4
              where id = $1 and status = 'pending' returning *",
        )
        .bind(id)
        .bind(reason)
        .bind(by)
        .bind(Stamp(at))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let request = request_from(&row)?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(Some(request))
    }

    async fn next_certificate_sequence(&self, year: i32) -> StoreResult<i64> {
        let row = sqlx::query(
            r"insert into certificate_sequence (year, last) values ($1, 1)
              on conflict (year) do update set last = certificate_sequence.last + 1
              returning last",
        )
        .bind(year)
        .fetch_one(self.writer())
        .await?;
        Ok(row.try_get("last")?)
    }

    async fn issue_certificate(&self, c: &StoredCertificate, audit: &AuditEvent) -> StoreResult<bool> {
        let mut tx = self.writer().begin().await?;
        let marked = sqlx::query(
            r"update certificate_request set status = 'issued', certificate_number = $2
              where id = $1 and status = 'pending'",
        )
        .bind(c.request_id)
        .bind(&c.number)
        .execute(&mut *tx)
        .await?;
        if marked.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query(
            r"insert into certificate (number, request_id, volunteer_id, content, signature, key_id, total_minutes,
                  issuer_organisation_id, issuer_region, issued_by, issued_at)
              values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&c.number)
        .bind(c.request_id)
        .bind(c.volunteer_id)
        .bind(&c.content)
        .bind(&c.signature)
        .bind(&c.key_id)
        .bind(c.total_minutes)
        .bind(c.issuer_organisation_id)
        .bind(&c.issuer_region)
        .bind(c.issued_by)
        .bind(Stamp(c.issued_at))
        .execute(&mut *tx)
        .await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn certificate(&self, number: &str) -> StoreResult<Option<StoredCertificate>> {
        let row = sqlx::query(r"select * from certificate where number = $1")
            .bind(number)
            .fetch_optional(self.reader())
            .await?;
        row.as_ref().map(certificate_from).transpose()
    }

    async fn certificates_of(&self, volunteer_id: i64) -> StoreResult<Vec<StoredCertificate>> {
        let rows =
            sqlx::query(r"select * from certificate where volunteer_id = $1 order by issued_at desc, number desc")
                .bind(volunteer_id)
                .fetch_all(self.reader())
                .await?;
        rows.iter().map(certificate_from).collect()
    }

    async fn revoke_certificate(
        &self,
        number: &str,
        by: i64,
        reason: &str,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> StoreResult<Option<StoredCertificate>> {
        let mut tx = self.writer().begin().await?;
        let row = sqlx::query(
            r"update certificate set revoked_by = $2, revoked_at = $3, revoke_reason = $4
              where number = $1 and revoked_at is null
              returning *",
        )
        .bind(number)
        .bind(by)
        .bind(Stamp(at))
        .bind(reason)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(None) };
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(Some(certificate_from(&row)?))
    }

    async fn organisation_seal(&self, organisation_id: i64) -> StoreResult<Option<Vec<u8>>> {
        let row = sqlx::query(r"select png from organisation_seal where organisation_id = $1")
            .bind(organisation_id)
            .fetch_optional(self.reader())
            .await?;
        Ok(row.map(|r| r.try_get("png")).transpose()?)
    }

    async fn put_organisation_seal(
        &self,
        organisation_id: i64,
        png: &[u8],
        by: i64,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.writer().begin().await?;
        sqlx::query(
            r"insert into organisation_seal (organisation_id, png, uploaded_by, uploaded_at) values ($1, $2, $3, $4)
              on conflict (organisation_id) do update
                  set png = excluded.png, uploaded_by = excluded.uploaded_by, uploaded_at = excluded.uploaded_at",
        )
        .bind(organisation_id)
        .bind(png)
        .bind(by)
        .bind(Stamp(at))
        .execute(&mut *tx)
        .await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }
}

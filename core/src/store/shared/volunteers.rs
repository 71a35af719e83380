//! Volunteers: registration, look-ups, consents, devices, phones, extra fields and sealed values, on both engines.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{DbRow, Engine, insert_audit};
use crate::audit::AuditEvent;
use crate::extra_fields::{ExtraField, ExtraFieldConsent};
use crate::identity::{ConsentPurpose, ConsentRecord, Gender, IdType, StoredVolunteer};
use crate::store::codec::{List, RowTimes, Stamp};
use crate::store::{NewRegistration, StoreResult, VolunteerStore, corrupt, parse_skills, volunteer_conflict};

#[async_trait]
impl VolunteerStore for Engine {
    async fn volunteer_service_regions(&self, volunteer_id: i64) -> StoreResult<Vec<String>> {
        Ok(sqlx::query_scalar(
            r"select distinct o.region_code from scan s
              join activity a on a.id = s.activity_id
              join organisation o on o.id = a.organisation_id
              where s.volunteer_id = $1 and s.direction is not null
              order by o.region_code",
        )
        .bind(volunteer_id)
        .fetch_all(self.reader())
        .await?)
    }

    async fn set_extra_field(
        &self,
        volunteer_id: i64,
        consent: &ExtraFieldConsent,
        sealed: Option<&str>,
    ) -> StoreResult<()> {
        let mut tx = self.writer().begin().await?;
        sqlx::query(
            r"insert into extra_field_consent (volunteer_id, field, granted, notice_version, recorded_at)
              values ($1, $2, $3, $4, $5)",
        )
        .bind(volunteer_id)
        .bind(consent.field.as_str())
        .bind(consent.granted)
        .bind(&consent.notice_version)
        .bind(Stamp(consent.recorded_at))
        .execute(&mut *tx)
        .await?;
        match sealed {
            Some(sealed) => {
                sqlx::query(
                    r"insert into extra_field (volunteer_id, field, value_sealed, updated_at) values ($1, $2, $3, $4)
                      on conflict (volunteer_id, field) do update set value_sealed = excluded.value_sealed,
                                                                      updated_at = excluded.updated_at",
                )
                .bind(volunteer_id)
                .bind(consent.field.as_str())
                .bind(sealed)
                .bind(Stamp(consent.recorded_at))
                .execute(&mut *tx)
                .await?;
            }
            None => {
                sqlx::query(r"delete from extra_field where volunteer_id = $1 and field = $2")
                    .bind(volunteer_id)
                    .bind(consent.field.as_str())
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn extra_fields(
        &self,
        volunteer_id: i64,
    ) -> StoreResult<(Vec<(ExtraField, String, DateTime<Utc>)>, Vec<ExtraFieldConsent>)> {
        let field = |row: &_| -> StoreResult<ExtraField> {
            let name: String = Row::try_get(row, "field")?;
            ExtraField::parse(&name).ok_or_else(|| corrupt("extra field"))
        };
        let rows = sqlx::query(
            r"select field, value_sealed, updated_at from extra_field where volunteer_id = $1 order by field",
        )
        .bind(volunteer_id)
        .fetch_all(self.reader())
        .await?;
        let values = rows
            .iter()
            .map(|row| Ok((field(row)?, row.try_get("value_sealed")?, row.time("updated_at")?)))
            .collect::<StoreResult<Vec<_>>>()?;
        let rows = sqlx::query(
            r"select field, granted, notice_version, recorded_at from extra_field_consent
              where volunteer_id = $1 order by recorded_at, id",
        )
        .bind(volunteer_id)
        .fetch_all(self.reader())
        .await?;
        let consents = rows
            .iter()
            .map(|row| {
                Ok(ExtraFieldConsent {
                    field: field(row)?,
                    granted: row.try_get("granted")?,
                    notice_version: row.try_get("notice_version")?,
                    recorded_at: row.time("recorded_at")?,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        Ok((values, consents))
    }

    async fn create_volunteer(&self, registration: &NewRegistration<'_>) -> StoreResult<StoredVolunteer> {
        // Each engine writes a registration its own way (`postgres/volunteers.rs`,
        // `sqlite/volunteers.rs`): the same rows, in one statement on PostgreSQL.
        let id = self.insert_registration(registration).await?;
        Ok(StoredVolunteer { id, ..registration.volunteer.clone() })
    }

    async fn rebind_device(&self, volunteer_id: i64, device_id: &str, audit: &AuditEvent) -> StoreResult<()> {
        let mut tx = self.writer().begin().await?;
        sqlx::query(r"update volunteer set device_id = $1, device_bound_at = $2 where id = $3")
            .bind(device_id)
            .bind(Stamp(audit.at))
            .bind(volunteer_id)
            .execute(&mut *tx)
            .await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn update_phone(
        &self,
        volunteer_id: i64,
        sealed: &str,
        lookup: &[u8; 32],
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.writer().begin().await?;
        sqlx::query(r"update volunteer set phone_sealed = $1, phone_lookup = $2 where id = $3")
            .bind(sealed)
            .bind(lookup.as_slice())
            .bind(volunteer_id)
            .execute(&mut *tx)
            .await
            .map_err(volunteer_conflict)?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn add_consent(
        &self,
        volunteer_id: i64,
        consent: &ConsentRecord,
        detail_sealed: Option<&str>,
    ) -> StoreResult<()> {
        sqlx::query(
            r"insert into consent (volunteer_id, purpose, granted, notice_version, detail_sealed, recorded_at)
              values ($1, $2, $3, $4, $5, $6)",
        )
        .bind(volunteer_id)
        .bind(consent.purpose.as_str())
        .bind(consent.granted)
        .bind(&consent.notice_version)
        .bind(detail_sealed)
        .bind(Stamp(consent.recorded_at))
        .execute(self.writer())
        .await?;
        Ok(())
    }

    async fn volunteer_by_openid(&self, openid: &str) -> StoreResult<Option<i64>> {
        let row = sqlx::query(r"select volunteer_id from wechat_binding where openid = $1")
            .bind(openid)
            .fetch_optional(self.reader())
            .await?;
        Ok(row.map(|r| r.try_get("volunteer_id")).transpose()?)
    }

    async fn volunteer_by_wechat_oa(&self, oa_openid: &str, unionid: Option<&str>) -> StoreResult<Option<i64>> {
        let row = sqlx::query(
            r"select volunteer_id from wechat_binding_oa where oa_openid = $1
              union select volunteer_id from wechat_binding_oa where unionid = $2
              union select volunteer_id from wechat_binding where unionid = $2
              order by volunteer_id limit 1",
        )
        .bind(oa_openid)
        .bind(unionid)
        .fetch_optional(self.reader())
        .await?;
        Ok(row.map(|r| r.try_get("volunteer_id")).transpose()?)
    }

    async fn bind_openid_by_unionid(
        &self,
        openid: &str,
        unionid: &str,
        audit: &AuditEvent,
    ) -> StoreResult<Option<i64>> {
        let mut tx = self.writer().begin().await?;
        let found: Vec<i64> = sqlx::query_scalar(
            r"select volunteer_id from wechat_binding_oa where unionid = $1
              union select volunteer_id from wechat_binding where unionid = $1
              order by volunteer_id limit 2",
        )
        .bind(unionid)
        .fetch_all(&mut *tx)
        .await?;
        let [volunteer_id] = found[..] else {
            return Ok(None);
        };
        // Neither the openid (primary key) nor the volunteer (one mini-program account
        // each) is ever taken over: a conflict on either leaves the row unwritten.
        let bound = sqlx::query(
            r"insert into wechat_binding (openid, unionid, volunteer_id, bound_at) values ($1, $2, $3, $4)
              on conflict do nothing",
        )
        .bind(openid)
        .bind(unionid)
        .bind(volunteer_id)
        .bind(Stamp(audit.at))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if bound == 1 {
            let audit = AuditEvent { actor_id: Some(volunteer_id), subject_id: Some(volunteer_id), ..audit.clone() };
            insert_audit(&mut tx, &audit).await?;
        }
        tx.commit().await?;
        Ok(Some(volunteer_id))
    }

    async fn volunteer_by_id_number(&self, id_number_lookup: &[u8; 32]) -> StoreResult<Option<i64>> {
        Ok(sqlx::query_scalar(r"select id from volunteer where id_number_lookup = $1")
            .bind(id_number_lookup.as_slice())
            .fetch_optional(self.reader())
            .await?)
    }

    async fn volunteer_by_phone(&self, phone_lookup: &[u8; 32]) -> StoreResult<Option<i64>> {
        let row = sqlx::query(r"select id from visible_volunteer where phone_lookup = $1")
            .bind(phone_lookup.as_slice())
            .fetch_optional(self.reader())
            .await?;
        Ok(row.map(|r| r.try_get("id")).transpose()?)
    }

    async fn sealed_values_not_under(
        &self,
        column: crate::identity::pii::SealedColumn,
        current_prefix: &str,
        limit: i64,
    ) -> StoreResult<Vec<String>> {
        // Table and column come from a closed list of fixed names, never from input.
        let (table, col) = (column.table(), column.column());
        let sql = format!(
            "select {col} from {table} where {col} is not null and substr({col}, 1, {len}) <> $1 limit $2",
            len = current_prefix.len()
        );
        Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(current_prefix)
            .bind(limit)
            .fetch_all(self.reader())
            .await?)
    }

    async fn replace_sealed_values(
        &self,
        column: crate::identity::pii::SealedColumn,
        pairs: &[(String, String)],
    ) -> StoreResult<u64> {
        let sql = format!("update {} set {col} = $1 where {col} = $2", column.table(), col = column.column());
        let mut tx = self.writer().begin().await?;
        let mut changed = 0;
        for (old, new) in pairs {
            changed += sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                .bind(new)
                .bind(old)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        tx.commit().await?;
        Ok(changed)
    }

    async fn get_volunteer(&self, id: i64) -> StoreResult<Option<StoredVolunteer>> {
        let row = sqlx::query(concat!("select ", volunteer_columns!(), " from visible_volunteer where id = $1"))
            .bind(id)
            .fetch_optional(self.reader())
            .await?;
        row.as_ref().map(volunteer_from_row).transpose()
    }

    async fn get_volunteers(&self, ids: &[i64]) -> StoreResult<Vec<StoredVolunteer>> {
        let rows = sqlx::query(concat!(
            "select ",
            volunteer_columns!(),
            " from visible_volunteer where id",
            member_of!("$1"),
            " order by id"
        ))
        .bind(List(ids))
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(volunteer_from_row).collect()
    }

    async fn consents(&self, volunteer_id: i64) -> StoreResult<Vec<ConsentRecord>> {
        let rows = sqlx::query(
            r"select purpose, granted, notice_version, recorded_at from consent
              where volunteer_id = $1 order by id",
        )
        .bind(volunteer_id)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(consent_from_row).collect()
    }

    async fn consents_of(&self, volunteers: &[i64]) -> StoreResult<Vec<(i64, ConsentRecord)>> {
        let rows = sqlx::query(concat!(
            "select volunteer_id, purpose, granted, notice_version, recorded_at from consent where volunteer_id",
            member_of!("$1"),
            " order by volunteer_id, id"
        ))
        .bind(List(volunteers))
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(|row| Ok((row.try_get("volunteer_id")?, consent_from_row(row)?))).collect()
    }
}

/// The columns [`volunteer_from_row`] reads.
macro_rules! volunteer_columns {
    () => {
        "id, volunteer_number, name, gender, birth_month, id_type, id_number_sealed, id_number_lookup, \
         phone_sealed, phone_lookup, skills, device_id, device_bound_at"
    };
}
use volunteer_columns;

fn volunteer_from_row(row: &DbRow) -> StoreResult<StoredVolunteer> {
    let lookup = |name: &str| -> StoreResult<[u8; 32]> {
        let bytes: Vec<u8> = row.try_get(name)?;
        bytes.try_into().map_err(|_| corrupt("lookup hash"))
    };
    Ok(StoredVolunteer {
        id: row.try_get("id")?,
        volunteer_number: row.try_get("volunteer_number")?,
        name: row.try_get("name")?,
        gender: u8::try_from(row.try_get::<i16, _>("gender")?)
            .ok()
            .and_then(Gender::from_code)
            .ok_or_else(|| corrupt("gender"))?,
        birth_month: row.try_get("birth_month")?,
        id_type: IdType::parse(row.try_get("id_type")?).ok_or_else(|| corrupt("id type"))?,
        id_number_sealed: row.try_get("id_number_sealed")?,
        id_number_lookup: lookup("id_number_lookup")?,
        phone_sealed: row.try_get("phone_sealed")?,
        phone_lookup: lookup("phone_lookup")?,
        skills: parse_skills(row.try_get("skills")?)?,
        device_id: row.try_get("device_id")?,
        device_bound_at: row.maybe_time("device_bound_at")?,
    })
}

fn consent_from_row(row: &DbRow) -> StoreResult<ConsentRecord> {
    Ok(ConsentRecord {
        purpose: ConsentPurpose::parse(row.try_get("purpose")?).ok_or_else(|| corrupt("consent purpose"))?,
        granted: row.try_get("granted")?,
        notice_version: row.try_get("notice_version")?,
        recorded_at: row.time("recorded_at")?,
    })
}

//! The export use cases: who may export, what is chosen, and each row's cells.
//!
//! Who: the organisation's organisers and recorders (who report its records), the
//! civil-affairs officers whose region covers the organisation (the rule has records
//! reported to civil affairs, which runs the national system), and administrators.
//!
//! Consent: the national system is civil affairs' own record system, so sending a
//! volunteer's data there is processing for the service record itself (the `record`
//! consent every registration carries), not publication. A volunteer who has withdrawn
//! that consent is held back, and so is a minor without a guardian's consent recorded;
//! held items are not marked sent, so they go in a later export once consent is in force.

use std::collections::HashMap;

use super::{
    ExchangeCell, ExchangeExport, ExchangeField, ExchangeKind, ExportRequest, NewExchangeExport, columns,
    valid_organisation_code,
};
use crate::activity::Activity;
use crate::audit::AuditEvent;
use crate::error::{CoreError, ErrorCode};
use crate::hourmark::Hourmark;
use crate::identity::consent::{AgeBand, ConsentState, age_band, latest_birth_date};
use crate::identity::{Agency, Gender, IdType, Organisation, Principal, StaffRole, VolunteerProfile};
use crate::publicity::{RegisterKind, RegisterRow};
use crate::reporting::BatchStatus;

fn not_found() -> CoreError {
    CoreError::refused(ErrorCode::NotFound, "没有这个组织")
}

/// The Chinese name of a document type, as the national system's forms write it.
pub fn id_type_zh(id_type: IdType) -> &'static str {
    match id_type {
        IdType::ResidentId => "居民身份证",
        IdType::Passport => "护照",
        IdType::HkMacaoPermit => "港澳居民来往内地通行证",
        IdType::TaiwanPermit => "台湾居民来往大陆通行证",
        IdType::ForeignPermanentResident => "外国人永久居留身份证",
    }
}

fn gender_zh(gender: Gender) -> &'static str {
    match gender {
        Gender::Male => "男",
        Gender::Female => "女",
        Gender::Unknown => "未知",
        Gender::Unstated => "未说明",
    }
}

/// What one row's cells are drawn from.
#[derive(Default)]
struct RowSource<'a> {
    organisation: Option<&'a Organisation>,
    organisation_code: Option<&'a str>,
    volunteer: Option<&'a VolunteerProfile>,
    activity: Option<&'a Activity>,
    entry: Option<(&'a RegisterRow, &'a serde_json::Value)>,
}

fn text(s: impl Into<String>) -> ExchangeCell {
    ExchangeCell::Text(s.into())
}

fn shanghai(at: chrono::DateTime<chrono::Utc>) -> String {
    at.with_timezone(&chrono_tz::Asia::Shanghai).format("%Y-%m-%d %H:%M").to_string()
}

fn cell(field: ExchangeField, source: &RowSource<'_>) -> ExchangeCell {
    use ExchangeField as F;
    let v = source.volunteer;
    let a = source.activity;
    let content = source.entry.map(|(_, c)| c);
    let from_content = |key: &str| text(content.and_then(|c| c[key].as_str()).unwrap_or_default());
    match field {
        F::VolunteerNumber => text(v.map(|v| v.volunteer_number.clone()).unwrap_or_default()),
        F::VolunteerName => text(v.map(|v| v.name.clone()).unwrap_or_default()),
        F::IdType => text(v.map_or("", |v| id_type_zh(v.id_type))),
        F::IdNumber => text(v.map(|v| v.id_number.clone()).unwrap_or_default()),
        F::Gender => text(v.map_or("", |v| gender_zh(v.gender))),
        F::BirthMonth => text(v.map(|v| v.birth_month.clone()).unwrap_or_default()),
        F::Phone => text(v.map(|v| v.phone.clone()).unwrap_or_default()),
        F::Skills => text(v.map(|v| v.skills.join("、")).unwrap_or_default()),
        F::OrganisationName => text(source.organisation.map(|o| o.name.clone()).unwrap_or_default()),
        F::OrganisationCode => text(source.organisation_code.unwrap_or_default()),
        F::RegionCode => text(source.organisation.map(|o| o.region_code.clone()).unwrap_or_default()),
        F::ActivityNumber => match (a, content) {
            (Some(a), _) => ExchangeCell::Number(a.id as f64),
            (None, Some(c)) => c["activity_id"].as_i64().map_or_else(|| text(""), |id| ExchangeCell::Number(id as f64)),
            _ => text(""),
        },
        F::ActivityName => match a {
            Some(a) => text(a.name.clone()),
            None => from_content("activity_name"),
        },
        F::ServiceCategory => text(a.map_or("", |a| a.category.as_str())),
        F::Place => text(a.map(|a| a.address.clone()).unwrap_or_default()),
        F::StartsAt => text(a.map(|a| shanghai(a.starts_at)).unwrap_or_default()),
        F::EndsAt => text(a.map(|a| shanghai(a.ends_at)).unwrap_or_default()),
        F::Recipients => text(a.map(|a| a.recipients.clone()).unwrap_or_default()),
        F::Content => text(a.map(|a| a.content.clone()).unwrap_or_default()),
        F::ServiceDate => from_content("day"),
        F::ServiceHours => ExchangeCell::Number(
            source.entry.map_or(0.0, |(row, _)| (row.minutes as f64 / 60.0 * 100.0).round() / 100.0),
        ),
        F::ServiceMinutes => ExchangeCell::Number(source.entry.map_or(0.0, |(row, _)| row.minutes as f64)),
        F::Recorder => from_content("recorder"),
        F::RegisterSeq => ExchangeCell::Number(source.entry.map_or(0.0, |(row, _)| row.seq as f64)),
        F::EntryKind => text(source.entry.map_or("", |(row, _)| match row.kind {
            RegisterKind::Original => "登记",
            RegisterKind::Reversal => "冲销",
            RegisterKind::Replacement => "更正",
        })),
    }
}

impl Hourmark {
    /// The organisation, if the caller may export for it (with the caller's staff id).
    async fn exchange_organisation(
        &self,
        by: &Principal,
        organisation_id: i64,
    ) -> Result<(i64, Organisation), CoreError> {
        let Principal::Staff { id: staff_id, role, organisation_id: own } = by else {
            return Err(CoreError::refused(ErrorCode::Forbidden, "志愿者不能导出"));
        };
        let organisation = self.store().get_organisation(organisation_id).await?;
        let allowed = match role {
            StaffRole::Administrator => true,
            StaffRole::Organiser | StaffRole::Recorder => *own == Some(organisation_id),
            StaffRole::Leader if *own == Some(organisation_id) => {
                return Err(CoreError::refused(ErrorCode::Forbidden, "导出由组织者、记录员或民政部门进行"));
            }
            StaffRole::Leader => false,
            StaffRole::Officer => {
                let (region, agency) = self.officer(*staff_id).await?;
                agency == Agency::CivilAffairs
                    && organisation.as_ref().is_some_and(|o| crate::identity::region_covers(&region, &o.region_code))
            }
        };
        match organisation {
            Some(organisation) if allowed => Ok((*staff_id, organisation)),
            _ => Err(not_found()),
        }
    }

    /// Whether the volunteer's consent covers sending their data to the national system:
    /// the record consent in force, and a guardian's for a minor.
    async fn exchange_consent(&self, volunteer_id: i64) -> Result<bool, CoreError> {
        let Some(volunteer) = self.store().get_volunteer(volunteer_id).await? else { return Ok(false) };
        let state = ConsentState::from_history(&self.store().consents(volunteer_id).await?);
        let today = self.now().with_timezone(&chrono_tz::Asia::Shanghai).date_naive();
        let adult = latest_birth_date(&volunteer.birth_month).is_some_and(|b| age_band(b, today) == AgeBand::Adult);
        Ok(state.record && (adult || state.guardian))
    }

    /// Records a new export of everything of `kind` confirmed and not yet sent (or of one
    /// confirmed batch's). Refuses an unconfirmed batch (`batch_not_confirmed`) and an
    /// export with nothing new in it (`nothing_to_export`). Audited.
    pub async fn create_exchange_export(
        &self,
        by: &Principal,
        organisation_id: i64,
        request: ExportRequest,
    ) -> Result<ExchangeExport, CoreError> {
        let (staff_id, _) = self.exchange_organisation(by, organisation_id).await?;
        let code = match request.organisation_code.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(code) if valid_organisation_code(code) => Some(code.to_owned()),
            Some(_) => {
                return Err(CoreError::refused(
                    ErrorCode::InvalidBody,
                    "organisation_code 须为 18 位统一社会信用代码（数字与大写字母，不含 I、O、Z、S、V）",
                ));
            }
        };
        if let Some(batch_id) = request.batch_id {
            let batch = self.report_batch(by, batch_id).await?;
            if batch.organisation_id != organisation_id {
                return Err(CoreError::refused(ErrorCode::NotFound, "没有这个报送批次"));
            }
            if batch.status != BatchStatus::Confirmed {
                return Err(CoreError::refused(
                    ErrorCode::BatchNotConfirmed,
                    "该报送批次尚未经民政部门确认，其记录不能导出",
                ));
            }
        }
        let candidates = self.store().exchange_candidates(organisation_id, request.kind, request.batch_id).await?;
        let mut consent: HashMap<i64, bool> = HashMap::new();
        let mut chosen = Vec::with_capacity(candidates.len());
        let mut held = 0u32;
        for (subject, volunteer) in candidates {
            let covered = match volunteer {
                None => true,
                Some(v) => match consent.get(&v) {
                    Some(c) => *c,
                    None => {
                        let c = self.exchange_consent(v).await?;
                        consent.insert(v, c);
                        c
                    }
                },
            };
            if covered {
                chosen.push(subject);
            } else {
                held += 1;
            }
        }
        let nothing = || {
            CoreError::refused(
                ErrorCode::NothingToExport,
                if held > 0 {
                    format!("没有可导出的新记录（{held} 项因志愿者同意范围不含报送而暂缓）")
                } else {
                    "没有尚未导出的已确认记录".to_owned()
                },
            )
        };
        if chosen.is_empty() {
            return Err(nothing());
        }
        let now = self.now();
        let new = NewExchangeExport {
            organisation_id,
            kind: request.kind,
            batch_id: request.batch_id,
            organisation_code: code,
            held_for_consent: held,
            exported_by: staff_id,
            exported_at: now,
        };
        let audit = AuditEvent {
            at: now,
            actor_kind: "staff".into(),
            actor_id: Some(staff_id),
            action: "exchange_export".into(),
            subject_kind: "organisation".into(),
            subject_id: Some(organisation_id),
            detail: serde_json::json!({ "kind": request.kind.as_str(), "batch_id": request.batch_id, "held_for_consent": held }),
        };
        self.store().record_exchange_export(&new, &chosen, &audit).await?.ok_or_else(nothing)
    }

    /// The organisation's exports, newest first.
    pub async fn exchange_exports(
        &self,
        by: &Principal,
        organisation_id: i64,
    ) -> Result<Vec<ExchangeExport>, CoreError> {
        self.exchange_organisation(by, organisation_id).await?;
        self.store().exchange_exports(organisation_id).await
    }

    /// One export the caller may see.
    pub async fn exchange_export(&self, by: &Principal, id: i64) -> Result<ExchangeExport, CoreError> {
        let export = self
            .store()
            .exchange_export(id)
            .await?
            .ok_or_else(|| CoreError::refused(ErrorCode::NotFound, "没有这个导出"))?;
        self.exchange_organisation(by, export.organisation_id).await.map_err(|e| {
            if e.error_code() == ErrorCode::NotFound {
                CoreError::refused(ErrorCode::NotFound, "没有这个导出")
            } else {
                e
            }
        })?;
        Ok(export)
    }

    /// The headers of an export's file.
    pub fn exchange_headers(kind: ExchangeKind) -> Vec<&'static str> {
        columns(kind).map(|c| c.header).collect()
    }

    /// A page of an export's rows (after position `after`), each with its position. The
    /// caller has been checked by [`Hourmark::exchange_export`].
    pub async fn exchange_export_rows(
        &self,
        export: &ExchangeExport,
        after: i64,
        limit: i64,
    ) -> Result<Vec<(i64, Vec<ExchangeCell>)>, CoreError> {
        let items = self.store().exchange_export_items(export.id, after, limit).await?;
        let organisation = self.store().get_organisation(export.organisation_id).await?;
        let code = export.organisation_code.as_deref();
        let base =
            || RowSource { organisation: organisation.as_ref(), organisation_code: code, ..RowSource::default() };
        let render = |source: &RowSource<'_>| columns(export.kind).map(|c| cell(c.field, source)).collect::<Vec<_>>();
        let mut rows = Vec::with_capacity(items.len());
        match export.kind {
            ExchangeKind::Volunteers => {
                for (position, id) in items {
                    let Some(stored) = self.store().get_volunteer(id).await? else { continue };
                    let profile = self.profile(&stored, true)?;
                    rows.push((position, render(&RowSource { volunteer: Some(&profile), ..base() })));
                }
            }
            ExchangeKind::Activities => {
                for (position, id) in items {
                    let Some(activity) = self.store().get_activity(id).await? else { continue };
                    rows.push((position, render(&RowSource { activity: Some(&activity), ..base() })));
                }
            }
            ExchangeKind::ServiceRecords => {
                let seqs: Vec<i64> = items.iter().map(|(_, seq)| *seq).collect();
                let entries: HashMap<i64, RegisterRow> =
                    self.store().register_rows(&seqs).await?.into_iter().map(|r| (r.seq, r)).collect();
                let mut volunteers: HashMap<i64, VolunteerProfile> = HashMap::new();
                for (position, seq) in items {
                    let Some(row) = entries.get(&seq) else { continue };
                    if let std::collections::hash_map::Entry::Vacant(slot) = volunteers.entry(row.volunteer_id)
                        && let Some(stored) = self.store().get_volunteer(row.volunteer_id).await?
                    {
                        slot.insert(self.profile(&stored, true)?);
                    }
                    let content: serde_json::Value = serde_json::from_str(&row.content).unwrap_or_default();
                    let content = if row.kind == RegisterKind::Reversal { content["entry"].clone() } else { content };
                    let source = RowSource {
                        volunteer: volunteers.get(&row.volunteer_id),
                        entry: Some((row, &content)),
                        ..base()
                    };
                    rows.push((position, render(&source)));
                }
            }
        }
        Ok(rows)
    }
}

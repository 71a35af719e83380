//! Exchange with the national volunteer information system (全国志愿服务信息系统):
//! exports of an organisation's volunteers, activities and confirmed service records in
//! the shape of the national system's bulk-import spreadsheets, following the data
//! elements of MZ/T 061-2015.
//!
//! Every column of every export is declared once, in [`EXCHANGE_COLUMNS`]: a header and
//! the field it is filled from. The national templates' exact headers could not be
//! confirmed from public sources (see the README); correcting a header, or moving a
//! column, is a change to that table only.
//!
//! What was sent is recorded item by item (`exchange_export_item`): a volunteer, an
//! activity or a register entry goes to the national system once per organisation, and the
//! next export holds every confirmed one not yet sent, so nothing is sent twice or skipped.
//! Service records and activities come only from confirmed report batches; volunteers
//! only while their consent covers it (see [`export`]).

pub mod export;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What an export holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExchangeKind {
    /// Volunteers (the national system's volunteer import).
    Volunteers,
    /// Activities (projects) with confirmed service.
    Activities,
    /// Confirmed service records (the national system's service-hours import).
    ServiceRecords,
}

crate::stored_names!(ExchangeKind {
    Volunteers => "volunteers",
    Activities => "activities",
    ServiceRecords => "service_records",
});

/// Where a column's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExchangeField {
    /// Hourmark's volunteer number (志愿者编号). MZ/T 061-2015's unified number is
    /// assigned by the national system on import; until it is known, this stands in.
    VolunteerNumber,
    /// Name.
    VolunteerName,
    /// ID document type, in Chinese.
    IdType,
    /// ID number, in full (the national system identifies people by it).
    IdNumber,
    /// GB/T 2261.1 gender, in Chinese (男/女/未知/未说明).
    Gender,
    /// `YYYY-MM`.
    BirthMonth,
    /// Mobile number.
    Phone,
    /// Skills, joined by 、.
    Skills,
    /// The organisation's name.
    OrganisationName,
    /// The organisation's unified social credit code, as given for the export.
    OrganisationCode,
    /// The organisation's region (GB/T 2260).
    RegionCode,
    /// Hourmark's activity number.
    ActivityNumber,
    /// The activity's name.
    ActivityName,
    /// The activity's service category (Hourmark's code).
    ServiceCategory,
    /// The place.
    Place,
    /// Start (Asia/Shanghai, `YYYY-MM-DD HH:MM`).
    StartsAt,
    /// End (Asia/Shanghai).
    EndsAt,
    /// Recipients (服务对象).
    Recipients,
    /// What was done.
    Content,
    /// The day served (`YYYY-MM-DD`).
    ServiceDate,
    /// Service time in hours, two decimals (negative for a reversal).
    ServiceHours,
    /// Service time in minutes (negative for a reversal).
    ServiceMinutes,
    /// The recorder who finalised it.
    Recorder,
    /// The register entry's sequence number.
    RegisterSeq,
    /// 登记 / 冲销 / 更正.
    EntryKind,
}

/// One export column.
#[derive(Debug, Clone, Copy)]
pub struct ExchangeColumn {
    /// Which export.
    pub kind: ExchangeKind,
    /// Its header.
    pub header: &'static str,
    /// Its value.
    pub field: ExchangeField,
}

const fn column(kind: ExchangeKind, header: &'static str, field: ExchangeField) -> ExchangeColumn {
    ExchangeColumn { kind, header, field }
}

/// Every column of every export, in order. The one place to correct a mapping.
pub const EXCHANGE_COLUMNS: &[ExchangeColumn] = {
    use ExchangeField as F;
    use ExchangeKind::{Activities as A, ServiceRecords as S, Volunteers as V};
    &[
        column(V, "志愿者编号", F::VolunteerNumber),
        column(V, "姓名", F::VolunteerName),
        column(V, "证件类型", F::IdType),
        column(V, "证件号码", F::IdNumber),
        column(V, "性别", F::Gender),
        column(V, "出生年月", F::BirthMonth),
        column(V, "手机号码", F::Phone),
        column(V, "技能特长", F::Skills),
        column(V, "所属组织", F::OrganisationName),
        column(V, "组织机构代码", F::OrganisationCode),
        column(V, "所在地区代码", F::RegionCode),
        column(A, "活动编号", F::ActivityNumber),
        column(A, "活动名称", F::ActivityName),
        column(A, "服务类别", F::ServiceCategory),
        column(A, "活动地点", F::Place),
        column(A, "开始时间", F::StartsAt),
        column(A, "结束时间", F::EndsAt),
        column(A, "服务对象", F::Recipients),
        column(A, "服务内容", F::Content),
        column(A, "发布组织", F::OrganisationName),
        column(A, "组织机构代码", F::OrganisationCode),
        column(S, "志愿者编号", F::VolunteerNumber),
        column(S, "姓名", F::VolunteerName),
        column(S, "证件类型", F::IdType),
        column(S, "证件号码", F::IdNumber),
        column(S, "活动编号", F::ActivityNumber),
        column(S, "活动名称", F::ActivityName),
        column(S, "服务日期", F::ServiceDate),
        column(S, "服务时长（小时）", F::ServiceHours),
        column(S, "服务时长（分钟）", F::ServiceMinutes),
        column(S, "记录组织", F::OrganisationName),
        column(S, "组织机构代码", F::OrganisationCode),
        column(S, "记录人", F::Recorder),
        column(S, "登记序号", F::RegisterSeq),
        column(S, "登记类型", F::EntryKind),
    ]
};

/// The columns of one export, in order.
pub fn columns(kind: ExchangeKind) -> impl Iterator<Item = &'static ExchangeColumn> {
    EXCHANGE_COLUMNS.iter().filter(move |c| c.kind == kind)
}

/// A cell of an export.
#[derive(Debug, Clone, PartialEq)]
pub enum ExchangeCell {
    /// Text (ID and phone numbers are text, never numbers: spreadsheets would round them).
    Text(String),
    /// A number.
    Number(f64),
}

/// Asking for an export.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportRequest {
    /// What to export.
    pub kind: ExchangeKind,
    /// Only this report batch's entries (it must be confirmed); every confirmed batch's
    /// when absent.
    #[serde(default)]
    pub batch_id: Option<i64>,
    /// The organisation's unified social credit code (统一社会信用代码, 18 characters),
    /// written into the organisation-code column.
    #[serde(default)]
    pub organisation_code: Option<String>,
}

/// A recorded export.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ExchangeExport {
    /// Its id.
    pub id: i64,
    /// Whose.
    pub organisation_id: i64,
    /// What it holds.
    pub kind: ExchangeKind,
    /// The one batch it was asked for, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch_id: Option<i64>,
    /// The organisation code given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organisation_code: Option<String>,
    /// How many volunteers, activities or register entries it holds.
    pub items: u32,
    /// How many were left out because the volunteer's consent does not cover sending
    /// them (they go in a later export once it does).
    pub held_for_consent: u32,
    /// By whom (staff id).
    pub exported_by: i64,
    /// When.
    #[serde(with = "crate::activity::shanghai_time")]
    #[schema(value_type = String)]
    pub exported_at: DateTime<Utc>,
}

/// An export to record, with the subjects chosen for it.
#[derive(Debug, Clone)]
pub struct NewExchangeExport {
    /// Whose.
    pub organisation_id: i64,
    /// What.
    pub kind: ExchangeKind,
    /// The one batch asked for.
    pub batch_id: Option<i64>,
    /// The organisation code given.
    pub organisation_code: Option<String>,
    /// Held for consent.
    pub held_for_consent: u32,
    /// By whom.
    pub exported_by: i64,
    /// When.
    pub exported_at: DateTime<Utc>,
}

/// A unified social credit code (GB 32100-2015): 18 characters of digits and capital
/// letters other than I, O, Z, S and V.
pub fn valid_organisation_code(code: &str) -> bool {
    code.len() == 18 && code.bytes().all(|b| b.is_ascii_digit() || (b.is_ascii_uppercase() && !b"IOZSV".contains(&b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_export_has_its_columns_and_numbers_stay_text() {
        for kind in [ExchangeKind::Volunteers, ExchangeKind::Activities, ExchangeKind::ServiceRecords] {
            let headers: Vec<&str> = columns(kind).map(|c| c.header).collect();
            let unique: std::collections::BTreeSet<&&str> = headers.iter().collect();
            assert_eq!(unique.len(), headers.len(), "{kind:?} repeats a header");
            assert!(headers.len() >= 8);
        }
        assert!(columns(ExchangeKind::ServiceRecords).any(|c| c.field == ExchangeField::IdNumber));
    }

    #[test]
    fn organisation_codes() {
        assert!(valid_organisation_code("91530102MA6K12345X"));
        assert!(!valid_organisation_code("91530102MA6K12345"));
        assert!(!valid_organisation_code("91530102MA6K1234SX"));
    }
}

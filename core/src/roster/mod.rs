//! Rosters (花名册): an organisation's existing volunteers, brought in from the
//! spreadsheet it kept before Hourmark. Each row is checked as a registration would be
//! (ID numbers by GB 11643, mobile numbers, the consents the volunteer signed on paper
//! with the version of the notice they were shown); a row whose ID number is already
//! registered is linked to the organisation's roster, never registered twice (found by
//! the keyed hash of the ID number, as registration finds it). A dry run reports every
//! refused row and why; the import itself is all or nothing.
//!
//! The columns are matched by their Chinese header, in any order, from one table:
//! [`ROSTER_COLUMNS`].

pub mod historic;
pub mod import;
pub mod sheet;

use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::CoreError;
use crate::identity::id_number::IdNumber;
use crate::identity::{Gender, IdType};

pub use import::{RosterEntry, RosterImportRecord};
pub use sheet::SheetEncoding;

/// What a roster column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RosterField {
    /// 姓名.
    Name,
    /// 证件类型 (resident ID card when absent).
    IdType,
    /// 证件号码.
    IdNumber,
    /// 手机号码.
    Phone,
    /// 性别 (男/女): needed only for documents that do not carry it.
    Gender,
    /// 出生年月 (YYYY-MM): needed only for documents that do not carry it.
    BirthMonth,
    /// 技能特长, separated by 、，, ; or ；.
    Skills,
    /// 同意记录: the volunteer consented on paper to processing for the service record (是).
    RecordConsent,
    /// 同意公示: consented to publicity of a masked name and hours (是/否).
    PublicityConsent,
    /// 告知书版本: the version of the privacy notice the volunteer signed.
    NoticeVersion,
}

/// One column: the headers it is known by (the first is the one Hourmark writes) and
/// whether a roster must have it.
#[derive(Debug, Clone, Copy)]
pub struct RosterColumn {
    /// What it holds.
    pub field: RosterField,
    /// The headers accepted, the canonical one first.
    pub headers: &'static [&'static str],
    /// Whether the roster must have this column.
    pub required: bool,
}

/// Every roster column, in the order of Hourmark's template. Headers are compared after
/// trimming, ignoring a trailing `*` (templates mark required columns so) and full-width
/// parentheses' contents.
pub const ROSTER_COLUMNS: &[RosterColumn] = &[
    RosterColumn { field: RosterField::Name, headers: &["姓名"], required: true },
    RosterColumn { field: RosterField::IdType, headers: &["证件类型"], required: false },
    RosterColumn {
        field: RosterField::IdNumber,
        headers: &["证件号码", "身份证号码", "身份证号", "公民身份号码"],
        required: true,
    },
    RosterColumn {
        field: RosterField::Phone, headers: &["手机号码", "手机号", "联系电话", "手机"], required: true
    },
    RosterColumn { field: RosterField::Gender, headers: &["性别"], required: false },
    RosterColumn { field: RosterField::BirthMonth, headers: &["出生年月"], required: false },
    RosterColumn { field: RosterField::Skills, headers: &["技能特长", "特长", "技能"], required: false },
    RosterColumn { field: RosterField::RecordConsent, headers: &["同意记录"], required: true },
    RosterColumn { field: RosterField::PublicityConsent, headers: &["同意公示"], required: false },
    RosterColumn { field: RosterField::NoticeVersion, headers: &["告知书版本"], required: true },
];

/// The Chinese names of the document types, as rosters write them.
const ID_TYPE_NAMES: &[(&str, IdType)] = &[
    ("居民身份证", IdType::ResidentId),
    ("身份证", IdType::ResidentId),
    ("港澳台居民居住证", IdType::ResidentId),
    ("护照", IdType::Passport),
    ("港澳居民来往内地通行证", IdType::HkMacaoPermit),
    ("台湾居民来往大陆通行证", IdType::TaiwanPermit),
    ("外国人永久居留身份证", IdType::ForeignPermanentResident),
];

/// Why a row was refused: a stable code a client may switch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RowProblem {
    /// The name is missing or not a valid name.
    NameInvalid,
    /// The document type is not one Hourmark knows.
    IdTypeUnknown,
    /// The ID number fails its document's checks (for resident IDs: region, birth date,
    /// check character).
    IdNumberInvalid,
    /// Not a mainland mobile number.
    PhoneInvalid,
    /// Gender or birth month missing (documents that do not carry them) or contradicting
    /// the ID number.
    PersonalDataInvalid,
    /// Skills: too many, or one too long.
    SkillsInvalid,
    /// The volunteer did not consent to the service record (a roster row must say 是).
    ConsentRequired,
    /// A consent cell is neither 是 nor 否, or the notice version is missing.
    ConsentInvalid,
    /// The same ID number (or mobile number) appears on an earlier row of the file.
    DuplicateInFile,
    /// The mobile number belongs to another registered volunteer.
    PhoneTaken,
}

/// A refused row.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RowRefusal {
    /// Its spreadsheet row number (the header is row 1).
    pub row: u32,
    /// Why, as a code.
    pub problem: RowProblem,
    /// Why, for a person (Chinese). Never holds the ID number.
    pub detail: String,
}

/// What a dry run (or an import) found.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct RosterReport {
    /// Data rows read (blank rows not counted).
    pub rows: u32,
    /// Rows that would register a new volunteer.
    pub new_volunteers: u32,
    /// Rows whose volunteer is already registered: linked to the roster, not registered again.
    pub already_registered: u32,
    /// Every refused row, in row order.
    pub refused: Vec<RowRefusal>,
}

/// A row that passed every check that needs no database.
#[derive(Clone)]
pub struct ValidRow {
    /// Spreadsheet row number.
    pub row: u32,
    /// Name.
    pub name: String,
    /// The checked ID number.
    pub id_number: IdNumber,
    /// Normalised mobile number.
    pub phone: String,
    /// Gender (from the ID number where it has one).
    pub gender: Gender,
    /// `YYYY-MM`.
    pub birth_month: String,
    /// Skills.
    pub skills: Vec<String>,
    /// Consented to publicity.
    pub publicity: bool,
    /// The notice version signed.
    pub notice_version: String,
}

impl std::fmt::Debug for ValidRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValidRow").field("row", &self.row).finish_non_exhaustive()
    }
}

/// Where each field is in the file's rows, found from the header row.
#[derive(Debug, Clone)]
pub struct RosterLayout {
    positions: Vec<(RosterField, usize)>,
}

fn normalise_header(header: &str) -> String {
    let trimmed = header.trim().trim_start_matches('\u{feff}').trim();
    let trimmed = trimmed.trim_start_matches('*').trim_end_matches('*').trim();
    // "时长（分钟）" and "时长(分钟)" name the same column.
    trimmed.replace('（', "(").replace('）', ")")
}

impl RosterLayout {
    /// Reads the header row against `columns`; names every required column missing.
    pub fn from_header<F: Copy + PartialEq>(
        header: &[String],
        columns: &[(F, &[&str], bool)],
    ) -> Result<Vec<(F, usize)>, CoreError> {
        let normalised: Vec<String> = header.iter().map(|h| normalise_header(h)).collect();
        let mut found = Vec::new();
        let mut missing = Vec::new();
        for (field, names, required) in columns {
            let at = normalised.iter().position(|h| names.iter().any(|n| normalise_header(n) == *h));
            match at {
                Some(at) => found.push((*field, at)),
                None if *required => missing.push(names[0]),
                None => {}
            }
        }
        if !missing.is_empty() {
            return Err(CoreError::refused(
                crate::error::ErrorCode::RosterFormat,
                format!("第 1 行（表头）缺少以下列：{}", missing.join("、")),
            ));
        }
        Ok(found)
    }

    /// The roster's layout.
    pub fn roster(header: &[String]) -> Result<Self, CoreError> {
        let columns: Vec<(RosterField, &[&str], bool)> =
            ROSTER_COLUMNS.iter().map(|c| (c.field, c.headers, c.required)).collect();
        Ok(Self { positions: Self::from_header(header, &columns)? })
    }

    fn cell<'a>(&self, row: &'a [String], field: RosterField) -> &'a str {
        self.positions.iter().find(|(f, _)| *f == field).and_then(|(_, at)| row.get(*at)).map_or("", |s| s.trim())
    }
}

fn yes_no(text: &str) -> Option<bool> {
    match text.trim() {
        "是" | "同意" | "Y" | "y" | "yes" | "1" | "√" => Some(true),
        "否" | "不同意" | "N" | "n" | "no" | "0" | "" => Some(false),
        _ => None,
    }
}

fn refusal(row: u32, problem: RowProblem, detail: impl Into<String>) -> RowRefusal {
    RowRefusal { row, problem, detail: detail.into() }
}

/// Checks one data row as registration would; pure (`today` in Asia/Shanghai).
pub fn validate_row(
    layout: &RosterLayout,
    number: u32,
    row: &[String],
    today: NaiveDate,
) -> Result<ValidRow, RowRefusal> {
    let cell = |field| layout.cell(row, field);
    let name = crate::identity::validate_person_name(cell(RosterField::Name))
        .map_err(|_| refusal(number, RowProblem::NameInvalid, "姓名须为 1 至 50 个字符，且不含不可见字符"))?;
    let id_type = match cell(RosterField::IdType) {
        "" => IdType::ResidentId,
        text => ID_TYPE_NAMES
            .iter()
            .find(|(n, _)| *n == text)
            .map(|(_, t)| *t)
            .ok_or_else(|| refusal(number, RowProblem::IdTypeUnknown, format!("证件类型“{text}”无法识别")))?,
    };
    let id_number = IdNumber::parse(id_type, cell(RosterField::IdNumber), today)
        .map_err(|e| refusal(number, RowProblem::IdNumberInvalid, e.message_zh()))?;
    let phone = crate::identity::normalise_phone(cell(RosterField::Phone))
        .map_err(|_| refusal(number, RowProblem::PhoneInvalid, "手机号码须为 11 位大陆手机号"))?;
    let stated_gender = match cell(RosterField::Gender) {
        "" => None,
        "男" => Some(Gender::Male),
        "女" => Some(Gender::Female),
        other => {
            return Err(refusal(number, RowProblem::PersonalDataInvalid, format!("性别“{other}”应为“男”或“女”")));
        }
    };
    let stated_month = match cell(RosterField::BirthMonth) {
        "" => None,
        text => Some(
            crate::identity::registration::validate_birth_month(
                &text.replace(['/', '.', '年'], "-").replace('月', ""),
                today,
            )
            .map_err(|_| refusal(number, RowProblem::PersonalDataInvalid, "出生年月须为 YYYY-MM 格式的过去年月"))?,
        ),
    };
    let (gender, birth_month) = match (id_number.gender(), id_number.birth_date()) {
        (Some(gender), Some(birth)) => {
            let derived = birth.format("%Y-%m").to_string();
            if stated_gender.is_some_and(|g| g != gender) || stated_month.as_ref().is_some_and(|m| *m != derived) {
                return Err(refusal(number, RowProblem::PersonalDataInvalid, "性别或出生年月与身份证号码不符"));
            }
            (gender, derived)
        }
        _ => match (stated_gender, stated_month) {
            (Some(g), Some(m)) => (g, m),
            _ => {
                return Err(refusal(number, RowProblem::PersonalDataInvalid, "该证件类型须同时填写性别与出生年月"));
            }
        },
    };
    let skills: Vec<String> =
        cell(RosterField::Skills).split(['、', '，', ',', ';', '；']).map(str::to_owned).collect();
    let skills = crate::identity::registration::validate_skills(skills)
        .map_err(|_| refusal(number, RowProblem::SkillsInvalid, "技能特长最多 20 项，每项 1 至 30 个字符"))?;
    match yes_no(cell(RosterField::RecordConsent)) {
        Some(true) => {}
        Some(false) => {
            return Err(refusal(
                number,
                RowProblem::ConsentRequired,
                "未同意为志愿服务记录之目的处理个人信息，不能导入",
            ));
        }
        None => return Err(refusal(number, RowProblem::ConsentInvalid, "“同意记录”须填“是”或“否”")),
    }
    let publicity = yes_no(cell(RosterField::PublicityConsent))
        .ok_or_else(|| refusal(number, RowProblem::ConsentInvalid, "“同意公示”须填“是”或“否”"))?;
    let notice_version = crate::identity::line_text(cell(RosterField::NoticeVersion), 32, "告知书版本")
        .map_err(|_| refusal(number, RowProblem::ConsentInvalid, "须填写所签告知书的版本（1 至 32 个字符）"))?;
    Ok(ValidRow { row: number, name, id_number, phone, gender, birth_month, skills, publicity, notice_version })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 2).expect("date")
    }

    fn strings(cells: &[&str]) -> Vec<String> {
        cells.iter().map(|s| (*s).to_owned()).collect()
    }

    fn layout() -> RosterLayout {
        RosterLayout::roster(&strings(&["姓名", "证件号码", "手机号码", "同意记录", "同意公示", "告知书版本*"]))
            .expect("layout")
    }

    #[test]
    fn a_good_row_derives_gender_and_birth_month() {
        let row = strings(&["张三", "11010519491231002X", "138 0000 1234", "是", "否", "2024-1"]);
        let valid = validate_row(&layout(), 2, &row, today()).expect("valid");
        assert_eq!(
            (valid.gender, valid.birth_month.as_str(), valid.phone.as_str()),
            (Gender::Female, "1949-12", "13800001234")
        );
        assert!(!valid.publicity);
    }

    #[test]
    fn each_bad_cell_has_its_code() {
        let cases = [
            (["张三", "110105194912310021", "13800001234", "是", "", "v1"], RowProblem::IdNumberInvalid),
            (["张三", "11010519491231002X", "12345", "是", "", "v1"], RowProblem::PhoneInvalid),
            (["张三", "11010519491231002X", "13800001234", "否", "", "v1"], RowProblem::ConsentRequired),
            (["张三", "11010519491231002X", "13800001234", "也许", "", "v1"], RowProblem::ConsentInvalid),
            (["张三", "11010519491231002X", "13800001234", "是", "", ""], RowProblem::ConsentInvalid),
            (["", "11010519491231002X", "13800001234", "是", "", "v1"], RowProblem::NameInvalid),
        ];
        for (cells, problem) in cases {
            let refused = validate_row(&layout(), 73, &strings(&cells), today()).expect_err("refused");
            assert_eq!((refused.row, refused.problem), (73, problem));
        }
    }

    #[test]
    fn a_missing_required_column_is_named() {
        let refused = RosterLayout::roster(&strings(&["姓名", "手机号码"])).expect_err("refused");
        assert_eq!(refused.error_code(), crate::error::ErrorCode::RosterFormat);
        assert!(refused.to_string().contains("证件号码"));
    }
}

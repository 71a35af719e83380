//! Historic service hours: time served before the organisation used Hourmark, kept on
//! paper. They enter as late entries (补录), one per volunteer and day, with the paper
//! evidence's reference: a second recorder approves each, then it goes through publicity
//! like any other minutes. Nothing here writes to the register.
//!
//! The whole file is checked first, every row through the same checks a single late
//! entry gets; a file with any refused row is refused whole (`roster_invalid`, naming
//! the rows) and nothing is written.

use std::collections::HashMap;

use bytes::Bytes;
use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;

use super::RosterLayout;
use super::sheet::{SheetEncoding, read_rows};
use crate::error::{CoreError, ErrorCode};
use crate::hourmark::Hourmark;
use crate::identity::id_number::IdNumber;
use crate::identity::pii::PiiField;
use crate::identity::{IdType, Principal};
use crate::review::finalise::{LateEntry, LateEntryRequest};

/// What a historic-hours column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoricField {
    /// 志愿者编号 (either this or the ID number).
    VolunteerNumber,
    /// 证件号码 (a resident ID number).
    IdNumber,
    /// 服务日期 (YYYY-MM-DD).
    Day,
    /// 服务时长（分钟）.
    Minutes,
    /// 纸质凭证编号: the reference of the paper record (sign-in sheet, ledger page).
    Evidence,
    /// 说明 (optional).
    Reason,
}

/// Every historic-hours column: field, accepted headers, required.
pub const HISTORIC_COLUMNS: &[(HistoricField, &[&str], bool)] = &[
    (HistoricField::VolunteerNumber, &["志愿者编号"], false),
    (HistoricField::IdNumber, &["证件号码", "身份证号码", "身份证号"], false),
    (HistoricField::Day, &["服务日期", "日期"], true),
    (HistoricField::Minutes, &["服务时长(分钟)", "时长(分钟)"], true),
    (HistoricField::Evidence, &["纸质凭证编号", "凭证编号"], true),
    (HistoricField::Reason, &["说明", "备注"], false),
];

/// The most rows one historic file may hold (one activity's paper records).
pub const HISTORIC_MAX_ROWS: usize = 5000;

/// What a historic import asked for.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HistoricImport {
    /// The late entries, each waiting for a second recorder.
    pub late_entries: Vec<LateEntry>,
}

struct HistoricRow {
    row: u32,
    number: String,
    id_number: String,
    day: String,
    minutes: String,
    evidence: String,
    reason: String,
}

impl Hourmark {
    /// Asks for a late entry for every row of a file of historic hours (a qualified
    /// recorder of the activity's organisation), all or nothing.
    pub async fn import_historic_hours(
        &self,
        by: &Principal,
        activity_id: i64,
        file: Bytes,
        encoding: SheetEncoding,
    ) -> Result<HistoricImport, CoreError> {
        // Before reading anything: only those who may ask for late entries at all.
        let activity = self.reviewable_activity(by, activity_id).await?;
        self.require_recorder_of(by, activity.organisation_id).await?;
        let mut layout: Option<Vec<(HistoricField, usize)>> = None;
        let mut rows = Vec::new();
        read_rows(&file, encoding, |number, cells| {
            let Some(layout) = layout.as_ref() else {
                let found = RosterLayout::from_header(&cells, HISTORIC_COLUMNS)?;
                if !found.iter().any(|(f, _)| matches!(f, HistoricField::VolunteerNumber | HistoricField::IdNumber)) {
                    return Err(CoreError::refused(
                        ErrorCode::RosterFormat,
                        "第 1 行（表头）须有“志愿者编号”或“证件号码”列",
                    ));
                }
                layout = Some(found);
                return Ok(());
            };
            if rows.len() == HISTORIC_MAX_ROWS {
                return Err(CoreError::refused(
                    ErrorCode::RosterFormat,
                    format!("一次最多补录 {HISTORIC_MAX_ROWS} 行"),
                ));
            }
            let cell = |field| {
                layout
                    .iter()
                    .find(|(f, _)| *f == field)
                    .and_then(|(_, at)| cells.get(*at))
                    .map_or("", |s| s.trim())
                    .to_owned()
            };
            rows.push(HistoricRow {
                row: number,
                number: cell(HistoricField::VolunteerNumber),
                id_number: cell(HistoricField::IdNumber),
                day: cell(HistoricField::Day),
                minutes: cell(HistoricField::Minutes),
                evidence: cell(HistoricField::Evidence),
                reason: cell(HistoricField::Reason),
            });
            Ok(())
        })?;
        if layout.is_none() || rows.is_empty() {
            return Err(CoreError::refused(ErrorCode::RosterFormat, "文件没有数据行"));
        }
        let today = self.now().with_timezone(&chrono_tz::Asia::Shanghai).date_naive();
        let mut refused: Vec<(u32, String)> = Vec::new();
        let mut checked = Vec::with_capacity(rows.len());
        let mut seen: HashMap<(i64, NaiveDate), u32> = HashMap::new();
        for row in rows {
            match self.historic_request(&row, today).await {
                Err(detail) => refused.push((row.row, detail)),
                Ok(request) => {
                    let key = (request.volunteer_id.unwrap_or_default(), request.day);
                    if let Some(first) = seen.get(&key) {
                        refused.push((row.row, format!("与第 {first} 行是同一志愿者的同一天")));
                        continue;
                    }
                    seen.insert(key, row.row);
                    match self.checked_late_entry(by, activity_id, request).await {
                        Ok(entry) => checked.push(entry),
                        Err(CoreError::Refused { detail, .. }) => refused.push((row.row, detail)),
                        Err(e) => return Err(e),
                    }
                }
            }
        }
        if !refused.is_empty() {
            let listed: Vec<String> = refused.iter().take(20).map(|(row, d)| format!("第 {row} 行：{d}")).collect();
            return Err(CoreError::refused(
                ErrorCode::RosterInvalid,
                format!("有 {} 行未通过校验，未补录任何记录。{}", refused.len(), listed.join("；")),
            ));
        }
        let mut late_entries = Vec::with_capacity(checked.len());
        for entry in checked {
            late_entries.push(self.store_late_entry(activity_id, entry).await?);
        }
        Ok(HistoricImport { late_entries })
    }

    /// A row as a late-entry request, or why not.
    async fn historic_request(&self, row: &HistoricRow, today: NaiveDate) -> Result<LateEntryRequest, String> {
        let volunteer_id = match (row.number.as_str(), row.id_number.as_str()) {
            ("", "") => return Err("须填写志愿者编号或证件号码".into()),
            (number, "") => self
                .store()
                .volunteer_id_by_number(number)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| "没有这个志愿者编号".to_owned())?,
            (_, id_number) => {
                let id =
                    IdNumber::parse(IdType::ResidentId, id_number, today).map_err(|e| e.message_zh().to_owned())?;
                let lookup =
                    self.vault().lookup(PiiField::IdNumber, &format!("{}:{}", id.id_type().as_str(), id.as_str()));
                self.store()
                    .volunteers_by_lookups(&[lookup], &[])
                    .await
                    .map_err(|e| e.to_string())?
                    .into_iter()
                    .find(|k| k.1 == lookup)
                    .map(|k| k.0)
                    .ok_or_else(|| "该证件号码的志愿者尚未登记（可先导入花名册）".to_owned())?
            }
        };
        let day = NaiveDate::parse_from_str(&row.day.replace(['/', '.'], "-"), "%Y-%m-%d")
            .map_err(|_| "服务日期须为 YYYY-MM-DD".to_owned())?;
        let minutes: u32 = row.minutes.parse().map_err(|_| "服务时长须为整数分钟".to_owned())?;
        if row.evidence.is_empty() {
            return Err("须填写纸质凭证编号".into());
        }
        let reason = if row.reason.is_empty() {
            "启用本系统前的纸质记录补录".to_owned()
        } else {
            row.reason.clone()
        };
        Ok(LateEntryRequest {
            volunteer_id: Some(volunteer_id),
            volunteer_number: None,
            day,
            minutes,
            evidence: format!("纸质凭证：{}", row.evidence),
            reason,
        })
    }
}

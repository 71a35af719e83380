//! The use cases of the roster import (`impl Hourmark`), apart from its types and rules in
//! the parent module, which the store and the context import without importing these.

use super::super::sheet::SheetEncoding;
use super::super::{RosterReport, RowProblem, RowRefusal};
use super::*;
use crate::audit::AuditEvent;
use crate::error::{CoreError, ErrorCode};
use crate::hourmark::Hourmark;
use crate::identity::{Principal, StaffRole};
use bytes::Bytes;
use std::collections::HashMap;
use tokio::sync::mpsc;

impl Hourmark {
    /// The staff id of whoever may import the organisation's roster: its organisers and
    /// administrators.
    async fn roster_importer(&self, by: &Principal, organisation_id: i64) -> Result<i64, CoreError> {
        let staff_id = match by {
            Principal::Staff { id, role: StaffRole::Administrator, .. } => *id,
            Principal::Staff { id, role: StaffRole::Organiser, organisation_id: Some(org) }
                if *org == organisation_id =>
            {
                *id
            }
            Principal::Staff { organisation_id: Some(org), .. } if *org == organisation_id => {
                return Err(CoreError::refused(ErrorCode::Forbidden, "花名册由本组织的组织者导入"));
            }
            Principal::Staff { role: StaffRole::Officer, .. } | Principal::Volunteer { .. } => {
                return Err(CoreError::refused(ErrorCode::Forbidden, "花名册由本组织的组织者导入"));
            }
            Principal::Staff { .. } => return Err(CoreError::refused(ErrorCode::NotFound, "没有这个组织")),
        };
        self.store()
            .get_organisation(organisation_id)
            .await?
            .ok_or_else(|| CoreError::refused(ErrorCode::NotFound, "没有这个组织"))?;
        Ok(staff_id)
    }

    fn today(&self) -> chrono::NaiveDate {
        self.now().with_timezone(&chrono_tz::Asia::Shanghai).date_naive()
    }

    /// Checks a roster without writing anything: every refused row and why, and how many
    /// volunteers it would register or link.
    pub async fn roster_dry_run(
        &self,
        by: &Principal,
        organisation_id: i64,
        file: Bytes,
        encoding: SheetEncoding,
    ) -> Result<RosterReport, CoreError> {
        self.roster_importer(by, organisation_id).await?;
        Ok(self.check_roster(file, encoding).await?.0)
    }

    async fn check_roster(
        &self,
        file: Bytes,
        encoding: SheetEncoding,
    ) -> Result<(RosterReport, Registered), CoreError> {
        let mut chunks = read_in_background(file, encoding, self.today(), self.vault().clone(), 2, Ok);
        let mut report = RosterReport::default();
        let mut seen_ids: HashMap<[u8; 32], u32> = HashMap::new();
        let mut seen_phones: HashMap<[u8; 32], u32> = HashMap::new();
        let mut registered = Registered::new();
        while let Some(chunk) = chunks.recv().await {
            let chunk = chunk?;
            let ids: Vec<[u8; 32]> = chunk.iter().filter_map(|p| p.as_ref().ok().map(|p| p.id_lookup)).collect();
            let phones: Vec<[u8; 32]> = chunk.iter().filter_map(|p| p.as_ref().ok().map(|p| p.phone_lookup)).collect();
            let known = self.store().volunteers_by_lookups(&ids, &phones).await?;
            for parsed in chunk {
                report.rows += 1;
                let parsed = match parsed {
                    Ok(parsed) => parsed,
                    Err(refused) => {
                        report.refused.push(refused);
                        continue;
                    }
                };
                let row = parsed.row.row;
                let duplicate = |first: u32, what: &str| RowRefusal {
                    row,
                    problem: RowProblem::DuplicateInFile,
                    detail: format!("{what}与第 {first} 行重复"),
                };
                if let Some(first) = seen_ids.get(&parsed.id_lookup) {
                    report.refused.push(duplicate(*first, "证件号码"));
                    continue;
                }
                if let Some(first) = seen_phones.get(&parsed.phone_lookup) {
                    report.refused.push(duplicate(*first, "手机号码"));
                    continue;
                }
                seen_ids.insert(parsed.id_lookup, row);
                seen_phones.insert(parsed.phone_lookup, row);
                if let Some(known) = known.iter().find(|k| k.1 == parsed.id_lookup) {
                    report.already_registered += 1;
                    registered.insert(parsed.id_lookup, known.0);
                } else if known.iter().any(|k| k.2 == parsed.phone_lookup) {
                    report.refused.push(RowRefusal {
                        row,
                        problem: RowProblem::PhoneTaken,
                        detail: "该手机号码已由另一位志愿者登记".into(),
                    });
                } else {
                    report.new_volunteers += 1;
                }
            }
        }
        Ok((report, registered))
    }

    /// Imports a roster, all or nothing: a roster with any refused row is refused whole
    /// (`roster_invalid`, naming the first rows; the dry run lists them all) and nothing
    /// is written but the record of the refused attempt. Registers the new volunteers with
    /// the consents they signed on paper, links those already registered, and records the
    /// import (with `file_name`, as the uploader's browser gave it). Audited.
    pub async fn import_roster(
        &self,
        by: &Principal,
        organisation_id: i64,
        file: Bytes,
        encoding: SheetEncoding,
        file_name: Option<&str>,
    ) -> Result<RosterImportRecord, CoreError> {
        let staff_id = self.roster_importer(by, organisation_id).await?;
        let file_name = checked_file_name(file_name)?;
        let now = self.now();
        let digest = hex(ring::digest::digest(&ring::digest::SHA256, &file).as_ref());
        let (report, registered) = self.check_roster(file.clone(), encoding).await?;
        let mut new = NewRosterImport {
            organisation_id,
            imported_by: staff_id,
            file_digest: digest.clone(),
            file_name,
            counts: (report.rows, report.new_volunteers, report.already_registered),
            at: now,
            audit: AuditEvent {
                at: now,
                actor_kind: "staff".into(),
                actor_id: Some(staff_id),
                action: "roster_import".into(),
                subject_kind: "organisation".into(),
                subject_id: Some(organisation_id),
                detail: serde_json::json!({
                    "file_digest": digest,
                    "rows": report.rows,
                    "registered": report.new_volunteers,
                    "linked": report.already_registered,
                }),
            },
        };
        if !report.refused.is_empty() {
            // Kept so the desk lists the attempt; nobody is registered or linked.
            new.counts = (report.rows, 0, 0);
            let refused = u32::try_from(report.refused.len()).unwrap_or(u32::MAX);
            self.store().record_refused_roster_import(&new, refused).await?;
            let first: Vec<String> =
                report.refused.iter().take(10).map(|r| format!("第 {} 行：{}", r.row, r.detail)).collect();
            return Err(CoreError::refused(
                ErrorCode::RosterInvalid,
                format!(
                    "花名册有 {} 行未通过校验，未导入任何数据。{}{}",
                    report.refused.len(),
                    first.join("；"),
                    if report.refused.len() > 10 { "……（试运行可查看全部）" } else { "" }
                ),
            ));
        }
        if report.rows == 0 {
            return Err(CoreError::refused(ErrorCode::RosterFormat, "花名册没有数据行"));
        }
        let vault = self.vault().clone();
        let mut entries = read_in_background(file, encoding, self.today(), vault.clone(), 2, move |chunk| {
            chunk.into_iter().map(|parsed| to_entry(&vault, &registered, parsed, now)).collect()
        });
        // What an earlier import left (it failed, or was cut off) is deleted by the publish
        // itself, first, on the engine that can leave any (SQLite, under its publish lock).
        let staging = Staging::new(self.clone());
        let published = self.stage_and_publish(&staging.key, &new, &mut entries).await;
        staging.discard().await;
        published
    }

    /// Stages the chunks as they come, each in its own short transaction, then publishes
    /// them, all at once as readers see it ([`crate::store::ExchangeStore::publish_roster`]).
    async fn stage_and_publish(
        &self,
        staging_key: &str,
        import: &NewRosterImport,
        entries: &mut mpsc::Receiver<Result<Vec<RosterEntry>, CoreError>>,
    ) -> Result<RosterImportRecord, CoreError> {
        let mut staged = 0u32;
        while let Some(chunk) = entries.recv().await {
            let chunk = chunk?;
            let len = u32::try_from(chunk.len()).unwrap_or(u32::MAX);
            self.store().stage_roster(staging_key, staged, chunk, import.at).await?;
            staged = staged.saturating_add(len);
        }
        if staged != import.counts.0 {
            // The file was read twice; a different count means it changed in between.
            return Err(CoreError::Internal(format!("roster read {staged} rows, checked {}", import.counts.0)));
        }
        self.store().publish_roster(staging_key, import).await
    }

    /// The organisation's past imports, newest first (the latest [`PAST_IMPORTS`]):
    /// published, failed, refused, or being published. For those who may import it.
    pub async fn past_roster_imports(
        &self,
        by: &Principal,
        organisation_id: i64,
    ) -> Result<Vec<PastRosterImport>, CoreError> {
        self.roster_importer(by, organisation_id).await?;
        self.store().roster_imports(organisation_id, PAST_IMPORTS).await
    }

    /// At start-up: an import still `publishing` was cut off with the process that ran it
    /// (only SQLite ever leaves one, and a SQLite database has one server). It is set
    /// `failed`, and what it and any other failed import left is deleted.
    pub async fn recover_roster_imports(&self) -> Result<u64, CoreError> {
        let abandoned = self.store().abandon_roster_imports(None).await?;
        if abandoned > 0 {
            tracing::warn!(abandoned, "roster imports cut off while publishing; their rows are deleted");
        }
        try_discard_failed_rows(self).await;
        Ok(abandoned)
    }
}

/// One import's staged rows. They are discarded once the import is published or has
/// failed; if the import's task is dropped part way (the client went away), they are
/// discarded in the background; if the process dies, the retention job erases them a day
/// later.
struct Staging {
    key: String,
    hourmark: Option<Hourmark>,
}

impl Staging {
    fn new(hourmark: Hourmark) -> Self {
        Self { key: uuid::Uuid::new_v4().simple().to_string(), hourmark: Some(hourmark) }
    }

    async fn discard(mut self) {
        if let Some(hourmark) = self.hourmark.take() {
            discard_staged(&hourmark, &self.key).await;
        }
    }
}

async fn discard_staged(hourmark: &Hourmark, key: &str) {
    // An import whose publish was cut off here (the request went away) is failed first;
    // then what it (or a publish that failed) wrote, never visible, is deleted.
    if let Err(e) = hourmark.store().abandon_roster_imports(Some(key)).await {
        tracing::warn!(error = %e, "marking a cut-off roster import failed did not work");
    }
    try_discard_failed_rows(hourmark).await;
    loop {
        match hourmark.store().discard_roster_staging(key, DISCARD).await {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) => {
                // The retention job erases what is left, a day on.
                tracing::warn!(error = %e, "discarding a roster's staged rows failed");
                return;
            }
        }
    }
}

/// Deletes what failed imports published, in short deletes → how many rows went. What a
/// failure leaves is deleted by the next import, the retention job, or the next start.
pub(crate) async fn discard_failed_rows(hourmark: &Hourmark) -> Result<u64, CoreError> {
    let mut gone = 0;
    loop {
        match hourmark.store().discard_failed_roster_rows(DISCARD).await? {
            0 => return Ok(gone),
            n => gone += n,
        }
    }
}

/// [`discard_failed_rows`] where a failure only delays the clean-up: it is logged.
async fn try_discard_failed_rows(hourmark: &Hourmark) {
    if let Err(e) = discard_failed_rows(hourmark).await {
        tracing::warn!(error = %e, "deleting a failed roster import's rows failed");
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if let Some(hourmark) = self.hourmark.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let key = std::mem::take(&mut self.key);
            runtime.spawn(async move { discard_staged(&hourmark, &key).await });
        }
    }
}

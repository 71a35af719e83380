//! The use cases of the register (`impl Hourmark`), apart from its types and rules in the
//! parent module, which the store and the context import without importing these.

use super::super::PublicityRow;
use super::*;
use crate::error::CoreError;
use crate::hourmark::Hourmark;

impl Hourmark {
    pub(in crate::publicity) async fn register_content(
        &self,
        row: &PublicityRow,
        minutes: u32,
    ) -> Result<RegisterContent, CoreError> {
        let activity = self
            .store()
            .get_activity(row.activity_id)
            .await?
            .ok_or_else(|| CoreError::Internal("a published activity is missing".into()))?;
        let volunteer = self
            .store()
            .get_volunteer(row.volunteer_id)
            .await?
            .ok_or_else(|| CoreError::Internal("a published volunteer is missing".into()))?;
        let evaluation = self
            .store()
            .evaluations(row.activity_id)
            .await?
            .into_iter()
            .find(|e| e.volunteer_id == row.volunteer_id)
            .map(|e| format!("{}：{}", e.grade.as_str(), e.comment));
        let leaders = self.store().activity_leaders(row.activity_id).await?.into_iter().map(|s| s.name).collect();
        let recorder = match self.store().finalisation(row.activity_id).await? {
            Some(f) => self.store().get_staff(f.finalised_by).await?.map(|s| s.name),
            None => None,
        };
        Ok(RegisterContent {
            volunteer_id: volunteer.id,
            volunteer_number: volunteer.volunteer_number,
            volunteer_name: volunteer.name,
            activity_id: activity.id,
            activity_name: activity.name,
            day: row.day,
            place: activity.address,
            recipients: activity.recipients,
            content: activity.content,
            minutes,
            evaluation,
            leaders,
            recorder,
            organisation_id: activity.organisation_id,
            organisation_name: row.organisation_name.clone(),
        })
    }

    /// Checks the whole register, link by link, and reports the first entry that does not
    /// hold (a changed content, hash or link).
    pub async fn verify_register(&self) -> Result<RegisterCheck, CoreError> {
        let mut previous = GENESIS.to_vec();
        let mut expected_seq = 1;
        let mut entries = 0;
        let mut after = 0;
        loop {
            let page = self.store().register_page(after, 1000).await?;
            if page.is_empty() {
                let recorded_without_entry = self.store().recorded_without_register_entry().await?;
                return Ok(RegisterCheck { entries, first_broken: None, recorded_without_entry });
            }
            for row in page {
                entries += 1;
                let holds = row.seq == expected_seq
                    && row.previous_hash == previous
                    && row.hash == chain_hash(&row.previous_hash, row.kind, row.publicity_entry_id, &row.content)
                    && columns_agree(&row);
                if !holds {
                    let recorded_without_entry = self.store().recorded_without_register_entry().await?;
                    return Ok(RegisterCheck { entries, first_broken: Some(row.seq), recorded_without_entry });
                }
                previous = row.hash;
                expected_seq += 1;
                after = row.seq;
            }
        }
    }

    /// The register's entries after `seq` (for officers and the verifier).
    pub async fn register_entries(&self, after: i64, limit: i64) -> Result<Vec<RegisterRow>, CoreError> {
        self.store().register_page(after, limit).await
    }
}

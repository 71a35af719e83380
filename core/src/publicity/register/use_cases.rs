//! The use cases of the register (`impl Hourmark`), apart from its types and rules in the
//! parent module, which the store and the context import without importing these.

use std::collections::HashMap;

use super::super::PublicityRow;
use super::*;
use crate::error::CoreError;
use crate::hourmark::Hourmark;
use crate::identity::StoredVolunteer;

/// What every register entry of one activity shares, read once for all of them: a page
/// of entries due holds hundreds of one activity's volunteers, and reading its evaluations
/// for each entry read the whole activity's once per entry.
pub(in crate::publicity) struct ActivityRecord {
    activity: crate::activity::Activity,
    /// Grade and comment, by volunteer.
    evaluations: HashMap<i64, String>,
    leaders: Vec<String>,
    recorder: Option<String>,
}

impl ActivityRecord {
    /// The content of `row`'s register entry (its minutes as they stand in publicity), for
    /// `volunteer`.
    pub(in crate::publicity) fn content(&self, row: &PublicityRow, volunteer: &StoredVolunteer) -> RegisterContent {
        let activity = &self.activity;
        RegisterContent {
            volunteer_id: volunteer.id,
            volunteer_number: volunteer.volunteer_number.clone(),
            volunteer_name: volunteer.name.clone(),
            activity_id: activity.id,
            activity_name: activity.name.clone(),
            day: row.day,
            place: activity.address.clone(),
            recipients: activity.recipients.clone(),
            content: activity.content.clone(),
            minutes: row.minutes,
            evaluation: self.evaluations.get(&volunteer.id).cloned(),
            leaders: self.leaders.clone(),
            recorder: self.recorder.clone(),
            organisation_id: activity.organisation_id,
            organisation_name: row.organisation_name.clone(),
        }
    }
}

impl Hourmark {
    /// What the register entries of `activity_id` share.
    pub(in crate::publicity) async fn activity_record(&self, activity_id: i64) -> Result<ActivityRecord, CoreError> {
        let activity = self
            .store()
            .get_activity(activity_id)
            .await?
            .ok_or_else(|| CoreError::Internal("a published activity is missing".into()))?;
        // One evaluation per volunteer and activity (the table's key).
        let evaluations = self
            .store()
            .evaluations(activity_id)
            .await?
            .into_iter()
            .map(|e| (e.volunteer_id, format!("{}：{}", e.grade.as_str(), e.comment)))
            .collect();
        let leaders = self.store().activity_leaders(activity_id).await?.into_iter().map(|s| s.name).collect();
        let recorder = match self.store().finalisation(activity_id).await? {
            Some(f) => self.store().get_staff(f.finalised_by).await?.map(|s| s.name),
            None => None,
        };
        Ok(ActivityRecord { activity, evaluations, leaders, recorder })
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

//! Carrying a corrected finalised session back into publicity, so the register follows
//! it when the new period ends.

use super::{PublicityPeriod, PublicityRow, Restart, publicity_started};
use crate::error::CoreError;
use crate::hourmark::Hourmark;

impl Hourmark {
    /// Carries a corrected finalised session to publicity: the day is published again for
    /// the full period with the corrected minutes, whether it is still in publicity or
    /// already recorded. The register follows when that period ends (`advance_publicity`):
    /// an original if it never was recorded, else a reversal of the entry that stands and
    /// a replacement, both carrying `reason`.
    pub(crate) async fn carry_correction(
        &self,
        activity_id: i64,
        session: &crate::review::finalise::FinalisedSession,
        reason: &str,
    ) -> Result<(), CoreError> {
        let today = self.now().with_timezone(&chrono_tz::Asia::Shanghai).date_naive();
        let Some(entry) = self.store().publicity_entry_for(activity_id, session.volunteer_id, session.day).await?
        else {
            // A day finalised with no minutes was never published: publish it now.
            if session.final_minutes > 0 {
                let activity = self
                    .store()
                    .get_activity(activity_id)
                    .await?
                    .ok_or_else(|| CoreError::Internal("a corrected activity is missing".into()))?;
                let organisation = self
                    .store()
                    .get_organisation(activity.organisation_id)
                    .await?
                    .ok_or_else(|| CoreError::Internal("the activity's organisation is missing".into()))?;
                let publicity = self.publicity_for(&organisation, std::slice::from_ref(session), today).await?;
                for p in &publicity {
                    self.store().add_publicity(activity_id, p, self.now()).await?;
                }
                self.public_board_changed();
                if let Some(entry) =
                    self.store().publicity_entry_for(activity_id, session.volunteer_id, session.day).await?
                {
                    self.notify_hours(publicity_started(&entry)).await;
                }
            }
            return Ok(());
        };
        // A race with the register job is harmless: if it records the old minutes first,
        // the restart makes that the entry a reversal will cancel; if the restart comes
        // first, the job's guard (minutes and publication day) finds the entry changed.
        let calendar = self.calendar_for(&entry.region_code).await?;
        let ends_on = PublicityPeriod::count(&calendar, today, entry.working_days).ends_on;
        let restart =
            Restart { minutes: session.final_minutes, reason: Some(reason.to_owned()), published_on: today, ends_on };
        if self.store().restart_publicity(entry.id, &restart).await? {
            self.public_board_changed();
            let restarted = PublicityRow { minutes: restart.minutes, published_on: today, ends_on, ..entry };
            self.notify_hours(publicity_started(&restarted)).await;
        }
        Ok(())
    }
}

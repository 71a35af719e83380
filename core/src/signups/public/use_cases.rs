//! The use cases of the public recruitment page (`impl Hourmark`), apart from its types and
//! rules in the parent module, which the store and the context import without importing
//! these.

use super::*;
use crate::error::{CoreError, ErrorCode};
use crate::hourmark::Hourmark;

impl Hourmark {
    /// An activity published for recruitment, for its public page (anyone, signed in or
    /// not). `not_found` for an activity not published for recruitment.
    pub async fn public_recruitment(&self, activity_id: i64) -> Result<PublicRecruitment, CoreError> {
        let missing = || CoreError::refused(ErrorCode::NotFound, "该活动未开放报名");
        let activity = self.activity(activity_id).await?.ok_or_else(missing)?;
        let recruitment = self.store().recruitment(activity_id).await?.ok_or_else(missing)?;
        let organisation =
            self.store().get_organisation(activity.organisation_id).await?.map(|o| o.name).unwrap_or_default();
        let cancelled = self.store().activity_cancellation(activity_id).await?;
        let open = self.now() <= recruitment.signup_deadline && cancelled.is_none();
        Ok(PublicRecruitment {
            share_url: self.recruitment_share_url(activity_id),
            activity,
            organisation,
            recruitment,
            open,
            cancelled,
        })
    }

    /// The share link of an activity's public recruitment page.
    pub fn recruitment_share_url(&self, activity_id: i64) -> String {
        share_url(&self.settings().code_base_url, activity_id)
    }
}

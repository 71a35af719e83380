//! The use cases of extra fields (`impl Hourmark`), apart from its types and rules in the
//! parent module, which the store and the context import without importing these.

use super::*;
use crate::error::CoreError;
use crate::hourmark::Hourmark;
use crate::identity::pii::PiiField;

impl Hourmark {
    /// Gives (or changes) an extra field, recording consent to it.
    pub async fn give_extra_field(
        &self,
        volunteer_id: i64,
        field: ExtraField,
        give: GiveExtraField,
    ) -> Result<MyExtraFields, CoreError> {
        let value = field.validate(&give.value)?;
        let notice = validate_notice(&give.notice_version)?;
        let sealed = self.vault().seal(PiiField::Extra, &value).map_err(|e| CoreError::Internal(e.to_string()))?;
        let consent = ExtraFieldConsent { field, granted: true, notice_version: notice, recorded_at: self.now() };
        self.store().set_extra_field(volunteer_id, &consent, Some(&sealed)).await?;
        self.my_extra_fields(volunteer_id).await
    }

    /// Withdraws consent to an extra field and erases its value, in one transaction.
    pub async fn withdraw_extra_field(
        &self,
        volunteer_id: i64,
        field: ExtraField,
        withdraw: WithdrawExtraField,
    ) -> Result<MyExtraFields, CoreError> {
        let notice = validate_notice(&withdraw.notice_version)?;
        let consent = ExtraFieldConsent { field, granted: false, notice_version: notice, recorded_at: self.now() };
        self.store().set_extra_field(volunteer_id, &consent, None).await?;
        self.my_extra_fields(volunteer_id).await
    }

    /// The volunteer's extra fields (opened) and their consent history.
    pub async fn my_extra_fields(&self, volunteer_id: i64) -> Result<MyExtraFields, CoreError> {
        let (stored, consents) = self.store().extra_fields(volunteer_id).await?;
        let fields = stored
            .into_iter()
            .map(|(field, sealed, updated_at)| {
                let value =
                    self.vault().open(PiiField::Extra, &sealed).map_err(|e| CoreError::Internal(e.to_string()))?;
                Ok(ExtraFieldValue { field, value, updated_at })
            })
            .collect::<Result<Vec<_>, CoreError>>()?;
        Ok(MyExtraFields { fields, consents })
    }
}

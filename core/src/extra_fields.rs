//! Personal fields beyond what the rule requires. The record holds name, gender, birth
//! month, ID, skills and contact; "any other personal field only with the volunteer's own
//! consent". So each extra field is offered on its own: giving it records a consent for
//! that field (with the notice version), and withdrawing the consent erases the value in
//! the same transaction. Values are sealed at rest like the ID number.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{CoreError, ErrorCode};

mod use_cases;

/// A field the volunteer may choose to give.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExtraField {
    /// E-mail address (电子邮箱).
    Email,
    /// Education (学历).
    Education,
    /// Political status (政治面貌).
    PoliticalStatus,
    /// Employer or school (工作单位或学校).
    Employer,
}

impl ExtraField {
    /// Every extra field.
    pub const ALL: [ExtraField; 4] = [Self::Email, Self::Education, Self::PoliticalStatus, Self::Employer];

    fn validate(self, value: &str) -> Result<String, CoreError> {
        let value = crate::identity::line_text(value, 100, "value")?;
        let value = value.as_str();
        let bad = |why: &str| CoreError::refused(ErrorCode::InvalidBody, why.to_owned());
        if self == Self::Email {
            let (local, domain) = value.split_once('@').ok_or_else(|| bad("电子邮箱格式不正确"))?;
            if local.is_empty() || !domain.contains('.') || domain.starts_with('.') || value.contains(' ') {
                return Err(bad("电子邮箱格式不正确"));
            }
        }
        Ok(value.to_owned())
    }
}

crate::stored_names!(ExtraField {
    Email => "email",
    Education => "education",
    PoliticalStatus => "political_status",
    Employer => "employer",
});

/// One extra field the volunteer has given.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ExtraFieldValue {
    /// Which.
    pub field: ExtraField,
    /// Its value.
    pub value: String,
    /// Last given or changed.
    #[serde(with = "crate::activity::shanghai_time")]
    #[schema(value_type = String)]
    pub updated_at: DateTime<Utc>,
}

/// One consent decision about an extra field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ExtraFieldConsent {
    /// Which field.
    pub field: ExtraField,
    /// Given (`true`) or withdrawn.
    pub granted: bool,
    /// The notice shown.
    pub notice_version: String,
    /// When.
    #[serde(with = "crate::activity::shanghai_time")]
    #[schema(value_type = String)]
    pub recorded_at: DateTime<Utc>,
}

/// Giving (or changing) an extra field: the value and the notice the volunteer agreed to.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GiveExtraField {
    /// The value, 1–100 characters.
    pub value: String,
    /// The version of the notice shown for this field.
    pub notice_version: String,
}

impl std::fmt::Debug for GiveExtraField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GiveExtraField").field("notice_version", &self.notice_version).finish_non_exhaustive()
    }
}

/// Withdrawing consent to an extra field.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WithdrawExtraField {
    /// The version of the notice shown when withdrawing.
    pub notice_version: String,
}

/// The extra fields a volunteer has given, and every consent decision about them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MyExtraFields {
    /// Current values.
    pub fields: Vec<ExtraFieldValue>,
    /// Consent history, oldest first.
    pub consents: Vec<ExtraFieldConsent>,
}

fn validate_notice(version: &str) -> Result<String, CoreError> {
    crate::identity::line_text(version, 40, "notice_version")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_bounded_and_emails_look_like_emails() {
        assert_eq!(ExtraField::Employer.validate(" 云南大学 ").expect("ok"), "云南大学");
        assert!(ExtraField::Education.validate("").is_err());
        assert!(ExtraField::Education.validate(&"本".repeat(101)).is_err());
        assert!(ExtraField::Email.validate("zhang@example.cn").is_ok());
        for bad in ["zhang", "@example.cn", "zhang@example", "zhang@.cn", "zh ang@example.cn"] {
            assert!(ExtraField::Email.validate(bad).is_err(), "{bad}");
        }
        assert!(ExtraField::ALL.iter().all(|f| ExtraField::parse(f.as_str()) == Some(*f)));
    }
}

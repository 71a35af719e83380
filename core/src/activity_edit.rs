//! Editing an activity: every field the API takes when creating one, except the
//! organisation it belongs to. Gates keep their numbers (codes carry the number), so a
//! gate can be renamed or added but never removed; a finalised activity is history and
//! does not change. Every edit is audited with the fields it changed, and a change of
//! time, place or name is notified to everyone signed up (waiting list included).

use crate::activity::{Activity, NewActivity};
use crate::audit::AuditEvent;
use crate::error::{CoreError, ErrorCode};
use crate::hourmark::Hourmark;
use crate::identity::Principal;
use crate::identity::guards::require_manager_of;

/// The names of the fields `after` changes from `before`.
fn changed_fields(before: &Activity, after: &NewActivity) -> Vec<&'static str> {
    let mut changed = Vec::new();
    let mut note = |field: &'static str, differs: bool| {
        if differs {
            changed.push(field);
        }
    };
    note("name", before.name != after.name);
    note("category", before.category != after.category);
    note("recipients", before.recipients != after.recipients);
    note("content", before.content != after.content);
    note("address", before.address != after.address);
    note("location", before.location != after.location);
    note("radius_m", before.radius_m != after.radius_m);
    note("starts_at", before.starts_at != after.starts_at);
    note("ends_at", before.ends_at != after.ends_at);
    note("gates", before.gates != after.gates);
    note("code_mode", before.code_mode != after.code_mode);
    changed
}

impl Hourmark {
    /// Replaces an activity's fields with `changes` (the body `POST /api/v1/activities`
    /// takes; its organisation must be the activity's own). Organisers, recorders and
    /// administrators who manage the activity may; its leaders may not.
    pub async fn update_activity(&self, by: &Principal, id: i64, changes: NewActivity) -> Result<Activity, CoreError> {
        let activity = self.managed_activity(by, id).await?;
        let staff_id = require_manager_of(by, activity.organisation_id)?;
        if changes.organisation_id != activity.organisation_id {
            return Err(CoreError::refused(ErrorCode::InvalidBody, "活动所属组织不能更改"));
        }
        let changes = changes.validate()?;
        if changes.gates.len() < activity.gates.len() {
            return Err(CoreError::refused(
                ErrorCode::InvalidBody,
                format!("已有 {} 个入口：入口只能改名或新增，不能删除（二维码按入口编号签发）", activity.gates.len()),
            ));
        }
        if self.store().is_finalised(activity.id).await? {
            return Err(CoreError::refused(ErrorCode::ActivityFinalised, "活动已定稿，不能再修改"));
        }
        let changed = changed_fields(&activity, &changes);
        let audit = AuditEvent {
            at: self.now(),
            actor_kind: "staff".into(),
            actor_id: Some(staff_id),
            action: "activity_updated".into(),
            subject_kind: "activity".into(),
            subject_id: Some(activity.id),
            detail: serde_json::json!({ "changed": changed }),
        };
        let updated = self
            .store()
            .update_activity(activity.id, &changes, &audit)
            .await?
            .ok_or_else(|| CoreError::refused(ErrorCode::NotFound, "活动不存在"))?;
        self.forget_activity(activity.id).await;
        // Those signed up planned around the time and place: tell them what it is now.
        if changed.iter().any(|f| ["name", "address", "location", "starts_at", "ends_at"].contains(f)) {
            let notices = self
                .store()
                .activity_signups(activity.id)
                .await?
                .into_iter()
                .filter(|s| s.status.is_live())
                .map(|s| crate::notification::HoursNotice::ActivityChanged {
                    volunteer_id: s.volunteer_id,
                    signup_id: s.id,
                    activity: updated.name.clone(),
                    starts_at: updated.starts_at,
                    ends_at: updated.ends_at,
                    address: updated.address.clone(),
                    changed_at: audit.at,
                })
                .collect();
            self.notify_all(notices).await;
        }
        Ok(updated)
    }
}

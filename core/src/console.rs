//! What the staff console needs from the domain beyond the API's other use cases: the
//! activities a staff member may run, and the CSRF token bound to a browser session.
//!
//! A browser session is an ordinary staff bearer token carried in an HttpOnly cookie. A
//! cookie rides along on every request the browser makes, including ones another site
//! provokes, so every state-changing request it authenticates must also carry the
//! session's CSRF token in a header: a value derived from the token, which a page of ours
//! receives and a page of another site cannot compute or read.

use std::sync::Arc;

use crate::activity::Activity;
use crate::error::{CoreError, ErrorCode};
use crate::hourmark::Hourmark;
use crate::identity::{BearerToken, Principal};

/// The CSRF token of the browser session that `token` authenticates: SHA-256 over a
/// domain-separated copy of the token, so it differs from the stored token hash and
/// reveals nothing about the token itself.
pub fn csrf_token(token: &BearerToken) -> String {
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    context.update(b"hourmark csrf v1\0");
    context.update(token.expose().as_bytes());
    data_encoding::BASE64URL_NOPAD.encode(context.finish().as_ref())
}

/// Whether `presented` is the CSRF token of `token`'s session, compared in constant time.
pub fn csrf_matches(token: &BearerToken, presented: &str) -> bool {
    let expected = csrf_token(token);
    expected.len() == presented.len()
        && expected.bytes().zip(presented.bytes()).fold(0u8, |diff, (a, b)| diff | (a ^ b)) == 0
}

impl Hourmark {
    /// The activities the caller may manage, soonest start first: every organisation's for
    /// administrators, their organisation's for its staff, and for an activity leader only
    /// those they lead (the same rule as [`Hourmark::managed_activity`]).
    pub async fn managed_activities(&self, by: &Principal) -> Result<Vec<Arc<Activity>>, CoreError> {
        let Principal::Staff { .. } = by else { return Err(CoreError::code(ErrorCode::Forbidden)) };
        let mut activities = Vec::new();
        for organisation in self.list_organisations(by).await? {
            for id in self.store().activity_ids_of(organisation.id).await? {
                match self.managed_activity(by, id).await {
                    Ok(activity) => activities.push(activity),
                    // Not theirs to see (a leader's other activities, an officer's region).
                    Err(CoreError::Refused { code: ErrorCode::NotFound, .. }) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        activities.sort_by_key(|a| (a.starts_at, a.id));
        Ok(activities)
    }
}

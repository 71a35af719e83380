//! What anyone may read about an activity published for recruitment: the public page a
//! share link or its QR opens, for a volunteer deciding whether to sign up. It says what
//! the activity is, where and when, each slot's places left and the rules; never who has
//! signed up (counts of approved, pending and wait-listed stay with the organisation).

use std::sync::Arc;

use crate::activity::Activity;
use crate::signups::Recruitment;

mod use_cases;

/// An activity open for sign-up, as the public page shows it.
#[derive(Debug, Clone)]
pub struct PublicRecruitment {
    /// The activity.
    pub activity: Arc<Activity>,
    /// Its organisation's name.
    pub organisation: String,
    /// Its recruitment (the page shows places left, not who holds them).
    pub recruitment: Recruitment,
    /// The link to share: the same page, at the public address codes are printed with.
    pub share_url: String,
    /// Whether sign-ups are still open now (not after the deadline, nor once cancelled).
    pub open: bool,
    /// The activity's cancellation, if it was cancelled.
    pub cancelled: Option<crate::signups::ActivityCancellation>,
}

/// The public page's address for an activity, at the origin the rotating codes are
/// printed with (`HOURMARK_CODE_BASE_URL` less its last path segment), so a share link
/// and its QR reach the same server phones already reach. The host is kept as configured
/// (hosts and schemes are case-insensitive; the path is not, so it is always `/join/`).
pub fn share_url(code_base_url: &str, activity_id: i64) -> String {
    let trimmed = code_base_url.trim_end_matches('/');
    let origin = match trimmed.rsplit_once('/') {
        // `HTTPS://HOST/S`: drop the code path; a bare `HTTPS://HOST` keeps its host.
        Some((origin, _)) if !origin.ends_with('/') => origin,
        _ => trimmed,
    };
    format!("{origin}/join/{activity_id}")
}

#[cfg(test)]
mod tests {
    use super::share_url;

    #[test]
    fn the_share_link_sits_beside_the_code_path() {
        assert_eq!(share_url("HTTPS://HM.EXAMPLE.CN/S/", 12), "HTTPS://HM.EXAMPLE.CN/join/12");
        assert_eq!(share_url("http://127.0.0.1:8080/S", 3), "http://127.0.0.1:8080/join/3");
        assert_eq!(share_url("https://example.cn/hourmark/S/", 3), "https://example.cn/hourmark/join/3");
        assert_eq!(share_url("https://example.cn", 3), "https://example.cn/join/3");
    }
}

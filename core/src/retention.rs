//! Erasing what has outlived its purpose (PIPL art. 19 and 47: keep personal data no
//! longer than its purpose needs): one-time SMS codes, bearer tokens and console sessions,
//! and staff invites, a day after they expired; rows a roster import staged and never
//! published (the process died part way), a day after they were staged; and what a
//! roster import that failed part way wrote (never visible), at once. Run by the
//! periodic jobs on every instance (deleting what is already gone is a no-op), audited
//! with the counts. The register, scans and everything a service record is made of are
//! never touched here.

use chrono::Duration;

use crate::error::CoreError;
use crate::hourmark::Hourmark;
pub use crate::store::retention::Erased;

/// How long an expired credential is kept: long enough that a client presenting it just
/// after it expired is still told so by its row's expiry rather than finding nothing.
pub const KEPT_AFTER_EXPIRY: Duration = Duration::days(1);

impl Hourmark {
    /// Erases credentials that expired more than [`KEPT_AFTER_EXPIRY`] ago, and what
    /// failed roster imports left → the counts. A failed import's rows are otherwise
    /// deleted only by the next import or the next start, and until then hold ID and
    /// phone numbers that nobody can see.
    pub async fn erase_outlived_data(&self) -> Result<Erased, CoreError> {
        let failed_import_rows = crate::roster::import::discard_failed_rows(self).await?;
        let now = self.now();
        self.store().erase_expired(now - KEPT_AFTER_EXPIRY, now, failed_import_rows).await
    }
}

//! Key rotation for sealed personal data: every sealed value moved to the current key.
//!
//! Adding a key with a higher id makes new values use it, but old values stay under the
//! old key until they are re-sealed, and the old key cannot be retired until none is
//! left. `hourmark rotate-pii-key` runs [`Hourmark::reseal_personal_data`]: it walks
//! every sealed column ([`SealedColumn::ALL`]) in batches, each batch committed on its
//! own, so an interrupted run keeps what it did and the next run picks up the rest; a run
//! with nothing left to do changes nothing. Lookup hashes are untouched: the lookup key
//! does not rotate.

use crate::error::CoreError;
use crate::hourmark::Hourmark;
use crate::identity::pii::SealedColumn;

impl Hourmark {
    /// Re-seals, under the current key, every sealed value still under another key, in
    /// batches of `batch` values (each committed on its own), stopping after
    /// `max_batches` when given. Returns how many values were re-sealed. A value that
    /// does not open (its key is no longer configured) stops the run with an error that
    /// names the column: configure the old key again and re-run.
    pub async fn reseal_personal_data(&self, batch: usize, max_batches: Option<usize>) -> Result<u64, CoreError> {
        let vault = self.vault();
        let prefix = vault.current_prefix();
        let limit = i64::try_from(batch.max(1)).unwrap_or(i64::MAX);
        let mut resealed = 0;
        let mut batches = 0;
        for column in SealedColumn::ALL {
            loop {
                if max_batches.is_some_and(|max| batches >= max) {
                    return Ok(resealed);
                }
                let values = self.store().sealed_values_not_under(column, &prefix, limit).await?;
                if values.is_empty() {
                    break;
                }
                let pairs = values
                    .into_iter()
                    .map(|old| {
                        let new = vault
                            .reseal(column.field(), &old)
                            .map_err(|e| CoreError::Internal(format!("{}.{}: {e}", column.table(), column.column())))?;
                        Ok((old, new))
                    })
                    .collect::<Result<Vec<_>, CoreError>>()?;
                let changed = self.store().replace_sealed_values(column, &pairs).await?;
                resealed += changed;
                batches += 1;
                tracing::info!(table = column.table(), column = column.column(), changed, "re-sealed a batch");
            }
        }
        Ok(resealed)
    }
}

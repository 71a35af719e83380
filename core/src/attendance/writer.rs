//! Group commit for scans.
//!
//! Every scan must be durable before it is acknowledged, but a commit per scan would cap
//! the server at the disk's fsync rate. Requests therefore hand their row to a collector
//! task and wait; the collector takes whatever has queued up (up to `max_batch`), writes it
//! in one transaction, and answers every waiter after the commit. Under light load a batch
//! is one scan and nothing waits for company; under a burst, batches grow by themselves.
//! Up to `in_flight` batches commit concurrently, so one batch's fsync overlaps the next
//! batch's collection (PostgreSQL); SQLite has one writer and gains nothing from more.

use std::sync::Arc;

use tokio::sync::{Semaphore, mpsc, oneshot};

use crate::error::{CoreError, ErrorCode};
use crate::store::{NewScan, StorageError, Store};

/// The longest one batch's write may take. A batch normally commits in milliseconds;
/// a database that has not answered in this long is stalled (a hung connection, a network
/// that drops packets), and without a bound the batches in flight would hold their slots
/// for ever while every later scan queued behind them unanswered. Given up, the write is
/// an outage: 503 `unavailable`, and the phone's retry with the same nonce is answered
/// from the store if the commit did land after all.
const WRITE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

async fn insert(store: &dyn Store, scans: &[NewScan]) -> Result<Vec<bool>, CoreError> {
    match tokio::time::timeout(WRITE_TIMEOUT, store.insert_scans(scans)).await {
        Ok(result) => result,
        Err(_) => {
            metrics::counter!(crate::metrics::STORAGE_ERRORS, "kind" => "outage").increment(1);
            Err(CoreError::Storage(StorageError::Outage(format!("no commit within {WRITE_TIMEOUT:?}"))))
        }
    }
}

type Reply = oneshot::Sender<Result<bool, ErrorCode>>;

/// A handle to the collector; cheap to clone.
#[derive(Debug, Clone)]
pub struct ScanWriter {
    queue: mpsc::Sender<(NewScan, Reply)>,
}

fn single_outcome(result: Result<Vec<bool>, CoreError>) -> Result<bool, ErrorCode> {
    match result {
        Ok(written) => Ok(written.first().copied().unwrap_or(false)),
        Err(e) => {
            tracing::error!(error = %e, "a scan could not be written; not acknowledged");
            Err(match e.error_code() {
                ErrorCode::Unavailable => ErrorCode::Unavailable,
                _ => ErrorCode::Internal,
            })
        }
    }
}

/// Counts a scan written now by its outcome (a closed set: two outcomes and the refusal codes).
fn count_scan(scan: &NewScan) {
    if !crate::metrics::recording() {
        return;
    }
    metrics::counter!(crate::metrics::SCANS, "outcome" => scan.outcome.clone()).increment(1);
}

impl ScanWriter {
    /// Starts the collector on the current runtime.
    pub fn spawn(store: Arc<dyn Store>, max_batch: usize, in_flight: usize) -> Self {
        let max_batch = max_batch.max(1);
        // The queue holds a few batches' worth; beyond that, senders wait (backpressure).
        let (queue, mut rx) = mpsc::channel::<(NewScan, Reply)>(max_batch * 4);
        let permits = Arc::new(Semaphore::new(in_flight.max(1)));
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(max_batch);
            // recv_many waits for at least one item and then takes what is already queued.
            while rx.recv_many(&mut batch, max_batch).await > 0 {
                let Ok(permit) = permits.clone().acquire_owned().await else { break };
                // While we waited for a permit more may have queued: top the batch up.
                while batch.len() < max_batch {
                    match rx.try_recv() {
                        Ok(item) => batch.push(item),
                        Err(_) => break,
                    }
                }
                let mut work = std::mem::replace(&mut batch, Vec::with_capacity(max_batch));
                metrics::histogram!(crate::metrics::SCAN_BATCH_SIZE).record(work.len() as f64);
                metrics::gauge!(crate::metrics::SCAN_QUEUE_DEPTH).set(rx.len() as f64);
                // One volunteer order in every batch: concurrent batches (here, or on other
                // instances) that collide on a volunteer's nonce or scan number then wait
                // for each other in one direction and never deadlock.
                work.sort_by_key(|(scan, _)| (scan.volunteer_id, scan.activity_id));
                let store = store.clone();
                tokio::spawn(async move {
                    let (scans, replies): (Vec<NewScan>, Vec<Reply>) = work.into_iter().unzip();
                    let result = insert(store.as_ref(), &scans).await;
                    match result {
                        Ok(written) => {
                            for (scan, fresh) in scans.iter().zip(&written) {
                                if *fresh {
                                    count_scan(scan);
                                }
                            }
                            for (reply, fresh) in replies.into_iter().zip(written) {
                                let _ = reply.send(Ok(fresh));
                            }
                        }
                        Err(e) if scans.len() > 1 && e.error_code() == ErrorCode::Unavailable => {
                            // The store is unreachable, not one row bad: every single retry
                            // would wait out its own connection timeout, one after another,
                            // while the whole batch waits unanswered. Answer them all now;
                            // each phone retries with its nonce.
                            tracing::warn!(error = %e, scans = scans.len(), "scan batch failed: storage unavailable");
                            for reply in replies {
                                let _ = reply.send(Err(ErrorCode::Unavailable));
                            }
                        }
                        Err(e) if scans.len() > 1 => {
                            // One bad row must not fail its neighbours: write them one by one.
                            tracing::warn!(error = %e, scans = scans.len(), "scan batch failed; retrying its scans singly");
                            for (scan, reply) in scans.iter().zip(replies) {
                                let single = insert(store.as_ref(), std::slice::from_ref(scan)).await;
                                if matches!(single.as_deref(), Ok([true])) {
                                    count_scan(scan);
                                }
                                let _ = reply.send(single_outcome(single));
                            }
                        }
                        Err(e) => {
                            let _ = replies.into_iter().next().map(|r| r.send(single_outcome(Err(e))));
                        }
                    }
                    drop(permit);
                });
            }
        });
        Self { queue }
    }

    /// Writes one scan durably. `Ok(true)`: written now; `Ok(false)`: the volunteer had
    /// already used this nonce and the earlier scan stands.
    pub async fn write(&self, scan: NewScan) -> Result<bool, CoreError> {
        let (tx, rx) = oneshot::channel();
        self.queue
            .send((scan, tx))
            .await
            .map_err(|_| CoreError::refused(ErrorCode::Unavailable, "服务正在重启，请稍后重试"))?;
        match rx.await {
            Ok(Ok(fresh)) => Ok(fresh),
            Ok(Err(ErrorCode::Unavailable)) => {
                Err(CoreError::refused(ErrorCode::Unavailable, "记录暂时无法保存，请稍后重试（重试不会重复计时）"))
            }
            Ok(Err(code)) => Err(CoreError::refused(code, "记录无法保存")),
            Err(_) => Err(CoreError::refused(ErrorCode::Unavailable, "服务正在重启，请稍后重试")),
        }
    }
}

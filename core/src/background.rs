//! Work no one at a gate waits for, on threads that give way to the scan path.
//!
//! A live board's snapshot of a large activity, and a review's rules pass over what
//! changed, each take a core for tens of milliseconds. On tokio's blocking pool they ran
//! as the async workers' equals, so on a machine already busy with 8 000 scans a second
//! every snapshot (about one a second per watched activity) took its slice from the scans,
//! and the scans' tail grew with the boards (BENCHMARKS.md, "Fifty boards at 8 000
//! scans/s"). Here they run on a few threads of their own that the kernel schedules at the
//! lowest priority (nice 19): they get every cycle the scan path leaves, and give way to
//! it whenever both want a core. A board is then a little later on a saturated machine;
//! a volunteer's answer is not.
//!
//! The threads start on first use, are shared by every `Hourmark` in the process (as the
//! blocking pool is), and take jobs in the order they came, [`THREADS`] at a time.

use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};

use crate::error::CoreError;

/// The threads' nice value: the lowest priority an unprivileged process can give itself.
const NICE: i32 = 19;

/// How many threads take jobs. More than the cores: a first rules pass over a large
/// activity can hold one for seconds, and boards of other activities should not queue
/// behind two of those. Waiting threads cost nothing, and busy ones only what the scan
/// path leaves.
const THREADS: usize = 8;

type Job = Box<dyn FnOnce() + Send + 'static>;

/// Hands `work` to a background thread at once, and returns what waits for its result
/// (the work runs whether or not that is awaited). `what` names the work in the error a
/// panic turns into.
pub(crate) fn run<T: Send + 'static>(
    what: &'static str,
    work: impl FnOnce() -> T + Send + 'static,
) -> impl Future<Output = Result<T, CoreError>> + Send + 'static {
    let (done, result) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        // Caught here so that one bad job neither takes a thread down nor leaves its
        // caller waiting for ever.
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
        let _ = done.send(outcome.ok());
    });
    let sent = lane().send(job).is_ok();
    async move {
        if !sent {
            return Err(CoreError::Internal(format!("{what}: the background threads are gone")));
        }
        match result.await {
            Ok(Some(value)) => Ok(value),
            _ => Err(CoreError::Internal(format!("{what}: the work panicked"))),
        }
    }
}

/// The queue the threads take jobs from, with the threads started on first use.
fn lane() -> &'static mpsc::Sender<Job> {
    static LANE: OnceLock<mpsc::Sender<Job>> = OnceLock::new();
    LANE.get_or_init(|| {
        let (sender, jobs) = mpsc::channel::<Job>();
        let jobs = Arc::new(Mutex::new(jobs));
        for i in 0..THREADS {
            let jobs = Arc::clone(&jobs);
            let spawned = std::thread::Builder::new().name(format!("hourmark-bg-{i}")).spawn(move || {
                lower_priority();
                loop {
                    // The lock is held only while waiting for the next job, never while one runs.
                    let job = match jobs.lock() {
                        Ok(jobs) => jobs.recv(),
                        Err(poisoned) => poisoned.into_inner().recv(),
                    };
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                }
            });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a background thread");
            }
        }
        sender
    })
}

/// Gives the calling thread (only it: on Linux a thread's nice value is its own) the
/// lowest priority. Where that is refused or unsupported the work still runs, at normal
/// priority.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    if let Err(e) = rustix::process::setpriority_process(Some(rustix::thread::gettid()), NICE) {
        tracing::warn!(error = %e, "background thread keeps normal priority");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn work_runs_on_a_low_priority_thread_and_its_answer_comes_back() {
        let (value, name) =
            run("a test", || (6 * 7, std::thread::current().name().map(str::to_owned))).await.expect("ran");
        assert_eq!(value, 42);
        assert!(name.is_some_and(|n| n.starts_with("hourmark-bg-")));
        #[cfg(target_os = "linux")]
        {
            let nice = run("a test", || rustix::process::getpriority_process(Some(rustix::thread::gettid())))
                .await
                .expect("ran")
                .expect("read");
            assert_eq!(nice, NICE);
        }
    }

    #[tokio::test]
    async fn work_runs_whether_or_not_its_result_is_awaited() {
        let (tell, heard) = std::sync::mpsc::channel();
        let waiting = run("a test", move || tell.send(()).expect("sent"));
        heard.recv_timeout(std::time::Duration::from_secs(10)).expect("ran before being awaited");
        waiting.await.expect("ran");
    }

    #[tokio::test]
    async fn long_jobs_do_not_hold_up_the_others() {
        // Two long passes hold a thread each until told to finish.
        let (finish, finishing) = std::sync::mpsc::channel::<()>();
        let finishing = Arc::new(Mutex::new(finishing));
        let long: Vec<_> = (0..2)
            .map(|_| {
                let finishing = Arc::clone(&finishing);
                run("a test", move || finishing.lock().map(|f| f.recv().is_ok()).unwrap_or(false))
            })
            .collect();
        let quick = tokio::time::timeout(std::time::Duration::from_secs(10), run("a test", || 7)).await;
        assert_eq!(quick.expect("not held up").expect("ran"), 7);
        for _ in 0..2 {
            finish.send(()).expect("sent");
        }
        for job in long {
            assert!(job.await.expect("ran"));
        }
    }

    #[tokio::test]
    async fn a_panicking_job_is_an_error_and_the_threads_go_on() {
        let failed = run("a test", || -> u8 { panic!("on purpose") }).await;
        assert!(matches!(failed, Err(CoreError::Internal(m)) if m.contains("a test")));
        for _ in 0..8 {
            assert_eq!(run("a test", || 1).await.expect("ran"), 1);
        }
    }
}

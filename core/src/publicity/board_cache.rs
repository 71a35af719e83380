//! The public board's answers, kept for a moment.
//!
//! The board is public and the same for everyone, and at a large event it is read far
//! more often than it changes: 100 reads a second of a 200-line page cost PostgreSQL
//! three statements each (2.3 ms) and the server its rendering (3.4 ms): 0.57 cores, the
//! CPU of some 1 300 scans a second (BENCHMARKS.md, "Mixed load"). So each rendered
//! answer (the JSON or the page, per page and filter) is kept for
//! [`crate::settings::Settings::public_board_fresh`] (a second by default) and served
//! from memory meanwhile.
//!
//! What that costs in truth: a change made through another instance shows on this
//! instance's board up to that long after it was committed. A change made through this
//! instance that a reader may act on and then look for (an objection raised or decided,
//! an activity finalised, publicity advanced into the register) empties the cache at once,
//! so the person who made it sees it on the next read. A generation number keeps an
//! answer rendered before such a change from being kept after it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;

use super::BoardFilter;

/// How many answers are kept at most: pages and filters beyond the first few are rare.
const KEPT_ANSWERS: u64 = 256;

/// Which rendering of the board an answer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BoardFormat {
    /// The API's JSON lines.
    Json,
    /// The HTML page for phones.
    Page,
}

/// One answer of the board: its format, page and filter.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BoardQuery {
    /// JSON or page.
    pub format: BoardFormat,
    /// The page starts after this entry id.
    pub after: i64,
    /// At most this many lines (already clamped by the caller as it will be rendered).
    pub limit: i64,
    /// Which entries.
    pub filter: BoardFilter,
}

/// The kept answers (see the module's documentation).
#[derive(Debug)]
pub(crate) struct BoardCache {
    answers: Option<moka::future::Cache<BoardQuery, Bytes>>,
    generation: AtomicU64,
}

impl BoardCache {
    /// Keeps answers for `fresh`; zero keeps none.
    pub(crate) fn new(fresh: Duration) -> Self {
        let answers = (!fresh.is_zero())
            .then(|| moka::future::Cache::builder().max_capacity(KEPT_ANSWERS).time_to_live(fresh).build());
        Self { answers, generation: AtomicU64::new(0) }
    }

    /// The answer kept for `query`, if one is.
    pub(super) async fn get(&self, query: &BoardQuery) -> Option<Bytes> {
        self.answers.as_ref()?.get(query).await
    }

    /// How many changes have been heard: read before an answer is rendered.
    pub(super) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Keeps `body` for `query`, unless a change was heard since `generation` (when it
    /// began to be rendered): then what is kept may predate that change.
    pub(super) async fn keep(&self, query: BoardQuery, body: Bytes, generation: u64) {
        if let Some(answers) = &self.answers {
            answers.insert(query, body).await;
            if self.generation() != generation {
                answers.invalidate_all();
            }
        }
    }

    /// Forgets every kept answer: something the board shows changed here.
    pub(super) fn forget(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        if let Some(answers) = &self.answers {
            answers.invalidate_all();
        }
    }
}

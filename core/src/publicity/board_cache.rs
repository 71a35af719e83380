//! The public board's answers, kept for a moment.
//!
//! The board is public and the same for everyone, and at a large event it is read far
//! more often than it changes: 100 reads a second of a 200-line page cost PostgreSQL
//! three statements each (2.3 ms) and the server its rendering (3.4 ms), as much CPU as
//! 1 500 scans (BENCHMARKS.md, "Mixed load"). So each rendered answer (the JSON or the
//! page, per page and filter) is kept for [`crate::settings::Settings::public_board_fresh`]
//! (a second by default) and served from memory meanwhile.
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

use super::{BoardFilter, BoardLine};
use crate::error::CoreError;
use crate::hourmark::Hourmark;

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
}

impl Hourmark {
    /// The public board's answer for `query`: `render` applied to the board's lines, or
    /// the same answer rendered less than `public_board_fresh` ago on this instance.
    ///
    /// # Errors
    /// Whatever reading the board or `render` fails with; a failure is not kept.
    pub async fn public_board_answer(
        &self,
        query: BoardQuery,
        render: impl FnOnce(Vec<BoardLine>) -> Result<Bytes, CoreError>,
    ) -> Result<Bytes, CoreError> {
        let cache = &self.inner().public_board;
        if let Some(answers) = &cache.answers
            && let Some(kept) = answers.get(&query).await
        {
            return Ok(kept);
        }
        let generation = cache.generation.load(Ordering::Acquire);
        let body = render(self.publicity_board(query.after, query.limit, &query.filter).await?)?;
        if let Some(answers) = &cache.answers {
            answers.insert(query, body.clone()).await;
            // A change made while this was rendered: what was just kept may predate it.
            if cache.generation.load(Ordering::Acquire) != generation {
                answers.invalidate_all();
            }
        }
        Ok(body)
    }

    /// Forgets every kept answer of the board: something it shows changed here.
    pub(crate) fn public_board_changed(&self) {
        let cache = &self.inner().public_board;
        cache.generation.fetch_add(1, Ordering::AcqRel);
        if let Some(answers) = &cache.answers {
            answers.invalidate_all();
        }
    }
}

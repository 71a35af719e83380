//! The live board's use cases: the snapshot a staff board reads and the stream that
//! follows it, over the types and derivations in `attendance::board`.

use super::super::minutes::{Schedule, derive_minutes};
use crate::activity::Activity;
use crate::error::{CoreError, ErrorCode};
use crate::hourmark::Hourmark;
use crate::identity::Principal;
use chrono::{DateTime, DurationRound, Utc};
use std::ops::Bound;

use super::{
    ActivityBoard, ActivityTotals, BOARD_LIST, BOARD_MINUTES, BoardFlag, BoardJson, Booked, GateCount, Missing,
    RecordedNoShows, SNAPSHOT_FRESH, ScanBook, SessionsPage, SessionsQuery, SharedSnapshot, StillInside, Tally,
    VolunteerSession, expected, keep_longest_inside,
};

impl Hourmark {
    /// Every volunteer's session at an activity the caller manages, by volunteer id: for
    /// the downloads, which are files. Pages read [`Hourmark::activity_sessions_page`].
    pub async fn activity_sessions(
        &self,
        by: &Principal,
        activity_id: i64,
    ) -> Result<Vec<VolunteerSession>, CoreError> {
        let activity = self.managed_activity(by, activity_id).await?;
        let hourmark = self.clone();
        self.with_book(activity.id, move |book| hourmark.sessions_of(&activity, book.volunteers.iter())).await
    }

    /// Who has an accepted scan at an activity the caller manages, by volunteer id, with
    /// their names: what a form offering them needs, without deriving anyone's minutes.
    pub async fn activity_volunteer_names(
        &self,
        by: &Principal,
        activity_id: i64,
    ) -> Result<Vec<(i64, String)>, CoreError> {
        let activity = self.managed_activity(by, activity_id).await?;
        self.with_book(activity.id, |book| book.volunteers.iter().map(|(id, b)| (*id, b.name.clone())).collect()).await
    }

    /// One page of the sessions at an activity the caller manages, with the activity's
    /// figures over every volunteer. Refuses a `limit` outside 1 to
    /// [`SessionsQuery::MAX_LIMIT`] (`invalid_parameter`).
    pub async fn activity_sessions_page(
        &self,
        by: &Principal,
        activity_id: i64,
        query: SessionsQuery,
    ) -> Result<SessionsPage, CoreError> {
        if query.limit == 0 || query.limit > SessionsQuery::MAX_LIMIT {
            return Err(CoreError::refused(
                ErrorCode::InvalidParameter,
                format!("limit 须在 1 到 {} 之间", SessionsQuery::MAX_LIMIT),
            ));
        }
        let activity = self.managed_activity(by, activity_id).await?;
        let hourmark = self.clone();
        self.with_book(activity.id, move |book| {
            let totals = hourmark.tally(&activity, book).totals;
            let from = query.after.map_or(Bound::Unbounded, Bound::Excluded);
            let limit = usize::try_from(query.limit).unwrap_or(usize::MAX);
            let mut rest = book.volunteers.range((from, Bound::Unbounded));
            let sessions = hourmark.sessions_of(&activity, rest.by_ref().take(limit));
            let next = rest.next().and(sessions.last().map(|s| s.volunteer_id));
            SessionsPage {
                totals,
                volunteers_total: u32::try_from(book.volunteers.len()).unwrap_or(u32::MAX),
                sessions,
                next,
            }
        })
        .await
    }

    /// Each volunteer's session, from their accepted scans in time order.
    fn sessions_of<'a>(
        &self,
        activity: &Activity,
        volunteers: impl Iterator<Item = (&'a i64, &'a Booked)>,
    ) -> Vec<VolunteerSession> {
        let now = self.now();
        let schedule = Schedule { starts_at: activity.starts_at, ends_at: activity.ends_at };
        let policy = &self.settings().checkin.minutes;
        volunteers
            .map(|(volunteer_id, booked)| {
                let facts = booked.facts();
                let live = derive_minutes(facts, &schedule, policy, Some(now));
                let settled = derive_minutes(facts, &schedule, policy, None);
                VolunteerSession {
                    volunteer_id: *volunteer_id,
                    volunteer_name: booked.name.clone(),
                    inside: live.is_inside(),
                    checked_in_at: live.open_since,
                    minutes_credited: settled.total_minutes,
                    minutes_so_far: live.total_minutes,
                    pairs: live.pairs,
                    unpaired: settled.unpaired,
                }
            })
            .collect()
    }

    /// Live totals for an activity the caller manages.
    ///
    /// Civil-affairs officers of the organisation's region may read them too: inspecting
    /// how organisations record (DOMAIN: oversight) includes watching an activity's
    /// numbers as it runs. Totals are counts, nothing personal; the board, which names who
    /// is inside, stays with the organisation's own staff.
    pub async fn activity_totals(&self, by: &Principal, activity_id: i64) -> Result<ActivityTotals, CoreError> {
        let activity = match by {
            Principal::Staff { role: crate::identity::StaffRole::Officer, .. } => {
                self.reviewable_activity(by, activity_id).await?
            }
            _ => self.managed_activity(by, activity_id).await?,
        };
        let hourmark = self.clone();
        self.with_book(activity.id, move |book| hourmark.tally(&activity, book).totals).await
    }

    /// Runs `f` over the activity's [`ScanBook`] on this instance, first brought up to date
    /// with the store, on the background threads (see [`Hourmark::board_of`] for why).
    ///
    /// The book is kept between requests, watched or not: scans are never changed once
    /// stored, so the scans recorded since the last read are all there is to add, and
    /// totals or sessions asked for every few seconds by a desk that does not stream cost
    /// a short read instead of every scan of the activity again (BENCHMARKS.md, issue 15).
    /// Requests for one activity wait for each other here, so the first reads and the rest
    /// add what little came since.
    async fn with_book<T, F>(&self, activity_id: i64, f: F) -> Result<T, CoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut ScanBook) -> T + Send + 'static,
    {
        let slot = self.inner().board_snapshots.slot(activity_id).await;
        let mut slot = slot.lock().await;
        // Taken out while it is read: after a failed read it is not put back, since half a
        // read is no basis for the next one.
        let book = slot.book.take().unwrap_or_default().catch_up(self, activity_id).await?;
        let (value, book) = crate::background::run("reading an activity's scans", move || {
            let mut book = book;
            let value = f(&mut book);
            (value, book)
        })
        .await?;
        slot.book = Some(book);
        Ok(value)
    }
}

impl Hourmark {
    /// The live board of an activity the caller manages (the same people as the totals), as
    /// the JSON of an [`ActivityBoard`].
    pub async fn activity_board(&self, by: &Principal, activity_id: i64) -> Result<BoardJson, CoreError> {
        let activity = self.managed_activity(by, activity_id).await?;
        let live = &self.inner().live;
        // A snapshot is shared only while boards here stream the activity: without them no
        // event would say it is out of date. The book is kept either way.
        let watched = live.watched_here(activity.id);
        let slot = self.inner().board_snapshots.slot(activity.id).await;
        let mut slot = slot.lock().await;
        // Read before the store: an event arriving meanwhile makes this snapshot stale.
        let delivered = live.delivered(activity.id);
        let now = self.now();
        if watched
            && let Some(snapshot) = slot.snapshot.as_ref()
            && snapshot.delivered == delivered
            && now >= snapshot.computed_at
            && now - snapshot.computed_at < SNAPSHOT_FRESH
        {
            crate::metrics::board_snapshot(None);
            return Ok(snapshot.board.clone());
        }
        let started = std::time::Instant::now();
        let book = slot.book.take().unwrap_or_default().catch_up(self, activity.id).await?;
        let (board, book) = self.board_of(&activity, book).await?;
        slot.book = Some(book);
        slot.snapshot = watched.then(|| SharedSnapshot { delivered, computed_at: now, board: board.clone() });
        crate::metrics::board_snapshot(Some(started.elapsed()));
        Ok(board)
    }

    /// Computes an activity's board from its scans, handing the book back.
    ///
    /// Deriving every volunteer's session of a large activity takes tens of milliseconds
    /// of CPU; done on an async worker it would hold up every scan queued behind it there
    /// (at 8 000 scans/s with fifty boards, a scan p99 of 2.2 s; BENCHMARKS.md). So it runs
    /// on the background threads, which give way to the scan path (`crate::background`).
    pub(super) async fn board_of(
        &self,
        activity: &Activity,
        book: ScanBook,
    ) -> Result<(BoardJson, ScanBook), CoreError> {
        // The newest few and a count: an activity where everyone was flagged holds tens of
        // thousands, which the board never shows.
        let (flags, flags_total) = self.store().newest_flags(activity.id, BOARD_LIST as u32).await?;
        // The slots in the organiser's order, then the approved sign-ups, and who never
        // came once that is recorded (at finalisation).
        let recruitment = self.store().recruitment(activity.id).await?;
        let (signups, no_shows) = match &recruitment {
            Some(_) => {
                (self.store().activity_signups(activity.id).await?, self.store().recorded_no_shows(activity.id).await?)
            }
            None => (Vec::new(), None),
        };
        let (hourmark, activity) = (self.clone(), activity.clone());
        crate::background::run("computing a board", move || {
            let mut book = book;
            let mut board = hourmark.board_from(&activity, &mut book, flags, flags_total);
            board.expected = recruitment.map(|r| expected(&r, &signups, &book));
            board.no_shows = no_shows.map(|(recorded_at, signups)| RecordedNoShows {
                recorded_at,
                total: u32::try_from(signups.len()).unwrap_or(u32::MAX),
                volunteers: signups
                    .into_iter()
                    .take(BOARD_LIST)
                    .map(|s| Missing {
                        volunteer_id: s.volunteer_id,
                        volunteer_name: s.volunteer_name,
                        slot_name: s.slot_name,
                    })
                    .collect(),
            });
            BoardJson::of(&board).map(|json| (json, book))
        })
        .await?
    }

    /// What the totals and the board count, in one pass over the book: the totals, who is
    /// inside at each gate, and everyone inside (since when, who).
    ///
    /// Each volunteer's minutes are derived again only if they scanned since the last
    /// pass (see `Booked::live`); the rest only move with the clock.
    pub(super) fn tally<'a>(&self, activity: &Activity, book: &'a mut ScanBook) -> Tally<'a> {
        let now = self.now();
        let schedule = Schedule { starts_at: activity.starts_at, ends_at: activity.ends_at };
        let policy = &self.settings().checkin.minutes;
        let mut gates: Vec<GateCount> = activity
            .gates
            .iter()
            .enumerate()
            .map(|(i, name)| GateCount { gate: u8::try_from(i).unwrap_or(u8::MAX), name: name.clone(), inside: 0 })
            .collect();
        let (mut arrived, mut minutes_so_far, mut minutes_credited) = (0_u32, 0_u64, 0_u64);
        // Everyone inside counts at the gate of their latest check-in.
        let mut inside: Vec<(DateTime<Utc>, i64, &Booked)> = Vec::new();
        for (volunteer_id, booked) in &mut book.volunteers {
            let live = booked.live(&schedule, policy);
            let booked: &Booked = booked;
            arrived = arrived.saturating_add(u32::from(live.arrived()));
            minutes_so_far += u64::from(live.so_far(now));
            minutes_credited += u64::from(live.credited());
            if let Some(since) = live.open_since() {
                let gate = booked.latest_in.and_then(|(_, _, gate)| gate);
                if let Some(count) = gate.and_then(|g| gates.get_mut(usize::from(g))) {
                    count.inside += 1;
                }
                inside.push((since, *volunteer_id, booked));
            }
        }
        let inside_now = u32::try_from(inside.len()).unwrap_or(u32::MAX);
        let totals = ActivityTotals {
            activity_id: activity.id,
            inside_now,
            arrived,
            left: arrived.saturating_sub(inside_now),
            minutes_so_far,
            minutes_credited,
            accepted_scans: book.scans as u64,
            as_of: now,
        };
        Tally { totals, gates, inside }
    }

    /// The board itself, from the scans and the flags.
    pub(super) fn board_from(
        &self,
        activity: &Activity,
        book: &mut ScanBook,
        flags: Vec<crate::review::Flag>,
        flags_total: u32,
    ) -> ActivityBoard {
        let now = self.now();
        // Only those listed are built.
        let Tally { totals, gates, mut inside } = self.tally(activity, book);
        keep_longest_inside(&mut inside, |(since, id, _)| (*since, *id));
        let still_inside: Vec<StillInside> = inside
            .into_iter()
            .map(|(since, volunteer_id, booked)| StillInside {
                volunteer_id,
                volunteer_name: booked.name.clone(),
                since,
                minutes_inside: u32::try_from((now - since).num_minutes().max(0)).unwrap_or(u32::MAX),
                gate_name: booked
                    .latest_in
                    .and_then(|(_, _, gate)| gate)
                    .and_then(|g| activity.gates.get(usize::from(g)).cloned()),
            })
            .collect();

        let this_minute = now.duration_trunc(chrono::TimeDelta::minutes(1)).unwrap_or(now);
        let first = this_minute - chrono::TimeDelta::minutes(BOARD_MINUTES - 1);
        let minutes = book.minutes(first, BOARD_MINUTES);

        // Newest first, as the store hands them over.
        let flags: Vec<BoardFlag> = flags
            .into_iter()
            .map(|flag| BoardFlag {
                volunteer_name: book.volunteers.get(&flag.volunteer_id).map(|b| b.name.clone()).unwrap_or_default(),
                flag,
            })
            .collect();

        ActivityBoard {
            activity_name: activity.name.clone(),
            totals,
            gates,
            minutes,
            still_inside,
            flags,
            flags_total,
            last_scan_id: book.last_scan_id,
            expected: None,
            no_shows: None,
        }
    }

    /// The live events of an activity the caller manages, from now on. The caller should
    /// fetch [`Hourmark::activity_board`] after subscribing, so nothing falls in between.
    pub async fn watch_activity(
        &self,
        by: &Principal,
        activity_id: i64,
    ) -> Result<tokio::sync::broadcast::Receiver<std::sync::Arc<crate::live::Published>>, CoreError> {
        self.managed_activity(by, activity_id).await?;
        self.inner().live.watch(activity_id).await
    }

    /// Completes when the server is shutting down: live streams end then.
    pub fn live_streams_closed(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        self.inner().live.closed()
    }

    /// Ends every live stream, so a graceful shutdown need not wait for boards to hang up.
    pub fn end_live_streams(&self) {
        self.inner().live.close();
    }
}

impl ScanBook {
    /// Adds the scans recorded since the last read. Should a volunteer's numbers ever
    /// jump (a scan the store did not return), the book is read again from the start
    /// rather than show a session with a scan missing.
    ///
    /// The read and the filing both run on a background thread, the read's future driven
    /// there by the runtime's handle (its socket stays with the runtime's reactor). A
    /// second's worth at 8 000 scans/s is thousands of rows, and the driver decodes each
    /// row where its future is polled: on an async worker that held up the scans queued
    /// behind it there for milliseconds at a time, and with fifty boards open the scans'
    /// p99 tripled on a machine with cores to spare (BENCHMARKS.md, "Fifty boards at
    /// 8 000 scans/s, with headroom").
    async fn catch_up(self, hourmark: &Hourmark, activity_id: i64) -> Result<Self, CoreError> {
        let (store, runtime) = (hourmark.store().clone(), tokio::runtime::Handle::current());
        crate::background::run("catching up an activity's scans", move || {
            runtime.block_on(async move {
                let mut book = self;
                let (scans, cursor) = store.accepted_scans_after(activity_id, book.cursor).await?;
                if !book.add(scans) {
                    tracing::warn!(
                        activity_id,
                        "a volunteer's scan numbers jumped; reading the activity's scans again"
                    );
                    let (scans, cursor) = store.accepted_scans_after(activity_id, None).await?;
                    book = Self::default();
                    book.add(scans);
                    book.cursor = cursor;
                    return Ok(book);
                }
                book.cursor = cursor;
                Ok(book)
            })
        })
        .await?
    }
}

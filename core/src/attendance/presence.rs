//! A volunteer's presence at an activity, as the scan path reads and keeps it: the tally of
//! their accepted scans there ([`LiveMinutes`]), from the cache when it has it, from the
//! store when it does not or cannot be trusted.

use chrono::{DateTime, Utc};

use super::minutes::{LiveMinutes, ScanFact, Schedule};
use crate::cache::PresenceLookup;
use crate::error::CoreError;
use crate::hourmark::Hourmark;
use crate::ratelimit::Window;

impl Hourmark {
    /// The tally of a volunteer's accepted scans at an activity under its `schedule`, from
    /// the cache when it has one derived under that schedule. Counts the scan in the rate
    /// limit's window with the same cache request, if `uncounted` has one (taking it: a
    /// scan is counted once): `rate_limited` once the allowance is used up.
    pub(super) async fn presence(
        &self,
        activity_id: i64,
        schedule: &Schedule,
        volunteer_id: i64,
        uncounted: &mut Option<Window>,
    ) -> Result<LiveMinutes, CoreError> {
        let inner = self.inner();
        let policy = &self.settings().checkin.minutes;
        let lookup = match uncounted.take() {
            Some(window) => {
                let counted =
                    inner.cache.hit_and_presence_get(window.key(), window.ttl(), activity_id, volunteer_id).await;
                // As for any rate limit, a cache outage lets the scan through.
                if let Ok((hits, _)) = &counted {
                    window.judge(*hits)?;
                }
                counted.map(|(_, lookup)| lookup)
            }
            None => inner.cache.presence_get(activity_id, volunteer_id).await,
        };
        let cached = match lookup {
            Ok(PresenceLookup::Loaded(tally)) => Some(tally),
            Ok(PresenceLookup::NotLoaded) => {
                // Load the whole activity once (coalesced across concurrent requests here):
                // in an arrival burst every volunteer's first scan would otherwise miss.
                let loaded = inner
                    .presence_loads
                    .try_get_with(activity_id, async {
                        let scans = inner.store.accepted_scans(activity_id, None).await?;
                        let mut by_volunteer: std::collections::HashMap<i64, Vec<ScanFact>> =
                            std::collections::HashMap::new();
                        for s in scans {
                            by_volunteer
                                .entry(s.volunteer_id)
                                .or_default()
                                .push(ScanFact { at: s.at, direction: s.direction });
                        }
                        let tallies = by_volunteer
                            .into_iter()
                            .map(|(volunteer, facts)| (volunteer, LiveMinutes::derive(&facts, schedule, policy)))
                            .collect();
                        inner.cache.presence_load(activity_id, tallies).await
                    })
                    .await;
                match loaded {
                    Ok(()) => match inner.cache.presence_get(activity_id, volunteer_id).await {
                        Ok(PresenceLookup::Loaded(tally)) => Some(tally),
                        _ => None,
                    },
                    Err(e) => {
                        tracing::warn!(error = %e, activity_id, "presence load failed; reading one volunteer");
                        None
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, activity_id, "cache unavailable; reading presence from the store");
                None
            }
        };
        match cached {
            Some(None) => Ok(LiveMinutes::empty(schedule, policy)),
            Some(Some(tally)) if tally.fits(schedule, policy) => Ok(tally),
            // Derived under the activity's earlier schedule: derive it again, and keep that.
            Some(Some(_)) => self.presence_from_store(activity_id, schedule, volunteer_id).await,
            // Fallback: this volunteer only, straight from the store.
            None => self.store_presence(activity_id, schedule, volunteer_id).await,
        }
    }

    /// The tally of a volunteer's accepted scans at an activity as the store has them, put
    /// in the cache as well: the cache missed at least one of them (another instance's
    /// scan whose own update has not arrived, or never will if that instance died after its
    /// commit), or derived it under another schedule.
    pub(super) async fn presence_from_store(
        &self,
        activity_id: i64,
        schedule: &Schedule,
        volunteer_id: i64,
    ) -> Result<LiveMinutes, CoreError> {
        let tally = self.store_presence(activity_id, schedule, volunteer_id).await?;
        self.record_presence(activity_id, volunteer_id, tally).await;
        Ok(tally)
    }

    async fn store_presence(
        &self,
        activity_id: i64,
        schedule: &Schedule,
        volunteer_id: i64,
    ) -> Result<LiveMinutes, CoreError> {
        let facts: Vec<ScanFact> = self
            .store()
            .accepted_scans(activity_id, Some(volunteer_id))
            .await?
            .into_iter()
            .map(|s| ScanFact { at: s.at, direction: s.direction })
            .collect();
        Ok(LiveMinutes::derive(&facts, schedule, &self.settings().checkin.minutes))
    }

    /// Puts a volunteer's tally after a committed scan in the presence cache. If that
    /// fails, the activity's presence is dropped instead, so the next scan reloads it from
    /// the store rather than deciding in or out on a stale entry.
    pub(super) async fn record_presence(&self, activity_id: i64, volunteer_id: i64, tally: LiveMinutes) {
        let cache = &self.inner().cache;
        if let Err(e) = cache.presence_put(activity_id, volunteer_id, tally).await {
            tracing::warn!(error = %e, activity_id, "could not record presence; dropping the activity's cached presence");
            if let Err(e) = cache.presence_forget(activity_id).await {
                tracing::error!(error = %e, activity_id, "could not drop stale presence either");
            }
        }
    }

    /// After a retry was answered with a scan accepted at `at`: if the cached tally does
    /// not include that scan (its request ended between the commit and the cache's update),
    /// derives it again from the store. A cache that has not loaded the activity needs
    /// nothing: its load will read the scan.
    pub(super) async fn presence_after_replay(&self, activity_id: i64, volunteer_id: i64, at: DateTime<Utc>) {
        let Ok(PresenceLookup::Loaded(tally)) = self.inner().cache.presence_get(activity_id, volunteer_id).await else {
            return;
        };
        if tally.and_then(|t| t.last_at()).is_some_and(|last| last.timestamp_micros() >= at.timestamp_micros()) {
            return;
        }
        let activity = match self.activity(activity_id).await {
            Ok(Some(activity)) => activity,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, activity_id, "could not read the activity to bring presence up to date");
                return;
            }
        };
        let schedule = Schedule { starts_at: activity.starts_at, ends_at: activity.ends_at };
        if let Err(e) = self.presence_from_store(activity_id, &schedule, volunteer_id).await {
            tracing::warn!(error = %e, activity_id, "could not bring presence up to date; dropping it");
            if let Err(e) = self.inner().cache.presence_forget(activity_id).await {
                tracing::error!(error = %e, activity_id, "could not drop stale presence either");
            }
        }
    }
}

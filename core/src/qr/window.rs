//! Time windows: how a code's rotation is numbered and how long it is honoured.
//!
//! Time is cut into fixed windows of [`CodeWindows::secs`] seconds counted
//! from the Unix epoch; a token carries the index of the window it was signed
//! for. A code photographed and forwarded to a friend at home stops working
//! once the window has passed, so "I scanned it" means "I was there within
//! the last few seconds".
//!
//! A token stays acceptable for `accept_previous` windows after its own. That
//! grace covers the gap between the organiser's screen fetching a code and a
//! volunteer's scan reaching the server (slow networks, a scan started just
//! before rotation). Windows *ahead* of the server's clock are refused: codes
//! are signed by the server itself, so a future window means clock skew
//! between servers or a forgery, never a legitimate scan.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Why a correctly signed token is not accepted right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum Freshness {
    /// The token's window, and its grace windows, are over.
    #[error("the code has expired")]
    Expired,
    /// The token's window has not started yet by this server's clock.
    #[error("the code is not valid yet")]
    NotYetValid,
}

/// Rotation and acceptance policy for codes.
///
/// A `secs` of 0 is treated as 1 rather than dividing by zero; configuration
/// loading should reject it before it gets here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CodeWindows {
    /// Length of one window in seconds; the code on screen rotates this often.
    pub secs: u32,
    /// How many windows before the current one are still accepted.
    pub accept_previous: u32,
}

impl Default for CodeWindows {
    /// 15-second windows, one previous window accepted: a code is honoured
    /// for 15 to 30 seconds after it appears on screen.
    fn default() -> Self {
        Self { secs: 15, accept_previous: 1 }
    }
}

impl CodeWindows {
    /// Window length in seconds, never zero.
    fn step(self) -> i64 {
        i64::from(self.secs.max(1))
    }

    /// The index of the window containing `now`.
    ///
    /// Clamped to 0 before the epoch and to `u32::MAX` after the last
    /// representable window (more than 2,000 years away at 15 s).
    #[must_use]
    pub fn window_at(&self, now: DateTime<Utc>) -> u32 {
        let index = now.timestamp().max(0) / self.step();
        u32::try_from(index).unwrap_or(u32::MAX)
    }

    /// The first instant of window `window`.
    #[must_use]
    pub fn window_start(&self, window: u32) -> DateTime<Utc> {
        self.start_of(i64::from(window))
    }

    /// The first instant *after* window `window` (exclusive end), which is
    /// also the start of the next window.
    #[must_use]
    pub fn window_end(&self, window: u32) -> DateTime<Utc> {
        self.start_of(i64::from(window) + 1)
    }

    /// The instant a token for `window` stops being accepted: the end of its
    /// last grace window. Handy as an `expires_at` for the organiser screen.
    #[must_use]
    pub fn expires_at(&self, window: u32) -> DateTime<Utc> {
        self.start_of(i64::from(window) + i64::from(self.accept_previous) + 1)
    }

    /// Start of a window given as `i64`, saturating at chrono's maximum
    /// rather than overflowing for absurd window lengths.
    fn start_of(self, window: i64) -> DateTime<Utc> {
        window
            .checked_mul(self.step())
            .and_then(|secs| DateTime::from_timestamp(secs, 0))
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// Whether a token for `window` is acceptable at `now`: valid iff
    /// `current - accept_previous <= window <= current`.
    ///
    /// # Errors
    ///
    /// [`Freshness::Expired`] for older windows, [`Freshness::NotYetValid`]
    /// for windows after the current one.
    pub fn check(&self, window: u32, now: DateTime<Utc>) -> Result<(), Freshness> {
        let current = self.window_at(now);
        if window > current {
            Err(Freshness::NotYetValid)
        } else if window < current.saturating_sub(self.accept_previous) {
            Err(Freshness::Expired)
        } else {
            Ok(())
        }
    }

    /// Whole seconds until the next window starts, rounded up and at least 1,
    /// so an organiser screen can sleep exactly until it must fetch a new code.
    #[must_use]
    pub fn seconds_to_rotation(&self, now: DateTime<Utc>) -> u32 {
        let step = self.step();
        let remaining = step - now.timestamp().rem_euclid(step);
        // `remaining` is in 1..=step and step came from a u32.
        u32::try_from(remaining).unwrap_or(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    fn at_ms(ms: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(ms).unwrap()
    }

    fn windows(accept_previous: u32) -> CodeWindows {
        CodeWindows { secs: 15, accept_previous }
    }

    #[test]
    fn default_is_15s_with_one_previous() {
        assert_eq!(CodeWindows::default(), CodeWindows { secs: 15, accept_previous: 1 });
    }

    #[test]
    fn window_numbering() {
        let w = windows(1);
        assert_eq!(w.window_at(at(0)), 0);
        assert_eq!(w.window_at(at(14)), 0);
        assert_eq!(w.window_at(at_ms(14_999)), 0);
        assert_eq!(w.window_at(at(15)), 1);
        assert_eq!(w.window_at(at(1_755_000_007)), 117_000_000);
        assert_eq!(w.window_start(117_000_000), at(1_755_000_000));
        assert_eq!(w.window_end(117_000_000), at(1_755_000_015));
        assert_eq!(w.window_at(w.window_start(117_000_000)), 117_000_000);
        assert_eq!(w.window_at(w.window_end(117_000_000)), 117_000_001);
        assert_eq!(w.expires_at(117_000_000), at(1_755_000_030));
        assert_eq!(windows(0).expires_at(117_000_000), at(1_755_000_015));
    }

    #[test]
    fn extremes_are_clamped_not_panicking() {
        let w = windows(1);
        assert_eq!(w.window_at(at(-1)), 0);
        assert_eq!(w.window_at(DateTime::<Utc>::MIN_UTC), 0);
        assert_eq!(w.window_at(DateTime::<Utc>::MAX_UTC), u32::MAX);
        let _ = w.window_end(u32::MAX);
        let huge = CodeWindows { secs: u32::MAX, accept_previous: u32::MAX };
        assert_eq!(huge.window_start(u32::MAX), DateTime::<Utc>::MAX_UTC);
        assert_eq!(huge.expires_at(u32::MAX), DateTime::<Utc>::MAX_UTC);
        assert_eq!(huge.check(0, at(1_755_000_000)), Ok(()));
        assert!(huge.seconds_to_rotation(DateTime::<Utc>::MAX_UTC) >= 1);
        assert!(huge.seconds_to_rotation(DateTime::<Utc>::MIN_UTC) >= 1);
    }

    #[test]
    fn zero_length_windows_do_not_divide_by_zero() {
        let w = CodeWindows { secs: 0, accept_previous: 0 };
        assert_eq!(w.window_at(at(100)), 100);
        assert_eq!(w.seconds_to_rotation(at(100)), 1);
    }

    #[test]
    fn check_boundaries_accept_previous_0() {
        let w = windows(0);
        let current = 1000;
        let first = w.window_start(current);
        let last = w.window_end(current) - chrono::Duration::milliseconds(1);
        for now in [first, last] {
            assert_eq!(w.check(current, now), Ok(()));
            assert_eq!(w.check(current - 1, now), Err(Freshness::Expired));
            assert_eq!(w.check(current + 1, now), Err(Freshness::NotYetValid));
        }
        // One millisecond before the window starts, it is still the future.
        let before = first - chrono::Duration::milliseconds(1);
        assert_eq!(w.check(current, before), Err(Freshness::NotYetValid));
        // The instant it ends, it has expired.
        assert_eq!(w.check(current, w.window_end(current)), Err(Freshness::Expired));
    }

    #[test]
    fn check_boundaries_accept_previous_1() {
        let w = windows(1);
        let now = w.window_start(1000);
        assert_eq!(w.check(1000, now), Ok(()));
        assert_eq!(w.check(999, now), Ok(()));
        assert_eq!(w.check(998, now), Err(Freshness::Expired));
        assert_eq!(w.check(1001, now), Err(Freshness::NotYetValid));
        // A token for 999 is fine until the last instant of window 1000...
        let last = w.expires_at(999) - chrono::Duration::milliseconds(1);
        assert_eq!(w.check(999, last), Ok(()));
        // ...and expired exactly at expires_at.
        assert_eq!(w.check(999, w.expires_at(999)), Err(Freshness::Expired));
    }

    #[test]
    fn check_boundaries_accept_previous_2() {
        let w = windows(2);
        let now = w.window_end(1000) - chrono::Duration::milliseconds(1);
        assert_eq!(w.check(1000, now), Ok(()));
        assert_eq!(w.check(999, now), Ok(()));
        assert_eq!(w.check(998, now), Ok(()));
        assert_eq!(w.check(997, now), Err(Freshness::Expired));
        assert_eq!(w.check(1001, now), Err(Freshness::NotYetValid));
        assert_eq!(w.check(u32::MAX, now), Err(Freshness::NotYetValid));
    }

    #[test]
    fn check_near_the_epoch_does_not_underflow() {
        let w = windows(5);
        assert_eq!(w.check(0, at(0)), Ok(()));
        assert_eq!(w.check(1, at(0)), Err(Freshness::NotYetValid));
    }

    #[test]
    fn seconds_to_rotation_counts_down() {
        let w = windows(1);
        let start = 1_755_000_000;
        assert_eq!(w.seconds_to_rotation(at(start)), 15);
        assert_eq!(w.seconds_to_rotation(at(start + 1)), 14);
        assert_eq!(w.seconds_to_rotation(at(start + 14)), 1);
        assert_eq!(w.seconds_to_rotation(at_ms(start * 1000 + 14_999)), 1);
        assert_eq!(w.seconds_to_rotation(at(start + 15)), 15);
        assert_eq!(w.seconds_to_rotation(at(-1)), 1);
    }
}

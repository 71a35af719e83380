//! Pending-scan tickets: a scan made when the page opened stays valid while a first-time
//! volunteer fills in the registration form.
//!
//! A code rotates every few seconds; registering takes minutes. When the scan page reads a
//! code ([`crate::hourmark::Hourmark::read_code`]) and the code is fresh, the server hands
//! back a ticket: an HMAC over the token and the server's time at that moment. The scan
//! request may carry the ticket; the server then judges the code, and records the scan,
//! *as of the ticket's time*.
//!
//! What is trusted, and why it is safe enough:
//! - the ticket's time is the server's own clock at the moment it verified the code fresh
//!   (the client never supplies a time here); the MAC makes that a fact, not a claim;
//! - the ticket names one token (one activity, gate, direction and window), so it cannot be
//!   moved to another code, and is signed under a key derived from the master key that
//!   signed that code, so it dies with that key;
//! - it binds no person: the page opens before anyone is known. Whoever holds it could
//!   scan as of that moment, which is exactly what a photo of the code gives for a few
//!   seconds. The bound (10 minutes by default) caps that widening, and the scan is placed
//!   at the ticket's time, never later, so a ticket cannot stretch anyone's hours: a
//!   check-out made with it counts only up to when the page opened;
//! - a ticket used twice counts once: the nonce replays a retry, and a second scan at the
//!   same instant is not later than the first, so the ordering rule refuses it as
//!   `repeat_scan`. For the same reason a ticket older than the volunteer's last accepted
//!   scan is refused as `repeat_scan` rather than slipped in before it.
//!
//! Text form: `<opened at, Unix milliseconds>.<tag, base64url>`, under 64 characters.

use chrono::{DateTime, Duration, Utc};
use data_encoding::BASE64URL_NOPAD;
use ring::hmac;

use crate::qr::KeyRing;

/// Why a ticket was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketError {
    /// Not a ticket, wrong tag, another token, or a key no longer in the ring.
    Invalid,
    /// Authentic but older than the bound.
    Expired,
}

/// How far in the future a ticket's time may lie: another instance's clock running ahead.
const CLOCK_SKEW: Duration = Duration::seconds(30);

/// Longest ticket text accepted (the real ones are about 57 characters).
pub const MAX_TICKET_CHARS: usize = 100;

fn message(token: &str, opened_at_ms: i64) -> Vec<u8> {
    let mut m = Vec::with_capacity(64);
    m.extend_from_slice(b"pending-scan\0");
    m.extend_from_slice(token.to_ascii_uppercase().as_bytes());
    m.push(0);
    m.extend_from_slice(&opened_at_ms.to_be_bytes());
    m
}

/// Signs a ticket for `token` (signed under master key `key_id`) at `opened_at`.
pub fn sign_ticket(ring: &KeyRing, key_id: u8, token: &str, opened_at: DateTime<Utc>) -> Option<String> {
    let key = ring.pending_scan_key(key_id)?;
    let ms = opened_at.timestamp_millis();
    let tag = hmac::sign(&key, &message(token, ms));
    Some(format!("{ms}.{}", BASE64URL_NOPAD.encode(tag.as_ref())))
}

/// Checks a ticket for `token` (signed under `key_id`) at `now`; returns the time the
/// page opened.
pub fn verify_ticket(
    ring: &KeyRing,
    key_id: u8,
    token: &str,
    ticket: &str,
    now: DateTime<Utc>,
    bound: Duration,
) -> Result<DateTime<Utc>, TicketError> {
    if ticket.len() > MAX_TICKET_CHARS {
        return Err(TicketError::Invalid);
    }
    let (ms, tag) = ticket.split_once('.').ok_or(TicketError::Invalid)?;
    if ms.is_empty() || ms.len() > 15 || !ms.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TicketError::Invalid);
    }
    let ms: i64 = ms.parse().map_err(|_| TicketError::Invalid)?;
    let tag = BASE64URL_NOPAD.decode(tag.as_bytes()).map_err(|_| TicketError::Invalid)?;
    let key = ring.pending_scan_key(key_id).ok_or(TicketError::Invalid)?;
    hmac::verify(&key, &message(token, ms), &tag).map_err(|_| TicketError::Invalid)?;
    let opened_at = DateTime::<Utc>::from_timestamp_millis(ms).ok_or(TicketError::Invalid)?;
    if opened_at > now + CLOCK_SKEW {
        return Err(TicketError::Invalid);
    }
    if now - opened_at > bound {
        return Err(TicketError::Expired);
    }
    Ok(opened_at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(byte: u8) -> KeyRing {
        KeyRing::new(vec![(1, vec![byte; 32])], 1).expect("ring")
    }

    #[test]
    fn a_ticket_verifies_for_its_token_within_the_bound_only() {
        let r = ring(1);
        let opened = DateTime::<Utc>::from_timestamp(1_800_000_000, 123_000_000).expect("time");
        let bound = Duration::minutes(10);
        let t = sign_ticket(&r, 1, "ABC", opened).expect("signed");
        assert!(t.len() < 64, "{t}");
        assert_eq!(verify_ticket(&r, 1, "abc", &t, opened + Duration::minutes(5), bound), Ok(opened));
        assert_eq!(verify_ticket(&r, 1, "ABC", &t, opened + bound, bound), Ok(opened));
        let late = opened + bound + Duration::milliseconds(1);
        assert_eq!(verify_ticket(&r, 1, "ABC", &t, late, bound), Err(TicketError::Expired));
        assert_eq!(verify_ticket(&r, 1, "ABD", &t, opened, bound), Err(TicketError::Invalid), "another token");
        assert_eq!(verify_ticket(&ring(2), 1, "ABC", &t, opened, bound), Err(TicketError::Invalid), "another key");
        assert_eq!(verify_ticket(&r, 2, "ABC", &t, opened, bound), Err(TicketError::Invalid), "unknown key id");
        let (ms, tag) = t.split_once('.').expect("dot");
        let moved = format!("{}.{tag}", ms.parse::<i64>().expect("ms") + 60_000);
        let at = opened + Duration::minutes(2);
        assert_eq!(verify_ticket(&r, 1, "ABC", &moved, at, bound), Err(TicketError::Invalid), "time moved");
        let future = sign_ticket(&r, 1, "ABC", opened + Duration::minutes(1)).expect("signed");
        assert_eq!(verify_ticket(&r, 1, "ABC", &future, opened, bound), Err(TicketError::Invalid), "from the future");
        for garbage in ["", ".", "x.y", "1.", "-1.AAAA", &"9".repeat(200)] {
            assert_eq!(verify_ticket(&r, 1, "ABC", garbage, opened, bound), Err(TicketError::Invalid), "{garbage}");
        }
    }
}

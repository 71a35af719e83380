//! Attendance: scans, the rules that accept or refuse them, the durable batched writer,
//! and the derivation of service minutes.
//!
//! - [`checkin`]: the pure, ordered rules that turn a scanned code into a decision;
//! - [`writer`]: group commit, so thousands of concurrent scans share a few transactions
//!   and each is acknowledged only after its row is durable;
//! - [`minutes`]: the pure function from scans to credited minutes;
//! - [`reading`] and [`ticket`]: reading a code before scanning, and the pending-scan
//!   ticket that keeps a scan valid while a first-time volunteer registers;
//! - [`offline`]: late uploads of scans the phone kept while it had no network;
//! - `presence`: the tally of a volunteer's scans at an activity the scan path decides on,
//!   from the cache or the store.

pub mod checkin;
pub mod minutes;
pub mod offline;
mod presence;
pub mod writer;

pub use minutes::{Direction, LiveMinutes, MinutesPolicy, MinutesReport, ScanFact, Schedule, derive_minutes};
pub mod board;
pub mod reading;
pub mod scan;
pub mod ticket;

//! The areas written once for both engines, mounted inside each engine's module.
//!
//! Each file here sees, through `super`, the names its engine gives it (`Engine`, `Db`,
//! `Conn`, `DbRow`, `reader()`, `writer()`, `serialise`, the shared row helpers) and the
//! engine's SQL macros; see the `store` module's documentation.

#[allow(clippy::wildcard_imports)]
use super::*;

mod activities;
mod audit;
mod calendar;
mod cancellations;
mod certificates;
mod corrections;
pub(super) mod exchange;
mod my_hours;
mod notifications;
mod organisations;
mod publicity;
mod record;
mod region_volunteers;
mod register;
mod retention;
mod review;
pub(super) mod scans;
mod session_corrections;
mod sessions;
mod signups;
mod sms_code;
mod staff;
mod stars;
mod time_bank;
mod trainings;
mod volunteers;

/// The row helpers several areas share.
pub(super) mod rows;

use rows::{correct_finalised, finalised_from_row, insert_audit, parse_day, register_from_row, staff_from_row};

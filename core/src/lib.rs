//! Hourmark's domain: what a scan means, how minutes are derived, and where it all is kept.
//!
//! This crate knows nothing of HTTP. The two HTTP surfaces (`hourmark-mini-program-api`
//! for volunteers, `hourmark-server` for staff) translate requests into calls on
//! [`Hourmark`], the application context, and [`ErrorCode`]s into problem+json answers.
//!
//! Modules own one part of the domain each:
//! - [`qr`]: rotating signed codes (token codec, key ring, windows, rendering);
//! - [`attendance`]: scans, the check-in rules, the batched durable writer, minutes;
//! - [`activity`]: activities, categories, code modes;
//! - [`identity`]: organisations, staff, volunteers, bearer tokens;
//! - [`qualification`]: recorders' annual reviews and renewals, and the staff overseers list;
//! - [`signups`]: recruitment before the day: slots, sign-ups, the waiting list;
//! - [`exchange`]: exports for the national volunteer information system, sent once each;
//! - [`roster`]: roster imports (checked row by row, all or nothing) and historic hours;
//! - [`text`]: names and free text shown to others (NFC, no hidden characters);
//! - [`store`]: the storage trait and its PostgreSQL and SQLite implementations;
//! - [`cache`]: the cache trait and its in-process and Redis implementations;
//! - [`wechat`]: the client for WeChat's mini-program login API (and its local stand-in).

pub mod activities;
pub mod activity;
pub mod activity_edit;
pub mod attendance;
pub mod audit;
mod background;
pub mod cache;
pub mod calendar;
pub mod certificates;
pub mod clock;
pub mod console;
pub mod corrections;
pub mod data_inventory;
pub mod error;
pub mod exchange;
pub mod extra_fields;
pub mod geo;
pub mod hourmark;
pub mod identity;
pub mod live;
pub mod login;
pub mod metrics;
pub mod my_hours;
pub mod notification;
pub mod organisation;
pub mod passkeys;
pub mod privacy;
pub mod publicity;
pub mod qr;
pub mod qualification;
pub mod ratelimit;
pub mod readiness;
pub mod reporting;
pub mod retention;
pub mod review;
pub mod roster;
pub mod screen_keys;
pub mod seed;
pub mod sessions;
pub mod settings;
pub mod signups;
pub mod sms;
pub mod stars;
pub mod step_up;
pub mod store;
pub mod stored;
pub mod text;
pub mod time_bank;
pub mod tokens;
pub mod wechat;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{CoreError, ErrorCode};
pub use hourmark::Hourmark;
pub use settings::Settings;

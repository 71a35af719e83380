//! End-to-end tests: the real server against real SQLite, PostgreSQL and Redis.
//! One test binary; a module per feature. Time is moved by hand, never slept.

mod access;
mod activity_cancel;
mod activity_edit;
mod backup;
mod bad_input;
mod binary;
mod board;
mod bootstrap;
mod browser_script;
mod cache;
mod calendar;
mod certificate_page;
mod certificates;
mod codes;
mod consent;
mod console;
mod console_cancel;
mod console_exchange;
mod console_officer;
mod console_register;
mod console_review;
mod console_sessions;
mod console_signups;
mod console_stars;
mod console_step_up;
mod console_training;
mod correction_page;
mod corrections;
mod data_inventory;
mod deploy;
mod device;
mod durability;
mod exchange;
mod faults;
mod flag_counts;
mod hardening;
mod hours;
mod identity;
mod instances;
mod join_page;
mod late_upload;
mod leaders;
mod load_generator;
mod login;
mod logs;
mod metrics;
mod migrations;
mod my_hours;
mod no_shows;
mod offline_page;
mod openapi;
mod organisations;
mod passkeys;
pub mod publicity;
mod publicity_page;
mod qualification;
mod ratelimit;
pub mod readiness;
mod readme;
mod record;
mod region_volunteers;
mod registration_codes;
mod reporting;
mod retention;
pub mod review;
mod review_passes;
mod roles;
mod roster_publish;
mod scan_page;
mod scans;
mod screen_keys;
mod seed;
mod session_exports;
mod sessions;
mod shutdown;
mod signup_training;
mod signups;
mod sms_login;
mod stars;
mod store_contract;
mod structure;
mod time_bank;
mod volunteer_pages;
mod wechat_oa;

use hourmark_tests::TestApp;
use serde_json::json;

/// A ready activity with its staff and one volunteer.
#[derive(Debug)]
pub struct Event {
    pub admin: String,
    pub organisation_id: i64,
    pub organiser: String,
    pub activity_id: i64,
    pub volunteer_id: i64,
    pub volunteer: String,
}

/// Sets up an organisation, an organiser, an activity in `code_mode` and a volunteer.
pub async fn event(app: &TestApp, code_mode: &str) -> Event {
    let admin = app.administrator().await;
    let organisation_id = app.organisation(&admin, "翠湖志愿者协会").await;
    let organiser = app.organiser(&admin, organisation_id).await;
    let activity = app.activity(&organiser, organisation_id, json!({"code_mode": code_mode})).await;
    let (volunteer_id, volunteer) = app.volunteer("张三", "13800001234").await;
    Event {
        admin,
        organisation_id,
        organiser,
        activity_id: activity["id"].as_i64().expect("id"),
        volunteer_id,
        volunteer,
    }
}

//! The core's settings, filled in from the configuration.

use hourmark_core::Settings;
use hourmark_core::attendance::MinutesPolicy;
use hourmark_core::attendance::checkin::CheckinPolicy;
use hourmark_core::attendance::offline::LateUploadBound;
use hourmark_core::qr::CodeWindows;
use hourmark_core::ratelimit::{Limit, RateLimits};

use super::Config;

impl Config {
    /// The core's settings.
    pub fn settings(&self) -> Settings {
        let minutes = chrono::Duration::minutes;
        Settings {
            code_windows: CodeWindows { secs: self.code_window_secs, accept_previous: self.code_accept_previous },
            code_base_url: self.code_base_url.clone().unwrap_or_else(|| format!("HTTP://{}/S/", self.listen)),
            checkin: CheckinPolicy {
                opens_before: minutes(self.checkin_opens_before_minutes),
                repeat_guard: chrono::Duration::seconds(self.repeat_scan_guard_secs),
                checkout_closes_after: minutes(self.checkout_closes_after_minutes),
                minutes: MinutesPolicy {
                    early_grace: minutes(self.early_grace_minutes),
                    late_grace: minutes(self.late_grace_minutes),
                    max_pairs_per_day: self.max_pairs_per_day,
                },
            },
            pending_scan_ttl: minutes(self.pending_scan_minutes),
            late_upload_bound: self
                .late_upload_minutes
                .map_or(LateUploadBound::CheckoutCloses, |m| LateUploadBound::AfterScan(minutes(m))),
            scan_batch_max: self.scan_batch_max,
            scan_batches_in_flight: self.scan_batches_in_flight.unwrap_or(if self.is_postgres() { 2 } else { 1 }),
            dev_login: self.dev_login,
            registration_phone_code: self.registration_phone_code || self.production,
            production: self.production,
            rate_limits: RateLimits {
                registration_per_client: Limit::per_minute(self.rate_registrations_per_minute),
                login_per_client: Limit::per_minute(self.rate_logins_per_minute),
                scans_per_volunteer: Limit::per_minute(self.rate_scans_per_volunteer_per_minute),
                signups_per_volunteer: Limit::per_minute(self.rate_signups_per_volunteer_per_minute),
            },
            trust_forwarded_for: self.trust_forwarded_for,
            device_rebind_cooldown: chrono::Duration::hours(self.device_rebind_cooldown_hours),
            check_error_docs: self.check_error_docs,
            volunteer_token_ttl: chrono::Duration::hours(self.volunteer_token_ttl_hours),
            metrics_token: self.metrics_token.as_ref().map(|t| hourmark_core::wechat::Secret::new(t.0.clone())),
            console_idle: chrono::Duration::minutes(self.console_idle_minutes),
            public_board_fresh: std::time::Duration::from_millis(self.public_board_cache_ms),
            ..Settings::default()
        }
    }
}

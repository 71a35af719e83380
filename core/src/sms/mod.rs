//! Sending one-time sign-in codes by SMS, and the few notices an operator configures.
//!
//! [`SmsSender`] is what the sign-in use case needs from a provider: send this code to
//! this mainland number; and, where a template is approved for it, a fixed [`SmsNotice`].
//! Two implementations:
//!
//! - [`tencent::TencentSms`]: Tencent Cloud SMS, API 3.0 `SendSms` (version 2021-01-11)
//!   with TC3-HMAC-SHA256 request signing;
//! - [`DevSmsSink`]: for development, writes the code to the log instead of sending it
//!   (the default when no provider is configured, never in production).
//!
//! [`standin`] is a local fake of Tencent's endpoint for tests: it checks each request's
//! signature on its own and answers in the documented format.

use std::collections::VecDeque;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

#[cfg(any(test, feature = "sms-standin"))]
pub mod standin;
pub mod tencent;

/// What a provider's refusal or failure comes to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmsError {
    /// The provider refused: too many messages to this number (its own limits).
    #[error("the SMS provider limits messages to this number: {0}")]
    RateLimited(String),
    /// The provider says the number cannot receive SMS.
    #[error("the SMS provider refused the phone number: {0}")]
    PhoneRefused(String),
    /// The provider refused the request for a reason the operator must fix (credentials,
    /// signature name, template, balance) or answered an error not listed above.
    #[error("the SMS provider refused the request: {0}")]
    Refused(String),
    /// The provider could not be reached, timed out or answered garbage.
    #[error("the SMS provider is unavailable: {0}")]
    Unavailable(String),
}

/// A message that is not a code, without parameters. Each is sent only where the operator
/// configured an approved template for it (a provider sends no free text to mainland
/// numbers), and otherwise not at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsNotice {
    /// To a number a sign-in code was asked for that no volunteer has: "this number is not
    /// registered". The answer to the request itself does not say so.
    NotRegistered,
    /// To the volunteer whose ID number someone else tried to register with.
    IdNumberTried,
}

/// Sends sign-in codes, and the notices an operator configured.
#[async_trait]
pub trait SmsSender: Send + Sync + std::fmt::Debug {
    /// Sends `code` (valid `valid_minutes`) to the mainland number `phone` (11 digits).
    /// `now` signs the request (providers refuse requests whose time is far off).
    async fn send_code(&self, phone: &str, code: &str, valid_minutes: u32, now: DateTime<Utc>) -> Result<(), SmsError>;

    /// Whether a template is configured for `notice`: without one it is never sent.
    fn sends(&self, _notice: SmsNotice) -> bool {
        false
    }

    /// Sends `notice` to `phone`; refused when [`SmsSender::sends`] says no.
    async fn send_notice(&self, _phone: &str, notice: SmsNotice, _now: DateTime<Utc>) -> Result<(), SmsError> {
        Err(SmsError::Refused(format!("no template configured for {notice:?}")))
    }

    /// The development sink behind this sender, if it is one: lets an in-process test read
    /// the codes "sent" (never reachable over HTTP; real providers answer `None`).
    fn development_outbox(&self) -> Option<&DevSmsSink> {
        None
    }
}

/// The development sink: logs each code (masked number, plain code) instead of sending
/// it, and keeps the last few in memory.
#[derive(Debug, Default)]
pub struct DevSmsSink {
    outbox: Mutex<VecDeque<(String, String)>>,
}

/// How many codes the development sink remembers.
const DEV_OUTBOX: usize = 32;

impl DevSmsSink {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// The last code "sent" to `phone`.
    pub fn last_code(&self, phone: &str) -> Option<String> {
        let outbox = self.outbox.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        outbox.iter().rev().find(|(p, _)| p == phone).map(|(_, code)| code.clone())
    }
}

#[async_trait]
impl SmsSender for DevSmsSink {
    async fn send_code(
        &self,
        phone: &str,
        code: &str,
        valid_minutes: u32,
        _now: DateTime<Utc>,
    ) -> Result<(), SmsError> {
        tracing::warn!(
            phone = %crate::identity::id_number::mask_phone(phone),
            code,
            valid_minutes,
            "development SMS sink: this sign-in code was NOT sent; configure HOURMARK_SMS_PROVIDER to send it"
        );
        let mut outbox = self.outbox.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if outbox.len() == DEV_OUTBOX {
            outbox.pop_front();
        }
        outbox.push_back((phone.to_owned(), code.to_owned()));
        Ok(())
    }

    fn development_outbox(&self) -> Option<&DevSmsSink> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_development_sink_keeps_the_last_code_per_number() {
        let sink = DevSmsSink::new();
        let now = Utc::now();
        sink.send_code("13800001234", "111111", 5, now).await.expect("sink never fails");
        sink.send_code("13900005678", "222222", 5, now).await.expect("sink never fails");
        sink.send_code("13800001234", "333333", 5, now).await.expect("sink never fails");
        assert_eq!(sink.last_code("13800001234").as_deref(), Some("333333"));
        assert_eq!(sink.last_code("13900005678").as_deref(), Some("222222"));
        assert_eq!(sink.last_code("13700000000"), None);
    }
}

//! WeChat mini-program login: turning the codes a mini program obtains into identities.
//!
//! A volunteer opens the mini program, which calls `wx.login` and sends us the short-lived
//! code; [`WeChatClient::code_to_session`] exchanges it with WeChat for the user's `openid`
//! (and `unionid`, if any). When the volunteer registers, the `getPhoneNumber` button yields
//! another code, which [`WeChatClient::phone_number`] exchanges for a verified phone number,
//! using the app's access token (cached and refreshed here, because WeChat limits how often it
//! may be fetched and each fetch invalidates the previous token).
//!
//! Inside WeChat's own browser a web page signs in through the Official Account instead
//! (网页授权): [`WeChatClient::oa_authorisation`], with a client built from the Official
//! Account's appid and secret; see `login::wechat_oa` for the whole flow.
//!
//! The module owns the failure vocabulary too: [`WeChatError`] folds WeChat's errcodes and
//! transport failures into the few cases the HTTP layer answers with, each with a stable
//! [`code`](WeChatError::code) and a [`retryable`](WeChatError::retryable) flag.
//!
//! Secrets stay secret: the app secret, session keys and access tokens are never printed by
//! `Debug`, never serializable, and never part of an error message.
//!
//! [`standin`] is a local fake of WeChat's API for tests, here and in other crates.

mod client;
mod config;
mod error;
mod secret;
#[cfg(any(test, feature = "wechat-standin"))]
pub mod standin;
mod token;

#[cfg(test)]
mod tests;

pub use client::{MAX_CODE_LEN, NOT_SUBSCRIBED, OaAuthorisation, SubscribeMessage, WeChatClient, WxPhone, WxSession};
pub use config::{DEFAULT_BASE_URL, DEFAULT_TIMEOUT, WeChatConfig};
pub use error::WeChatError;
pub use secret::{Secret, SessionKey};

/// An HTTP client for calling WeChat (or anything else over TLS) with ring as the TLS
/// crypto provider. reqwest is built without a built-in provider (its default, aws-lc,
/// compiles C we do not want), so the provider is installed process-wide first; every
/// reqwest client in the process then works, for plain HTTP too.
pub fn http_client(timeout: std::time::Duration) -> reqwest::Result<reqwest::Client> {
    install_tls_provider();
    reqwest::Client::builder().timeout(timeout).build()
}

/// Installs ring as the process's TLS crypto provider (a no-op once one is installed).
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

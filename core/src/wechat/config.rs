//! Where WeChat is and who we are to it.

use std::fmt;
use std::time::Duration;

use super::secret::Secret;

/// WeChat's production API host.
pub const DEFAULT_BASE_URL: &str = "https://api.weixin.qq.com";

/// How long one request to WeChat may take, connection and body included.
///
/// Five seconds is already long for a volunteer staring at a spinner; beyond it a login is
/// better failed (`wechat_timeout`, retryable) than left hanging.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Configuration of a [`WeChatClient`](super::WeChatClient).
///
/// `Debug` is written by hand so that the secret is never printed, whatever the formatter.
#[derive(Clone)]
pub struct WeChatConfig {
    /// Scheme and host of the API, without a trailing slash (one is tolerated and removed);
    /// [`DEFAULT_BASE_URL`] in production, the stand-in's address in tests.
    pub base_url: String,
    /// The mini program's `AppID` (`wx…`).
    pub appid: String,
    /// The mini program's `AppSecret`.
    pub secret: Secret,
    /// The limit on each request to WeChat ([`DEFAULT_TIMEOUT`] unless changed).
    pub timeout: Duration,
    /// The subscription-message template that tells volunteers what happened to their
    /// hours; none: no WeChat messages (the in-app notifications stay).
    pub notice_template_id: Option<String>,
}

impl WeChatConfig {
    /// A configuration for the production API with the default timeout.
    pub fn new(appid: impl Into<String>, secret: impl Into<Secret>) -> Self {
        Self {
            base_url: DEFAULT_BASE_URL.to_owned(),
            appid: appid.into(),
            secret: secret.into(),
            timeout: DEFAULT_TIMEOUT,
            notice_template_id: None,
        }
    }
}

impl fmt::Debug for WeChatConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeChatConfig")
            .field("base_url", &self.base_url)
            .field("appid", &self.appid)
            .field("secret", &self.secret)
            .field("timeout", &self.timeout)
            .field("notice_template_id", &self.notice_template_id)
            .finish()
    }
}

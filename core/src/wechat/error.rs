//! What can go wrong when talking to WeChat, in terms the HTTP layer can answer with.
//!
//! WeChat reports failures as an `errcode` in an HTTP 200 answer. The few codes a caller can
//! act on get their own variant; everything else is [`WeChatError::Upstream`], which keeps
//! WeChat's code and message for the logs. [`WeChatError::code`] gives the stable snake_case
//! code the mini program switches on, so it must never change meaning once published.

/// A failed exchange with WeChat.
///
/// `Clone` so that one failed access-token fetch can be reported to every caller that was
/// waiting on it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WeChatError {
    /// errcode -1: WeChat is busy. Retryable.
    #[error("WeChat is busy (errcode -1)")]
    Busy,
    /// errcode 40029, or a code that failed local validation: the `wx.login` or phone code is
    /// malformed, expired (codes live five minutes) or already used (codes are single-use).
    /// The mini program must obtain a new code.
    #[error("the code is invalid, expired or already used (errcode 40029)")]
    InvalidCode,
    /// errcode 40163: an Official Account authorisation code that was already exchanged
    /// (codes are single-use). The page must ask WeChat for a new one.
    #[error("the code was already used (errcode 40163)")]
    CodeUsed,
    /// errcode 45011: too many calls; retryable after a pause.
    #[error("WeChat's rate limit was reached (errcode 45011)")]
    RateLimited,
    /// errcode 40226: WeChat flags the user as high-risk and refuses to log them in.
    #[error("WeChat refused a high-risk user (errcode 40226)")]
    Blocked,
    /// WeChat did not answer within the configured timeout. Retryable.
    #[error("WeChat did not answer in time")]
    Timeout,
    /// WeChat could not be reached or did not answer like WeChat: connection failure, an HTTP
    /// status other than 200, a body that is not JSON or is too large. Retryable.
    #[error("WeChat is unavailable: {reason}")]
    Unavailable {
        /// What went wrong, for the logs (never contains the secret or a token).
        reason: String,
    },
    /// WeChat answered success, but with something unusable: a missing or mistyped field, or a
    /// phone number watermarked for another app. Not retryable: it points at a configuration
    /// error or an API change.
    #[error("WeChat's answer is unusable: {reason}")]
    UnexpectedAnswer {
        /// What was wrong with the answer, for the logs (never contains the answer's values).
        reason: String,
    },
    /// Any other errcode (a wrong appid or secret among them).
    #[error("WeChat refused with errcode {errcode}: {errmsg}")]
    Upstream {
        /// WeChat's error code.
        errcode: i64,
        /// WeChat's message (truncated; often ends with a request id useful to WeChat support).
        errmsg: String,
    },
}

impl WeChatError {
    /// The error for a non-zero `errcode`.
    pub fn from_errcode(errcode: i64, errmsg: impl Into<String>) -> Self {
        match errcode {
            -1 => Self::Busy,
            40029 => Self::InvalidCode,
            40163 => Self::CodeUsed,
            45011 => Self::RateLimited,
            40226 => Self::Blocked,
            _ => Self::Upstream { errcode, errmsg: errmsg.into() },
        }
    }

    /// Whether the same operation may succeed if tried again later. For a login, "again"
    /// means with a fresh `wx.login` code: the failed attempt may have consumed the old one.
    pub fn retryable(&self) -> bool {
        match self {
            Self::Busy | Self::RateLimited | Self::Timeout | Self::Unavailable { .. } => true,
            Self::InvalidCode
            | Self::CodeUsed
            | Self::Blocked
            | Self::UnexpectedAnswer { .. }
            | Self::Upstream { .. } => false,
        }
    }

    /// The stable code the HTTP layer answers with.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Busy => "wechat_busy",
            Self::InvalidCode => "wechat_code_invalid",
            Self::CodeUsed => "wechat_code_used",
            Self::RateLimited => "wechat_rate_limited",
            Self::Blocked => "wechat_user_blocked",
            Self::Timeout => "wechat_timeout",
            Self::Unavailable { .. } => "wechat_unavailable",
            Self::UnexpectedAnswer { .. } | Self::Upstream { .. } => "wechat_error",
        }
    }
}

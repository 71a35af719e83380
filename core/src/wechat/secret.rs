//! Strings that must not leak: the app secret and WeChat's per-user session key.
//!
//! Both are plain strings underneath, but wrapping them means `{:?}` on a config, a session or
//! an error can never print them, and neither type implements `Serialize`, so neither can slip
//! into a JSON answer or a log record by accident. Reading the value takes an explicit
//! `expose_secret()` call, which is easy to find in review.

use std::fmt;

use serde::Deserialize;

/// What `Debug` prints in place of a secret value.
const REDACTED: &str = "<redacted>";

/// The mini program's app secret (`AppSecret`), as issued in the WeChat admin console.
///
/// `Debug` prints `<redacted>`. It can be deserialized (so it can come from a config file or the
/// environment) but never serialized.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that must send it to WeChat.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Secret").field(&format_args!("{REDACTED}")).finish()
    }
}

/// The `session_key` WeChat hands out with a login: the key for decrypting data the mini program
/// obtains on the user's behalf and for checking its signatures.
///
/// It must never leave the server, so it has no `Serialize` and its `Debug` prints `<redacted>`.
#[derive(Clone)]
pub struct SessionKey(String);

impl SessionKey {
    /// Wraps a session key (useful for fakes in other crates' tests).
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The key itself, for decrypting or verifying data from the mini program.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SessionKey").field(&format_args!("{REDACTED}")).finish()
    }
}

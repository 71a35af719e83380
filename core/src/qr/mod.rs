//! Rotating, signed QR codes: the proof that a volunteer was physically at
//! an activity.
//!
//! An organiser's screen shows a QR code that changes every few seconds; a
//! volunteer scans it and the server records an arrival or departure. This
//! module owns everything about those codes that does not touch storage or
//! HTTP:
//!
//! * [`KeyRing`] ([`keys`]): master secrets with rotation, and the
//!   per-activity HMAC keys derived from them.
//! * [`CodeClaims`], [`KeyRing::sign`] and [`verify`] ([`token`]): the
//!   compact 21-byte signed token and its 34-character base32 text form.
//! * [`CodeWindows`] ([`window`]): the time windows a token is bound to, so
//!   a photo of the code forwarded to someone at home is useless within
//!   seconds.
//! * [`code_url`] and [`token_from_scanned`] ([`url`]): the URL the QR code
//!   carries and the way back from whatever text a scanner returns.
//! * [`render_svg`] and [`render_png`] ([`render`]): drawing the code.
//! * [`ScreenGrant`], [`KeyRing::screen_key`] and [`read`] ([`screen`]): keys a
//!   projector mints codes with by itself, and reading codes of either kind.
//!
//! Codes are stateless: verifying one needs only the key ring and the clock,
//! never a database round trip, so a burst of scans at a busy entrance costs
//! a few microseconds each. Preventing the *same* volunteer from scanning
//! twice is the caller's job (it knows who is scanning); tokens are
//! canonical, so the claims or the upper-cased token are a fine
//! de-duplication key.
//!
//! A scan handler typically does:
//!
//! ```text
//! let token = qr::token_from_scanned(&body.text).ok_or(NotOurCode)?;
//! let claims = qr::verify(&ring, token)?;           // format + signature
//! windows.check(claims.window, Utc::now())?;        // freshness
//! ```

pub mod keys;
pub mod render;
pub mod screen;
pub mod token;
pub mod url;
pub mod window;

pub use keys::{KeyRing, KeyRingError};
pub use render::{RenderError, qr_version, render_png, render_svg};
pub use screen::{ScannedCode, ScreenCode, ScreenGrant, ScreenKey, read, sign_screen_code};
pub use token::{CodeClaims, CodeDirection, CodeError, GateOutOfRange, MAX_GATE, SignedCode, TOKEN_CHARS, verify};
pub use url::{code_url, is_qr_alphanumeric, token_from_scanned};
pub use window::{CodeWindows, Freshness};

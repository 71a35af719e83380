//! The HTTP plumbing both of Hourmark's surfaces share, so that the volunteer API
//! (`hourmark-mini-program-api`) and the staff API (`hourmark-server`) speak exactly the
//! same error language:
//!
//! - [`problem`]: every refusal as `application/problem+json` with a stable code
//!   (RFC 9457), from [`hourmark_core::CoreError`];
//! - [`extract`]: axum extractors whose rejections (malformed JSON, a path id beyond
//!   `i64`, the wrong kind of token, …) are such problems too, never axum's plain text.

pub mod extract;
pub mod problem;
pub mod responses;

pub use problem::ApiError;

//! The URL a QR code carries, and getting the token back out of scanned text.
//!
//! A code encodes `BASE/TOKEN`, e.g. `HTTPS://HM.EXAMPLE.CN/S/<34 chars>`.
//! Using a URL rather than the bare token means a volunteer who scans with
//! the phone's camera app (not our mini-program) still lands somewhere
//! useful. The base is written in upper case on purpose: URLs' scheme and
//! host are case-insensitive, and if every character is in the QR
//! *alphanumeric* charset (`0-9 A-Z space $ % * + - . / :`) the encoder can
//! pack 11 bits per 2 characters instead of 8 bits per character. For our
//! ~58-character URL that is a version 3 code (29×29 modules) instead of
//! version 4 (33×33): bigger modules at the same print or screen size, which
//! is what makes cheap phone cameras lock on quickly in bright sunlight.

use super::token::MAX_TOKEN_CHARS;

/// Scanned text longer than this (in bytes) is rejected outright: nothing
/// Hourmark prints comes close, and it bounds the work done on hostile input.
pub const MAX_SCANNED_LEN: usize = 512;

/// Builds the URL to encode in a QR code from a base such as
/// `"HTTPS://HM.EXAMPLE.CN/S/"` and a token, adding the `/` between them if
/// the base lacks it.
///
/// Keep `base` upper case (see the module docs and
/// [`is_qr_alphanumeric`]); the path segment before the token must be `S`
/// for [`token_from_scanned`] to recognise the URL.
#[must_use]
pub fn code_url(base: &str, token: &str) -> String {
    let mut url = String::with_capacity(base.len() + 1 + token.len());
    url.push_str(base);
    if !base.ends_with('/') {
        url.push('/');
    }
    url.push_str(token);
    url
}

/// Whether every character of `text` is in the QR alphanumeric charset, so a
/// code for it can use the compact alphanumeric mode. Use it to validate the
/// configured URL base at start-up.
#[must_use]
pub fn is_qr_alphanumeric(text: &str) -> bool {
    text.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase() || b" $%*+-./:".contains(&b))
}

/// Extracts the token from the text a scanner returned, without verifying it.
///
/// Accepts, after trimming surrounding whitespace:
/// * a bare token, or
/// * an `http`/`https` URL (scheme and host in any case) whose last path
///   segment is the token and whose segment before that is `S` or `s`; a
///   trailing slash, a query string and a fragment are ignored.
///
/// Returns `None` for empty or over-long ([`MAX_SCANNED_LEN`]) input and for
/// anything else, such as another site's URL, a payment code or free text,
/// so callers can tell "not one of our codes" apart from a damaged one. The
/// candidate is only checked to be 1 to [`MAX_TOKEN_CHARS`] ASCII letters
/// and digits; [`super::verify`] does the real checking.
#[must_use]
pub fn token_from_scanned(text: &str) -> Option<&str> {
    // Length first, so hostile megabyte inputs are not even trimmed.
    if text.len() > MAX_SCANNED_LEN {
        return None;
    }
    let text = text.trim();
    let token = match text.split_once("://") {
        Some((scheme, rest)) => {
            if !(scheme.eq_ignore_ascii_case("https") || scheme.eq_ignore_ascii_case("http")) {
                return None;
            }
            token_from_url_rest(rest)?
        }
        None => text,
    };
    let plausible = (1..=MAX_TOKEN_CHARS).contains(&token.len()) && token.bytes().all(|b| b.is_ascii_alphanumeric());
    plausible.then_some(token)
}

/// The token in `host/.../S/TOKEN[/][?query][#fragment]`.
fn token_from_url_rest(rest: &str) -> Option<&str> {
    // Everything up to the first '?' or '#': a fragment may contain '?',
    // but it always comes after the query.
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    let (host, path) = rest.split_once('/')?;
    if host.is_empty() {
        return None;
    }
    let path = path.strip_suffix('/').unwrap_or(path);
    let (prefix, token) = path.rsplit_once('/')?;
    let marker = prefix.rsplit('/').next().unwrap_or_default();
    (marker == "S" || marker == "s").then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "AEAQCAIBAEAQCAIBAEAQCAIBAEAQCAIBAE";

    #[test]
    fn code_url_adds_one_slash() {
        assert_eq!(code_url("HTTPS://HM.EXAMPLE.CN/S/", TOKEN), format!("HTTPS://HM.EXAMPLE.CN/S/{TOKEN}"));
        assert_eq!(code_url("HTTPS://HM.EXAMPLE.CN/S", TOKEN), format!("HTTPS://HM.EXAMPLE.CN/S/{TOKEN}"));
    }

    #[test]
    fn alphanumeric_charset() {
        assert!(is_qr_alphanumeric(&code_url("HTTPS://HM.EXAMPLE.CN:8443/S/", TOKEN)));
        assert!(is_qr_alphanumeric("0-9 A-Z $%*+-./:"));
        assert!(!is_qr_alphanumeric("https://hm.example.cn/S/"));
        assert!(!is_qr_alphanumeric("HTTPS://HM.EXAMPLE.CN/S/?A=B"));
        assert!(!is_qr_alphanumeric("HTTPS://HM.EXAMPLE.CN/S/#"));
    }

    #[test]
    fn accepted_forms() {
        let cases = [
            TOKEN.to_owned(),
            TOKEN.to_ascii_lowercase(),
            format!("  {TOKEN}\r\n"),
            format!("HTTPS://HM.EXAMPLE.CN/S/{TOKEN}"),
            format!("https://hm.example.cn/s/{TOKEN}"),
            format!("Https://Hm.Example.Cn/S/{TOKEN}"),
            format!("http://hm.example.cn/S/{TOKEN}"),
            format!("HTTPS://HM.EXAMPLE.CN/S/{TOKEN}/"),
            format!("HTTPS://HM.EXAMPLE.CN/S/{TOKEN}?from=timeline&a=/b"),
            format!("HTTPS://HM.EXAMPLE.CN/S/{TOKEN}/?x=1"),
            format!("HTTPS://HM.EXAMPLE.CN/S/{TOKEN}#frag?x/y"),
            format!("HTTPS://HM.EXAMPLE.CN/S/{TOKEN}?q=1#frag"),
            format!("HTTPS://HM.EXAMPLE.CN:8443/S/{TOKEN}"),
            format!("HTTPS://HM.EXAMPLE.CN/HOURMARK/S/{TOKEN}"),
            format!("\tHTTPS://HM.EXAMPLE.CN/S/{TOKEN} "),
        ];
        for case in &cases {
            let got = token_from_scanned(case).map(str::to_ascii_uppercase);
            assert_eq!(got.as_deref(), Some(TOKEN), "{case:?}");
        }
    }

    #[test]
    fn rejected_forms() {
        let cases = [
            String::new(),
            "   \n".to_owned(),
            "S/".to_owned(),
            "hello world".to_owned(),
            format!("{TOKEN}!"),
            "A".repeat(MAX_TOKEN_CHARS + 1),
            format!("{TOKEN}{}", " ".repeat(MAX_SCANNED_LEN)),
            "A".repeat(100_000),
            format!("HTTPS://HM.EXAMPLE.CN/{TOKEN}"),
            format!("HTTPS://HM.EXAMPLE.CN/X/{TOKEN}"),
            format!("HTTPS://HM.EXAMPLE.CN/SS/{TOKEN}"),
            format!("HTTPS:///S/{TOKEN}"),
            format!("HTTPS://S/{TOKEN}"),
            "HTTPS://HM.EXAMPLE.CN/S/".to_owned(),
            "HTTPS://HM.EXAMPLE.CN/S//".to_owned(),
            "HTTPS://HM.EXAMPLE.CN/S/?t=1".to_owned(),
            format!("HTTPS://HM.EXAMPLE.CN/S/{TOKEN}/EXTRA"),
            format!("HTTPS://HM.EXAMPLE.CN/S/{TOKEN}//"),
            format!("HTTPS://HM.EXAMPLE.CN?/S/{TOKEN}"),
            format!("HTTPS://HM.EXAMPLE.CN#/S/{TOKEN}"),
            format!("FTP://HM.EXAMPLE.CN/S/{TOKEN}"),
            format!("weixin://S/{TOKEN}"),
            format!("://HM.EXAMPLE.CN/S/{TOKEN}"),
            format!("HM.EXAMPLE.CN/S/{TOKEN}"),
            format!("HTTPS://HM.EXAMPLE.CN/S/{}", "é".repeat(10)),
        ];
        for case in &cases {
            assert_eq!(token_from_scanned(case), None, "{case:?}");
        }
    }

    #[test]
    fn returns_a_slice_of_the_input() {
        let url = format!("https://hm.example.cn/s/{}", TOKEN.to_ascii_lowercase());
        let token = token_from_scanned(&url).unwrap();
        assert_eq!(token, TOKEN.to_ascii_lowercase());
        assert!(url.ends_with(token));
    }
}

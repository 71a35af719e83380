//! Drawing a code URL as a QR symbol, in SVG (for the organiser's web screen)
//! or PNG (for the mini-program and printing).
//!
//! Error correction is level M (about 15 % of the symbol recoverable): codes
//! are shown on glossy phone and laptop screens where glare wipes out
//! patches, yet level Q or H would push our URL to a denser version with
//! smaller modules, which hurts more than it helps on cheap cameras. The
//! four-module quiet zone the standard asks for is always drawn, because
//! many decoders fail to find the finder patterns without it.
//!
//! The encoding mode is left to the `qrcode` crate's optimiser: given an
//! upper-case URL (see [`super::url`]) it picks alphanumeric mode by itself.

use image::Luma;
use image::codecs::png::PngEncoder;
use qrcode::render::svg;
use qrcode::types::QrError;
use qrcode::{EcLevel, QrCode, Version};

/// Error-correction level of every Hourmark code.
pub const EC_LEVEL: EcLevel = EcLevel::M;

/// Largest PNG edge, in pixels, that [`render_png`] will produce. Far above
/// any real screen or print need, and it caps memory at ~16 MiB per image
/// whatever the caller passes.
pub const MAX_PNG_SIDE_PX: u32 = 4096;

/// Pixels per module in SVG output. SVGs scale freely (they carry a
/// `viewBox`); this only sets the default size when shown unstyled.
const SVG_MODULE_PX: u32 = 8;

/// Quiet-zone width in modules on each side, as drawn by `qrcode` for
/// normal (non-micro) symbols.
const QUIET_ZONE_MODULES: u32 = 4;

/// Why a URL could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The text does not fit any QR version at [`EC_LEVEL`].
    #[error("the URL cannot be encoded as a QR code")]
    Encode(#[from] QrError),
    /// `module_px` is zero or makes the image wider than [`MAX_PNG_SIDE_PX`].
    #[error("a module size of {module_px} px is zero or makes the image larger than {MAX_PNG_SIDE_PX} px")]
    ModuleSize {
        /// The rejected module size.
        module_px: u32,
    },
    /// The PNG encoder failed.
    #[error("PNG encoding failed")]
    Png(#[from] image::ImageError),
}

fn encode(url: &str) -> Result<QrCode, RenderError> {
    Ok(QrCode::with_error_correction_level(url.as_bytes(), EC_LEVEL)?)
}

/// The QR version (1..=40; the symbol is `17 + 4 × version` modules wide)
/// that `url` encodes to. Smaller is easier to scan; an upper-case Hourmark
/// URL should come out at 3.
///
/// # Errors
///
/// [`RenderError::Encode`] if the URL does not fit any version.
pub fn qr_version(url: &str) -> Result<i16, RenderError> {
    match encode(url)?.version() {
        Version::Normal(v) => Ok(v),
        // `QrCode::with_error_correction_level` only produces normal symbols.
        Version::Micro(_) => Err(RenderError::Encode(QrError::InvalidVersion)),
    }
}

/// Renders `url` as a standalone SVG document (black on white).
///
/// # Errors
///
/// [`RenderError::Encode`] if the URL does not fit a QR code.
pub fn render_svg(url: &str) -> Result<String, RenderError> {
    Ok(encode(url)?.render::<svg::Color<'_>>().quiet_zone(true).module_dimensions(SVG_MODULE_PX, SVG_MODULE_PX).build())
}

/// Renders `url` as an 8-bit greyscale PNG with `module_px` pixels per module.
///
/// # Errors
///
/// [`RenderError::Encode`] if the URL does not fit a QR code,
/// [`RenderError::ModuleSize`] if `module_px` is 0 or the image would exceed
/// [`MAX_PNG_SIDE_PX`], [`RenderError::Png`] if encoding fails.
pub fn render_png(url: &str, module_px: u32) -> Result<Vec<u8>, RenderError> {
    let code = encode(url)?;
    // Check the size before qrcode multiplies it out (u32 overflow, or a
    // multi-gigabyte buffer from a careless caller).
    let modules = u64::try_from(code.width()).unwrap_or(u64::MAX);
    let side = (modules + 2 * u64::from(QUIET_ZONE_MODULES)).saturating_mul(u64::from(module_px));
    if module_px == 0 || side > u64::from(MAX_PNG_SIDE_PX) {
        return Err(RenderError::ModuleSize { module_px });
    }
    let image = code.render::<Luma<u8>>().quiet_zone(true).module_dimensions(module_px, module_px).build();
    let mut png = Vec::new();
    image.write_with_encoder(PngEncoder::new(&mut png))?;
    Ok(png)
}

#[cfg(test)]
mod tests {
    use super::super::{
        CodeDirection, CodeWindows, KeyRing, TOKEN_CHARS, code_url, is_qr_alphanumeric, token_from_scanned, verify,
    };
    use super::*;

    const BASE: &str = "HTTPS://HM.EXAMPLE.CN/S/";

    fn signed_url() -> (KeyRing, String) {
        let ring = KeyRing::new(vec![(1, vec![9; 32])], 1).unwrap();
        let window = CodeWindows::default().window_at(chrono::Utc::now());
        let signed = ring.sign(123_456, 7, CodeDirection::Arrival, window).unwrap();
        (ring, code_url(BASE, &signed.token))
    }

    fn decode_png(png: &[u8]) -> String {
        let img = image::load_from_memory(png).unwrap().to_luma8();
        let mut img = rqrr::PreparedImage::prepare(img);
        let grids = img.detect_grids();
        assert_eq!(grids.len(), 1);
        let (_meta, content) = grids[0].decode().unwrap();
        content
    }

    #[test]
    fn png_decodes_back_to_the_url() {
        let (ring, url) = signed_url();
        for module_px in [3, 8] {
            let png = render_png(&url, module_px).unwrap();
            assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
            let scanned = decode_png(&png);
            assert_eq!(scanned, url);
            // The whole path a scan takes: text -> token -> claims.
            let token = token_from_scanned(&scanned).unwrap();
            assert_eq!(verify(&ring, token).unwrap().activity_id, 123_456);
        }
    }

    #[test]
    fn png_size_follows_module_px() {
        let (_, url) = signed_url();
        let png = render_png(&url, 4).unwrap();
        let img = image::load_from_memory(&png).unwrap();
        // Version 3: 29 modules plus a 4-module quiet zone on each side.
        assert_eq!((img.width(), img.height()), ((29 + 8) * 4, (29 + 8) * 4));
    }

    #[test]
    fn png_rejects_bad_module_sizes() {
        let (_, url) = signed_url();
        for module_px in [0, 111, u32::MAX] {
            assert!(matches!(
                render_png(&url, module_px),
                Err(RenderError::ModuleSize { module_px: m }) if m == module_px
            ));
        }
        assert!(render_png(&url, 110).is_ok()); // 37 × 110 = 4070 px
    }

    #[test]
    fn svg_is_an_svg() {
        let (_, url) = signed_url();
        let svg = render_svg(&url).unwrap();
        assert!(svg.contains("<svg"));
        assert!(svg.contains("viewBox"));
    }

    #[test]
    fn upper_case_url_uses_alphanumeric_mode() {
        let (_, url) = signed_url();
        assert_eq!(url.len(), BASE.len() + TOKEN_CHARS);
        assert!(is_qr_alphanumeric(&url));
        // 58 characters: version 3-M holds 61 alphanumeric characters but
        // only 42 bytes, so version 3 proves alphanumeric mode was chosen.
        assert!(qr_version(&url).unwrap() <= 3, "version {}", qr_version(&url).unwrap());

        let lower_base = url.replacen(BASE, &BASE.to_ascii_lowercase(), 1);
        assert!(qr_version(&lower_base).unwrap() > 3);
        assert!(qr_version(&url.to_ascii_lowercase()).unwrap() > 3);
    }

    #[test]
    fn oversized_input_is_an_encode_error() {
        let huge = "A".repeat(10_000);
        assert!(matches!(qr_version(&huge), Err(RenderError::Encode(QrError::DataTooLong))));
        assert!(matches!(render_svg(&huge), Err(RenderError::Encode(_))));
        assert!(matches!(render_png(&huge, 4), Err(RenderError::Encode(_))));
    }
}

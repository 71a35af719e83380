//! A certificate as a PDF: A4, Chinese text in an embedded (subset) CJK font, the
//! organisation's seal where it uploaded one, a QR code to the verification page, and the
//! signed payload embedded as a file, so `hourmark verify-certificate` can check a copy
//! offline. Nothing on the page is trusted by the verifier: it reads only the payload.

use std::path::Path;
use std::sync::Arc;

use data_encoding::BASE64;
use hourmark_core::certificates::{CertificateContent, SignedCertificate, hours_text};
use krilla::Document;
use krilla::color::rgb;
use krilla::embed::{AssociationKind, EmbeddedFile, MimeType};
use krilla::geom::{PathBuilder, Point, Rect, Size, Transform};
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::surface::Surface;
use krilla::text::{Font, TextDirection};

/// The name of the embedded payload file.
pub const PAYLOAD_FILE: &str = "hourmark-certificate.txt";
const PAYLOAD_START: &str = "HOURMARK-CERTIFICATE-1:";
const PAYLOAD_END: &str = ":END";

const A4_WIDTH: f32 = 595.28;
const A4_HEIGHT: f32 = 841.89;
const MARGIN: f32 = 56.0;
/// Service rows on the first page and on each following page.
const ROWS_FIRST: usize = 14;
const ROWS_NEXT: usize = 26;
const ROW_HEIGHT: f32 = 20.0;

/// What a page of the certificate needs beyond its content.
#[derive(Debug)]
pub struct Rendering<'a> {
    /// The font file's bytes (a TrueType font or collection; its first face is used).
    pub font: Arc<Vec<u8>>,
    /// The issuer's seal (PNG), if any.
    pub seal_png: Option<&'a [u8]>,
    /// The verification URL, for the QR code.
    pub verify_url: &'a str,
    /// The state shown across the page when it is not valid (`已撤销`).
    pub stamp: Option<&'a str>,
}

/// Reads the font once per path.
pub fn load_font(path: &Path) -> anyhow::Result<Arc<Vec<u8>>> {
    use std::sync::Mutex;
    static CACHE: Mutex<Option<(std::path::PathBuf, Arc<Vec<u8>>)>> = Mutex::new(None);
    let mut cache = CACHE.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((cached, bytes)) = cache.as_ref()
        && cached == path
    {
        return Ok(bytes.clone());
    }
    let bytes = Arc::new(std::fs::read(path).map_err(|e| {
        anyhow::anyhow!(
            "cannot read the certificate font {} ({e}); install fonts-wqy-microhei or set HOURMARK_CERTIFICATE_FONT",
            path.display()
        )
    })?);
    *cache = Some((path.to_path_buf(), bytes.clone()));
    Ok(bytes)
}

/// The payload file's text: a marker and the signed certificate's JSON in base64 (so no
/// byte of it can be mistaken for PDF syntax).
pub fn payload_text(signed: &SignedCertificate) -> String {
    let json = serde_json::to_string(signed).unwrap_or_default();
    format!("{PAYLOAD_START}{}{PAYLOAD_END}", BASE64.encode(json.as_bytes()))
}

/// Finds the signed payload in a PDF's bytes (stored uncompressed for this purpose).
pub fn extract_payload(pdf: &[u8]) -> Option<SignedCertificate> {
    let start = find(pdf, PAYLOAD_START.as_bytes())? + PAYLOAD_START.len();
    let end = start + find(&pdf[start..], PAYLOAD_END.as_bytes())?;
    let json = BASE64.decode(&pdf[start..end]).ok()?;
    serde_json::from_slice(&json).ok()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn black() -> Fill {
    Fill { paint: rgb::Color::new(0, 0, 0).into(), ..Fill::default() }
}

fn grey() -> Fill {
    Fill { paint: rgb::Color::new(90, 90, 90).into(), ..Fill::default() }
}

/// Roughly how wide a line of text is: CJK characters are one em, others about half.
fn text_width(text: &str, size: f32) -> f32 {
    text.chars().map(|c| if c.is_ascii() { 0.55 } else { 1.0 }).sum::<f32>() * size
}

/// Cuts text to fit a width, with an ellipsis.
fn fit(text: &str, size: f32, width: f32) -> String {
    if text_width(text, size) <= width {
        return text.to_owned();
    }
    let mut out = String::new();
    for c in text.chars() {
        if text_width(&out, size) + text_width(&format!("{c}…"), size) > width {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
}

/// Breaks text into lines of at most `width`.
fn wrap(text: &str, size: f32, width: f32) -> Vec<String> {
    let mut lines = vec![String::new()];
    for c in text.chars() {
        let line = lines.last_mut().expect("one line at least");
        if text_width(line, size) + text_width(&c.to_string(), size) > width {
            lines.push(c.to_string());
        } else {
            line.push(c);
        }
    }
    lines
}

struct Pen<'s, 'p> {
    surface: &'s mut Surface<'p>,
    font: Font,
}

impl Pen<'_, '_> {
    fn text(&mut self, x: f32, y: f32, size: f32, text: &str) {
        self.surface.draw_text(Point::from_xy(x, y), self.font.clone(), size, text, false, TextDirection::Auto);
    }

    fn centred(&mut self, y: f32, size: f32, text: &str) {
        self.text((A4_WIDTH - text_width(text, size)) / 2.0, y, size, text);
    }

    fn right(&mut self, x_right: f32, y: f32, size: f32, text: &str) {
        self.text(x_right - text_width(text, size), y, size, text);
    }

    fn line(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, width: f32) {
        let mut path = PathBuilder::new();
        path.move_to(x1, y1);
        path.line_to(x2, y2);
        let Some(path) = path.finish() else { return };
        self.surface.set_fill(None);
        self.surface.set_stroke(Some(Stroke { paint: rgb::Color::new(0, 0, 0).into(), width, ..Stroke::default() }));
        self.surface.draw_path(&path);
        self.surface.set_stroke(None);
        self.surface.set_fill(Some(black()));
    }

    /// The QR code as vector squares, `size` points wide, top left at (x, y).
    fn qr(&mut self, x: f32, y: f32, size: f32, url: &str) {
        let Ok(code) = qrcode::QrCode::with_error_correction_level(url, qrcode::EcLevel::M) else { return };
        let modules = code.width();
        let quiet = 4;
        let cell = size / (modules + 2 * quiet) as f32;
        let colors = code.to_colors();
        let mut path = PathBuilder::new();
        for (i, color) in colors.iter().enumerate() {
            if *color == qrcode::Color::Dark {
                let (row, col) = (i / modules, i % modules);
                if let Some(rect) = Rect::from_xywh(
                    x + (col + quiet) as f32 * cell,
                    y + (row + quiet) as f32 * cell,
                    cell + 0.01,
                    cell + 0.01,
                ) {
                    path.push_rect(rect);
                }
            }
        }
        if let Some(path) = path.finish() {
            self.surface.set_fill(Some(black()));
            self.surface.draw_path(&path);
        }
    }
}

fn scope_text(content: &CertificateContent) -> String {
    let scope = &content.scope;
    let mut parts = Vec::new();
    match (scope.from, scope.to) {
        (Some(f), Some(t)) => parts.push(format!("{} 至 {}", chinese_date(f), chinese_date(t))),
        (Some(f), None) => parts.push(format!("{} 起", chinese_date(f))),
        (None, Some(t)) => parts.push(format!("{} 止", chinese_date(t))),
        (None, None) => {}
    }
    if scope.organisation_id.is_some()
        && let Some(first) = content.services.first()
    {
        parts.push(format!("在{}", first.organisation_name));
    }
    if parts.is_empty() { "全部服务记录".to_owned() } else { format!("{}的服务记录", parts.join("，")) }
}

fn chinese_date(day: chrono::NaiveDate) -> String {
    use chrono::Datelike;
    format!("{}年{}月{}日", day.year(), day.month(), day.day())
}

fn stars_text(stars: u8) -> &'static str {
    match stars {
        1 => "一星志愿者",
        2 => "二星志愿者",
        3 => "三星志愿者",
        4 => "四星志愿者",
        5 => "五星志愿者",
        _ => "无",
    }
}

/// Renders a certificate. Fails only if the font cannot be used.
pub fn render(content: &CertificateContent, signed: &SignedCertificate, r: &Rendering<'_>) -> anyhow::Result<Vec<u8>> {
    let font = Font::new(r.font.clone().into(), 0)
        .ok_or_else(|| anyhow::anyhow!("the certificate font cannot be read as a TrueType font"))?;
    let mut document = Document::new();
    let title = format!("志愿服务记录证明 {}", content.number);
    document.set_metadata(
        Metadata::new()
            .title(title)
            .creator("Hourmark".to_owned())
            .keywords(vec![content.number.clone(), format!("key:{}", content.key_id)]),
    );
    let chunks: Vec<&[hourmark_core::certificates::CertificateService]> = {
        let mut chunks = Vec::new();
        let services = content.services.as_slice();
        let (first, mut rest) = services.split_at(services.len().min(ROWS_FIRST));
        chunks.push(first);
        while !rest.is_empty() {
            let (next, after) = rest.split_at(rest.len().min(ROWS_NEXT));
            chunks.push(next);
            rest = after;
        }
        chunks
    };
    let pages = chunks.len();
    let mut numbered = 0usize;
    for (page_index, rows) in chunks.iter().enumerate() {
        let settings = PageSettings::from_wh(A4_WIDTH, A4_HEIGHT).expect("A4 is a valid size");
        let mut page = document.start_page_with(settings);
        let mut surface = page.surface();
        surface.set_fill(Some(black()));
        let mut pen = Pen { surface: &mut surface, font: font.clone() };
        let right = A4_WIDTH - MARGIN;
        let mut y;
        if page_index == 0 {
            pen.centred(100.0, 26.0, "志愿服务记录证明");
            pen.right(right, 132.0, 10.5, &format!("证明编号：{}", content.number));
            y = 168.0;
            let body = format!(
                "兹证明 {}（{}：{}，志愿者编号：{}）参加志愿服务的记录如下。以下服务时长均经记录组织公示，并经民政部门确认。",
                content.volunteer_name, content.id_type, content.id_number, content.volunteer_number,
            );
            for line in wrap(&format!("    {body}"), 12.0, right - MARGIN) {
                pen.text(MARGIN, y, 12.0, &line);
                y += 20.0;
            }
            pen.text(MARGIN, y, 12.0, &format!("证明范围：{}", scope_text(content)));
            y += 26.0;
        } else {
            pen.right(right, 60.0, 10.0, &format!("证明编号：{}（续）", content.number));
            y = 90.0;
        }
        // The table of services.
        let columns = [MARGIN, MARGIN + 34.0, MARGIN + 120.0, MARGIN + 290.0, right - 70.0, right];
        let header = ["序号", "服务日期", "服务项目（活动）", "记录组织", "时长（分钟）"];
        pen.line(MARGIN, y, right, y, 0.8);
        for (i, h) in header.iter().enumerate() {
            pen.text(columns[i] + 4.0, y + 14.0, 10.5, h);
        }
        y += ROW_HEIGHT;
        pen.line(MARGIN, y, right, y, 0.5);
        for service in rows.iter() {
            numbered += 1;
            let cells = [
                numbered.to_string(),
                service.day.format("%Y-%m-%d").to_string(),
                fit(&service.activity_name, 10.5, columns[3] - columns[2] - 8.0),
                fit(&service.organisation_name, 10.5, columns[4] - columns[3] - 8.0),
            ];
            for (i, cell) in cells.iter().enumerate() {
                pen.text(columns[i] + 4.0, y + 14.0, 10.5, cell);
            }
            pen.right(right - 6.0, y + 14.0, 10.5, &service.minutes.to_string());
            y += ROW_HEIGHT;
            pen.line(MARGIN, y, right, y, 0.3);
        }
        if page_index + 1 < pages {
            pen.right(right, A4_HEIGHT - 40.0, 9.0, &format!("第 {} 页 共 {} 页（续下页）", page_index + 1, pages));
            drop(pen);
            surface.finish();
            page.finish();
            continue;
        }
        pen.line(MARGIN, y, right, y, 0.8);
        y += 24.0;
        pen.text(
            MARGIN,
            y,
            12.0,
            &format!(
                "合计：{} 天次，{} 分钟，折合 {} 小时",
                content.services.len(),
                content.total_minutes,
                hours_text(content.total_minutes)
            ),
        );
        y += 22.0;
        pen.text(MARGIN, y, 12.0, &format!("志愿者星级：{}", stars_text(content.stars)));
        y += 22.0;
        pen.text(MARGIN, y, 12.0, "特此证明。");

        // The issuer block, with the seal over it.
        let block_x = A4_WIDTH - MARGIN - 230.0;
        let block_y = (y + 60.0).max(560.0);
        // The seal goes on first, over the issuer's name and the date as a stamp would,
        // so the text stays legible through its transparent parts.
        if let Some(png) = r.seal_png
            && let Ok(image) = krilla::image::Image::from_png(png.to_vec().into(), true)
        {
            let seal = 120.0;
            pen.surface.push_transform(&Transform::from_translate(block_x + 90.0, block_y - 20.0));
            if let Some(size) = Size::from_wh(seal, seal) {
                pen.surface.draw_image(image, size);
            }
            pen.surface.pop();
        }
        let issuer_label = if content.issuer.kind == "organisation" { "出具单位" } else { "出具部门" };
        let lines = [
            format!("{issuer_label}：{}（盖章）", content.issuer.name),
            format!("经办人：{}", content.handler),
            format!("联系电话：{}", content.contact),
            format!("出具日期：{}", chinese_date(content.issued_on)),
        ];
        for (i, line) in lines.iter().enumerate() {
            pen.text(block_x, block_y + i as f32 * 22.0, 11.5, &fit(line, 11.5, 230.0));
        }
        // The QR code and how to check.
        let qr_size = 96.0;
        let qr_y = block_y - 8.0;
        pen.qr(MARGIN - 6.0, qr_y, qr_size, r.verify_url);
        pen.text(MARGIN, qr_y + qr_size + 10.0, 9.0, "扫码核验真伪");
        let footer_y = A4_HEIGHT - 70.0;
        pen.line(MARGIN, footer_y - 14.0, right, footer_y - 14.0, 0.3);
        pen.surface.set_fill(Some(grey()));
        pen.text(
            MARGIN,
            footer_y,
            8.5,
            "本证明依据《志愿服务记录与证明出具办法（试行）》出具，仅列经民政部门确认的服务时长。",
        );
        pen.text(MARGIN, footer_y + 14.0, 8.5, &format!("核验地址：{}", r.verify_url));
        pen.text(
            MARGIN,
            footer_y + 28.0,
            8.5,
            &format!(
                "本证明内容经电子签名（Ed25519，密钥 {}），可用 hourmark verify-certificate 离线核验。",
                content.key_id
            ),
        );
        if pages > 1 {
            pen.right(right, A4_HEIGHT - 26.0, 9.0, &format!("第 {pages} 页 共 {pages} 页"));
        }
        pen.surface.set_fill(Some(black()));
        drop(pen);
        if let Some(stamp) = r.stamp {
            surface.set_fill(Some(Fill { paint: rgb::Color::new(200, 0, 0).into(), ..Fill::default() }));
            surface.draw_text(
                Point::from_xy(A4_WIDTH / 2.0 - 80.0, 300.0),
                font.clone(),
                48.0,
                stamp,
                false,
                TextDirection::Auto,
            );
        }
        surface.finish();
        page.finish();
    }
    document.embed_file(EmbeddedFile {
        path: PAYLOAD_FILE.to_owned(),
        mime_type: MimeType::new("text/plain"),
        description: Some("签名的证明内容（hourmark verify-certificate 核验）".to_owned()),
        association_kind: AssociationKind::Source,
        data: payload_text(signed).into_bytes().into(),
        modification_date: None,
        compress: Some(false),
        location: None,
    });
    document.finish().map_err(|e| anyhow::anyhow!("the PDF could not be written: {e:?}"))
}

#[cfg(test)]
mod tests {
    use hourmark_core::certificates::{CertificateIssuer, CertificateScope, CertificateService};

    use super::*;

    fn content(services: usize) -> CertificateContent {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).expect("date");
        CertificateContent {
            number: "HM2026000007".into(),
            issued_on: day,
            volunteer_name: "欧阳娜娜".into(),
            id_type: "居民身份证".into(),
            id_number: "1****************X".into(),
            volunteer_number: "123456789012".into(),
            scope: CertificateScope { organisation_id: None, from: None, to: None },
            services: (0..services)
                .map(|i| CertificateService {
                    day: day + chrono::Duration::days(i as i64),
                    activity_name: "一个名字很长很长很长很长很长很长很长很长的社区养老助餐服务活动".into(),
                    organisation_name: "昆明市五华区翠湖街道社区志愿者协会".into(),
                    minutes: 90,
                })
                .collect(),
            total_minutes: 90 * services as i64,
            stars: 2,
            issuer: CertificateIssuer {
                kind: "department".into(),
                name: "昆明市五华区民政局".into(),
                reference: "530102".into(),
            },
            handler: "李四".into(),
            contact: "0871-65123456".into(),
            key_id: "1".into(),
        }
    }

    #[test]
    fn long_lists_run_onto_more_pages_and_the_payload_comes_back_out() {
        let font = Path::new("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc");
        let font = load_font(font).expect("Debian's fonts-wqy-microhei (scripts/test installs it)");
        let content = content(60);
        let signed = SignedCertificate {
            content: serde_json::to_string(&content).expect("json"),
            signature: "c2ln".into(),
            key_id: "1".into(),
        };
        let rendering =
            Rendering { font, seal_png: None, verify_url: "https://hm.example.cn/verify/HM2026000007", stamp: None };
        let pdf = render(&content, &signed, &rendering).expect("renders");
        assert!(pdf.starts_with(b"%PDF-"));
        // 14 rows on the first page, 26 on each after: 60 rows make three pages.
        let pages = pdf.windows(b"/Count 3".len()).filter(|w| *w == b"/Count 3").count();
        assert_eq!(pages, 1, "one page tree of three pages");
        assert_eq!(extract_payload(&pdf), Some(signed));
        assert_eq!(extract_payload(b"%PDF-1.7 nothing here"), None);
    }

    #[test]
    fn long_text_is_cut_or_wrapped_to_its_width() {
        assert_eq!(fit("翠湖", 10.0, 100.0), "翠湖");
        let cut = fit("一二三四五六七八九十", 10.0, 50.0);
        assert!(cut.ends_with('…') && text_width(&cut, 10.0) <= 50.0, "{cut}");
        let lines = wrap("一二三四五六七八九十", 10.0, 40.0);
        assert_eq!(lines, ["一二三四", "五六七八", "九十"]);
    }
}

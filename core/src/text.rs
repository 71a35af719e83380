//! Text that one person types and others read: names, activity details, reasons,
//! comments.
//!
//! Every such text is NFC-normalised (so "é" typed two ways is stored one way, and two
//! names that look the same compare equal) and trimmed, then refused if it holds a
//! character nobody can see or that changes how its neighbours are shown: controls (Cc),
//! format characters (Cf: U+202E RIGHT-TO-LEFT OVERRIDE and the other bidi overrides and
//! isolates, U+200B ZERO WIDTH SPACE, U+200E/200F direction marks, U+FEFF, tag characters)
//! and the line and paragraph separators (Zl, Zp). Without this, "张\u{202e}三丰" is shown
//! as "张丰三" in staff lists, on the public board and in civil-affairs exports, and one
//! name can pass for another. Multi-line fields keep `\n`, nothing else.
//!
//! The refusal is [`ErrorCode::TextInvalid`] with the field and the character's code
//! point in the detail, so the person can find what to delete; a text that is merely too
//! long or empty stays [`ErrorCode::InvalidBody`]. The trade-off: U+200D ZERO WIDTH
//! JOINER is Cf too, so emoji sequences joined by it (family, profession emoji) are
//! refused with the rest; plain emoji pass.

use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

use crate::error::{CoreError, ErrorCode};

/// Whether a text may span lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    /// A name, a title, an address: one line.
    One,
    /// A reason, a comment, a description: `\n` allowed.
    Many,
}

/// Letters and marks that draw nothing although they are not format characters: the
/// Hangul fillers (U+115F, U+1160, U+3164, U+FFA0), the blank Braille pattern (U+2800), the
/// combining grapheme joiner (U+034F) and the variation selectors. "张\u{3164}三" would
/// otherwise look exactly like "张三".
fn draws_nothing(c: char) -> bool {
    matches!(c, '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' | '\u{2800}' | '\u{034F}')
        | ('\u{FE00}'..='\u{FE0F}').contains(&c)
        | ('\u{E0100}'..='\u{E01EF}').contains(&c)
}

/// The first character that may not appear in a text shown to others, if any.
pub fn hidden_character(text: &str, lines: Lines) -> Option<char> {
    text.chars().find(|&c| {
        if c == '\n' && lines == Lines::Many {
            return false;
        }
        draws_nothing(c)
            || matches!(
                c.general_category(),
                GeneralCategory::Control
                    | GeneralCategory::Format
                    | GeneralCategory::LineSeparator
                    | GeneralCategory::ParagraphSeparator
            )
    })
}

/// NFC-normalises and trims `text`, refuses hidden characters ([`ErrorCode::TextInvalid`])
/// and then a length outside 1 to `max` characters ([`ErrorCode::InvalidBody`], with
/// `too_long` as the sentence, or the usual one when it is `None`).
pub fn clean(text: &str, max: usize, field: &str, lines: Lines) -> Result<String, CoreError> {
    clean_with(text, max, field, lines, None)
}

/// [`clean`] with the sentence a length refusal has always carried for this field.
pub fn clean_with(
    text: &str,
    max: usize,
    field: &str,
    lines: Lines,
    length_detail: Option<&str>,
) -> Result<String, CoreError> {
    let normalised: String = text.nfc().collect();
    let trimmed = normalised.trim();
    if let Some(c) = hidden_character(trimmed, lines) {
        return Err(hidden(field, c));
    }
    let len = trimmed.chars().count();
    if len == 0 || len > max {
        let detail = length_detail.map_or_else(|| format!("{field} 须为 1 至 {max} 个字符"), str::to_owned);
        return Err(CoreError::refused(ErrorCode::InvalidBody, detail));
    }
    Ok(trimmed.to_owned())
}

/// The refusal for a hidden character `c` in `field`.
pub fn hidden(field: &str, c: char) -> CoreError {
    CoreError::refused(
        ErrorCode::TextInvalid,
        format!("{field} 含有不可见字符或控制字符（U+{:04X}），请删除后重试", u32::from(c)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(r: Result<String, CoreError>) -> ErrorCode {
        r.expect_err("refused").error_code()
    }

    #[test]
    fn every_kind_of_hidden_character_is_refused_with_its_code_point() {
        let kinds = [
            '\u{202e}',  // RIGHT-TO-LEFT OVERRIDE
            '\u{202a}',  // LEFT-TO-RIGHT EMBEDDING
            '\u{200b}',  // ZERO WIDTH SPACE
            '\u{200e}',  // LEFT-TO-RIGHT MARK
            '\u{200f}',  // RIGHT-TO-LEFT MARK
            '\u{feff}',  // ZERO WIDTH NO-BREAK SPACE (BOM)
            '\u{2066}',  // LEFT-TO-RIGHT ISOLATE
            '\u{2069}',  // POP DIRECTIONAL ISOLATE
            '\u{2060}',  // WORD JOINER
            '\u{00ad}',  // SOFT HYPHEN
            '\u{e0041}', // TAG LATIN CAPITAL LETTER A
            '\u{0}',
            '\u{7}',
            '\u{85}',   // NEXT LINE (C1 control)
            '\u{2028}', // LINE SEPARATOR
            '\u{2029}', // PARAGRAPH SEPARATOR
            '\r',
            '\t',
            '\u{3164}', // HANGUL FILLER: a letter that draws nothing
            '\u{115f}', // HANGUL CHOSEONG FILLER
            '\u{ffa0}', // HALFWIDTH HANGUL FILLER
            '\u{2800}', // BRAILLE PATTERN BLANK
            '\u{034f}', // COMBINING GRAPHEME JOINER
            '\u{fe0f}', // VARIATION SELECTOR-16
        ];
        for c in kinds {
            for lines in [Lines::One, Lines::Many] {
                let err = clean(&format!("张{c}三丰"), 50, "name", lines).expect_err("refused");
                assert_eq!(err.error_code(), ErrorCode::TextInvalid, "{c:?}");
                let CoreError::Refused { detail, .. } = err else { panic!("a refusal") };
                assert!(detail.contains(&format!("U+{:04X}", u32::from(c))) && detail.contains("name"), "{detail}");
            }
        }
    }

    #[test]
    fn text_is_nfc_normalised_and_trimmed_before_it_is_measured() {
        // "é" as e + combining acute becomes one character.
        assert_eq!(clean(" Jose\u{301} ", 50, "name", Lines::One).expect("ok"), "Jos\u{e9}");
        assert_eq!(clean("Jose\u{301}", 4, "name", Lines::One).expect("fits after NFC"), "Jos\u{e9}");
        // CJK compatibility ideographs fold to their unified forms.
        assert_eq!(clean("\u{f900}", 5, "name", Lines::One).expect("ok"), "\u{8c48}");
        // Leading and trailing hidden characters are not trimmed away silently either.
        assert_eq!(code(clean("\u{200b}张三", 50, "name", Lines::One)), ErrorCode::TextInvalid);
        assert_eq!(code(clean("张三\u{feff}", 50, "name", Lines::One)), ErrorCode::TextInvalid);
    }

    #[test]
    fn newlines_only_where_lines_are_many_and_ordinary_text_passes() {
        assert_eq!(clean(" 第一行\n第二行 ", 20, "reason", Lines::Many).expect("ok"), "第一行\n第二行");
        assert_eq!(code(clean("第一行\n第二行", 20, "name", Lines::One)), ErrorCode::TextInvalid);
        for ok in ["张三丰", "Zhāng Sānfēng", "阿卜杜拉·买买提", "O'Brien-Smith", "翠湖 公园　东门", "👍 好"]
        {
            assert!(clean(ok, 50, "name", Lines::One).is_ok(), "{ok}");
        }
        assert_eq!(code(clean("   ", 50, "name", Lines::One)), ErrorCode::InvalidBody);
        assert_eq!(code(clean(&"长".repeat(51), 50, "name", Lines::One)), ErrorCode::InvalidBody);
    }
}

//! Identity document numbers: validation, normalisation, and masking for display.
//!
//! Volunteer service records in China are tied to a real person, so a volunteer
//! registers with an identity document. Most have a resident ID card (居民身份证,
//! GB 11643-1999); others use a passport, a Hong Kong/Macao or Taiwan travel permit,
//! or a foreign permanent resident ID card. This module decides whether a typed number
//! is plausible for its document type *before* anything is stored, and puts it in one
//! canonical form so that the same person typing `…002x` and `…002X` is one person.
//!
//! Why the checks are the ones they are:
//! - Resident ID numbers carry their own redundancy (a region code, a birth date and a
//!   mod-11 check character), so a typo is almost always caught here rather than by a
//!   registry that we do not have. Old 15-digit numbers are converted to 18 digits so
//!   that each person has exactly one stored form. The checks run in the order of the
//!   [`IdNumberError`] variants, so the user hears about the first thing that is wrong.
//! - The birth date and gender come from the number itself for resident IDs (the age
//!   rules for minors depend on it); for other documents they cannot be derived, and the
//!   caller collects them separately.
//! - Other documents only get format checks: their numbers carry no check we can verify,
//!   except the new 18-character foreign permanent resident card, which reuses the
//!   GB 11643 check character. Every failure of those checks is [`IdNumberError::BadFormat`].
//! - Full-width digits and letters (`１２３`, `Ｘ`), which Chinese input methods produce
//!   easily, are folded to ASCII; surrounding whitespace (including the ideographic
//!   space U+3000) is trimmed. Inner whitespace is refused in resident ID numbers and
//!   removed from the other documents' numbers.
//!
//! ID numbers are personal information under the PIPL: [`IdNumber`]'s `Debug` shows only
//! a masked form, there is no `Display`, and [`mask_phone`] and [`mask_name`] give the
//! forms that may appear on public boards and in logs.
//!
//! Everything here is pure: the caller passes "today" (in Asia/Shanghai), nothing reads
//! a clock, and no input makes any function panic.

use std::fmt;

use chrono::{Datelike, NaiveDate};
use serde::de::{Error as _, Unexpected};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

/// The kind of identity document a number belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IdType {
    /// Resident ID card (居民身份证), including the Hong Kong/Macao/Taiwan residence
    /// permits, which share its 18-character format.
    ResidentId,
    /// Passport (护照).
    Passport,
    /// Hong Kong/Macao residents' mainland travel permit (港澳居民来往内地通行证).
    HkMacaoPermit,
    /// Taiwan residents' mainland travel permit (台湾居民来往大陆通行证).
    TaiwanPermit,
    /// Foreign permanent resident ID card (外国人永久居留身份证).
    ForeignPermanentResident,
}

impl IdType {
    /// Every document type, in a stable order (for forms and exhaustive tests).
    pub const ALL: [IdType; 5] = [
        IdType::ResidentId,
        IdType::Passport,
        IdType::HkMacaoPermit,
        IdType::TaiwanPermit,
        IdType::ForeignPermanentResident,
    ];
}

crate::stored_names!(IdType {
    ResidentId => "resident_id",
    Passport => "passport",
    HkMacaoPermit => "hk_macao_permit",
    TaiwanPermit => "taiwan_permit",
    ForeignPermanentResident => "foreign_permanent_resident",
});

/// Gender as coded by GB/T 2261.1.
///
/// Serialised as its code number (`0`, `1`, `2` or `9`), not as a name, because that is
/// what Chinese government data exchanges expect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Gender {
    /// 未知的性别: not known.
    Unknown = 0,
    /// 男性: male.
    Male = 1,
    /// 女性: female.
    Female = 2,
    /// 未说明的性别: not stated.
    Unstated = 9,
}

impl Gender {
    /// The GB/T 2261.1 code.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The gender for a GB/T 2261.1 code; `None` for codes the standard does not define.
    pub fn from_code(c: u8) -> Option<Self> {
        match c {
            0 => Some(Self::Unknown),
            1 => Some(Self::Male),
            2 => Some(Self::Female),
            9 => Some(Self::Unstated),
            _ => None,
        }
    }
}

impl Serialize for Gender {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u8(self.code())
    }
}

impl<'de> Deserialize<'de> for Gender {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = u8::deserialize(deserializer)?;
        Gender::from_code(code).ok_or_else(|| {
            D::Error::invalid_value(Unexpected::Unsigned(u64::from(code)), &"a GB/T 2261.1 gender code: 0, 1, 2 or 9")
        })
    }
}

impl PartialSchema for Gender {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .enum_values(Some([0u8, 1, 2, 9]))
            .description(Some("Gender as a GB/T 2261.1 code: 0 unknown, 1 male, 2 female, 9 not stated."))
            .into()
    }
}

impl ToSchema for Gender {}

/// Why a number was refused. The variants are checked in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum IdNumberError {
    /// Nothing but whitespace was given.
    #[error("the ID number is empty")]
    Empty,
    /// A resident ID number that is neither 18 nor 15 characters long.
    #[error("a resident ID number has 18 characters (or 15 in the old format)")]
    BadLength,
    /// A resident ID number with a character other than a digit or a final `X`.
    #[error("a resident ID number has only digits, and possibly an X as its last character")]
    BadCharacters,
    /// A resident ID number whose first two digits are not a province-level region code.
    #[error("the region code of the resident ID number is not a province-level code")]
    BadRegion,
    /// A resident ID number whose birth date is not a real date, is before 1900-01-01,
    /// or is after today.
    #[error("the birth date in the resident ID number is not possible")]
    BadBirthDate,
    /// A resident ID number whose last character does not match the GB 11643 check.
    #[error("the check character of the resident ID number does not match")]
    BadCheckCharacter,
    /// A number of another document type that does not have that document's format.
    #[error("the number does not have the format of this document type")]
    BadFormat,
}

impl IdNumberError {
    /// A sentence for the user, in Chinese, saying what to fix.
    pub fn message_zh(self) -> &'static str {
        match self {
            Self::Empty => "请输入证件号码。",
            Self::BadLength => "身份证号码应为18位（旧版为15位），请检查位数。",
            Self::BadCharacters => "身份证号码只能由数字组成，最后一位可以是字母X，中间不能有空格。",
            Self::BadRegion => "身份证号码前两位的地区代码无效，请核对后重新输入。",
            Self::BadBirthDate => "身份证号码中的出生日期无效，请核对后重新输入。",
            Self::BadCheckCharacter => "身份证号码校验位不正确，可能有数字输错，请核对后重新输入。",
            Self::BadFormat => "证件号码格式不正确，请核对证件类型和号码。",
        }
    }
}

/// A validated, normalised identity document number.
///
/// It can only be made by [`IdNumber::parse`], so holding one means the number passed the
/// checks for its type. Its `Debug` output shows the type and the [masked](IdNumber::masked)
/// number only, so it can be logged without leaking the number.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdNumber {
    id_type: IdType,
    /// Normalised: ASCII, upper case, 18 characters for resident IDs.
    number: String,
    /// Derived from the number for resident IDs; `None` for other types.
    birth: Option<NaiveDate>,
}

impl IdNumber {
    /// Validates and normalises `raw` as a number of `id_type`.
    ///
    /// `today` is the current date in Asia/Shanghai, used to refuse birth dates in the
    /// future. Resident ID numbers come out with 18 characters (15-digit ones are
    /// converted) and an upper-case `X`; other numbers come out in upper case without
    /// whitespace.
    ///
    /// # Errors
    ///
    /// [`IdNumberError::Empty`] for blank input; for resident IDs, the first failing check
    /// in the order of the [`IdNumberError`] variants; for other types,
    /// [`IdNumberError::BadFormat`].
    pub fn parse(id_type: IdType, raw: &str, today: NaiveDate) -> Result<IdNumber, IdNumberError> {
        let text = raw.trim();
        if text.is_empty() {
            return Err(IdNumberError::Empty);
        }
        match id_type {
            IdType::ResidentId => parse_resident(text, today),
            other => parse_other(other, text),
        }
    }

    /// The document type.
    pub fn id_type(&self) -> IdType {
        self.id_type
    }

    /// The normalised number (18 characters for resident IDs, upper case).
    pub fn as_str(&self) -> &str {
        &self.number
    }

    /// The birth date encoded in a resident ID number; `None` for other document types.
    pub fn birth_date(&self) -> Option<NaiveDate> {
        self.birth
    }

    /// The gender encoded in a resident ID number (odd sequence → male, even → female);
    /// `None` for other document types.
    pub fn gender(&self) -> Option<Gender> {
        if self.id_type != IdType::ResidentId {
            return None;
        }
        let digit = self.number.as_bytes().get(16)?;
        if !digit.is_ascii_digit() {
            return None;
        }
        Some(if (digit - b'0') % 2 == 1 { Gender::Male } else { Gender::Female })
    }

    /// The number as anyone but its holder sees it (staff, logs): the first and last
    /// characters only, every other one `*` (`1****************X`, `E*******8`). The one
    /// masking of ID numbers: every answer that shows a masked number uses it.
    ///
    /// The birth month and gender are shown beside the number, so the mask must hide
    /// enough on its own. The common form `110105********002X` does not: the hidden eight
    /// digits are the birth date, whose month is shown, so about 31 days remain, and the
    /// mod-11 check character leaves two or three of those. Keeping only the first and
    /// last characters hides the region too: more than a million resident ID numbers fit
    /// what one answer shows (the test `a_masked_resident_id_fits_over_a_million_numbers`
    /// counts them). Other documents have no check character; the same rule leaves at
    /// least three characters hidden (36³ ≈ 46 000 for the shortest passport number).
    pub fn masked(&self) -> String {
        mask_middle(&self.number, 1, 1)
    }
}

impl fmt::Debug for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdNumber")
            .field("id_type", &self.id_type)
            .field("number", &self.masked())
            .finish_non_exhaustive()
    }
}

/// Age in whole years on `on`.
///
/// A person becomes a year older on their birthday; someone born on 29 February becomes
/// a year older on 1 March in non-leap years. Dates on or before `birth` give 0.
pub fn age_on(birth: NaiveDate, on: NaiveDate) -> u32 {
    if on <= birth {
        return 0;
    }
    let mut years = on.year() - birth.year();
    if (on.month(), on.day()) < (birth.month(), birth.day()) {
        years -= 1;
    }
    u32::try_from(years).unwrap_or(0)
}

/// Masks a phone number for display.
///
/// A mainland mobile number (11 digits starting with 1, optionally after `+86`, with
/// any spaces or hyphens dropped) keeps its first 3 and last 4 digits: `138****1234`,
/// `+86 138****1234`. Anything else keeps at most a third of its characters at each end.
pub fn mask_phone(phone: &str) -> String {
    let phone = phone.trim();
    // Spaces and hyphens are only grouping: `138 1234 1234` is a mobile number too.
    let compact: String = phone.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    if is_mainland_mobile(&compact) {
        return mask_middle(&compact, 3, 4);
    }
    if let Some(national) = compact.strip_prefix("+86").filter(|n| is_mainland_mobile(n)) {
        return format!("+86 {}", mask_middle(national, 3, 4));
    }
    let keep = phone.chars().count() / 3;
    mask_middle(phone, keep, keep)
}

/// Masks a person's name for public boards.
///
/// One character becomes `*`; two keep the first (`张三` → `张*`); longer names keep the
/// first and last (`张三丰` → `张*丰`, `欧阳娜娜` → `欧**娜`). Surrounding whitespace is
/// trimmed; an empty name stays empty.
pub fn mask_name(name: &str) -> String {
    let chars: Vec<char> = name.trim().chars().collect();
    match chars.as_slice() {
        [] => String::new(),
        [_] => "*".to_owned(),
        [first, _] => format!("{first}*"),
        [first, middle @ .., last] => {
            let mut out = String::with_capacity(name.len());
            out.push(*first);
            out.extend(std::iter::repeat_n('*', middle.len()));
            out.push(*last);
            out
        }
    }
}

/// GB 11643-1999 weights for the first 17 digits.
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// GB 11643-1999 check characters, indexed by the weighted sum mod 11.
const CHECK_CHARACTERS: &[u8; 11] = b"10X98765432";

/// The check character for 17 ASCII digits (non-digits count as 0; callers check first).
pub(crate) fn check_character(digits: &[u8; 17]) -> u8 {
    let sum: u32 = digits.iter().zip(WEIGHTS).map(|(d, w)| u32::from(d.wrapping_sub(b'0') % 10) * w).sum();
    let index = usize::try_from(sum % 11).unwrap_or(0);
    CHECK_CHARACTERS.get(index).copied().unwrap_or(b'0')
}

/// Folds a full-width ASCII form (U+FF01–U+FF5E) to its ASCII character.
fn fold_full_width(c: char) -> char {
    match u32::from(c) {
        code @ 0xFF01..=0xFF5E => char::from_u32(code - 0xFF01 + 0x21).unwrap_or(c),
        _ => c,
    }
}

/// The decimal value of ASCII digits (callers check they are digits).
fn decimal(digits: &[u8]) -> u32 {
    digits.iter().fold(0, |acc, d| acc * 10 + u32::from(d.wrapping_sub(b'0') % 10))
}

/// Whether the first two digits are a province-level code of GB/T 2260 (with 71 Taiwan,
/// 81 Hong Kong, 82 Macao and 83 for the Hong Kong/Macao/Taiwan residence permits).
fn is_province_code(digits: &[u8; 17]) -> bool {
    matches!(
        decimal(&digits[..2]),
        11..=15 | 21..=23 | 31..=37 | 41..=46 | 50..=54 | 61..=65 | 71 | 81 | 82 | 83
    )
}

fn parse_resident(text: &str, today: NaiveDate) -> Result<IdNumber, IdNumberError> {
    // At most 18 characters are kept; longer input is still scanned so that a bad
    // character is reported before a bad length.
    let mut buf = [0u8; 18];
    let mut len = 0usize;
    for c in text.chars() {
        let c = fold_full_width(c).to_ascii_uppercase();
        if !(c.is_ascii_digit() || c == 'X') {
            return Err(IdNumberError::BadCharacters);
        }
        if let Some(slot) = buf.get_mut(len) {
            // ASCII, checked above.
            *slot = c as u8;
        }
        len = len.saturating_add(1);
    }

    let mut digits = [0u8; 17];
    let given_check = match len {
        18 => {
            digits.copy_from_slice(&buf[..17]);
            Some(buf[17])
        }
        15 => {
            // YYMMDD means 19YY: insert "19" before the year.
            digits[..6].copy_from_slice(&buf[..6]);
            digits[6..8].copy_from_slice(b"19");
            digits[8..].copy_from_slice(&buf[6..15]);
            None
        }
        _ => return Err(IdNumberError::BadLength),
    };
    if digits.contains(&b'X') {
        return Err(IdNumberError::BadCharacters);
    }

    if !is_province_code(&digits) {
        return Err(IdNumberError::BadRegion);
    }

    let year = i32::try_from(decimal(&digits[6..10])).unwrap_or(0);
    let birth = NaiveDate::from_ymd_opt(year, decimal(&digits[10..12]), decimal(&digits[12..14]))
        .filter(|d| d.year() >= 1900 && *d <= today)
        .ok_or(IdNumberError::BadBirthDate)?;

    let check = check_character(&digits);
    if given_check.is_some_and(|given| given != check) {
        return Err(IdNumberError::BadCheckCharacter);
    }

    let mut number = String::with_capacity(18);
    number.extend(digits.iter().map(|&d| char::from(d)));
    number.push(char::from(check));
    Ok(IdNumber { id_type: IdType::ResidentId, number, birth: Some(birth) })
}

fn parse_other(id_type: IdType, text: &str) -> Result<IdNumber, IdNumberError> {
    let number: String =
        text.chars().filter(|c| !c.is_whitespace()).map(|c| fold_full_width(c).to_ascii_uppercase()).collect();
    let bytes = number.as_bytes();
    let all_digits = |b: &[u8]| b.iter().all(u8::is_ascii_digit);

    let valid = match id_type {
        // Handled by `parse_resident`; kept total for the compiler.
        IdType::ResidentId => false,
        IdType::Passport => (5..=17).contains(&bytes.len()) && bytes.iter().all(u8::is_ascii_alphanumeric),
        IdType::HkMacaoPermit => match bytes.split_first() {
            Some((b'H' | b'M', rest)) => matches!(rest.len(), 8 | 10) && all_digits(rest),
            _ => false,
        },
        IdType::TaiwanPermit => match bytes.len() {
            8 => all_digits(bytes),
            10 => all_digits(&bytes[..9]) && bytes[9].is_ascii_alphanumeric(),
            _ => false,
        },
        IdType::ForeignPermanentResident => match bytes.len() {
            15 => bytes[..3].iter().all(u8::is_ascii_uppercase) && all_digits(&bytes[3..]),
            18 => {
                let mut digits = [0u8; 17];
                digits.copy_from_slice(&bytes[..17]);
                digits[0] == b'9' && all_digits(&digits) && check_character(&digits) == bytes[17]
            }
            _ => false,
        },
    };
    if valid { Ok(IdNumber { id_type, number, birth: None }) } else { Err(IdNumberError::BadFormat) }
}

/// Whether `s` is a mainland mobile number: 11 ASCII digits starting with 1.
fn is_mainland_mobile(s: &str) -> bool {
    s.len() == 11 && s.starts_with('1') && s.bytes().all(|b| b.is_ascii_digit())
}

/// Keeps `head` characters at the start and `tail` at the end and stars the rest; if
/// they would overlap, everything is starred.
fn mask_middle(s: &str, head: usize, tail: usize) -> String {
    let len = s.chars().count();
    if head.saturating_add(tail) >= len {
        return "*".repeat(len);
    }
    s.chars().enumerate().map(|(i, c)| if i < head || i >= len - tail { c } else { '*' }).collect()
}

#[cfg(test)]
mod tests;

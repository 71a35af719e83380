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

    /// The stored name, identical to the serialised form (`resident_id`, `passport`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ResidentId => "resident_id",
            Self::Passport => "passport",
            Self::HkMacaoPermit => "hk_macao_permit",
            Self::TaiwanPermit => "taiwan_permit",
            Self::ForeignPermanentResident => "foreign_permanent_resident",
        }
    }

    /// Parses a stored name as written by [`IdType::as_str`]; anything else is `None`.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

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
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
    }

    /// The "today" used by most tests.
    fn today() -> NaiveDate {
        date(2025, 6, 1)
    }

    fn resident(raw: &str) -> Result<IdNumber, IdNumberError> {
        IdNumber::parse(IdType::ResidentId, raw, today())
    }

    /// An independent GB 11643 check computation, to build test numbers and to verify
    /// the module's own.
    fn with_check(first17: &str) -> String {
        assert_eq!(first17.len(), 17, "{first17}");
        let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
        let sum: u32 = first17.chars().zip(weights).map(|(c, w)| c.to_digit(10).expect("digit") * w).sum();
        let check = "10X98765432".chars().nth((sum % 11) as usize).expect("index < 11");
        format!("{first17}{check}")
    }

    #[test]
    fn reference_example_is_a_woman_born_on_1949_12_31() {
        let id = resident("11010519491231002X").unwrap();
        assert_eq!(id.id_type(), IdType::ResidentId);
        assert_eq!(id.as_str(), "11010519491231002X");
        assert_eq!(id.birth_date(), Some(date(1949, 12, 31)));
        assert_eq!(id.gender(), Some(Gender::Female));
        assert_eq!(with_check("11010519491231002"), "11010519491231002X");
    }

    #[test]
    fn lower_case_x_is_normalised() {
        let id = resident("11010519491231002x").unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
        assert_eq!(id, resident("11010519491231002X").unwrap());
    }

    #[test]
    fn surrounding_whitespace_is_trimmed() {
        let id = resident(" \t11010519491231002X\n\u{3000}").unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
    }

    #[test]
    fn full_width_characters_are_folded() {
        let id = resident("１１０１０５１９４９１２３１００２ｘ").unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
    }

    #[test]
    fn computed_male_example_is_valid() {
        // 110105 + 19800101 + 001 (odd: male); weighted sum 214, 214 mod 11 = 5 → '6'.
        assert_eq!(with_check("11010519800101001"), "110105198001010016");
        let id = resident("110105198001010016").unwrap();
        assert_eq!(id.birth_date(), Some(date(1980, 1, 1)));
        assert_eq!(id.gender(), Some(Gender::Male));
        assert_eq!(resident("110105198001010017"), Err(IdNumberError::BadCheckCharacter));
    }

    #[test]
    fn empty_input_is_refused() {
        assert_eq!(resident(""), Err(IdNumberError::Empty));
        assert_eq!(resident("  \t\n\u{3000}"), Err(IdNumberError::Empty));
        for id_type in IdType::ALL {
            assert_eq!(IdNumber::parse(id_type, "   ", today()), Err(IdNumberError::Empty), "{id_type:?}");
        }
    }

    #[test]
    fn wrong_lengths_are_refused() {
        for raw in [
            "1",
            "11010519491231002",
            "1101051949123100",
            "11010549123100",
            "110105194912310021X",
            "1101051949123100211",
        ] {
            assert_eq!(resident(raw), Err(IdNumberError::BadLength), "{raw}");
        }
    }

    #[test]
    fn bad_characters_are_refused() {
        for raw in [
            "11010519491231002A",
            "1101051949 1231002X",
            "110105-19491231002X",
            "X10105194912310020",
            "1101051949123100X2",
            "11010549123100X",
            "abc",
            "一二三",
            "11010519491231002X🙂",
        ] {
            assert_eq!(resident(raw), Err(IdNumberError::BadCharacters), "{raw}");
        }
    }

    #[test]
    fn only_province_level_region_codes_are_accepted() {
        let valid = |p: u32| matches!(p, 11..=15 | 21..=23 | 31..=37 | 41..=46 | 50..=54 | 61..=65 | 71 | 81 | 82 | 83);
        for province in 0..=99u32 {
            let number = with_check(&format!("{province:02}010519491231002"));
            let result = resident(&number);
            if valid(province) {
                assert!(result.is_ok(), "{number}: {result:?}");
            } else {
                assert_eq!(result, Err(IdNumberError::BadRegion), "{number}");
            }
        }
        assert_eq!(resident("99010519491231002X"), Err(IdNumberError::BadRegion));
    }

    #[test]
    fn residence_permits_are_accepted() {
        for region in ["830000", "810000", "820000"] {
            let number = with_check(&format!("{region}19950101001"));
            let id = resident(&number).unwrap();
            assert_eq!(id.birth_date(), Some(date(1995, 1, 1)));
            assert_eq!(id.gender(), Some(Gender::Male));
        }
    }

    #[test]
    fn impossible_birth_dates_are_refused() {
        for first17 in [
            "11010519491331002", // month 13
            "11010519490001002", // month 0
            "11010519490230002", // 30 February
            "11010519490100002", // day 0
            "11010519490431002", // 31 April
            "11010500000101002", // year 0
        ] {
            assert_eq!(resident(&with_check(first17)), Err(IdNumberError::BadBirthDate), "{first17}");
        }
    }

    #[test]
    fn birth_dates_before_1900_are_refused() {
        assert_eq!(resident(&with_check("11010518991231002")), Err(IdNumberError::BadBirthDate));
        let id = resident(&with_check("11010519000101002")).unwrap();
        assert_eq!(id.birth_date(), Some(date(1900, 1, 1)));
    }

    #[test]
    fn birth_date_today_is_valid_and_tomorrow_is_not() {
        let id = resident(&with_check("11010520250601002")).unwrap();
        assert_eq!(id.birth_date(), Some(today()));
        assert_eq!(resident(&with_check("11010520250602002")), Err(IdNumberError::BadBirthDate));
        assert_eq!(resident(&with_check("11010520260101002")), Err(IdNumberError::BadBirthDate));
    }

    #[test]
    fn february_29_is_valid_only_in_leap_years() {
        // 2000 is a leap year (divisible by 400); 2001 is not; 1900 is not (by 100).
        assert_eq!(with_check("44030620000229002"), "440306200002290025");
        let id = resident("440306200002290025").unwrap();
        assert_eq!(id.birth_date(), Some(date(2000, 2, 29)));
        assert_eq!(id.gender(), Some(Gender::Female));
        assert!(resident(&with_check("31011520040229123")).is_ok());
        assert_eq!(resident(&with_check("44030620010229002")), Err(IdNumberError::BadBirthDate));
        assert_eq!(resident(&with_check("44030619000229002")), Err(IdNumberError::BadBirthDate));
    }

    #[test]
    fn wrong_check_character_is_refused() {
        for raw in ["110105194912310021", "110105194912310020", "110105198001010010", "11010519800101001X"] {
            assert_eq!(resident(raw), Err(IdNumberError::BadCheckCharacter), "{raw}");
        }
        // A single mistyped digit is caught.
        assert_eq!(resident("11010519491231003X"), Err(IdNumberError::BadCheckCharacter));
        // Two swapped digits are caught.
        assert_eq!(resident("11010519491231020X"), Err(IdNumberError::BadCheckCharacter));
    }

    #[test]
    fn fifteen_digit_numbers_are_converted() {
        // 110105 49 1231 002 → 110105 19 49 1231 002 + check.
        let id = resident("110105491231002").unwrap();
        assert_eq!(id.as_str(), with_check("11010519491231002"));
        assert_eq!(id.as_str(), "11010519491231002X");
        assert_eq!(id.birth_date(), Some(date(1949, 12, 31)));
        assert_eq!(id.gender(), Some(Gender::Female));

        let male = resident(" 110105800101001 ").unwrap();
        assert_eq!(male.as_str(), "110105198001010016");
        assert_eq!(male.gender(), Some(Gender::Male));

        assert_eq!(resident("990105491231002"), Err(IdNumberError::BadRegion));
        assert_eq!(resident("110105490229002"), Err(IdNumberError::BadBirthDate));
        assert_eq!(resident("110105491331002"), Err(IdNumberError::BadBirthDate));
        assert!(resident("110105000229002").is_err(), "1900 is not a leap year");
    }

    #[test]
    fn checks_run_in_variant_order() {
        // Bad region, date and check together: the region is reported.
        assert_eq!(resident("990105194913310021"), Err(IdNumberError::BadRegion));
        // Bad date and check: the date is reported.
        assert_eq!(resident("110105194913310021"), Err(IdNumberError::BadBirthDate));
    }

    #[test]
    fn passports() {
        let parse = |raw| IdNumber::parse(IdType::Passport, raw, today());
        let id = parse(" e1234 5678 ").unwrap();
        assert_eq!(id.as_str(), "E12345678");
        assert_eq!(id.id_type(), IdType::Passport);
        assert_eq!(id.birth_date(), None);
        assert_eq!(id.gender(), None);
        assert_eq!(parse("AB123").unwrap().as_str(), "AB123");
        assert_eq!(parse("ab1234567890123cd").unwrap().as_str(), "AB1234567890123CD");
        assert_eq!(parse("Ｇ１２３４５６７８").unwrap().as_str(), "G12345678");
        for raw in ["AB12", "AB1234567890123CDE", "E1234-5678", "E1234567É", "护照123456"] {
            assert_eq!(parse(raw), Err(IdNumberError::BadFormat), "{raw}");
        }
    }

    #[test]
    fn hong_kong_and_macao_permits() {
        let parse = |raw| IdNumber::parse(IdType::HkMacaoPermit, raw, today());
        assert_eq!(parse("H12345678").unwrap().as_str(), "H12345678");
        assert_eq!(parse("m1234567890").unwrap().as_str(), "M1234567890");
        assert_eq!(parse("H 1234 5678").unwrap().as_str(), "H12345678");
        assert_eq!(parse("H12345678").unwrap().gender(), None);
        for raw in ["12345678", "X12345678", "H1234567", "H123456789", "H123456789012", "H1234567A", "HM12345678"] {
            assert_eq!(parse(raw), Err(IdNumberError::BadFormat), "{raw}");
        }
    }

    #[test]
    fn taiwan_permits() {
        let parse = |raw| IdNumber::parse(IdType::TaiwanPermit, raw, today());
        assert_eq!(parse("12345678").unwrap().as_str(), "12345678");
        assert_eq!(parse("1234567890").unwrap().as_str(), "1234567890");
        assert_eq!(parse("123456789b").unwrap().as_str(), "123456789B");
        for raw in ["1234567", "123456789", "12345678901", "A234567890", "1234567A", "12345678AB", "T1234567"] {
            assert_eq!(parse(raw), Err(IdNumberError::BadFormat), "{raw}");
        }
    }

    #[test]
    fn foreign_permanent_resident_cards() {
        let parse = |raw| IdNumber::parse(IdType::ForeignPermanentResident, raw, today());
        // Old format: three letters and twelve digits.
        assert_eq!(parse("usa110090110001").unwrap().as_str(), "USA110090110001");
        // New format: starts with 9, GB 11643 check character.
        let new = with_check("91101520231231000");
        assert_eq!(new, "911015202312310004");
        let id = parse(&new).unwrap();
        assert_eq!(id.as_str(), new);
        assert_eq!(id.birth_date(), None, "not derivable for foreign cards");
        assert_eq!(id.gender(), None);
        for raw in [
            "US1110090110001",    // two letters
            "USA11009011000",     // too short
            "USA1100901100012",   // too long
            "911015202312310005", // wrong check character
            "11010519491231002X", // a resident ID, not starting with 9
            "9110152023123100A4", // letter inside
            "91101520231231000",  // 17 characters
        ] {
            assert_eq!(parse(raw), Err(IdNumberError::BadFormat), "{raw}");
        }
    }

    #[test]
    fn masked_hides_the_middle() {
        assert_eq!(resident("11010519491231002X").unwrap().masked(), "1****************X");
        assert_eq!(resident("110105491231002").unwrap().masked(), "1****************X");
        let other = |id_type, raw| IdNumber::parse(id_type, raw, today()).unwrap().masked();
        assert_eq!(other(IdType::Passport, "E12345678"), "E*******8");
        assert_eq!(other(IdType::Passport, "AB123"), "A***3");
        assert_eq!(other(IdType::Passport, "AB1234"), "A****4");
        assert_eq!(other(IdType::Passport, "AB12345"), "A*****5");
        assert_eq!(other(IdType::TaiwanPermit, "12345678"), "1******8");
        assert_eq!(other(IdType::HkMacaoPermit, "M1234567890"), "M*********0");
        assert_eq!(other(IdType::ForeignPermanentResident, "USA110090110001"), "U*************1");
        assert_eq!(other(IdType::ForeignPermanentResident, "911015202312310004"), "9****************4");
    }

    /// How many resident ID numbers [`IdNumber::parse`] accepts that fit what a staff
    /// member is shown of a volunteer: the masked number (`*` hides a character), the
    /// birth month and the gender. Counted exactly: each part of the number (region,
    /// birth date, sequence) is enumerated on its own into a histogram of its weighted sum
    /// mod 11, and the parts are combined by the check character.
    fn numbers_fitting(masked: &str, year: i32, month: u32, gender: Gender) -> u64 {
        let shown: Vec<Option<u8>> = masked.bytes().map(|b| (b != b'*').then_some(b)).collect();
        assert_eq!(shown.len(), 18);
        let fits =
            |at: usize, digits: &[u8]| digits.iter().enumerate().all(|(i, d)| shown[at + i].is_none_or(|s| s == *d));
        let weigh = |at: usize, digits: &[u8]| -> usize {
            let sum: u32 = digits.iter().enumerate().map(|(i, d)| u32::from(d - b'0') * WEIGHTS[at + i]).sum();
            (sum % 11) as usize
        };
        let mut regions = [0u64; 11];
        for code in 0..1_000_000u32 {
            let digits = format!("{code:06}").into_bytes();
            let mut probe = [b'0'; 17];
            probe[..6].copy_from_slice(&digits);
            if fits(0, &digits) && is_province_code(&probe) {
                regions[weigh(0, &digits)] += 1;
            }
        }
        let mut births = [0u64; 11];
        let mut day = NaiveDate::from_ymd_opt(year, month, 1).expect("a month");
        while day.month() == month && day <= today() {
            let digits = day.format("%Y%m%d").to_string().into_bytes();
            if fits(6, &digits) {
                births[weigh(6, &digits)] += 1;
            }
            day = day.succ_opt().expect("a next day");
        }
        let mut sequences = [0u64; 11];
        for n in 0..1000u32 {
            let digits = format!("{n:03}").into_bytes();
            let male = (digits[2] - b'0') % 2 == 1;
            if fits(14, &digits) && male == (gender == Gender::Male) {
                sequences[weigh(14, &digits)] += 1;
            }
        }
        let mut count = 0;
        for (r, nr) in regions.iter().enumerate() {
            for (b, nb) in births.iter().enumerate() {
                for (s, ns) in sequences.iter().enumerate() {
                    let check = CHECK_CHARACTERS[(r + b + s) % 11];
                    if shown[17].is_none_or(|c| c == check) {
                        count += nr * nb * ns;
                    }
                }
            }
        }
        count
    }

    #[test]
    fn a_masked_resident_id_fits_over_a_million_numbers() {
        // The example: 530102********0015, shown with birth month 1980-01, male.
        let id = resident("530102198001280015").unwrap();
        assert_eq!((id.gender(), id.birth_date().map(|d| d.month())), (Some(Gender::Male), Some(1)));
        // The old form left two candidates: the audited reveal was a formality.
        let old = numbers_fitting("530102********0015", 1980, 1, Gender::Male);
        assert!((1..=3).contains(&old), "{old}");
        // The count is right: the same answer by trying every birth day and sequence number.
        let tried = (1..=31).filter(|day| resident(&format!("530102198001{day:02}0015")).is_ok()).count();
        assert_eq!(u64::try_from(tried).unwrap(), old);
        // What is shown now fits more than a million numbers: region, day and sequence
        // are all hidden.
        let now = numbers_fitting(&id.masked(), 1980, 1, Gender::Male);
        assert!(now > 1_000_000, "{now}");
        // And so for every resident ID, whatever its province, month and check character.
        for raw in ["11010519491231002X", "650102200002290028", "810000199912310012"] {
            let id = resident(raw).unwrap();
            let birth = id.birth_date().unwrap();
            let n = numbers_fitting(&id.masked(), birth.year(), birth.month(), id.gender().unwrap());
            assert!(n > 100_000, "{raw}: {n}");
        }
    }

    #[test]
    fn masked_never_reveals_more_than_half_of_short_numbers() {
        for len in 5..=17 {
            let raw: String = "ABCDEFGHIJKLMNOPQ".chars().take(len).collect();
            let masked = IdNumber::parse(IdType::Passport, &raw, today()).unwrap().masked();
            assert_eq!(masked.chars().count(), len);
            let shown = masked.chars().filter(|&c| c != '*').count();
            assert!(shown * 2 <= len, "{masked}");
        }
    }

    #[test]
    fn debug_does_not_show_the_number() {
        let id = resident("11010519491231002X").unwrap();
        let debug = format!("{id:?}");
        assert!(!debug.contains("11010519491231002X"), "{debug}");
        assert!(!debug.contains("19491231"), "{debug}");
        assert!(debug.contains("1****************X"), "{debug}");
        assert!(debug.contains("ResidentId"), "{debug}");
        let pretty = format!("{:#?}", IdNumber::parse(IdType::Passport, "E12345678", today()).unwrap());
        assert!(!pretty.contains("E12345678"), "{pretty}");
    }

    #[test]
    fn age_on_birthday_boundaries() {
        let birth = date(2011, 6, 14);
        assert_eq!(age_on(birth, date(2025, 6, 13)), 13);
        assert_eq!(age_on(birth, date(2025, 6, 14)), 14);
        assert_eq!(age_on(birth, date(2025, 12, 31)), 14);
        assert_eq!(age_on(birth, date(2026, 6, 13)), 14);
        assert_eq!(age_on(birth, birth), 0);
        assert_eq!(age_on(birth, date(2000, 1, 1)), 0, "before birth");
        assert_eq!(age_on(date(2011, 12, 31), date(2012, 1, 1)), 0);
    }

    #[test]
    fn age_on_february_29_birthday() {
        let birth = date(2008, 2, 29);
        assert_eq!(age_on(birth, date(2022, 2, 28)), 13, "non-leap year: not yet on 28 Feb");
        assert_eq!(age_on(birth, date(2022, 3, 1)), 14, "non-leap year: on 1 Mar");
        assert_eq!(age_on(birth, date(2024, 2, 28)), 15, "leap year: not yet on 28 Feb");
        assert_eq!(age_on(birth, date(2024, 2, 29)), 16, "leap year: on 29 Feb");
    }

    #[test]
    fn age_on_extreme_dates_does_not_panic() {
        assert_eq!(age_on(NaiveDate::MIN, NaiveDate::MIN), 0);
        assert_eq!(age_on(NaiveDate::MAX, NaiveDate::MIN), 0);
        assert!(age_on(NaiveDate::MIN, NaiveDate::MAX) > 0);
    }

    #[test]
    fn mask_phone_cases() {
        assert_eq!(mask_phone("13812341234"), "138****1234");
        assert_eq!(mask_phone(" 13812341234\n"), "138****1234");
        assert_eq!(mask_phone("+8613812341234"), "+86 138****1234");
        assert_eq!(mask_phone("+86 138 1234 1234"), "+86 138****1234");
        assert_eq!(mask_phone("138-1234-1234"), "138****1234");
        assert_eq!(mask_phone("010-12345678"), "010-****5678");
        assert_eq!(mask_phone("23812341234"), "238*****234", "not a mobile number: thirds");
        assert_eq!(mask_phone("12345"), "1***5");
        assert_eq!(mask_phone("12"), "**");
        assert_eq!(mask_phone(""), "");
        assert_eq!(mask_phone("电话号码不详"), "电话**不详");
    }

    #[test]
    fn mask_phone_never_keeps_more_than_a_third_at_each_end() {
        for len in 0..=30 {
            let phone: String = "9".repeat(len);
            let masked = mask_phone(&phone);
            assert_eq!(masked.chars().count(), len);
            let shown = masked.chars().filter(|&c| c != '*').count();
            assert!(shown <= 2 * (len / 3), "{masked}");
        }
    }

    #[test]
    fn mask_name_cases() {
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name("张三丰"), "张*丰");
        assert_eq!(mask_name("欧阳娜娜"), "欧**娜");
        assert_eq!(mask_name("李"), "*");
        assert_eq!(mask_name(" 王五 "), "王*");
        assert_eq!(mask_name("阿依古丽·买买提"), "阿******提");
        assert_eq!(mask_name(""), "");
        assert_eq!(mask_name("   "), "");
    }

    #[test]
    fn gender_serialises_as_its_code() {
        assert_eq!(serde_json::to_string(&Gender::Unknown).unwrap(), "0");
        assert_eq!(serde_json::to_string(&Gender::Male).unwrap(), "1");
        assert_eq!(serde_json::to_string(&Gender::Female).unwrap(), "2");
        assert_eq!(serde_json::to_string(&Gender::Unstated).unwrap(), "9");
        assert_eq!(serde_json::from_str::<Gender>("1").unwrap(), Gender::Male);
        assert_eq!(serde_json::from_str::<Gender>("2").unwrap(), Gender::Female);
        assert_eq!(serde_json::from_str::<Vec<Gender>>("[0,9]").unwrap(), vec![Gender::Unknown, Gender::Unstated]);
        for bad in ["3", "-1", "256", "\"male\"", "\"1\"", "1.5", "null"] {
            assert!(serde_json::from_str::<Gender>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn gender_codes_round_trip() {
        for gender in [Gender::Unknown, Gender::Male, Gender::Female, Gender::Unstated] {
            assert_eq!(Gender::from_code(gender.code()), Some(gender));
        }
        assert_eq!(Gender::Male.code(), 1);
        assert_eq!(Gender::Female.code(), 2);
        for code in [3, 4, 8, 10, 255] {
            assert_eq!(Gender::from_code(code), None);
        }
    }

    #[test]
    fn gender_schema_is_an_integer_enum() {
        let schema = serde_json::to_value(<Gender as PartialSchema>::schema()).unwrap();
        assert_eq!(schema["type"], "integer", "{schema}");
        assert_eq!(schema["enum"], serde_json::json!([0, 1, 2, 9]), "{schema}");
        assert_eq!(<Gender as ToSchema>::name(), "Gender");
    }

    #[test]
    fn id_type_names_round_trip_and_match_serde() {
        for id_type in IdType::ALL {
            assert_eq!(IdType::parse(id_type.as_str()), Some(id_type));
            assert_eq!(serde_json::to_string(&id_type).unwrap(), format!("\"{}\"", id_type.as_str()));
            assert_eq!(serde_json::from_str::<IdType>(&format!("\"{}\"", id_type.as_str())).unwrap(), id_type);
        }
        assert_eq!(IdType::HkMacaoPermit.as_str(), "hk_macao_permit");
        assert_eq!(IdType::parse("ResidentId"), None);
        assert_eq!(IdType::parse(""), None);
    }

    #[test]
    fn every_error_has_a_chinese_message() {
        let all = [
            IdNumberError::Empty,
            IdNumberError::BadLength,
            IdNumberError::BadCharacters,
            IdNumberError::BadRegion,
            IdNumberError::BadBirthDate,
            IdNumberError::BadCheckCharacter,
            IdNumberError::BadFormat,
        ];
        for error in all {
            let message = error.message_zh();
            assert!(message.ends_with('。'), "{error:?}: {message}");
            assert!(message.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "{error:?}");
            assert!(!error.to_string().is_empty());
        }
        let unique: std::collections::HashSet<_> = all.iter().map(|e| e.message_zh()).collect();
        assert_eq!(unique.len(), all.len());
    }

    #[test]
    fn odd_input_never_panics() {
        let long = "1".repeat(10_000);
        let inputs = [
            "",
            " ",
            "X",
            "x",
            "\u{0}",
            "🙂🙂🙂🙂🙂🙂🙂🙂🙂🙂🙂🙂🙂🙂🙂🙂🙂🙂",
            "é".repeat(18).as_str(),
            "1\u{301}1010519491231002X",
            "ＸＸＸＸＸＸＸＸＸＸＸＸＸＸＸＸＸＸ",
            "XXXXXXXXXXXXXXXXXX",
            "999999999999999999",
            "000000000000000000",
            "99999999999999999X",
            "H",
            "9",
            "９",
            "\u{FF5E}\u{FF01}",
            long.as_str(),
        ]
        .map(str::to_owned);
        for raw in &inputs {
            for id_type in IdType::ALL {
                for today in [today(), NaiveDate::MIN, NaiveDate::MAX] {
                    if let Ok(id) = IdNumber::parse(id_type, raw, today) {
                        let _ = (id.masked(), id.gender(), id.birth_date(), format!("{id:?}"));
                    }
                }
            }
            let _ = (mask_phone(raw), mask_name(raw));
        }
        assert_eq!(resident(&long), Err(IdNumberError::BadLength));
    }
}

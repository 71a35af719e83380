//! ID numbers as people type them: every check, conversion and mask, one behaviour per test.

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
    for raw in
        ["1", "11010519491231002", "1101051949123100", "11010549123100", "110105194912310021X", "1101051949123100211"]
    {
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
    let fits = |at: usize, digits: &[u8]| digits.iter().enumerate().all(|(i, d)| shown[at + i].is_none_or(|s| s == *d));
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

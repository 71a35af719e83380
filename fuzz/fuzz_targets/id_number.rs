//! Identity document numbers as people type them.
//!
//! Properties beyond "no panic":
//! - a parsed number's normalised form parses to the same number (one stored form per
//!   person), and a resident ID's is 18 ASCII characters with a birth date not after
//!   "today" and a gender;
//! - the mask keeps the number's length and shows only its first and last characters;
//! - for 17 digits, at most one check character makes a valid resident ID number;
//! - phone and name masks never panic and keep a name's length.
#![no_main]

use chrono::NaiveDate;
use hourmark_core::identity::id_number::{IdNumber, IdNumberError, IdType, mask_name, mask_phone};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [kind, day, rest @ ..] = data else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let id_type = IdType::ALL[usize::from(*kind) % IdType::ALL.len()];
    // "Today" moves across a few years, so the future-birth-date check is exercised too.
    let today = NaiveDate::from_ymd_opt(1990, 1, 1).expect("date") + chrono::Days::new(u64::from(*day) * 200);

    match IdNumber::parse(id_type, text, today) {
        Ok(id) => {
            let again = IdNumber::parse(id_type, id.as_str(), today).expect("the normalised form parses");
            assert_eq!(again, id, "normalising is idempotent");
            assert!(id.as_str().is_ascii());
            assert_eq!(id.as_str(), id.as_str().to_ascii_uppercase());
            let masked = id.masked();
            assert_eq!(masked.chars().count(), id.as_str().chars().count());
            assert!(masked.chars().skip(1).take(id.as_str().len().saturating_sub(2)).all(|c| c == '*'));
            if id_type == IdType::ResidentId {
                assert_eq!(id.as_str().len(), 18);
                assert!(id.birth_date().is_some_and(|b| b <= today));
                assert!(id.gender().is_some());
            } else {
                assert_eq!(id.birth_date(), None);
                assert_eq!(id.gender(), None);
            }
        }
        Err(IdNumberError::BadCheckCharacter) => {
            // Exactly one check character fits the first 17 digits.
            let trimmed = text.trim();
            let prefix: String = trimmed.chars().take(17).collect();
            let fits = "0123456789X"
                .chars()
                .filter(|c| IdNumber::parse(IdType::ResidentId, &format!("{prefix}{c}"), today).is_ok())
                .count();
            assert_eq!(fits, 1, "{fits} check characters fit");
        }
        Err(_) => {}
    }

    let _ = mask_phone(text);
    let name = mask_name(text);
    assert_eq!(name.chars().count(), text.trim().chars().count());
});

//! Calendar data: a national year arrangement as an administrator posts it
//! (`POST /api/v1/calendar/years`), validated and then asked about.
//!
//! Input: two bytes choose the day asked about (2014–2031), one the number of working
//! days to count (0..=MAX_WORKING_DAYS, as a publicity rule allows), the rest is the JSON.
//!
//! Properties beyond "no panic":
//! - an arrangement that validates survives a JSON round trip unchanged;
//! - on a calendar with it added, its days off are days off and its make-up days working
//!   days (or unknown for want of a neighbouring year's notice, never the opposite), and
//!   `describe` agrees with `is_working_day`;
//! - counting working days gives exactly `n` days, in order, all working, skipping none.
#![no_main]

use chrono::{Days, NaiveDate};
use hourmark_core::calendar::{Calendar, YearArrangement};
use hourmark_core::publicity::MAX_WORKING_DAYS;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [d0, d1, n, json @ ..] = data else { return };
    let start = NaiveDate::from_ymd_opt(2014, 1, 1).expect("date")
        + Days::new(u64::from(u16::from_be_bytes([*d0, *d1])) % (18 * 366));
    let n = u32::from(*n) % (MAX_WORKING_DAYS + 1);

    let Ok(year) = serde_json::from_slice::<YearArrangement>(json) else { return };
    let added = match year.validate() {
        Ok(()) => {
            let text = serde_json::to_string(&year).expect("serialises");
            assert_eq!(serde_json::from_str::<YearArrangement>(&text).expect("parses back"), year);
            vec![year]
        }
        Err(_) => vec![],
    };
    let calendar = Calendar::national(&added);

    for y in &added {
        for (days, working) in y.holidays.iter().map(|h| (h, false)).chain(y.workdays.iter().map(|w| (w, true))) {
            for day in &days.days {
                match calendar.is_working_day(*day) {
                    Ok(w) => assert_eq!(w, working, "{day} is marked {working} but reads {w}"),
                    Err(_) => assert_eq!(calendar.describe(*day).working, None),
                }
            }
        }
    }

    assert_eq!(calendar.describe(start).working, calendar.is_working_day(start).ok());
    if let Ok(found) = calendar.working_days_after(start, n) {
        assert_eq!(found.len(), n as usize);
        let mut day = start;
        for want in &found {
            day = day.succ_opt().expect("in range");
            while day < *want {
                assert_eq!(calendar.is_working_day(day), Ok(false), "{day} was skipped");
                day = day.succ_opt().expect("in range");
            }
            assert_eq!(day, *want);
            assert_eq!(calendar.is_working_day(day), Ok(true));
        }
        assert_eq!(calendar.nth_working_day_after(start, n), Ok(found.last().copied().unwrap_or(start)));
    }
});

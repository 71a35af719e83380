//! The calendar against each year's State Council notice.

use super::*;

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
}

fn national() -> Calendar {
    Calendar::national(&[])
}

/// A year's check: Spring Festival off (from, to), its make-up days, National Day off, its
/// make-up days.
type NoticeCheck =
    (i32, (&'static str, &'static str), &'static [&'static str], (&'static str, &'static str), &'static [&'static str]);

/// Each year: a Spring Festival range off, the National Day range off, and their make-up
/// working days, as the notices state them.
#[test]
fn every_year_matches_its_notice() {
    // (year, spring festival off, spring make-up days, national day off, national make-up days)
    let notices: &[NoticeCheck] = &[
        (
            2015,
            ("2015-02-18", "2015-02-24"),
            &["2015-02-15", "2015-02-28"],
            ("2015-10-01", "2015-10-07"),
            &["2015-10-10"],
        ),
        (
            2016,
            ("2016-02-07", "2016-02-13"),
            &["2016-02-06", "2016-02-14"],
            ("2016-10-01", "2016-10-07"),
            &["2016-10-08", "2016-10-09"],
        ),
        (
            2017,
            ("2017-01-27", "2017-02-02"),
            &["2017-01-22", "2017-02-04"],
            ("2017-10-01", "2017-10-08"),
            &["2017-09-30"],
        ),
        (
            2018,
            ("2018-02-15", "2018-02-21"),
            &["2018-02-11", "2018-02-24"],
            ("2018-10-01", "2018-10-07"),
            &["2018-09-29", "2018-09-30"],
        ),
        (
            2019,
            ("2019-02-04", "2019-02-10"),
            &["2019-02-02", "2019-02-03"],
            ("2019-10-01", "2019-10-07"),
            &["2019-09-29", "2019-10-12"],
        ),
        (
            2020,
            ("2020-01-24", "2020-02-02"),
            &["2020-01-19"],
            ("2020-10-01", "2020-10-08"),
            &["2020-09-27", "2020-10-10"],
        ),
        (
            2021,
            ("2021-02-11", "2021-02-17"),
            &["2021-02-07", "2021-02-20"],
            ("2021-10-01", "2021-10-07"),
            &["2021-09-26", "2021-10-09"],
        ),
        (
            2022,
            ("2022-01-31", "2022-02-06"),
            &["2022-01-29", "2022-01-30"],
            ("2022-10-01", "2022-10-07"),
            &["2022-10-08", "2022-10-09"],
        ),
        (
            2023,
            ("2023-01-21", "2023-01-27"),
            &["2023-01-28", "2023-01-29"],
            ("2023-09-29", "2023-10-06"),
            &["2023-10-07", "2023-10-08"],
        ),
        (
            2024,
            ("2024-02-10", "2024-02-17"),
            &["2024-02-04", "2024-02-18"],
            ("2024-10-01", "2024-10-07"),
            &["2024-09-29", "2024-10-12"],
        ),
        (
            2025,
            ("2025-01-28", "2025-02-04"),
            &["2025-01-26", "2025-02-08"],
            ("2025-10-01", "2025-10-08"),
            &["2025-09-28", "2025-10-11"],
        ),
        (
            2026,
            ("2026-02-15", "2026-02-23"),
            &["2026-02-14", "2026-02-28"],
            ("2026-10-01", "2026-10-07"),
            &["2026-09-20", "2026-10-10"],
        ),
    ];
    let calendar = national();
    for (year, spring, spring_work, national_day, national_work) in notices {
        assert!(calendar.years().contains_key(year), "{year} has data");
        for (from, to) in [spring, national_day] {
            let mut day = d(from);
            while day <= d(to) {
                assert_eq!(calendar.is_working_day(day), Ok(false), "{day} is off ({year})");
                day = day.succ_opt().expect("next");
            }
            // The days either side of a festival are working days unless made so otherwise.
            let before = d(from).pred_opt().expect("before");
            if !is_weekend(before) {
                assert_eq!(calendar.is_working_day(before), Ok(true), "{before} is a working day ({year})");
            }
        }
        for day in spring_work.iter().chain(national_work.iter()) {
            assert!(is_weekend(d(day)), "{day} is a weekend day made a working day");
            assert_eq!(calendar.is_working_day(d(day)), Ok(true), "{day} is a make-up working day ({year})");
        }
    }
}

#[test]
fn ordinary_days_follow_the_week() {
    let calendar = national();
    assert_eq!(calendar.is_working_day(d("2025-03-12")), Ok(true), "a Wednesday");
    assert_eq!(calendar.is_working_day(d("2025-03-15")), Ok(false), "a Saturday");
    assert_eq!(calendar.is_working_day(d("2025-03-16")), Ok(false), "a Sunday");
    // 2019: 劳动节 was extended by a later notice, with working Sundays either side.
    assert_eq!(calendar.is_working_day(d("2019-05-02")), Ok(false));
    assert_eq!(calendar.is_working_day(d("2019-04-28")), Ok(true));
    // The 2019 notice made Saturday 2018-12-29 a working day.
    assert_eq!(calendar.is_working_day(d("2018-12-29")), Ok(true));
}

#[test]
fn publicity_ends_on_the_third_full_working_day() {
    let calendar = national();
    // The example: published 30 September 2025 → 9, 10 and 11 October (a make-up
    // Saturday) → recorded from 12 October.
    assert_eq!(calendar.nth_working_day_after(d("2025-09-30"), 3), Ok(d("2025-10-11")));
    // Published on a Friday: the next Monday to Wednesday.
    assert_eq!(calendar.nth_working_day_after(d("2025-03-14"), 3), Ok(d("2025-03-19")));
    // Over the Spring Festival of 2026 (15–23 February off, Saturday 28th working).
    assert_eq!(calendar.nth_working_day_after(d("2026-02-13"), 3), Ok(d("2026-02-25")));
    assert_eq!(calendar.nth_working_day_after(d("2026-02-13"), 1), Ok(d("2026-02-14")), "a make-up Saturday counts");
}

#[test]
fn a_year_without_data_is_a_gap_never_plain_weekdays() {
    let calendar = national();
    assert_eq!(calendar.is_working_day(d("2027-03-10")), Err(CalendarGap { year: 2027 }));
    assert_eq!(calendar.is_working_day(d("2014-03-10")), Err(CalendarGap { year: 2014 }));
    // From 29 December 2026 the days wait for the 2027 notice (元旦 may move a weekend);
    // the days before it do not.
    assert_eq!(calendar.is_working_day(d("2026-12-29")), Err(CalendarGap { year: 2027 }));
    assert_eq!(calendar.is_working_day(d("2026-12-31")), Err(CalendarGap { year: 2027 }));
    assert_eq!(calendar.is_working_day(d("2026-12-28")), Ok(true));
    assert_eq!(calendar.is_working_day(d("2026-12-25")), Ok(true));
    assert_eq!(calendar.is_working_day(d("2026-12-27")), Ok(false), "a Sunday");
    // The example: 23, 24 and 25 December need nothing from 2027.
    assert_eq!(calendar.nth_working_day_after(d("2026-12-22"), 3), Ok(d("2026-12-25")));
    assert_eq!(calendar.nth_working_day_after(d("2026-12-23"), 3), Ok(d("2026-12-28")));
    assert_eq!(calendar.nth_working_day_after(d("2026-12-24"), 3), Err(CalendarGap { year: 2027 }));
    // Only the days the count needs are looked at: a gap after the last one does not matter.
    assert_eq!(
        calendar.working_days_after(d("2026-12-23"), 3),
        Ok(vec![d("2026-12-24"), d("2026-12-25"), d("2026-12-28")])
    );
}

/// The bound is exactly the earliest December day any shipped notice reached back to: a
/// year added whose 元旦 reaches further back fails here, and so does a bound moved away
/// from what the notices show.
#[test]
fn the_new_year_bound_is_the_earliest_day_any_notice_reached() {
    let mut reached = Vec::new();
    for text in NATIONAL {
        let year: YearArrangement = serde_json::from_str(text).expect("parses");
        let days = year.holidays.iter().chain(year.workdays.iter()).flat_map(|n| n.days.iter().copied());
        for day in days.filter(|day| day.year() < year.year) {
            assert_eq!(day.year(), year.year - 1, "{day} in the {} notice", year.year);
            assert_eq!(day.month(), 12, "{day} in the {} notice", year.year);
            assert!(day.day() >= NEW_YEAR_REACHES_BACK_TO, "{day} in the {} notice is before the bound", year.year);
            reached.push(day);
        }
    }
    reached.sort();
    assert_eq!(reached, vec![d("2018-12-29"), d("2018-12-30"), d("2018-12-31"), d("2022-12-31")]);
    assert_eq!(
        reached.first().map(|day| day.day()),
        Some(NEW_YEAR_REACHES_BACK_TO),
        "the bound is no wider than needed"
    );
    // The day the 2019 notice made a working day is unknown without that notice; the day
    // before it never needed one.
    let without_2019 =
        Calendar { years: national().years.into_iter().filter(|(y, _)| *y != 2019).collect(), ..national() };
    assert_eq!(without_2019.is_working_day(d("2018-12-29")), Err(CalendarGap { year: 2019 }));
    assert_eq!(without_2019.is_working_day(d("2018-12-28")), Ok(true));
}

#[test]
fn each_day_says_why_it_is_or_is_not_a_working_day() {
    let torch =
        Overlay {
            region_code: "532300".into(), day: d("2025-07-23"), kind: OverlayKind::Off, name: "火把节".into()
        };
    let extra =
        Overlay { region_code: "532300".into(), day: d("2025-07-26"), kind: OverlayKind::Work, name: "补班".into() };
    let calendar = national().with_overlays(&[torch, extra]);
    let day = |s: &str| {
        let c = calendar.describe(d(s));
        (c.working, c.reason, c.name, c.waiting_for_year)
    };
    assert_eq!(day("2025-07-22"), (Some(true), DayReason::Weekday, None, None));
    assert_eq!(day("2025-07-20"), (Some(false), DayReason::Weekend, None, None));
    assert_eq!(day("2025-07-23"), (Some(false), DayReason::RegionalDayOff, Some("火把节".into()), None));
    assert_eq!(day("2025-07-26"), (Some(true), DayReason::RegionalWorkingDay, Some("补班".into()), None));
    assert_eq!(day("2025-10-01"), (Some(false), DayReason::Festival, Some("国庆节、中秋节".into()), None));
    assert_eq!(day("2025-09-28"), (Some(true), DayReason::MakeUpDay, Some("国庆节、中秋节".into()), None));
    assert_eq!(day("2018-12-29"), (Some(true), DayReason::MakeUpDay, Some("元旦".into()), None));
    assert_eq!(day("2026-12-29"), (None, DayReason::Unknown, None, Some(2027)));
    assert_eq!(day("2027-03-10"), (None, DayReason::Unknown, None, Some(2027)));
    assert_eq!(day("2014-12-31"), (None, DayReason::Unknown, None, Some(2014)));
    // What a day says agrees with what the count uses, day by day across two year ends.
    let mut d0 = d("2025-12-01");
    while d0 <= d("2027-01-10") {
        assert_eq!(calendar.describe(d0).working, calendar.is_working_day(d0).ok(), "{d0}");
        d0 = d0.succ_opt().expect("next");
    }
}

#[test]
fn an_added_year_and_regional_overlays() {
    let y2027 = YearArrangement {
        year: 2027,
        source: Notice {
            title: "国务院办公厅关于2027年部分节假日安排的通知".into(),
            document: None,
            published: None,
            url: None,
        },
        holidays: vec![NamedDays { name: "元旦".into(), days: vec![d("2027-01-01")] }],
        workdays: vec![],
    };
    assert_eq!(y2027.validate(), Ok(()));
    let calendar = Calendar::national(std::slice::from_ref(&y2027));
    assert_eq!(calendar.is_working_day(d("2027-01-01")), Ok(false));
    assert_eq!(calendar.is_working_day(d("2026-12-28")), Ok(true), "no longer a gap");

    // 火把节 in Chuxiong (532300): two days off there, and nowhere else.
    let torch = |day: &str| Overlay {
        region_code: "532300".into(),
        day: d(day),
        kind: OverlayKind::Off,
        name: "火把节".into(),
    };
    let chuxiong = national().with_overlays(&[torch("2025-07-23"), torch("2025-07-24")]);
    assert_eq!(chuxiong.is_working_day(d("2025-07-23")), Ok(false));
    assert_eq!(national().is_working_day(d("2025-07-23")), Ok(true));
    assert_eq!(chuxiong.nth_working_day_after(d("2025-07-22"), 1), Ok(d("2025-07-25")));
}

#[test]
fn unsound_arrangements_are_refused() {
    let mut bad = serde_json::from_str::<YearArrangement>(NATIONAL[10]).expect("2025");
    assert_eq!(bad.validate(), Ok(()));
    bad.workdays.push(NamedDays { name: "x".into(), days: vec![d("2025-03-12")] });
    assert!(bad.validate().is_err(), "a make-up day must be a weekend day");
    let mut far = serde_json::from_str::<YearArrangement>(NATIONAL[10]).expect("2025");
    far.holidays.push(NamedDays { name: "x".into(), days: vec![d("2030-01-01")] });
    assert!(far.validate().is_err());
}

#[test]
fn every_shipped_file_is_sound() {
    for text in NATIONAL {
        let year: YearArrangement = serde_json::from_str(text).expect("parses");
        assert_eq!(year.validate(), Ok(()), "{}", year.year);
        assert!(year.source.document.is_some() && year.source.url.is_some(), "{} names its notice", year.year);
    }
}

//! The rules of `derive_minutes`, one behaviour per test, in the order the module lists them.

use super::*;
use chrono::NaiveDateTime;

/// An Asia/Shanghai wall-clock time, `"YYYY-MM-DD HH:MM"` or `"YYYY-MM-DD HH:MM:SS"`.
fn sh(local: &str) -> DateTime<Utc> {
    let naive = NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M"))
        .unwrap_or_else(|e| panic!("bad test time {local:?}: {e}"));
    Shanghai.from_local_datetime(&naive).single().expect("unambiguous local time").with_timezone(&Utc)
}

fn day(ymd: &str) -> NaiveDate {
    NaiveDate::parse_from_str(ymd, "%Y-%m-%d").expect("valid test date")
}

fn check_in(local: &str) -> ScanFact {
    ScanFact { at: sh(local), direction: Direction::In }
}

fn check_out(local: &str) -> ScanFact {
    ScanFact { at: sh(local), direction: Direction::Out }
}

fn schedule(starts: &str, ends: &str) -> Schedule {
    Schedule { starts_at: sh(starts), ends_at: sh(ends) }
}

/// National Day, 08:00 to 12:00.
fn morning() -> Schedule {
    schedule("2026-10-01 08:00", "2026-10-01 12:00")
}

fn settle(scans: &[ScanFact], schedule: &Schedule) -> MinutesReport {
    derive_minutes(scans, schedule, &MinutesPolicy::default(), None)
}

fn day_minutes(ymd: &str, minutes: u32) -> DayMinutes {
    DayMinutes { day: day(ymd), minutes }
}

fn pair(
    checked_in: &str,
    checked_out: &str,
    credited: Option<(&str, &str)>,
    minutes: u32,
    excess: bool,
) -> CreditedPair {
    CreditedPair {
        checked_in_at: sh(checked_in),
        checked_out_at: Some(sh(checked_out)),
        credited_from: credited.map(|(from, _)| sh(from)),
        credited_to: credited.map(|(_, to)| sh(to)),
        minutes,
        excess,
    }
}

fn unpaired(local: &str, direction: Direction, reason: UnpairedReason) -> UnpairedScan {
    UnpairedScan { at: sh(local), direction, reason }
}

#[test]
fn default_policy() {
    let policy = MinutesPolicy::default();
    assert_eq!(policy.early_grace, Duration::zero());
    assert_eq!(policy.late_grace, Duration::minutes(30));
    assert_eq!(policy.max_pairs_per_day, 3);
}

#[test]
fn simple_pair() {
    let report = settle(&[check_in("2026-10-01 08:00"), check_out("2026-10-01 11:30")], &morning());
    assert_eq!(
        report,
        MinutesReport {
            pairs: vec![pair(
                "2026-10-01 08:00",
                "2026-10-01 11:30",
                Some(("2026-10-01 08:00", "2026-10-01 11:30")),
                210,
                false,
            )],
            unpaired: vec![],
            total_minutes: 210,
            per_day: vec![day_minutes("2026-10-01", 210)],
            open_since: None,
        }
    );
    assert!(!report.is_inside());
}

#[test]
fn early_arrival_earns_nothing_before_start() {
    let report = settle(&[check_in("2026-10-01 07:30"), check_out("2026-10-01 09:00")], &morning());
    assert_eq!(
        report.pairs,
        vec![pair("2026-10-01 07:30", "2026-10-01 09:00", Some(("2026-10-01 08:00", "2026-10-01 09:00")), 60, false,)]
    );
    assert_eq!(report.total_minutes, 60);
}

#[test]
fn late_departure_within_grace_counts() {
    let report = settle(&[check_in("2026-10-01 08:00"), check_out("2026-10-01 12:20")], &morning());
    assert_eq!(report.pairs[0].credited_to, Some(sh("2026-10-01 12:20")));
    assert_eq!(report.total_minutes, 260);
}

#[test]
fn late_departure_beyond_grace_is_clipped() {
    let report = settle(&[check_in("2026-10-01 08:00"), check_out("2026-10-01 13:00")], &morning());
    assert_eq!(
        report.pairs,
        vec![pair("2026-10-01 08:00", "2026-10-01 13:00", Some(("2026-10-01 08:00", "2026-10-01 12:30")), 270, false,)]
    );
    assert_eq!(report.total_minutes, 270);
    assert_eq!(report.per_day, vec![day_minutes("2026-10-01", 270)]);
}

#[test]
fn pair_wholly_before_start_earns_nothing() {
    let report = settle(&[check_in("2026-10-01 06:00"), check_out("2026-10-01 08:00")], &morning());
    assert_eq!(report.pairs, vec![pair("2026-10-01 06:00", "2026-10-01 08:00", None, 0, false)]);
    assert_eq!(report.total_minutes, 0);
    assert_eq!(report.per_day, vec![]);
    assert_eq!(report.unpaired, vec![]);
}

#[test]
fn pair_wholly_after_end_and_grace_earns_nothing() {
    let report = settle(&[check_in("2026-10-01 12:30"), check_out("2026-10-01 14:00")], &morning());
    assert_eq!(report.pairs, vec![pair("2026-10-01 12:30", "2026-10-01 14:00", None, 0, false)]);
    assert_eq!(report.total_minutes, 0);
    assert_eq!(report.per_day, vec![]);
}

#[test]
fn pairs_outside_the_window_still_count_towards_the_daily_limit() {
    let report = settle(
        &[
            check_in("2026-10-01 06:00"),
            check_out("2026-10-01 06:30"),
            check_in("2026-10-01 06:40"),
            check_out("2026-10-01 07:00"),
            check_in("2026-10-01 07:10"),
            check_out("2026-10-01 07:20"),
            check_in("2026-10-01 09:00"),
            check_out("2026-10-01 10:00"),
        ],
        &morning(),
    );
    assert_eq!(report.pairs.len(), 4);
    assert!(report.pairs[3].excess);
    assert_eq!(report.total_minutes, 0);
}

#[test]
fn fourth_pair_of_a_day_is_excess() {
    let report = settle(
        &[
            check_in("2026-10-01 08:00"),
            check_out("2026-10-01 09:00"),
            check_in("2026-10-01 09:10"),
            check_out("2026-10-01 10:00"),
            check_in("2026-10-01 10:10"),
            check_out("2026-10-01 11:00"),
            check_in("2026-10-01 11:10"),
            check_out("2026-10-01 12:00"),
        ],
        &morning(),
    );
    assert_eq!(
        report.pairs,
        vec![
            pair("2026-10-01 08:00", "2026-10-01 09:00", Some(("2026-10-01 08:00", "2026-10-01 09:00")), 60, false,),
            pair("2026-10-01 09:10", "2026-10-01 10:00", Some(("2026-10-01 09:10", "2026-10-01 10:00")), 50, false,),
            pair("2026-10-01 10:10", "2026-10-01 11:00", Some(("2026-10-01 10:10", "2026-10-01 11:00")), 50, false,),
            pair("2026-10-01 11:10", "2026-10-01 12:00", None, 0, true),
        ]
    );
    assert_eq!(report.total_minutes, 160);
    assert_eq!(report.per_day, vec![day_minutes("2026-10-01", 160)]);
    assert_eq!(report.unpaired, vec![]);
}

#[test]
fn the_daily_limit_resets_on_the_next_local_day() {
    let two_days = schedule("2026-10-01 08:00", "2026-10-02 12:00");
    let policy = MinutesPolicy { max_pairs_per_day: 1, ..MinutesPolicy::default() };
    let report = derive_minutes(
        &[
            check_in("2026-10-01 09:00"),
            check_out("2026-10-01 10:00"),
            check_in("2026-10-01 11:00"),
            check_out("2026-10-01 12:00"),
            check_in("2026-10-02 09:00"),
            check_out("2026-10-02 10:00"),
        ],
        &two_days,
        &policy,
        None,
    );
    let excess: Vec<bool> = report.pairs.iter().map(|p| p.excess).collect();
    assert_eq!(excess, vec![false, true, false]);
    assert_eq!(report.total_minutes, 120);
    assert_eq!(report.per_day, vec![day_minutes("2026-10-01", 60), day_minutes("2026-10-02", 60)]);
}

#[test]
fn midnight_crossing_is_split_between_days() {
    let new_year = schedule("2026-12-31 20:00", "2027-01-01 02:00");
    let report = settle(&[check_in("2026-12-31 20:00"), check_out("2027-01-01 02:00")], &new_year);
    assert_eq!(report.total_minutes, 360);
    assert_eq!(report.per_day, vec![day_minutes("2026-12-31", 240), day_minutes("2027-01-01", 120)]);
}

#[test]
fn midnight_split_gives_the_rounding_remainder_to_the_last_day() {
    let new_year = schedule("2026-12-31 20:00", "2027-01-01 02:00");
    // 2 h 59 min 40 s before midnight, 30 min 30 s after: 3 h 30 min 10 s = 210 minutes.
    // Floored separately the days would only make 179 + 30 = 209.
    let report = settle(&[check_in("2026-12-31 21:00:20"), check_out("2027-01-01 00:30:30")], &new_year);
    assert_eq!(report.pairs[0].minutes, 210);
    assert_eq!(report.total_minutes, 210);
    assert_eq!(report.per_day, vec![day_minutes("2026-12-31", 179), day_minutes("2027-01-01", 31)]);
    let sum: u32 = report.per_day.iter().map(|d| d.minutes).sum();
    assert_eq!(sum, report.total_minutes);
}

#[test]
fn check_in_exactly_at_local_midnight_belongs_to_the_new_day() {
    let new_year = schedule("2026-12-31 20:00", "2027-01-01 02:00");
    let report = settle(&[check_in("2027-01-01 00:00"), check_out("2027-01-01 01:00")], &new_year);
    assert_eq!(report.per_day, vec![day_minutes("2027-01-01", 60)]);
}

#[test]
fn multi_day_activity_with_one_pair_per_day() {
    let three_days = schedule("2026-10-01 08:00", "2026-10-03 18:00");
    let report = settle(
        &[
            check_in("2026-10-01 09:00"),
            check_out("2026-10-01 17:00"),
            check_in("2026-10-02 09:00"),
            check_out("2026-10-02 17:00"),
            check_in("2026-10-03 09:00"),
            check_out("2026-10-03 17:00"),
        ],
        &three_days,
    );
    assert_eq!(report.pairs.len(), 3);
    assert!(report.pairs.iter().all(|p| p.minutes == 480 && !p.excess));
    assert_eq!(report.total_minutes, 1440);
    assert_eq!(
        report.per_day,
        vec![day_minutes("2026-10-01", 480), day_minutes("2026-10-02", 480), day_minutes("2026-10-03", 480),]
    );
    assert_eq!(report.unpaired, vec![]);
}

#[test]
fn forgotten_check_out_then_check_in_next_day() {
    let three_days = schedule("2026-10-01 08:00", "2026-10-03 18:00");
    let report = settle(
        &[check_in("2026-10-01 09:00"), check_in("2026-10-02 09:00"), check_out("2026-10-02 17:00")],
        &three_days,
    );
    assert_eq!(
        report,
        MinutesReport {
            pairs: vec![pair(
                "2026-10-02 09:00",
                "2026-10-02 17:00",
                Some(("2026-10-02 09:00", "2026-10-02 17:00")),
                480,
                false,
            )],
            unpaired: vec![unpaired("2026-10-01 09:00", Direction::In, UnpairedReason::MissingOut)],
            total_minutes: 480,
            per_day: vec![day_minutes("2026-10-02", 480)],
            open_since: None,
        }
    );
}

#[test]
fn unpaired_scans_are_reported_in_time_order() {
    let three_days = schedule("2026-10-01 08:00", "2026-10-03 18:00");
    // The MissingOut for 09:00 is only known at the next day's check-in, after the
    // RepeatedIn at 10:00 was seen; it is still listed first.
    let report = settle(
        &[
            check_in("2026-10-01 09:00"),
            check_in("2026-10-01 10:00"),
            check_in("2026-10-02 09:00"),
            check_out("2026-10-02 10:00"),
            check_out("2026-10-02 11:00"),
        ],
        &three_days,
    );
    assert_eq!(
        report.unpaired,
        vec![
            unpaired("2026-10-01 09:00", Direction::In, UnpairedReason::MissingOut),
            unpaired("2026-10-01 10:00", Direction::In, UnpairedReason::RepeatedIn),
            unpaired("2026-10-02 11:00", Direction::Out, UnpairedReason::OutWithoutIn),
        ]
    );
    assert_eq!(report.total_minutes, 60);
}

#[test]
fn out_of_order_input_gives_the_same_report_as_sorted_input() {
    let three_days = schedule("2026-10-01 08:00", "2026-10-03 18:00");
    let sorted = [
        check_out("2026-10-01 07:00"),
        check_in("2026-10-01 07:30"),
        check_in("2026-10-01 08:00"),
        check_out("2026-10-01 12:00"),
        check_in("2026-10-01 23:00"),
        check_out("2026-10-02 01:00"),
        check_in("2026-10-02 09:00"),
        check_in("2026-10-03 09:00"),
        check_out("2026-10-03 18:45"),
    ];
    let shuffled = [sorted[6], sorted[3], sorted[8], sorted[0], sorted[5], sorted[1], sorted[7], sorted[4], sorted[2]];
    let expected = settle(&sorted, &three_days);
    assert_eq!(settle(&shuffled, &three_days), expected);
    let mut reversed = sorted;
    reversed.reverse();
    assert_eq!(settle(&reversed, &three_days), expected);

    // 08:00–12:00 (arrival 07:30 clipped), 23:00–01:00 across midnight, and
    // 09:00–18:30 on the last day (departure 18:45 clipped to end + grace).
    assert_eq!(expected.total_minutes, 240 + 120 + 570);
    assert_eq!(
        expected.per_day,
        vec![day_minutes("2026-10-01", 240 + 60), day_minutes("2026-10-02", 60), day_minutes("2026-10-03", 570),]
    );
    assert_eq!(
        expected.unpaired,
        vec![
            unpaired("2026-10-01 07:00", Direction::Out, UnpairedReason::OutWithoutIn),
            unpaired("2026-10-01 08:00", Direction::In, UnpairedReason::RepeatedIn),
            unpaired("2026-10-02 09:00", Direction::In, UnpairedReason::MissingOut),
        ]
    );
}

#[test]
fn out_without_in_earns_nothing() {
    let report = settle(
        &[
            check_out("2026-10-01 09:00"),
            check_in("2026-10-01 10:00"),
            check_out("2026-10-01 11:00"),
            check_out("2026-10-01 11:05"),
        ],
        &morning(),
    );
    assert_eq!(
        report.unpaired,
        vec![
            unpaired("2026-10-01 09:00", Direction::Out, UnpairedReason::OutWithoutIn),
            unpaired("2026-10-01 11:05", Direction::Out, UnpairedReason::OutWithoutIn),
        ]
    );
    assert_eq!(
        report.pairs,
        vec![pair("2026-10-01 10:00", "2026-10-01 11:00", Some(("2026-10-01 10:00", "2026-10-01 11:00")), 60, false,)]
    );
    assert_eq!(report.total_minutes, 60);
}

#[test]
fn repeated_in_on_the_same_day_is_ignored_and_the_first_arrival_stands() {
    let report = settle(
        &[check_in("2026-10-01 08:00"), check_in("2026-10-01 09:00"), check_out("2026-10-01 10:00")],
        &morning(),
    );
    assert_eq!(
        report.pairs,
        vec![pair("2026-10-01 08:00", "2026-10-01 10:00", Some(("2026-10-01 08:00", "2026-10-01 10:00")), 120, false,)]
    );
    assert_eq!(report.unpaired, vec![unpaired("2026-10-01 09:00", Direction::In, UnpairedReason::RepeatedIn)]);
    assert_eq!(report.total_minutes, 120);
}

#[test]
fn open_session_with_now_is_credited_provisionally() {
    let report = derive_minutes(
        &[check_in("2026-10-01 08:00")],
        &morning(),
        &MinutesPolicy::default(),
        Some(sh("2026-10-01 09:15:30")),
    );
    assert_eq!(
        report,
        MinutesReport {
            pairs: vec![CreditedPair {
                checked_in_at: sh("2026-10-01 08:00"),
                checked_out_at: None,
                credited_from: Some(sh("2026-10-01 08:00")),
                credited_to: Some(sh("2026-10-01 09:15:30")),
                minutes: 75,
                excess: false,
            }],
            unpaired: vec![],
            total_minutes: 75,
            per_day: vec![day_minutes("2026-10-01", 75)],
            open_since: Some(sh("2026-10-01 08:00")),
        }
    );
    assert!(report.is_inside());
}

#[test]
fn open_session_with_now_after_the_window_stops_at_the_grace() {
    let report = derive_minutes(
        &[check_in("2026-10-01 07:30"), check_out("2026-10-01 08:30"), check_in("2026-10-01 09:00")],
        &morning(),
        &MinutesPolicy::default(),
        Some(sh("2026-10-01 18:00")),
    );
    assert_eq!(report.pairs.len(), 2);
    assert_eq!(report.pairs[1].checked_out_at, None);
    assert_eq!(report.pairs[1].credited_to, Some(sh("2026-10-01 12:30")));
    assert_eq!(report.pairs[1].minutes, 210);
    assert_eq!(report.total_minutes, 30 + 210);
    assert_eq!(report.open_since, Some(sh("2026-10-01 09:00")));
}

#[test]
fn open_session_with_now_before_the_start_earns_nothing_yet() {
    let report = derive_minutes(
        &[check_in("2026-10-01 07:30")],
        &morning(),
        &MinutesPolicy::default(),
        Some(sh("2026-10-01 07:55")),
    );
    assert_eq!(report.pairs.len(), 1);
    assert_eq!(report.pairs[0].credited_from, None);
    assert_eq!(report.pairs[0].minutes, 0);
    assert_eq!(report.total_minutes, 0);
    assert_eq!(report.per_day, vec![]);
    assert!(report.is_inside());
}

#[test]
fn open_session_counts_towards_the_daily_limit() {
    let policy = MinutesPolicy { max_pairs_per_day: 1, ..MinutesPolicy::default() };
    let report = derive_minutes(
        &[check_in("2026-10-01 08:00"), check_out("2026-10-01 09:00"), check_in("2026-10-01 10:00")],
        &morning(),
        &policy,
        Some(sh("2026-10-01 11:00")),
    );
    assert_eq!(report.pairs.len(), 2);
    assert!(report.pairs[1].excess);
    assert_eq!(report.pairs[1].minutes, 0);
    assert_eq!(report.total_minutes, 60);
    assert_eq!(report.open_since, Some(sh("2026-10-01 10:00")));
}

#[test]
fn open_session_without_now_is_a_missing_out() {
    let report = settle(&[check_in("2026-10-01 08:00")], &morning());
    assert_eq!(
        report,
        MinutesReport {
            pairs: vec![],
            unpaired: vec![unpaired("2026-10-01 08:00", Direction::In, UnpairedReason::MissingOut)],
            total_minutes: 0,
            per_day: vec![],
            open_since: None,
        }
    );
    assert!(!report.is_inside());
}

#[test]
fn empty_input() {
    assert_eq!(settle(&[], &morning()), MinutesReport::default());
    let live = derive_minutes(&[], &morning(), &MinutesPolicy::default(), Some(sh("2026-10-01 09:00")));
    assert_eq!(live, MinutesReport::default());
    assert!(!live.is_inside());
}

#[test]
fn out_at_the_same_instant_as_in_is_a_zero_minute_pair() {
    let report = settle(&[check_in("2026-10-01 09:00"), check_out("2026-10-01 09:00")], &morning());
    assert_eq!(report.pairs, vec![pair("2026-10-01 09:00", "2026-10-01 09:00", None, 0, false)]);
    assert_eq!(report.unpaired, vec![]);
    assert_eq!(report.total_minutes, 0);
}

#[test]
fn simultaneous_scans_keep_their_input_order() {
    // Out listed first at the same instant: it has nothing to close, then In opens.
    let report = settle(&[check_out("2026-10-01 09:00"), check_in("2026-10-01 09:00")], &morning());
    assert_eq!(report.pairs, vec![]);
    assert_eq!(
        report.unpaired,
        vec![
            unpaired("2026-10-01 09:00", Direction::Out, UnpairedReason::OutWithoutIn),
            unpaired("2026-10-01 09:00", Direction::In, UnpairedReason::MissingOut),
        ]
    );
}

#[test]
fn seconds_are_floored_to_whole_minutes() {
    let report = settle(&[check_in("2026-10-01 09:00:00"), check_out("2026-10-01 09:00:59")], &morning());
    assert_eq!(
        report.pairs,
        vec![pair(
            "2026-10-01 09:00:00",
            "2026-10-01 09:00:59",
            Some(("2026-10-01 09:00:00", "2026-10-01 09:00:59")),
            0,
            false,
        )]
    );
    assert_eq!(report.total_minutes, 0);
    assert_eq!(report.per_day, vec![]);

    let almost_three =
        ScanFact { at: sh("2026-10-01 09:02:59") + Duration::milliseconds(999), direction: Direction::Out };
    let report = settle(&[check_in("2026-10-01 09:00:00"), almost_three], &morning());
    assert_eq!(report.total_minutes, 2);
}

#[test]
fn custom_policy() {
    let policy =
        MinutesPolicy { early_grace: Duration::minutes(15), late_grace: Duration::zero(), max_pairs_per_day: 1 };
    let report = derive_minutes(
        &[
            check_in("2026-10-01 07:30"),
            check_out("2026-10-01 09:00"),
            check_in("2026-10-01 10:00"),
            check_out("2026-10-01 11:00"),
        ],
        &morning(),
        &policy,
        None,
    );
    assert_eq!(
        report.pairs,
        vec![
            pair("2026-10-01 07:30", "2026-10-01 09:00", Some(("2026-10-01 07:45", "2026-10-01 09:00")), 75, false,),
            pair("2026-10-01 10:00", "2026-10-01 11:00", None, 0, true),
        ]
    );
    assert_eq!(report.total_minutes, 75);
    assert_eq!(report.per_day, vec![day_minutes("2026-10-01", 75)]);
}

#[test]
fn negative_graces_are_treated_as_zero() {
    let policy = MinutesPolicy {
        early_grace: Duration::minutes(-60),
        late_grace: Duration::minutes(-60),
        ..MinutesPolicy::default()
    };
    let report =
        derive_minutes(&[check_in("2026-10-01 07:00"), check_out("2026-10-01 13:00")], &morning(), &policy, None);
    assert_eq!(report.pairs[0].credited_from, Some(sh("2026-10-01 08:00")));
    assert_eq!(report.pairs[0].credited_to, Some(sh("2026-10-01 12:00")));
    assert_eq!(report.total_minutes, 240);
}

#[test]
fn inverted_schedule_credits_nothing() {
    let inverted = schedule("2026-10-01 12:00", "2026-10-01 08:00");
    let policy = MinutesPolicy { late_grace: Duration::zero(), ..MinutesPolicy::default() };
    let report =
        derive_minutes(&[check_in("2026-10-01 07:00"), check_out("2026-10-01 13:00")], &inverted, &policy, None);
    assert_eq!(report.pairs.len(), 1);
    assert_eq!(report.total_minutes, 0);
}

#[test]
fn extreme_instants_and_graces_do_not_panic() {
    let min = DateTime::<Utc>::MIN_UTC;
    let max = DateTime::<Utc>::MAX_UTC;
    let policy = MinutesPolicy { early_grace: Duration::MAX, late_grace: Duration::MAX, max_pairs_per_day: u32::MAX };
    let ends_of_time = Schedule { starts_at: max, ends_at: min };
    let scans = [
        ScanFact { at: min, direction: Direction::In },
        ScanFact { at: min + Duration::minutes(2), direction: Direction::Out },
        ScanFact { at: max - Duration::minutes(3), direction: Direction::In },
        ScanFact { at: max, direction: Direction::Out },
        ScanFact { at: max, direction: Direction::In },
    ];
    let report = derive_minutes(&scans, &ends_of_time, &policy, Some(max));
    assert_eq!(report.total_minutes, 5);
    assert_eq!(report.per_day.iter().map(|d| d.minutes).sum::<u32>(), 5);
    assert_eq!(report.open_since, Some(max));

    let settled = derive_minutes(&scans, &ends_of_time, &MinutesPolicy::default(), None);
    assert_eq!(settled.total_minutes, 0);
}

#[test]
fn wire_format_uses_snake_case() {
    let scan =
        UnpairedScan { at: sh("2026-10-01 08:00"), direction: Direction::In, reason: UnpairedReason::OutWithoutIn };
    let json = serde_json::to_value(scan).expect("serialisable");
    assert_eq!(
        json,
        serde_json::json!({
            "at": "2026-10-01T08:00:00+08:00",
            "direction": "in",
            "reason": "out_without_in",
        })
    );
    let report = settle(&[check_in("2026-10-01 08:00"), check_out("2026-10-01 09:00")], &morning());
    let json = serde_json::to_value(&report).expect("serialisable");
    assert_eq!(json["per_day"], serde_json::json!([{ "day": "2026-10-01", "minutes": 60 }]));
    assert_eq!(json["open_since"], serde_json::Value::Null);
}

/// The live summary agrees with a full derivation, with and without `now`, for every
/// sequence of up to six scans over two local days (times and directions drawn from a
/// fixed pseudo-random sequence, so a failure can be replayed), with limits that bite.
#[test]
fn live_minutes_agree_with_a_full_derivation() {
    let schedule = Schedule { starts_at: sh("2026-10-01 08:00"), ends_at: sh("2026-10-02 12:00") };
    let policies = [MinutesPolicy::default(), MinutesPolicy { max_pairs_per_day: 1, ..MinutesPolicy::default() }];
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move |bound: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % bound
    };
    let first = sh("2026-10-01 06:00");
    for case in 0..20_000 {
        let len = next(7);
        let scans: Vec<ScanFact> = (0..len)
            .map(|_| ScanFact {
                // Within two days, on the minute or not, ties likely.
                at: first + Duration::seconds(i64::try_from(next(40) * 3_600 + next(3) * 20).expect("small")),
                direction: if next(2) == 0 { Direction::In } else { Direction::Out },
            })
            .collect();
        let now = first + Duration::minutes(i64::try_from(next(48 * 60)).expect("small"));
        for policy in &policies {
            let live = LiveMinutes::derive(&scans, &schedule, policy);
            let with_now = derive_minutes(&scans, &schedule, policy, Some(now));
            let settled = derive_minutes(&scans, &schedule, policy, None);
            let context = format!("case {case}: {scans:?} at {now}");
            assert_eq!(live.so_far(now), with_now.total_minutes, "{context}");
            assert_eq!(live.credited(), settled.total_minutes, "{context}");
            assert_eq!(live.open_since(), with_now.open_since, "{context}");
            assert_eq!(live.arrived(), !with_now.pairs.is_empty(), "{context}");
            assert_eq!(live.pairs_so_far() as usize, with_now.pairs.len(), "{context}");
            assert_eq!(live.scans() as usize, scans.len(), "{context}");
            assert_eq!(live.last_at(), scans.iter().map(|s| s.at).max(), "{context}");
            // The scan path folds one scan at a time, in time order: the same tally.
            let mut ordered = scans.clone();
            ordered.sort_by_key(|s| s.at);
            let folded = ordered.iter().try_fold(LiveMinutes::empty(&schedule, policy), |t, s| t.followed_by(*s));
            assert_eq!(folded, Some(live), "{context}");
            // And what the shared cache keeps of it reads back the same.
            assert_eq!(LiveMinutes::decode(&live.encode()), Some(live), "{context}");
            assert!(live.fits(&schedule, policy), "{context}");
        }
    }
}

/// A tally cannot take a scan earlier than its last (the scan path never offers one: it
/// refuses such a scan as a repeat), nor does it apply under another schedule or limit.
#[test]
fn a_tally_refuses_an_earlier_scan_and_knows_its_schedule() {
    let schedule = Schedule { starts_at: sh("2026-10-01 08:00"), ends_at: sh("2026-10-01 12:00") };
    let policy = MinutesPolicy::default();
    let tally = LiveMinutes::derive(&[check_in("2026-10-01 09:00")], &schedule, &policy);
    assert_eq!(tally.followed_by(check_out("2026-10-01 08:59")), None);
    let out = tally.followed_by(check_out("2026-10-01 09:00")).expect("a tie keeps its order");
    assert_eq!((out.credited(), out.pairs_so_far(), out.open_since()), (0, 1, None));
    assert!(!tally.fits(&Schedule { ends_at: sh("2026-10-01 13:00"), ..schedule }, &policy));
    assert!(!tally.fits(&schedule, &MinutesPolicy { max_pairs_per_day: 1, ..policy }));
    for bad in ["", "1:2", &format!("{}:extra", tally.encode()), &tally.encode().replacen('1', "x", 1)] {
        assert_eq!(LiveMinutes::decode(bad), None, "{bad}");
    }
}

/// The text a tally is kept in by the shared cache is read by every instance, of this
/// version and the next: its form is fixed, field by field.
#[test]
fn a_tally_is_kept_in_a_fixed_text_form() {
    let schedule = Schedule { starts_at: sh("2026-10-01 08:00"), ends_at: sh("2026-10-01 12:00") };
    let policy = MinutesPolicy::default();
    let empty = LiveMinutes::empty(&schedule, &policy);
    let window = CreditWindow::new(&schedule, &policy);
    let (from, to) = (window.from.timestamp_micros(), window.to.timestamp_micros());
    let max = policy.max_pairs_per_day;
    assert_eq!(empty.encode(), format!("0::0:0::0::{from}:{to}:{max}"));
    let inside = empty.followed_by(check_in("2026-10-01 09:00")).expect("in");
    let at = sh("2026-10-01 09:00").timestamp_micros();
    assert_eq!(inside.encode(), format!("1:{at}:0:0::0:{at}:{from}:{to}:{max}"));
    let out = inside.followed_by(check_out("2026-10-01 10:30")).expect("out");
    let left = sh("2026-10-01 10:30").timestamp_micros();
    let day = chrono::Datelike::num_days_from_ce(
        &sh("2026-10-01 09:00").with_timezone(&chrono_tz::Asia::Shanghai).date_naive(),
    );
    assert_eq!(out.encode(), format!("2:{left}:90:1:{day}:1::{from}:{to}:{max}"));
}

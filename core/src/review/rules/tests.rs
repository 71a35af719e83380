//! Each rule on both sides of its threshold.

use super::*;
use std::collections::BTreeSet;

use crate::review::book::activity_findings;

/// 2026-12-05 08:00 +08:00.
fn t0() -> DateTime<Utc> {
    "2026-12-05T00:00:00Z".parse().expect("time")
}

fn at(minutes: i64) -> DateTime<Utc> {
    t0() + Duration::minutes(minutes)
}

fn activity() -> ActivityFacts {
    ActivityFacts {
        id: 1,
        schedule: Schedule { starts_at: at(0), ends_at: at(9 * 60) },
        venue: LatLng { lat: 25.047, lng: 102.704 },
        radius_m: 300,
    }
}

fn scan(volunteer_id: i64, minute: i64, direction: Direction) -> ScanEvidence {
    ScanEvidence {
        id: Uuid::new_v4(),
        volunteer_id,
        at: at(minute),
        uploaded_at: None,
        direction: Some(direction),
        client_time: Some(at(minute)),
        code_shown_at: Some(at(minute)),
        distance_m: Some(20.0),
        accuracy_m: Some(15.0),
        geofence: Some(Geofence::Inside),
        device_id: Some(format!("phone-{volunteer_id}")),
        network: Some(format!("net-{volunteer_id}")),
    }
}

fn rules_of(found: &[Finding]) -> Vec<RuleCode> {
    let mut rules: Vec<RuleCode> = found.iter().map(|f| f.rule).collect();
    rules.sort();
    rules.dedup();
    rules
}

fn evaluate(scans: &[ScanEvidence]) -> Vec<RuleCode> {
    rules_of(&activity_findings(&activity(), &RuleParams::default(), &MinutesPolicy::default(), scans, &[]))
}

fn evaluate_with(params: &RuleParams, scans: &[ScanEvidence], elsewhere: &[OtherSession]) -> Vec<Finding> {
    activity_findings(&activity(), params, &MinutesPolicy::default(), scans, elsewhere)
}

/// A clean day: in at 08:00, out at 12:00.
fn clean(volunteer_id: i64) -> Vec<ScanEvidence> {
    vec![scan(volunteer_id, 0, Direction::In), scan(volunteer_id, 240, Direction::Out)]
}

#[test]
fn a_clean_session_raises_nothing() {
    assert_eq!(evaluate(&clean(1)), vec![]);
}

#[test]
fn geofence_outside_and_poor_fix_and_missing_location() {
    let mut scans = clean(1);
    scans[0].geofence = Some(Geofence::Outside);
    scans[0].distance_m = Some(301.0);
    assert_eq!(evaluate(&scans), vec![RuleCode::OutsideGeofence]);
    scans[0].geofence = Some(Geofence::PoorFix);
    assert_eq!(evaluate(&scans), vec![RuleCode::PoorLocationFix]);
    scans[0].geofence = None;
    assert_eq!(evaluate(&scans), vec![], "no location is fine unless required");
    let required = RuleParams { require_location: true, ..RuleParams::default() };
    assert_eq!(rules_of(&evaluate_with(&required, &scans, &[])), vec![RuleCode::LocationMissing]);
}

#[test]
fn late_upload_on_both_sides_of_the_threshold() {
    let mut scans = clean(1);
    scans[1].code_shown_at = Some(scans[1].at - Duration::seconds(600));
    assert_eq!(evaluate(&scans), vec![], "exactly the threshold is not late");
    scans[1].code_shown_at = Some(scans[1].at - Duration::seconds(601));
    assert_eq!(evaluate(&scans), vec![RuleCode::LateUpload]);
    // A late upload is recorded at its claimed scan time, just after the code was shown;
    // the delay is measured to its arrival.
    scans[1].code_shown_at = Some(scans[1].at - Duration::seconds(5));
    scans[1].uploaded_at = Some(scans[1].at + Duration::seconds(595));
    assert_eq!(evaluate(&scans), vec![]);
    scans[1].uploaded_at = Some(scans[1].at + Duration::seconds(596));
    assert_eq!(evaluate(&scans), vec![RuleCode::LateUpload]);
}

#[test]
fn client_clock_skew_either_way() {
    let mut scans = clean(1);
    scans[0].client_time = Some(scans[0].at + Duration::seconds(300));
    assert_eq!(evaluate(&scans), vec![]);
    scans[0].client_time = Some(scans[0].at + Duration::seconds(301));
    assert_eq!(evaluate(&scans), vec![RuleCode::ClientClockSkew]);
    scans[0].client_time = Some(scans[0].at - Duration::seconds(301));
    assert_eq!(evaluate(&scans), vec![RuleCode::ClientClockSkew]);
}

#[test]
fn a_device_shared_by_two_volunteers_flags_both() {
    let mut scans = clean(1);
    scans.extend(clean(2));
    assert_eq!(evaluate(&scans), vec![]);
    scans[2].device_id = Some("phone-1".into());
    let found = evaluate_with(&RuleParams::default(), &scans, &[]);
    let shared: BTreeSet<i64> =
        found.iter().filter(|f| f.rule == RuleCode::SharedDevice).map(|f| f.volunteer_id).collect();
    assert_eq!(shared, BTreeSet::from([1, 2]));
    // Volunteer 2 also switched devices mid-activity.
    assert!(found.iter().any(|f| f.rule == RuleCode::DeviceSwitch && f.volunteer_id == 2));
    assert!(!found.iter().any(|f| f.rule == RuleCode::DeviceSwitch && f.volunteer_id == 1));
}

#[test]
fn bursts_from_one_network_or_device_in_one_second() {
    let params = RuleParams::default();
    // 19 volunteers through one network in the same second: below 20.
    let mut scans: Vec<ScanEvidence> =
        (1..=19).map(|v| ScanEvidence { network: Some("gate-wifi".into()), ..scan(v, 0, Direction::In) }).collect();
    assert!(!rules_of(&evaluate_with(&params, &scans, &[])).contains(&RuleCode::ScanBurst));
    scans.push(ScanEvidence { network: Some("gate-wifi".into()), ..scan(20, 0, Direction::In) });
    let found = evaluate_with(&params, &scans, &[]);
    assert_eq!(found.iter().filter(|f| f.rule == RuleCode::ScanBurst).count(), 20, "everyone in it is flagged");
    // The next second is another group.
    scans[19].at += Duration::seconds(1);
    assert!(!rules_of(&evaluate_with(&params, &scans, &[])).contains(&RuleCode::ScanBurst));

    // One device: three scans in a second is a burst, two is not.
    let device = |v: i64| ScanEvidence { device_id: Some("one-phone".into()), ..scan(v, 30, Direction::In) };
    let two = vec![device(1), device(2)];
    assert!(!rules_of(&evaluate_with(&params, &two, &[])).contains(&RuleCode::ScanBurst));
    let three = vec![device(1), device(2), device(3)];
    assert!(rules_of(&evaluate_with(&params, &three, &[])).contains(&RuleCode::ScanBurst));
}

#[test]
fn short_sessions_below_the_minimum() {
    let ten = vec![scan(1, 0, Direction::In), scan(1, 10, Direction::Out)];
    assert_eq!(evaluate(&ten), vec![]);
    let nine = vec![scan(1, 0, Direction::In), scan(1, 9, Direction::Out)];
    assert_eq!(evaluate(&nine), vec![RuleCode::SessionTooShort]);
    let off = RuleParams { min_session_minutes: 0, ..RuleParams::default() };
    assert!(evaluate_with(&off, &nine, &[]).is_empty());
}

#[test]
fn daily_limits_send_long_days_to_the_organisation_then_to_civil_affairs() {
    // A long activity: 06:00 to 21:00, all credited.
    let long = ActivityFacts { schedule: Schedule { starts_at: at(-120), ends_at: at(13 * 60) }, ..activity() };
    let day = |minutes: i64| {
        let scans = vec![scan(1, -120, Direction::In), scan(1, -120 + minutes, Direction::Out)];
        rules_of(&activity_findings(&long, &RuleParams::default(), &MinutesPolicy::default(), &scans, &[]))
    };
    assert_eq!(day(480), vec![]);
    assert_eq!(day(481), vec![RuleCode::DailyOverOrganisationLimit]);
    assert_eq!(day(720), vec![RuleCode::DailyOverOrganisationLimit]);
    assert_eq!(day(721), vec![RuleCode::DailyOverOfficerLimit]);
    assert_eq!(RuleCode::DailyOverOfficerLimit.reviewer(), Reviewer::CivilAffairs);
    assert_eq!(RuleCode::DailyOverOrganisationLimit.reviewer(), Reviewer::Organisation);
}

#[test]
fn overlapping_sessions_and_impossible_travel() {
    let scans = clean(1); // 08:00–12:00 at Green Lake, Kunming
    let near = LatLng { lat: 25.047, lng: 102.714 }; // about 1 km east
    let dali = LatLng { lat: 25.606, lng: 100.267 }; // about 250 km west
    let other = |venue: LatLng, from: i64, to: i64| OtherSession {
        activity_id: 9,
        venue,
        volunteer_id: 1,
        checked_in_at: at(from),
        checked_out_at: at(to),
    };
    let rules = |elsewhere: &[OtherSession]| rules_of(&evaluate_with(&RuleParams::default(), &scans, elsewhere));
    // Overlap: 11:00–13:00 elsewhere.
    assert_eq!(rules(&[other(near, 180, 300)]), vec![RuleCode::OverlappingSessions]);
    // Touching is not overlapping; 1 km in no time is impossible at 120 km/h.
    assert_eq!(rules(&[other(near, 240, 300)]), vec![RuleCode::ImpossibleTravel]);
    // Ten minutes is plenty for 1 km.
    assert_eq!(rules(&[other(near, 250, 300)]), vec![]);
    // Dali at 14:00 after leaving Kunming at 12:00: 250 km in 2 h is more than 120 km/h.
    assert_eq!(rules(&[other(dali, 360, 420)]), vec![RuleCode::ImpossibleTravel]);
    // At 15:00, three hours later, it is possible.
    assert_eq!(rules(&[other(dali, 420, 480)]), vec![]);
    // Someone else's session elsewhere does not count against this volunteer.
    let someone_else = OtherSession { volunteer_id: 2, ..other(near, 180, 300) };
    assert_eq!(rules(&[someone_else]), vec![]);
}

#[test]
fn attendance_share_is_off_by_default_and_checked_when_on() {
    // Scheduled 9 hours (540 minutes); 60% is 324 minutes.
    let served = |minutes: i64| vec![scan(1, 0, Direction::In), scan(1, minutes, Direction::Out)];
    assert_eq!(evaluate(&served(60)), vec![]);
    let on = RuleParams { min_attendance_share: Some(0.6), ..RuleParams::default() };
    assert!(rules_of(&evaluate_with(&on, &served(323), &[])).contains(&RuleCode::LowAttendanceShare));
    assert!(!rules_of(&evaluate_with(&on, &served(324), &[])).contains(&RuleCode::LowAttendanceShare));
}

#[test]
fn too_many_pairs_and_checkout_without_checkin() {
    let mut scans = Vec::new();
    for pair in 0..3 {
        scans.push(scan(1, pair * 60, Direction::In));
        scans.push(scan(1, pair * 60 + 30, Direction::Out));
    }
    assert_eq!(evaluate(&scans), vec![], "three pairs are allowed");
    scans.push(scan(1, 200, Direction::In));
    scans.push(scan(1, 230, Direction::Out));
    assert_eq!(evaluate(&scans), vec![RuleCode::TooManyPairs]);

    let lone_out = vec![scan(1, 100, Direction::Out)];
    assert_eq!(evaluate(&lone_out), vec![RuleCode::CheckoutWithoutCheckin]);
}

#[test]
fn findings_are_stable_across_passes() {
    let mut scans = clean(1);
    scans[0].geofence = Some(Geofence::Outside);
    let first = evaluate_with(&RuleParams::default(), &scans, &[]);
    let second = evaluate_with(&RuleParams::default(), &scans, &[]);
    assert_eq!(first, second);
    let keys: BTreeSet<_> = first.iter().map(|f| (f.rule, f.volunteer_id, f.key.clone())).collect();
    assert_eq!(keys.len(), first.len(), "no finding is raised twice in one pass");
}

#[test]
fn refused_scans_raise_nothing() {
    let mut scans = clean(1);
    scans[0].direction = None;
    scans[0].geofence = Some(Geofence::Outside);
    scans[1].direction = None;
    assert_eq!(evaluate(&scans), vec![]);
}

#[test]
fn parameters_are_checked() {
    assert!(RuleParams::default().validate().is_ok());
    let bad = [
        RuleParams { late_upload_secs: 10, ..RuleParams::default() },
        RuleParams { burst_per_device: 1, ..RuleParams::default() },
        RuleParams { officer_review_minutes: 400, ..RuleParams::default() },
        RuleParams { max_travel_kmh: 0.0, ..RuleParams::default() },
        RuleParams { min_attendance_share: Some(1.5), ..RuleParams::default() },
    ];
    for params in bad {
        assert!(params.validate().is_err(), "{params:?}");
    }
    assert!(RuleCode::ALL.iter().all(|r| RuleCode::parse(r.as_str()) == Some(*r)));
}

#[test]
fn each_long_day_of_a_multi_day_activity_is_flagged_on_its_own() {
    // A three-day camp: 14 hours credited on each of two days.
    let camp = ActivityFacts { schedule: Schedule { starts_at: at(-120), ends_at: at(3 * 24 * 60) }, ..activity() };
    let day_two = 24 * 60 - 120;
    let scans = vec![
        scan(1, -120, Direction::In),
        scan(1, -120 + 14 * 60, Direction::Out),
        scan(1, day_two, Direction::In),
        scan(1, day_two + 14 * 60, Direction::Out),
    ];
    let found = activity_findings(&camp, &RuleParams::default(), &MinutesPolicy::default(), &scans, &[]);
    let long: Vec<_> = found.iter().filter(|f| f.rule == RuleCode::DailyOverOfficerLimit).collect();
    assert_eq!(long.len(), 2, "{found:?}");
    assert_ne!(long[0].key, long[1].key, "one flag per day, stored separately");
}

//! Sign-up rules that need no store: minimum age, skills, and what each status counts for.

use super::*;
use chrono::NaiveDate;

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
}

#[test]
fn the_minimum_age_is_reached_on_the_birthday() {
    assert!(!old_enough(Some(d("2008-12-06")), d("2026-12-05"), 18));
    assert!(old_enough(Some(d("2008-12-05")), d("2026-12-05"), 18));
    // An unreadable birth date never passes an age requirement.
    assert!(!old_enough(None, d("2026-12-05"), 1));
}

#[test]
fn skills_must_match_as_registered() {
    let required = vec!["急救".to_owned(), "手语".to_owned()];
    assert_eq!(missing_skills(&required, &["急救".to_owned()]), vec!["手语"]);
    assert!(missing_skills(&required, &["手语".to_owned(), "急救".to_owned(), "驾驶".to_owned()]).is_empty());
    assert!(missing_skills(&[], &[]).is_empty());
}

#[test]
fn statuses_read_back_and_say_whether_they_count() {
    for status in [
        SignupStatus::Pending,
        SignupStatus::Approved,
        SignupStatus::Waitlisted,
        SignupStatus::Declined,
        SignupStatus::Cancelled,
    ] {
        assert_eq!(SignupStatus::parse(status.as_str()), Some(status));
        assert_eq!(status.is_live(), LIVE.contains(&status));
    }
    assert!(HOLDING.iter().all(|s| s.is_live()));
}

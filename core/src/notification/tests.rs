//! What a volunteer is told: wording, template limits, retries.

use super::*;

#[test]
fn minutes_read_as_people_say_them() {
    assert_eq!(format_minutes(0), "0分钟");
    assert_eq!(format_minutes(1), "1分钟");
    assert_eq!(format_minutes(60), "1小时");
    assert_eq!(format_minutes(135), "2小时15分");
    assert_eq!(format_minutes(-180), "-3小时");
    assert_eq!(format_day(NaiveDate::from_ymd_opt(2026, 12, 5).expect("day")), "12月5日");
}

#[test]
fn retries_back_off_to_an_hour() {
    assert_eq!(retry_after(0), Duration::seconds(30));
    assert_eq!(retry_after(1), Duration::seconds(60));
    assert_eq!(retry_after(6), Duration::seconds(1920));
    assert_eq!(retry_after(7), Duration::hours(1));
    assert_eq!(retry_after(40), Duration::hours(1));
}

#[test]
fn keywords_fit_the_template_limits() {
    let notice = HoursNotice::Corrected {
        volunteer_id: 1,
        activity: "翠湖公园周末清洁与垃圾分类宣传志愿服务活动第二期".into(),
        day: NaiveDate::from_ymd_opt(2026, 12, 5).expect("day"),
        from_minutes: 180,
        to_minutes: 150,
        reason: "复核签到表".into(),
        key: "correction:1".into(),
    }
    .into_new(Utc::now(), true);
    let keywords = subscribe_keywords(notice.kind, &notice.body, &notice.data);
    assert_eq!(keywords["date2"], "2026年12月5日");
    assert_eq!(keywords["phrase3"], "已更正");
    assert_eq!(keywords["thing1"].chars().count(), 20);
    assert!(keywords["thing1"].ends_with('…'));
    assert!(keywords["thing4"].chars().count() <= 20);
    assert!(notice.body.contains("3小时更正为2小时30分"), "{}", notice.body);
    for kind in [
        NotificationKind::LeftOpen,
        NotificationKind::FlagDecided,
        NotificationKind::LateEntryApproved,
        NotificationKind::Corrected,
        NotificationKind::PublicityStarted,
        NotificationKind::ObjectionDecided,
        NotificationKind::Recorded,
        NotificationKind::BatchConfirmed,
        NotificationKind::CertificateIssued,
        NotificationKind::CertificateDeclined,
        NotificationKind::SignupApproved,
        NotificationKind::SignupDeclined,
        NotificationKind::SignupMovedUp,
        NotificationKind::SignupReminder,
        NotificationKind::ActivityChanged,
        NotificationKind::ActivityCancelled,
        NotificationKind::GuardianCode,
    ] {
        assert!(kind.phrase().chars().count() <= 5, "{kind:?}");
        assert_eq!(NotificationKind::parse(kind.as_str()), Some(kind));
    }
}

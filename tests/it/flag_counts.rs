//! An activity's flag counts (how many, how many open, on how many volunteer-days) are
//! kept by the transactions that raise and decide flags, so the review and the board read
//! them instead of counting every flag. These tests hold the kept counts against the
//! flags themselves: after raises that overlap, raises from two writers at once, decisions,
//! and the migration that counted the flags already stored.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use hourmark_core::review::rules::{Finding, RuleCode};
use hourmark_core::review::{FlagCounts, FlagStatus, NewFlag};
use hourmark_core::store::FlaggedDays;
use hourmark_tests::{TestApp, on_both_backends};

use crate::event;

fn flag(app: &TestApp, activity_id: i64, volunteer_id: i64, rule: RuleCode, day: u32, key: &str) -> NewFlag {
    NewFlag {
        activity_id,
        finding: Finding {
            rule,
            volunteer_id,
            day: NaiveDate::from_ymd_opt(2026, 12, day).expect("day"),
            key: key.to_owned(),
            values: serde_json::json!({"seen": key}),
            explanation: "测试".to_owned(),
        },
        raised_at: app.clock_now(),
    }
}

/// The counts as the stored flags say, counted here from every flag.
async fn counted(app: &TestApp, activity_id: i64) -> (FlagCounts, u32) {
    let flags = app.hourmark.store().flags(activity_id).await.expect("flags");
    let open = flags.iter().filter(|f| f.status == FlagStatus::Open).count();
    let days: BTreeSet<_> = flags.iter().map(|f| (f.volunteer_id, f.day)).collect();
    let as_u32 = |n: usize| u32::try_from(n).expect("small");
    (FlagCounts { open: as_u32(open), days: as_u32(days.len()) }, as_u32(flags.len()))
}

/// The kept counts, and the board's total, agree with the flags.
async fn assert_kept(app: &TestApp, activity_id: i64) -> FlagCounts {
    let store = app.hourmark.store();
    let (expected, total) = counted(app, activity_id).await;
    assert_eq!(store.flag_counts(activity_id).await.expect("counts"), expected);
    let (newest, board_total) = store.newest_flags(activity_id, 2).await.expect("newest");
    assert_eq!(board_total, total, "the board's total is every flag");
    assert_eq!(newest.len(), usize::try_from(total.min(2)).expect("small"));
    expected
}

on_both_backends! {
    async fn kept_counts_follow_raises_and_decisions(app: TestApp) {
        let e = event(&app, "toggle").await;
        let (other, _) = app.volunteer("李四", "13800005678").await;
        let store = app.hourmark.store();
        assert_eq!(store.flag_counts(e.activity_id).await.expect("counts"), FlagCounts::default());
        assert_eq!(store.newest_flags(e.activity_id, 2).await.expect("newest").1, 0);

        // Two rules on one day count that day once; another day and another volunteer
        // are days of their own.
        let first = [
            flag(&app, e.activity_id, e.volunteer_id, RuleCode::OutsideGeofence, 5, "a"),
            flag(&app, e.activity_id, e.volunteer_id, RuleCode::ScanBurst, 5, "b"),
            flag(&app, e.activity_id, e.volunteer_id, RuleCode::OutsideGeofence, 6, "c"),
            flag(&app, e.activity_id, other, RuleCode::OutsideGeofence, 5, "d"),
        ];
        assert_eq!(store.raise_flags(&first, &mut FlaggedDays::default()).await.expect("raised"), 4);
        assert_eq!(assert_kept(&app, e.activity_id).await, FlagCounts { open: 4, days: 3 });

        // Raised again with one new flag on a day already flagged: only the new one
        // counts, and no day is added.
        let mut again = first.to_vec();
        again.push(flag(&app, e.activity_id, other, RuleCode::SharedDevice, 5, "e"));
        assert_eq!(store.raise_flags(&again, &mut FlaggedDays::default()).await.expect("raised"), 1);
        assert_eq!(assert_kept(&app, e.activity_id).await, FlagCounts { open: 5, days: 3 });

        // A decision closes one; deciding it again changes nothing.
        let decided = store.flags(e.activity_id).await.expect("flags")[0].id;
        let audit = hourmark_core::audit::AuditEvent {
            at: app.clock_now(),
            actor_kind: "staff".into(),
            actor_id: Some(1),
            action: "flag_accepted".into(),
            subject_kind: "activity".into(),
            subject_id: Some(e.activity_id),
            detail: serde_json::json!({}),
        };
        let at = app.clock_now();
        assert!(store.resolve_flag(decided, FlagStatus::Accepted, 1, "核实", None, at, &audit).await.expect("decided").is_some());
        assert!(store.resolve_flag(decided, FlagStatus::Rejected, 1, "再审", None, at, &audit).await.expect("again").is_none());
        assert_eq!(assert_kept(&app, e.activity_id).await, FlagCounts { open: 4, days: 3 });

        // Another activity's flags are counted apart.
        let second = app.activity(&e.organiser, e.organisation_id, serde_json::json!({})).await["id"].as_i64().expect("id");
        let both = [
            flag(&app, second, e.volunteer_id, RuleCode::OutsideGeofence, 7, "f"),
            flag(&app, e.activity_id, e.volunteer_id, RuleCode::OutsideGeofence, 7, "g"),
        ];
        assert_eq!(store.raise_flags(&both, &mut FlaggedDays::default()).await.expect("raised"), 2);
        assert_eq!(assert_kept(&app, second).await, FlagCounts { open: 1, days: 1 });
        assert_eq!(assert_kept(&app, e.activity_id).await, FlagCounts { open: 5, days: 4 });
    }
}

on_both_backends! {
    /// A pass raises in batches with one set of the days it has seen flagged: a batch does
    /// not read those days again, and still counts each day once, including a day another
    /// writer flagged meanwhile, which the set does not know.
    async fn batches_of_one_pass_count_each_day_once_with_the_days_seen(app: TestApp) {
        let e = event(&app, "toggle").await;
        let (other, _) = app.volunteer("李四", "13800005678").await;
        let store = app.hourmark.store();
        let mut known = FlaggedDays::default();
        let first = [
            flag(&app, e.activity_id, e.volunteer_id, RuleCode::OutsideGeofence, 5, "a"),
            flag(&app, e.activity_id, other, RuleCode::OutsideGeofence, 5, "b"),
        ];
        assert_eq!(store.raise_flags(&first, &mut known).await.expect("raised"), 2);
        assert_eq!(known.len(), 2, "both days seen: {known:?}");
        assert_eq!(assert_kept(&app, e.activity_id).await, FlagCounts { open: 2, days: 2 });

        let second = [
            flag(&app, e.activity_id, e.volunteer_id, RuleCode::ScanBurst, 5, "c"),
            flag(&app, e.activity_id, e.volunteer_id, RuleCode::OutsideGeofence, 6, "d"),
            flag(&app, e.activity_id, other, RuleCode::ScanBurst, 5, "e"),
        ];
        assert_eq!(store.raise_flags(&second, &mut known).await.expect("raised"), 3);
        assert_eq!(known.len(), 3);
        assert_eq!(assert_kept(&app, e.activity_id).await, FlagCounts { open: 5, days: 3 });

        // Another writer flags a new day; the pass then raises on it without knowing.
        let elsewhere = [flag(&app, e.activity_id, other, RuleCode::OutsideGeofence, 7, "f")];
        assert_eq!(store.raise_flags(&elsewhere, &mut FlaggedDays::default()).await.expect("raised"), 1);
        let late = [flag(&app, e.activity_id, other, RuleCode::ScanBurst, 7, "g")];
        assert_eq!(store.raise_flags(&late, &mut known).await.expect("raised"), 1);
        assert_eq!(assert_kept(&app, e.activity_id).await, FlagCounts { open: 7, days: 4 });
        assert_eq!(known.len(), 4, "the day read is known from now on");
    }
}

on_both_backends! {
    async fn two_writers_raising_on_the_same_new_days_count_each_day_once(app: TestApp) {
        let e = event(&app, "toggle").await;
        let mut volunteers = vec![e.volunteer_id];
        for i in 0..4 {
            volunteers.push(app.volunteer(&format!("志愿者{i}"), &format!("1380000{:04}", 6000 + i)).await.0);
        }
        // Twenty rounds of two raises at once, each on new days, with different rules:
        // on PostgreSQL they run in two transactions that would each see the day as new
        // if neither waited for the other.
        for day in 1..=20 {
            // A finding is the same finding by volunteer, rule and key: the day is in the key.
            let raise = |rule: RuleCode, key: &str| {
                let key = format!("{key}{day}");
                let flags: Vec<NewFlag> =
                    volunteers.iter().map(|v| flag(&app, e.activity_id, *v, rule, day, &key)).collect();
                let store = app.hourmark.store().clone();
                tokio::spawn(async move { store.raise_flags(&flags, &mut FlaggedDays::default()).await.expect("raised") })
            };
            let (a, b) = (raise(RuleCode::OutsideGeofence, "x"), raise(RuleCode::SharedDevice, "y"));
            assert_eq!(a.await.expect("a") + b.await.expect("b"), 2 * volunteers.len());
        }
        let kept = assert_kept(&app, e.activity_id).await;
        assert_eq!(kept, FlagCounts { open: 200, days: 100 });
    }
}

on_both_backends! {
    async fn the_migration_counts_flags_already_stored(app: TestApp) {
        let e = event(&app, "toggle").await;
        let (other, _) = app.volunteer("李四", "13800005678").await;
        let store = app.hourmark.store();
        let flags = [
            flag(&app, e.activity_id, e.volunteer_id, RuleCode::OutsideGeofence, 5, "a"),
            flag(&app, e.activity_id, e.volunteer_id, RuleCode::ScanBurst, 5, "b"),
            flag(&app, e.activity_id, other, RuleCode::OutsideGeofence, 6, "c"),
        ];
        store.raise_flags(&flags, &mut FlaggedDays::default()).await.expect("raised");
        let decided = store.flags(e.activity_id).await.expect("flags")[1].id;
        let audit = hourmark_core::audit::AuditEvent {
            at: app.clock_now(),
            actor_kind: "staff".into(),
            actor_id: Some(1),
            action: "flag_rejected".into(),
            subject_kind: "activity".into(),
            subject_id: Some(e.activity_id),
            detail: serde_json::json!({}),
        };
        store.resolve_flag(decided, FlagStatus::Rejected, 1, "误报", None, app.clock_now(), &audit).await.expect("decided");

        // The database as it was before migration 40, flags and all: the counts and the
        // index gone, and the migration not recorded.
        let undo = [
            "drop index review_flag_raised_ix",
            "drop table review_flag_count",
            "delete from _sqlx_migrations where version = 40",
        ];
        let url = app.database().url.clone();
        if url.starts_with("sqlite:") {
            let pool = sqlx::SqlitePool::connect(&url).await.expect("connect");
            for statement in undo {
                sqlx::query(statement).execute(&pool).await.expect(statement);
            }
            pool.close().await;
        } else {
            let pool = sqlx::PgPool::connect(&url).await.expect("connect");
            for statement in undo {
                sqlx::query(statement).execute(&pool).await.expect(statement);
            }
            pool.close().await;
        }
        assert_eq!(store.pending_migrations().await.expect("pending"), vec![40]);
        store.migrate().await.expect("migrate again");
        assert_eq!(assert_kept(&app, e.activity_id).await, FlagCounts { open: 2, days: 2 });
        assert_eq!(store.newest_flags(e.activity_id, 5).await.expect("newest").1, 3);
    }
}

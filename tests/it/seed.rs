//! `hourmark seed-benchmark` (issue 15): a register that looks like a year of use, written
//! in bulk for the benchmarks that must stay flat as data grows. What it writes is read
//! back through the API as any real activity would be; what it refuses changes nothing.

use hourmark_core::error::{CoreError, ErrorCode};
use hourmark_core::seed::{SEEDED_ORGANISATION, SeedPlan};
use hourmark_tests::on_both_backends;

const PLAN: SeedPlan = SeedPlan { volunteers: 250, scans: 1000, per_activity: 100, publish: true, register: false };

fn refused_with(result: Result<hourmark_core::seed::Seeded, CoreError>, code: ErrorCode) {
    match result {
        Err(CoreError::Refused { code: got, .. }) if got == code => {}
        other => panic!("expected {code:?}, got {other:?}"),
    }
}

on_both_backends! {
    async fn a_seeded_register_reads_like_a_year_of_activities(app: TestApp) {
        // Nobody to act as: refused, nothing written.
        refused_with(app.hourmark.seed_benchmark(PLAN, &|_| {}).await, ErrorCode::InvalidParameter);
        let e = crate::event(&app, "toggle").await;
        let before = app.hourmark.store().list_organisations(None).await.expect("list").len();
        // A plan that cannot be written: refused before anything is.
        let bad = SeedPlan { per_activity: 251, ..PLAN };
        refused_with(app.hourmark.seed_benchmark(bad, &|_| {}).await, ErrorCode::InvalidParameter);
        assert_eq!(app.hourmark.store().list_organisations(None).await.expect("list").len(), before);

        let heard = std::sync::Mutex::new(Vec::new());
        let seeded = app
            .hourmark
            .seed_benchmark(PLAN, &|step| heard.lock().expect("lock").push(step.to_owned()))
            .await
            .expect("seeded");
        assert_eq!((seeded.volunteers, seeded.activities, seeded.scans, seeded.published), (250, 5, 1000, 100));
        assert!(!heard.lock().expect("lock").is_empty(), "progress is reported");

        // The last activity (yesterday) holds its 100 volunteers, each with one session of
        // 120 to 219 minutes, exactly as if they had scanned.
        let list = app.sessions(&e.admin, seeded.last_activity_id).await;
        assert_eq!(list.len(), 100, "{list:?}");
        let mut minutes: Vec<i64> = list.iter().map(|s| s["minutes_credited"].as_i64().expect("minutes")).collect();
        minutes.sort_unstable();
        assert_eq!((minutes[0], minutes[99]), (120, 219), "{minutes:?}");
        // With `publish`, the last activity is finalised and its sessions are on the public
        // board today, with masked names (the seeded volunteers consented on paper).
        let board = app
            .call(reqwest::Method::GET, &format!("/api/v1/public/publicity?activity_id={}&limit=500", seeded.last_activity_id), None, None)
            .await;
        let lines = board.body.as_array().expect("lines");
        assert_eq!(lines.len(), 100, "{:?}", board.body);
        let mut on_board: Vec<i64> = lines.iter().map(|l| l["minutes"].as_i64().expect("minutes")).collect();
        on_board.sort_unstable();
        assert_eq!(on_board, minutes, "the board shows what the sessions credited");
        assert!(lines.iter().all(|l| l["status"] == "in_publicity" && l["name"].as_str().is_some_and(|n| n.starts_with("志*"))), "{lines:?}");
        let finalised = app.hourmark.store().finalisation(seeded.last_activity_id).await.expect("read");
        assert_eq!(finalised.map(|f| f.sessions.len()), Some(100));
        let organisations = app.hourmark.store().list_organisations(None).await.expect("list");
        assert!(organisations.iter().any(|o| o.id == seeded.organisation_id && o.name == SEEDED_ORGANISATION));

        // Seeding twice would double the history: refused, nothing more written.
        refused_with(app.hourmark.seed_benchmark(PLAN, &|_| {}).await, ErrorCode::InvalidParameter);
        assert_eq!(app.hourmark.store().list_organisations(None).await.expect("list").len(), organisations.len());
    }
}

on_both_backends! {
    async fn a_seeded_year_reaches_the_register_a_page_at_a_time_and_exports_whole(app: TestApp) {
        let e = crate::event(&app, "toggle").await;
        // Two activities of 600: the first, half a year ago, has been through publicity,
        // and its 600 sessions (more than one of the job's pages) enter the register; the
        // last, yesterday, is still in publicity.
        let plan = SeedPlan { volunteers: 600, scans: 2400, per_activity: 600, publish: false, register: true };
        let seeded = app.hourmark.seed_benchmark(plan, &|_| {}).await.expect("seeded");
        assert_eq!((seeded.activities, seeded.published, seeded.recorded), (2, 600, 600));
        let check = app.hourmark.verify_register().await.expect("verify");
        assert_eq!((check.entries, check.first_broken, check.recorded_without_entry), (600, None, 0));
        assert_eq!(app.hourmark.advance_publicity().await.expect("job"), 0, "each entry once");
        let register = app.hourmark.register_entries(0, 1000).await.expect("register");
        let mut people: Vec<i64> = register.iter().map(|r| r.volunteer_id).collect();
        people.sort_unstable();
        people.dedup();
        assert_eq!(people.len(), 600, "one entry per volunteer of the first activity");
        assert!(register.iter().all(|r| (120..220).contains(&r.minutes)), "the sessions' minutes");

        // One batch sends them all, and its export holds every entry once, in order.
        let batch = seeded.batch_id.expect("a batch");
        let export = app
            .client
            .get(app.url(&format!("/api/v1/report-batches/{batch}/export.csv")))
            .bearer_auth(&e.admin)
            .send()
            .await
            .expect("sent");
        assert_eq!(export.status(), 200);
        let text = export.text().await.expect("text");
        let seqs: Vec<i64> = text
            .lines()
            .skip(1)
            .map(|line| line.split(',').next().expect("seq").trim_matches('"').parse().expect("a number"))
            .collect();
        assert_eq!(seqs, (1..=600).collect::<Vec<i64>>());
    }
}

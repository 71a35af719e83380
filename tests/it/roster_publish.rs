//! A roster import's publish, all or nothing as every reader sees it. On SQLite it writes
//! 2,000 rows per transaction behind the import's state (`publishing` until one last
//! short transaction flips it); on PostgreSQL it is one transaction. Either way: a
//! publish that fails or is cut off part way shows nothing and is cleaned up, and a
//! reader during an import sees none of it or all of it.

use hourmark_core::audit::AuditEvent;
use hourmark_core::roster::RosterEntry;
use hourmark_core::roster::import::NewRosterImport;
use hourmark_core::store::exchange::PUBLISH_SLICE;
use hourmark_tests::{Backend, TestApp, on_both_backends};

use crate::exchange::{CSV, count, csv, organisation_with_organiser, roster_rows, spoil, visible_and_staged, written};

/// A keyed hash no real value has: `tag`, then `i`.
fn fake_lookup(tag: u8, i: u32) -> [u8; 32] {
    let mut hash = [tag; 32];
    hash[..4].copy_from_slice(&i.to_be_bytes());
    hash
}

/// `rows` new volunteers staged under `key` (as an import stages them, 500 per chunk),
/// copied from `template` with their own number, ID and phone; the row at `taken` (if
/// any) keeps the template's ID number, so publishing it fails as `id_number_taken`.
async fn stage(
    app: &TestApp,
    key: &str,
    template: &hourmark_core::identity::StoredVolunteer,
    rows: u32,
    taken: Option<u32>,
) {
    stage_from(app, key, template, 0, rows, taken).await;
}

/// [`stage`] at positions from `first` (the rows' own numbers still count from 0).
async fn stage_from(
    app: &TestApp,
    key: &str,
    template: &hourmark_core::identity::StoredVolunteer,
    first: u32,
    rows: u32,
    taken: Option<u32>,
) {
    let entries: Vec<RosterEntry> = (0..rows)
        .map(|i| {
            let mut volunteer = template.clone();
            volunteer.volunteer_number = format!("9{i:011}");
            volunteer.phone_lookup = fake_lookup(0xAA, i);
            if taken != Some(i) {
                volunteer.id_number_lookup = fake_lookup(0xBB, i);
            }
            RosterEntry::New { volunteer: Box::new(volunteer), consents: Vec::new() }
        })
        .collect();
    let mut entries = entries.into_iter().peekable();
    let mut first = first;
    while entries.peek().is_some() {
        let chunk: Vec<RosterEntry> = entries.by_ref().take(500).collect();
        let len = u32::try_from(chunk.len()).expect("len");
        app.hourmark.store().stage_roster(key, first, chunk, app.clock_now()).await.expect("staged");
        first += len;
    }
}

/// The import record and audit entry an import of `rows` new volunteers would write.
async fn new_import(app: &TestApp, admin: &str, organisation_id: i64, rows: u32) -> NewRosterImport {
    let staff_id = app.get("/api/v1/me", admin).await.body["staff"]["id"].as_i64().expect("staff id");
    NewRosterImport {
        organisation_id,
        imported_by: staff_id,
        file_digest: "00".repeat(32),
        file_name: Some("名册.csv".into()),
        counts: (rows, rows, 0),
        at: app.clock_now(),
        audit: AuditEvent {
            at: app.clock_now(),
            actor_kind: "staff".into(),
            actor_id: Some(staff_id),
            action: "roster_import".into(),
            subject_kind: "organisation".into(),
            subject_id: Some(organisation_id),
            detail: serde_json::json!({}),
        },
    }
}

on_both_backends! {
    /// A publish that fails in its second slice (a row's ID number is registered) shows
    /// nothing; on SQLite its first slice is written but invisible; the next import
    /// deletes it and imports as if nothing had happened.
    async fn a_publish_that_fails_part_way_shows_nothing_and_the_next_import_cleans_up(app: TestApp) {
        let e = crate::event(&app, "toggle").await;
        let template = app.hourmark.store().get_volunteer(e.volunteer_id).await.expect("read").expect("volunteer");
        let rows = u32::try_from(PUBLISH_SLICE).expect("slice") + 500;
        let (visible_before, _) = visible_and_staged(&app).await;
        let written_before = written(&app).await;
        stage(&app, "part-way", &template, rows, Some(rows - 1)).await;
        let import = new_import(&app, &e.admin, e.organisation_id, rows).await;
        let failed = app.hourmark.store().publish_roster("part-way", &import).await;
        assert!(failed.is_err(), "the last row's ID number is registered");

        let (visible, _) = visible_and_staged(&app).await;
        assert_eq!(visible, visible_before, "nothing of the failed import is visible");
        let left = written(&app).await;
        match app.backend {
            // The first slice was committed before the second failed, and stays invisible.
            Backend::Sqlite => assert_eq!(left[0], written_before[0] + PUBLISH_SLICE, "the first slice, hidden"),
            Backend::Postgres => assert_eq!(left, written_before, "one transaction, rolled back"),
        }
        assert_eq!(count(&app, "select count(*) from roster_import where state = 'failed'").await,
            i64::from(app.backend == Backend::Sqlite));
        let past = app.get(&format!("/api/v1/organisations/{}/roster-imports", e.organisation_id), &e.admin).await;
        past.expect_status(200);
        let states: Vec<&str> = past.body.as_array().expect("list").iter().map(|p| p["state"].as_str().expect("state")).collect();
        assert_eq!(states, if app.backend == Backend::Sqlite { vec!["failed"] } else { vec![] }, "{}", past.body);
        // No lookup finds a hidden volunteer: dedup, sign-in by phone, reading by id.
        let store = app.hourmark.store();
        assert!(store.volunteers_by_lookups(&[fake_lookup(0xBB, 0)], &[fake_lookup(0xAA, 0)]).await.expect("lookup").is_empty());
        assert_eq!(store.volunteer_by_phone(&fake_lookup(0xAA, 1)).await.expect("phone"), None);
        let hidden: Vec<i64> = (1..=5).map(|n| e.volunteer_id + n).collect();
        for id in hidden {
            assert!(store.get_volunteer(id).await.expect("read").is_none(), "volunteer {id} is hidden");
        }

        // The next import deletes what the failed one left, then imports.
        let organiser = e.organiser.clone();
        let imported = app.upload(&format!("/api/v1/organisations/{}/roster-imports", e.organisation_id),
            &organiser, csv(&roster_rows(3, 70_000)), CSV).await;
        imported.expect_status(201);
        let after = written(&app).await;
        assert_eq!(after[0], written_before[0] + 3, "only the next import's volunteers");
        assert_eq!(after[1], written_before[1] + 3);
        let (visible, _) = visible_and_staged(&app).await;
        assert_eq!(visible[0], visible_before[0] + 3);
    }
}

/// A publish cut off part way (the process died) leaves its import `publishing` and its
/// first slices invisible; at the next start they are deleted. SQLite only: PostgreSQL
/// publishes in one transaction, which a dying process rolls back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publish_cut_off_part_way_is_cleaned_up_at_start() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let e = crate::event(&app, "toggle").await;
    let template = app.hourmark.store().get_volunteer(e.volunteer_id).await.expect("read").expect("volunteer");
    let rows = u32::try_from(PUBLISH_SLICE).expect("slice") * 4;
    let (visible_before, _) = visible_and_staged(&app).await;
    let written_before = written(&app).await;
    stage(&app, "cut-off", &template, rows, None).await;
    let import = new_import(&app, &e.admin, e.organisation_id, rows).await;
    let publishing = app.hourmark.store().publish_roster("cut-off", &import);
    let first_slice = async {
        while written(&app).await[0] == written_before[0] {
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
    };
    tokio::select! {
        done = publishing => panic!("the publish ended before it was cut off: {:?}", done.map(|r| r.id)),
        () = first_slice => {}
    }
    // The publish is gone here, as with a process that died.
    assert_eq!(visible_and_staged(&app).await.0, visible_before, "nothing of it is visible");
    assert!(written(&app).await[0] > written_before[0], "some slices were written");
    assert_eq!(count(&app, "select count(*) from roster_import where state = 'publishing'").await, 1);

    assert_eq!(app.hourmark.recover_roster_imports().await.expect("recovered"), 1);
    assert_eq!(written(&app).await, written_before, "what it wrote is deleted");
    assert_eq!(count(&app, "select count(*) from roster_import where state = 'failed'").await, 1);
    assert_eq!(app.hourmark.recover_roster_imports().await.expect("again"), 0);
}

on_both_backends! {
    /// A reader during a 10,000-row import (five slices on SQLite) sees either none of it
    /// or all of it: volunteers, roster links, published imports. On SQLite the rows are
    /// seen written while still invisible, so the publish really was in slices.
    async fn a_reader_never_sees_part_of_an_import(app: TestApp) {
        const ROWS: u32 = 10_000;
        let (_, org, organiser) = organisation_with_organiser(&app).await;
        let (before, _) = visible_and_staged(&app).await;
        let written_before = written(&app).await;
        let done = std::sync::atomic::AtomicBool::new(false);
        let importing = async {
            let answer = app.upload(&format!("/api/v1/organisations/{org}/roster-imports"), &organiser,
                csv(&roster_rows(ROWS, 80_000)), CSV).await;
            done.store(true, std::sync::atomic::Ordering::SeqCst);
            answer
        };
        let reading = async {
            let (mut reads, mut hidden_seen) = (0, 0);
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                // Written rows first, then what is visible: rows written before a reader
                // that came after them still sees nothing were written invisibly.
                let written_now = written(&app).await[0];
                let (visible, _) = visible_and_staged(&app).await;
                let all = if visible[0] == before[0] {
                    before
                } else {
                    [before[0] + i64::from(ROWS), before[1] + 1, before[2] + i64::from(ROWS), before[3] + 3 * i64::from(ROWS)]
                };
                assert_eq!(visible, all, "a reader saw part of an import");
                if visible == before && written_now > written_before[0] {
                    hidden_seen += 1;
                }
                reads += 1;
            }
            (reads, hidden_seen)
        };
        let (imported, (reads, hidden_seen)) = tokio::join!(importing, reading);
        imported.expect_status(201);
        assert_eq!(imported.body["registered"], ROWS);
        println!("{reads} reads during the import, {hidden_seen} saw rows written but not yet visible");
        assert!(reads >= 10, "the reader read {reads} times");
        if app.backend == Backend::Sqlite {
            assert!(hidden_seen > 0, "the publish wrote slices before it flipped the import");
        }
        let (visible, staged) = visible_and_staged(&app).await;
        assert_eq!(visible[0], before[0] + i64::from(ROWS));
        assert_eq!(staged, 0);
    }
}

on_both_backends! {
    /// The organisation's past imports, newest first: when, by whom, the file's name, rows
    /// imported or refused, and the state; a refused import is listed too. Bad paths: a
    /// file name too long or with a control character, an unknown or malformed
    /// organisation, another organisation's organiser, a volunteer.
    async fn past_imports_list_every_attempt_newest_first(app: TestApp) {
        let (admin, org, organiser) = organisation_with_organiser(&app).await;
        let path = format!("/api/v1/organisations/{org}/roster-imports");
        let empty = app.get(&path, &organiser).await;
        empty.expect_status(200);
        assert_eq!(empty.body, serde_json::json!([]));

        let named = |name: &str| format!("{path}?file_name={name}");
        let good = app.upload(&named("%E8%8A%B1%E5%90%8D%E5%86%8C.csv"), &organiser, csv(&roster_rows(4, 90_000)), CSV).await;
        good.expect_status(201);
        assert_eq!(good.body["file_name"], "花名册.csv");
        assert_eq!(good.body["state"], "published");
        assert_eq!(good.body["refused_rows"], 0);
        let mut bad_rows = roster_rows(3, 91_000);
        bad_rows[1] = spoil(&bad_rows[1]);
        app.upload(&named("bad.csv"), &organiser, csv(&bad_rows), CSV).await.expect_problem(422, "roster_invalid");
        // No file name at all is fine; a bad one is refused before anything is read.
        let long = "a".repeat(256);
        app.upload(&named(&long), &organiser, csv(&bad_rows), CSV).await.expect_problem(400, "invalid_parameter");
        app.upload(&named("a%0Ab.csv"), &organiser, csv(&bad_rows), CSV).await.expect_problem(400, "invalid_parameter");

        let past = app.get(&path, &organiser).await;
        past.expect_status(200);
        let list = past.body.as_array().expect("list");
        assert_eq!(list.len(), 2, "{}", past.body);
        let (refused, published) = (&list[0], &list[1]);
        assert_eq!(refused["state"], "refused");
        assert_eq!(refused["file_name"], "bad.csv");
        assert_eq!((refused["rows"].as_i64(), refused["refused_rows"].as_i64()), (Some(3), Some(1)));
        assert_eq!((refused["registered"].as_i64(), refused["linked"].as_i64()), (Some(0), Some(0)));
        assert_eq!(published["state"], "published");
        assert_eq!(published["id"], good.body["id"]);
        assert_eq!((published["rows"].as_i64(), published["registered"].as_i64()), (Some(4), Some(4)));
        let me = app.get("/api/v1/me", &organiser).await;
        assert_eq!(published["imported_by_name"], me.body["staff"]["name"]);
        assert_eq!(published["imported_by"], me.body["staff"]["id"]);
        assert!(published["created_at"].as_str().is_some_and(|t| t.ends_with("+08:00")), "{}", published);
        // Administrators see it too; nobody else.
        assert_eq!(app.get(&path, &admin).await.body, past.body);
        let other = app.organisation(&admin, "另一个协会").await;
        let other_organiser = app.organiser(&admin, other).await;
        app.get(&path, &other_organiser).await.expect_problem(404, "not_found");
        let (_, volunteer) = app.volunteer("王五", "13700001111").await;
        assert_eq!(app.get(&path, &volunteer).await.status, 403);
        app.get("/api/v1/organisations/999999/roster-imports", &admin).await.expect_problem(404, "not_found");
        app.get("/api/v1/organisations/x/roster-imports", &admin).await.expect_problem(400, "invalid_parameter");
    }
}

/// Visible roster links of `volunteer_id` to `organisation_id`.
async fn on_roster(app: &TestApp, organisation_id: i64, volunteer_id: i64) -> i64 {
    let sql = format!(
        "select count(*) from roster_member m where m.organisation_id = {organisation_id}
             and m.volunteer_id = {volunteer_id}
             and (m.roster_import_id is null or exists
                  (select 1 from roster_import i where i.id = m.roster_import_id and i.state = 'published'))"
    );
    count(app, Box::leak(sql.into_boxed_str())).await
}

on_both_backends! {
    /// Two imports of one organisation list the same registered volunteer; the first fails
    /// in its last slice while the second is published. The second's link must stand. On
    /// SQLite, with the two publishes' slices interleaved, the second found the first's
    /// (still invisible) link, kept it, and lost it when the failed import's rows were
    /// deleted: the volunteer was on no roster although the second import said so. One
    /// publish at a time, each first deleting what failed before it, keeps it.
    async fn a_roster_link_shared_with_an_import_that_fails_is_kept(app: TestApp) {
        let e = crate::event(&app, "toggle").await;
        let store = app.hourmark.store();
        let template = store.get_volunteer(e.volunteer_id).await.expect("read").expect("volunteer");
        assert_eq!(on_roster(&app, e.organisation_id, e.volunteer_id).await, 0);
        let written_before = written(&app).await;
        let shared = || vec![RosterEntry::Existing { volunteer_id: e.volunteer_id }];
        // The first: the shared volunteer in its first slice, and a registered ID number
        // in its third.
        let rows = u32::try_from(PUBLISH_SLICE).expect("slice") * 2 + 500;
        store.stage_roster("first", 0, shared(), app.clock_now()).await.expect("staged");
        stage_from(&app, "first", &template, 1, rows, Some(rows - 1)).await;
        let mut first = new_import(&app, &e.admin, e.organisation_id, rows + 1).await;
        first.counts = (rows + 1, rows, 1);
        store.stage_roster("second", 0, shared(), app.clock_now()).await.expect("staged");
        let mut second = new_import(&app, &e.admin, e.organisation_id, 1).await;
        second.counts = (1, 0, 1);

        let failing = store.publish_roster("first", &first);
        let publishing = async {
            if app.backend == Backend::Sqlite {
                // Once the first has written its link (invisibly), as in the lost case.
                while written(&app).await[1] == written_before[1] {
                    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                }
            }
            store.publish_roster("second", &second).await
        };
        let (failed, published) = tokio::join!(failing, publishing);
        assert!(failed.is_err(), "the first import's last row has a registered ID number");
        let published = published.expect("the second import is published");
        assert_eq!(published.linked, 1);

        assert_eq!(on_roster(&app, e.organisation_id, e.volunteer_id).await, 1, "the second import's link stands");
        let roster = app.get(&format!("/api/v1/organisations/{}/roster-imports", e.organisation_id), &e.admin).await;
        let states: Vec<&str> = roster.body.as_array().expect("list").iter().map(|p| p["state"].as_str().expect("state")).collect();
        let expected = if app.backend == Backend::Sqlite { vec!["published", "failed"] } else { vec!["published"] };
        assert_eq!(states, expected, "{}", roster.body);
        // Nothing else of the failed import is left: its volunteers and its links went.
        assert_eq!(written(&app).await, [written_before[0], written_before[1] + 1, written_before[2]]);
    }
}

on_both_backends! {
    /// What a publish that failed part way wrote (SQLite: its first slice, invisible) is
    /// erased by the retention job, not only by the next import or the next start, and
    /// the job's audit entry counts it. PostgreSQL rolls the failed publish back, so
    /// there is nothing for the job to find.
    async fn the_retention_job_erases_what_a_failed_import_wrote(app: TestApp) {
        let e = crate::event(&app, "toggle").await;
        let template = app.hourmark.store().get_volunteer(e.volunteer_id).await.expect("read").expect("volunteer");
        let rows = u32::try_from(PUBLISH_SLICE).expect("slice") + 10;
        let written_before = written(&app).await;
        stage(&app, "fails", &template, rows, Some(rows - 1)).await;
        let import = new_import(&app, &e.admin, e.organisation_id, rows).await;
        assert!(app.hourmark.store().publish_roster("fails", &import).await.is_err());
        let left = written(&app).await;
        let left_rows: i64 = left.iter().zip(written_before).map(|(l, b)| l - b).sum();
        match app.backend {
            // The first slice's volunteers and their roster links.
            Backend::Sqlite => assert_eq!(left_rows, 2 * PUBLISH_SLICE),
            Backend::Postgres => assert_eq!(left_rows, 0),
        }

        let erased = app.hourmark.erase_outlived_data().await.expect("erase");
        assert_eq!(erased.failed_import_rows, u64::try_from(left_rows).expect("rows"));
        assert_eq!(written(&app).await, written_before, "nothing of the failed import is left");
        let audited = count(&app, "select count(*) from audit_event where action = 'retention_erased'").await;
        assert_eq!(audited, i64::from(app.backend == Backend::Sqlite), "the erasure is audited when anything went");
        assert_eq!(app.hourmark.erase_outlived_data().await.expect("again").failed_import_rows, 0);
    }
}

//! The store's contract, asked of the store itself on both engines: the promises the domain
//! builds on and the API cannot easily provoke (two uses of one nonce in the same batch, a
//! register append whose guard no longer holds, a decision with nothing left to decide).
//! Each engine implements every area on its own, so each promise is checked on each.

use std::sync::Arc;

use chrono::NaiveDate;
use hourmark_core::audit::AuditEvent;
use hourmark_core::corrections::{CorrectionField, CorrectionStatus};
use hourmark_core::identity::{
    ConsentPurpose, ConsentRecord, Gender, IdType, Principal, StoredVolunteer, WeChatIdentity,
};
use hourmark_core::publicity::{
    NewPublicity, NewRegisterEntry, PublicityRow, PublicityStatus, Recording, RegisterGuard, RegisterKind,
};
use hourmark_core::reporting::BatchStatus;
use hourmark_core::review::FlagStatus;
use hourmark_core::review::correction::Decided;
use hourmark_core::review::finalise::LateEntryStatus;
use hourmark_core::review::record::ComplaintStatus;
use hourmark_core::store::{NewRegistration, NewScan, Store, StoredAnswer};
use hourmark_tests::{TestApp, on_both_backends};
use uuid::Uuid;

use crate::event;

/// A refused scan (no direction, no sequence number): the simplest row a batch can carry.
fn refused(app: &TestApp, volunteer_id: i64, activity_id: i64, nonce: Uuid, body: &str) -> NewScan {
    NewScan {
        id: Uuid::now_v7(),
        volunteer_id,
        client_nonce: nonce,
        activity_id: Some(activity_id),
        gate: Some(0),
        direction: None,
        seq: None,
        outcome: "code_expired".into(),
        server_time: app.clock_now(),
        uploaded_at: None,
        client_time: None,
        code_window: None,
        key_id: None,
        distance_m: None,
        accuracy_m: None,
        geofence: None,
        device_id: None,
        network: None,
        answer: StoredAnswer { status: 422, body: format!(r#"{{"which":"{body}"}}"#) },
    }
}

/// An accepted arrival numbered `seq` in the volunteer's order.
fn accepted(app: &TestApp, volunteer_id: i64, activity_id: i64, seq: u32, body: &str) -> NewScan {
    NewScan {
        direction: Some(hourmark_core::attendance::Direction::In),
        seq: Some(seq),
        outcome: "checked_in".into(),
        answer: StoredAnswer { status: 200, body: format!(r#"{{"which":"{body}"}}"#) },
        ..refused(app, volunteer_id, activity_id, Uuid::new_v4(), body)
    }
}

/// An audit entry about a subject no test touches otherwise, to see whether it was written.
fn audit(app: &TestApp) -> AuditEvent {
    AuditEvent {
        at: app.clock_now(),
        actor_kind: "staff".into(),
        actor_id: Some(1),
        action: "contract_decision".into(),
        subject_kind: "contract".into(),
        subject_id: Some(7),
        detail: serde_json::json!({}),
    }
}

on_both_backends! {
    async fn a_nonce_used_twice_in_one_batch_is_written_once(app: TestApp) {
        let e = event(&app, "toggle").await;
        let store = app.hourmark.store();
        let nonce = Uuid::new_v4();
        let batch = [
            refused(&app, e.volunteer_id, e.activity_id, nonce, "first"),
            refused(&app, e.volunteer_id, e.activity_id, Uuid::new_v4(), "other"),
            refused(&app, e.volunteer_id, e.activity_id, nonce, "again"),
        ];
        let written = store.insert_scans(&batch).await.expect("batch");
        assert_eq!(written.len(), 3, "one answer per input, in order");
        assert!(written[1], "a fresh nonce is written");
        assert!(written[0] ^ written[2], "exactly one use of the nonce is written: {written:?}");
        assert_eq!(store.count_scans(e.volunteer_id).await.expect("count"), 2);
        // The answer kept is the one of the scan reported written, for every retry to replay.
        let kept = if written[0] { &batch[0] } else { &batch[2] };
        assert_eq!(store.find_scan_answer(e.volunteer_id, nonce).await.expect("answer"), Some(kept.answer.clone()));
        // In a later batch too, the nonce is spent: nothing written, the earlier answer stands.
        let later = refused(&app, e.volunteer_id, e.activity_id, nonce, "later");
        assert_eq!(store.insert_scans(&[later]).await.expect("batch"), vec![false]);
        assert_eq!(store.count_scans(e.volunteer_id).await.expect("count"), 2);
        assert_eq!(store.find_scan_answer(e.volunteer_id, nonce).await.expect("answer"), Some(kept.answer.clone()));
        // The same nonce is another volunteer's to use.
        let (other_id, _) = app.volunteer("李四", "13800005678").await;
        let theirs = refused(&app, other_id, e.activity_id, nonce, "theirs");
        assert_eq!(store.insert_scans(&[theirs]).await.expect("batch"), vec![true]);
        assert!(store.insert_scans(&[]).await.expect("empty batch").is_empty());
    }
}

on_both_backends! {
    /// A volunteer's scan number taken by a scan decided elsewhere (another instance) is not
    /// written, whether that scan came in an earlier batch or earlier in the same one, and
    /// the rest of the batch is. (On PostgreSQL a batch is first written with the nonce as
    /// its only expected conflict, and written again allowing every conflict when it meets
    /// a taken number: `postgres/scan_batches.rs`.)
    async fn a_scan_number_already_taken_is_not_written_and_its_neighbours_are(app: TestApp) {
        let e = event(&app, "toggle").await;
        let (other_id, _) = app.volunteer("李四", "13800005678").await;
        let store = app.hourmark.store();
        let arrival = |volunteer_id: i64, seq: u32, body: &str| accepted(&app, volunteer_id, e.activity_id, seq, body);
        let first = arrival(e.volunteer_id, 1, "first");
        assert_eq!(store.insert_scans(std::slice::from_ref(&first)).await.expect("batch"), vec![true]);
        let batch = [
            arrival(e.volunteer_id, 1, "taken"),
            arrival(e.volunteer_id, 2, "next"),
            arrival(other_id, 1, "theirs"),
            arrival(other_id, 1, "theirs again"),
        ];
        let written = store.insert_scans(&batch).await.expect("batch");
        assert_eq!(written, vec![false, true, true, false], "one answer per input, in order");
        assert_eq!(store.find_scan_answer(e.volunteer_id, batch[0].client_nonce).await.expect("answer"), None);
        assert_eq!(store.find_scan_answer(e.volunteer_id, first.client_nonce).await.expect("answer"), Some(first.answer.clone()));
        assert_eq!(store.find_scan_answer(other_id, batch[3].client_nonce).await.expect("answer"), None);
        let mut kept: Vec<Uuid> =
            store.accepted_scans(e.activity_id, None).await.expect("scans").into_iter().map(|s| s.id).collect();
        kept.sort();
        let mut expected = vec![first.id, batch[1].id, batch[2].id];
        expected.sort();
        assert_eq!(kept, expected, "the first, the next and theirs");
    }
}

on_both_backends! {
    /// A live board's read of new scans names a volunteer on their first scan (number 1),
    /// where the board's book meets them, and on no other: the volunteer table is not read
    /// for every scan of a busy second.
    async fn new_scans_name_a_volunteer_on_their_first_only(app: TestApp) {
        let e = event(&app, "toggle").await;
        let (other_id, _) = app.volunteer("李四", "13800005678").await;
        let store = app.hourmark.store();
        let first = [accepted(&app, other_id, e.activity_id, 1, "1"), accepted(&app, other_id, e.activity_id, 2, "2")];
        assert_eq!(store.insert_scans(&first).await.expect("batch"), vec![true, true]);
        let (mut scans, cursor) = store.accepted_scans_after(e.activity_id, None).await.expect("every scan");
        scans.sort_by_key(|n| n.seq);
        let named: Vec<(u32, &str)> = scans.iter().map(|n| (n.seq, n.scan.volunteer_name.as_str())).collect();
        assert_eq!(named, vec![(1, "李四"), (2, "")]);
        let third = accepted(&app, other_id, e.activity_id, 3, "3");
        assert_eq!(store.insert_scans(std::slice::from_ref(&third)).await.expect("batch"), vec![true]);
        // A read after the cursor may give earlier scans again (PostgreSQL); the new one is there, unnamed.
        let (later, _) = store.accepted_scans_after(e.activity_id, cursor).await.expect("new scans");
        let new = later.iter().find(|n| n.scan.id == third.id).expect("the new scan is read");
        assert_eq!((new.seq, new.scan.volunteer_name.as_str()), (3, ""));
    }
}

/// Asserts that the register is still empty and the publicity entry still in publicity.
/// Puts the event's volunteer's day `served` in publicity from `published_on` to
/// `ends_on`; answers the entry and the original that would record it (its content
/// agreeing with its columns, as verification checks).
async fn published(
    app: &TestApp,
    e: &crate::Event,
    served: &str,
    minutes: u32,
    published_on: &str,
    ends_on: &str,
) -> (PublicityRow, NewRegisterEntry) {
    let day = |d: &str| NaiveDate::parse_from_str(d, "%Y-%m-%d").expect("day");
    let store = app.hourmark.store();
    let publicity = NewPublicity {
        volunteer_id: e.volunteer_id,
        day: day(served),
        minutes,
        published_on: day(published_on),
        working_days: 3,
        ends_on: Some(day(ends_on)),
    };
    store.add_publicity(e.activity_id, &publicity, app.clock_now()).await.expect("published");
    let entry =
        store.publicity_entry_for(e.activity_id, e.volunteer_id, day(served)).await.expect("read").expect("the entry");
    let original = NewRegisterEntry {
        kind: RegisterKind::Original,
        publicity_entry_id: entry.id,
        organisation_id: e.organisation_id,
        volunteer_id: e.volunteer_id,
        minutes: i64::from(minutes),
        content: serde_json::json!({
            "day": served,
            "minutes": minutes,
            "organisation_id": e.organisation_id,
            "volunteer_id": e.volunteer_id,
        })
        .to_string(),
    };
    (entry, original)
}

fn recording(entry: &NewRegisterEntry, guard: RegisterGuard) -> Recording {
    Recording { entries: vec![entry.clone()], guard }
}

async fn nothing_written(store: &Arc<dyn Store>, entry_id: i64) {
    assert!(store.register_page(0, 10).await.expect("register").is_empty(), "nothing appended");
    let now = store.publicity_entry(entry_id).await.expect("read").expect("entry");
    assert_eq!(now.status, PublicityStatus::InPublicity, "not marked recorded");
}

on_both_backends! {
    async fn a_register_append_whose_guard_no_longer_holds_writes_nothing(app: TestApp) {
        let e = event(&app, "toggle").await;
        let store = app.hourmark.store();
        let day = |d: &str| NaiveDate::parse_from_str(d, "%Y-%m-%d").expect("day");
        let (entry, original) = published(&app, &e, "2026-12-05", 180, "2026-12-05", "2026-12-09").await;
        let guard = |minutes: u32, published_on: &str, standing: Option<i64>| RegisterGuard::Recording {
            entry_id: entry.id,
            minutes,
            published_on: day(published_on),
            standing,
        };
        // Content built from other minutes, another publication day, or against a register
        // entry that does not stand: each refused, nothing written.
        for stale in [guard(120, "2026-12-05", None), guard(180, "2026-12-04", None), guard(180, "2026-12-05", Some(1))] {
            assert_eq!(store.append_register(&[recording(&original, stale)], app.clock_now()).await.expect("append"), [false]);
            nothing_written(store, entry.id).await;
        }
        // An entry that does not exist guards nothing.
        let missing = RegisterGuard::Recording { entry_id: entry.id + 1000, minutes: 180, published_on: day("2026-12-05"), standing: None };
        assert_eq!(store.append_register(&[recording(&original, missing)], app.clock_now()).await.expect("append"), [false]);
        nothing_written(store, entry.id).await;

        // The guard that holds appends, chained from the start, and marks the entry recorded.
        let holds = guard(180, "2026-12-05", None);
        assert_eq!(store.append_register(&[recording(&original, holds.clone())], app.clock_now()).await.expect("append"), [true]);
        let register = store.register_page(0, 10).await.expect("register");
        assert_eq!(register.len(), 1);
        assert_eq!((register[0].seq, register[0].minutes), (1, 180));
        let recorded = store.publicity_entry(entry.id).await.expect("read").expect("entry");
        assert_eq!(recorded.status, PublicityStatus::Recorded);
        // The same guard again no longer holds: the entry is recorded, nothing is appended twice.
        assert_eq!(store.append_register(&[recording(&original, holds)], app.clock_now()).await.expect("append"), [false]);
        assert_eq!(store.register_page(0, 10).await.expect("register").len(), 1);
        let standing = store.standing_register_entries(&[entry.id, entry.id + 1000]).await.expect("read");
        assert_eq!(standing.iter().map(|r| r.seq).collect::<Vec<_>>(), [1], "only the entry in the register");
    }
}

on_both_backends! {
    async fn recordings_appended_together_go_in_each_by_its_own_guard(app: TestApp) {
        let e = event(&app, "toggle").await;
        let store = app.hourmark.store();
        let day = |d: &str| NaiveDate::parse_from_str(d, "%Y-%m-%d").expect("day");
        let mut recordings = Vec::new();
        let mut entries = Vec::new();
        for (n, served) in ["2026-12-05", "2026-12-06", "2026-12-07"].into_iter().enumerate() {
            let (entry, original) = published(&app, &e, served, 60, "2026-12-08", "2026-12-10").await;
            // The second was built from minutes the entry no longer has.
            let minutes = if n == 1 { 45 } else { 60 };
            let guard = RegisterGuard::Recording { entry_id: entry.id, minutes, published_on: day("2026-12-08"), standing: None };
            recordings.push(recording(&original, guard));
            entries.push(entry.id);
        }
        let appended = store.append_register(&recordings, app.clock_now()).await.expect("append");
        assert_eq!(appended, [true, false, true]);
        // The two that held are chained one after the other, with nothing in between.
        let register = store.register_page(0, 10).await.expect("register");
        assert_eq!(
            register.iter().map(|r| (r.seq, r.publicity_entry_id)).collect::<Vec<_>>(),
            [(1, Some(entries[0])), (2, Some(entries[2]))]
        );
        assert_eq!(register[1].previous_hash, register[0].hash);
        let check = app.hourmark.verify_register().await.expect("verify");
        assert_eq!((check.entries, check.first_broken), (2, None));
        let refused = store.publicity_entry(entries[1]).await.expect("read").expect("entry");
        assert_eq!(refused.status, PublicityStatus::InPublicity, "the stale one is not marked recorded");
        for recorded in [entries[0], entries[2]] {
            let entry = store.publicity_entry(recorded).await.expect("read").expect("entry");
            assert_eq!(entry.status, PublicityStatus::Recorded);
        }
        let standing = store.standing_register_entries(&entries).await.expect("read");
        assert_eq!(standing.iter().map(|r| r.seq).collect::<Vec<_>>(), [1, 2]);
    }
}

on_both_backends! {
    async fn a_decision_that_finds_nothing_to_decide_changes_nothing(app: TestApp) {
        let e = event(&app, "toggle").await;
        let store = app.hourmark.store();
        let at = app.clock_now();
        let audit = audit(&app);
        let missing = 987_654;
        // Nothing by that id: every decision says so, and writes no audit entry.
        assert!(store.resolve_flag(missing, FlagStatus::Accepted, 1, "核实", None, at, &audit).await.expect("flag").is_none());
        assert!(store
            .decide_correction(missing, CorrectionStatus::Rejected, 1, "不符", at, None, &audit)
            .await
            .expect("correction")
            .is_none());
        assert!(store
            .decide_late_entry(missing, LateEntryStatus::Approved, 1, "核实", at, &audit)
            .await
            .expect("late entry")
            .is_none());
        assert!(store.decide_batch(missing, BatchStatus::Confirmed, 1, None, at, &audit).await.expect("batch").is_none());
        assert!(matches!(
            store.decide_session_correction(missing, true, 1, "核实", at, &audit).await.expect("proposal"),
            Decided::NotFound
        ));
        assert!(store
            .complaint_step(missing, &[ComplaintStatus::Filed], ComplaintStatus::Dismissed, 1, "不成立", at, Some(&audit))
            .await
            .expect("complaint")
            .is_none());
        assert!(store.audit_events("contract", 7).await.expect("audit").is_empty(), "no decision was recorded");

        // A request decided once: deciding it again finds nothing open, changes nothing and
        // records nothing more.
        let request = store
            .add_correction(e.volunteer_id, CorrectionField::Other, "补录一次服务", "漏记", at)
            .await
            .expect("filed");
        let decided = store
            .decide_correction(request.id, CorrectionStatus::Rejected, 1, "无记录", at, None, &audit)
            .await
            .expect("decided")
            .expect("it was open");
        assert_eq!(decided.status, CorrectionStatus::Rejected);
        assert_eq!(store.audit_events("contract", 7).await.expect("audit").len(), 1);
        assert!(store
            .decide_correction(request.id, CorrectionStatus::Accepted, 1, "改判", at, None, &audit)
            .await
            .expect("again")
            .is_none());
        let stands = store.get_correction(request.id).await.expect("read").expect("request");
        assert_eq!((stands.status, stands.decision_reason.as_deref()), (CorrectionStatus::Rejected, Some("无记录")));
        assert_eq!(store.audit_events("contract", 7).await.expect("audit").len(), 1, "the second decision wrote nothing");
    }
}

/// A person as the registration use case hands them to the store, with made-up sealed
/// values and keyed hashes (the store keeps what it is given), `n` keeping them apart.
fn person(n: u8, at: chrono::DateTime<chrono::Utc>) -> StoredVolunteer {
    StoredVolunteer {
        id: 0,
        volunteer_number: format!("9{n:011}"),
        name: format!("合约{n}"),
        gender: Gender::Female,
        birth_month: "1990-01".into(),
        id_type: IdType::Passport,
        id_number_sealed: format!("sealed-id-{n}"),
        id_number_lookup: [n; 32],
        phone_sealed: format!("sealed-phone-{n}"),
        phone_lookup: [n.wrapping_add(100); 32],
        skills: vec!["急救".into()],
        device_id: Some(format!("device-{n}")),
        device_bound_at: Some(at),
    }
}

on_both_backends! {
    /// A registration is written whole or not at all: the volunteer, every consent (a
    /// minor's guardian's too), the WeChat binding and the first token; a conflict in any
    /// of them (here the token's hash, which the API cannot provoke) leaves none of the
    /// rest behind. (On PostgreSQL it is one statement: `postgres/volunteers.rs`.)
    async fn a_registration_is_written_whole_or_not_at_all(app: TestApp) {
        let store = app.hourmark.store();
        let at = app.clock_now();
        let consent = |purpose, granted| ConsentRecord { purpose, granted, notice_version: "v7".into(), recorded_at: at };
        let consents =
            [consent(ConsentPurpose::Record, true), consent(ConsentPurpose::Publicity, false), consent(ConsentPurpose::Location, true)];
        let guardian = consent(ConsentPurpose::Guardian, true);
        let mini_program = WeChatIdentity { openid: "contract-mp".into(), unionid: Some("contract-union".into()), official_account: false };
        let expires = at + chrono::Duration::days(1);
        let first = person(1, at);
        let registration = NewRegistration {
            volunteer: &first,
            consents: &consents,
            guardian: Some((&guardian, "sealed-guardian")),
            wechat: Some(&mini_program),
            token: (&[41; 32], expires),
            at,
        };
        let stored = store.create_volunteer(&registration).await.expect("registered");
        let read = store.get_volunteer(stored.id).await.expect("read").expect("stored");
        assert_eq!(
            (read.volunteer_number.as_str(), read.name.as_str(), read.device_id.as_deref(), read.skills.as_slice()),
            ("900000000001", "合约1", Some("device-1"), &["急救".to_owned()][..])
        );
        let mut kept: Vec<_> = store.consents(stored.id).await.expect("consents").into_iter().map(|c| (c.purpose, c.granted)).collect();
        kept.sort_by_key(|(purpose, _)| purpose.as_str());
        assert_eq!(
            kept,
            vec![
                (ConsentPurpose::Guardian, true),
                (ConsentPurpose::Location, true),
                (ConsentPurpose::Publicity, false),
                (ConsentPurpose::Record, true),
            ]
        );
        assert_eq!(store.volunteer_by_openid("contract-mp").await.expect("binding"), Some(stored.id));
        let grant = store.find_access_token(&[41; 32]).await.expect("token").expect("issued");
        assert_eq!(grant.principal, Principal::Volunteer { id: stored.id });

        // Another person whose token hash happens to be taken: refused, and nothing of
        // theirs is left behind (no volunteer by their ID or phone, no binding).
        let second = person(2, at);
        let official = WeChatIdentity { openid: "contract-oa".into(), unionid: None, official_account: true };
        let registration =
            NewRegistration { volunteer: &second, guardian: None, wechat: Some(&official), ..registration };
        let refused = store.create_volunteer(&registration).await;
        assert!(refused.is_err(), "a taken token hash fails the registration");
        assert_eq!(store.volunteer_by_id_number(&second.id_number_lookup).await.expect("lookup"), None);
        assert_eq!(store.volunteer_by_phone(&second.phone_lookup).await.expect("lookup"), None);
        assert_eq!(store.volunteer_by_wechat_oa("contract-oa", None).await.expect("lookup"), None);
        // With a token of their own they register, bound to the Official Account.
        let again = store
            .create_volunteer(&NewRegistration { token: (&[42; 32], expires), ..registration })
            .await
            .expect("registered");
        assert_eq!(store.volunteer_by_wechat_oa("contract-oa", None).await.expect("lookup"), Some(again.id));
        assert_eq!(store.consents(again.id).await.expect("consents").len(), 3);
        // Without WeChat or consents, a registration is the volunteer and the token.
        let third = person(3, at);
        let bare = NewRegistration { volunteer: &third, consents: &[], wechat: None, token: (&[43; 32], expires), ..registration };
        let third = store.create_volunteer(&bare).await.expect("registered");
        assert!(store.consents(third.id).await.expect("consents").is_empty());
        assert!(store.find_access_token(&[43; 32]).await.expect("token").is_some());
    }
}

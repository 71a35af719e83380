//! Volunteer identity: what the rule asks a record to hold, one person one volunteer, ID
//! and phone numbers sealed at rest and masked in answers, consent recorded per purpose.

use hourmark_tests::{next_resident_id, on_both_backends, registration, resident_id};
use serde_json::json;

on_both_backends! {
    async fn registration_derives_identity_masks_numbers_and_keeps_them_sealed(app: TestApp) {
        let id_number = resident_id("19900315", 123);
        let answer = app.post("/mp/v1/volunteers", None, registration("张三", "138 0000 5678", &id_number)).await;
        answer.expect_status(201);
        let v = &answer.body["volunteer"];
        assert_eq!(v["name"], "张三");
        assert_eq!(v["gender"], 1, "an odd sequence number is male");
        assert_eq!(v["birth_month"], "1990-03");
        assert_eq!(v["id_type"], "resident_id");
        assert_eq!(v["id_number"], format!("5{}{}", "*".repeat(16), &id_number[17..]));
        assert_eq!(v["phone"], "138****5678");
        assert_eq!(v["skills"], json!(["急救"]));
        let number = v["volunteer_number"].as_str().expect("number");
        assert_eq!(number.len(), 12);
        assert!(number.bytes().all(|b| b.is_ascii_digit()) && !number.starts_with('0'));
        assert!(!id_number.contains(number) && !number.contains(&id_number[6..14]), "not derived from the ID");
        let body = String::from_utf8_lossy(&answer.raw);
        assert!(!body.contains(&id_number) && !body.contains("13800005678"), "no plaintext in the answer");

        // The volunteer's own copy is unmasked, with every consent recorded separately.
        let token = answer.body["access_token"].as_str().expect("token");
        let mine = app.get("/mp/v1/me", token).await;
        mine.expect_status(200);
        assert_eq!(mine.body["volunteer"]["id_number"], id_number);
        assert_eq!(mine.body["volunteer"]["phone"], "13800005678");
        let consents = mine.body["consents"].as_array().expect("consents");
        let purposes: Vec<_> = consents.iter().map(|c| (c["purpose"].as_str(), c["granted"].as_bool())).collect();
        assert_eq!(purposes, vec![(Some("record"), Some(true)), (Some("publicity"), Some(true)), (Some("location"), Some(true))]);
        assert!(consents.iter().all(|c| c["notice_version"] == "2026-11"));

        // At rest: sealed, not plaintext.
        let id = v["id"].as_i64().expect("id");
        let stored = app.hourmark.store().get_volunteer(id).await.expect("read").expect("stored");
        assert!(stored.id_number_sealed.starts_with("v1.1.") && !stored.id_number_sealed.contains(&id_number));
        assert!(stored.phone_sealed.starts_with("v1.1.") && !stored.phone_sealed.contains("13800005678"));
        // Staff tokens cannot read a volunteer's data through the volunteer API.
        let e = crate::event(&app, "toggle").await;
        app.get("/mp/v1/me", &e.organiser).await.expect_problem(403, "forbidden");
    }
}

on_both_backends! {
    async fn one_person_registers_once_whatever_the_spelling_of_their_id(app: TestApp) {
        // 11010519491231002X is the standard's own example; 110105491231002 is its 15-digit form.
        app.post("/mp/v1/volunteers", None, registration("李四", "13900001111", "11010519491231002X")).await
            .expect_status(201);
        for (phone, spelling) in [("13900002222", "11010519491231002x"), ("13900003333", "110105491231002"),
                                  ("13900004444", " 11010519491231002X ")] {
            app.post("/mp/v1/volunteers", None, registration("李四", phone, spelling)).await
                .expect_problem(409, "id_number_taken");
        }
        // The refused phone numbers were not taken: nothing was written.
        app.post("/mp/v1/volunteers", None, registration("王五", "13900002222", &next_resident_id())).await
            .expect_status(201);
        // And the same phone with another ID is the phone's conflict.
        app.post("/mp/v1/volunteers", None, registration("赵六", "13900001111", &next_resident_id())).await
            .expect_problem(409, "phone_taken");
    }
}

on_both_backends! {
    async fn invalid_ids_missing_consent_and_inconsistent_fields_are_refused(app: TestApp) {
        let good = resident_id("19900315", 123);
        let mut wrong_check = good.clone();
        let last = wrong_check.pop().expect("char");
        wrong_check.push(if last == '1' { '2' } else { '1' });
        let future = resident_id("20991231", 1);
        let bad_region = format!("99{}", &resident_id("19900315", 5)[2..]);
        for (i, bad) in [wrong_check.as_str(), future.as_str(), bad_region.as_str(), "12345", "", "53010219900315123 "]
            .into_iter()
            .enumerate()
        {
            let answer = app.post("/mp/v1/volunteers", None, registration("甲", &format!("1370000{i:04}"), bad)).await;
            answer.expect_problem(422, "id_number_invalid");
        }

        let mut no_record = registration("乙", "13700009999", &good);
        no_record["consent"]["record"] = json!(false);
        app.post("/mp/v1/volunteers", None, no_record).await.expect_problem(422, "consent_required");
        let mut no_consent = registration("乙", "13700009999", &good);
        no_consent.as_object_mut().expect("object").remove("consent");
        app.post("/mp/v1/volunteers", None, no_consent).await.expect_problem(422, "invalid_body");

        let mut mismatched = registration("乙", "13700009999", &good);
        mismatched["gender"] = json!(2);
        app.post("/mp/v1/volunteers", None, mismatched).await.expect_problem(422, "invalid_body");

        // A passport carries no birth date or gender: they must be given.
        let mut passport = registration("Anna Müller", "13700009999", "e1234567");
        passport["id_type"] = json!("passport");
        app.post("/mp/v1/volunteers", None, passport.clone()).await.expect_problem(422, "invalid_body");
        passport["gender"] = json!(2);
        passport["birth_month"] = json!("1995-07");
        let ok = app.post("/mp/v1/volunteers", None, passport).await;
        ok.expect_status(201);
        assert_eq!(ok.body["volunteer"]["birth_month"], "1995-07");
        assert_eq!(ok.body["volunteer"]["id_number"], "E******7");

        // Nothing refused above was written: the good ID is still free.
        app.post("/mp/v1/volunteers", None, registration("丙", "13700008888", &good)).await.expect_status(201);
    }
}

on_both_backends! {
    async fn staff_see_masked_numbers_and_every_plaintext_read_is_audited(app: TestApp) {
        let e = crate::event(&app, "toggle").await;
        let id = e.volunteer_id;
        let masked = app.get(&format!("/api/v1/volunteers/{id}"), &e.admin).await;
        masked.expect_status(200);
        assert_eq!(masked.body["phone"], "138****1234");
        assert!(masked.body["id_number"].as_str().is_some_and(|n| n.contains("********")));
        assert!(app.get(&format!("/api/v1/volunteers/{id}/audit"), &e.admin).await.body.as_array().is_some_and(Vec::is_empty));

        let clear = app.get(&format!("/api/v1/volunteers/{id}/personal-data"), &e.admin).await;
        clear.expect_status(200);
        assert_eq!(clear.body["phone"], "13800001234");
        let audit = app.get(&format!("/api/v1/volunteers/{id}/audit"), &e.admin).await;
        audit.expect_status(200);
        let entries = audit.body.as_array().expect("entries");
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0]["action"], "personal_data_read");
        assert_eq!(entries[0]["actor_kind"], "staff");
        assert!(!String::from_utf8_lossy(&audit.raw).contains("13800001234"), "the log names fields, not values");

        // Organisers and volunteers may not; and their attempts read nothing.
        app.get(&format!("/api/v1/volunteers/{id}/personal-data"), &e.organiser).await.expect_problem(403, "forbidden");
        app.get(&format!("/api/v1/volunteers/{id}/personal-data"), &e.volunteer).await.expect_problem(403, "forbidden");
        app.get(&format!("/api/v1/volunteers/{id}"), &e.organiser).await.expect_problem(403, "forbidden");
        let audit = app.get(&format!("/api/v1/volunteers/{id}/audit"), &e.admin).await;
        assert_eq!(audit.body.as_array().map(Vec::len), Some(1));
        app.get("/api/v1/volunteers/424242/personal-data", &e.admin).await.expect_problem(404, "not_found");
    }
}

on_both_backends! {
    async fn officers_oversee_volunteers_who_served_in_their_region(app: TestApp) {
        // The organisation is in Wuhua district (530102), Kunming.
        let e = crate::event(&app, "toggle").await;
        let id = e.volunteer_id;
        let officer = |region: &'static str| {
            let app = &app;
            let admin = e.admin.clone();
            async move { app.staff(&admin, json!({"name": "民政", "role": "officer", "region_code": region})).await }
        };
        let wuhua = officer("530102").await;
        let yunnan = officer("530000").await;
        let panlong = officer("530103").await;

        // Before the volunteer serves there, no officer knows of them.
        for token in [&wuhua, &yunnan, &panlong] {
            app.get(&format!("/api/v1/volunteers/{id}"), token).await.expect_problem(404, "not_found");
        }
        let url = app.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
        app.scan(&e.volunteer, &url).await.expect_status(200);

        // The district's officer and the province's see them; the neighbouring district's does not.
        app.get(&format!("/api/v1/volunteers/{id}"), &wuhua).await.expect_status(200);
        app.get(&format!("/api/v1/volunteers/{id}"), &yunnan).await.expect_status(200);
        app.get(&format!("/api/v1/volunteers/{id}"), &panlong).await.expect_problem(404, "not_found");
        app.get(&format!("/api/v1/volunteers/{id}/personal-data"), &panlong).await.expect_problem(404, "not_found");
        app.get(&format!("/api/v1/volunteers/{id}/audit"), &panlong).await.expect_problem(404, "not_found");

        // An officer's read in clear is audited like anyone's, and the audit is theirs to read.
        let clear = app.get(&format!("/api/v1/volunteers/{id}/personal-data"), &wuhua).await;
        clear.expect_status(200);
        assert_eq!(clear.body["phone"], "13800001234");
        let audit = app.get(&format!("/api/v1/volunteers/{id}/audit"), &yunnan).await;
        audit.expect_status(200);
        let reads: Vec<_> =
            audit.body.as_array().expect("entries").iter().filter(|e| e["action"] == "personal_data_read").collect();
        assert_eq!(reads.len(), 1, "the refused reads wrote nothing: {}", audit.body);
        let wuhua_id = app.get("/api/v1/me", &wuhua).await.body["staff"]["id"].clone();
        assert_eq!(reads[0]["actor_id"], wuhua_id);
    }
}

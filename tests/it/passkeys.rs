//! Staff passkeys end to end, with a software authenticator doing the real ceremonies:
//! invites, sign-in, several passkeys, removal, and every way to get it wrong.

use chrono::Duration;
use hourmark_tests::{SoftPasskey, TestApp, authenticator, on_both_backends, register, staff_origin};
use serde_json::{Value, json};
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_rs::prelude::{RequestChallengeResponse, Url};

/// An organiser created by the administrator: (staff id, login, invite token).
async fn invited(app: &TestApp, admin: &str, login: &str) -> (i64, String) {
    let org = app.organisation(admin, &format!("{login} 的组织")).await;
    let created = app
        .post(
            "/api/v1/staff",
            Some(admin),
            json!({"name": "李组织", "login": login, "role": "organiser", "organisation_id": org}),
        )
        .await;
    created.expect_status(201);
    assert_eq!(created.body["staff"]["login"], login);
    let invite = created.body["invite"]["token"].as_str().expect("invite").to_owned();
    (created.body["staff"]["id"].as_i64().expect("id"), invite)
}

async fn passkey_count(app: &TestApp, staff_id: i64) -> usize {
    app.hourmark.store().passkeys(staff_id).await.expect("passkeys").len()
}

/// Starts a sign-in and answers it with `authenticator`: (ceremony id, credential).
async fn signed_challenge(app: &TestApp, login: &str, authenticator: &mut SoftPasskey) -> (Value, Value) {
    let start = app.post("/api/v1/sign-in/passkey/start", None, json!({ "login": login })).await;
    start.expect_status(200);
    let options: RequestChallengeResponse = serde_json::from_value(start.body["options"].clone()).expect("options");
    let credential = authenticator.do_authentication(staff_origin(), options).expect("the authenticator answers");
    (start.body["ceremony_id"].clone(), serde_json::to_value(credential).expect("json"))
}

on_both_backends! {
    async fn an_invite_enrols_a_passkey_that_then_signs_in(app: TestApp) {
        let admin = app.administrator().await;
        let (staff_id, invite) = invited(&app, &admin, "li.zuzhi").await;
        let mut phone = authenticator();

        let enrolled = app.enrol(&invite, &mut phone).await;
        enrolled.expect_status(201);
        assert_eq!(enrolled.body["staff"]["id"], staff_id);
        let first_token = enrolled.body["access_token"].as_str().expect("token").to_owned();
        app.get("/api/v1/me", &first_token).await.expect_status(200);

        // Later: sign in by login with the same phone; a new, independent session.
        let signed_in = app.sign_in("li.zuzhi", &mut phone).await.expect("the phone holds the passkey");
        signed_in.expect_status(200);
        let token = signed_in.body["access_token"].as_str().expect("token");
        assert_ne!(token, first_token);
        let me = app.get("/api/v1/me", token).await;
        assert_eq!(me.body["staff"]["login"], "li.zuzhi");
        // The login is case-insensitive.
        app.sign_in("LI.ZUZHI", &mut phone).await.expect("answers").expect_status(200);

        let listed = app.get("/api/v1/me/passkeys", token).await;
        listed.expect_status(200);
        let listed = listed.body.as_array().expect("list");
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0]["label"], "通行密钥");
        assert!(listed[0]["last_used_at"].is_string(), "sign-in records its use: {listed:?}");

        // The enrolment is in the staff member's audit trail.
        let audit = app.hourmark.store().audit_events("staff", staff_id).await.expect("audit");
        assert!(audit.iter().any(|e| e.action == "passkey_enrolled"), "{audit:?}");
    }
}

on_both_backends! {
    async fn an_invite_works_once_and_expires(app: TestApp) {
        let admin = app.administrator().await;
        let (staff_id, invite) = invited(&app, &admin, "once").await;

        // Two ceremonies started on one link: only the first finish spends it.
        let first = app.post("/api/v1/invites/passkey/start", None, json!({"invite": invite})).await;
        let second = app.post("/api/v1/invites/passkey/start", None, json!({"invite": invite})).await;
        first.expect_status(200);
        second.expect_status(200);
        let finish = |start: &Value, authenticator: &mut SoftPasskey| {
            json!({"ceremony_id": start["ceremony_id"], "credential": register(authenticator, start)})
        };
        let one = finish(&first.body, &mut authenticator());
        let two = finish(&second.body, &mut authenticator());
        app.post("/api/v1/invites/passkey/finish", None, one).await.expect_status(201);
        app.post("/api/v1/invites/passkey/finish", None, two).await.expect_problem(410, "invite_invalid");
        assert_eq!(passkey_count(&app, staff_id).await, 1, "the losing enrolment stored nothing");

        // Used: the link no longer starts anything.
        app.post("/api/v1/invites/passkey/start", None, json!({"invite": invite})).await
            .expect_problem(410, "invite_invalid");
        // Forged or malformed links look the same.
        let forged = format!("hm_{}", "A".repeat(43));
        app.post("/api/v1/invites/passkey/start", None, json!({"invite": forged})).await
            .expect_problem(410, "invite_invalid");
        app.post("/api/v1/invites/passkey/start", None, json!({"invite": "x"})).await
            .expect_problem(410, "invite_invalid");

        // An unused invite stops working after 72 hours, even mid-ceremony.
        let (late_id, late) = invited(&app, &admin, "late").await;
        app.advance(Duration::hours(72) - Duration::minutes(1));
        let started = app.post("/api/v1/invites/passkey/start", None, json!({"invite": late})).await;
        started.expect_status(200);
        let body = finish(&started.body, &mut authenticator());
        app.advance(Duration::minutes(2));
        app.post("/api/v1/invites/passkey/finish", None, body).await.expect_problem(410, "invite_invalid");
        app.post("/api/v1/invites/passkey/start", None, json!({"invite": late})).await
            .expect_problem(410, "invite_invalid");
        assert_eq!(passkey_count(&app, late_id).await, 0);
    }
}

on_both_backends! {
    async fn a_sign_in_answer_counts_once(app: TestApp) {
        let admin = app.administrator().await;
        let (_, invite) = invited(&app, &admin, "replay").await;
        let mut phone = authenticator();
        app.enrol(&invite, &mut phone).await.expect_status(201);

        let (ceremony, credential) = signed_challenge(&app, "replay", &mut phone).await;
        let body = json!({"ceremony_id": ceremony, "credential": credential});
        app.post("/api/v1/sign-in/passkey/finish", None, body.clone()).await.expect_status(200);
        // The same answer again: its ceremony is gone.
        app.post("/api/v1/sign-in/passkey/finish", None, body).await.expect_problem(400, "ceremony_invalid");

        // The old answer offered to a fresh ceremony: the challenge does not match.
        let fresh = app.post("/api/v1/sign-in/passkey/start", None, json!({"login": "replay"})).await;
        let replayed = json!({"ceremony_id": fresh.body["ceremony_id"], "credential": credential});
        app.post("/api/v1/sign-in/passkey/finish", None, replayed).await.expect_problem(401, "passkey_rejected");
        // That failure used the fresh ceremony up too.
        let again = json!({"ceremony_id": fresh.body["ceremony_id"], "credential": credential});
        app.post("/api/v1/sign-in/passkey/finish", None, again).await.expect_problem(400, "ceremony_invalid");

        // A forged signature is rejected.
        let (ceremony, mut credential) = signed_challenge(&app, "replay", &mut phone).await;
        credential["response"]["signature"] = json!("AAAA");
        app.post("/api/v1/sign-in/passkey/finish", None, json!({"ceremony_id": ceremony, "credential": credential}))
            .await
            .expect_problem(401, "passkey_rejected");

        // A ceremony left too long expires.
        let (ceremony, credential) = signed_challenge(&app, "replay", &mut phone).await;
        app.advance(Duration::minutes(7));
        app.post("/api/v1/sign-in/passkey/finish", None, json!({"ceremony_id": ceremony, "credential": credential}))
            .await
            .expect_problem(400, "ceremony_invalid");
        // Garbage ceremony ids are refused the same way.
        for id in ["", "not-a-ceremony", "AAAAAAAAAAAAAAAAAAAAAA"] {
            let body = json!({"ceremony_id": id, "credential": credential});
            app.post("/api/v1/sign-in/passkey/finish", None, body).await.expect_problem(400, "ceremony_invalid");
        }
    }
}

on_both_backends! {
    async fn an_answer_made_for_another_site_is_rejected(app: TestApp) {
        let admin = app.administrator().await;
        let (staff_id, invite) = invited(&app, &admin, "phished").await;
        let start = app.post("/api/v1/invites/passkey/start", None, json!({"invite": invite})).await;
        // A phishing site relays our challenge under its own name: the authenticator signs
        // for that site, and the server sees a foreign origin and relying party.
        let mut options = start.body["options"].clone();
        options["publicKey"]["rp"]["id"] = json!("hourmark-login.example");
        let options = serde_json::from_value(options).expect("options");
        let elsewhere = Url::parse("https://hourmark-login.example").expect("url");
        let credential = authenticator().do_registration(elsewhere, options).expect("registers");
        app.post(
            "/api/v1/invites/passkey/finish",
            None,
            json!({"ceremony_id": start.body["ceremony_id"], "credential": credential}),
        )
        .await
        .expect_problem(401, "passkey_rejected");
        assert_eq!(passkey_count(&app, staff_id).await, 0);
        // The invite was not spent by the failure (a fresh ceremony is needed, though).
        app.enrol(&invite, &mut authenticator()).await.expect_status(201);
    }
}

on_both_backends! {
    async fn sign_in_does_not_reveal_which_logins_exist(app: TestApp) {
        let admin = app.administrator().await;
        let (_, invite) = invited(&app, &admin, "real.person").await;
        let mut phone = authenticator();
        app.enrol(&invite, &mut phone).await.expect_status(201);

        let real = app.post("/api/v1/sign-in/passkey/start", None, json!({"login": "real.person"})).await;
        let ghost = app.post("/api/v1/sign-in/passkey/start", None, json!({"login": "no.such.person"})).await;
        let ghost_again = app.post("/api/v1/sign-in/passkey/start", None, json!({"login": "no.such.person"})).await;
        real.expect_status(200);
        ghost.expect_status(200);
        let keys = |v: &Value| {
            let mut k = v["options"]["publicKey"].as_object().expect("publicKey").keys().cloned().collect::<Vec<_>>();
            k.sort();
            k
        };
        assert_eq!(keys(&real.body), keys(&ghost.body), "the same shape: {} / {}", real.body, ghost.body);
        let allowed = |v: &Value| v["options"]["publicKey"]["allowCredentials"].clone();
        assert!(!allowed(&ghost.body).as_array().expect("list").is_empty(), "an unknown login is offered credentials");
        assert_eq!(allowed(&ghost.body), allowed(&ghost_again.body), "and the same ones each time");
        assert_ne!(ghost.body["options"]["publicKey"]["challenge"], ghost_again.body["options"]["publicKey"]["challenge"]);

        // Nobody can answer for it; a real passkey's answer fails like a wrong key.
        let (_, credential) = signed_challenge(&app, "real.person", &mut phone).await;
        app.post(
            "/api/v1/sign-in/passkey/finish",
            None,
            json!({"ceremony_id": ghost.body["ceremony_id"], "credential": credential}),
        )
        .await
        .expect_problem(401, "passkey_rejected");
        // Someone else's phone holds none of this account's credentials.
        assert!(app.sign_in("real.person", &mut authenticator()).await.is_none());
    }
}

on_both_backends! {
    async fn staff_keep_several_passkeys_and_remove_all_but_one(app: TestApp) {
        let admin = app.administrator().await;
        let (staff_id, invite) = invited(&app, &admin, "two.phones").await;
        let mut phone = authenticator();
        let mut key = authenticator();
        let token = app.enrol(&invite, &mut phone).await.body["access_token"].as_str().expect("token").to_owned();

        // Add a security key while signed in.
        let start = app.post("/api/v1/me/passkeys/start", Some(&token), json!({})).await;
        start.expect_status(200);
        let credential = register(&mut key, &start.body);
        let added = app
            .post(
                "/api/v1/me/passkeys/finish",
                Some(&token),
                json!({"ceremony_id": start.body["ceremony_id"], "credential": credential, "label": "备用安全密钥"}),
            )
            .await;
        added.expect_status(201);
        assert_eq!(added.body["label"], "备用安全密钥");
        // The same authenticator cannot be enrolled twice: the start excludes it.
        let start = app.post("/api/v1/me/passkeys/start", Some(&token), json!({})).await;
        let excluded = start.body["options"]["publicKey"]["excludeCredentials"].as_array().expect("excluded").len();
        assert_eq!(excluded, 2);

        let listed = app.get("/api/v1/me/passkeys", &token).await.body;
        let listed = listed.as_array().expect("list");
        assert_eq!(listed.len(), 2);
        // The phone's first, then the key's.
        let id_of = |label: &str| {
            let found = listed.iter().find(|p| p["label"] == label).expect("listed");
            found["id"].as_str().expect("id").to_owned()
        };
        let ids = [id_of("通行密钥"), id_of("备用安全密钥")];
        app.sign_in("two.phones", &mut phone).await.expect("phone").expect_status(200);
        app.sign_in("two.phones", &mut key).await.expect("key").expect_status(200);

        // Someone else cannot remove them, nor see they exist.
        let other = app.organiser(&admin, app.organisation(&admin, "别的组织").await).await;
        app.call(reqwest::Method::DELETE, &format!("/api/v1/me/passkeys/{}", ids[0]), Some(&other), None).await
            .expect_problem(404, "not_found");
        app.call(reqwest::Method::DELETE, "/api/v1/me/passkeys/not-a-uuid", Some(&token), None).await
            .expect_problem(400, "invalid_parameter");

        // Remove the phone's: it no longer signs in; the key still does.
        app.call(reqwest::Method::DELETE, &format!("/api/v1/me/passkeys/{}", ids[0]), Some(&token), None).await
            .expect_status(204);
        assert!(app.sign_in("two.phones", &mut phone).await.is_none(), "the removed passkey is not offered");
        app.sign_in("two.phones", &mut key).await.expect("key").expect_status(200);
        // The last one stays.
        app.call(reqwest::Method::DELETE, &format!("/api/v1/me/passkeys/{}", ids[1]), Some(&token), None).await
            .expect_problem(409, "last_passkey");
        assert_eq!(passkey_count(&app, staff_id).await, 1);
        let audit = app.hourmark.store().audit_events("staff", staff_id).await.expect("audit");
        assert_eq!(audit.iter().filter(|e| e.action == "passkey_removed").count(), 1);
    }
}

on_both_backends! {
    async fn a_ceremony_belongs_to_whoever_started_it(app: TestApp) {
        let admin = app.administrator().await;
        let org = app.organisation(&admin, "组织").await;
        let alice = app.organiser(&admin, org).await;
        let bob = app.organiser(&admin, org).await;
        let start = app.post("/api/v1/me/passkeys/start", Some(&alice), json!({})).await;
        let credential = register(&mut authenticator(), &start.body);
        app.post(
            "/api/v1/me/passkeys/finish",
            Some(&bob),
            json!({"ceremony_id": start.body["ceremony_id"], "credential": credential}),
        )
        .await
        .expect_problem(400, "ceremony_invalid");
        // A sign-in ceremony cannot finish an enrolment, nor a volunteer's token add a passkey.
        let sign_in = app.post("/api/v1/sign-in/passkey/start", None, json!({"login": "admin"})).await;
        app.post(
            "/api/v1/me/passkeys/finish",
            Some(&alice),
            json!({"ceremony_id": sign_in.body["ceremony_id"], "credential": credential}),
        )
        .await
        .expect_problem(400, "ceremony_invalid");
        let (_, volunteer) = app.volunteer("张三", "13800001234").await;
        app.post("/api/v1/me/passkeys/start", Some(&volunteer), json!({})).await.expect_problem(403, "forbidden");
    }
}

on_both_backends! {
    async fn an_administrator_reinvites_staff_who_lost_their_passkeys(app: TestApp) {
        let admin = app.administrator().await;
        let (staff_id, invite) = invited(&app, &admin, "lost.phone").await;
        let organiser = app.enrol(&invite, &mut authenticator()).await.body["access_token"].as_str().expect("t").to_owned();

        app.post(&format!("/api/v1/staff/{staff_id}/invites"), Some(&organiser), json!({})).await
            .expect_problem(403, "forbidden");
        app.post("/api/v1/staff/999999/invites", Some(&admin), json!({})).await.expect_problem(404, "not_found");
        let again = app.post(&format!("/api/v1/staff/{staff_id}/invites"), Some(&admin), json!({})).await;
        again.expect_status(201);
        let mut new_phone = authenticator();
        app.enrol(again.body["token"].as_str().expect("token"), &mut new_phone).await.expect_status(201);
        app.sign_in("lost.phone", &mut new_phone).await.expect("new phone").expect_status(200);
        assert_eq!(passkey_count(&app, staff_id).await, 2);
        let audit = app.hourmark.store().audit_events("staff", staff_id).await.expect("audit");
        assert!(audit.iter().any(|e| e.action == "staff_invited"), "{audit:?}");
    }
}

on_both_backends! {
    async fn an_administrator_removes_a_lost_phones_passkey(app: TestApp) {
        let (admin, _) = app.administrator_with_passkey().await;
        let admin_id = app.get("/api/v1/me", &admin).await.body["staff"]["id"].as_i64().expect("id");
        let (staff_id, invite) = invited(&app, &admin, "lost.phone").await;
        let mut phone = authenticator();
        let organiser = app.enrol(&invite, &mut phone).await.body["access_token"].as_str().expect("t").to_owned();

        let listed = app.get(&format!("/api/v1/staff/{staff_id}/passkeys"), &admin).await;
        listed.expect_status(200);
        let phone_key = listed.body[0]["id"].as_str().expect("id").to_owned();
        assert_eq!(listed.body.as_array().map(Vec::len), Some(1));
        app.get(&format!("/api/v1/staff/{staff_id}/passkeys"), &organiser).await.expect_problem(403, "forbidden");
        app.get("/api/v1/staff/999999/passkeys", &admin).await.expect_problem(404, "not_found");
        let admin_keys = app.get(&format!("/api/v1/staff/{admin_id}/passkeys"), &admin).await.body;
        let admin_key = admin_keys[0]["id"].as_str().expect("id").to_owned();
        let delete = |path: String, token: String| {
            let app = &app;
            async move { app.call(reqwest::Method::DELETE, &path, Some(&token), None).await }
        };
        // Only the staff member's own passkeys, only by an administrator.
        delete(format!("/api/v1/staff/{staff_id}/passkeys/{admin_key}"), admin.clone())
            .await
            .expect_problem(404, "not_found");
        delete(format!("/api/v1/staff/{staff_id}/passkeys/{phone_key}"), organiser.clone())
            .await
            .expect_problem(403, "forbidden");

        // The lost phone's passkey, their last, goes; so do their sessions.
        delete(format!("/api/v1/staff/{staff_id}/passkeys/{phone_key}"), admin.clone()).await.expect_status(204);
        assert_eq!(passkey_count(&app, staff_id).await, 0);
        app.get("/api/v1/me", &organiser).await.expect_problem(401, "unauthenticated");
        assert!(app.sign_in("lost.phone", &mut phone).await.is_none(), "the lost phone signs in no more");
        let audit = app.hourmark.store().audit_events("staff", staff_id).await.expect("audit");
        let removed = audit.iter().find(|e| e.action == "passkey_removed").expect("audited");
        assert_eq!(removed.actor_id, Some(admin_id));

        // An administrator's own last passkey stays: nobody could sign in as them again.
        delete(format!("/api/v1/staff/{admin_id}/passkeys/{admin_key}"), admin.clone())
            .await
            .expect_problem(409, "last_passkey");
        // Re-invited, the person enrols the new phone.
        let again = app.post(&format!("/api/v1/staff/{staff_id}/invites"), Some(&admin), json!({})).await;
        let mut new_phone = authenticator();
        app.enrol(again.body["token"].as_str().expect("token"), &mut new_phone).await.expect_status(201);
        app.sign_in("lost.phone", &mut new_phone).await.expect("new phone").expect_status(200);
    }
}

on_both_backends! {
    async fn logins_are_unique_and_well_formed(app: TestApp) {
        let admin = app.administrator().await;
        let org = app.organisation(&admin, "组织").await;
        let body = |login: &str| json!({"name": "甲", "login": login, "role": "organiser", "organisation_id": org});
        app.post("/api/v1/staff", Some(&admin), body("jia")).await.expect_status(201);
        app.post("/api/v1/staff", Some(&admin), body("JIA")).await.expect_problem(409, "login_taken");
        app.post("/api/v1/staff", Some(&admin), body("admin")).await.expect_problem(409, "login_taken");
        for bad in ["ab", "has space", "张三", "9lives"] {
            app.post("/api/v1/staff", Some(&admin), body(bad)).await.expect_problem(422, "invalid_body");
        }
    }
}

on_both_backends! {
    /// A session proves presence again before it adds or removes a passkey or reads a
    /// volunteer's numbers in clear: a token made later, or a sign-in gone stale, is
    /// refused with `reverification_required` and nothing changes; a step-up with the
    /// person's own passkey lets it through for five minutes.
    async fn passkeys_and_revealing_need_a_fresh_passkey_on_the_session(app: TestApp) {
        let (signed_in, mut phone) = app.administrator_with_passkey().await;
        let admin_id = app.get("/api/v1/me", &signed_in).await.body["staff"]["id"].as_i64().expect("id");
        let (volunteer_id, _) = app.volunteer("王志愿", "13800138000").await;
        let reveal = format!("/api/v1/volunteers/{volunteer_id}/personal-data");
        let reads = || async { app.hourmark.store().audit_events("volunteer", volunteer_id).await.expect("audit").len() };
        let server = &app;
        let delete = |path: String, token: String| async move {
            server.call(reqwest::Method::DELETE, &path, Some(&token), None).await
        };

        // Just signed in (enrolment counts): it may.
        app.get(&reveal, &signed_in).await.expect_status(200);
        app.post("/api/v1/me/passkeys/start", Some(&signed_in), json!({})).await.expect_status(200);

        // An API token made from that session holds no proof of its own.
        let issued = app.post("/api/v1/me/api-tokens", Some(&signed_in), json!({})).await;
        issued.expect_status(201);
        let token = issued.body["access_token"].as_str().expect("token").to_owned();
        let audited = reads().await;
        app.get(&reveal, &token).await.expect_problem(403, "reverification_required");
        app.post("/api/v1/me/passkeys/start", Some(&token), json!({})).await.expect_problem(403, "reverification_required");
        let passkeys = app.get("/api/v1/me/passkeys", &token).await.body;
        let passkey_id = passkeys[0]["id"].as_str().expect("id").to_owned();
        let remove = format!("/api/v1/staff/{admin_id}/passkeys/{passkey_id}");
        delete(remove, token.clone()).await.expect_problem(403, "reverification_required");
        delete(format!("/api/v1/me/passkeys/{passkey_id}"), token.clone())
            .await
            .expect_problem(403, "reverification_required");
        assert_eq!(reads().await, audited, "a refused reveal is not a read");
        assert_eq!(passkey_count(&app, admin_id).await, 1);

        // It steps up with the administrator's passkey: for five minutes it may.
        let stepped = app.step_up(&token, &mut phone).await;
        stepped.expect_status(200);
        assert!(stepped.body["verified_until"].as_str().expect("until").starts_with("2026-12-05T09:05"));
        app.get(&reveal, &token).await.expect_status(200);
        assert_eq!(reads().await, audited + 1);
        app.advance(Duration::minutes(4));
        app.get(&reveal, &token).await.expect_status(200);
        app.advance(Duration::minutes(2));
        app.get(&reveal, &token).await.expect_problem(403, "reverification_required");
        // The sign-in's own proof has gone stale too.
        app.get(&reveal, &signed_in).await.expect_problem(403, "reverification_required");

        // Stepping up one session does not vouch for another.
        app.step_up(&signed_in, &mut phone).await.expect_status(200);
        app.get(&reveal, &signed_in).await.expect_status(200);
        app.get(&reveal, &token).await.expect_problem(403, "reverification_required");
    }
}

on_both_backends! {
    /// A step-up is the caller's own: another person's passkey, someone else's ceremony, a
    /// replayed answer and a volunteer's token are each refused, and prove nothing.
    async fn a_step_up_takes_the_callers_own_passkey_once(app: TestApp) {
        let (admin, mut admin_phone) = app.administrator_with_passkey().await;
        let (_, invite) = invited(&app, &admin, "zhao.zuzhi").await;
        let mut organiser_phone = authenticator();
        let enrolled = app.enrol(&invite, &mut organiser_phone).await;
        enrolled.expect_status(201);
        let organiser = enrolled.body["access_token"].as_str().expect("token").to_owned();
        app.advance(Duration::minutes(10));

        // The administrator's phone holds none of the organiser's credentials.
        let start = app.post("/api/v1/me/step-up/start", Some(&organiser), json!({})).await;
        start.expect_status(200);
        let options: RequestChallengeResponse = serde_json::from_value(start.body["options"].clone()).expect("options");
        assert!(admin_phone.do_authentication(staff_origin(), options.clone()).is_err());
        // The organiser's answer, finished by the administrator: not their ceremony.
        let credential = organiser_phone.do_authentication(staff_origin(), options).expect("answers");
        let finish = json!({ "ceremony_id": start.body["ceremony_id"], "credential": credential });
        app.post("/api/v1/me/step-up/finish", Some(&admin), finish.clone()).await.expect_problem(400, "ceremony_invalid");
        // The ceremony died with that finish: the owner cannot use it either.
        app.post("/api/v1/me/step-up/finish", Some(&organiser), finish).await.expect_problem(400, "ceremony_invalid");
        app.post("/api/v1/me/passkeys/start", Some(&organiser), json!({})).await.expect_problem(403, "reverification_required");

        // A fresh one, answered twice: the second is a replay.
        let start = app.post("/api/v1/me/step-up/start", Some(&organiser), json!({})).await;
        let options: RequestChallengeResponse = serde_json::from_value(start.body["options"].clone()).expect("options");
        let credential = organiser_phone.do_authentication(staff_origin(), options).expect("answers");
        let finish = json!({ "ceremony_id": start.body["ceremony_id"], "credential": credential });
        app.post("/api/v1/me/step-up/finish", Some(&organiser), finish.clone()).await.expect_status(200);
        app.post("/api/v1/me/step-up/finish", Some(&organiser), finish).await.expect_problem(400, "ceremony_invalid");
        app.post("/api/v1/me/passkeys/start", Some(&organiser), json!({})).await.expect_status(200);

        let (_, volunteer) = app.volunteer("王志愿", "13800138001").await;
        app.post("/api/v1/me/step-up/start", Some(&volunteer), json!({})).await.expect_problem(403, "forbidden");
    }
}

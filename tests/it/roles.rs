//! Every endpoint against every role, from one table: allowed, forbidden, or not found
//! for what a role may not even know exists. A second check keeps the table in step with
//! the API description, so a new endpoint cannot be added without deciding who may call it.

use std::collections::BTreeSet;

use hourmark_tests::{TestApp, next_resident_id, on_both_backends, registration};
use reqwest::Method;
use serde_json::{Value, json};

/// The callers, in the order of each row's expectations.
const ROLES: [&str; 8] = [
    "anonymous",
    "volunteer",
    "organiser",
    "other_organiser",
    "officer",
    "administrator",
    // A recorder of the organisation with a valid certificate, and a leader of the activity.
    "recorder",
    "leader",
];

struct Row {
    method: Method,
    /// The documented path, e.g. `/api/v1/activities/{id}`.
    template: &'static str,
    /// Statuses for each of `ROLES`.
    expect: [u16; 8],
}

fn row(method: Method, template: &'static str, expect: [u16; 8]) -> Row {
    Row { method, template, expect }
}

/// The table. Rows that change state come in an order that keeps later rows meaningful;
/// the sign-outs are last.
fn table() -> Vec<Row> {
    use Method as M;
    let managed = [401, 403, 200, 404, 404, 200, 200, 200];
    let admin_only = [401, 403, 403, 403, 403, 200, 403, 403];
    let volunteer_only = [401, 200, 403, 403, 403, 403, 403, 403];
    vec![
        row(M::GET, "/healthz", [200; 8]),
        row(M::GET, "/readyz", [200; 8]),
        row(M::GET, "/S/{token}", [200; 8]),
        row(M::GET, "/s/{token}", [200; 8]),
        row(M::GET, "/api/v1/public/organisations", [200; 8]),
        row(M::GET, "/api/v1/data-inventory", admin_only),
        row(M::GET, "/api/v1/public/publicity", [200; 8]),
        row(M::GET, "/publicity", [200; 8]),
        row(M::GET, "/api/v1/public/calendar/days", [200; 8]),
        row(M::GET, "/api/v1/public/calendar/period", [200; 8]),
        // Nothing is in publicity in the role table's world.
        row(M::POST, "/api/v1/public/publicity/{entry_id}/objections", [404; 8]),
        row(M::GET, "/api/v1/activities/{id}/objections", [401, 403, 200, 404, 200, 200, 200, 403]),
        // Reporting: the register is empty here, so there is nothing to send (409).
        row(M::POST, "/api/v1/organisations/{id}/report-batches", [401, 403, 409, 404, 404, 409, 409, 404]),
        row(M::GET, "/api/v1/report-batches", [401, 403, 200, 200, 200, 200, 200, 403]),
        // The time bank: the pool and every account are empty here (409 on spending).
        row(M::GET, "/api/v1/organisations/{id}/time-bank", [401, 403, 200, 403, 403, 200, 200, 403]),
        row(M::PUT, "/api/v1/organisations/{id}/time-bank", [401, 403, 200, 403, 403, 200, 403, 403]),
        row(M::POST, "/api/v1/time-bank/spends", [401, 403, 409, 409, 403, 403, 409, 403]),
        row(M::GET, "/api/v1/time-bank/check", admin_only),
        row(M::GET, "/api/v1/volunteers/{id}/time-bank", admin_only),
        // By the number on the card: no volunteer has the number asked for here (404).
        row(M::GET, "/api/v1/time-bank/accounts", [401, 403, 403, 403, 403, 404, 403, 403]),
        row(M::GET, "/api/v1/volunteers/{id}/time-bank/statement", admin_only),
        row(M::GET, "/mp/v1/me/time-bank", volunteer_only),
        row(M::GET, "/mp/v1/me/time-bank/statement", volunteer_only),
        row(M::POST, "/mp/v1/me/time-bank/donations", [401, 409, 403, 403, 403, 403, 403, 403]),
        // Stars: nothing is confirmed here, so no star can be applied for (409).
        row(M::GET, "/mp/v1/me/stars", volunteer_only),
        row(M::POST, "/mp/v1/me/star-applications", [401, 409, 403, 403, 403, 403, 403, 403]),
        row(M::GET, "/api/v1/star-applications", [401, 403, 403, 403, 200, 403, 403, 403]),
        row(M::POST, "/api/v1/star-applications/{id}/decision", [401, 403, 403, 403, 404, 403, 403, 403]),
        row(M::GET, "/api/v1/star-reviews", [401, 403, 403, 403, 200, 403, 403, 403]),
        row(M::POST, "/api/v1/star-reviews/{id}/decision", [401, 403, 403, 403, 404, 403, 403, 403]),
        row(M::GET, "/api/v1/star-rules/{region_code}", [401, 403, 200, 200, 200, 200, 200, 200]),
        row(M::PUT, "/api/v1/star-rules/{region_code}", [401, 403, 403, 403, 403, 400, 403, 403]),
        // Certificates: nothing is confirmed here (409 on asking), and there is no request
        // or certificate to issue, show or revoke (404 to those who may).
        row(M::POST, "/mp/v1/me/certificate-requests", [401, 409, 403, 403, 403, 403, 403, 403]),
        row(M::GET, "/mp/v1/me/certificate-requests", volunteer_only),
        row(M::GET, "/mp/v1/me/certificates", volunteer_only),
        row(M::GET, "/mp/v1/me/certificates/{file}", [401, 404, 403, 403, 403, 403, 403, 403]),
        row(M::GET, "/api/v1/certificate-requests", [401, 403, 403, 403, 200, 403, 200, 403]),
        row(M::POST, "/api/v1/certificate-requests/{id}/issue", [401, 403, 403, 403, 404, 403, 404, 403]),
        row(M::POST, "/api/v1/certificate-requests/{id}/decline", [401, 403, 403, 403, 404, 403, 404, 403]),
        row(M::GET, "/api/v1/certificates/{number}/pdf", [401, 403, 403, 403, 404, 403, 404, 403]),
        row(M::POST, "/api/v1/certificates/{number}/revoke", [401, 403, 403, 403, 404, 403, 404, 403]),
        // Recruitment: published by its managers (not leaders); the role table's volunteer
        // then takes slot 1 (approved at once: no approval is needed), so approving it
        // again is `signup_decided` (409); the volunteer cancels it last.
        row(M::PUT, "/api/v1/activities/{id}/recruitment", [401, 403, 200, 404, 404, 200, 200, 403]),
        row(M::GET, "/api/v1/activities/{id}/recruitment", managed),
        // The public recruitment page and its QR: anyone, once published.
        row(M::GET, "/join/{id}", [200; 8]),
        row(M::GET, "/join/{id}/qr.svg", [200; 8]),
        // The role table's recruitment requires no training: nothing to record or list.
        row(M::POST, "/api/v1/activities/{id}/training-completions", [401, 403, 404, 404, 404, 404, 404, 404]),
        row(M::GET, "/api/v1/activities/{id}/training-completions", [401, 403, 404, 404, 404, 404, 404, 404]),
        row(M::GET, "/mp/v1/activities/{id}/recruitment", volunteer_only),
        row(M::POST, "/mp/v1/activities/{id}/signups", [401, 201, 403, 403, 403, 403, 403, 403]),
        row(M::GET, "/mp/v1/me/signups", volunteer_only),
        row(M::GET, "/api/v1/activities/{id}/signups", managed),
        row(M::GET, "/api/v1/activities/{id}/no-shows", managed),
        row(M::POST, "/api/v1/activities/{id}/signups/{signup_id}/decision", [401, 403, 409, 404, 404, 409, 409, 403]),
        row(M::POST, "/api/v1/activities/{id}/signups/approvals", [401, 403, 200, 404, 404, 200, 200, 403]),
        row(M::POST, "/mp/v1/me/signups/{signup_id}/cancel", volunteer_only),
        // A page for people: an unknown number is a 404 page in HTML, not problem+json.
        row(M::GET, "/verify/{number}", [404; 8]),
        row(M::GET, "/api/v1/public/certificates/{number}", [404; 8]),
        // Its staff (not leaders) may upload; a JSON body is no PNG (422).
        row(M::PUT, "/api/v1/organisations/{id}/seal", [401, 403, 422, 403, 403, 422, 422, 403]),
        // The officer (Wuhua) sets their organisation's period; the administrator may too.
        row(M::PUT, "/api/v1/publicity/working-days", [401, 403, 403, 403, 200, 200, 403, 403]),
        row(M::POST, "/api/v1/report-batches/{id}/confirm", [401, 403, 403, 403, 404, 403, 403, 403]),
        row(M::POST, "/api/v1/report-batches/{id}/return", [401, 403, 403, 403, 404, 403, 403, 403]),
        row(M::GET, "/api/v1/report-batches/{id}/export.csv", [401, 403, 404, 404, 404, 404, 404, 403]),
        row(M::GET, "/api/v1/report-batches/{id}/export.xlsx", [401, 403, 404, 404, 404, 404, 404, 403]),
        row(M::GET, "/api/v1/report-batches/export.xlsx", [401, 403, 200, 200, 200, 200, 200, 403]),
        // Rosters: its organisers (and administrators) import; an empty file is
        // `roster_format` (422) to those who may.
        row(M::POST, "/api/v1/organisations/{id}/roster-imports/dry-run", [401, 403, 422, 404, 403, 422, 403, 403]),
        row(M::POST, "/api/v1/organisations/{id}/roster-imports", [401, 403, 422, 404, 403, 422, 403, 403]),
        row(M::GET, "/api/v1/organisations/{id}/roster-imports", [401, 403, 200, 404, 403, 200, 403, 403]),
        // The national system: nothing is confirmed or on a roster here (409); the officer's
        // region covers the organisation.
        row(M::POST, "/api/v1/organisations/{id}/exchange-exports", [401, 403, 409, 404, 409, 409, 409, 403]),
        row(M::GET, "/api/v1/organisations/{id}/exchange-exports", [401, 403, 200, 404, 200, 200, 200, 403]),
        row(M::GET, "/api/v1/exchange-exports/{id}/export.csv", [401, 403, 404, 404, 404, 404, 404, 404]),
        row(M::GET, "/api/v1/exchange-exports/{id}/export.xlsx", [401, 403, 404, 404, 404, 404, 404, 404]),
        row(M::POST, "/api/v1/objections/{id}/decision", [401, 403, 404, 404, 404, 404, 404, 404]),
        row(M::GET, "/api/v1/calendar/years", [401, 403, 200, 200, 200, 200, 200, 200]),
        // Only administrators add national years; one already shipped is refused (422).
        row(M::POST, "/api/v1/calendar/years", [401, 403, 403, 403, 403, 422, 403, 403]),
        // The officer (Wuhua, 530102) sets their own district's day; the administrator has
        // no region to set one for.
        row(M::PUT, "/api/v1/calendar/overlays", [401, 403, 403, 403, 200, 403, 403, 403]),
        row(M::DELETE, "/api/v1/calendar/overlays/{region_code}/{day}", [401, 403, 403, 403, 204, 403, 403, 403]),
        row(M::POST, "/api/v1/bootstrap", [401; 8]),
        row(M::POST, "/mp/v1/login/wechat", [503; 8]),
        row(M::POST, "/mp/v1/login/dev", [404; 8]),
        // No Official Account in this installation: sign-in inside WeChat's browser is off.
        row(M::POST, "/mp/v1/login/wechat-oa/start", [503; 8]),
        row(M::GET, "/mp/v1/login/wechat-oa/callback", [404; 8]),
        row(M::POST, "/mp/v1/login/wechat-oa/finish", [503; 8]),
        // An unregistered number is answered as a registered one (but gets no code); no
        // code was sent, so none is right.
        row(M::POST, "/mp/v1/login/sms/code", [200; 8]),
        row(M::POST, "/mp/v1/login/sms", [422; 8]),
        row(M::POST, "/mp/v1/volunteers", [201; 8]),
        row(M::POST, "/api/v1/organisations/applications", [201; 8]),
        row(M::GET, "/api/v1/organisations", [401, 403, 200, 200, 200, 200, 200, 200]),
        row(M::POST, "/api/v1/organisations", [401, 403, 403, 403, 403, 201, 403, 403]),
        row(M::POST, "/api/v1/staff", admin_only.map(|s| if s == 200 { 201 } else { s })),
        // Administrators and civil-affairs officers list the staff they oversee.
        row(M::GET, "/api/v1/staff", [401, 403, 403, 403, 200, 200, 403, 403]),
        // Staff 1 is the administrator: not a recorder, so there is no qualification to
        // show (404); only civil affairs records reviews and renewals (an administrator
        // neither), and to the officer the administrator is no recorder of theirs (404).
        row(M::GET, "/api/v1/staff/{id}/qualification", [401, 403, 403, 403, 404, 404, 403, 403]),
        row(M::POST, "/api/v1/staff/{id}/qualification/reviews", [401, 403, 403, 403, 404, 403, 403, 403]),
        row(M::POST, "/api/v1/staff/{id}/qualification/renewals", [401, 403, 403, 403, 404, 403, 403, 403]),
        // Staff id 1 is the administrator.
        row(M::POST, "/api/v1/staff/{id}/invites", admin_only.map(|s| if s == 200 { 201 } else { s })),
        row(M::GET, "/api/v1/staff/{id}/passkeys", admin_only),
        // No such passkey of staff 1's.
        row(M::DELETE, "/api/v1/staff/{id}/passkeys/{passkey_id}", admin_only.map(|s| if s == 200 { 404 } else { s })),
        row(M::POST, "/api/v1/invites/passkey/start", [410; 8]),
        row(M::POST, "/api/v1/invites/passkey/finish", [422; 8]),
        row(M::POST, "/api/v1/sign-in/passkey/start", [200; 8]),
        row(M::POST, "/api/v1/sign-in/passkey/finish", [422; 8]),
        row(M::GET, "/staff/enrol", [200; 8]),
        row(M::GET, "/staff/sign-in", [200; 8]),
        // Browser sessions begin only from a finished ceremony (an empty body: 422).
        row(M::POST, "/api/v1/invites/passkey/finish-browser", [422; 8]),
        row(M::POST, "/api/v1/sign-in/passkey/finish-browser", [422; 8]),
        // Pages take only the session cookie: a bearer caller is sent to sign-in (303 → 200).
        row(M::GET, "/", [200; 8]),
        row(M::GET, "/console", [200; 8]),
        row(M::GET, "/console/activities/new", [200; 8]),
        row(M::GET, "/console/activities/{id}/projector", [200; 8]),
        row(M::GET, "/console/activities/{id}/board", [200; 8]),
        row(M::GET, "/console/activities/{id}/screens", [200; 8]),
        row(M::GET, "/console/activities/{id}/edit", [200; 8]),
        row(M::GET, "/console/activities/{id}/sessions", [200; 8]),
        row(M::GET, "/console/activities/{id}/signups", [200; 8]),
        row(M::GET, "/console/sessions", [200; 8]),
        row(M::GET, "/console/organisations", [200; 8]),
        row(M::GET, "/console/batches", [200; 8]),
        row(M::GET, "/console/volunteers", [200; 8]),
        row(M::GET, "/console/recorders", [200; 8]),
        row(M::GET, "/console/regional-days", [200; 8]),
        row(M::GET, "/console/staff", [200; 8]),
        row(M::GET, "/console/calendar", [200; 8]),
        row(M::GET, "/console/star-rules", [200; 8]),
        row(M::GET, "/console/review", [200; 8]),
        row(M::GET, "/console/activities/{id}/review", [200; 8]),
        row(M::GET, "/console/certificates", [200; 8]),
        row(M::GET, "/console/stars", [200; 8]),
        row(M::GET, "/console/time-bank", [200; 8]),
        row(M::GET, "/console/roster", [200; 8]),
        row(M::GET, "/console/exports", [200; 8]),
        row(M::GET, "/console/static/{file}", [200; 8]),
        row(M::GET, "/mp/static/scan.js", [200; 8]),
        row(M::GET, "/mp/static/scan-queue.js", [200; 8]),
        row(M::GET, "/mp/static/scan-sw.js", [200; 8]),
        row(M::GET, "/privacy", [200; 8]),
        row(M::GET, "/me", [200; 8]),
        row(M::GET, "/mp/static/me.js", [200; 8]),
        // The role table's token is not a code any key signed.
        row(M::GET, "/mp/v1/codes/{token}", [422; 8]),
        // The officer manages no activities: an empty list, not a refusal.
        row(M::GET, "/api/v1/activities", [401, 403, 200, 200, 200, 200, 200, 200]),
        row(M::GET, "/api/v1/me/passkeys", [401, 403, 200, 200, 200, 200, 200, 200]),
        row(M::POST, "/api/v1/me/passkeys/start", [401, 403, 200, 200, 200, 200, 200, 200]),
        row(M::POST, "/api/v1/me/passkeys/finish", [401, 403, 422, 422, 422, 422, 422, 422]),
        row(M::DELETE, "/api/v1/me/passkeys/{passkey_id}", [401, 403, 404, 404, 404, 404, 404, 404]),
        row(M::POST, "/api/v1/me/step-up/start", [401, 403, 200, 200, 200, 200, 200, 200]),
        row(M::POST, "/api/v1/me/step-up/finish", [401, 403, 422, 422, 422, 422, 422, 422]),
        row(M::POST, "/api/v1/activities", [401, 403, 201, 403, 403, 201, 201, 403]),
        row(M::GET, "/api/v1/activities/{id}", managed),
        row(M::PUT, "/api/v1/activities/{id}", [401, 403, 200, 404, 404, 200, 200, 403]),
        row(M::GET, "/api/v1/activities/{id}/leaders", managed),
        // Staff 1 is the administrator, not a leader: assigning them is refused.
        row(M::PUT, "/api/v1/activities/{id}/leaders/{staff_id}", [401, 403, 422, 404, 404, 422, 422, 403]),
        row(M::DELETE, "/api/v1/activities/{id}/leaders/{staff_id}", [401, 403, 404, 404, 404, 404, 404, 403]),
        row(M::GET, "/api/v1/activities/{id}/code", managed),
        row(M::GET, "/api/v1/activities/{id}/code.svg", managed),
        row(M::GET, "/api/v1/activities/{id}/code.png", managed),
        row(M::POST, "/api/v1/activities/{id}/screen-keys", [401, 403, 201, 404, 404, 201, 201, 201]),
        row(M::GET, "/api/v1/activities/{id}/screen-keys", managed),
        // Screen key 1 is the organiser's, from the row above.
        row(M::POST, "/api/v1/activities/{id}/screen-keys/{key_id}/revoke", managed),
        row(M::GET, "/api/v1/activities/{id}/sessions", managed),
        row(M::GET, "/api/v1/activities/{id}/sessions.csv", managed),
        row(M::GET, "/api/v1/activities/{id}/sessions.xlsx", managed),
        // Officers of the organisation's region read the totals (counts only) for inspection.
        row(M::GET, "/api/v1/activities/{id}/totals", [401, 403, 200, 404, 200, 200, 200, 200]),
        row(M::GET, "/api/v1/activities/{id}/board", managed),
        // An open stream never ends: for 200 only the status and type are checked.
        row(M::GET, "/api/v1/activities/{id}/events", managed),
        // Review: not for leaders; the officer is of the organisation's region.
        row(M::GET, "/api/v1/activities/{id}/review", [401, 403, 200, 404, 200, 200, 200, 403]),
        row(M::PUT, "/api/v1/activities/{id}/review/settings", [401, 403, 200, 404, 404, 200, 200, 403]),
        // No flag 1 on a quiet activity.
        row(M::POST, "/api/v1/activities/{id}/flags/{flag_id}/resolution", [401, 403, 404, 404, 404, 404, 404, 403]),
        // Late entries are a recorder's; the one who asked may not approve (403 same_recorder).
        row(M::POST, "/api/v1/activities/{id}/late-entries", [401, 403, 403, 404, 403, 403, 201, 403]),
        row(M::GET, "/api/v1/activities/{id}/late-entries", [401, 403, 200, 404, 200, 200, 200, 403]),
        // Historic hours become late entries: its recorders only; an empty file is 422.
        row(M::POST, "/api/v1/activities/{id}/historic-hours", [401, 403, 403, 404, 403, 403, 422, 403]),
        row(
            M::POST,
            "/api/v1/activities/{id}/late-entries/{entry_id}/decision",
            [401, 403, 403, 404, 403, 403, 403, 403],
        ),
        // The activity is still running: finalising waits for its check-out window.
        row(M::POST, "/api/v1/activities/{id}/finalise", [401, 403, 403, 404, 403, 403, 409, 403]),
        row(M::GET, "/api/v1/activities/{id}/finalisation", [401, 403, 404, 404, 404, 404, 404, 403]),
        row(M::POST, "/api/v1/activities/{id}/session-corrections", [401, 403, 403, 404, 403, 403, 404, 403]),
        row(M::GET, "/api/v1/activities/{id}/session-corrections", [401, 403, 200, 404, 200, 200, 200, 403]),
        // No proposal 1: only the organisation's recorders get as far as looking.
        row(
            M::POST,
            "/api/v1/activities/{id}/session-corrections/{correction_id}/decision",
            [401, 403, 403, 404, 403, 403, 404, 403],
        ),
        // The record: the volunteer never served at the activity, so a recorder may not
        // evaluate them (422).
        row(M::PUT, "/api/v1/activities/{id}/evaluations/{volunteer_id}", [401, 403, 403, 404, 403, 403, 422, 403]),
        row(M::GET, "/api/v1/activities/{id}/evaluations", [401, 403, 200, 404, 200, 200, 200, 403]),
        row(M::PUT, "/api/v1/activities/{id}/satisfaction", [401, 403, 403, 404, 403, 403, 200, 403]),
        // The volunteer never served with either organisation: nobody may write a complaint,
        // training or award into their record (422), and so there is no complaint 1.
        row(M::POST, "/api/v1/complaints", [401, 403, 422, 403, 422, 422, 422, 403]),
        row(M::POST, "/api/v1/complaints/{id}/investigation", [401, 403, 404, 404, 404, 404, 404, 404]),
        row(M::POST, "/api/v1/complaints/{id}/decision", [401, 403, 404, 404, 404, 404, 404, 404]),
        row(M::POST, "/api/v1/volunteers/{id}/trainings", [401, 403, 422, 422, 403, 403, 422, 403]),
        row(M::POST, "/api/v1/volunteers/{id}/awards", [401, 403, 422, 422, 403, 403, 422, 403]),
        row(M::GET, "/api/v1/volunteers/{id}/record", [401, 403, 403, 403, 404, 200, 403, 403]),
        // The officer is of the organisation's own region: checking is theirs (409: it is
        // already approved), approving is the level above's.
        row(M::POST, "/api/v1/organisations/{id}/check", [401, 403, 403, 403, 409, 403, 403, 403]),
        row(M::POST, "/api/v1/organisations/{id}/approve", [401, 403, 403, 403, 403, 403, 403, 403]),
        // The volunteer has not served in the officer's region: to them, no such volunteer.
        row(M::GET, "/api/v1/volunteers/{id}", [401, 403, 403, 403, 404, 200, 403, 403]),
        row(M::GET, "/api/v1/volunteers/{id}/personal-data", [401, 403, 403, 403, 404, 200, 403, 403]),
        row(M::GET, "/api/v1/volunteers/{id}/audit", [401, 403, 403, 403, 404, 200, 403, 403]),
        row(M::GET, "/mp/v1/me", volunteer_only),
        row(M::GET, "/mp/v1/me/export", volunteer_only),
        row(M::GET, "/mp/v1/me/extra-fields", volunteer_only),
        row(M::GET, "/mp/v1/me/notifications", volunteer_only),
        row(M::POST, "/mp/v1/me/notifications/read", volunteer_only),
        row(M::GET, "/mp/v1/me/record", volunteer_only),
        row(M::GET, "/mp/v1/me/hours", volunteer_only),
        row(M::PUT, "/mp/v1/me/extra-fields/{field}", volunteer_only),
        row(M::POST, "/mp/v1/me/extra-fields/{field}/withdraw", volunteer_only),
        row(M::POST, "/mp/v1/me/corrections", [401, 201, 403, 403, 403, 403, 403, 403]),
        row(M::GET, "/mp/v1/me/corrections", volunteer_only),
        row(M::GET, "/api/v1/corrections", [401, 403, 403, 403, 200, 200, 403, 403]),
        // The volunteer's request (id 1) is outside the officer's view: they never served there.
        row(M::POST, "/api/v1/corrections/{id}/decision", [401, 403, 403, 403, 404, 200, 403, 403]),
        row(M::POST, "/mp/v1/me/consents", volunteer_only),
        row(M::POST, "/mp/v1/me/guardian-consent", [401, 422, 403, 403, 403, 403, 403, 403]),
        row(M::POST, "/mp/v1/me/device", [401, 204, 403, 403, 403, 403, 403, 403]),
        row(M::POST, "/mp/v1/me/phone", [401, 503, 403, 403, 403, 403, 403, 403]),
        row(M::POST, "/mp/v1/scans", [401, 422, 403, 403, 403, 403, 403, 403]),
        row(M::GET, "/mp/v1/me/sessions", volunteer_only),
        row(M::DELETE, "/mp/v1/me/sessions/{session_id}", [401, 404, 403, 403, 403, 403, 403, 403]),
        row(M::GET, "/api/v1/me", [401, 403, 200, 200, 200, 200, 200, 200]),
        row(M::GET, "/api/v1/me/sessions", [401, 403, 200, 200, 200, 200, 200, 200]),
        row(M::DELETE, "/api/v1/me/sessions/{session_id}", [401, 403, 404, 404, 404, 404, 404, 404]),
        // Cancelling the activity, near the end: no row after needs it open.
        row(M::POST, "/api/v1/activities/{id}/cancellation", [401, 403, 200, 404, 404, 200, 200, 403]),
        // The other organisation's activity exists for the officer's revocation below.
        row(M::POST, "/api/v1/organisations/{id}/revoke", [401, 403, 403, 403, 200, 403, 403, 403]),
        // Any staff member may have a bearer token for scripts; not a volunteer.
        row(M::POST, "/api/v1/me/api-tokens", [401, 403, 201, 201, 201, 201, 201, 201]),
        // Refreshing replaces the volunteer's token: the old one is refused from here on.
        row(M::POST, "/mp/v1/me/token/refresh", [401, 200, 403, 403, 403, 403, 403, 403]),
        row(M::POST, "/mp/v1/me/sign-out", [401, 401, 403, 403, 403, 403, 403, 403]),
        row(M::POST, "/mp/v1/me/sign-out-everywhere", [401, 401, 403, 403, 403, 403, 403, 403]),
        row(M::POST, "/api/v1/me/sign-out", [401, 401, 200, 200, 200, 200, 200, 200]),
        row(M::POST, "/api/v1/me/sign-out-everywhere", [401, 401, 401, 401, 401, 401, 401, 401]),
        // Every session has ended by now; tests/it/console.rs signs a live one out.
        row(M::POST, "/api/v1/console/sign-out", [401; 8]),
    ]
}

on_both_backends! {
    async fn every_endpoint_against_every_role(app: TestApp) {
        let admin = app.administrator().await;
        let org = app.organisation(&admin, "翠湖志愿者协会").await;
        let other_org = app.organisation(&admin, "滇池保护志愿队").await;
        let organiser = app.organiser(&admin, org).await;
        let other = app.organiser(&admin, other_org).await;
        let officer = {
            app.staff(&admin, json!({"name": "民政", "role": "officer", "region_code": "530102"})).await
        };
        let activity = app.activity(&organiser, org, json!({})).await["id"].as_i64().expect("id");
        let (volunteer_id, volunteer) = app.volunteer("张三", "13800001234").await;
        let recorder = app.staff(&admin, json!({
            "name": "王记录", "role": "recorder", "organisation_id": org,
            "qualification": {"certificate_number": "YN-2025-0001", "issued_on": "2025-12-01", "review_due_on": "2027-12-01"}
        })).await;
        let leader = app.staff(&admin, json!({"name": "赵领队", "role": "leader", "organisation_id": org})).await;
        let leader_id = app.get("/api/v1/me", &leader).await.body["staff"]["id"].as_i64().expect("id");
        app.call(Method::PUT, &format!("/api/v1/activities/{activity}/leaders/{leader_id}"), Some(&organiser), None)
            .await
            .expect_status(204);
        let tokens: [Option<&str>; 8] = [
            None,
            Some(&volunteer),
            Some(&organiser),
            Some(&other),
            Some(&officer),
            Some(&admin),
            Some(&recorder),
            Some(&leader),
        ];

        let mut serial = 0u32;
        for r in table() {
            for (i, (role, token)) in ROLES.iter().zip(tokens).enumerate() {
                serial += 1;
                let (path, body) = concrete(&r, activity, org, other_org, volunteer_id, serial);
                if r.template.ends_with("/events") && r.expect[i] == 200 {
                    let stream = app.open_stream(&path, token).await;
                    assert_eq!(stream.status().as_u16(), 200, "{} {} as {role}", r.method, r.template);
                    let content_type = stream.headers().get("content-type").and_then(|v| v.to_str().ok());
                    assert_eq!(content_type, Some("text/event-stream"), "{} as {role}", r.template);
                    continue;
                }
                let answer = app.call(r.method.clone(), &path, token, body).await;
                assert_eq!(
                    answer.status, r.expect[i],
                    "{} {} as {role}: {}", r.method, r.template, String::from_utf8_lossy(&answer.raw)
                );
                if answer.status >= 400 && !r.template.starts_with("/verify/") {
                    assert_eq!(answer.content_type, "application/problem+json", "{} {} as {role}", r.method, r.template);
                }
            }
        }
    }
}

/// A row's path and body for one call.
fn concrete(r: &Row, activity: i64, org: i64, other_org: i64, volunteer: i64, serial: u32) -> (String, Option<Value>) {
    let organisation = if r.template.ends_with("/revoke") { other_org } else { org };
    let id = if r.template.starts_with("/api/v1/activities/") || r.template.starts_with("/mp/v1/activities/") {
        activity
    } else if r.template.starts_with("/api/v1/staff/")
        || r.template.starts_with("/api/v1/corrections/")
        || r.template.starts_with("/api/v1/complaints/")
        || r.template.starts_with("/api/v1/objections/")
        || r.template.starts_with("/api/v1/report-batches/")
        || r.template.starts_with("/api/v1/exchange-exports/")
        || r.template.starts_with("/api/v1/star-")
    {
        1
    } else if r.template.starts_with("/api/v1/organisations/{id}") {
        organisation
    } else {
        volunteer
    };
    let path = r
        .template
        .replace("{id}", &id.to_string())
        .replace("{token}", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
        .replace("{session_id}", "0000000000000000")
        .replace("{staff_id}", "1")
        .replace("{field}", "employer")
        .replace("{flag_id}", "1")
        .replace("{region_code}", "530102")
        .replace("{day}", "2026-07-23")
        .replace("{entry_id}", "1")
        .replace("{correction_id}", "1")
        .replace("{signup_id}", "1")
        .replace("{volunteer_id}", &volunteer.to_string())
        .replace("{passkey_id}", "00000000-0000-4000-8000-000000000000")
        .replace("{key_id}", "1")
        .replace("{file}", "console.js")
        .replace("{number}", "HM2026999999");
    // Operations whose parameters are all in the query string.
    let path = match r.template {
        "/api/v1/public/calendar/days" => format!("{path}?region_code=530102&from=2026-12-01&to=2026-12-31"),
        "/api/v1/public/calendar/period" => format!("{path}?organisation_id={org}"),
        "/api/v1/time-bank/accounts" => format!("{path}?volunteer_number=100000000000"),
        _ => path,
    };
    let body = match (r.method.as_str(), r.template) {
        ("GET" | "DELETE", _) => None,
        (
            _,
            "/api/v1/organisations/{id}/roster-imports/dry-run"
            | "/api/v1/organisations/{id}/roster-imports"
            | "/api/v1/activities/{id}/historic-hours",
        ) => None,
        (_, "/api/v1/organisations/{id}/exchange-exports") => Some(json!({"kind": "volunteers"})),
        (_, "/api/v1/bootstrap") => Some(json!({"token": "hm_wrong", "name": "甲", "login": "someone"})),
        (_, "/mp/v1/login/wechat") => Some(json!({"code": "c"})),
        (_, "/mp/v1/login/wechat-oa/start") => Some(json!({"code": "AAAA"})),
        (_, "/mp/v1/login/wechat-oa/finish") => Some(json!({"handle": "0".repeat(32), "device_id": "p"})),
        (_, "/api/v1/invites/passkey/start") => Some(json!({"invite": "hm_not-an-invite"})),
        (_, "/api/v1/sign-in/passkey/start") => Some(json!({"login": "nobody"})),
        (_, "/mp/v1/login/dev") => Some(json!({"phone": "13800001234"})),
        // A number each, or the resend wait would answer the second caller.
        (_, "/mp/v1/login/sms/code") => Some(json!({"phone": format!("1370001{serial:04}")})),
        (_, "/mp/v1/login/sms") => Some(json!({"phone": "13700009999", "code": "000000", "device_id": "p"})),
        (_, "/mp/v1/volunteers") => Some(registration("甲", &format!("1370000{serial:04}"), &next_resident_id())),
        (_, "/api/v1/organisations/applications") | (_, "/api/v1/organisations") => {
            Some(json!({"name": format!("组织{serial}"), "region_code": "530102"}))
        }
        (_, "/api/v1/staff") => {
            Some(json!({"name": "乙", "login": format!("role.{serial}"), "role": "organiser", "organisation_id": org}))
        }
        (_, "/api/v1/staff/{id}/qualification/renewals") => Some(
            json!({"certificate_number": "YN-2026-0100", "issued_on": "2026-12-01", "review_due_on": "2027-12-01"}),
        ),
        ("PUT", "/api/v1/activities/{id}") => Some(json!({
            "organisation_id": org, "name": "翠湖公园清洁", "category": "environment", "recipients": "市民",
            "content": "内容", "address": "地址", "location": {"lat": 25.0, "lng": 102.7}, "radius_m": 100,
            "starts_at": "2026-12-05T08:00:00+08:00", "ends_at": "2026-12-05T17:00:00+08:00",
            "gates": ["北门", "南门"]
        })),
        (_, "/api/v1/activities") => Some(json!({
            "organisation_id": org, "name": "活动", "category": "environment", "recipients": "市民",
            "content": "内容", "address": "地址", "location": {"lat": 25.0, "lng": 102.7}, "radius_m": 100,
            "starts_at": "2026-12-05T08:00:00+08:00", "ends_at": "2026-12-05T17:00:00+08:00"
        })),
        (_, "/mp/v1/me/extra-fields/{field}") => Some(json!({"value": "云南大学", "notice_version": "v"})),
        (_, "/mp/v1/me/extra-fields/{field}/withdraw") => Some(json!({"notice_version": "v"})),
        (_, "/api/v1/activities/{id}/review/settings") => Some(json!({"left_open_policy": "credit_nothing"})),
        (_, "/api/v1/activities/{id}/screen-keys") => Some(json!({"gate": 0, "direction": "toggle"})),
        (_, "/api/v1/activities/{id}/flags/{flag_id}/resolution") => {
            Some(json!({"decision": "accept", "reason": "核实无误"}))
        }
        (_, "/api/v1/activities/{id}/late-entries") => Some(json!({
            "volunteer_id": volunteer, "day": "2026-12-05", "minutes": 60, "evidence": "签到表", "reason": "手机没电"
        })),
        (_, "/api/v1/activities/{id}/late-entries/{entry_id}/decision") => {
            Some(json!({"approve": true, "reason": "核实"}))
        }
        (_, "/api/v1/activities/{id}/session-corrections") => {
            Some(json!({"volunteer_id": volunteer, "day": "2026-12-05", "minutes": 60, "reason": "更正"}))
        }
        (_, "/api/v1/activities/{id}/session-corrections/{correction_id}/decision") => {
            Some(json!({"approve": true, "reason": "核实"}))
        }
        (_, "/mp/v1/me/notifications/read") => Some(json!({"all": true})),
        (_, "/api/v1/activities/{id}/evaluations/{volunteer_id}") => Some(json!({"grade": "good", "comment": "认真"})),
        (_, "/api/v1/activities/{id}/satisfaction") => Some(json!({"score": 5, "respondents": 12, "comment": "满意"})),
        (_, "/api/v1/complaints") => Some(json!({
            "volunteer_id": volunteer, "activity_id": activity, "complainant": "王女士 13912345678", "description": "迟到"
        })),
        (_, "/api/v1/complaints/{id}/investigation") => Some(json!({"note": "询问当事人"})),
        (_, "/api/v1/complaints/{id}/decision") => Some(json!({"verified": false, "reason": "查无实据"})),
        (_, "/api/v1/volunteers/{id}/trainings") => {
            Some(json!({"title": "急救培训", "held_on": "2026-11-01", "hours": 4}))
        }
        (_, "/api/v1/volunteers/{id}/awards") => {
            Some(json!({"title": "优秀志愿者", "awarded_by": "五华区民政局", "awarded_on": "2026-10-01"}))
        }
        (_, "/api/v1/calendar/years") => {
            Some(serde_json::from_str(include_str!("../../calendar/national/2025.json")).expect("json"))
        }
        (_, "/api/v1/calendar/overlays") => {
            Some(json!({"region_code": "530102", "day": "2026-07-23", "kind": "off", "name": "火把节"}))
        }
        (_, "/api/v1/public/publicity/{entry_id}/objections") => {
            Some(json!({"contact": "王先生 13912345678", "reason": "时长有误"}))
        }
        (_, "/api/v1/publicity/working-days") => Some(json!({"organisation_id": org, "working_days": 5})),
        (_, "/api/v1/report-batches/{id}/return") => Some(json!({"reason": "时长有误"})),
        (_, "/api/v1/organisations/{id}/time-bank") => Some(json!({"enabled": true})),
        (_, "/api/v1/time-bank/spends") => {
            Some(json!({"key": format!("role-{serial}"), "minutes": 1, "service": "助餐"}))
        }
        (_, "/mp/v1/me/star-applications") => Some(json!({"stars": 1})),
        (_, "/api/v1/activities/{id}/recruitment") => Some(json!({
            "slots": [{"name": "北门引导", "capacity": 5}],
            "signup_deadline": "2026-12-05T16:00:00+08:00", "cancel_cutoff": "2026-12-05T12:00:00+08:00"
        })),
        (_, "/mp/v1/activities/{id}/signups") => Some(json!({"slot_id": 1})),
        (_, "/api/v1/activities/{id}/training-completions") => Some(json!({"phone": "13800001234"})),
        (_, "/api/v1/activities/{id}/cancellation") => Some(json!({"reason": "暴雨"})),
        (_, "/api/v1/activities/{id}/signups/{signup_id}/decision") => Some(json!({"approve": true})),
        (_, "/api/v1/activities/{id}/signups/approvals") => Some(json!({"all": true})),
        (_, "/api/v1/certificate-requests/{id}/issue") => {
            Some(json!({"handler": "李四", "contact": "0871-65123456", "department": "五华区民政局"}))
        }
        (_, "/api/v1/certificate-requests/{id}/decline") => Some(json!({"reason": "所选日期内没有服务记录"})),
        (_, "/api/v1/star-applications/{id}/decision") => Some(json!({"grant": true, "reason": "达标"})),
        (_, "/api/v1/star-reviews/{id}/decision") => Some(json!({"revoke": false, "reason": "保留"})),
        (_, "/api/v1/star-rules/{region_code}") => {
            Some(json!({"thresholds": [100, 300, 600, 1000, 1500], "complaint_block_days": 365}))
        }
        (_, "/mp/v1/me/time-bank/donations") => Some(json!({"key": format!("role-{serial}"), "minutes": 1})),
        (_, "/api/v1/objections/{id}/decision") => Some(json!({"uphold": false, "reason": "核实无误"})),
        (_, "/mp/v1/me/corrections") => {
            Some(json!({"field": "skills", "requested_value": "急救、外语", "reason": "补充技能"}))
        }
        (_, "/api/v1/corrections/{id}/decision") => Some(json!({"accept": false, "reason": "核实无误"})),
        (_, "/mp/v1/me/consents") => Some(json!({"purpose": "publicity", "granted": true, "notice_version": "v"})),
        (_, "/mp/v1/me/guardian-consent") => Some(json!({
            "guardian_name": "王芳", "relation": "母亲", "guardian_phone": "13911112222", "notice_version": "v"
        })),
        (_, "/mp/v1/me/device") => Some(json!({"device_id": "role-phone"})),
        (_, "/mp/v1/me/phone") => Some(json!({"code": "c"})),
        (_, "/mp/v1/scans") => Some(json!({
            "code": "not-ours", "nonce": uuid::Uuid::new_v4(), "client_time": "2026-12-05T09:00:00+08:00",
            "device_id": "role-phone"
        })),
        (_, t) if t.ends_with("/revoke") => Some(json!({"reason": "弄虚作假"})),
        _ => Some(json!({})),
    };
    (path, body)
}

/// The table covers every operation the API description lists, and nothing else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_role_table_covers_every_documented_operation() {
    let app = TestApp::spawn(hourmark_tests::Backend::Sqlite).await;
    let doc: Value = app.client.get(app.url("/openapi.json")).send().await.expect("doc").json().await.expect("json");
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| item.as_object().expect("item").keys().map(move |m| (m.to_uppercase(), path.clone())))
        .collect();
    let tabled: BTreeSet<(String, String)> =
        table().iter().map(|r| (r.method.as_str().to_owned(), r.template.to_owned())).collect();
    assert_eq!(documented, tabled, "every documented operation needs a row in the role table");
}

/// The sign-ups page with each role's browser session (the table above calls pages with
/// bearer tokens, which pages send to sign-in): those who manage the activity see it, and
/// only those who may decide get the form and the buttons; an organiser of another
/// organisation and an officer are told it does not exist.
#[tokio::test]
async fn the_signups_page_by_role() {
    use crate::console_officer::browser_session;
    let app = TestApp::spawn_for_browser(hourmark_tests::Backend::Sqlite).await;
    let admin = app.administrator().await;
    let org = app.organisation(&admin, "翠湖志愿者协会").await;
    let other_org = app.organisation(&admin, "滇池保护志愿队").await;
    let activity = app.activity(&admin, org, json!({})).await["id"].as_i64().expect("id");
    let session = |body: Value| browser_session(&app, &admin, body);
    let (organiser, _, _) = session(json!({"name": "李组织", "role": "organiser", "organisation_id": org})).await;
    let (other, _, _) = session(json!({"name": "周组织", "role": "organiser", "organisation_id": other_org})).await;
    let (officer, _, _) = session(json!({"name": "民政", "role": "officer", "region_code": "530102"})).await;
    let (recorder, _, _) = session(json!({
        "name": "王记录", "role": "recorder", "organisation_id": org,
        "qualification": {"certificate_number": "YN-2025-0001", "issued_on": "2025-12-01", "review_due_on": "2027-12-01"}
    }))
    .await;
    let (leader, _, leader_id) = session(json!({"name": "赵领队", "role": "leader", "organisation_id": org})).await;
    app.call(Method::PUT, &format!("/api/v1/activities/{activity}/leaders/{leader_id}"), Some(&admin), None)
        .await
        .expect_status(204);
    let (administrator, _, _) = session(json!({"name": "刘管理", "role": "administrator"})).await;
    // (who, cookie, status, may decide)
    let expected = [
        ("organiser", &organiser, 200, true),
        ("recorder", &recorder, 200, true),
        ("administrator", &administrator, 200, true),
        ("leader", &leader, 200, false),
        ("other organiser", &other, 404, false),
        ("officer", &officer, 404, false),
    ];
    for (who, cookie, status, decides) in expected {
        let page = app
            .client
            .get(app.url(&format!("/console/activities/{activity}/signups")))
            .header("cookie", cookie.as_str())
            .send()
            .await
            .expect("page");
        assert_eq!(page.status().as_u16(), status, "{who}");
        let html = page.text().await.expect("html");
        assert_eq!(html.contains("id=\"recruit-form\""), decides, "{who}: the form");
        assert_eq!(html.contains("id=\"approve-all\""), decides, "{who}: 全部通过");
        assert_eq!(html.contains("id=\"read-only\""), status == 200 && !decides, "{who}: told they only read");
    }
}

/// The roster and export desks with each role's browser session: who gets the desk, who
/// the organisation chooser, who is told the page is not theirs, and who finds nothing.
#[tokio::test]
async fn the_exchange_pages_by_role() {
    use crate::console_officer::browser_session;
    let app = TestApp::spawn_for_browser(hourmark_tests::Backend::Sqlite).await;
    let admin = app.administrator().await;
    let org = app.organisation(&admin, "翠湖志愿者协会").await;
    let other_org = app.organisation(&admin, "滇池保护志愿队").await;
    let far_org = app
        .post("/api/v1/organisations", Some(&admin), json!({"name": "盘龙志愿者协会", "region_code": "530103"}))
        .await
        .body["id"]
        .as_i64()
        .expect("id");
    let session = |body: Value| browser_session(&app, &admin, body);
    let (organiser, _, _) = session(json!({"name": "李组织", "role": "organiser", "organisation_id": org})).await;
    let (officer, _, _) = session(json!({"name": "民政", "role": "officer", "region_code": "530102"})).await;
    let (league, _, _) =
        session(json!({"name": "团委", "role": "officer", "region_code": "530000", "agency": "youth_league"})).await;
    let (recorder, _, _) = session(json!({
        "name": "王记录", "role": "recorder", "organisation_id": org,
        "qualification": {"certificate_number": "YN-2025-0001", "issued_on": "2025-12-01", "review_due_on": "2027-12-01"}
    }))
    .await;
    let (leader, _, _) = session(json!({"name": "赵领队", "role": "leader", "organisation_id": org})).await;
    let (administrator, _, _) = session(json!({"name": "刘管理", "role": "administrator"})).await;
    let desk = "id=\"roster-form\"";
    let exports = "id=\"export-form\"";
    let chooser = "id=\"choose-organisation\"";
    // (who, cookie, path, status, what the page must hold)
    let expected: Vec<(&str, &String, String, u16, &str)> = vec![
        ("organiser", &organiser, "/console/roster".into(), 200, desk),
        ("organiser", &organiser, "/console/exports".into(), 200, exports),
        ("organiser, own id", &organiser, format!("/console/roster?organisation={org}"), 200, desk),
        ("organiser, another's", &organiser, format!("/console/roster?organisation={other_org}"), 404, "组织不存在"),
        ("organiser, another's", &organiser, format!("/console/exports?organisation={other_org}"), 404, "组织不存在"),
        ("recorder", &recorder, "/console/roster".into(), 403, "仅供记录机构的组织者和管理员"),
        ("recorder", &recorder, "/console/exports".into(), 200, exports),
        ("leader", &leader, "/console/roster".into(), 403, "仅供"),
        ("leader", &leader, "/console/exports".into(), 403, "仅供"),
        ("administrator", &administrator, "/console/roster".into(), 200, chooser),
        ("administrator", &administrator, format!("/console/roster?organisation={other_org}"), 200, desk),
        ("administrator", &administrator, "/console/exports".into(), 200, chooser),
        ("administrator", &administrator, format!("/console/exports?organisation={far_org}"), 200, exports),
        ("administrator", &administrator, "/console/exports?organisation=999999".into(), 404, "组织不存在"),
        ("officer", &officer, "/console/roster".into(), 403, "仅供"),
        ("officer", &officer, "/console/exports".into(), 200, chooser),
        ("officer", &officer, format!("/console/exports?organisation={org}"), 200, exports),
        (
            "officer, outside the region",
            &officer,
            format!("/console/exports?organisation={far_org}"),
            404,
            "组织不存在",
        ),
        ("youth league", &league, "/console/exports".into(), 403, "由民政部门办理"),
    ];
    for (who, cookie, path, status, holds) in expected {
        let page = app.client.get(app.url(&path)).header("cookie", cookie.as_str()).send().await.expect("page");
        assert_eq!(page.status().as_u16(), status, "{who} {path}");
        let html = page.text().await.expect("html");
        assert!(html.contains(holds), "{who} {path}: {html}");
        if status != 200 {
            assert!(!html.contains(desk) && !html.contains(exports), "{who} {path}: no desk on a refusal");
        }
    }
    // The chooser lists only what the officer's region covers.
    let page = app
        .client
        .get(app.url("/console/exports"))
        .header("cookie", officer.as_str())
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(page.contains("翠湖志愿者协会") && !page.contains("盘龙志愿者协会"), "{page}");
    // An organiser's bar links both desks; a recorder's only the exports.
    let bar = |html: &str| (html.contains("href=\"/console/roster\""), html.contains("href=\"/console/exports\""));
    for (cookie, links) in [(&organiser, (true, true)), (&recorder, (false, true)), (&leader, (false, false))] {
        let html = app.client.get(app.url("/console")).header("cookie", cookie.as_str()).send().await.expect("page");
        assert_eq!(bar(&html.text().await.expect("html")), links);
    }
}

//! Service-record certificates: asked for by the volunteer, issued by a qualified recorder
//! of the organisation (or the county's civil-affairs department), signed, rendered as a
//! PDF whose text and QR code say what the register says, checked offline and online,
//! revoked with a reason, and shown as superseded after a correction lowers the hours.

use std::process::Command;

use chrono::Duration;
use hourmark_tests::on_both_backends;
use serde_json::{Value, json};

use crate::time_bank::{serve_and_confirm, signed_in_admin};

/// A tool from poppler-utils; the test fails (never skips) without it.
fn poppler(tool: &str, args: &[&std::ffi::OsStr]) -> std::process::Output {
    let out = Command::new(tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{tool} is needed (Debian package poppler-utils; scripts/test installs it): {e}"));
    assert!(out.status.success(), "{tool} failed: {}", String::from_utf8_lossy(&out.stderr));
    out
}

/// The PDF's text (pdftotext, layout kept) and its first page as a PNG (pdftoppm, 150 dpi).
fn read_pdf(pdf: &[u8], dir: &std::path::Path) -> (String, image::GrayImage) {
    let file = dir.join("certificate.pdf");
    std::fs::write(&file, pdf).expect("write pdf");
    let text = poppler("pdftotext", &["-layout".as_ref(), file.as_os_str(), "-".as_ref()]);
    let prefix = dir.join("page");
    poppler(
        "pdftoppm",
        &[
            "-png".as_ref(),
            "-r".as_ref(),
            "150".as_ref(),
            "-f".as_ref(),
            "1".as_ref(),
            "-l".as_ref(),
            "1".as_ref(),
            file.as_os_str(),
            prefix.as_os_str(),
        ],
    );
    let png = std::fs::read_dir(dir)
        .expect("dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "png"))
        .expect("pdftoppm wrote a page");
    let page = image::open(&png).expect("a PNG").to_luma8();
    (String::from_utf8(text.stdout).expect("utf-8"), page)
}

fn verify_file(file: &std::path::Path, public_key: &str) -> (Option<i32>, String) {
    let out = Command::new(crate::binary::server_binary())
        .arg("verify-certificate")
        .arg(file)
        .arg("--public-key")
        .arg(public_key)
        .env("HOURMARK_LOG", "warn")
        .env_remove("HOURMARK_CERTIFICATE_KEY")
        .output()
        .expect("runs");
    (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
}

async fn public_get(app: &hourmark_tests::TestApp, path: &str) -> hourmark_tests::Answer {
    app.call(reqwest::Method::GET, path, None, None).await
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("hourmark-certificate-{name}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

on_both_backends! {
    async fn a_certificate_is_issued_rendered_verified_and_revoked(app: TestApp) {
        let s = serve_and_confirm(&app).await; // 3 confirmed hours on 2026-12-05, Wuhua (530102)
        let asks = "/mp/v1/me/certificate-requests";
        // Nothing confirmed in the scope, a backwards range, an unknown organisation.
        app.post(asks, Some(&s.volunteer), json!({"from": "2025-01-01", "to": "2025-12-31"})).await
            .expect_problem(409, "certificate_nothing_confirmed");
        app.post(asks, Some(&s.volunteer), json!({"from": "2026-12-31", "to": "2026-12-01"})).await
            .expect_problem(422, "invalid_body");
        app.post(asks, Some(&s.volunteer), json!({"organisation_id": 999_999})).await
            .expect_problem(422, "invalid_body");
        assert_eq!(app.get(asks, &s.volunteer).await.body, json!([]), "nothing stored");

        let asked = app.post(asks, Some(&s.volunteer), json!({"organisation_id": s.org, "from": "2026-12-01"})).await;
        asked.expect_status(201);
        assert_eq!(asked.body["route_organisation_id"], s.org);
        assert_eq!(asked.body["route_region"], "530102");
        assert_eq!(asked.body["status"], "pending");
        let id = asked.body["id"].as_i64().expect("id");

        let recorder = crate::review::recorder(&app, &s.admin, s.org).await;
        let other_region = app.staff(&s.admin, json!({"name": "盘龙", "role": "officer", "region_code": "530103"})).await;
        let pending = |token: String| {
            let app = &app;
            async move { app.get("/api/v1/certificate-requests", &token).await.body.as_array().map(Vec::len) }
        };
        assert_eq!(pending(recorder.clone()).await, Some(1));
        let desk = app.get("/api/v1/certificate-requests", &recorder).await.body;
        assert_eq!(desk[0]["id"], id, "{desk}");
        assert_eq!(desk[0]["status"], "pending");
        assert_eq!(desk[0]["confirmed_minutes"], 180, "what issuing would print: {desk}");
        assert_eq!(desk[0]["service_days"], 1);
        assert!(desk[0]["volunteer_name"].as_str().is_some_and(|n| !n.is_empty()), "{desk}");
        assert!(desk[0]["volunteer_number"].as_str().is_some_and(|n| !n.is_empty()), "{desk}");
        assert_eq!(pending(s.officer.clone()).await, Some(1), "the county's department sees it too");
        assert_eq!(pending(other_region.clone()).await, Some(0));
        app.get("/api/v1/certificate-requests", &s.organiser).await.expect_problem(403, "forbidden");

        let issue = format!("/api/v1/certificate-requests/{id}/issue");
        let by_recorder = json!({"handler": "李四", "contact": "0871-65123456"});
        app.post(&issue, Some(&other_region), json!({"handler": "甲", "contact": "0871-65000000", "department": "盘龙区民政局"}))
            .await.expect_problem(403, "forbidden");
        app.post(&issue, Some(&s.organiser), by_recorder.clone()).await.expect_problem(403, "forbidden");
        app.post(&issue, Some(&recorder), json!({"handler": "李四", "contact": "请打电话"})).await
            .expect_problem(422, "invalid_body");
        app.post(&issue, Some(&s.officer), json!({"handler": "王五", "contact": "0871-65000000"})).await
            .expect_problem(422, "invalid_body"); // an officer must name the department
        app.post("/api/v1/certificate-requests/999999/issue", Some(&recorder), by_recorder.clone()).await
            .expect_problem(404, "not_found");
        let issued = app.post(&issue, Some(&recorder), by_recorder.clone()).await;
        issued.expect_status(201);
        app.post(&issue, Some(&recorder), by_recorder.clone()).await.expect_problem(409, "certificate_request_issued");

        // The content is the register's: one day, 180 minutes, masked ID, the organisation.
        let content = &issued.body["content"];
        let number = content["number"].as_str().expect("number").to_owned();
        assert_eq!(number, "HM2026000001");
        let me = app.get("/mp/v1/me", &s.volunteer).await;
        let id_number = me.body["volunteer"]["id_number"].as_str().or(me.body["id_number"].as_str()).expect("own id").to_owned();
        let masked = format!("{}{}{}", &id_number[..1], "*".repeat(id_number.len() - 2), &id_number[id_number.len() - 1..]);
        assert_eq!(content["volunteer_name"], "张三");
        assert_eq!(content["id_type"], "居民身份证");
        assert_eq!(content["id_number"], masked.as_str());
        assert_eq!(content["services"], json!([{
            "day": "2026-12-05", "activity_name": content["services"][0]["activity_name"].clone(),
            "organisation_name": "翠湖志愿者协会", "minutes": 180
        }]));
        assert_eq!(content["total_minutes"], 180);
        assert_eq!(content["stars"], 0);
        assert_eq!(content["issuer"]["name"], "翠湖志愿者协会");
        assert_eq!(content["handler"], "李四");
        let activity_name = content["services"][0]["activity_name"].as_str().expect("activity").to_owned();
        let verify_url = issued.body["verify_url"].as_str().expect("url").to_owned();
        assert_eq!(verify_url, app.hourmark.verify_url(&number));
        let requests = app.get(asks, &s.volunteer).await;
        assert_eq!(requests.body[0]["certificate_number"], number.as_str());
        let audit = app.get(&format!("/api/v1/volunteers/{}/audit", s.volunteer_id), &s.admin).await;
        assert!(audit.raw.windows(18).any(|w| w == b"certificate_issued"), "audited");

        // The PDF: its text says what the register says; its QR code leads to the page.
        let pdf = app.get(&format!("/mp/v1/me/certificates/{number}.pdf"), &s.volunteer).await;
        pdf.expect_status(200);
        assert_eq!(pdf.content_type, "application/pdf");
        app.get(&format!("/mp/v1/me/certificates/{number}"), &s.volunteer).await.expect_problem(404, "not_found");
        app.get(&format!("/api/v1/certificates/{number}/pdf"), &recorder).await.expect_status(200);
        app.get(&format!("/api/v1/certificates/{number}/pdf"), &s.officer).await.expect_status(200);
        app.get(&format!("/api/v1/certificates/{number}/pdf"), &other_region).await.expect_problem(404, "not_found");
        let dir = temp_dir("pdf");
        let (text, page) = read_pdf(&pdf.raw, &dir);
        let squeezed: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
        for expected in ["志愿服务记录证明", "张三", masked.as_str(), "翠湖志愿者协会", "2026-12-05", "180",
                         "合计：1 天次，180 分钟，折合 3.0 小时", number.as_str(), "李四", "0871-65123456"] {
            assert!(squeezed.contains(expected), "the PDF says {expected:?}:\n{text}");
        }
        assert!(squeezed.contains(&activity_name[..activity_name.char_indices().nth(4).map_or(activity_name.len(), |(i, _)| i)]),
            "the activity:\n{text}");
        assert!(!text.contains(&id_number), "never the full ID number");
        assert_eq!((page.width(), page.height()), (1241, 1754), "A4 at 150 dpi");
        let mut prepared = rqrr::PreparedImage::prepare(page);
        let grids = prepared.detect_grids();
        assert_eq!(grids.len(), 1, "one QR code on the page");
        assert_eq!(grids[0].decode().expect("decodes").1, verify_url);

        // Offline: the file verifies against the public key; a tampered payload does not.
        let public_key = app.hourmark.certificate_settings().signer.public_key_base64();
        let file = dir.join("certificate.pdf");
        let (code, said) = verify_file(&file, &public_key);
        assert_eq!(code, Some(0), "{said}");
        assert!(said.contains("valid") && said.contains(&number) && said.contains("180 minutes"), "{said}");
        let signed = hourmark_server::certificate_pdf::extract_payload(&pdf.raw).expect("payload");
        let forged = hourmark_core::certificates::SignedCertificate {
            content: signed.content.replace("\"total_minutes\":180", "\"total_minutes\":1800"),
            ..signed.clone()
        };
        assert_ne!(forged.content, signed.content);
        let old = hourmark_server::certificate_pdf::payload_text(&signed);
        let new = hourmark_server::certificate_pdf::payload_text(&forged);
        let at = pdf.raw.windows(old.len()).position(|w| w == old.as_bytes()).expect("payload in the file");
        let mut tampered = pdf.raw[..at].to_vec();
        tampered.extend_from_slice(new.as_bytes());
        tampered.extend_from_slice(&pdf.raw[at + old.len()..]);
        let tampered_file = dir.join("tampered.pdf");
        std::fs::write(&tampered_file, &tampered).expect("write");
        let (code, said) = verify_file(&tampered_file, &public_key);
        assert_eq!(code, Some(1), "{said}");
        assert!(said.contains("TAMPERED"), "{said}");
        let configured = Command::new(crate::binary::server_binary())
            .arg("verify-certificate")
            .arg(&file)
            .env("HOURMARK_CERTIFICATE_KEY", hourmark_tests::TEST_CERTIFICATE_KEY)
            .env("HOURMARK_LOG", "warn")
            .output()
            .expect("runs");
        assert_eq!(configured.status.code(), Some(0), "the configured key's public half is the default");
        let other_key = hourmark_core::certificates::CertificateSigner::ephemeral("x").public_key_base64();
        assert_eq!(verify_file(&file, &other_key).0, Some(1), "another key: not ours");

        // Online: valid, masked; a forged number is unknown.
        let public = public_get(&app, &format!("/api/v1/public/certificates/{number}")).await;
        public.expect_status(200);
        assert_eq!(public.body["state"], "valid");
        assert_eq!(public.body["volunteer_name"], "张*");
        assert_eq!(public.body["id_number"], masked.as_str());
        assert_eq!(public.body["total_hours"], "3.0");
        assert!(public.body.get("contact").is_none() && public.body.get("handler").is_none());
        let json_page = app.client.get(app.url(&format!("/verify/{number}"))).header("accept", "application/json")
            .send().await.expect("verify");
        let json_page: Value = json_page.json().await.expect("json");
        assert_eq!(json_page, public.body);
        let html = app.client.get(app.url(&format!("/verify/{number}"))).header("accept", "text/html").send().await.expect("page");
        assert_eq!(html.status().as_u16(), 200);
        assert!(html.headers()["content-type"].to_str().expect("type").starts_with("text/html"));
        assert!(html.headers().contains_key("content-security-policy"));
        let html = html.text().await.expect("text");
        assert!(html.contains("有效") && html.contains("张*") && !html.contains("张三") && !html.contains("<script"), "{html}");
        for forged in ["HM2026999999", "HM2026000002", "not-a-number"] {
            public_get(&app, &format!("/api/v1/public/certificates/{forged}")).await.expect_problem(404, "not_found");
            let page = app.client.get(app.url(&format!("/verify/{forged}"))).send().await.expect("page");
            assert_eq!(page.status().as_u16(), 404);
            assert!(page.text().await.expect("text").contains("未找到"));
        }

        // Revoked with a reason, by the issuer side only.
        let revoke = format!("/api/v1/certificates/{number}/revoke");
        app.post(&revoke, Some(&other_region), json!({"reason": "错发"})).await.expect_problem(404, "not_found");
        app.post(&revoke, Some(&s.volunteer), json!({"reason": "错发"})).await.expect_problem(403, "forbidden");
        app.post(&revoke, Some(&recorder), json!({"reason": " "})).await.expect_problem(422, "invalid_body");
        app.post(&revoke, Some(&recorder), json!({"reason": "证明范围填写有误，已重新出具"})).await.expect_status(200);
        app.post(&revoke, Some(&recorder), json!({"reason": "再次"})).await.expect_problem(409, "certificate_revoked");
        let public = public_get(&app, &format!("/api/v1/public/certificates/{number}")).await;
        assert_eq!(public.body["state"], "revoked");
        assert_eq!(public.body["revoke_reason"], "证明范围填写有误，已重新出具");
        let html = app.client.get(app.url(&format!("/verify/{number}"))).send().await.expect("page").text().await.expect("text");
        assert!(html.contains("已撤销") && html.contains("证明范围填写有误"), "{html}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

on_both_backends! {
    async fn a_correction_supersedes_and_a_county_officer_issues_across_organisations(app: TestApp) {
        let mut s = serve_and_confirm(&app).await;
        let asked = app.post("/mp/v1/me/certificate-requests", Some(&s.volunteer), json!({})).await;
        asked.expect_status(201);
        // The county's department issues, in its own name.
        let issued = app.post(&format!("/api/v1/certificate-requests/{}/issue", asked.body["id"]), Some(&s.officer),
            json!({"handler": "王五", "contact": "0871 6500 0000", "department": "昆明市五华区民政局"})).await;
        issued.expect_status(201);
        assert_eq!(issued.body["content"]["issuer"], json!({"kind": "department", "name": "昆明市五华区民政局", "reference": "530102"}));
        let number = issued.body["content"]["number"].as_str().expect("number").to_owned();
        let pdf = app.get(&format!("/api/v1/certificates/{number}/pdf"), &s.officer).await;
        pdf.expect_status(200);
        let dir = temp_dir("department");
        let (text, _) = read_pdf(&pdf.raw, &dir);
        assert!(text.contains("出具部门：昆明市五华区民政局"), "{text}");
        let _ = std::fs::remove_dir_all(&dir);

        // A correction to one hour, recorded and confirmed: the certificate is superseded.
        let recorder = crate::review::recorder(&app, &s.admin, s.org).await;
        let second_recorder = crate::review::recorder(&app, &s.admin, s.org).await;
        let corrections = format!("/api/v1/activities/{}/session-corrections", s.activity);
        let proposed = app.post(&corrections, Some(&recorder),
            json!({"volunteer_id": s.volunteer_id, "day": "2026-12-05", "minutes": 60, "reason": "复核"})).await;
        proposed.expect_status(201);
        app.post(&format!("{corrections}/{}/decision", proposed.body["id"]), Some(&second_recorder),
            json!({"approve": true, "reason": "核实"})).await.expect_status(200);
        app.advance(Duration::days(7));
        assert_eq!(app.hourmark.advance_publicity().await.expect("job"), 1);
        // Recorded but not yet confirmed: the certificate still stands.
        let public = format!("/api/v1/public/certificates/{number}");
        assert_eq!(public_get(&app, &public).await.body["state"], "valid");
        let admin = signed_in_admin(&app, &mut s.admin_key).await;
        let organiser = app.organiser(&admin, s.org).await;
        let county = app.staff(&admin, json!({"name": "民政", "role": "officer", "region_code": "530102"})).await;
        let batch = app.post(&format!("/api/v1/organisations/{}/report-batches", s.org), Some(&organiser), json!({})).await;
        batch.expect_status(201);
        app.post(&format!("/api/v1/report-batches/{}/confirm", batch.body["id"]), Some(&county), json!({})).await
            .expect_status(200);
        let after = public_get(&app, &public).await;
        assert_eq!(after.body["state"], "superseded");
        assert_eq!(after.body["total_minutes"], 180, "the certificate keeps what it said");
        assert_eq!(after.body["current_minutes"], 60);
        assert_eq!(after.body["current_hours"], "1.0");
        let html = app.client.get(app.url(&format!("/verify/{number}"))).send().await.expect("page").text().await.expect("text");
        assert!(html.contains("已更正") && html.contains("60 分钟"), "{html}");

        // A new certificate carries the corrected figure.
        let recorder = crate::review::recorder(&app, &admin, s.org).await;
        let again = app.post("/mp/v1/me/certificate-requests", Some(&s.volunteer), json!({})).await;
        again.expect_status(201);
        let reissued = app.post(&format!("/api/v1/certificate-requests/{}/issue", again.body["id"]), Some(&recorder),
            json!({"handler": "李四", "contact": "13800001111"})).await;
        reissued.expect_status(201);
        assert_eq!(reissued.body["content"]["total_minutes"], 60);
        assert_eq!(reissued.body["content"]["number"], "HM2026000002");
    }
}

on_both_backends! {
    async fn an_organisation_uploads_its_seal_and_it_is_printed(app: TestApp) {
        let s = serve_and_confirm(&app).await;
        let seal_path = format!("/api/v1/organisations/{}/seal", s.org);
        // A red ring, as a seal is.
        let seal = image::RgbaImage::from_fn(200, 200, |x, y| {
            let d = ((x as f32 - 100.0).powi(2) + (y as f32 - 100.0).powi(2)).sqrt();
            if (80.0..95.0).contains(&d) { image::Rgba([200, 0, 0, 255]) } else { image::Rgba([0, 0, 0, 0]) }
        });
        let mut png = Vec::new();
        seal.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).expect("png");
        let put = |token: &str, body: Vec<u8>| {
            app.client.put(app.url(&seal_path)).bearer_auth(token).header("content-type", "image/png").body(body).send()
        };
        assert_eq!(put(&s.organiser, b"not a png".to_vec()).await.expect("put").status().as_u16(), 422);
        assert_eq!(put(&s.officer, png.clone()).await.expect("put").status().as_u16(), 403);
        assert_eq!(put(&s.organiser, vec![0u8; 300 * 1024]).await.expect("put").status().as_u16(), 413);
        assert_eq!(put(&s.organiser, png.clone()).await.expect("put").status().as_u16(), 204);

        let asked = app.post("/mp/v1/me/certificate-requests", Some(&s.volunteer), json!({})).await;
        let recorder = crate::review::recorder(&app, &s.admin, s.org).await;
        let issued = app.post(&format!("/api/v1/certificate-requests/{}/issue", asked.body["id"]), Some(&recorder),
            json!({"handler": "李四", "contact": "0871-65123456"})).await;
        issued.expect_status(201);
        let number = issued.body["content"]["number"].as_str().expect("number").to_owned();
        let pdf = app.get(&format!("/mp/v1/me/certificates/{number}.pdf"), &s.volunteer).await;
        let dir = temp_dir("seal");
        let file = dir.join("c.pdf");
        std::fs::write(&file, &pdf.raw).expect("write");
        let prefix = dir.join("page");
        poppler("pdftoppm", &["-png".as_ref(), "-r".as_ref(), "72".as_ref(), file.as_os_str(), prefix.as_os_str()]);
        let page = std::fs::read_dir(&dir).expect("dir").filter_map(Result::ok).map(|e| e.path())
            .find(|p| p.extension().is_some_and(|e| e == "png")).expect("page");
        let page = image::open(&page).expect("png").to_rgb8();
        let red = page.pixels().filter(|p| p[0] > 150 && p[1] < 60 && p[2] < 60).count();
        assert!(red > 500, "the seal is printed in red ({red} red pixels)");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

on_both_backends! {
    /// An issuer declines a request with a reason the volunteer reads; a declined request
    /// is never issued, and only those who could issue it may decline it.
    async fn an_issuer_declines_a_request_with_a_reason(app: TestApp) {
        let s = serve_and_confirm(&app).await;
        let asks = "/mp/v1/me/certificate-requests";
        let asked = app.post(asks, Some(&s.volunteer), json!({"organisation_id": s.org})).await;
        asked.expect_status(201);
        let id = asked.body["id"].as_i64().expect("id");
        let decline = format!("/api/v1/certificate-requests/{id}/decline");
        let recorder = crate::review::recorder(&app, &s.admin, s.org).await;
        let other_region = app.staff(&s.admin, json!({"name": "盘龙", "role": "officer", "region_code": "530103"})).await;
        let reason = json!({"reason": "请按服务日期范围重新申请"});

        // Refused: not an issuer, another region, no reason, an unknown request.
        app.post(&decline, Some(&s.organiser), reason.clone()).await.expect_problem(403, "forbidden");
        app.post(&decline, Some(&s.volunteer), reason.clone()).await.expect_problem(403, "forbidden");
        app.post(&decline, Some(&other_region), reason.clone()).await.expect_problem(403, "forbidden");
        app.post(&decline, Some(&recorder), json!({"reason": "  "})).await.expect_problem(422, "invalid_body");
        app.post(&decline, Some(&recorder), json!({})).await.expect_problem(422, "invalid_body");
        app.post("/api/v1/certificate-requests/999999/decline", Some(&recorder), reason.clone()).await
            .expect_problem(404, "not_found");
        assert_eq!(app.get(asks, &s.volunteer).await.body[0]["status"], "pending", "the refusals changed nothing");

        let declined = app.post(&decline, Some(&recorder), reason.clone()).await;
        declined.expect_status(200);
        assert_eq!(declined.body["status"], "declined");
        assert_eq!(declined.body["decline_reason"], "请按服务日期范围重新申请");
        // The volunteer reads why; the request leaves the issuers' lists.
        let mine = app.get(asks, &s.volunteer).await;
        assert_eq!(mine.body[0]["status"], "declined");
        assert_eq!(mine.body[0]["decline_reason"], "请按服务日期范围重新申请");
        assert!(mine.body[0]["declined_at"].as_str().is_some_and(|t| t.ends_with("+08:00")), "{}", mine.body);
        // And is told so, once, with the reason.
        let notices = app.get("/mp/v1/me/notifications", &s.volunteer).await.body;
        let told: Vec<_> =
            notices.as_array().expect("list").iter().filter(|n| n["kind"] == "certificate_declined").collect();
        assert_eq!(told.len(), 1, "{notices}");
        assert_eq!(told[0]["data"]["request_id"], id);
        assert!(told[0]["body"].as_str().is_some_and(|b| b.ends_with("理由：请按服务日期范围重新申请")), "{}", told[0]);
        assert_eq!(app.get("/api/v1/certificate-requests", &recorder).await.body, json!([]));
        assert_eq!(app.get("/api/v1/certificate-requests", &s.officer).await.body, json!([]));

        // Declined is final: neither issued nor declined again.
        app.post(&format!("/api/v1/certificate-requests/{id}/issue"), Some(&recorder),
            json!({"handler": "李四", "contact": "0871-65123456"})).await
            .expect_problem(409, "certificate_request_declined");
        app.post(&decline, Some(&s.officer), reason.clone()).await.expect_problem(409, "certificate_request_declined");
        assert_eq!(app.get("/mp/v1/me/certificates", &s.volunteer).await.body, json!([]), "nothing issued");
        let audit = app.hourmark.store().audit_events("volunteer", s.volunteer_id).await.expect("audit");
        let entries: Vec<_> = audit.iter().filter(|a| a.action == "certificate_request_declined").collect();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].detail["request_id"], id);

        // Asking again works, and an issued request cannot be declined.
        let again = app.post(asks, Some(&s.volunteer), json!({})).await;
        again.expect_status(201);
        let again_id = again.body["id"].as_i64().expect("id");
        app.post(&format!("/api/v1/certificate-requests/{again_id}/issue"), Some(&recorder),
            json!({"handler": "李四", "contact": "0871-65123456"})).await
            .expect_status(201);
        app.post(&format!("/api/v1/certificate-requests/{again_id}/decline"), Some(&recorder), reason).await
            .expect_problem(409, "certificate_request_issued");
    }
}

//! Certificates over HTTP: volunteers ask and download, recorders and civil-affairs
//! officers issue and revoke, anyone verifies a number (HTML for people, JSON for
//! programs), and organisations upload their seal.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hourmark_core::Hourmark;
use hourmark_core::certificates::{
    CertificateAsk, CertificateDecline, CertificateIssue, CertificateRequest, CertificateRevocation, CertificateState,
    CertificateVerification, CertificateView, PendingCertificateRequest, SEAL_MAX_BYTES, StoredCertificate,
};
use hourmark_core::error::{CoreError, ErrorCode, Problem};
use hourmark_core::identity::Principal;
use hourmark_http::ApiError;
use hourmark_http::extract::{Json, Path, StaffCaller, VolunteerCaller};
use hourmark_http::responses::{Forbidden, NotFound, Unauthenticated};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(crate) fn router() -> OpenApiRouter<Hourmark> {
    OpenApiRouter::new()
        .routes(routes!(ask, my_requests))
        .routes(routes!(my_certificates))
        .routes(routes!(my_pdf))
        .routes(routes!(pending_requests))
        .routes(routes!(issue))
        .routes(routes!(decline))
        .routes(routes!(issuer_pdf))
        .routes(routes!(revoke))
        .routes(routes!(verify_page))
        .routes(routes!(verify_json))
        .routes(routes!(put_seal))
}

/// Ask for a certificate of my confirmed service: all of it, or narrowed to one
/// organisation and/or a date range. A recorder of the organisation issues it (when all
/// the service in scope was recorded there), or the civil-affairs department of the region.
#[utoipa::path(
    post, path = "/mp/v1/me/certificate-requests", tag = "certificates", security(("bearer" = [])), request_body = CertificateAsk,
    responses(
        (status = 201, body = CertificateRequest),
        Unauthenticated,
        (status = 409, description = "`certificate_nothing_confirmed`: no confirmed minutes in the scope", body = Problem, content_type = "application/problem+json"),
        (status = "4XX", description = "`invalid_body`, `malformed_json`, `payload_too_large`, `unsupported_media_type`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn ask(
    State(hourmark): State<Hourmark>,
    VolunteerCaller(id): VolunteerCaller,
    Json(ask): Json<CertificateAsk>,
) -> Result<(StatusCode, axum::Json<CertificateRequest>), ApiError> {
    Ok((StatusCode::CREATED, axum::Json(hourmark.ask_for_certificate(&Principal::Volunteer { id }, ask).await?)))
}

/// My certificate requests, newest first.
#[utoipa::path(
    get, path = "/mp/v1/me/certificate-requests", tag = "certificates", security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<CertificateRequest>),
        Unauthenticated,
    )
)]
async fn my_requests(
    State(hourmark): State<Hourmark>,
    VolunteerCaller(id): VolunteerCaller,
) -> Result<axum::Json<Vec<CertificateRequest>>, ApiError> {
    Ok(axum::Json(hourmark.my_certificate_requests(id).await?))
}

/// My certificates, newest first, with their verification URLs.
#[utoipa::path(
    get, path = "/mp/v1/me/certificates", tag = "certificates", security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<CertificateView>),
        Unauthenticated,
    )
)]
async fn my_certificates(
    State(hourmark): State<Hourmark>,
    VolunteerCaller(id): VolunteerCaller,
) -> Result<axum::Json<Vec<CertificateView>>, ApiError> {
    Ok(axum::Json(hourmark.my_certificates(id).await?))
}

/// One of my certificates as a PDF (`<number>.pdf`).
#[utoipa::path(
    get, path = "/mp/v1/me/certificates/{file}", tag = "certificates", security(("bearer" = [])),
    params(("file" = String, Path, description = "The certificate number and `.pdf`, e.g. `HM2026000001.pdf`")),
    responses(
        (status = 200, description = "The certificate", content_type = "application/pdf", body = Vec<u8>),
        Unauthenticated,
        NotFound,
    )
)]
async fn my_pdf(
    State(hourmark): State<Hourmark>,
    VolunteerCaller(id): VolunteerCaller,
    Path(file): Path<String>,
) -> Result<Response, ApiError> {
    let number = file.strip_suffix(".pdf").ok_or_else(|| CoreError::code(ErrorCode::NotFound))?;
    let certificate = hourmark.my_certificate(id, number).await?;
    pdf_response(&hourmark, &certificate).await
}

/// Pending certificate requests I may issue: a recorder sees their organisation's, a
/// civil-affairs officer those in their region. Oldest first.
#[utoipa::path(
    get, path = "/api/v1/certificate-requests", tag = "certificates", security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<PendingCertificateRequest>),
        Unauthenticated,
        Forbidden,
    )
)]
async fn pending_requests(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
) -> Result<axum::Json<Vec<PendingCertificateRequest>>, ApiError> {
    Ok(axum::Json(hourmark.pending_certificate_requests(&by).await?))
}

/// Issue the certificate a volunteer asked for, with the handler and a contact
/// telephone: a qualified recorder of the one organisation that recorded the service, or
/// a civil-affairs officer whose region covers every organisation in it (naming the
/// department). The service is read again now; the content is signed. Audited.
#[utoipa::path(
    post, path = "/api/v1/certificate-requests/{id}/issue", tag = "certificates", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Request id")), request_body = CertificateIssue,
    responses(
        (status = 201, body = CertificateView),
        Unauthenticated,
        (status = 403, description = "`forbidden`: not a qualified recorder of the organisation, or an officer of another region", body = Problem, content_type = "application/problem+json"),
        NotFound,
        (status = 409, description = "`certificate_request_issued`, `certificate_request_declined`, `certificate_nothing_confirmed` (corrected since)", body = Problem, content_type = "application/problem+json"),
        (status = "4XX", description = "`invalid_body`, `text_invalid`, `malformed_json`, `payload_too_large`, `unsupported_media_type`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn issue(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
    Json(issue): Json<CertificateIssue>,
) -> Result<(StatusCode, axum::Json<CertificateView>), ApiError> {
    Ok((StatusCode::CREATED, axum::Json(hourmark.issue_certificate(&by, id, issue).await?)))
}

/// Decline a pending request with a reason the volunteer reads (in their list of
/// requests): whoever could issue it. Audited. A declined request is never issued; the
/// volunteer asks again.
#[utoipa::path(
    post, path = "/api/v1/certificate-requests/{id}/decline", tag = "certificates", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Request id")), request_body = CertificateDecline,
    responses(
        (status = 200, body = CertificateRequest),
        Unauthenticated,
        (status = 403, description = "`forbidden`: not a qualified recorder of the organisation, or an officer of another region", body = Problem, content_type = "application/problem+json"),
        NotFound,
        (status = 409, description = "`certificate_request_issued`, `certificate_request_declined`", body = Problem, content_type = "application/problem+json"),
        (status = "4XX", description = "`invalid_body`, `text_invalid`, `malformed_json`, `payload_too_large`, `unsupported_media_type`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn decline(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
    Json(decline): Json<CertificateDecline>,
) -> Result<axum::Json<CertificateRequest>, ApiError> {
    Ok(axum::Json(hourmark.decline_certificate_request(&by, id, decline).await?))
}

/// A certificate as a PDF, for the issuer side (a recorder of the issuing organisation,
/// or a civil-affairs officer whose region covers the issuer).
#[utoipa::path(
    get, path = "/api/v1/certificates/{number}/pdf", tag = "certificates", security(("bearer" = [])),
    params(("number" = String, Path, description = "The certificate number")),
    responses(
        (status = 200, description = "The certificate", content_type = "application/pdf", body = Vec<u8>),
        Unauthenticated,
        Forbidden,
        NotFound,
    )
)]
async fn issuer_pdf(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(number): Path<String>,
) -> Result<Response, ApiError> {
    let certificate = hourmark.issued_certificate(&by, &number).await?;
    pdf_response(&hourmark, &certificate).await
}

/// Revoke a certificate, with a reason the verification page shows (the issuer side).
/// Audited.
#[utoipa::path(
    post, path = "/api/v1/certificates/{number}/revoke", tag = "certificates", security(("bearer" = [])),
    params(("number" = String, Path, description = "The certificate number")), request_body = CertificateRevocation,
    responses(
        (status = 200, body = CertificateView),
        Unauthenticated,
        Forbidden,
        NotFound,
        (status = 409, description = "`certificate_revoked`: already revoked", body = Problem, content_type = "application/problem+json"),
        (status = "4XX", description = "`invalid_body`, `text_invalid`, `malformed_json`, `payload_too_large`, `unsupported_media_type`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn revoke(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(number): Path<String>,
    Json(revocation): Json<CertificateRevocation>,
) -> Result<axum::Json<CertificateView>, ApiError> {
    Ok(axum::Json(hourmark.revoke_certificate(&by, &number, revocation).await?))
}

/// Check a certificate number: valid, revoked (with the reason) or superseded (a later
/// correction lowered its hours; with the new figure); masked content only. An unknown
/// or forged number is `not_found`. HTML unless the client asks for JSON.
#[utoipa::path(
    get, path = "/verify/{number}", tag = "certificates",
    params(("number" = String, Path, description = "The certificate number")),
    responses(
        (status = 200, description = "The certificate's state (HTML, or JSON with `Accept: application/json`)", content((String = "text/html"), (CertificateVerification = "application/json"))),
        (status = 404, description = "`not_found`: no certificate has this number (a page saying so, or problem+json with `Accept: application/json`)", content((String = "text/html"), (Problem = "application/problem+json"))),
    )
)]
async fn verify_page(
    State(hourmark): State<Hourmark>,
    headers: HeaderMap,
    Path(number): Path<String>,
) -> Result<Response, ApiError> {
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json") && !v.contains("text/html"));
    let verification = hourmark.verify_certificate(&number).await;
    if wants_json {
        return Ok(axum::Json(verification?).into_response());
    }
    let (status, html) = match verification {
        Ok(v) => (StatusCode::OK, verify_html(Some(&v), &number)),
        Err(CoreError::Refused { code: ErrorCode::NotFound, .. }) => {
            (StatusCode::NOT_FOUND, verify_html(None, &number))
        }
        Err(e) => return Err(e.into()),
    };
    let mut response = (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(response)
}

/// Check a certificate number, as JSON (the same answer as `/verify/{number}`).
#[utoipa::path(
    get, path = "/api/v1/public/certificates/{number}", tag = "certificates",
    params(("number" = String, Path, description = "The certificate number")),
    responses(
        (status = 200, body = CertificateVerification),
        (status = 404, description = "`not_found`: no certificate has this number", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn verify_json(
    State(hourmark): State<Hourmark>,
    Path(number): Path<String>,
) -> Result<axum::Json<CertificateVerification>, ApiError> {
    Ok(axum::Json(hourmark.verify_certificate(&number).await?))
}

/// Upload the organisation's seal image (PNG, at most 256 KiB, 64 to 2000 pixels a
/// side), printed over the issuer block of its certificates. Its staff (not leaders) or
/// an administrator. Audited.
#[utoipa::path(
    put, path = "/api/v1/organisations/{id}/seal", tag = "certificates", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Organisation id")),
    request_body(content = Vec<u8>, content_type = "image/png"),
    responses(
        (status = 204, description = "Stored"),
        Unauthenticated,
        Forbidden,
        NotFound,
        (status = 413, description = "`payload_too_large`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`seal_invalid`: not a PNG, too large, or of the wrong size", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn put_seal(
    State(hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
    Path(id): Path<i64>,
    body: axum::body::Body,
) -> Result<StatusCode, ApiError> {
    // A seal image is larger than any JSON body: this route reads up to its own limit.
    let body = axum::body::to_bytes(body, SEAL_MAX_BYTES).await.map_err(|_| {
        CoreError::refused(ErrorCode::PayloadTooLarge, format!("印章图片不能超过 {} KiB", SEAL_MAX_BYTES / 1024))
    })?;
    // The bytes decide, not the declared type: anything but a PNG is `seal_invalid`.
    hourmark.set_organisation_seal(&by, id, &body).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn pdf_response(hourmark: &Hourmark, certificate: &StoredCertificate) -> Result<Response, ApiError> {
    let settings = hourmark.certificate_settings();
    let content = certificate.parsed()?;
    let seal = hourmark.certificate_seal(certificate).await?;
    let font =
        crate::certificate_pdf::load_font(&settings.font_path).map_err(|e| CoreError::Internal(e.to_string()))?;
    let verify_url = hourmark.verify_url(&certificate.number);
    let signed = certificate.signed_payload();
    let stamp = certificate.revoked_at.map(|_| "已撤销");
    let bytes = tokio::task::spawn_blocking(move || {
        let rendering =
            crate::certificate_pdf::Rendering { font, seal_png: seal.as_deref(), verify_url: &verify_url, stamp };
        crate::certificate_pdf::render(&content, &signed, &rendering)
    })
    .await
    .map_err(|e| CoreError::Internal(e.to_string()))?
    .map_err(|e| CoreError::Internal(e.to_string()))?;
    let disposition = format!("inline; filename=\"{}.pdf\"", certificate.number);
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("application/pdf")),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition).unwrap_or(HeaderValue::from_static("inline")),
            ),
        ],
        bytes,
    )
        .into_response())
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const VERIFY_STYLE: &str = "body{font-family:sans-serif;max-width:44rem;margin:1rem auto;padding:0 1rem;color:#222}\
h1{font-size:1.4rem}.state{font-size:1.3rem;font-weight:bold;padding:.6rem 1rem;border-radius:.3rem}\
.valid{background:#e6f4ea;color:#14532d}.revoked{background:#fde8e8;color:#7f1d1d}\
.superseded{background:#fff4e5;color:#7c2d12}.unknown{background:#eee}\
table{border-collapse:collapse;width:100%;margin:.8rem 0}td,th{border:1px solid #ccc;padding:.3rem .5rem;text-align:left}\
td.n{text-align:right}dt{font-weight:bold;margin-top:.4rem}dd{margin:0}";

/// The verification page (no script; styles inline, which the CSP allows).
fn verify_html(v: Option<&CertificateVerification>, number: &str) -> String {
    let mut html = format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>志愿服务记录证明核验</title><style>{VERIFY_STYLE}</style></head><body><h1>志愿服务记录证明核验</h1>"
    );
    let Some(v) = v else {
        html.push_str(&format!(
            "<p class=\"state unknown\">未找到证明编号 {}：该编号不存在，证明可能系伪造。</p></body></html>",
            escape(number)
        ));
        return html;
    };
    let (class, label) = match v.state {
        CertificateState::Valid => ("valid", "有效".to_owned()),
        CertificateState::Revoked => ("revoked", "已撤销".to_owned()),
        CertificateState::Superseded => ("superseded", "已更正：服务时长经更正后减少，以新的确认时长为准".to_owned()),
    };
    html.push_str(&format!("<p class=\"state {class}\">{}</p>", escape(&label)));
    if let Some(reason) = &v.revoke_reason {
        html.push_str(&format!("<p>撤销原因：{}</p>", escape(reason)));
    }
    if let (Some(minutes), Some(hours)) = (v.current_minutes, &v.current_hours) {
        html.push_str(&format!("<p>现经确认的服务时长：{minutes} 分钟（{} 小时）</p>", escape(hours)));
    }
    html.push_str(&format!(
        "<dl><dt>证明编号</dt><dd>{}</dd><dt>出具日期</dt><dd>{}</dd><dt>志愿者</dt><dd>{}</dd>\
         <dt>证件</dt><dd>{} {}</dd><dt>志愿者编号</dt><dd>{}</dd><dt>出具单位</dt><dd>{}</dd>\
         <dt>证明时长</dt><dd>{} 分钟（{} 小时）</dd><dt>星级</dt><dd>{}</dd></dl>",
        escape(&v.number),
        v.issued_on.format("%Y-%m-%d"),
        escape(&v.volunteer_name),
        escape(&v.id_type),
        escape(&v.id_number),
        escape(&v.volunteer_number),
        escape(&v.issuer),
        v.total_minutes,
        escape(&v.total_hours),
        if v.stars == 0 { "无".to_owned() } else { format!("{} 星", v.stars) },
    ));
    html.push_str("<table><thead><tr><th>服务日期</th><th>服务项目</th><th>记录组织</th><th>时长（分钟）</th></tr></thead><tbody>");
    for s in &v.services {
        html.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td></tr>",
            s.day.format("%Y-%m-%d"),
            escape(&s.activity_name),
            escape(&s.organisation_name),
            s.minutes
        ));
    }
    html.push_str("</tbody></table><p>本页仅显示脱敏信息。</p></body></html>");
    html
}

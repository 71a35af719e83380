//! The API description stays in step with the routes and the error codes.

use hourmark_core::ErrorCode;
use hourmark_tests::{Backend, TestApp};
use serde_json::Value;

/// Routes served outside the API description, on purpose.
const UNDOCUMENTED: &[&str] = &["/openapi.json", "/docs"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_operation_is_routed_and_every_error_code_is_documented() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let doc = app.client.get(app.url("/openapi.json")).send().await.expect("doc");
    assert_eq!(doc.status().as_u16(), 200);
    let doc: Value = doc.json().await.expect("json");
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));

    let paths = doc["paths"].as_object().expect("paths");
    let mut operations = 0;
    for (path, item) in paths {
        for (method, operation) in item.as_object().expect("path item") {
            operations += 1;
            assert!(
                operation["responses"].as_object().is_some_and(|r| !r.is_empty()),
                "{method} {path} documents answers"
            );
            let concrete = path.replace("{id}", "1").replace("{token}", "AAAA");
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            let response = app.client.request(method.clone(), app.url(&concrete)).send().await.expect("sent");
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            // Unauthenticated or empty requests are refused, but never as "no such route".
            assert!(
                !(status == 405 || (status == 404 && body["detail"] == "没有这个接口")),
                "{method} {path} is documented but not routed ({status} {body})"
            );
        }
    }
    assert!(operations >= 13, "found only {operations} operations");

    // The router has no route the document lacks: probe each known route prefix.
    for probe in ["/mp/v1/volunteers", "/mp/v1/scans", "/api/v1/activities", "/api/v1/bootstrap", "/healthz"] {
        assert!(paths.contains_key(probe), "{probe} must be documented");
    }
    for path in UNDOCUMENTED {
        assert!(!paths.contains_key(*path));
    }

    // Every error code the server can send is in the ErrorCode schema, and no other.
    let documented: Vec<&str> = doc["components"]["schemas"]["ErrorCode"]["enum"]
        .as_array()
        .expect("ErrorCode enum")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let all: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(documented, all);
    // Every scan refusal code is named in the scan operation's answers.
    let scan = doc["paths"]["/mp/v1/scans"]["post"]["responses"].to_string();
    for code in [
        "code_unreadable",
        "code_invalid",
        "code_expired",
        "code_not_yet_valid",
        "activity_not_open",
        "activity_ended",
        "wrong_direction",
        "repeat_scan",
        "unauthenticated",
        "invalid_body",
        "malformed_json",
        "payload_too_large",
        "unavailable",
    ] {
        assert!(scan.contains(code), "scan answers must document {code}");
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_docs_page_works_without_internet() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let page = app.client.get(app.url("/docs/")).send().await.expect("docs");
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.expect("html");
    assert!(html.contains("swagger"), "Swagger UI page");
    // Every script and stylesheet is served by Hourmark itself.
    for attr in ["src=\"http", "href=\"http", "src='http", "href='http"] {
        assert!(!html.contains(attr), "the docs page loads something from outside: {attr}");
    }
    let initializer = app.client.get(app.url("/docs/swagger-initializer.js")).send().await.expect("js");
    assert_eq!(initializer.status().as_u16(), 200);
    assert!(initializer.text().await.expect("js").contains("/openapi.json"));
    let bundle = app.client.get(app.url("/docs/swagger-ui-bundle.js")).send().await.expect("bundle");
    assert_eq!(bundle.status().as_u16(), 200);
    // A file the docs do not have is a problem like every other error.
    let missing = app.client.get(app.url("/docs/no-such-file.js")).send().await.expect("missing");
    assert_eq!(missing.status().as_u16(), 404);
    assert_eq!(missing.headers()["content-type"], "application/problem+json");
    let body: Value = missing.json().await.expect("json");
    assert_eq!(body["code"], "not_found");
}

/// Every operation lists the answers it shares with the others: 500 and 503 always; 401
/// and 403 when it needs a token; 400 `invalid_parameter` with parameters; the four body
/// answers with a body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_documents_the_answers_it_shares() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let doc: Value = app.client.get(app.url("/openapi.json")).send().await.expect("doc").json().await.expect("json");
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("item") {
            let responses = &operation["responses"];
            let says = |status: &str, code: &str| {
                responses[status]["description"].as_str().is_some_and(|d| d.contains(&format!("`{code}`")))
            };
            let at = format!("{method} {path}");
            assert!(says("500", "internal") && says("503", "unavailable"), "{at}");
            if operation.get("security").is_some() {
                assert!(says("401", "unauthenticated") && says("403", "forbidden"), "{at}");
            }
            if path.contains('{') {
                assert!(says("400", "invalid_parameter"), "{at}");
            }
            if operation.get("requestBody").is_some() {
                assert!(says("400", "malformed_json") && says("413", "payload_too_large"), "{at}");
                assert!(says("415", "unsupported_media_type") && says("422", "invalid_body"), "{at}");
            }
            checked += 1;
        }
    }
    assert!(checked > 100, "{checked}");
}

/// One request of the bad-path drive: path, bearer token, (media type, body).
type Try<'a> = (String, Option<&'a str>, Option<(&'a str, &'a str)>);

/// Drives every documented operation down its bad paths (no token, the wrong kind of
/// token, a path id beyond i64, a body that is not JSON, a body of the wrong media type):
/// each answer is a problem the operation documents (the test server turns any other
/// into a 500 naming it), and none is a server error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operations_bad_paths_give_documented_problems() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let admin = app.administrator().await;
    let (_, volunteer) = app.volunteer("张三", "13800001234").await;
    let doc: Value = app.client.get(app.url("/openapi.json")).send().await.expect("doc").json().await.expect("json");
    let mut failures = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("item") {
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            let concrete = |id: &str| {
                let mut p = path.clone();
                while let (Some(open), Some(close)) = (p.find('{'), p.find('}')) {
                    p.replace_range(open..=close, id);
                }
                p
            };
            let has_body = operation.get("requestBody").is_some();
            let mut tries: Vec<Try> = vec![
                (concrete("1"), None, None),
                (concrete("1"), Some(admin.as_str()), None),
                (concrete("1"), Some(volunteer.as_str()), None),
            ];
            if path.contains('{') {
                tries.push((concrete("9223372036854775808"), Some(admin.as_str()), None));
                tries.push((concrete("9223372036854775808"), Some(volunteer.as_str()), None));
            }
            if has_body {
                for token in [admin.as_str(), volunteer.as_str()] {
                    tries.push((concrete("1"), Some(token), Some(("application/json", "{not json"))));
                    tries.push((concrete("1"), Some(token), Some(("text/plain", "{}"))));
                    tries.push((concrete("1"), Some(token), Some(("application/json", "{}"))));
                }
            }
            for (url, token, body) in tries {
                let mut request = app.client.request(method.clone(), app.url(&url));
                if let Some(token) = token {
                    request = request.bearer_auth(token);
                }
                if let Some((content_type, text)) = body {
                    request = request.header("content-type", content_type).body(text.to_owned());
                }
                let response = request.send().await.expect("sent");
                let status = response.status().as_u16();
                if status >= 500 {
                    let text = response.text().await.unwrap_or_default();
                    failures.push(format!("{method} {url} ({body:?}): {status} {text}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} undocumented or failing answers:\n{}", failures.len(), failures.join("\n"));
}

//! Runs one of `tests/browser`'s scripts against a test server and reads back what it
//! printed: one JSON object on its last line. Chromium, node and the driver come from
//! `scripts/test`; without them this fails, never skips.

use serde_json::{Value, json};

/// Runs `tests/browser/<script>` with `input` and returns its report, after checking
/// that the run finished, exited cleanly and saw no script error or CSP violation.
pub(crate) async fn run_browser_script(script: &str, input: &Value) -> Value {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let output = tokio::process::Command::new("node")
        .arg(root.join("browser").join(script))
        .arg(input.to_string())
        .output()
        .await
        .expect("node runs (scripts/test installs it, and Chromium, and tests/browser's packages)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let result: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default()).unwrap_or_else(|e| {
        panic!("{script} prints JSON ({e}): {stdout}\n{}", String::from_utf8_lossy(&output.stderr))
    });
    assert!(result.get("error").is_none(), "the browser run stopped: {result:#}");
    assert!(output.status.success(), "{result:#}");
    assert_eq!(result["console_errors"], json!([]), "no script errors, no CSP violations: {result:#}");
    result
}

/// Where a test's screenshots and downloads go: `target/browser-artifacts/<name>`.
pub(crate) fn artifacts(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/browser-artifacts").join(name)
}

/// Runs `tests/browser/<script>` with `input` for a script that needs the test's hand
/// along the way: each line it prints with an `op` is handed to `answer`, whose reply is
/// written back as one line; the first line without an `op` is the script's report,
/// returned unchecked (the test decides what a stopped run means).
pub(crate) async fn run_interactive_browser_script(
    script: &str,
    input: &Value,
    mut answer: impl AsyncFnMut(&Value) -> Value,
) -> Value {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut child = tokio::process::Command::new("node")
        .arg(root.join("browser").join(script))
        .arg(input.to_string())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs (scripts/test installs it, and Chromium, and tests/browser's packages)");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut report = Value::Null;
    while let Some(line) = lines.next_line().await.expect("reads") {
        let message: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("JSON from {script} ({e}): {line}"));
        if message.get("op").is_none() {
            report = message;
            break;
        }
        let reply = answer(&message).await;
        stdin.write_all(format!("{reply}\n").as_bytes()).await.expect("writes");
    }
    child.wait().await.expect("node ends");
    report
}

/// [`run_interactive_browser_script`] for a script that asks the event's server for a
/// fresh code of gate 0 (`{"op":"code"}`), to move its clock (`{"op":"advance","secs":N}`), and for
/// the last SMS code sent to a phone (`{"op":"sms_code","phone":"…"}`).
pub(crate) async fn run_clocked_browser_script(
    app: &hourmark_tests::TestApp,
    e: &crate::Event,
    script: &str,
    input: &Value,
) -> Value {
    run_interactive_browser_script(script, input, async |message: &Value| clock_and_codes(app, e, message).await).await
}

/// The answer to a clocked script's `code` or `advance` request.
pub(crate) async fn clock_and_codes(app: &hourmark_tests::TestApp, e: &crate::Event, message: &Value) -> Value {
    match message["op"].as_str() {
        Some("code") => app.code(&e.organiser, e.activity_id, 0, "toggle").await,
        // The one-time code the development SMS sink "sent" to a phone (a guardian's).
        Some("sms_code") => json!({"code": app.sent_code(message["phone"].as_str().expect("phone"))}),
        Some("advance") => {
            app.advance(chrono::Duration::seconds(message["secs"].as_i64().expect("secs")));
            json!({"now": app.clock_now()})
        }
        other => panic!("the script asked for {other:?}: {message}"),
    }
}

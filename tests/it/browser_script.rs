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

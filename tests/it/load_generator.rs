//! The load generator (`loadtest`) against the real server, registering as production
//! does: every registration waits for the phone's code, which the server's real Tencent
//! SMS client sends to the load generator's sink (`--sms-sink`).

use std::process::Stdio;

use serde_json::Value;

use crate::binary::{ServerProcess, bootstrap_token, data_dir, free_port, server_command};

/// The `loadtest` binary built next to this test binary.
fn load_generator() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let bin = exe.parent().and_then(|deps| deps.parent()).expect("target dir").join("loadtest");
    assert!(bin.exists(), "{} is missing: the README's test command builds it", bin.display());
    bin
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_load_generator_registers_with_the_phones_code() {
    let dir = data_dir("load-generator");
    let (port, sink) = (free_port(), free_port());
    let mut command = server_command(&format!("sqlite:{}/hourmark.db", dir.display()), port, &dir);
    command
        .env("HOURMARK_REGISTRATION_PHONE_CODE", "true")
        .env("HOURMARK_SMS_PROVIDER", "tencent")
        .env("HOURMARK_SMS_TENCENT_ENDPOINT", format!("http://127.0.0.1:{sink}"))
        .env("HOURMARK_SMS_TENCENT_SECRET_ID", "AKIDloadtest")
        .env("HOURMARK_SMS_TENCENT_SECRET_KEY", "loadtest-secret")
        .env("HOURMARK_SMS_TENCENT_SDK_APP_ID", "1400000000")
        .env("HOURMARK_SMS_TENCENT_SIGN_NAME", "翠湖志愿者协会")
        .env("HOURMARK_SMS_TENCENT_TEMPLATE_ID", "1110")
        .env("HOURMARK_SMS_CODES_PER_CLIENT_PER_HOUR", "0")
        .env("HOURMARK_SMS_CHECKS_PER_CLIENT_PER_HOUR", "0")
        .env("HOURMARK_RATE_REGISTRATIONS_PER_MINUTE", "0");
    let server = ServerProcess::start(command, port).await;

    let run = tokio::process::Command::new(load_generator())
        .args(["--base-url", &server.base, "--bootstrap-token", &bootstrap_token()])
        .args(["--staff-origin", hourmark_tests::staff_origin().as_str().trim_end_matches('/')])
        .args(["--volunteers", "20", "--concurrency", "5", "--register-concurrency", "4", "--json"])
        .args(["--sms-sink", &format!("127.0.0.1:{sink}")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .await
        .expect("loadtest runs");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&run.stderr));
    let summary: Value = serde_json::from_str(stdout.lines().last().expect("a summary")).expect("JSON summary");
    assert_eq!(summary["volunteers_registered"], 20, "every registration went through its code: {summary}");
    let registration = &summary["phases"][0];
    assert_eq!(registration["name"], "registration");
    assert_eq!(registration["requests"], 20, "one registration each, both steps timed as one: {registration}");
    let arrivals = &summary["phases"][1];
    assert_eq!(arrivals["accepted"], 20, "each registered volunteer scans: {arrivals}");
    drop(server);
    let _ = std::fs::remove_dir_all(dir);
}

/// A short sustained run with staff boards streaming and the public board read, as the
/// mixed-load benchmark runs it: every board hears of every accepted scan, and every
/// public read is answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boards_and_public_readers_watch_a_sustained_run() {
    let dir = data_dir("load-generator-mixed");
    let port = free_port();
    let mut command = server_command(&format!("sqlite:{}/hourmark.db", dir.display()), port, &dir);
    command
        .env("HOURMARK_REPEAT_SCAN_GUARD_SECS", "0")
        .env("HOURMARK_RATE_REGISTRATIONS_PER_MINUTE", "0")
        .env("HOURMARK_RATE_SCANS_PER_VOLUNTEER_PER_MINUTE", "100000");
    let server = ServerProcess::start(command, port).await;

    let run = tokio::process::Command::new(load_generator())
        .args(["--base-url", &server.base, "--bootstrap-token", &bootstrap_token()])
        .args(["--staff-origin", hourmark_tests::staff_origin().as_str().trim_end_matches('/')])
        .args(["--volunteers", "30", "--concurrency", "4", "--duration", "3", "--rate", "40", "--json"])
        .args(["--boards", "2", "--public-reads", "20"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .await
        .expect("loadtest runs");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&run.stderr));
    let summary: Value = serde_json::from_str(stdout.lines().last().expect("a summary")).expect("JSON summary");
    let sustained = summary["phases"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["name"].as_str().is_some_and(|n| n.starts_with("sustained"))));
    let accepted =
        sustained.and_then(|p| p["accepted"].as_u64()).unwrap_or_else(|| panic!("a sustained phase: {summary}"));
    assert!(accepted >= 60, "about 40 scans a second for 3 s: {summary}");

    let boards = &summary["boards"];
    assert_eq!((boards["boards"].as_u64(), boards["connected"].as_u64()), (Some(2), Some(2)), "{boards}");
    assert_eq!((boards["resyncs"].as_u64(), boards["failures"].as_u64()), (Some(0), Some(0)), "{boards}");
    assert!(boards["scans_pushed"].as_u64() >= Some(2 * accepted), "each board hears of every scan: {boards}");

    let reads = &summary["public_reads"];
    assert_eq!(reads["rate"], 20, "{reads}");
    assert!(reads["requests"].as_u64() >= Some(40), "20 reads a second for 3 s: {reads}");
    assert_eq!(reads["ok"], reads["requests"], "every read answered 200: {reads}");
    assert_eq!(reads["failures"], 0, "{reads}");
    assert!(
        reads["not_sent"].as_u64() <= Some(1),
        "a server this idle keeps up (one may fall due as the run stops): {reads}"
    );
    assert!(reads["page_bytes"].as_u64() > Some(500), "the board page (empty here), not an error: {reads}");
    assert_eq!(reads["latency_ms"]["samples"], reads["ok"], "{reads}");
    drop(server);
    let _ = std::fs::remove_dir_all(dir);
}

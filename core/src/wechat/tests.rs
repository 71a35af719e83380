//! The client against the stand-in, over real HTTP on localhost.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use super::standin::{Api, Fault, StandIn};
use super::*;

async fn setup() -> (StandIn, WeChatClient) {
    let standin = StandIn::start().await;
    let client =
        WeChatClient::new(standin.config(), super::http_client(std::time::Duration::from_secs(5)).expect("client"));
    (standin, client)
}

/// A client whose token is already cached (one fetch), and a fresh phone code for it.
async fn setup_with_token() -> (StandIn, WeChatClient) {
    let (standin, client) = setup().await;
    standin.add_phone_code("warm-up", "13800000000");
    client.phone_number("warm-up").await.unwrap();
    assert_eq!(standin.token_fetches(), 1);
    (standin, client)
}

fn unexpected_or_unavailable(error: &WeChatError) -> &'static str {
    match error {
        WeChatError::Unavailable { .. } => "unavailable",
        WeChatError::UnexpectedAnswer { .. } => "unexpected",
        _ => "other",
    }
}

// --- login ---

#[tokio::test]
async fn login_with_unionid() {
    let (standin, client) = setup().await;
    standin.add_login_code("code-1", "openid-1", Some("unionid-1"));
    let session = client.code_to_session("code-1").await.unwrap();
    assert_eq!(session.openid, "openid-1");
    assert_eq!(session.unionid.as_deref(), Some("unionid-1"));
    assert!(!session.session_key.expose_secret().is_empty());
    assert_eq!(standin.jscode2session_calls(), 1);
}

#[tokio::test]
async fn login_without_unionid() {
    let (standin, client) = setup().await;
    standin.add_login_code("code-1", "openid-1", None);
    let session = client.code_to_session("code-1").await.unwrap();
    assert_eq!(session.openid, "openid-1");
    assert_eq!(session.unionid, None);
}

#[tokio::test]
async fn a_login_code_is_single_use() {
    let (standin, client) = setup().await;
    standin.add_login_code("code-1", "openid-1", None);
    client.code_to_session("code-1").await.unwrap();
    assert_eq!(client.code_to_session("code-1").await.unwrap_err(), WeChatError::InvalidCode);
    assert_eq!(client.code_to_session("never-issued").await.unwrap_err(), WeChatError::InvalidCode);
    assert_eq!(standin.jscode2session_calls(), 3);
}

#[tokio::test]
async fn every_documented_errcode_is_mapped() {
    let (standin, client) = setup().await;
    standin.add_login_code("code-1", "openid-1", None);
    let cases = [
        (-1, WeChatError::Busy, "wechat_busy", true),
        (40029, WeChatError::InvalidCode, "wechat_code_invalid", false),
        (45011, WeChatError::RateLimited, "wechat_rate_limited", true),
        (40226, WeChatError::Blocked, "wechat_user_blocked", false),
    ];
    for (errcode, expected, code, retryable) in cases {
        standin.fail_next(Api::JsCode2Session, 1, Fault::Errcode(errcode));
        let error = client.code_to_session("code-1").await.unwrap_err();
        assert_eq!(error, expected, "errcode {errcode}");
        assert_eq!((error.code(), error.retryable()), (code, retryable), "errcode {errcode}");
    }
    // Faulted answers consumed nothing: the code still works.
    assert_eq!(client.code_to_session("code-1").await.unwrap().openid, "openid-1");
}

#[tokio::test]
async fn an_unknown_errcode_is_an_upstream_error() {
    let (standin, client) = setup().await;
    standin.fail_next(Api::JsCode2Session, 1, Fault::Errcode(48001));
    let error = client.code_to_session("code-1").await.unwrap_err();
    assert_eq!(error, WeChatError::Upstream { errcode: 48001, errmsg: "stand-in scripted error".into() });
    assert_eq!((error.code(), error.retryable()), ("wechat_error", false));
}

#[tokio::test]
async fn wrong_credentials_are_refused_like_wechat_does() {
    let standin = StandIn::start().await;
    let wrong_secret = WeChatConfig { secret: Secret::new("not-the-secret"), ..standin.config() };
    let client =
        WeChatClient::new(wrong_secret, super::http_client(std::time::Duration::from_secs(5)).expect("client"));
    standin.add_login_code("code-1", "openid-1", None);
    let error = client.code_to_session("code-1").await.unwrap_err();
    assert!(matches!(error, WeChatError::Upstream { errcode: 40125, .. }), "{error:?}");
    assert!(!error.to_string().contains("not-the-secret"));

    let wrong_appid = WeChatConfig { appid: "wxsomeoneelse".into(), ..standin.config() };
    let client = WeChatClient::new(wrong_appid, super::http_client(std::time::Duration::from_secs(5)).expect("client"));
    let error = client.phone_number("phone-1").await.unwrap_err();
    assert!(matches!(error, WeChatError::Upstream { errcode: 40013, .. }), "{error:?}");
}

#[tokio::test]
async fn a_slow_answer_times_out() {
    let standin = StandIn::start().await;
    let config = WeChatConfig { timeout: Duration::from_millis(200), ..standin.config() };
    let client = WeChatClient::new(config, super::http_client(std::time::Duration::from_secs(5)).expect("client"));
    standin.add_login_code("code-1", "openid-1", None);
    standin.set_latency(Duration::from_secs(1));
    let started = Instant::now();
    let error = client.code_to_session("code-1").await.unwrap_err();
    assert_eq!(error, WeChatError::Timeout);
    assert!(started.elapsed() < Duration::from_millis(900), "gave up after {:?}", started.elapsed());
    assert_eq!((error.code(), error.retryable()), ("wechat_timeout", true));
}

#[tokio::test]
async fn http_errors_and_non_json_answers_mean_unavailable() {
    let (standin, client) = setup().await;
    for fault in [
        Fault::HttpStatus(500),
        Fault::HttpStatus(502),
        Fault::Body("<html>502 Bad Gateway</html>".into()),
        Fault::Body(String::new()),
        Fault::Body(format!("{{\"errcode\": 0, \"pad\": \"{}\"}}", "x".repeat(100_000))),
    ] {
        standin.fail_next(Api::JsCode2Session, 1, fault.clone());
        let error = client.code_to_session("code-1").await.unwrap_err();
        assert_eq!(unexpected_or_unavailable(&error), "unavailable", "{fault:?}: {error:?}");
        assert_eq!((error.code(), error.retryable()), ("wechat_unavailable", true));
    }
}

#[tokio::test]
async fn json_of_the_wrong_shape_is_an_unexpected_answer() {
    let (standin, client) = setup().await;
    for body in [r#"{"errcode": 0, "errmsg": "ok"}"#, r#"{"openid": 42, "session_key": "k"}"#, "[]"] {
        standin.fail_next(Api::JsCode2Session, 1, Fault::Body(body.into()));
        let error = client.code_to_session("code-1").await.unwrap_err();
        assert_eq!(unexpected_or_unavailable(&error), "unexpected", "{body}: {error:?}");
        assert_eq!((error.code(), error.retryable()), ("wechat_error", false));
    }
}

#[tokio::test]
async fn an_unreachable_host_means_unavailable_and_the_secret_stays_out_of_the_error() {
    // A port that was just free and is now closed.
    let port = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap().local_addr().unwrap().port();
    let config = WeChatConfig {
        base_url: format!("http://127.0.0.1:{port}/"),
        ..WeChatConfig::new("wxapp", "super-secret-value")
    };
    let client = WeChatClient::new(config, super::http_client(std::time::Duration::from_secs(5)).expect("client"));
    let error = client.code_to_session("code-1").await.unwrap_err();
    assert_eq!(unexpected_or_unavailable(&error), "unavailable", "{error:?}");
    assert!(!error.to_string().contains("super-secret-value"), "{error}");
    assert!(!format!("{error:?}").contains("super-secret-value"), "{error:?}");
}

#[tokio::test]
async fn malformed_codes_are_refused_without_a_request() {
    let (standin, client) = setup().await;
    let too_long = "a".repeat(MAX_CODE_LEN + 1);
    for bad in ["", "has space", "tab\there", "中文", "\u{0}", too_long.as_str()] {
        assert_eq!(client.code_to_session(bad).await.unwrap_err(), WeChatError::InvalidCode, "{bad:?}");
        assert_eq!(client.phone_number(bad).await.unwrap_err(), WeChatError::InvalidCode, "{bad:?}");
    }
    assert_eq!(standin.jscode2session_calls(), 0);
    assert_eq!(standin.token_fetches(), 0);
    assert_eq!(standin.phone_number_calls(), 0);
}

// --- phone numbers and the access token ---

#[tokio::test]
async fn a_phone_code_yields_the_number() {
    let (standin, client) = setup().await;
    standin.add_phone_code("phone-1", "13800001234");
    let phone = client.phone_number("phone-1").await.unwrap();
    assert_eq!(
        phone,
        WxPhone {
            phone_number: "13800001234".into(),
            pure_phone_number: "13800001234".into(),
            country_code: "86".into(),
        }
    );
    assert_eq!(client.phone_number("phone-1").await.unwrap_err(), WeChatError::InvalidCode, "single use");
}

#[tokio::test]
async fn phone_errcodes_are_mapped() {
    let (standin, client) = setup_with_token().await;
    standin.add_phone_code("phone-1", "13800001234");
    for (errcode, expected) in [(-1, WeChatError::Busy), (45011, WeChatError::RateLimited)] {
        standin.fail_next(Api::PhoneNumber, 1, Fault::Errcode(errcode));
        assert_eq!(client.phone_number("phone-1").await.unwrap_err(), expected);
    }
    assert_eq!(client.phone_number("phone-1").await.unwrap().pure_phone_number, "13800001234");
    assert_eq!(standin.token_fetches(), 1, "errors other than token rejection do not refresh the token");
}

#[tokio::test]
async fn the_access_token_is_cached_across_calls() {
    let (standin, client) = setup().await;
    for i in 0..4 {
        standin.add_phone_code(&format!("phone-{i}"), &format!("1380000000{i}"));
    }
    for i in 0..4 {
        let other_clone = client.clone();
        let phone = other_clone.phone_number(&format!("phone-{i}")).await.unwrap();
        assert_eq!(phone.pure_phone_number, format!("1380000000{i}"));
    }
    assert_eq!(standin.token_fetches(), 1);
    assert_eq!(standin.phone_number_calls(), 4);
}

#[tokio::test]
async fn a_token_within_five_minutes_of_expiry_is_replaced() {
    let (standin, client) = setup().await;
    standin.set_token_expires_in(300);
    for i in 0..3 {
        standin.add_phone_code(&format!("phone-{i}"), "13800001234");
        client.phone_number(&format!("phone-{i}")).await.unwrap();
    }
    assert_eq!(standin.token_fetches(), 3, "a token announced for 300 s is never reused");

    standin.set_token_expires_in(310);
    for i in 3..6 {
        standin.add_phone_code(&format!("phone-{i}"), "13800001234");
        client.phone_number(&format!("phone-{i}")).await.unwrap();
    }
    assert_eq!(standin.token_fetches(), 4, "a token announced for 310 s is reused for ten seconds");
}

#[tokio::test]
async fn an_expired_token_is_refreshed_once_and_the_call_retried() {
    let (standin, client) = setup_with_token().await;
    standin.add_phone_code("phone-1", "13800001234");
    standin.expire_access_token();
    assert_eq!(client.phone_number("phone-1").await.unwrap().pure_phone_number, "13800001234");
    assert_eq!(standin.token_fetches(), 2);
    assert_eq!(standin.phone_number_calls(), 3, "warm-up, rejected, retried");

    // 42001 (expired) is handled like 40001 (invalid).
    standin.add_phone_code("phone-2", "13800005678");
    standin.fail_next(Api::PhoneNumber, 1, Fault::Errcode(42001));
    assert_eq!(client.phone_number("phone-2").await.unwrap().pure_phone_number, "13800005678");
    assert_eq!(standin.token_fetches(), 3);
}

#[tokio::test]
async fn a_token_rejected_twice_is_not_refreshed_again() {
    let (standin, client) = setup_with_token().await;
    standin.add_phone_code("phone-1", "13800001234");
    standin.fail_next(Api::PhoneNumber, 2, Fault::Errcode(40001));
    let error = client.phone_number("phone-1").await.unwrap_err();
    assert!(matches!(error, WeChatError::Upstream { errcode: 40001, .. }), "{error:?}");
    assert_eq!(standin.token_fetches(), 2, "one refresh");
    assert_eq!(standin.phone_number_calls(), 3, "warm-up, first try, one retry");
}

#[tokio::test]
async fn a_failed_token_fetch_is_reported_and_not_cached() {
    let (standin, client) = setup().await;
    standin.add_phone_code("phone-1", "13800001234");
    standin.fail_next(Api::Token, 1, Fault::Errcode(-1));
    assert_eq!(client.phone_number("phone-1").await.unwrap_err(), WeChatError::Busy);
    standin.fail_next(Api::Token, 1, Fault::Errcode(40013));
    let error = client.phone_number("phone-1").await.unwrap_err();
    assert!(matches!(error, WeChatError::Upstream { errcode: 40013, .. }), "{error:?}");
    assert_eq!(standin.phone_number_calls(), 0);
    assert_eq!(client.phone_number("phone-1").await.unwrap().pure_phone_number, "13800001234");
    assert_eq!(standin.token_fetches(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_without_a_token_share_one_fetch() {
    let (standin, client) = setup().await;
    standin.set_latency(Duration::from_millis(100));
    let mut calls = JoinSet::new();
    for i in 0..8 {
        standin.add_phone_code(&format!("phone-{i}"), &format!("1380000000{i}"));
        let client = client.clone();
        calls.spawn(async move { client.phone_number(&format!("phone-{i}")).await });
    }
    for result in calls.join_all().await {
        result.unwrap();
    }
    assert_eq!(standin.token_fetches(), 1);
    assert_eq!(standin.phone_number_calls(), 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_with_a_rejected_token_share_one_refresh() {
    let (standin, client) = setup_with_token().await;
    standin.expire_access_token();
    standin.set_latency(Duration::from_millis(50));
    let mut calls = JoinSet::new();
    for i in 0..6 {
        standin.add_phone_code(&format!("phone-{i}"), &format!("1380000000{i}"));
        let client = client.clone();
        calls.spawn(async move { client.phone_number(&format!("phone-{i}")).await });
    }
    for result in calls.join_all().await {
        result.unwrap();
    }
    assert_eq!(standin.token_fetches(), 2, "one refresh for all");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callers_share_a_failed_fetch_too() {
    let (standin, client) = setup().await;
    standin.set_latency(Duration::from_millis(200));
    standin.fail_next(Api::Token, 1, Fault::Errcode(-1));
    let mut calls = JoinSet::new();
    for i in 0..4 {
        let client = client.clone();
        calls.spawn(async move { client.phone_number(&format!("phone-{i}")).await });
    }
    for result in calls.join_all().await {
        assert_eq!(result.unwrap_err(), WeChatError::Busy);
    }
    assert_eq!(standin.token_fetches(), 1, "the waiters took the failure instead of retrying it");
}

#[tokio::test]
async fn a_phone_number_for_another_appid_is_refused() {
    let (standin, client) = setup().await;
    standin.add_phone_code("phone-1", "13800001234");
    standin.set_watermark_appid("wxsomeoneelse");
    let error = client.phone_number("phone-1").await.unwrap_err();
    assert!(matches!(error, WeChatError::UnexpectedAnswer { .. }), "{error:?}");
    assert_eq!((error.code(), error.retryable()), ("wechat_error", false));
    assert!(!error.to_string().contains("13800001234"));
}

// --- what may be printed ---

#[tokio::test]
async fn debug_output_shows_no_secret() {
    let (standin, client) = setup().await;
    let config = WeChatConfig::new("wxapp", "super-secret-value");
    let printed = format!(
        "{config:?} {config:#?} {:?}",
        WeChatClient::new(config.clone(), super::http_client(std::time::Duration::from_secs(5)).expect("client"))
    );
    assert!(!printed.contains("super-secret-value"), "{printed}");
    assert!(printed.contains("wxapp") && printed.contains("<redacted>"), "{printed}");

    standin.add_login_code("code-1", "openid-1", None);
    let session = client.code_to_session("code-1").await.unwrap();
    let key = session.session_key.expose_secret().to_owned();
    let printed = format!("{session:?} {:?} {:?}", session.session_key, SessionKey::new("k-123"));
    assert!(!printed.contains(&key) && !printed.contains("k-123"), "{printed}");
    assert!(printed.contains("openid-1"));
    assert!(!format!("{standin:?}").contains(StandIn::SECRET));
}

#[test]
fn every_error_has_its_stable_code() {
    let table = [
        (WeChatError::Busy, "wechat_busy", true),
        (WeChatError::InvalidCode, "wechat_code_invalid", false),
        (WeChatError::CodeUsed, "wechat_code_used", false),
        (WeChatError::RateLimited, "wechat_rate_limited", true),
        (WeChatError::Blocked, "wechat_user_blocked", false),
        (WeChatError::Timeout, "wechat_timeout", true),
        (WeChatError::Unavailable { reason: "x".into() }, "wechat_unavailable", true),
        (WeChatError::UnexpectedAnswer { reason: "x".into() }, "wechat_error", false),
        (WeChatError::Upstream { errcode: 1, errmsg: "x".into() }, "wechat_error", false),
    ];
    for (error, code, retryable) in table {
        assert_eq!((error.code(), error.retryable()), (code, retryable), "{error:?}");
    }
    assert_eq!(WeChatError::from_errcode(-1, "system error"), WeChatError::Busy);
    assert_eq!(WeChatError::from_errcode(40029, ""), WeChatError::InvalidCode);
    assert_eq!(WeChatError::from_errcode(40163, "code been used"), WeChatError::CodeUsed);
    assert_eq!(WeChatError::from_errcode(45011, ""), WeChatError::RateLimited);
    assert_eq!(WeChatError::from_errcode(40226, ""), WeChatError::Blocked);
    assert_eq!(WeChatError::from_errcode(7, "m"), WeChatError::Upstream { errcode: 7, errmsg: "m".into() });
}

// --- Official Account web authorisation ---

async fn oa_setup() -> (StandIn, WeChatClient) {
    let standin = StandIn::start().await;
    let mut config = standin.oa_config();
    config.timeout = Duration::from_millis(300);
    let client = WeChatClient::new(config, super::http_client(Duration::from_secs(5)).expect("client"));
    (standin, client)
}

#[tokio::test]
async fn an_oa_code_gives_the_openid_and_the_unionid_once() {
    let (standin, client) = oa_setup().await;
    standin.add_oa_code("oa-code-1", "oa-openid-1", Some("union-1"), "snsapi_userinfo");
    let authorisation = client.oa_authorisation("oa-code-1").await.unwrap();
    assert_eq!(authorisation.openid, "oa-openid-1");
    assert_eq!(authorisation.unionid.as_deref(), Some("union-1"));
    assert_eq!(authorisation.scope, "snsapi_userinfo");
    assert_eq!(client.oa_authorisation("oa-code-1").await.unwrap_err(), WeChatError::CodeUsed, "40163");
    assert_eq!(client.oa_authorisation("never-issued").await.unwrap_err(), WeChatError::InvalidCode, "40029");
    assert_eq!(client.oa_authorisation("bad code").await.unwrap_err(), WeChatError::InvalidCode);
    assert_eq!(standin.oa_access_token_calls(), 3, "a malformed code is refused without asking WeChat");
}

#[tokio::test]
async fn oa_errors_timeouts_and_malformed_answers() {
    let (standin, client) = oa_setup().await;
    standin.add_oa_code("c", "o", None, "snsapi_base");
    standin.fail_next(Api::OaAccessToken, 1, Fault::Errcode(-1));
    assert_eq!(client.oa_authorisation("c").await.unwrap_err(), WeChatError::Busy);
    standin.fail_next(Api::OaAccessToken, 1, Fault::Body("{\"openid\":\"o\"}".into()));
    assert!(matches!(client.oa_authorisation("c").await.unwrap_err(), WeChatError::UnexpectedAnswer { .. }));
    standin.fail_next(Api::OaAccessToken, 1, Fault::Body("<html>".into()));
    assert!(matches!(client.oa_authorisation("c").await.unwrap_err(), WeChatError::Unavailable { .. }));
    // The mini program's credentials are not the Official Account's.
    let wrong = WeChatClient::new(standin.config(), super::http_client(Duration::from_secs(5)).expect("client"));
    assert!(matches!(wrong.oa_authorisation("c").await.unwrap_err(), WeChatError::Upstream { errcode: 40013, .. }));
    // Faults and refusals used no code: it still works once.
    assert_eq!(client.oa_authorisation("c").await.unwrap().unionid, None);
    // Too slow: given up at the client's timeout.
    standin.add_oa_code("c2", "o", None, "snsapi_base");
    standin.set_latency(Duration::from_millis(600));
    let started = Instant::now();
    assert_eq!(client.oa_authorisation("c2").await.unwrap_err(), WeChatError::Timeout);
    assert!(started.elapsed() < Duration::from_millis(550), "{:?}", started.elapsed());
}

//! Configuration as operators write it: defaults, refusals that name the variable to fix, and where production keys may live.

use super::*;

#[test]
fn defaults_pass_their_own_checks_and_debug_hides_secrets() {
    let mut config = Config::default();
    config.check().expect("defaults are valid");
    config.qr_keys = Some(Secret("1:c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0".into()));
    config.database_url = "postgres://hourmark:hunter2@db.internal:5432/hourmark".into();
    config.redis_url = Some("redis://:swordfish@cache.internal:6379".into());
    let shown = format!("{config:?}");
    assert!(!shown.contains("c2VjcmV0"), "{shown}");
    assert!(!shown.contains("hunter2") && !shown.contains("swordfish"), "{shown}");
    assert!(shown.contains("db.internal"), "{shown}");
    assert_eq!(config.settings().code_base_url, "HTTP://127.0.0.1:8080/S/");
    assert!(!config.settings().production, "development unless told otherwise");
    assert!(Config { production: true, ..Config::default() }.settings().production);
    // Production always asks registrations for a code, whatever the setting says;
    // elsewhere only when asked to.
    assert!(Config { production: true, ..Config::default() }.settings().registration_phone_code);
    assert!(!Config::default().settings().registration_phone_code);
    assert!(Config { registration_phone_code: true, ..Config::default() }.settings().registration_phone_code);
}

#[test]
fn impossible_settings_are_refused_with_the_variable_to_fix() {
    let config = Config { code_window_secs: 1, ..Config::default() };
    assert!(config.check().expect_err("too short").to_string().contains("HOURMARK_CODE_WINDOW_SECS"));
    let config = Config { database_url: "mysql://x".into(), ..Config::default() };
    assert!(config.check().expect_err("scheme").to_string().contains("HOURMARK_DATABASE_URL"));
    let config = Config { late_grace_minutes: -1, ..Config::default() };
    assert!(config.check().is_err());
    let config = Config { database_url: "sqlite::memory:".into(), ..Config::default() };
    assert!(config.check().is_err());
    let config = Config { dev_login: true, production: true, ..Config::default() };
    assert!(config.check().expect_err("dev in production").to_string().contains("HOURMARK_DEV_LOGIN"));
    let config = Config { dev_login: true, ..Config::default() };
    assert!(config.check().is_ok(), "development login is fine outside production");
    // In production the sealing keys never come from the data folder (generated next
    // to the database they protect): the server refuses to start and says what to set.
    let dir = std::env::temp_dir().join(format!("hourmark-config-test-{}", std::process::id()));
    let config = Config { production: true, data_dir: dir.clone(), ..Config::default() };
    let refused = config.pii_vault().expect_err("no keys in production").to_string();
    assert!(refused.contains("HOURMARK_PII_KEYS") && refused.contains("HOURMARK_PII_LOOKUP_KEY"), "{refused}");
    assert!(!dir.join("pii-keys").exists(), "nothing generated");
    // A key file: refused inside the data folder and when others may read it; read
    // when it is private and elsewhere.
    let (keys, lookup) = PiiVault::generate().expect("keys");
    let secrets = std::env::temp_dir().join(format!("hourmark-secrets-test-{}", std::process::id()));
    std::fs::create_dir_all(&secrets).expect("dir");
    std::fs::create_dir_all(&dir).expect("dir");
    let inside = dir.join("keys.txt");
    write_private(&inside, &format!("{keys}\n{lookup}\n")).expect("write");
    let config = Config { production: true, data_dir: dir.clone(), pii_key_file: Some(inside), ..Config::default() };
    assert!(config.pii_vault().expect_err("in the data folder").to_string().contains("data folder"));
    let outside = secrets.join("pii-keys");
    std::fs::write(&outside, format!("{keys}\n{lookup}\n")).expect("write");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&outside, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let config = Config {
            production: true,
            data_dir: dir.clone(),
            pii_key_file: Some(outside.clone()),
            ..Config::default()
        };
        assert!(config.pii_vault().expect_err("world-readable").to_string().contains("chmod 600"));
        std::fs::set_permissions(&outside, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
    let config =
        Config { production: true, data_dir: dir.clone(), pii_key_file: Some(outside.clone()), ..Config::default() };
    config.pii_vault().expect("a private key file outside the data folder");
    std::fs::write(&outside, format!("{keys}\n")).expect("write");
    let config = Config { production: true, data_dir: dir.clone(), pii_key_file: Some(outside), ..Config::default() };
    assert!(config.pii_vault().expect_err("one line").to_string().contains("two lines"));
    let _ = std::fs::remove_dir_all(&secrets);
    let _ = std::fs::remove_dir_all(&dir);
    let config = Config { console_idle_minutes: 0, ..Config::default() };
    assert!(config.check().unwrap_err().to_string().contains("HOURMARK_CONSOLE_IDLE_MINUTES"));
    let config = Config { public_board_cache_ms: 60_001, ..Config::default() };
    assert!(config.check().expect_err("a minute at most").to_string().contains("HOURMARK_PUBLIC_BOARD_CACHE_MS"));
    let config = Config { public_board_cache_ms: 0, ..Config::default() };
    config.check().expect("nothing kept is allowed");
    assert_eq!(config.settings().public_board_fresh, std::time::Duration::ZERO);
    assert_eq!(Config::default().settings().public_board_fresh, std::time::Duration::from_secs(1));
    let config = Config { volunteer_token_ttl_hours: 0, ..Config::default() };
    assert!(config.check().expect_err("no lifetime").to_string().contains("HOURMARK_VOLUNTEER_TOKEN_TTL_HOURS"));
    assert_eq!(Config::default().settings().volunteer_token_ttl, chrono::Duration::days(7));
    let config = Config { wechat_appid: Some("wx123".into()), ..Config::default() };
    assert!(config.check().expect_err("half configured").to_string().contains("HOURMARK_WECHAT_SECRET"));
    // Certificates: a key that is no key, a verification URL that is no URL, and no
    // key at all in production (certificates must verify after a restart).
    let config = Config { certificate_key: Some(Secret("bm90IGEga2V5".into())), ..Config::default() };
    assert!(config.check().expect_err("bad key").to_string().contains("HOURMARK_CERTIFICATE_KEY"));
    let config = Config { certificate_verify_base_url: Some("hm.example.cn/verify/".into()), ..Config::default() };
    assert!(config.check().expect_err("bad url").to_string().contains("HOURMARK_CERTIFICATE_VERIFY_BASE_URL"));
    let config = Config { production: true, ..Config::default() };
    let refused = config.certificate_settings().expect_err("no key in production").to_string();
    assert!(refused.contains("HOURMARK_CERTIFICATE_KEY"), "{refused}");
    let seed = data_encoding::BASE64.encode(&[9u8; 32]);
    let config = Config {
        certificate_key: Some(Secret(seed)),
        staff_origin: Some("https://hm.example.cn".into()),
        ..Config::default()
    };
    let settings = config.certificate_settings().expect("a key");
    assert_eq!(settings.verify_base_url, "https://hm.example.cn/verify/");
    assert_eq!(settings.signer.key_id(), "1");
    assert!(!format!("{config:?}").contains(&data_encoding::BASE64.encode(&[9u8; 32])), "the key is redacted");
}

/// Values that Tencent's console and WeChat's give as digits, set in the environment as
/// an operator would type them: read as the text they are, not refused as numbers. The
/// environment provider parses `1400006666` as a number, as `Serialized` gives it here.
#[test]
fn digits_in_text_settings_are_read_as_text() {
    let config: Config = Figment::from(Serialized::defaults(Config::default()))
        .merge(("sms_tencent_sdk_app_id", 1_400_006_666_u64))
        .merge(("sms_tencent_template_id", 1110_u64))
        .merge(("sms_tencent_id_number_tried_template_id", 2_220_u64))
        .merge(("sms_tencent_secret_key", 123_456_u64))
        .merge(("certificate_key_id", 2026_u64))
        .merge(("wechat_notice_template_id", "tmpl-hours"))
        .extract()
        .expect("digits are text here");
    assert_eq!(config.sms_tencent_sdk_app_id.as_deref(), Some("1400006666"));
    assert_eq!(config.sms_tencent_template_id.as_deref(), Some("1110"));
    assert_eq!(config.sms_tencent_id_number_tried_template_id.as_deref(), Some("2220"));
    assert_eq!(config.sms_tencent_secret_key, Some(Secret("123456".into())));
    assert_eq!(config.certificate_key_id, "2026");
    assert_eq!(config.wechat_notice_template_id.as_deref(), Some("tmpl-hours"));
    // Unset stays unset; a number where a number is meant is still a number.
    assert_eq!(config.sms_tencent_not_registered_template_id, None);
    let refused =
        Figment::from(Serialized::defaults(Config::default())).merge(("code_window_secs", "soon")).extract::<Config>();
    assert!(refused.is_err(), "a word where a number is meant is still refused");
}

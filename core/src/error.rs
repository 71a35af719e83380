//! The stable error codes every client switches on, and the core's error type.
//!
//! A code, once published, keeps its meaning and its HTTP status forever: the mini program
//! in volunteers' pockets is updated slowly. The `detail` sentences are for people and may
//! be reworded; clients never parse them.

use serde::Serialize;
use utoipa::ToSchema;

/// Declares the error codes once: each variant with its documentation, its stable text,
/// its HTTP status and its Chinese title; the enum, [`ErrorCode::ALL`], `as_str`, `status`
/// and `title` are generated from this one table (the test at the bottom pins the statuses
/// separately, so a change to one is a deliberate change to two places).
macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident = ($text:literal, $status:literal, $title:literal),)*) => {
        /// Every error code Hourmark answers with, in one place.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)*
        }

        impl ErrorCode {
            /// Every code, for documentation and for the test that pins their statuses.
            pub const ALL: &'static [ErrorCode] = &[$(Self::$variant,)*];

            /// The stable snake_case code.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)*
                }
            }

            /// The HTTP status this code is always answered with.
            pub fn status(self) -> u16 {
                match self {
                    $(Self::$variant => $status,)*
                }
            }

            /// A short human title (Chinese: most of the people reading it are).
            pub fn title(self) -> &'static str {
                match self {
                    $(Self::$variant => $title,)*
                }
            }
        }
    };
}

error_codes! {
    // --- request shape ---
    /// 400: the body is not JSON at all.
    MalformedJson = ("malformed_json", 400, "请求内容不是有效的 JSON"),
    /// 422: JSON, but with wrong types, missing or unknown fields, or invalid values.
    InvalidBody = ("invalid_body", 422, "请求内容有误"),
    /// 422: a name or text shown to others holds a character nobody can see or that changes
    /// how its neighbours are shown (controls, format characters such as U+202E or U+200B,
    /// line separators); the detail names the field and the code point. Nothing is stored.
    TextInvalid = ("text_invalid", 422, "文字中含有不可见字符或控制字符"),
    /// 413: the body is larger than the 16 KiB every endpoint accepts.
    PayloadTooLarge = ("payload_too_large", 413, "请求内容过大"),
    /// 415: the body is not declared as `application/json`.
    UnsupportedMediaType = ("unsupported_media_type", 415, "请求内容类型应为 application/json"),
    /// 400: a query string or path parameter is malformed.
    InvalidParameter = ("invalid_parameter", 400, "请求参数有误"),
    /// 404: no such route, or no such thing (or not one the caller may know of).
    NotFound = ("not_found", 404, "未找到"),
    /// 405: the route exists but not with this method.
    MethodNotAllowed = ("method_not_allowed", 405, "不支持该请求方法"),
    // --- who is asking ---
    /// 401: no bearer token, or one that is unknown, malformed or expired.
    Unauthenticated = ("unauthenticated", 401, "未登录或登录已失效"),
    /// 403: authenticated, but this role may not do this.
    Forbidden = ("forbidden", 403, "无权进行此操作"),
    /// 401: the bootstrap token is wrong or has been used.
    BootstrapTokenInvalid = ("bootstrap_token_invalid", 401, "初始化令牌无效或已使用"),
    /// 403: a state-changing request authenticated by the staff session cookie came
    /// without the session's CSRF token (or with a wrong one), or from another origin.
    /// Bearer-token clients never see it.
    CsrfInvalid = ("csrf_invalid", 403, "请求缺少有效的防伪令牌"),
    // --- conflicts ---
    /// 409: a volunteer with this phone number is already registered.
    PhoneTaken = ("phone_taken", 409, "该手机号已注册"),
    /// 409: an organisation with this name exists.
    OrganisationNameTaken = ("organisation_name_taken", 409, "该组织名称已存在"),
    /// 409: the activity's organisation is not approved (or was revoked): no check-in.
    OrganisationNotApproved = ("organisation_not_approved", 409, "该组织尚无记录资格"),
    /// 409: the organisation is not in a state this step applies to.
    OrganisationStatusConflict = ("organisation_status_conflict", 409, "组织当前状态不允许此操作"),
    /// 409: the organisation's recording qualification was revoked: it may plan nothing new.
    OrganisationRevoked = ("organisation_revoked", 409, "该组织已被撤销记录资格"),
    /// 409: this ID number is already registered: one person, one volunteer.
    IdNumberTaken = ("id_number_taken", 409, "该证件号码已注册"),
    // --- identity ---
    /// 422: the ID number fails its format, region, birth-date or check-character rules.
    IdNumberInvalid = ("id_number_invalid", 422, "证件号码有误"),
    /// 422: a required consent (processing for the service record) was not given.
    ConsentRequired = ("consent_required", 422, "需要您的同意"),
    /// 403: the volunteer withdrew consent to processing for the record; nothing is recorded.
    ConsentWithdrawn = ("consent_withdrawn", 403, "您已撤回个人信息处理同意"),
    /// 403: a volunteer under 18 needs a guardian's consent recorded before taking part.
    GuardianConsentRequired = ("guardian_consent_required", 403, "需要监护人同意"),
    // --- WeChat login ---
    /// 503: this server has no WeChat app configured.
    WechatNotConfigured = ("wechat_not_configured", 503, "本服务未配置微信登录"),
    /// 503: WeChat answered "system busy" (-1); retry.
    WechatBusy = ("wechat_busy", 503, "微信服务繁忙，请稍后重试"),
    /// 422: the wx.login code is invalid, expired or used (40029); call wx.login again.
    WechatCodeInvalid = ("wechat_code_invalid", 422, "微信登录凭证无效或已使用，请重新登录"),
    /// 429: WeChat rate-limited this app (45011); retry later.
    WechatRateLimited = ("wechat_rate_limited", 429, "微信登录过于频繁，请稍后再试"),
    /// 403: WeChat blocked this user as high-risk (40226).
    WechatUserBlocked = ("wechat_user_blocked", 403, "微信账号存在风险，已被限制登录"),
    /// 504: WeChat did not answer in time; retry.
    WechatTimeout = ("wechat_timeout", 504, "微信服务响应超时，请重试"),
    /// 502: WeChat could not be reached or answered garbage; retry.
    WechatUnavailable = ("wechat_unavailable", 502, "暂时无法连接微信服务，请重试"),
    /// 502: WeChat answered an error not listed above.
    WechatError = ("wechat_error", 502, "微信服务返回错误"),
    /// 503: this server has no Official Account configured for sign-in inside WeChat's
    /// browser (the page offers SMS sign-in instead).
    WechatOaNotConfigured = ("wechat_oa_not_configured", 503, "本服务未开通微信内登录"),
    /// 422: the WeChat sign-in this request continues is unknown, already used, or was
    /// started in another browser (forged, replayed or foreign `state` or handle); start
    /// again from the scan page.
    WechatOaStateInvalid = ("wechat_oa_state_invalid", 422, "微信登录请求无效或已使用"),
    /// 422: the WeChat sign-in took too long (10 minutes to come back from WeChat, 5 to
    /// finish); start again from the scan page.
    WechatOaStateExpired = ("wechat_oa_state_expired", 422, "微信登录请求已过期"),
    // --- SMS sign-in ---
    /// 404: no volunteer is registered with this phone number (register instead).
    PhoneNotRegistered = ("phone_not_registered", 404, "该手机号尚未登记"),
    /// 422: the SMS code is wrong, was used already, or none was sent to this number.
    SmsCodeInvalid = ("sms_code_invalid", 422, "验证码错误"),
    /// 422: the SMS code is older than five minutes; ask for a new one.
    SmsCodeExpired = ("sms_code_expired", 422, "验证码已过期"),
    /// 422: five wrong tries: this code is dead even if the right one follows; ask for a
    /// new one.
    SmsCodeAttemptsExhausted = ("sms_code_attempts_exhausted", 422, "验证码错误次数过多"),
    /// 429: too many codes asked for this number or from this client, or too many tries
    /// from this client (or the SMS provider's own limit for the number); the detail says
    /// how long to wait.
    SmsRateLimited = ("sms_rate_limited", 429, "获取验证码过于频繁"),
    /// 503: this server sends no SMS (no provider configured in production).
    SmsNotConfigured = ("sms_not_configured", 503, "本服务未开通短信验证码登录"),
    /// 502: the SMS provider refused or could not be reached; nothing was sent.
    SmsUnavailable = ("sms_unavailable", 502, "短信发送失败，请稍后再试"),
    /// 422: the WeChat registration ticket is forged, damaged or expired; log in again.
    RegistrationTicketInvalid = ("registration_ticket_invalid", 422, "登记凭证无效或已过期，请重新登录"),
    /// 409: this WeChat account is already bound to a volunteer.
    WechatAlreadyBound = ("wechat_already_bound", 409, "该微信账号已绑定志愿者"),
    /// 422: the registration a confirmation names is unknown, already completed or past
    /// its five minutes: send the registration again for a new code.
    RegistrationExpired = ("registration_expired", 422, "登记已完成或已失效，请重新提交"),
    /// 422: a volunteer under 18 registers only with a guardian named (name, relation,
    /// phone), whose phone then receives the confirmation code.
    GuardianRequired = ("guardian_required", 422, "未满 18 周岁须填写监护人信息"),
    /// 422: the guardian's phone is the minor's own: the code must reach someone else.
    GuardianPhoneSame = ("guardian_phone_same", 422, "监护人手机号不能与本人相同"),
    // --- scan refusals ---
    /// 422: the scanned text is not a Hourmark code at all.
    CodeUnreadable = ("code_unreadable", 422, "这不是本平台的签到码"),
    /// 422: the code looks like ours but its signature, key or layout is wrong (forged or damaged).
    CodeInvalid = ("code_invalid", 422, "签到码无效"),
    /// 422: the code was shown too long ago; the screen has already moved on.
    CodeExpired = ("code_expired", 422, "签到码已过期"),
    /// 422: the code was minted by a projector whose screen key has been revoked; the
    /// projector must be opened again (a new key) before its codes count.
    ScreenKeyRevoked = ("screen_key_revoked", 422, "该屏幕的签到码已被停用"),
    /// 422: the code claims a time window that has not begun by the server's clock.
    CodeNotYetValid = ("code_not_yet_valid", 422, "签到码尚未生效"),
    /// 409: check-in for this activity has not opened yet.
    ActivityNotOpen = ("activity_not_open", 409, "活动尚未开放签到"),
    /// 409: the activity is over; no more scans are taken.
    ActivityEnded = ("activity_ended", 409, "活动已结束"),
    /// 409: an arrival code while already checked in, or a departure code while not checked in.
    WrongDirection = ("wrong_direction", 409, "签到/签退方向不符"),
    /// 409: the same volunteer scanned again within moments of the last accepted scan.
    RepeatScan = ("repeat_scan", 409, "请勿重复扫码"),
    /// 422: the pending-scan ticket sent with a scan is forged, damaged, or for another code;
    /// nothing is recorded.
    ScanTicketInvalid = ("scan_ticket_invalid", 422, "扫码凭证无效"),
    /// 422: the pending-scan ticket is older than the server allows (10 minutes by default):
    /// scan the code on the screen again; nothing is recorded.
    ScanTicketExpired = ("scan_ticket_expired", 422, "扫码凭证已过期"),
    /// 422: a scan kept on the phone offline and uploaded late claims a time at which its
    /// code was not valid (before the code was shown, or after it expired); recorded as refused.
    LateUploadCodeNotValidThen = ("late_upload_code_not_valid_then", 422, "离线扫码时签到码无效"),
    /// 409: a scan kept on the phone offline arrived after the late-upload bound (by default,
    /// when the activity's check-out window closed); recorded as refused.
    LateUploadTooLate = ("late_upload_too_late", 409, "离线扫码上传过晚"),
    /// 429: too many requests from this client or volunteer; wait `Retry-After` seconds.
    RateLimited = ("rate_limited", 429, "请求过于频繁，请稍后再试"),
    /// 403: the scan came from a device other than the one the volunteer bound; recorded as refused.
    DeviceNotBound = ("device_not_bound", 403, "请使用已绑定的设备扫码"),
    /// 409: the volunteer bound a device too recently to bind another.
    DeviceRebindTooSoon = ("device_rebind_too_soon", 409, "更换设备过于频繁"),
    // --- staff passkeys ---
    /// 410: the invite link is unknown, expired or already used.
    InviteInvalid = ("invite_invalid", 410, "邀请链接无效、已过期或已被使用"),
    /// 400: the passkey ceremony is unknown, expired, already finished, or not the caller's.
    CeremonyInvalid = ("ceremony_invalid", 400, "通行密钥操作已过期，请重新开始"),
    /// 401: the passkey's answer did not verify (wrong challenge, origin, signature or
    /// counter, a replayed assertion), or no such staff member: sign-in failed.
    PasskeyRejected = ("passkey_rejected", 401, "通行密钥验证失败"),
    /// 409: this passkey is already registered.
    PasskeyExists = ("passkey_exists", 409, "该通行密钥已登记"),
    /// 409: the only passkey of an account cannot be removed (nobody could sign in).
    LastPasskey = ("last_passkey", 409, "不能删除唯一的通行密钥"),
    /// 409: another staff member already signs in with this login.
    LoginTaken = ("login_taken", 409, "该登录名已被使用"),
    /// 403: adding or removing a passkey, or reading a volunteer's numbers in clear, needs
    /// a passkey assertion with user verification made on this session in the last five
    /// minutes (sign-in counts): step up with `POST /api/v1/me/step-up/start` and `/finish`,
    /// then ask again.
    ReverificationRequired = ("reverification_required", 403, "请先用通行密钥再次确认身份"),
    // --- recorders' qualification ---
    /// 409: the recorder's annual review is not due yet (it opens 90 days before the due
    /// date), or this year's review is already recorded.
    AnnualReviewNotDue = ("annual_review_not_due", 409, "年审尚未到期"),
    // --- review ---
    /// 409: the flag has already been resolved.
    FlagResolved = ("flag_resolved", 409, "该标记已处理"),
    /// 409: the activity is finalised; only a recorded correction changes it now.
    ActivityFinalised = ("activity_finalised", 409, "活动已完成审核定稿"),
    /// 409: flags are still open; resolve them before finalising.
    FlagsOpen = ("flags_open", 409, "仍有未处理的标记"),
    /// 422: hand-set minutes above the activity's scheduled minutes for that day.
    MinutesOverCap = ("minutes_over_cap", 422, "时长超过当日计划时长"),
    /// 409: the late entry has already been decided.
    LateEntryDecided = ("late_entry_decided", 409, "该补录申请已处理"),
    /// 403: the recorder who asked for a late entry cannot approve it.
    SameRecorder = ("same_recorder", 403, "补录须由另一名记录员审批"),
    /// 409: the activity's check-out window has not closed yet.
    ActivityInProgress = ("activity_in_progress", 409, "活动尚未结束签退"),
    /// 409: the complaint has already been decided (or is past this step).
    ComplaintDecided = ("complaint_decided", 409, "该投诉已处理"),
    // --- publicity ---
    /// 409: the entry is not in publicity (its period has ended, or it is recorded).
    NotInPublicity = ("not_in_publicity", 409, "该记录不在公示期内"),
    /// 403: a staff member may not object to a decision they made themselves.
    OwnDecision = ("own_decision", 403, "不能对自己作出的决定提出异议"),
    /// 409: the objection has already been decided.
    ObjectionDecided = ("objection_decided", 409, "该异议已处理"),
    /// 400: a region code that is not six GB/T 2260 digits (the public calendar).
    RegionCodeInvalid = ("region_code_invalid", 400, "地区代码有误"),
    /// 400: a date range that ends before it starts, or is longer than the public calendar
    /// shows at once (366 days).
    DateRangeInvalid = ("date_range_invalid", 400, "日期范围有误"),
    /// 409: every register entry of the organisation has been sent already.
    NothingToReport = ("nothing_to_report", 409, "没有待报送的记录"),
    /// 409: the batch has already been confirmed or returned.
    BatchDecided = ("batch_decided", 409, "该报送批次已处理"),
    // --- corrections ---
    /// 409: five correction requests are already waiting; wait for a decision.
    CorrectionsPending = ("corrections_pending", 409, "已有更正申请等待处理"),
    /// 409: this correction request has already been decided.
    CorrectionDecided = ("correction_decided", 409, "该更正申请已处理"),
    /// 409: a correction of this finalised session already waits for a second recorder.
    CorrectionPending = ("correction_pending", 409, "已有待审批的更正"),
    /// 409: the session's minutes changed since the correction was proposed; reject it and
    /// propose again.
    CorrectionStale = ("correction_stale", 409, "记录已变化，更正申请已过时"),
    // --- the time bank ---
    /// 409: the account (a volunteer's savings or the pool) holds fewer minutes than asked;
    /// nothing was posted.
    TimeBankInsufficient = ("time_bank_insufficient", 409, "时间储蓄余额不足"),
    /// 409: this transaction key was used before for a different transaction; nothing was
    /// posted (a retry must send the same contents).
    TimeBankKeyReused = ("time_bank_key_reused", 409, "该交易编号已用于另一笔交易"),
    /// 422: a donation to one's own account.
    TimeBankSelfTransfer = ("time_bank_self_transfer", 422, "不能转赠给自己"),
    /// 409: the recording organisation lets only volunteers holding more stars spend
    /// their savings; nothing was posted.
    TimeBankStarsRequired = ("time_bank_stars_required", 409, "星级未达到使用时间储蓄的要求"),
    // --- stars ---
    /// 422: stars are applied for one at a time: the next star after those held.
    StarWrongLevel = ("star_wrong_level", 422, "星级须逐级申请"),
    /// 409: the confirmed hours are below the star's threshold.
    StarThresholdNotMet = ("star_threshold_not_met", 409, "经确认的服务时长未达到该星级要求"),
    /// 409: a verified complaint within the province's window blocks an application.
    StarQualityBlocked = ("star_quality_blocked", 409, "近期有经核实的投诉，暂不能申请星级"),
    /// 409: an application is already waiting for a decision.
    StarApplicationPending = ("star_application_pending", 409, "已有星级申请待审批"),
    /// 409: the application or review has already been decided.
    StarApplicationDecided = ("star_application_decided", 409, "该星级申请已处理"),
    // --- certificates ---
    /// 409: the scope of a certificate holds no register minutes civil affairs confirmed.
    CertificateNothingConfirmed = ("certificate_nothing_confirmed", 409, "所选范围内没有经确认的服务时长"),
    /// 409: the request already has its certificate.
    CertificateRequestIssued = ("certificate_request_issued", 409, "该证明申请已出具"),
    /// 409: the request was declined; a volunteer who still wants a certificate asks
    /// again.
    CertificateRequestDeclined = ("certificate_request_declined", 409, "该证明申请已被拒绝"),
    /// 409: the certificate is already revoked.
    CertificateRevoked = ("certificate_revoked", 409, "该证明已撤销"),
    /// 422: a seal image that is not a PNG of a sensible size.
    SealInvalid = ("seal_invalid", 422, "印章图片须为 PNG"),
    // --- recruitment and sign-ups ---
    /// 409: the activity's sign-up deadline has passed; nothing was recorded.
    SignupDeadlinePassed = ("signup_deadline_passed", 409, "报名已截止"),
    /// 409: every place of the slot is taken and the activity keeps no waiting list.
    SignupSlotFull = ("signup_slot_full", 409, "该岗位名额已满"),
    /// 409: the volunteer is younger on the activity's day than its minimum age.
    SignupTooYoung = ("signup_too_young", 409, "未达到该活动的最低年龄要求"),
    /// 409: the volunteer's registered skills lack one the activity requires.
    SignupSkillMissing = ("signup_skill_missing", 409, "不具备该活动要求的技能"),
    /// 409: the activity requires a training its organisation has not recorded the
    /// volunteer as having completed.
    SignupTrainingMissing = ("signup_training_missing", 409, "未完成该活动要求的培训"),
    /// 409: the volunteer already holds a sign-up (placed, waiting for approval or on the
    /// waiting list) for this activity; cancel it first to change slot.
    SignupDuplicate = ("signup_duplicate", 409, "已报名该活动"),
    /// 409: the cancellation cut-off has passed; the organiser must be asked instead.
    SignupCancellationClosed = ("signup_cancellation_closed", 409, "已过取消报名的截止时间"),
    /// 409: the sign-up is not in a state this decision applies to (already approved,
    /// declined or cancelled).
    SignupDecided = ("signup_decided", 409, "该报名已处理"),
    /// 409: the activity admits only volunteers with an approved sign-up, and this one has
    /// none; the scan is recorded as refused.
    /// 409: the activity was cancelled by its organiser: no arrivals, no sign-ups.
    ActivityCancelled = ("activity_cancelled", 409, "该活动已取消"),
    WalkInRefused = ("walk_in_refused", 409, "本活动仅限已报名并获批准的志愿者签到"),
    // --- exchange with the national system, roster imports ---
    /// 422: a roster file's bytes are not in the encoding asked for (or in neither UTF-8
    /// nor GBK); nothing was read.
    RosterEncoding = ("roster_encoding", 422, "文件编码无法识别"),
    /// 422: a roster file is not a CSV or XLSX file Hourmark can read, or its header lacks
    /// a required column (the detail names them); nothing was read.
    RosterFormat = ("roster_format", 422, "文件格式有误"),
    /// 422: a roster has refused rows, so none of it was imported (the dry run lists
    /// every refused row and why).
    RosterInvalid = ("roster_invalid", 422, "花名册未通过校验，未导入任何数据"),
    /// 409: the export asked for a report batch civil affairs has not confirmed.
    BatchNotConfirmed = ("batch_not_confirmed", 409, "该报送批次尚未确认"),
    /// 409: nothing confirmed (and covered by consent) is left to export.
    NothingToExport = ("nothing_to_export", 409, "没有可导出的新记录"),
    // --- the server ---
    /// 503: the server is overloaded or its storage is unreachable; retry with the same nonce.
    Unavailable = ("unavailable", 503, "服务繁忙，请稍后重试"),
    /// 500: something went wrong that is not the caller's fault.
    Internal = ("internal", 500, "服务器内部错误"),
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error from the core: either a refusal with a stable code and a sentence for the
/// person, or an internal failure whose detail is logged and never shown.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// The request was refused; `detail` is a sentence for the user.
    #[error("{code}: {detail}")]
    Refused {
        /// The stable code.
        code: ErrorCode,
        /// A human sentence (Chinese).
        detail: String,
    },
    /// Too many requests; the client may retry after this many seconds.
    #[error("rate limited; retry after {retry_after_secs} s")]
    RateLimited {
        /// Seconds until the window resets.
        retry_after_secs: u64,
    },
    /// Storage failed (the store says how: a named conflict, an outage, or other).
    #[error("{0}")]
    Storage(#[from] crate::store::StorageError),
    /// The cache failed.
    #[error("cache: {0}")]
    Cache(String),
    /// Anything else that is the server's fault.
    #[error("internal: {0}")]
    Internal(String),
}

impl CoreError {
    /// A refusal with the code's title as its sentence.
    pub fn code(code: ErrorCode) -> Self {
        Self::Refused { code, detail: code.title().to_owned() }
    }

    /// A refusal with a specific sentence.
    pub fn refused(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self::Refused { code, detail: detail.into() }
    }

    /// The stable code this error is answered with.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            Self::Refused { code, .. } => *code,
            Self::RateLimited { .. } => ErrorCode::RateLimited,
            Self::Storage(crate::store::StorageError::Outage(_)) => ErrorCode::Unavailable,
            Self::Cache(_) => ErrorCode::Unavailable,
            Self::Storage(_) | Self::Internal(_) => ErrorCode::Internal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_serialise_as_their_names_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            let json = serde_json::to_string(&code).expect("serialises");
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert!(seen.insert(code.as_str()), "duplicate {code}");
            assert!(!code.title().is_empty());
        }
    }

    /// Pins every code's status: changing one breaks clients in the field.
    #[test]
    fn statuses_are_pinned() {
        let pinned: Vec<(&str, u16)> = ErrorCode::ALL.iter().map(|c| (c.as_str(), c.status())).collect();
        assert_eq!(
            pinned,
            vec![
                ("malformed_json", 400),
                ("invalid_body", 422),
                ("text_invalid", 422),
                ("payload_too_large", 413),
                ("unsupported_media_type", 415),
                ("invalid_parameter", 400),
                ("not_found", 404),
                ("method_not_allowed", 405),
                ("unauthenticated", 401),
                ("forbidden", 403),
                ("bootstrap_token_invalid", 401),
                ("csrf_invalid", 403),
                ("phone_taken", 409),
                ("organisation_name_taken", 409),
                ("organisation_not_approved", 409),
                ("organisation_status_conflict", 409),
                ("organisation_revoked", 409),
                ("id_number_taken", 409),
                ("id_number_invalid", 422),
                ("consent_required", 422),
                ("consent_withdrawn", 403),
                ("guardian_consent_required", 403),
                ("wechat_not_configured", 503),
                ("wechat_busy", 503),
                ("wechat_code_invalid", 422),
                ("wechat_rate_limited", 429),
                ("wechat_user_blocked", 403),
                ("wechat_timeout", 504),
                ("wechat_unavailable", 502),
                ("wechat_error", 502),
                ("wechat_oa_not_configured", 503),
                ("wechat_oa_state_invalid", 422),
                ("wechat_oa_state_expired", 422),
                ("phone_not_registered", 404),
                ("sms_code_invalid", 422),
                ("sms_code_expired", 422),
                ("sms_code_attempts_exhausted", 422),
                ("sms_rate_limited", 429),
                ("sms_not_configured", 503),
                ("sms_unavailable", 502),
                ("registration_ticket_invalid", 422),
                ("wechat_already_bound", 409),
                ("registration_expired", 422),
                ("guardian_required", 422),
                ("guardian_phone_same", 422),
                ("code_unreadable", 422),
                ("code_invalid", 422),
                ("code_expired", 422),
                ("screen_key_revoked", 422),
                ("code_not_yet_valid", 422),
                ("activity_not_open", 409),
                ("activity_ended", 409),
                ("wrong_direction", 409),
                ("repeat_scan", 409),
                ("scan_ticket_invalid", 422),
                ("scan_ticket_expired", 422),
                ("late_upload_code_not_valid_then", 422),
                ("late_upload_too_late", 409),
                ("rate_limited", 429),
                ("device_not_bound", 403),
                ("device_rebind_too_soon", 409),
                ("invite_invalid", 410),
                ("ceremony_invalid", 400),
                ("passkey_rejected", 401),
                ("passkey_exists", 409),
                ("last_passkey", 409),
                ("login_taken", 409),
                ("reverification_required", 403),
                ("annual_review_not_due", 409),
                ("flag_resolved", 409),
                ("activity_finalised", 409),
                ("flags_open", 409),
                ("minutes_over_cap", 422),
                ("late_entry_decided", 409),
                ("same_recorder", 403),
                ("activity_in_progress", 409),
                ("complaint_decided", 409),
                ("not_in_publicity", 409),
                ("own_decision", 403),
                ("objection_decided", 409),
                ("region_code_invalid", 400),
                ("date_range_invalid", 400),
                ("nothing_to_report", 409),
                ("batch_decided", 409),
                ("corrections_pending", 409),
                ("correction_decided", 409),
                ("correction_pending", 409),
                ("correction_stale", 409),
                ("time_bank_insufficient", 409),
                ("time_bank_key_reused", 409),
                ("time_bank_self_transfer", 422),
                ("time_bank_stars_required", 409),
                ("star_wrong_level", 422),
                ("star_threshold_not_met", 409),
                ("star_quality_blocked", 409),
                ("star_application_pending", 409),
                ("star_application_decided", 409),
                ("certificate_nothing_confirmed", 409),
                ("certificate_request_issued", 409),
                ("certificate_request_declined", 409),
                ("certificate_revoked", 409),
                ("seal_invalid", 422),
                ("signup_deadline_passed", 409),
                ("signup_slot_full", 409),
                ("signup_too_young", 409),
                ("signup_skill_missing", 409),
                ("signup_training_missing", 409),
                ("signup_duplicate", 409),
                ("signup_cancellation_closed", 409),
                ("signup_decided", 409),
                ("activity_cancelled", 409),
                ("walk_in_refused", 409),
                ("roster_encoding", 422),
                ("roster_format", 422),
                ("roster_invalid", 422),
                ("batch_not_confirmed", 409),
                ("nothing_to_export", 409),
                ("unavailable", 503),
                ("internal", 500),
            ]
        );
    }
}

/// An RFC 9457 problem document: the body of every error answer.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, ToSchema)]
pub struct Problem {
    /// A URI naming the problem type: `urn:hourmark:problem:<code>`.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// A short summary of the code (Chinese).
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What happened, for a person (Chinese).
    pub detail: String,
    /// The stable code clients switch on.
    #[schema(value_type = ErrorCode)]
    pub code: String,
    /// For refused scans: the id under which the refusal was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan_id: Option<uuid::Uuid>,
    /// For refused scans: the server's time, +08:00.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_time: Option<String>,
    /// For `invalid_body`: the field at fault, as a path (`location.lat`, `skills[0]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// For `invalid_body` on an enumeration: the values it accepts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed: Option<Vec<String>>,
}

impl Problem {
    /// A problem for `code` with a sentence.
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            problem_type: format!("urn:hourmark:problem:{code}"),
            title: code.title().to_owned(),
            status: code.status(),
            detail: detail.into(),
            code: code.as_str().to_owned(),
            scan_id: None,
            server_time: None,
            field: None,
            allowed: None,
        }
    }
}

impl From<&CoreError> for Problem {
    fn from(e: &CoreError) -> Self {
        match e {
            CoreError::Refused { code, detail } => Problem::new(*code, detail.clone()),
            CoreError::RateLimited { retry_after_secs } => {
                Problem::new(ErrorCode::RateLimited, format!("请求过于频繁，请 {retry_after_secs} 秒后再试"))
            }
            other => {
                let code = other.error_code();
                Problem::new(code, code.title())
            }
        }
    }
}

/// What the store's methods return.
pub type StoreResult<T> = Result<T, CoreError>;

impl From<sqlx::Error> for CoreError {
    fn from(e: sqlx::Error) -> Self {
        Self::Storage(e.into())
    }
}

impl From<sqlx::migrate::MigrateError> for CoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        Self::Storage(crate::store::StorageError::Other(format!("migration: {e}")))
    }
}

//! Telling volunteers what happened to their hours.
//!
//! Every decision on a volunteer's hours leaves them a notification: a flag accepted,
//! adjusted or rejected; a late entry approved; a correction; publicity started (and when it
//! ends); an objection upheld or dismissed; the day recorded in the register; a batch
//! confirmed by civil affairs. Before the day, a sign-up approved, declined, or moved up
//! from the waiting list (see `signups`) is told the same way. Each is stored once per key (a decision written twice, or by
//! two instances, notifies once), read in the app with read/unread, and, when the mini
//! program has a notice template configured, queued for a WeChat subscription message.
//!
//! ```text
//! decision ──(its own transaction)──► committed
//!     └──► notify_hours ──► notification (+ wechat_delivery 'pending', same transaction)
//!                                   │
//!          delivery job (every instance, periodically) ── send ──► WeChat
//!              sent ─► 'sent'   not subscribed ─► 'skipped'   error ─► retry later, then 'failed'
//! ```
//!
//! A notification never blocks or undoes a decision: it is written after the decision
//! commits, and a failure to write it is logged, not answered. WeChat is reached only by
//! the job, never on a request's path.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

mod use_cases;

/// What a notification is about; clients switch on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    /// A check-in was left open and closed by the system.
    LeftOpen,
    /// A reviewer decided a flag on a day: accepted, adjusted or rejected.
    FlagDecided,
    /// A late entry (补录) was approved.
    LateEntryApproved,
    /// A finalised day was corrected.
    Corrected,
    /// A day was published (公示), with the period's end.
    PublicityStarted,
    /// An objection to a day was upheld or dismissed.
    ObjectionDecided,
    /// A day entered the service register.
    Recorded,
    /// Civil affairs confirmed a reported batch holding the volunteer's days.
    BatchConfirmed,
    /// A certificate the volunteer asked for was issued.
    CertificateIssued,
    /// A certificate request was declined, with the issuer's reason.
    CertificateDeclined,
    /// An organiser approved a sign-up: the volunteer is expected on the day.
    SignupApproved,
    /// An organiser declined a sign-up, with a reason.
    SignupDeclined,
    /// A place freed and the volunteer moved up from the waiting list.
    SignupMovedUp,
    /// An approved sign-up's activity starts soon (the day before, and an hour before).
    SignupReminder,
    /// The time, place or name of an activity the volunteer signed up for changed.
    ActivityChanged,
    /// An activity the volunteer signed up for was cancelled.
    ActivityCancelled,
    /// The volunteer was named as a minor's guardian: the one-time code that confirms
    /// their consent (also sent by SMS).
    GuardianCode,
}

crate::stored_names!(NotificationKind {
    LeftOpen => "left_open",
    FlagDecided => "flag_decided",
    LateEntryApproved => "late_entry_approved",
    Corrected => "corrected",
    PublicityStarted => "publicity_started",
    ObjectionDecided => "objection_decided",
    Recorded => "recorded",
    BatchConfirmed => "batch_confirmed",
    CertificateIssued => "certificate_issued",
    CertificateDeclined => "certificate_declined",
    SignupApproved => "signup_approved",
    SignupDeclined => "signup_declined",
    SignupMovedUp => "signup_moved_up",
    SignupReminder => "signup_reminder",
    ActivityChanged => "activity_changed",
    ActivityCancelled => "activity_cancelled",
    GuardianCode => "guardian_code",
});

impl NotificationKind {
    /// The status word of the WeChat message (a `phrase` keyword: at most 5 characters).
    fn phrase(self) -> &'static str {
        match self {
            Self::LeftOpen => "未签退",
            Self::FlagDecided => "已审核",
            Self::LateEntryApproved => "补录通过",
            Self::Corrected => "已更正",
            Self::PublicityStarted => "公示中",
            Self::ObjectionDecided => "异议已处理",
            Self::Recorded => "已记录",
            Self::BatchConfirmed => "民政确认",
            Self::CertificateIssued => "证明已出具",
            Self::CertificateDeclined => "未予出具",
            Self::SignupApproved => "报名通过",
            Self::SignupDeclined => "报名未通过",
            Self::SignupMovedUp => "候补递补",
            Self::SignupReminder => "活动提醒",
            Self::ActivityChanged => "活动变更",
            Self::ActivityCancelled => "活动取消",
            Self::GuardianCode => "监护人验证",
        }
    }
}

/// A message to a volunteer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Notification {
    /// Its id (to mark it read).
    pub id: i64,
    /// What it is about.
    pub kind: NotificationKind,
    /// What it says (Chinese).
    pub body: String,
    /// The facts behind the sentence: activity, day, minutes, reason, period end, …
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    /// When (+08:00).
    #[serde(with = "crate::activity::shanghai_time")]
    #[schema(value_type = String)]
    pub created_at: DateTime<Utc>,
    /// When the volunteer read it (+08:00); absent while unread.
    #[serde(serialize_with = "crate::activity::shanghai_time::option::serialize")]
    #[schema(value_type = Option<String>)]
    pub read_at: Option<DateTime<Utc>>,
}

/// A notification to store, once per key.
#[derive(Debug, Clone)]
pub struct NewNotification {
    /// Whom.
    pub volunteer_id: i64,
    /// What makes it the same notification if written again.
    pub key: String,
    /// What it is about.
    pub kind: NotificationKind,
    /// What it says.
    pub body: String,
    /// The facts behind it (JSON).
    pub data: serde_json::Value,
    /// When.
    pub created_at: DateTime<Utc>,
    /// Whether to queue a WeChat subscription message for it as well.
    pub push: bool,
}

/// Which notifications to mark read.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkRead {
    /// These (the volunteer's own; others are ignored), at most 500; or none with `all`.
    #[serde(default)]
    pub ids: Vec<i64>,
    /// Every notification so far.
    #[serde(default)]
    pub all: bool,
}

/// The outcome of a decision on a volunteer's hours, as they are told it.
#[derive(Debug, Clone)]
pub enum HoursNotice {
    /// A flag on a day was decided.
    FlagDecided {
        /// Whom.
        volunteer_id: i64,
        /// The activity's name.
        activity: String,
        /// The day.
        day: NaiveDate,
        /// `accepted`, `adjusted` or `rejected`.
        decision: &'static str,
        /// The minutes that now count for the day.
        minutes: u32,
        /// The reviewer's reason.
        reason: String,
        /// Dedupe key (the flag).
        key: String,
    },
    /// A late entry was approved.
    LateEntryApproved {
        /// Whom.
        volunteer_id: i64,
        /// The activity's name.
        activity: String,
        /// The day.
        day: NaiveDate,
        /// The minutes entered.
        minutes: u32,
        /// Dedupe key (the entry).
        key: String,
    },
    /// A finalised day was corrected.
    Corrected {
        /// Whom.
        volunteer_id: i64,
        /// The activity's name.
        activity: String,
        /// The day.
        day: NaiveDate,
        /// The minutes before.
        from_minutes: u32,
        /// The minutes now.
        to_minutes: u32,
        /// Why.
        reason: String,
        /// Dedupe key (the correction).
        key: String,
    },
    /// A day was published (again, after a correction).
    PublicityStarted {
        /// Whom.
        volunteer_id: i64,
        /// The activity's name.
        activity: String,
        /// The day.
        day: NaiveDate,
        /// The minutes published.
        minutes: u32,
        /// The period's last working day; none while held for the calendar.
        ends_on: Option<NaiveDate>,
        /// The activity.
        activity_id: i64,
        /// Published on (part of the key: a restart is a new publication).
        published_on: NaiveDate,
    },
    /// An objection to a day was decided.
    ObjectionDecided {
        /// Whom.
        volunteer_id: i64,
        /// The activity's name.
        activity: String,
        /// The day.
        day: NaiveDate,
        /// Upheld (the day was corrected and published again) or dismissed.
        upheld: bool,
        /// The corrected minutes, if upheld.
        minutes: Option<u32>,
        /// The recorder's reason.
        reason: String,
        /// The objection.
        objection_id: i64,
    },
    /// A day entered the register.
    Recorded {
        /// Whom.
        volunteer_id: i64,
        /// The activity's name.
        activity: String,
        /// The day.
        day: NaiveDate,
        /// The minutes recorded.
        minutes: u32,
        /// The publicity entry.
        entry_id: i64,
        /// Its publication day (a day recorded again after a correction is told again).
        published_on: NaiveDate,
    },
    /// Civil affairs confirmed a batch holding the volunteer's days.
    BatchConfirmed {
        /// Whom.
        volunteer_id: i64,
        /// The batch.
        batch_id: i64,
        /// The volunteer's minutes in it (net of reversals).
        minutes: i64,
        /// The organisation that reported it.
        organisation: String,
    },
    /// A certificate the volunteer asked for was issued.
    CertificateIssued {
        /// Whom.
        volunteer_id: i64,
        /// The request.
        request_id: i64,
        /// The certificate's number.
        number: String,
        /// The minutes it certifies.
        minutes: i64,
    },
    /// A certificate request was declined.
    CertificateDeclined {
        /// Whom.
        volunteer_id: i64,
        /// The request.
        request_id: i64,
        /// The issuer's reason.
        reason: String,
    },
    /// A sign-up was approved.
    SignupApproved {
        /// Whom.
        volunteer_id: i64,
        /// The sign-up.
        signup_id: i64,
        /// The activity's name.
        activity: String,
        /// The activity's first day.
        day: NaiveDate,
        /// The slot.
        slot: String,
    },
    /// A sign-up was declined.
    SignupDeclined {
        /// Whom.
        volunteer_id: i64,
        /// The sign-up.
        signup_id: i64,
        /// The activity's name.
        activity: String,
        /// The activity's first day.
        day: NaiveDate,
        /// The slot.
        slot: String,
        /// The organiser's reason.
        reason: String,
    },
    /// A wait-listed sign-up moved up into a place.
    SignupMovedUp {
        /// Whom.
        volunteer_id: i64,
        /// The sign-up.
        signup_id: i64,
        /// The activity's name.
        activity: String,
        /// The activity's first day.
        day: NaiveDate,
        /// The slot.
        slot: String,
        /// Whether the place still waits for an organiser's approval.
        awaiting_approval: bool,
    },
    /// An approved sign-up's activity starts soon.
    SignupReminder {
        /// Whom.
        volunteer_id: i64,
        /// The sign-up.
        signup_id: i64,
        /// The activity's name.
        activity: String,
        /// When it starts.
        starts_at: DateTime<Utc>,
        /// The slot.
        slot: String,
        /// Which reminder: `day` (the day before) or `hour` (an hour before).
        stage: &'static str,
    },
    /// An activity the volunteer signed up for changed its time, place or name.
    ActivityChanged {
        /// Whom.
        volunteer_id: i64,
        /// The sign-up.
        signup_id: i64,
        /// The activity's name (as it is now).
        activity: String,
        /// When it starts and ends now.
        starts_at: DateTime<Utc>,
        /// When it ends now.
        ends_at: DateTime<Utc>,
        /// Where, now.
        address: String,
        /// When the change was made (tells one change's notice from the next).
        changed_at: DateTime<Utc>,
    },
    /// An activity the volunteer signed up for was cancelled.
    ActivityCancelled {
        /// Whom.
        volunteer_id: i64,
        /// The sign-up.
        signup_id: i64,
        /// The activity's name.
        activity: String,
        /// When it was to start.
        starts_at: DateTime<Utc>,
        /// The organiser's reason.
        reason: String,
    },
    /// The volunteer's phone was given as a minor's guardian's: the code that confirms it.
    GuardianCode {
        /// The guardian (a volunteer themselves).
        volunteer_id: i64,
        /// The minor's name, as their form gave it.
        minor: String,
        /// The six digits.
        code: String,
        /// When the code stops working.
        expires_at: DateTime<Utc>,
    },
}

/// Minutes as people say them: `2小时15分`, `45分钟`, `3小时`.
pub fn format_minutes(minutes: i64) -> String {
    let sign = if minutes < 0 { "-" } else { "" };
    let m = minutes.unsigned_abs();
    match (m / 60, m % 60) {
        (0, r) => format!("{sign}{r}分钟"),
        (h, 0) => format!("{sign}{h}小时"),
        (h, r) => format!("{sign}{h}小时{r}分"),
    }
}

/// A day as people write it: `12月5日`.
pub fn format_day(day: NaiveDate) -> String {
    day.format("%-m月%-d日").to_string()
}

impl HoursNotice {
    /// The notification to store.
    pub fn into_new(self, at: DateTime<Utc>, push: bool) -> NewNotification {
        let (volunteer_id, key, kind, body, data) = match self {
            Self::FlagDecided { volunteer_id, activity, day, decision, minutes, reason, key } => {
                let verdict = match decision {
                    "accepted" => format!("审核通过，计{}", format_minutes(minutes.into())),
                    "adjusted" => format!("时长调整为{}", format_minutes(minutes.into())),
                    _ => "未予计入时长".to_owned(),
                };
                let body =
                    format!("您在“{activity}”{}的服务记录经记录员审核：{verdict}。理由：{reason}", format_day(day));
                let data = json!({"activity": activity, "day": day, "decision": decision, "minutes": minutes, "reason": reason});
                (volunteer_id, format!("flag:{key}"), NotificationKind::FlagDecided, body, data)
            }
            Self::LateEntryApproved { volunteer_id, activity, day, minutes, key } => {
                let body = format!(
                    "您在“{activity}”{}的补录申请已获批准，计{}，将进入公示。",
                    format_day(day),
                    format_minutes(minutes.into())
                );
                let data = json!({"activity": activity, "day": day, "minutes": minutes});
                (volunteer_id, format!("late_entry:{key}"), NotificationKind::LateEntryApproved, body, data)
            }
            Self::Corrected { volunteer_id, activity, day, from_minutes, to_minutes, reason, key } => {
                let body = format!(
                    "您在“{activity}”{}的服务时长已由{}更正为{}，将重新公示。理由：{reason}",
                    format_day(day),
                    format_minutes(from_minutes.into()),
                    format_minutes(to_minutes.into())
                );
                let data = json!({"activity": activity, "day": day, "from_minutes": from_minutes,
                    "to_minutes": to_minutes, "reason": reason});
                (volunteer_id, key, NotificationKind::Corrected, body, data)
            }
            Self::PublicityStarted { volunteer_id, activity, day, minutes, ends_on, activity_id, published_on } => {
                let until = match ends_on {
                    Some(end) => format!("公示至{}，期间无异议即记入志愿服务记录", format_day(end)),
                    None => "公示期待国务院节假日安排公布后确定".to_owned(),
                };
                let body = format!(
                    "您在“{activity}”{}的服务时长{}已开始公示：{until}。",
                    format_day(day),
                    format_minutes(minutes.into())
                );
                let data = json!({"activity": activity, "activity_id": activity_id, "day": day, "minutes": minutes,
                    "ends_on": ends_on, "published_on": published_on});
                let key = format!("publicity:{activity_id}:{day}:{published_on}:{minutes}");
                (volunteer_id, key, NotificationKind::PublicityStarted, body, data)
            }
            Self::ObjectionDecided { volunteer_id, activity, day, upheld, minutes, reason, objection_id } => {
                let outcome = match (upheld, minutes) {
                    (true, Some(m)) => format!("异议成立，时长更正为{}并重新公示", format_minutes(m.into())),
                    (true, None) => "异议成立".to_owned(),
                    (false, _) => "异议不成立，原记录不变".to_owned(),
                };
                let body = format!(
                    "有人对您在“{activity}”{}的服务记录提出异议，经核实：{outcome}。理由：{reason}",
                    format_day(day)
                );
                let data =
                    json!({"activity": activity, "day": day, "upheld": upheld, "minutes": minutes, "reason": reason});
                (volunteer_id, format!("objection:{objection_id}"), NotificationKind::ObjectionDecided, body, data)
            }
            Self::Recorded { volunteer_id, activity, day, minutes, entry_id, published_on } => {
                let body = format!(
                    "您在“{activity}”{}的服务时长{}公示期满，已记入志愿服务记录。",
                    format_day(day),
                    format_minutes(minutes.into())
                );
                let data =
                    json!({"activity": activity, "day": day, "minutes": minutes, "publicity_entry_id": entry_id});
                (volunteer_id, format!("recorded:{entry_id}:{published_on}"), NotificationKind::Recorded, body, data)
            }
            Self::BatchConfirmed { volunteer_id, batch_id, minutes, organisation } => {
                let body = format!(
                    "“{organisation}”报送的服务记录已经民政部门确认，其中您的服务时长{}。",
                    format_minutes(minutes)
                );
                let data = json!({"batch_id": batch_id, "minutes": minutes, "organisation": organisation});
                (volunteer_id, format!("batch:{batch_id}"), NotificationKind::BatchConfirmed, body, data)
            }
            Self::CertificateIssued { volunteer_id, request_id, number, minutes } => {
                let body = format!(
                    "您申请的志愿服务记录证明已出具，编号{number}，共{}，可在“我的时长”中下载。",
                    format_minutes(minutes)
                );
                let data = json!({"subject": "志愿服务记录证明", "request_id": request_id, "number": number,
                    "minutes": minutes});
                (volunteer_id, format!("certificate:{request_id}"), NotificationKind::CertificateIssued, body, data)
            }
            Self::CertificateDeclined { volunteer_id, request_id, reason } => {
                let body = format!("您申请的志愿服务记录证明未予出具。理由：{reason}");
                let data = json!({"subject": "志愿服务记录证明", "request_id": request_id, "reason": reason});
                (volunteer_id, format!("certificate:{request_id}"), NotificationKind::CertificateDeclined, body, data)
            }
            Self::SignupApproved { volunteer_id, signup_id, activity, day, slot } => {
                let body = format!("您报名的“{activity}”（{}，{slot}）已通过审核，请按时参加。", format_day(day));
                let data = json!({"activity": activity, "day": day, "slot": slot, "signup_id": signup_id});
                (volunteer_id, format!("signup:{signup_id}:approved"), NotificationKind::SignupApproved, body, data)
            }
            Self::SignupDeclined { volunteer_id, signup_id, activity, day, slot, reason } => {
                let body = format!("您报名的“{activity}”（{}，{slot}）未获通过。理由：{reason}", format_day(day));
                let data =
                    json!({"activity": activity, "day": day, "slot": slot, "signup_id": signup_id, "reason": reason});
                (volunteer_id, format!("signup:{signup_id}:declined"), NotificationKind::SignupDeclined, body, data)
            }
            Self::SignupMovedUp { volunteer_id, signup_id, activity, day, slot, awaiting_approval } => {
                let next = if awaiting_approval {
                    "已获得名额，待组织方审核"
                } else {
                    "已获得名额，请按时参加"
                };
                let body = format!("您在“{activity}”（{}，{slot}）的候补已递补：{next}。", format_day(day));
                let data = json!({"activity": activity, "day": day, "slot": slot, "signup_id": signup_id,
                    "awaiting_approval": awaiting_approval});
                (volunteer_id, format!("signup:{signup_id}:moved_up"), NotificationKind::SignupMovedUp, body, data)
            }
            Self::SignupReminder { volunteer_id, signup_id, activity, starts_at, slot, stage } => {
                let local = starts_at.with_timezone(&chrono_tz::Asia::Shanghai);
                let when = format!("{} {}", format_day(local.date_naive()), local.format("%H:%M"));
                let body = format!("提醒：您报名的“{activity}”（{slot}）将于{when}开始，请按时到场并扫码签到。");
                let data = json!({"activity": activity, "day": local.date_naive(), "slot": slot,
                    "signup_id": signup_id, "starts_at": starts_at, "stage": stage});
                (volunteer_id, format!("signup:{signup_id}:{stage}"), NotificationKind::SignupReminder, body, data)
            }
            Self::ActivityChanged { volunteer_id, signup_id, activity, starts_at, ends_at, address, changed_at } => {
                let (from, to) = (
                    starts_at.with_timezone(&chrono_tz::Asia::Shanghai),
                    ends_at.with_timezone(&chrono_tz::Asia::Shanghai),
                );
                let body = format!(
                    "您报名的活动已变更，现为“{activity}”，{} {}–{}，地点：{address}。如不能参加，请取消报名。",
                    format_day(from.date_naive()),
                    from.format("%H:%M"),
                    to.format("%H:%M"),
                );
                let data = json!({"activity": activity, "day": from.date_naive(), "signup_id": signup_id,
                    "starts_at": starts_at, "ends_at": ends_at, "address": address});
                let key = format!("signup:{signup_id}:changed:{}", changed_at.timestamp_millis());
                (volunteer_id, key, NotificationKind::ActivityChanged, body, data)
            }
            Self::ActivityCancelled { volunteer_id, signup_id, activity, starts_at, reason } => {
                let local = starts_at.with_timezone(&chrono_tz::Asia::Shanghai);
                let body = format!(
                    "您报名的“{activity}”（{} {}）已取消：{reason}。无需到场，感谢您的报名。",
                    format_day(local.date_naive()),
                    local.format("%H:%M"),
                );
                let data = json!({"activity": activity, "day": local.date_naive(), "signup_id": signup_id,
                    "starts_at": starts_at, "reason": reason});
                (volunteer_id, format!("signup:{signup_id}:cancelled"), NotificationKind::ActivityCancelled, body, data)
            }
            Self::GuardianCode { volunteer_id, minor, code, expires_at } => {
                // The code first: a WeChat message shows only the first 20 characters.
                let until = expires_at.with_timezone(&chrono_tz::Asia::Shanghai).format("%H:%M");
                let body = format!(
                    "验证码{code}（{until}前有效）：{minor}登记志愿者，需要您作为监护人同意。\
                     请只告诉您同意的孩子本人；如您不知情，请勿告知任何人。"
                );
                let data = json!({"subject": "监护人同意", "minor": minor, "expires_at": expires_at});
                let key = format!("guardian_code:{}:{code}", expires_at.timestamp_millis());
                (volunteer_id, key, NotificationKind::GuardianCode, body, data)
            }
        };
        NewNotification { volunteer_id, key, kind, body, data, created_at: at, push }
    }
}

/// A WeChat delivery due for an attempt.
#[derive(Debug, Clone)]
pub struct PendingDelivery {
    /// The notification.
    pub notification_id: i64,
    /// The volunteer's openid, if they bound WeChat.
    pub openid: Option<String>,
    /// What it is about.
    pub kind: NotificationKind,
    /// What it says.
    pub body: String,
    /// The facts behind it.
    pub data: serde_json::Value,
    /// Attempts so far.
    pub attempts: u32,
}

/// What became of a delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// WeChat took it.
    Sent,
    /// Not to be sent: no WeChat bound, or the volunteer has not subscribed.
    Skipped(String),
    /// Try again at this time.
    Retry(DateTime<Utc>, String),
    /// Given up.
    Failed(String),
}

/// Deliveries one run claims and sends (one after another).
const CLAIM_SIZE: u32 = 20;

/// Attempts before a delivery is given up.
pub const MAX_DELIVERY_ATTEMPTS: u32 = 8;

/// When to try again after `attempts` failures: 30 s doubling, at most an hour.
pub fn retry_after(attempts: u32) -> Duration {
    let seconds = 30_i64.saturating_mul(1_i64 << attempts.min(16));
    Duration::seconds(seconds.min(3600))
}

/// The template's keywords for a notification. The template (服务时长变动提醒, chosen in the
/// mini program's console) must have these four: `thing1` activity (20 characters),
/// `date2` day, `phrase3` status (5 characters), `thing4` what happened (20 characters).
pub fn subscribe_keywords(kind: NotificationKind, body: &str, data: &serde_json::Value) -> BTreeMap<String, String> {
    let activity =
        data["activity"].as_str().or(data["organisation"].as_str()).or(data["subject"].as_str()).unwrap_or("志愿服务");
    let day = data["day"]
        .as_str()
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .map_or_else(|| "—".to_owned(), |d| d.format("%Y年%-m月%-d日").to_string());
    BTreeMap::from([
        ("thing1".to_owned(), truncate(activity, 20)),
        ("date2".to_owned(), day),
        ("phrase3".to_owned(), kind.phrase().to_owned()),
        ("thing4".to_owned(), truncate(body, 20)),
    ])
}

/// At most `max` characters, an ellipsis marking a cut.
fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut cut: String = text.chars().take(max - 1).collect();
        cut.push('…');
        cut
    }
}

#[cfg(test)]
mod tests;

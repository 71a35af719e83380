//! The check-in rules, in the order they are applied, as one pure function.
//!
//! Each refusal has a stable [`ErrorCode`] and a sentence for the volunteer. The order
//! matters and is part of the contract: a code that is both forged and expired is reported
//! as forged, because the window of a forged code means nothing.

use chrono::{DateTime, Duration, Utc};

use super::minutes::{Direction, LiveMinutes, MinutesPolicy};
use crate::activity::{Activity, CodeMode, to_shanghai};
use crate::error::ErrorCode;
use crate::qr::{CodeClaims, CodeDirection, CodeError, CodeWindows, Freshness};

/// The knobs of the check-in rules.
#[derive(Debug, Clone)]
pub struct CheckinPolicy {
    /// How long before the scheduled start volunteers may check in (arriving early is
    /// allowed; whether it earns minutes is the minutes policy's business).
    pub opens_before: Duration,
    /// A second scan by the same volunteer within this time of their last accepted scan is
    /// refused as a repeat rather than toggling them straight back out. Zero turns it off,
    /// except for a scan in the very millisecond of the last one (or earlier), always a repeat.
    pub repeat_guard: Duration,
    /// How long after the scheduled end departures are still taken (arrivals stop at the
    /// end). Longer than the minutes policy's late grace on purpose: a volunteer who stays
    /// late must still be able to close the session; the minutes are clipped anyway.
    pub checkout_closes_after: Duration,
    /// The minutes policy.
    pub minutes: MinutesPolicy,
}

impl Default for CheckinPolicy {
    fn default() -> Self {
        Self {
            opens_before: Duration::minutes(60),
            repeat_guard: Duration::seconds(60),
            checkout_closes_after: Duration::minutes(120),
            minutes: MinutesPolicy::default(),
        }
    }
}

/// A refusal: its code and a sentence for the volunteer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The stable code.
    pub code: ErrorCode,
    /// A sentence for the volunteer (Chinese).
    pub detail: String,
}

impl Refusal {
    fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self { code, detail: detail.into() }
    }
}

/// The verdict on a code before the activity is known: readable, authentic and fresh.
pub fn judge_code(
    verified: Result<CodeClaims, CodeError>,
    windows: &CodeWindows,
    now: DateTime<Utc>,
) -> Result<CodeClaims, Refusal> {
    let claims = verified.map_err(|e| match e {
        CodeError::Malformed => {
            Refusal::new(ErrorCode::CodeUnreadable, "这不是本平台的签到码，请扫描活动现场展示的二维码")
        }
        CodeError::UnsupportedVersion | CodeError::UnknownKey | CodeError::BadSignature => {
            Refusal::new(ErrorCode::CodeInvalid, "签到码无效或已被篡改，请扫描活动现场屏幕上的二维码")
        }
    })?;
    windows.check(claims.window, now).map_err(|f| match f {
        Freshness::Expired => Refusal::new(ErrorCode::CodeExpired, "签到码已过期，请扫描屏幕上最新的二维码"),
        Freshness::NotYetValid => Refusal::new(ErrorCode::CodeNotYetValid, "签到码尚未生效，请稍后重新扫描"),
    })?;
    Ok(claims)
}

/// What an accepted scan does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// In or out.
    pub direction: Direction,
    /// The gate's name.
    pub gate_name: String,
}

/// How long an open check-in from an earlier local day stays current.
const STALE_AFTER: Duration = Duration::hours(12);

fn is_stale_check_in(since: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    use chrono_tz::Asia::Shanghai;
    let day = |t: DateTime<Utc>| t.with_timezone(&Shanghai).date_naive();
    day(since) < day(now) && now - since > STALE_AFTER
}

/// Decides an authentic, fresh code for a known activity, given the tally of the
/// volunteer's accepted scans there so far.
pub fn decide(
    claims: &CodeClaims,
    activity: &Activity,
    earlier: &LiveMinutes,
    policy: &CheckinPolicy,
    now: DateTime<Utc>,
) -> Result<Accepted, Refusal> {
    if !activity.organisation_approved {
        return Err(Refusal::new(ErrorCode::OrganisationNotApproved, "该组织尚未获得或已被撤销记录资格，不能签到"));
    }
    let gate_name = activity
        .gates
        .get(usize::from(claims.gate))
        .ok_or_else(|| Refusal::new(ErrorCode::CodeInvalid, "签到码所指的入口不存在"))?
        .clone();
    let mode_matches = matches!(
        (activity.code_mode, claims.direction),
        (CodeMode::Toggle, CodeDirection::Toggle)
            | (CodeMode::Separate, CodeDirection::Arrival | CodeDirection::Departure)
    );
    if !mode_matches {
        return Err(Refusal::new(ErrorCode::CodeInvalid, "签到码与活动的签到方式不符"));
    }

    let opens = activity.starts_at - policy.opens_before;
    if now < opens {
        return Err(Refusal::new(
            ErrorCode::ActivityNotOpen,
            format!("活动将于 {} 开放签到", to_shanghai(opens).format("%m月%d日 %H:%M")),
        ));
    }
    let checkout_closes = activity.ends_at + policy.checkout_closes_after;
    if now > checkout_closes {
        return Err(Refusal::new(ErrorCode::ActivityEnded, "活动已结束，不再接受扫码"));
    }

    // A scan in the same millisecond as the last (or before it, by another instance's
    // clock) is a repeat whatever the guard says: no one scans twice in a millisecond, and
    // a zero-length pair would earn nothing but count against the day's pairs. It also keeps
    // each volunteer's accepted scans strictly ordered in time as well as in sequence.
    if let Some(last) = earlier.last_at()
        && (now <= last || (policy.repeat_guard > Duration::zero() && now - last < policy.repeat_guard))
    {
        return Err(Refusal::new(
            ErrorCode::RepeatScan,
            format!("您已于 {} 扫码成功，请勿重复扫码", to_shanghai(last).format("%H:%M:%S")),
        ));
    }

    let open_since = earlier.open_since();
    // A check-in left open on an earlier day and long ago is a forgotten check-out, not a
    // night of service: today's scan starts a new session (the minutes rules report the old
    // one as missing its check-out). The hours bound keeps an overnight shift (in at 23:00,
    // out at 01:00) one session.
    let inside = open_since.is_some_and(|since| !is_stale_check_in(since, now));
    let direction = match (claims.direction, inside) {
        (CodeDirection::Toggle, false) | (CodeDirection::Arrival, false) => Direction::In,
        (CodeDirection::Toggle, true) | (CodeDirection::Departure, true) => Direction::Out,
        (CodeDirection::Arrival, true) => {
            return Err(Refusal::new(ErrorCode::WrongDirection, "您已签到，离开时请扫描签退码"));
        }
        (CodeDirection::Departure, false) => {
            return Err(Refusal::new(ErrorCode::WrongDirection, "您尚未签到，请先扫描签到码"));
        }
    };
    if direction == Direction::In && now > activity.ends_at {
        return Err(Refusal::new(ErrorCode::ActivityEnded, "活动已结束，不能再签到"));
    }
    Ok(Accepted { direction, gate_name })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activity::ServiceCategory;
    use crate::attendance::minutes::{ScanFact, Schedule};
    use crate::geo::LatLng;

    fn at(s: &str) -> DateTime<Utc> {
        crate::activity::parse_local_or_offset(s).expect("test time")
    }

    fn activity(mode: CodeMode) -> Activity {
        Activity {
            id: 7,
            organisation_id: 1,
            name: "翠湖清洁".into(),
            category: ServiceCategory::Environment,
            recipients: "市民".into(),
            content: "捡拾垃圾".into(),
            address: "翠湖公园".into(),
            location: LatLng { lat: 25.047, lng: 102.704 },
            radius_m: 300,
            starts_at: at("2026-12-05T08:00"),
            ends_at: at("2026-12-05T17:00"),
            gates: vec!["北门".into(), "南门".into()],
            code_mode: mode,
            created_by: 1,
            organisation_approved: true,
        }
    }

    fn claims(direction: CodeDirection, gate: u8) -> CodeClaims {
        CodeClaims { key_id: 1, activity_id: 7, gate, direction, window: 0 }
    }

    fn fact(s: &str, direction: Direction) -> ScanFact {
        ScanFact { at: at(s), direction }
    }

    /// [`super::decide`] on the tally of `earlier`, as the scan path keeps it.
    fn decide(
        claims: &CodeClaims,
        activity: &Activity,
        earlier: &[ScanFact],
        policy: &CheckinPolicy,
        now: DateTime<Utc>,
    ) -> Result<Accepted, Refusal> {
        let schedule = Schedule { starts_at: activity.starts_at, ends_at: activity.ends_at };
        let tally = LiveMinutes::derive(earlier, &schedule, &policy.minutes);
        super::decide(claims, activity, &tally, policy, now)
    }

    #[test]
    fn code_errors_map_to_their_codes_in_order() {
        let windows = CodeWindows { secs: 15, accept_previous: 1 };
        let now = at("2026-12-05T09:00");
        let w = windows.window_at(now);
        let code = |r: Result<CodeClaims, Refusal>| r.map(|_| ()).map_err(|r| r.code);
        assert_eq!(code(judge_code(Err(CodeError::Malformed), &windows, now)), Err(ErrorCode::CodeUnreadable));
        assert_eq!(code(judge_code(Err(CodeError::BadSignature), &windows, now)), Err(ErrorCode::CodeInvalid));
        assert_eq!(code(judge_code(Err(CodeError::UnknownKey), &windows, now)), Err(ErrorCode::CodeInvalid));
        let mut c = claims(CodeDirection::Toggle, 0);
        c.window = w - 2;
        assert_eq!(code(judge_code(Ok(c), &windows, now)), Err(ErrorCode::CodeExpired));
        c.window = w - 1;
        assert_eq!(code(judge_code(Ok(c), &windows, now)), Ok(()));
        c.window = w + 1;
        assert_eq!(code(judge_code(Ok(c), &windows, now)), Err(ErrorCode::CodeNotYetValid));
    }

    #[test]
    fn toggle_mode_alternates_and_guards_repeats() {
        let a = activity(CodeMode::Toggle);
        let p = CheckinPolicy::default();
        let c = claims(CodeDirection::Toggle, 1);
        let first = decide(&c, &a, &[], &p, at("2026-12-05T07:50")).expect("in");
        assert_eq!(first, Accepted { direction: Direction::In, gate_name: "南门".into() });
        let earlier = [fact("2026-12-05T07:50", Direction::In)];
        let repeat = decide(&c, &a, &earlier, &p, at("2026-12-05T07:50:59")).expect_err("repeat");
        assert_eq!(repeat.code, ErrorCode::RepeatScan);
        let out = decide(&c, &a, &earlier, &p, at("2026-12-05T07:51")).expect("out");
        assert_eq!(out.direction, Direction::Out);
        let off = CheckinPolicy { repeat_guard: Duration::zero(), ..CheckinPolicy::default() };
        assert_eq!(decide(&c, &a, &earlier, &off, at("2026-12-05T07:50:01")).expect("out").direction, Direction::Out);
        // Even with the guard off, no zero-length pair: the same millisecond is a repeat, and
        // so is a time before the last scan (another instance's clock running behind).
        let same = decide(&c, &a, &earlier, &off, at("2026-12-05T07:50")).expect_err("same ms");
        assert_eq!(same.code, ErrorCode::RepeatScan);
        let behind = decide(&c, &a, &earlier, &off, at("2026-12-05T07:49:59")).expect_err("behind");
        assert_eq!(behind.code, ErrorCode::RepeatScan);
        let next_ms = at("2026-12-05T07:50") + Duration::milliseconds(1);
        assert_eq!(decide(&c, &a, &earlier, &off, next_ms).expect("1 ms later").direction, Direction::Out);
    }

    #[test]
    fn separate_mode_refuses_the_wrong_direction() {
        let a = activity(CodeMode::Separate);
        let p = CheckinPolicy::default();
        let now = at("2026-12-05T12:00");
        let depart = claims(CodeDirection::Departure, 0);
        let arrive = claims(CodeDirection::Arrival, 0);
        assert_eq!(decide(&depart, &a, &[], &p, now).expect_err("not in").code, ErrorCode::WrongDirection);
        assert_eq!(decide(&arrive, &a, &[], &p, now).expect("in").direction, Direction::In);
        let inside = [fact("2026-12-05T09:00", Direction::In)];
        assert_eq!(decide(&arrive, &a, &inside, &p, now).expect_err("already in").code, ErrorCode::WrongDirection);
        assert_eq!(decide(&depart, &a, &inside, &p, now).expect("out").direction, Direction::Out);
        let toggle = claims(CodeDirection::Toggle, 0);
        assert_eq!(decide(&toggle, &a, &[], &p, now).expect_err("mode").code, ErrorCode::CodeInvalid);
        assert_eq!(
            decide(&arrive, &activity(CodeMode::Toggle), &[], &p, now).expect_err("mode").code,
            ErrorCode::CodeInvalid
        );
    }

    #[test]
    fn the_activity_window_bounds_scans_on_both_sides() {
        let a = activity(CodeMode::Toggle);
        let p = CheckinPolicy::default();
        let c = claims(CodeDirection::Toggle, 0);
        assert_eq!(
            decide(&c, &a, &[], &p, at("2026-12-05T06:59:59")).expect_err("early").code,
            ErrorCode::ActivityNotOpen
        );
        assert!(decide(&c, &a, &[], &p, at("2026-12-05T07:00")).is_ok());
        // Arrivals stop at the scheduled end...
        assert_eq!(decide(&c, &a, &[], &p, at("2026-12-05T17:00")).expect("in").direction, Direction::In);
        assert_eq!(
            decide(&c, &a, &[], &p, at("2026-12-05T17:00:01")).expect_err("late").code,
            ErrorCode::ActivityEnded
        );
        // ...departures are taken for two hours more, so a late stayer can close the session.
        let inside = [fact("2026-12-05T09:00", Direction::In)];
        assert_eq!(decide(&c, &a, &inside, &p, at("2026-12-05T19:00")).expect("out").direction, Direction::Out);
        assert_eq!(
            decide(&c, &a, &inside, &p, at("2026-12-05T19:00:01")).expect_err("too late").code,
            ErrorCode::ActivityEnded
        );
        let depart = claims(CodeDirection::Departure, 0);
        assert!(decide(&depart, &activity(CodeMode::Separate), &inside, &p, at("2026-12-05T18:30")).is_ok());
    }

    #[test]
    fn a_check_in_forgotten_yesterday_does_not_turn_today_into_a_check_out() {
        let mut a = activity(CodeMode::Toggle);
        a.ends_at = at("2026-12-07T17:00");
        let p = CheckinPolicy::default();
        let forgotten = [fact("2026-12-05T09:00", Direction::In)];
        let next_morning = at("2026-12-06T08:30");
        let toggle = claims(CodeDirection::Toggle, 0);
        assert_eq!(decide(&toggle, &a, &forgotten, &p, next_morning).expect("in").direction, Direction::In);
        a.code_mode = CodeMode::Separate;
        let arrive = claims(CodeDirection::Arrival, 0);
        let depart = claims(CodeDirection::Departure, 0);
        assert_eq!(decide(&arrive, &a, &forgotten, &p, next_morning).expect("in").direction, Direction::In);
        assert_eq!(
            decide(&depart, &a, &forgotten, &p, next_morning).expect_err("not in today").code,
            ErrorCode::WrongDirection
        );
    }

    #[test]
    fn an_overnight_shift_stays_one_session() {
        let mut a = activity(CodeMode::Toggle);
        a.starts_at = at("2026-12-05T20:00");
        a.ends_at = at("2026-12-06T02:00");
        let late = [fact("2026-12-05T23:00", Direction::In)];
        let out =
            decide(&claims(CodeDirection::Toggle, 0), &a, &late, &CheckinPolicy::default(), at("2026-12-06T01:00"));
        assert_eq!(out.expect("out").direction, Direction::Out);
    }

    #[test]
    fn an_organisation_without_the_qualification_opens_no_check_in() {
        let mut a = activity(CodeMode::Toggle);
        a.organisation_approved = false;
        let err = decide(&claims(CodeDirection::Toggle, 0), &a, &[], &CheckinPolicy::default(), at("2026-12-05T09:00"));
        assert_eq!(err.expect_err("not approved").code, ErrorCode::OrganisationNotApproved);
    }

    #[test]
    fn a_gate_outside_the_list_is_invalid() {
        let a = activity(CodeMode::Toggle);
        let err = decide(&claims(CodeDirection::Toggle, 2), &a, &[], &CheckinPolicy::default(), at("2026-12-05T09:00"));
        assert_eq!(err.expect_err("no gate 2").code, ErrorCode::CodeInvalid);
    }
}

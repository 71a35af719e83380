//! The scan use case: from a volunteer's request to a durable, idempotent answer.
//!
//! The path, in order:
//! 1. shape checks (bounded text, valid coordinates) — a malformed request writes nothing;
//! 2. the volunteer's stripe lock, so one volunteer's concurrent scans (a double tap, a
//!    retry racing its original) are decided one after the other on this instance;
//! 3. the code: readable, authentic, fresh ([`checkin::judge_code`]) — no I/O;
//! 4. the activity and the volunteer's presence there, from the caches (the request that
//!    reads the presence also counts the scan against the volunteer's rate limit);
//! 5. the rules ([`checkin::decide`]);
//! 6. the row, accepted or refused, with the exact answer, through the group-commit
//!    writer — the answer leaves only after the commit;
//! 7. if the nonce had been used before, the stored answer is returned instead, so a
//!    retry is answered identically and never counts twice;
//! 8. if the volunteer's next scan number was taken meanwhile (by a scan decided on
//!    another instance), the scan is decided again from step 5 on the store's state.
//!
//! One order per volunteer, across instances: the stripe lock orders a volunteer's scans
//! on one instance only. Across instances, each accepted scan carries its number in the
//! volunteer's sequence at the activity (earlier accepted scans + 1), unique in the store.
//! Two instances that decided on the same state both claim the same number; the store
//! keeps the first and the second decides again, on a state that now includes the first.
//! So the accepted scans form one sequence, each decided on everything before it, and
//! every receipt agrees with the record. A refusal changes no state, so a refusal decided
//! on a state that a concurrent scan was just moving on is still a decision in that one
//! order (just before the other scan) and needs no number.
//!
//! ```text
//! phone ─► instance A: lock(volunteer) ─► cache: n scans ─► decide (#n+1) ─► writer ─┐
//! phone ─► instance B: lock(volunteer) ─► cache: n scans ─► decide (#n+1) ─► writer ─┤
//!                                                                                    ▼
//!                                   store: unique (activity, volunteer, #): A's row wins
//! B ◄─ taken ──────────────────────────────────────────────────────────────────────┘
//! B: read the store (n+1 scans) ─► decide (#n+2) ─► writer ─► commit ─► answer
//! ```

use chrono::{DateTime, Datelike, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::checkin::{self, Refusal};
use super::minutes::{Direction, LiveMinutes, ScanFact, Schedule};
use super::offline::{self, OfflineScan};
use crate::activity::{shanghai_time, to_shanghai};
use crate::error::{CoreError, ErrorCode, Problem};
use crate::geo::{Geofence, LatLng};
use crate::hourmark::Hourmark;
use crate::identity::validate_device_id;
use crate::ratelimit::Window;
use crate::store::{NewScan, StoredAnswer};

/// Longest scanned text accepted: a URL with a token is under 100 characters.
const MAX_SCANNED_TEXT: usize = 512;

/// A scan as the phone sends it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScanRequest {
    /// The scanned text: the code's URL, or the bare token.
    pub code: String,
    /// A UUID the phone makes once per scan and reuses for every retry of it.
    pub nonce: Uuid,
    /// The phone's clock when it scanned, RFC 3339.
    pub client_time: DateTime<Utc>,
    /// Where the phone was, if the volunteer allowed it.
    #[serde(default)]
    pub location: Option<ScanLocation>,
    /// The device, 1–64 printable ASCII characters.
    pub device_id: String,
    /// The `pending_ticket` from reading this code (`GET /mp/v1/codes/{token}`), if the
    /// page read it first: the scan is then judged and recorded as of the moment it was
    /// read, up to 10 minutes (configurable) later, so registering first loses nothing.
    /// A forged ticket, one for another code or an expired one is refused and nothing is
    /// recorded; a ticket older than the volunteer's last accepted scan is a `repeat_scan`.
    #[serde(default)]
    pub pending_ticket: Option<String>,
    /// Only for a scan the phone kept while offline and uploads now: how long ago it was
    /// made. It is judged and recorded at that time if its code was valid then, it arrives
    /// within the late-upload bound and it comes from the volunteer's bound device (see
    /// [`super::offline`]); not together with `pending_ticket`.
    #[serde(default)]
    pub offline: Option<OfflineScan>,
}

/// A position fix from the phone.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScanLocation {
    /// WGS-84 latitude.
    pub lat: f64,
    /// WGS-84 longitude.
    pub lng: f64,
    /// Reported accuracy, metres (0–100 000).
    pub accuracy_m: f64,
}

/// What an accepted scan did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScanOutcome {
    /// The volunteer is now checked in.
    CheckedIn,
    /// The volunteer is now checked out.
    CheckedOut,
}

/// The volunteer's session at the activity, as of this scan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SessionSoFar {
    /// Whether they are checked in now.
    pub inside: bool,
    /// Since when, if inside (+08:00).
    #[schema(value_type = Option<String>)]
    pub checked_in_at: Option<String>,
    /// Check-in/check-out pairs so far, including an open one.
    pub pairs: u32,
    /// Minutes so far, counting an open session up to now.
    pub minutes_so_far: u32,
}

/// The answer to an accepted scan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ScanReceipt {
    /// Checked in or out.
    pub outcome: ScanOutcome,
    /// The recorded scan's id.
    pub scan_id: Uuid,
    /// When the server took the scan (+08:00).
    #[serde(with = "shanghai_time")]
    #[schema(value_type = String)]
    pub server_time: DateTime<Utc>,
    /// The activity.
    pub activity_id: i64,
    /// Its name.
    pub activity_name: String,
    /// The gate's name.
    pub gate: String,
    /// The session so far.
    pub session: SessionSoFar,
    /// Minutes credited at this activity from completed check-in/check-out pairs.
    pub minutes_credited: u32,
    /// A sentence to show the volunteer.
    pub message: String,
}

impl ScanRequest {
    /// The shape checks a scan passes before anything else happens to it (step 1 above):
    /// public so the fuzz targets can check them against arbitrary bodies.
    ///
    /// # Errors
    ///
    /// [`ErrorCode::InvalidBody`] naming the first field that is out of bounds.
    pub fn validate(&self) -> Result<(), CoreError> {
        if self.code.is_empty() || self.code.len() > MAX_SCANNED_TEXT {
            return Err(CoreError::refused(ErrorCode::InvalidBody, "code 须为 1 至 512 个字符"));
        }
        // A phone's clock can be wrong, and that is evidence worth keeping; a date no phone
        // could show is garbage (and PostgreSQL cannot store years before 4713 BC).
        let year = self.client_time.year();
        if !(2000..=2100).contains(&year) {
            return Err(CoreError::refused(ErrorCode::InvalidBody, "client_time 须为 2000 至 2100 年间的时间"));
        }
        validate_device_id(Some(&self.device_id))?;
        if let Some(offline) = &self.offline {
            offline.validate()?;
            if self.pending_ticket.is_some() {
                return Err(CoreError::refused(ErrorCode::InvalidBody, "offline 与 pending_ticket 不能同时使用"));
            }
        }
        if let Some(loc) = &self.location {
            let point = LatLng { lat: loc.lat, lng: loc.lng };
            if !point.is_valid() || !loc.accuracy_m.is_finite() || !(0.0..=100_000.0).contains(&loc.accuracy_m) {
                return Err(CoreError::refused(ErrorCode::InvalidBody, "location 坐标或精度超出范围"));
            }
        }
        Ok(())
    }
}

impl Hourmark {
    /// Takes a volunteer's scan. Returns the answer to send (accepted or refused), which
    /// is durable when this returns; `Err` only for malformed requests and outages, which
    /// are not recorded and may be retried with the same nonce.
    ///
    /// The work runs in its own task: a phone that gives up and disconnects must not
    /// cancel a scan half-way (committed but not yet in the presence cache, or its
    /// volunteer's lock released while the row is still queued).
    ///
    /// A volunteer who withdrew consent to processing, or a minor without a guardian's
    /// consent, is refused before anything is recorded: recording would be the processing
    /// they have not allowed. Without location consent the position is dropped unread.
    ///
    /// `client` is the address the scan came from (IPv6 by its /64): only a keyed digest of
    /// it is kept, for the burst rule.
    pub async fn scan(
        &self,
        volunteer_id: i64,
        mut request: ScanRequest,
        client: Option<std::net::IpAddr>,
    ) -> Result<StoredAnswer, CoreError> {
        request.validate()?;
        // A late upload is taken at its claimed scan time, a scan with a pending-scan
        // ticket at the ticket's; any other scan now.
        let taken_at = match request.offline {
            Some(offline) => Some(offline.scanned_at(self.now())),
            None => self.pending_scan_time(&request)?,
        };
        // The scan is counted against the volunteer's rate limit with its presence read (one
        // cache request for both), or on its own if it is refused before that. A volunteer
        // this instance has already refused in the current window is refused here, before
        // the scan queues for anything: their count only grows until the window ends.
        let now = self.now().timestamp();
        let window =
            Window::of("scan", &volunteer_id.to_string(), self.settings().rate_limits.scans_per_volunteer, now);
        if let Some(window) = &window
            && self.inner().scans_refused.is_refused(volunteer_id, now)
        {
            return self.original_answer_or(volunteer_id, request.nonce, window.refusal()).await;
        }
        let bound_device = match self.may_scan(volunteer_id).await {
            Ok(permission) => {
                if !permission.location {
                    request.location = None;
                }
                permission.device
            }
            Err(refusal) => return self.original_answer_or(volunteer_id, request.nonce, refusal).await,
        };
        let this = self.clone();
        let network = client.map(|ip| self.vault().network_digest(&ip.to_string()));
        let nonce = request.nonce;
        let window_ends_at = window.as_ref().map(Window::ends_at);
        // Spawned so that a phone hanging up cannot cancel a scan half-way through its
        // commit. Boxed first: the task is then a pointer, and the scan's large future is
        // moved once, into the box, instead of into the spawn and again into the task's
        // cell (BENCHMARKS.md, "Where a scan's instructions go").
        let decided = tokio::spawn(Box::pin(async move {
            this.scan_to_completion(volunteer_id, request, bound_device, network, taken_at, window).await
        }))
        .await
        .map_err(|e| CoreError::Internal(format!("scan task failed: {e}")))?;
        match decided {
            Err(refusal @ CoreError::RateLimited { .. }) => {
                if let Some(ends_at) = window_ends_at {
                    self.inner().scans_refused.note(volunteer_id, ends_at, now);
                }
                self.original_answer_or(volunteer_id, nonce, refusal).await
            }
            decided => decided,
        }
    }

    /// The answer recorded for a retry of a scan recorded before the rate limit or the
    /// consent change that now refuses it; `refusal` for any other scan.
    async fn original_answer_or(
        &self,
        volunteer_id: i64,
        nonce: Uuid,
        refusal: CoreError,
    ) -> Result<StoredAnswer, CoreError> {
        match self.store().find_scan_answer(volunteer_id, nonce).await {
            Ok(Some(stored)) => Ok(stored),
            _ => Err(refusal),
        }
    }

    /// The time a scan with a pending-scan ticket is taken at: the ticket's, if it is
    /// authentic, for this very code and within the bound (see [`super::ticket`]). A bad
    /// ticket is refused like a malformed request: nothing is recorded, since the scan was
    /// never judged.
    fn pending_scan_time(&self, request: &ScanRequest) -> Result<Option<DateTime<Utc>>, CoreError> {
        use super::ticket::{TicketError, verify_ticket};
        let Some(ticket) = request.pending_ticket.as_deref() else { return Ok(None) };
        let invalid =
            || CoreError::refused(ErrorCode::ScanTicketInvalid, "扫码凭证无效或不属于此签到码，请重新扫描现场的二维码");
        let token = crate::qr::token_from_scanned(&request.code).ok_or_else(invalid)?;
        // The ticket is keyed by the master key that signed the code; a code that does not
        // verify names no key, and its ticket cannot be authentic.
        let key_id = match crate::qr::read(&self.inner().keys, token).map_err(|_| invalid())? {
            crate::qr::ScannedCode::Server(claims) => claims.key_id,
            crate::qr::ScannedCode::Screen(code) => code.claims.key_id,
        };
        match verify_ticket(&self.inner().keys, key_id, token, ticket, self.now(), self.settings().pending_scan_ttl) {
            Ok(at) => Ok(Some(at)),
            Err(TicketError::Invalid) => Err(invalid()),
            Err(TicketError::Expired) => Err(CoreError::refused(
                ErrorCode::ScanTicketExpired,
                format!(
                    "打开页面已超过 {} 分钟，这次扫码已失效，请重新扫描现场的二维码",
                    self.settings().pending_scan_ttl.num_minutes()
                ),
            )),
        }
    }

    /// The check that comes before a scan is even judged: consent.
    async fn may_scan(&self, volunteer_id: i64) -> Result<crate::identity::consent::ScanPermission, CoreError> {
        let permission = self.scan_permission(volunteer_id).await?;
        if !permission.record {
            return Err(CoreError::refused(
                ErrorCode::ConsentWithdrawn,
                "您已撤回个人信息处理同意，重新同意后方可签到",
            ));
        }
        if permission.needs_guardian {
            return Err(CoreError::refused(
                ErrorCode::GuardianConsentRequired,
                "未满十八周岁的志愿者须经监护人同意后方可参加活动",
            ));
        }
        Ok(permission)
    }

    #[tracing::instrument(skip_all, fields(volunteer_id, nonce = %request.nonce))]
    async fn scan_to_completion(
        &self,
        volunteer_id: i64,
        request: ScanRequest,
        bound_device: Option<String>,
        network: Option<String>,
        taken_at: Option<DateTime<Utc>>,
        window: Option<Window>,
    ) -> Result<StoredAnswer, CoreError> {
        let inner = self.inner();
        let stripe = usize::try_from(volunteer_id.rem_euclid(inner.scan_stripes.len() as i64)).unwrap_or(0);
        let _one_at_a_time = inner.scan_stripes[stripe].lock().await;

        // The first decision uses the cached presence. If another instance took this
        // volunteer's next scan number meanwhile, the write finds it taken and the scan is
        // decided again on the store's state, which then includes the other scan.
        let mut presence = PresenceSource::Cache { uncounted: window };
        for _ in 0..MAX_DECISIONS {
            match self
                .decide_and_write(
                    volunteer_id,
                    &request,
                    bound_device.as_deref(),
                    network.clone(),
                    &mut presence,
                    taken_at,
                )
                .await?
            {
                Written::Fresh(answer) => return Ok(answer),
                Written::Replayed(answer) => return Ok(answer),
                Written::Overtaken => {
                    tracing::debug!("another instance moved this volunteer on; deciding again");
                    presence = PresenceSource::Store;
                }
            }
        }
        Err(CoreError::refused(ErrorCode::Unavailable, "扫码过于频繁，请稍后重试（重试不会重复计时）"))
    }

    /// Decides one scan on the presence `source` gives and writes it.
    async fn decide_and_write(
        &self,
        volunteer_id: i64,
        request: &ScanRequest,
        bound_device: Option<&str>,
        network: Option<String>,
        source: &mut PresenceSource,
        taken_at: Option<DateTime<Utc>>,
    ) -> Result<Written, CoreError> {
        let inner = self.inner();
        // A scan with a pending-scan ticket is decided and recorded at the ticket's time;
        // the ordering rule then refuses it as a repeat if an accepted scan came after.
        let now = taken_at.unwrap_or_else(|| self.now());
        let mut record = NewScan {
            id: Uuid::now_v7(),
            volunteer_id,
            client_nonce: request.nonce,
            activity_id: None,
            gate: None,
            direction: None,
            seq: None,
            outcome: String::new(),
            server_time: now,
            uploaded_at: request.offline.map(|_| self.now()),
            client_time: Some(request.client_time),
            code_window: None,
            key_id: None,
            distance_m: None,
            accuracy_m: request.location.map(|l| l.accuracy_m),
            geofence: None,
            device_id: Some(request.device_id.clone()),
            network,
            answer: StoredAnswer { status: 0, body: String::new() },
        };

        let verdict = match bound_device {
            // Another device: kept as a refused scan, the evidence of a shared account.
            Some(bound) if bound != request.device_id => Ok(Err(Refusal {
                code: ErrorCode::DeviceNotBound,
                detail: "请使用已绑定的手机扫码；如已更换手机，请先在“我的”中更换绑定设备".into(),
            })),
            // A late upload's time is the phone's claim: only the volunteer's own phone makes it.
            None if request.offline.is_some() => Ok(Err(Refusal {
                code: ErrorCode::DeviceNotBound,
                detail: "离线扫码只能从已绑定的手机补传；请联网后重新扫描现场的二维码".into(),
            })),
            _ => self.judge(request, now, &mut record, source).await,
        }?;
        // A scan refused before its presence was read has not been counted yet.
        if let PresenceSource::Cache { uncounted } = source
            && let Some(window) = uncounted.take()
        {
            self.count(&window).await?;
        }
        let appended = match verdict {
            Ok((receipt, taken)) => {
                record.direction = Some(taken.direction);
                record.outcome = serde_json::to_value(receipt.outcome)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                record.answer = StoredAnswer { status: 200, body: to_json(&receipt)? };
                Some(taken)
            }
            Err(refusal) => {
                let mut problem = Problem::new(refusal.code, refusal.detail);
                problem.scan_id = Some(record.id);
                problem.server_time = Some(to_shanghai(now).to_rfc3339());
                record.outcome = refusal.code.as_str().to_owned();
                record.answer = StoredAnswer { status: refusal.code.status(), body: to_json(&problem)? };
                None
            }
        };

        let activity_id = record.activity_id;
        let gate = record.gate;
        let answer = record.answer.clone();
        // What the per-scan rules need, kept before the record goes to the writer.
        let scan_id = record.id;
        let at = record.server_time;
        let evidence = appended.map(|taken| crate::review::rules::ScanEvidence {
            id: record.id,
            volunteer_id,
            at: record.server_time,
            uploaded_at: record.uploaded_at,
            direction: Some(taken.direction),
            client_time: record.client_time,
            code_shown_at: record.code_window.map(|w| self.settings().code_windows.window_start(w)),
            distance_m: record.distance_m,
            accuracy_m: record.accuracy_m,
            geofence: record.geofence,
            device_id: record.device_id.clone(),
            network: record.network.clone(),
        });
        if !inner.writer.write(record).await? {
            let Some(stored) = inner.store.find_scan_answer(volunteer_id, request.nonce).await? else {
                // Not this nonce: the scan number was taken by a scan decided elsewhere.
                return Ok(Written::Overtaken);
            };
            tracing::debug!("nonce seen before; replaying the stored answer");
            // The original request may have died between its commit and its presence
            // update; this closes that gap.
            if stored.status == 200
                && let Ok(receipt) = serde_json::from_str::<ScanReceipt>(&stored.body)
            {
                self.presence_after_replay(receipt.activity_id, volunteer_id, receipt.server_time).await;
            }
            return Ok(Written::Replayed(stored));
        }
        if let (Some(taken), Some(activity_id)) = (appended, activity_id) {
            self.record_presence(activity_id, volunteer_id, taken.tally).await;
            // After the commit, never awaiting a board: the event is queued or dropped.
            self.inner().live.publish_scan(
                activity_id,
                crate::live::ScanSeen { id: scan_id, volunteer_id, gate, direction: taken.direction, at },
            );
            if let Some(evidence) = evidence {
                self.flag_scan(activity_id, &evidence).await;
            }
        }
        Ok(Written::Fresh(answer))
    }

    /// Applies the rules. The outer `Result` is for outages; the inner one is the verdict.
    async fn judge(
        &self,
        request: &ScanRequest,
        now: DateTime<Utc>,
        record: &mut NewScan,
        source: &mut PresenceSource,
    ) -> Result<Result<(ScanReceipt, Taken), Refusal>, CoreError> {
        let settings = self.settings();
        let Some(token) = crate::qr::token_from_scanned(&request.code) else {
            return Ok(Err(Refusal {
                code: ErrorCode::CodeUnreadable,
                detail: "这不是本平台的签到码，请扫描活动现场展示的二维码".into(),
            }));
        };
        let claims = match self.check_code(token, now).await? {
            Ok(claims) => claims,
            Err(refusal) if request.offline.is_some() => return Ok(Err(offline::not_valid_then(refusal))),
            Err(refusal) => return Ok(Err(refusal)),
        };
        record.key_id = Some(claims.key_id);
        record.code_window = Some(claims.window);
        let Some(activity) = self.activity(i64::from(claims.activity_id)).await? else {
            return Ok(Err(Refusal {
                code: ErrorCode::CodeInvalid, detail: "签到码所指的活动不存在".into()
            }));
        };
        record.activity_id = Some(activity.id);
        record.gate = Some(claims.gate);
        if let Some(arrived) = record.uploaded_at {
            let deadline = settings.late_upload_bound.deadline(&activity, settings.checkin.checkout_closes_after, now);
            if arrived > deadline {
                return Ok(Err(offline::too_late(deadline)));
            }
        }
        if let Some(loc) = request.location {
            let distance = activity.location.distance_m(&LatLng { lat: loc.lat, lng: loc.lng });
            record.distance_m = Some(distance);
            record.geofence = Some(Geofence::judge(distance, loc.accuracy_m, f64::from(activity.radius_m)));
        }

        let schedule = Schedule { starts_at: activity.starts_at, ends_at: activity.ends_at };
        let earlier = match source {
            PresenceSource::Cache { uncounted } => {
                self.presence(activity.id, &schedule, record.volunteer_id, uncounted).await?
            }
            PresenceSource::Store => self.presence_from_store(activity.id, &schedule, record.volunteer_id).await?,
        };
        let accepted = match checkin::decide(&claims, &activity, &earlier, &settings.checkin, now) {
            Ok(accepted) => accepted,
            Err(refusal) => return Ok(Err(refusal)),
        };
        if accepted.direction == Direction::In
            && let Some(refusal) = self.walk_in_refusal(activity.id, record.volunteer_id).await?
        {
            return Ok(Err(refusal));
        }

        record.seq = Some(earlier.scans().saturating_add(1));
        // `decide` refused anything not later than the last scan, so the tally takes it.
        let tally = earlier
            .followed_by(ScanFact { at: now, direction: accepted.direction })
            .ok_or_else(|| CoreError::Internal("an accepted scan came before the volunteer's last".into()))?;
        let (outcome, mut message) = match accepted.direction {
            Direction::In => (ScanOutcome::CheckedIn, format!("签到成功：{} · {}", activity.name, accepted.gate_name)),
            Direction::Out => (
                ScanOutcome::CheckedOut,
                format!("签退成功：{}，本次活动累计 {} 分钟", activity.name, tally.credited()),
            ),
        };
        if record.uploaded_at.is_some() {
            message.push_str("（离线扫码，已补传）");
        }
        let receipt = ScanReceipt {
            outcome,
            scan_id: record.id,
            server_time: now,
            activity_id: activity.id,
            activity_name: activity.name.clone(),
            gate: accepted.gate_name,
            session: SessionSoFar {
                inside: tally.open_since().is_some(),
                checked_in_at: tally.open_since().map(|t| to_shanghai(t).to_rfc3339()),
                pairs: tally.pairs_so_far(),
                minutes_so_far: tally.so_far(now),
            },
            minutes_credited: tally.credited(),
            message,
        };
        Ok(Ok((receipt, Taken { direction: accepted.direction, tally })))
    }
}

/// How many times one scan is decided before the volunteer is asked to retry. Each new
/// decision follows a scan of theirs committed elsewhere in the meantime, so more than a
/// couple means someone is scanning as fast as the network allows.
const MAX_DECISIONS: usize = 8;

/// Where a decision reads the volunteer's earlier scans from.
#[derive(Debug)]
pub(super) enum PresenceSource {
    /// The presence cache: current unless another instance's scan is still in flight.
    /// With the rate limit's window while the scan is not yet counted in it: the first
    /// read counts it too.
    Cache { uncounted: Option<Window> },
    /// The store, after the cache proved stale.
    Store,
}

/// An accepted scan before it is written: its direction and the volunteer's tally with it.
#[derive(Debug, Clone, Copy)]
struct Taken {
    direction: Direction,
    tally: LiveMinutes,
}

/// What became of a decided scan at the writer.
#[derive(Debug)]
enum Written {
    /// Written now; this is its answer.
    Fresh(StoredAnswer),
    /// The nonce was used before: the original answer.
    Replayed(StoredAnswer),
    /// Another scan took this volunteer's next number first: decide again.
    Overtaken,
}

fn to_json<T: Serialize>(value: &T) -> Result<String, CoreError> {
    serde_json::to_string(value).map_err(|e| CoreError::Internal(format!("cannot serialise an answer: {e}")))
}

//! A register that has grown: volunteers and scans written fast, to measure whether scans,
//! boards and review stay as quick with a year of history as on an empty database.
//!
//! `hourmark seed-benchmark` fills a development database with an organisation
//! ("基准测试种子协会"), `volunteers` volunteers and `scans` accepted scans: one arrival
//! and one departure per volunteer and activity, `per_activity` volunteers to an activity,
//! one activity after another over the past year. It goes through the paths that real data
//! takes, only in bulk: volunteers through the roster import (sealed ID and phone numbers,
//! keyed lookups, consents as on paper), activities through `create_activity`, scans through
//! the group commit's own `insert_scans` in large batches. So every index, every sealed
//! column and every lookup the live paths read is as it would be after a year of use; only
//! the requests are skipped.
//!
//! It is for benchmarks only: it refuses a production server, a database that has no
//! administrator yet (it acts as the first one, whose name appears in the audit log), and
//! a database it has already seeded.

use bytes::Bytes;
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Asia::Shanghai;
use uuid::Uuid;

use crate::attendance::Direction;
use crate::audit::AuditEvent;
use crate::error::{CoreError, ErrorCode};
use crate::hourmark::Hourmark;
use crate::identity::pii::PiiField;
use crate::identity::{NewOrganisation, Principal, StaffRole};
use crate::review::finalise::{FinalisedSession, MinutesSource};
use crate::roster::sheet::SheetEncoding;
use crate::store::{NewScan, StoredAnswer};

/// The seeded organisation's name, which is also how a seeded database is recognised.
pub const SEEDED_ORGANISATION: &str = "基准测试种子协会";
/// Rows per roster file: large enough that the import's fixed costs vanish, small enough
/// that one file's checks stay in a few tens of megabytes.
const ROSTER_ROWS: usize = 50_000;
/// Scans per `insert_scans` call (one transaction each).
const SCAN_BATCH: usize = 5_000;
/// Namespace of the seeded scans' client nonces.
const SEED_NONCES: Uuid = Uuid::from_u128(0x6a1f_0c3e_8d52_4b7a_9e21_5f60_d4b8_c713);

/// What to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedPlan {
    /// Volunteers to register.
    pub volunteers: usize,
    /// Accepted scans to write: an even number, at least two per activity.
    pub scans: usize,
    /// Volunteers at each activity (each arrives and leaves once there).
    pub per_activity: usize,
    /// Finalise the last activity, so its sessions stand in publicity (公示) today and the
    /// public board has a full activity to show (the mixed-load benchmark reads it).
    pub publish: bool,
    /// Finalise every activity the day after it took place, so that a year of sessions
    /// has been through publicity: they enter the register by the scheduled job's own
    /// path (`advance_publicity`), and one report batch sends them all (the export
    /// benchmark reads it). The last activity's publicity is still running.
    pub register: bool,
}

/// What was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seeded {
    /// The seeded organisation.
    pub organisation_id: i64,
    /// Volunteers registered.
    pub volunteers: usize,
    /// Activities created.
    pub activities: usize,
    /// The most recent activity (a full one, to measure its sessions and review).
    pub last_activity_id: i64,
    /// Scans written.
    pub scans: usize,
    /// Entries put in publicity today (the last activity's sessions, with `publish`).
    pub published: usize,
    /// Entries recorded in the register (with `register`).
    pub recorded: usize,
    /// The report batch sending them (with `register`).
    pub batch_id: Option<i64>,
}

impl SeedPlan {
    /// Activities the plan needs.
    pub fn activities(&self) -> usize {
        (self.scans / 2).div_ceil(self.per_activity.max(1))
    }

    fn check(&self) -> Result<(), CoreError> {
        let refuse = |why: &str| Err(CoreError::refused(ErrorCode::InvalidParameter, why.to_owned()));
        if self.volunteers == 0 || self.per_activity == 0 {
            return refuse("志愿者人数和每场人数须大于 0");
        }
        if self.per_activity > self.volunteers {
            return refuse("每场人数不能多于志愿者人数（同一志愿者一场只签到一次）");
        }
        if self.scans == 0 || !self.scans.is_multiple_of(2) {
            return refuse("扫码次数须为正偶数（每人每场一次签到、一次签退）");
        }
        if self.volunteers > 10_000_000 {
            return refuse("志愿者人数不能超过 1000 万");
        }
        Ok(())
    }
}

/// The `n`th seeded resident ID number: region 530102 (Kunming, Wuhua), born on one of
/// the days from 1970-01-01 (a thousand numbers a day, so all adults), a valid check
/// character. Distinct for every `n` below ten million.
pub fn resident_id(n: usize) -> String {
    let born = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default() + Duration::days((n / 1000) as i64);
    let body = format!("530102{}{:03}", born.format("%Y%m%d"), n % 1000);
    let digits: [u8; 17] = body.as_bytes().try_into().unwrap_or([b'0'; 17]);
    let check = crate::identity::id_number::check_character(&digits);
    format!("{body}{}", char::from(check))
}

/// The `n`th seeded phone number: `16` and nine digits, a range the load generator's own
/// volunteers do not start from.
fn phone(n: usize) -> String {
    format!("16{n:09}")
}

impl Hourmark {
    /// Writes `plan` (see the module's documentation); `progress` hears how far it got.
    pub async fn seed_benchmark(&self, plan: SeedPlan, progress: &dyn Fn(&str)) -> Result<Seeded, CoreError> {
        if self.settings().production {
            return Err(CoreError::refused(ErrorCode::Forbidden, "生产环境不能写入基准测试数据"));
        }
        plan.check()?;
        let organisations = self.store().list_organisations(None).await?;
        if organisations.iter().any(|o| o.name == SEEDED_ORGANISATION) {
            return Err(CoreError::refused(ErrorCode::InvalidParameter, "这个数据库已写入过基准测试数据"));
        }
        let admin = self
            .store()
            .list_staff()
            .await?
            .into_iter()
            .filter(|s| s.role == StaffRole::Administrator)
            .min_by_key(|s| s.id)
            .ok_or_else(|| CoreError::refused(ErrorCode::InvalidParameter, "还没有管理员：请先创建第一位管理员"))?;
        let by = Principal::Staff { id: admin.id, role: StaffRole::Administrator, organisation_id: None };
        let organisation = self
            .create_organisation(
                &by,
                NewOrganisation {
                    name: SEEDED_ORGANISATION.to_owned(),
                    region_code: "530102".to_owned(),
                    kind: Default::default(),
                },
            )
            .await?;

        let volunteers = self.seed_volunteers(&by, organisation.id, plan.volunteers, progress).await?;
        let finalising =
            (plan.register || plan.publish).then_some(Finalising { admin_id: admin.id, organisation: &organisation });
        let (activity_ids, scans, published) =
            self.seed_scans(&by, organisation.id, &volunteers, plan, finalising, progress).await?;
        let last_activity_id = activity_ids.last().copied().unwrap_or_default();
        let (mut recorded, mut batch_id) = (0, None);
        if plan.register {
            progress("recording the register");
            recorded = self.advance_publicity().await?;
            progress(&format!("register: {recorded} entries; sending them in a report batch"));
            batch_id = Some(self.submit_batch(&by, organisation.id).await?.id);
        }
        Ok(Seeded {
            organisation_id: organisation.id,
            volunteers: volunteers.len(),
            activities: activity_ids.len(),
            last_activity_id,
            scans,
            published,
            recorded,
            batch_id,
        })
    }

    /// Registers the volunteers through roster imports; answers their ids in order.
    async fn seed_volunteers(
        &self,
        by: &Principal,
        organisation_id: i64,
        count: usize,
        progress: &dyn Fn(&str),
    ) -> Result<Vec<i64>, CoreError> {
        let mut ids = Vec::with_capacity(count);
        for first in (0..count).step_by(ROSTER_ROWS) {
            let rows = first..(first + ROSTER_ROWS).min(count);
            let mut csv = String::with_capacity(rows.len() * 80 + 64);
            csv.push_str("姓名,证件号码,手机号码,同意记录,同意公示,告知书版本\r\n");
            for n in rows.clone() {
                csv.push_str(&format!("志愿者{n},{},{},是,是,纸质-基准测试\r\n", resident_id(n), phone(n)));
            }
            self.import_roster(
                by,
                organisation_id,
                Bytes::from(csv),
                SheetEncoding::Utf8,
                Some("基准测试种子花名册.csv"),
            )
            .await?;
            // The import does not answer ids; find them by the same keyed lookups it used.
            let lookups: Vec<[u8; 32]> = rows
                .clone()
                .map(|n| self.vault().lookup(PiiField::IdNumber, &format!("resident_id:{}", resident_id(n))))
                .collect();
            let mut found = std::collections::HashMap::with_capacity(lookups.len());
            for chunk in lookups.chunks(5_000) {
                for (id, id_lookup, _) in self.store().volunteers_by_lookups(chunk, &[]).await? {
                    found.insert(id_lookup, id);
                }
            }
            for lookup in &lookups {
                let id = found
                    .get(lookup)
                    .copied()
                    .ok_or_else(|| CoreError::Internal("an imported volunteer cannot be found by ID number".into()))?;
                ids.push(id);
            }
            progress(&format!("volunteers: {} of {count}", ids.len()));
        }
        Ok(ids)
    }

    /// Creates the activities and writes each one's arrivals and departures, finalising
    /// the last one (`publish`) or every one (`register`); answers the activities, the
    /// scans written, and how many entries are in publicity today.
    async fn seed_scans(
        &self,
        by: &Principal,
        organisation_id: i64,
        volunteers: &[i64],
        plan: SeedPlan,
        finalising: Option<Finalising<'_>>,
        progress: &dyn Fn(&str),
    ) -> Result<(Vec<i64>, usize, usize), CoreError> {
        let activities = plan.activities();
        let today = self.now().with_timezone(&Shanghai).date_naive();
        let mut activity_ids = Vec::with_capacity(activities);
        let mut batch: Vec<NewScan> = Vec::with_capacity(SCAN_BATCH);
        let mut written = 0usize;
        let mut published = 0;
        let pairs = plan.scans / 2;
        for j in 0..activities {
            // Spread over the past year, the last one yesterday.
            let days_ago = 1 + ((activities - 1 - j) * 365) / activities.max(1);
            let day = today - Duration::days(days_ago as i64);
            let opens = local(day, 8, 0)?;
            let activity = self
                .create_activity(
                    by,
                    serde_json::from_value(serde_json::json!({
                        "organisation_id": organisation_id,
                        "name": format!("基准测试活动 {}", j + 1),
                        "category": "community_service",
                        "recipients": "社区居民",
                        "content": "基准测试写入的历史活动",
                        "address": "昆明市五华区",
                        "location": {"lat": 25.04, "lng": 102.71},
                        "radius_m": 500,
                        "starts_at": opens.to_rfc3339(),
                        "ends_at": (opens + Duration::hours(10)).to_rfc3339(),
                    }))
                    .map_err(|e| CoreError::Internal(format!("a seeded activity does not parse: {e}")))?,
                )
                .await?;
            activity_ids.push(activity.id);
            let last = j + 1 == activities;
            // Finalised: the last one (`publish`), or every one (`register`).
            let finalised = finalising.as_ref().filter(|_| last || plan.register);
            let mut sessions = Vec::new();
            let first = j * plan.per_activity;
            for k in first..(first + plan.per_activity).min(pairs) {
                let volunteer_id = volunteers[k % volunteers.len()];
                let arrives = opens + Duration::minutes((k % 60) as i64);
                let leaves = arrives + Duration::minutes(120 + (k % 100) as i64);
                batch.push(seeded_scan(activity.id, volunteer_id, 2 * k, arrives, Direction::In, 1));
                batch.push(seeded_scan(activity.id, volunteer_id, 2 * k + 1, leaves, Direction::Out, 2));
                if finalised.is_some() {
                    let minutes = (leaves - arrives).num_minutes() as u32;
                    sessions.push(FinalisedSession {
                        volunteer_id,
                        day,
                        scan_minutes: minutes,
                        final_minutes: minutes,
                        source: MinutesSource::Scans,
                    });
                }
                if batch.len() >= SCAN_BATCH {
                    written += self.write_seeded(&mut batch).await?;
                }
            }
            if let Some(finalising) = finalised {
                // The last one published today; the others the day after they took place.
                let published_on = if last { today } else { day + Duration::days(1) };
                let put = self.seed_publicity(finalising, activity.id, &sessions, published_on).await?;
                if last {
                    published = put;
                }
            }
            if (j + 1) % 100 == 0 || j + 1 == activities {
                written += self.write_seeded(&mut batch).await?;
                progress(&format!("activities: {} of {activities}, scans: {written}", j + 1));
            }
        }
        written += self.write_seeded(&mut batch).await?;
        Ok((activity_ids, written, published))
    }

    /// Finalises an activity with the sessions its scans make, as a recorder's
    /// finalisation stores them (sessions, publicity from `published_on` by the region's
    /// calendar, an audit entry naming the seed), without the recorder's checks a seed
    /// cannot meet.
    async fn seed_publicity(
        &self,
        finalising: &Finalising<'_>,
        activity_id: i64,
        sessions: &[FinalisedSession],
        published_on: NaiveDate,
    ) -> Result<usize, CoreError> {
        let now = self.now();
        let publicity = self.publicity_for(finalising.organisation, sessions, published_on).await?;
        let admin_id = finalising.admin_id;
        let audit = AuditEvent {
            at: now,
            actor_kind: "staff".into(),
            actor_id: Some(admin_id),
            action: "activity_finalised".into(),
            subject_kind: "activity".into(),
            subject_id: Some(activity_id),
            detail: serde_json::json!({ "sessions": sessions.len(), "seeded": true }),
        };
        self.store().finalise(activity_id, admin_id, now, sessions, &publicity, &audit).await?;
        Ok(publicity.len())
    }

    async fn write_seeded(&self, batch: &mut Vec<NewScan>) -> Result<usize, CoreError> {
        if batch.is_empty() {
            return Ok(0);
        }
        let written = self.store().insert_scans(batch).await?;
        batch.clear();
        Ok(written.into_iter().filter(|w| *w).count())
    }
}

/// Who finalises seeded activities, and whose they are.
struct Finalising<'a> {
    admin_id: i64,
    organisation: &'a crate::identity::Organisation,
}

/// `hour:minute` of `day` in Shanghai.
fn local(day: NaiveDate, hour: u32, minute: u32) -> Result<DateTime<Utc>, CoreError> {
    let at = day.and_hms_opt(hour, minute, 0).ok_or_else(|| CoreError::Internal("bad seed time".into()))?;
    Shanghai
        .from_local_datetime(&at)
        .single()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| CoreError::Internal("bad seed time".into()))
}

/// An accepted scan as the group commit would have written it, with a time-ordered id
/// from its own time (so the scan table's order is a year's, not the seeding's). `n`
/// makes its nonce: distinct `n`, distinct nonces. Measurements that need more history
/// than the seed writes add scans of their own with it.
pub fn seeded_scan(
    activity_id: i64,
    volunteer_id: i64,
    n: usize,
    at: DateTime<Utc>,
    direction: Direction,
    seq: u32,
) -> NewScan {
    let millis = u64::try_from(at.timestamp_millis()).unwrap_or_default();
    let outcome = if direction == Direction::In { "checked_in" } else { "checked_out" };
    NewScan {
        id: Uuid::new_v7(uuid::Timestamp::from_unix(
            uuid::NoContext,
            millis / 1000,
            (millis % 1000) as u32 * 1_000_000,
        )),
        volunteer_id,
        client_nonce: Uuid::new_v5(&SEED_NONCES, &n.to_le_bytes()),
        activity_id: Some(activity_id),
        gate: Some(0),
        direction: Some(direction),
        seq: Some(seq),
        outcome: outcome.to_owned(),
        server_time: at,
        uploaded_at: None,
        client_time: Some(at),
        code_window: None,
        key_id: None,
        distance_m: Some(12.0),
        accuracy_m: Some(15.0),
        geofence: None,
        device_id: None,
        network: None,
        answer: StoredAnswer { status: 200, body: format!(r#"{{"outcome":"{outcome}","seeded":true}}"#) },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::id_number::{IdNumber, IdType};

    #[test]
    fn seeded_id_numbers_are_valid_distinct_and_adult() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 3).expect("date");
        let mut seen = std::collections::HashSet::new();
        for n in [0, 1, 999, 1000, 123_456, 999_999, 9_999_999] {
            let id = resident_id(n);
            assert_eq!(id.len(), 18, "{id}");
            let parsed = IdNumber::parse(IdType::ResidentId, &id, today).unwrap_or_else(|e| panic!("{id}: {e:?}"));
            assert_eq!(parsed.as_str(), id);
            assert!(seen.insert(id));
        }
        assert_eq!(phone(42), "16000000042");
    }

    #[test]
    fn a_plan_that_cannot_be_written_is_refused() {
        let good = SeedPlan { volunteers: 250, scans: 1000, per_activity: 100, publish: false, register: false };
        assert!(good.check().is_ok());
        assert_eq!(good.activities(), 5);
        for bad in [
            SeedPlan { scans: 999, ..good },
            SeedPlan { scans: 0, ..good },
            SeedPlan { per_activity: 251, ..good },
            SeedPlan { volunteers: 0, ..good },
        ] {
            assert!(bad.check().is_err(), "{bad:?}");
        }
    }
}

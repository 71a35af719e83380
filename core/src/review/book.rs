//! The rules across scans, kept as scans arrive: what a pass over an activity needs to
//! judge only what changed since the last one.
//!
//! A pass over a whole activity reads every scan, derives every volunteer's sessions and
//! builds every finding again, only for the store to find it already holds almost all of
//! them: 2.5 s for 182 677 scans (BENCHMARKS.md, issue 15). Each rule's findings depend on
//! a part of the activity that a new scan touches or leaves alone:
//!
//! - a scan's own rules, on that scan;
//! - a shared device, on the device's volunteers; a device switch, on one volunteer's devices;
//! - a burst, on the scans of one source in one second;
//! - sessions, days, overlaps and travel, on one volunteer's scans (and their sessions
//!   elsewhere).
//!
//! So the book keeps, per activity, just enough to judge those parts again: each
//! volunteer's scans as times and directions, their devices, each device's volunteers, and
//! each (source, second)'s scan count and volunteers. [`RulesBook::add`] takes new scans
//! (any it has seen are skipped) and says what they touched; [`RulesBook::findings`] judges
//! only that. A book fed every scan at once judges everything: that is the whole-activity
//! pass ([`activity_findings`]), so both are one code path.
//!
//! What a volunteer's sessions elsewhere do is judged when that volunteer scans here, or in
//! a pass over a new book; see `review::passes` for how long a book is kept.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;
use uuid::Uuid;

use super::rules::{
    ActivityFacts, Finding, OtherSession, RuleCode, RuleParams, ScanEvidence, scan_findings, session_findings,
};
use crate::attendance::minutes::local_day;
use crate::attendance::{Direction, MinutesPolicy, ScanFact};

/// Every rule over a whole activity: the per-scan rules, the rules across scans (devices,
/// bursts), and the rules on each volunteer's sessions and days (length, daily limits,
/// overlaps and travel against their sessions elsewhere, attendance share, pairs). A
/// [`RulesBook`] given every scan at once judges all of it.
pub fn activity_findings(
    activity: &ActivityFacts,
    params: &RuleParams,
    policy: &MinutesPolicy,
    scans: &[ScanEvidence],
    elsewhere: &[OtherSession],
) -> Vec<Finding> {
    let mut book = RulesBook::default();
    let touched = book.add(scans.iter().cloned());
    book.findings(&touched, activity, params, policy, elsewhere)
}

/// One activity's accepted scans, as far as the rules across scans need them.
#[derive(Debug, Default)]
pub struct RulesBook {
    volunteers: HashMap<i64, Seen>,
    /// Each device's volunteers.
    device_volunteers: HashMap<u32, BTreeSet<i64>>,
    bursts: HashMap<(Source, i64), Burst>,
    /// Device ids and network digests, each kept once.
    names: Names,
}

/// One volunteer's scans and devices.
#[derive(Debug)]
struct Seen {
    /// Time, id and direction, in (time, id) order: the order the minutes rules take.
    scans: Vec<(DateTime<Utc>, Uuid, Direction)>,
    devices: BTreeSet<u32>,
    first_day: NaiveDate,
}

/// Where a burst came from: a network address's digest or a device, by its name's number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Source {
    Network(u32),
    Device(u32),
}

/// The scans of one source in one second.
#[derive(Debug, Default)]
struct Burst {
    scans: u32,
    volunteers: BTreeSet<i64>,
}

#[derive(Debug, Default)]
struct Names {
    numbers: HashMap<Box<str>, u32>,
    names: Vec<Box<str>>,
}

impl Names {
    fn number(&mut self, name: &str) -> u32 {
        if let Some(&n) = self.numbers.get(name) {
            return n;
        }
        let n = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        self.names.push(name.into());
        self.numbers.insert(name.into(), n);
        n
    }

    fn name(&self, n: u32) -> &str {
        self.names.get(n as usize).map_or("", |s| s)
    }
}

/// What new scans touched: hand it to [`RulesBook::findings`].
#[derive(Debug, Default)]
pub struct Touched {
    /// The new scans themselves (for their own rules).
    scans: Vec<ScanEvidence>,
    volunteers: BTreeSet<i64>,
    devices: BTreeSet<u32>,
    bursts: BTreeSet<(Source, i64)>,
}

impl Touched {
    /// Whether nothing new arrived.
    pub fn is_empty(&self) -> bool {
        self.scans.is_empty()
    }

    /// The volunteers who scanned: whose sessions elsewhere [`RulesBook::findings`] needs.
    pub fn volunteers(&self) -> Vec<i64> {
        self.volunteers.iter().copied().collect()
    }
}

impl RulesBook {
    /// Takes accepted scans (refused ones, and any already here, are skipped) and says what
    /// they touched.
    pub fn add(&mut self, scans: impl IntoIterator<Item = ScanEvidence>) -> Touched {
        let mut touched = Touched::default();
        for scan in scans {
            let Some(direction) = scan.direction else { continue };
            let seen = self.volunteers.entry(scan.volunteer_id).or_insert_with(|| Seen {
                scans: Vec::new(),
                devices: BTreeSet::new(),
                first_day: local_day(scan.at),
            });
            let place = (scan.at, scan.id);
            let position = seen.scans.partition_point(|&(at, id, _)| (at, id) < place);
            if seen.scans.get(position).is_some_and(|&(at, id, _)| (at, id) == place) {
                continue;
            }
            seen.scans.insert(position, (scan.at, scan.id, direction));
            seen.first_day = seen.first_day.min(local_day(scan.at));
            touched.volunteers.insert(scan.volunteer_id);

            let second = scan.at.timestamp();
            if let Some(device) = scan.device_id.as_deref() {
                let device = self.names.number(device);
                if seen.devices.insert(device) {
                    self.device_volunteers.entry(device).or_default().insert(scan.volunteer_id);
                    touched.devices.insert(device);
                }
                let burst = self.bursts.entry((Source::Device(device), second)).or_default();
                burst.scans += 1;
                burst.volunteers.insert(scan.volunteer_id);
                touched.bursts.insert((Source::Device(device), second));
            }
            if let Some(network) = scan.network.as_deref() {
                let network = self.names.number(network);
                let burst = self.bursts.entry((Source::Network(network), second)).or_default();
                burst.scans += 1;
                burst.volunteers.insert(scan.volunteer_id);
                touched.bursts.insert((Source::Network(network), second));
            }
            touched.scans.push(scan);
        }
        touched
    }

    /// Every finding in what `touched` names: the new scans' own rules, the devices and
    /// seconds they joined, and the sessions and days of the volunteers who made them,
    /// against `elsewhere` (their sessions at other activities; others' are ignored).
    pub fn findings(
        &self,
        touched: &Touched,
        activity: &ActivityFacts,
        params: &RuleParams,
        policy: &MinutesPolicy,
        elsewhere: &[OtherSession],
    ) -> Vec<Finding> {
        let mut all = Vec::new();
        self.each_finding(touched, activity, params, policy, elsewhere, &mut |f| all.push(f));
        all
    }

    /// [`RulesBook::findings`], each handed to `found` as it is found. A new book of a
    /// large activity finds hundreds of thousands: held all at once, with their evidence,
    /// they took a few hundred megabytes (BENCHMARKS.md), so a pass raises them in batches.
    pub fn each_finding(
        &self,
        touched: &Touched,
        activity: &ActivityFacts,
        params: &RuleParams,
        policy: &MinutesPolicy,
        elsewhere: &[OtherSession],
        found: &mut dyn FnMut(Finding),
    ) {
        for scan in &touched.scans {
            scan_findings(activity, params, scan).into_iter().for_each(&mut *found);
        }
        self.device_findings(touched, found);
        self.burst_findings(touched, params, found);
        let mut elsewhere_of: BTreeMap<i64, Vec<&OtherSession>> = BTreeMap::new();
        for other in elsewhere.iter().filter(|o| touched.volunteers.contains(&o.volunteer_id)) {
            elsewhere_of.entry(other.volunteer_id).or_default().push(other);
        }
        for volunteer_id in &touched.volunteers {
            let Some(seen) = self.volunteers.get(volunteer_id) else { continue };
            let facts: Vec<ScanFact> =
                seen.scans.iter().map(|&(at, _, direction)| ScanFact { at, direction }).collect();
            let theirs = elsewhere_of.remove(volunteer_id).unwrap_or_default();
            session_findings(activity, params, policy, *volunteer_id, &facts, &theirs)
                .into_iter()
                .for_each(&mut *found);
        }
    }

    /// Shared devices (every volunteer of a device a new volunteer joined) and volunteers
    /// who switched devices, each keyed on the volunteer's first day.
    fn device_findings(&self, touched: &Touched, found: &mut dyn FnMut(Finding)) {
        let first_day = |volunteer_id: &i64| self.volunteers.get(volunteer_id).map(|s| s.first_day);
        for device in &touched.devices {
            let Some(volunteers) = self.device_volunteers.get(device).filter(|v| v.len() >= 2) else { continue };
            let name = self.names.name(*device);
            for volunteer_id in volunteers {
                let Some(day) = first_day(volunteer_id) else { continue };
                found(Finding::new(
                    RuleCode::SharedDevice,
                    *volunteer_id,
                    day,
                    format!("device:{name}"),
                    json!({ "device_id": name, "volunteers": volunteers }),
                    format!("同一台设备为 {} 名志愿者扫码", volunteers.len()),
                ));
            }
        }
        for volunteer_id in &touched.volunteers {
            let Some(seen) = self.volunteers.get(volunteer_id).filter(|s| s.devices.len() >= 2) else { continue };
            let devices: BTreeSet<&str> = seen.devices.iter().map(|d| self.names.name(*d)).collect();
            found(Finding::new(
                RuleCode::DeviceSwitch,
                *volunteer_id,
                seen.first_day,
                "devices".to_owned(),
                json!({ "devices": devices }),
                format!("活动期间使用了 {} 台不同的设备扫码", devices.len()),
            ));
        }
    }

    /// Many scans in one second from one network address or device: everyone in the burst
    /// is flagged, keyed by the second.
    fn burst_findings(&self, touched: &Touched, params: &RuleParams, found: &mut dyn FnMut(Finding)) {
        for key in &touched.bursts {
            let (source, second) = *key;
            let Some(burst) = self.bursts.get(key) else { continue };
            let (kind, name, threshold) = match source {
                Source::Network(n) => ("network", self.names.name(n), params.burst_per_network),
                Source::Device(n) => ("device", self.names.name(n), params.burst_per_device),
            };
            if burst.scans < threshold {
                continue;
            }
            let Some(day) = DateTime::from_timestamp(second, 0).map(local_day) else { continue };
            for volunteer_id in &burst.volunteers {
                found(Finding::new(
                    RuleCode::ScanBurst,
                    *volunteer_id,
                    day,
                    format!("{kind}:{name}:{second}"),
                    json!({ "source": kind, "scans_in_one_second": burst.scans, "threshold": threshold,
                            "volunteers": burst.volunteers.len() }),
                    if kind == "network" {
                        format!("同一网络地址在 1 秒内提交了 {} 次扫码", burst.scans)
                    } else {
                        format!("同一台设备在 1 秒内提交了 {} 次扫码", burst.scans)
                    },
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl RulesBook {
        /// How many scans the book holds.
        fn len(&self) -> usize {
            self.volunteers.values().map(|seen| seen.scans.len()).sum()
        }
    }
    use crate::attendance::Schedule;
    use crate::geo::{Geofence, LatLng};

    /// A small deterministic generator: the same cases on every run.
    struct Xorshift(u64);

    impl Xorshift {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
    }

    fn activity() -> ActivityFacts {
        let starts_at: DateTime<Utc> = "2026-12-05T00:00:00Z".parse().expect("time");
        ActivityFacts {
            id: 1,
            schedule: Schedule { starts_at, ends_at: starts_at + chrono::Duration::hours(9) },
            venue: LatLng { lat: 25.047, lng: 102.704 },
            radius_m: 300,
        }
    }

    /// Scans of a crowd that shares a few phones and networks, with bursts, scans outside
    /// the fence, late uploads, skewed clocks and sessions elsewhere.
    fn crowd(rng: &mut Xorshift, n: usize) -> Vec<ScanEvidence> {
        let start = activity().schedule.starts_at;
        (0..n)
            .map(|i| {
                let volunteer_id = 1 + rng.below(40) as i64;
                // Seconds bunch up so that some (source, second)s hold several scans.
                let at = start + chrono::Duration::seconds((rng.below(600) * 60 + rng.below(3)) as i64);
                let device = if rng.below(5) == 0 { rng.below(4) as i64 } else { volunteer_id + 100 };
                ScanEvidence {
                    id: Uuid::from_u128(i as u128 + 1),
                    volunteer_id,
                    at,
                    uploaded_at: (rng.below(20) == 0).then(|| at + chrono::Duration::minutes(30)),
                    direction: match rng.below(7) {
                        0 => None,
                        1..=3 => Some(Direction::In),
                        _ => Some(Direction::Out),
                    },
                    client_time: Some(at + chrono::Duration::seconds(rng.below(700) as i64 - 350)),
                    code_shown_at: Some(at),
                    distance_m: Some(20.0),
                    accuracy_m: Some(15.0),
                    geofence: Some(if rng.below(10) == 0 { Geofence::Outside } else { Geofence::Inside }),
                    device_id: (rng.below(10) != 0).then(|| format!("phone-{device}")),
                    network: (rng.below(10) != 0).then(|| format!("net-{}", rng.below(3))),
                }
            })
            .collect()
    }

    fn elsewhere() -> Vec<OtherSession> {
        let start = activity().schedule.starts_at;
        (1..=40)
            .step_by(3)
            .map(|volunteer_id| OtherSession {
                activity_id: 2,
                venue: LatLng { lat: 25.3, lng: 102.9 },
                volunteer_id,
                checked_in_at: start + chrono::Duration::minutes(volunteer_id * 7),
                checked_out_at: start + chrono::Duration::minutes(volunteer_id * 7 + 90),
            })
            .collect()
    }

    fn keys(found: &[Finding]) -> BTreeSet<(i64, RuleCode, String)> {
        found.iter().map(|f| (f.volunteer_id, f.rule, f.key.clone())).collect()
    }

    /// Scans fed in batches, some of them again, raise what a pass over every scan read so
    /// far would have raised after each batch: nothing missed, nothing a whole pass would
    /// not have found at that moment.
    #[test]
    fn batches_find_what_a_pass_over_everything_finds() {
        let params = RuleParams { burst_per_network: 3, burst_per_device: 2, ..RuleParams::default() };
        let policy = MinutesPolicy::default();
        let elsewhere = elsewhere();
        let mut rules = BTreeSet::new();
        for seed in 1..=30u64 {
            let mut rng = Xorshift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let scans = crowd(&mut rng, 400);
            let mut book = RulesBook::default();
            let (mut raised, mut whole) = (BTreeSet::new(), BTreeSet::new());
            let mut next = 0;
            while next < scans.len() {
                let take = 1 + rng.below(60) as usize;
                // A batch may repeat scans already read: a cursor can hand them back.
                let again = next.saturating_sub(rng.below(10) as usize);
                let end = (next + take).min(scans.len());
                next = end;
                let touched = book.add(scans[again..end].to_vec());
                let found = keys(&book.findings(&touched, &activity(), &params, &policy, &elsewhere));
                let so_far = keys(&activity_findings(&activity(), &params, &policy, &scans[..end], &elsewhere));
                assert!(found.is_subset(&so_far), "seed {seed}: only what a whole pass finds now");
                raised.extend(found);
                whole.extend(so_far);
            }
            assert_eq!(book.len(), scans.iter().filter(|s| s.direction.is_some()).count());
            assert_eq!(raised, whole, "seed {seed}");
            rules.extend(whole.iter().map(|(_, rule, _)| *rule));
        }
        let every_kind = BTreeSet::from([
            RuleCode::OutsideGeofence,
            RuleCode::SharedDevice,
            RuleCode::DeviceSwitch,
            RuleCode::ScanBurst,
            RuleCode::LateUpload,
            RuleCode::ClientClockSkew,
            RuleCode::SessionTooShort,
            RuleCode::OverlappingSessions,
            RuleCode::ImpossibleTravel,
            RuleCode::TooManyPairs,
            RuleCode::CheckoutWithoutCheckin,
        ]);
        assert!(rules.is_superset(&every_kind), "the crowds raise every kind of finding: {rules:?}");
    }

    #[test]
    fn a_scan_seen_before_touches_nothing() {
        let mut rng = Xorshift(7);
        let scans = crowd(&mut rng, 50);
        let mut book = RulesBook::default();
        assert!(!book.add(scans.clone()).is_empty());
        let again = book.add(scans);
        assert!(again.is_empty());
        assert!(again.volunteers().is_empty());
        let found = book.findings(&again, &activity(), &RuleParams::default(), &MinutesPolicy::default(), &elsewhere());
        assert!(found.is_empty());
    }
}

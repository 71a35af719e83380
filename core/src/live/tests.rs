//! Live events in process: their wire form, gathering scans into one event, boards that fall behind, and pruning.

use super::*;

fn seen(direction: Direction, at: DateTime<Utc>) -> ScanSeen {
    ScanSeen { id: Uuid::now_v7(), volunteer_id: 3, gate: Some(1), direction, at }
}

fn flags(activity_id: i64) -> LiveEvent {
    LiveEvent { activity_id, id: Uuid::now_v7(), change: LiveChange::Flags { raised: 1 } }
}

#[test]
fn events_round_trip_and_resync_reaches_every_board() {
    let scans = Gathered::new(seen(Direction::In, Utc::now())).into_event(7);
    let text = serde_json::to_string(&scans).expect("serialises");
    assert!(text.contains(r#""kind":"scans""#), "{text}");
    assert!(text.contains(r#""count":1"#), "{text}");
    assert_eq!(serde_json::from_str::<LiveEvent>(&text).expect("parses"), scans);
    assert!(scans.concerns(7));
    assert!(!scans.concerns(8));
    let resync = LiveEvent { activity_id: 0, id: Uuid::now_v7(), change: LiveChange::Resync };
    assert!(resync.concerns(8));
}

#[test]
fn gathered_scans_count_each_direction_and_name_the_newest_whatever_their_order() {
    let start = Utc::now();
    let newest = seen(Direction::Out, start + chrono::Duration::seconds(2));
    let mut gathered = Gathered::new(seen(Direction::In, start + chrono::Duration::seconds(1)));
    gathered.add(newest);
    gathered.add(seen(Direction::In, start));
    let event = gathered.into_event(7);
    assert_eq!(event.id, newest.id, "the event carries the newest scan's id");
    assert_eq!(
        event.change,
        LiveChange::Scans {
            count: 3,
            arrivals: 2,
            departures: 1,
            first_at: start,
            volunteer_id: 3,
            gate: Some(1),
            direction: Direction::Out,
            at: newest.at,
        }
    );
}

#[test]
fn channel_names_say_which_activity() {
    let channels = Channels { prefix: "hm:test".into() };
    assert_eq!(channels.activity_of(&channels.activity(42)), Some(42));
    assert_eq!(channels.activity_of(&channels.watching()), None);
    assert_eq!(channels.activity_of(&channels.admission()), None);
    assert_eq!(channels.activity_of("other:live:42"), None);
}

#[tokio::test]
async fn a_burst_of_scans_reaches_a_board_as_one_event_and_only_its_activitys() {
    let live = LiveEvents::in_process();
    let mut board = live.watch(7).await.expect("watches");
    let mut other = live.watch(8).await.expect("watches");
    let started = tokio::time::Instant::now();
    // Far more than a board's backlog: had each been sent, the board would have lagged.
    let burst = BOARD_BACKLOG * 3;
    for i in 0..burst {
        let direction = if i % 3 == 0 { Direction::Out } else { Direction::In };
        live.publish_scan(7, seen(direction, Utc::now()));
    }
    let event = board.recv().await.expect("one event for the burst").event.clone();
    assert!(started.elapsed() >= GATHER, "gathered for {GATHER:?}");
    let LiveChange::Scans { count, arrivals, departures, .. } = event.change else {
        panic!("a scans event: {event:?}")
    };
    assert_eq!((count as usize, arrivals as usize, departures as usize), (burst, burst - burst / 3, burst / 3));
    assert!(matches!(board.try_recv(), Err(broadcast::error::TryRecvError::Empty)), "nothing else");
    // Activity 8's board saw none of activity 7's scans; its own come separately.
    assert!(matches!(other.try_recv(), Err(broadcast::error::TryRecvError::Empty)));
    live.publish_scan(8, seen(Direction::In, Utc::now()));
    assert_eq!(other.recv().await.expect("its own scan").event.activity_id, 8);
}

#[tokio::test]
async fn a_board_that_falls_behind_learns_so_and_publishing_never_waits() {
    let live = LiveEvents::in_process();
    let mut board = live.watch(7).await.expect("watches");
    for _ in 0..(BOARD_BACKLOG * 2) {
        live.publish(flags(7));
    }
    assert!(matches!(board.recv().await, Err(broadcast::error::RecvError::Lagged(_))));
    assert!(board.recv().await.is_ok(), "then reads what is left");
}

#[tokio::test]
async fn scans_of_an_activity_nobody_watches_are_not_gathered() {
    let live = LiveEvents::in_process();
    live.publish_scan(9, seen(Direction::In, Utc::now()));
    assert!(live.inner.gathering.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn a_closed_boards_channel_is_pruned_when_the_next_board_opens() {
    let live = LiveEvents::in_process();
    drop(live.watch(7).await.expect("watches"));
    let _board = live.watch(8).await.expect("watches");
    assert_eq!(live.inner.watching(), HashSet::from([8]));
    assert_eq!(live.inner.boards.lock().expect("lock").len(), 1);
}

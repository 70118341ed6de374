//! Pacing: the interval and per-minute cap between sends, the global hourly cap, and an
//! account held back by a rate limit.

use std::time::Duration;

use domain::{pacing::Rules, status::RunStatus};
use testkit::TestDb;
use worker::provider::sim::Fault;

use super::harness::*;

#[tokio::test]
async fn pacing_holds_the_interval_and_the_per_minute_cap_in_the_simulators_timestamps() {
    let test = TestDb::new().await;
    let data = tempfile::tempdir().unwrap();
    let rules = Rules {
        min_interval: Duration::from_secs(3),
        jitter: Duration::from_secs(1),
        per_minute: 5,
        per_hour_global: 5000,
    };
    let h = Harness::start(&test, data.path(), rules).await;
    let reminder = h
        .create(h.input("Paced", local(8, 1), &(0..12).collect::<Vec<_>>()))
        .await;
    h.clock.set(at(8, 1, 0));
    h.sent_count(1).await;
    let run = h
        .tick_until_run(
            reminder.id,
            at(8, 1, 0),
            chrono::Duration::milliseconds(250),
            |s| s != RunStatus::Running,
        )
        .await;
    assert_eq!(run.status, RunStatus::Success);
    let times: Vec<_> = h
        .sim
        .sent(h.account_id)
        .await
        .unwrap()
        .iter()
        .map(|m| m.sent_at)
        .collect();
    assert_eq!(times.len(), 12);
    domain::pacing::check(&times, &rules).expect("sends respect the pacing rules");
    // Five a minute: the 6th and the 11th each open a new minute.
    assert!(
        times[5] - times[0] >= chrono::Duration::seconds(60),
        "{times:?}"
    );
    assert!(
        times[10] - times[5] >= chrono::Duration::seconds(60),
        "{times:?}"
    );
    h.stop().await;
}

#[tokio::test]
async fn the_global_hourly_cap_holds_sends_for_the_next_hour() {
    let test = TestDb::new().await;
    let data = tempfile::tempdir().unwrap();
    let rules = Rules {
        per_hour_global: 4,
        ..pacing_off()
    };
    let h = Harness::start(&test, data.path(), rules).await;
    let reminder = h
        .create(h.input("Capped", local(8, 1), &(0..6).collect::<Vec<_>>()))
        .await;
    h.clock.set(at(8, 1, 0));
    h.wait("four sends", || async {
        (h.sim.sent(h.account_id).await.unwrap().len() == 4).then_some(())
    })
    .await;
    h.tick_until(at(9, 0, 0), chrono::Duration::minutes(1))
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        h.sim.sent(h.account_id).await.unwrap().len(),
        4,
        "the cap holds for an hour"
    );
    h.tick_until_run(
        reminder.id,
        at(8, 1, 0),
        chrono::Duration::seconds(5),
        |s| s == RunStatus::Success,
    )
    .await;
    assert_eq!(
        h.settled_run(reminder.id, at(8, 1, 0)).await.status,
        RunStatus::Success
    );
    let times: Vec<_> = h
        .sim
        .sent(h.account_id)
        .await
        .unwrap()
        .iter()
        .map(|m| m.sent_at)
        .collect();
    assert!(
        times[4] - times[0] >= chrono::Duration::hours(1),
        "{times:?}"
    );
    h.stop().await;
}

#[tokio::test]
async fn a_rate_limit_holds_the_account_back_before_its_next_send() {
    let test = TestDb::new().await;
    let data = tempfile::tempdir().unwrap();
    let h = Harness::start(&test, data.path(), pacing_off()).await;
    h.sim
        .inject(h.account_id, Fault::RateLimit { count: 1 })
        .unwrap();
    let reminder = h.create(h.input("Limited", local(8, 25), &[0, 1])).await;
    h.clock.set(at(8, 25, 0));
    let run = h
        .tick_until_run(
            reminder.id,
            at(8, 25, 0),
            chrono::Duration::seconds(1),
            |s| s != RunStatus::Running,
        )
        .await;
    assert_eq!(run.status, RunStatus::Success);
    let sent = h.sim.sent(h.account_id).await.unwrap();
    assert_eq!(sent.len(), 2);
    assert!(
        sent.iter().all(|m| m.sent_at >= at(8, 26, 0)),
        "nothing went out during the minute's hold: {sent:?}"
    );
    let limited = h
        .targets(run.id)
        .await
        .into_iter()
        .find(|t| t.group_jid == h.groups[0].jid)
        .unwrap();
    assert_eq!(limited.attempts, 2);
    h.stop().await;
}

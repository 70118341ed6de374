//! Leases on the test engine: a lease is taken by one holder at a time, lapses after its
//! lifetime and then goes to a successor under a new epoch; the fence of a holder that lost its
//! lease no longer holds; renewal keeps only what is still one's own; released leases go at
//! once; the fair share divides the accounts among live workers; and the System page's view
//! names only the asking operator's accounts.

use std::time::Duration;

use domain::status::AccountStatus;
use entity::leases as lease_rows;
use sea_orm::{EntityTrait, QueryFilter, QuerySelect};
use service::leases::{self, Fence, Timing};
use testkit::TestDb;

const SHORT: Duration = Duration::from_millis(800);

fn short() -> Timing {
    Timing::with_ttl(SHORT)
}

fn long() -> Timing {
    Timing::with_ttl(Duration::from_secs(60))
}

/// Whether `fence` holds, asked the way claims ask it.
async fn holds(test: &TestDb, fence: &Fence) -> bool {
    let found = lease_rows::Entity::find()
        .select_only()
        .column(lease_rows::Column::Name)
        .filter(fence.holds(test.db.get_database_backend()))
        .into_tuple::<String>()
        .one(&test.db)
        .await
        .unwrap();
    found.is_some()
}

async fn with_accounts(n: usize) -> (TestDb, i64, Vec<i64>) {
    let test = TestDb::new().await;
    let operator = testkit::seed::operator(&test.db, 5001, "UTC").await;
    let mut ids = Vec::new();
    for i in 0..n {
        let label = format!("Line {i}");
        ids.push(
            testkit::seed::account(&test.db, operator.id, &label, AccountStatus::Connected)
                .await
                .id,
        );
    }
    leases::keep_rows(&test.db).await.unwrap();
    (test, operator.id, ids)
}

#[tokio::test]
async fn a_lease_has_one_holder_and_a_lapsed_one_goes_to_a_successor_under_a_new_epoch() {
    let (test, _, ids) = with_accounts(1).await;
    let name = leases::account(ids[0]);
    let first = leases::acquire(&test.db, &name, "a/1", short())
        .await
        .unwrap()
        .expect("a free lease is taken");
    assert_eq!(
        leases::acquire(&test.db, &name, "b/1", short())
            .await
            .unwrap(),
        None,
        "a held lease is refused"
    );
    let old = Fence {
        lease: name.clone(),
        holder: "a/1".into(),
        epoch: first,
    };
    assert!(holds(&test, &old).await);

    tokio::time::sleep(SHORT + Duration::from_millis(400)).await;
    assert!(
        !holds(&test, &old).await,
        "a lapsed lease fences its holder out"
    );
    let second = leases::acquire(&test.db, &name, "b/1", short())
        .await
        .unwrap()
        .expect("a lapsed lease is taken over");
    assert_eq!(second, first + 1);
    // The old holder's renewal finds nothing: it must stop what the lease ran.
    let old_held = [(name.clone(), first)];
    assert!(
        leases::renew(&test.db, "a/1", &old_held, short())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(!holds(&test, &old).await);
    let new = Fence {
        holder: "b/1".into(),
        epoch: second,
        ..old
    };
    assert!(holds(&test, &new).await);
    let held = [(name.clone(), second)];
    assert_eq!(
        leases::renew(&test.db, "b/1", &held, short())
            .await
            .unwrap(),
        held.to_vec()
    );
}

#[tokio::test]
async fn only_what_the_holder_runs_is_renewed_and_the_rest_it_holds_is_released() {
    let (test, _, ids) = with_accounts(2).await;
    let (runs, stray) = (leases::account(ids[0]), leases::account(ids[1]));
    let epoch = leases::acquire(&test.db, &runs, "a/1", short())
        .await
        .unwrap()
        .unwrap();
    // Taken, but the answer was lost (or kept through an outage): the holder does not run it.
    leases::acquire(&test.db, &stray, "a/1", short())
        .await
        .unwrap()
        .unwrap();
    let held = [(runs.clone(), epoch)];
    assert_eq!(
        leases::renew(&test.db, "a/1", &held, short())
            .await
            .unwrap(),
        held.to_vec(),
        "the stray is not renewed"
    );
    assert_eq!(
        leases::release_strays(&test.db, "a/1", std::slice::from_ref(&runs))
            .await
            .unwrap(),
        1
    );
    assert!(
        leases::acquire(&test.db, &stray, "b/1", short())
            .await
            .unwrap()
            .is_some(),
        "a peer takes the stray at once"
    );
    assert!(
        leases::acquire(&test.db, &runs, "b/1", short())
            .await
            .unwrap()
            .is_none(),
        "what the holder runs stays its own"
    );
}

#[tokio::test]
async fn a_released_lease_goes_at_once_and_only_its_holder_can_release_it() {
    let (test, _, ids) = with_accounts(1).await;
    let name = leases::account(ids[0]);
    let epoch = leases::acquire(&test.db, &name, "a/1", long())
        .await
        .unwrap()
        .unwrap();
    assert!(
        !leases::release(&test.db, &name, "b/1", epoch)
            .await
            .unwrap()
    );
    assert!(
        !leases::release(&test.db, &name, "a/1", epoch + 1)
            .await
            .unwrap()
    );
    assert!(
        leases::release(&test.db, &name, "a/1", epoch)
            .await
            .unwrap()
    );
    assert_eq!(
        leases::acquire(&test.db, &name, "b/1", long())
            .await
            .unwrap(),
        Some(epoch + 1)
    );
}

#[tokio::test]
async fn the_fair_share_divides_the_accounts_among_live_workers_rounded_up() {
    let (test, _, _) = with_accounts(7).await;
    let started = chrono::Utc::now();
    leases::worker_seen(&test.db, "a/1", "a", "1.0.0", started)
        .await
        .unwrap();
    assert_eq!(leases::fair_share(&test.db, long()).await.unwrap(), 7);
    leases::worker_seen(&test.db, "b/1", "b", "1.0.0", started)
        .await
        .unwrap();
    assert_eq!(leases::fair_share(&test.db, long()).await.unwrap(), 4);
    // Every operator's accounts count; the singleton leases do not.
    let others = testkit::seed::operator(&test.db, 5002, "UTC").await;
    testkit::seed::account(&test.db, others.id, "Theirs", AccountStatus::Unpaired).await;
    leases::keep_rows(&test.db).await.unwrap();
    assert_eq!(leases::fair_share(&test.db, long()).await.unwrap(), 4);
    leases::worker_stopped(&test.db, "b/1").await.unwrap();
    assert_eq!(leases::fair_share(&test.db, long()).await.unwrap(), 8);
}

#[tokio::test]
async fn the_system_view_names_only_the_operators_own_accounts_and_those_no_worker_runs() {
    let (test, operator_id, ids) = with_accounts(2).await;
    let others = testkit::seed::operator(&test.db, 5003, "UTC").await;
    let theirs =
        testkit::seed::account(&test.db, others.id, "Secret line", AccountStatus::Connected).await;
    leases::keep_rows(&test.db).await.unwrap();
    leases::worker_seen(&test.db, "w/1", "w", "1.2.3", chrono::Utc::now())
        .await
        .unwrap();
    for name in [
        leases::account(ids[0]),
        leases::account(theirs.id),
        leases::TELEGRAM.to_owned(),
    ] {
        leases::acquire(&test.db, &name, "w/1", long())
            .await
            .unwrap()
            .unwrap();
    }
    let (workers, unheld) = leases::coverage(&test.db, operator_id, long())
        .await
        .unwrap();
    assert_eq!(workers.len(), 1);
    let w = &workers[0];
    assert_eq!((w.name.as_str(), w.version.as_str()), ("w", "1.2.3"));
    assert_eq!(w.accounts, 2, "every account it runs is counted");
    assert_eq!(
        w.own_accounts,
        vec!["Line 0".to_owned()],
        "only yours by name"
    );
    assert_eq!(w.jobs, vec![leases::TELEGRAM.to_owned()]);
    assert_eq!(unheld, vec!["Line 1".to_owned()]);
}

//! Deleting an account logs it out before its keys are wiped, connecting briefly if it is offline.

use domain::{bus::Command, status::AccountStatus};
use worker::provider::StartMode;

use crate::{Call, Harness, account, give_keys};

#[tokio::test]
async fn delete_logs_out_before_wiping_keys() {
    let h = Harness::start().await;
    let id = h.account("Yoga").await;
    let key = h.pair_connected(id, "15550000006").await;

    assert!(
        service::accounts::delete(&h.db.db, service::audit::Actor::Operator, h.operator_id, id)
            .await
            .unwrap()
    );
    h.run(Command::Delete { account_id: id }).await;

    assert!(h.script.calls().contains(&Call::Logout {
        generation: key.generation,
        had_keys: true
    }));
    assert!(!h.keys(id).await);
}

#[tokio::test]
async fn delete_of_an_offline_account_connects_briefly_to_log_out() {
    let h = Harness::start_after(|db, operator_id| async move {
        let id = account(&db, operator_id, "Dormant", AccountStatus::LoggedOut, None).await;
        give_keys(&db, id).await;
    })
    .await;
    let id = service::accounts::list(&h.db.db, h.operator_id)
        .await
        .unwrap()[0]
        .id;
    *h.script.auto_connect.lock().unwrap() = Some("15550000007".into());
    assert!(
        h.script.starts().is_empty(),
        "a logged-out account is not resumed"
    );

    service::accounts::delete(&h.db.db, service::audit::Actor::Operator, h.operator_id, id)
        .await
        .unwrap();
    h.run(Command::Delete { account_id: id }).await;

    let calls = h.script.calls();
    assert!(
        matches!(calls[0], Call::Start(_, StartMode::Resume)),
        "{calls:?}"
    );
    assert!(
        calls
            .iter()
            .any(|c| matches!(c, Call::Logout { had_keys: true, .. })),
        "{calls:?}"
    );
    assert!(!h.keys(id).await);
}

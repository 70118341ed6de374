//! Account names: one per operator regardless of case, found by any casing.

use domain::{account::AccountLabel, status::Provider};
use service::{
    accounts::{self, AddError},
    audit::Actor,
};
use testkit::{TestDb, seed};

fn label(name: &str) -> AccountLabel {
    AccountLabel::parse(name).unwrap()
}

#[tokio::test]
async fn a_name_that_differs_only_in_case_is_refused_naming_the_account_it_matches() {
    let test = TestDb::new().await;
    let db = &test.db;
    let me = seed::operator(db, 1001, "UTC").await.id;
    let other = seed::operator(db, 1002, "UTC").await.id;
    let add = |operator_id, name: &'static str| async move {
        accounts::add(
            db,
            Actor::Operator,
            operator_id,
            &label(name),
            Provider::Sim,
        )
        .await
    };
    add(me, "Shop").await.unwrap();
    add(me, "Äpfel").await.unwrap();

    for (name, existing) in [("SHOP", "Shop"), ("shop", "Shop"), ("äPFEL", "Äpfel")] {
        match add(me, name).await {
            Err(AddError::Taken(found)) => assert_eq!(found, existing, "{name}"),
            other => panic!("{name}: {other:?}"),
        }
    }
    // Another operator's names are their own.
    add(other, "shop").await.unwrap();

    let found = accounts::find_by_label(db, me, &label("sHoP"))
        .await
        .unwrap();
    assert_eq!(found.map(|a| a.label).as_deref(), Some("Shop"));
    let found = accounts::find_by_label(db, me, &label("äpfel"))
        .await
        .unwrap();
    assert_eq!(found.map(|a| a.label).as_deref(), Some("Äpfel"));
    assert_eq!(accounts::list(db, me).await.unwrap().len(), 2);
}

#[tokio::test]
async fn of_two_adds_racing_with_one_name_in_two_casings_one_wins() {
    let test = TestDb::new().await;
    let db = &test.db;
    let me = seed::operator(db, 1001, "UTC").await.id;
    for round in 0..10 {
        let (upper, lower) = (format!("BAKERY {round}"), format!("bakery {round}"));
        let (upper, lower) = (label(&upper), label(&lower));
        let (a, b) = tokio::join!(
            accounts::add(db, Actor::Operator, me, &upper, Provider::Sim),
            accounts::add(db, Actor::Operator, me, &lower, Provider::Sim),
        );
        assert!(
            a.is_ok() != b.is_ok(),
            "round {round}: exactly one is added: {a:?} {b:?}"
        );
        let refused = if a.is_err() { a } else { b };
        assert!(matches!(refused, Err(AddError::Taken(_))), "{refused:?}");
    }
    assert_eq!(accounts::list(db, me).await.unwrap().len(), 10);
}

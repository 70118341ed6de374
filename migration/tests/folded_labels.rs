//! Upgrading to names unique regardless of case: accounts whose names already differ only in
//! case are told apart, and from then on the database refuses a second "shop" beside "Shop".

use domain::status::{AccountStatus, Provider};
use entity::whatsapp_accounts;
use migration::{Migrator, MigratorTrait};
use sea_orm::{ActiveModelTrait, EntityTrait, QueryOrder, Set, SqlErr};
use testkit::{TestDb, seed};

const MIGRATION: &str = "m20261209_000017_folded_labels";

#[tokio::test]
async fn names_that_differ_only_in_case_are_told_apart_then_refused() {
    let test = TestDb::empty().await;
    let db = &test.db;
    let before = Migrator::migrations()
        .iter()
        .position(|m| m.name() == MIGRATION)
        .expect("the migration is registered");
    Migrator::up(db, Some(before.try_into().unwrap()))
        .await
        .unwrap();
    let me = seed::operator(db, 1001, "UTC").await.id;
    let other = seed::operator(db, 1002, "UTC").await.id;
    for (operator_id, label) in [(me, "Shop"), (me, "shop"), (me, "Bakery"), (other, "SHOP")] {
        seed::account(db, operator_id, label, AccountStatus::Unpaired).await;
    }

    Migrator::up(db, None).await.unwrap();

    let names: Vec<(i64, String)> = whatsapp_accounts::Entity::find()
        .order_by_asc(whatsapp_accounts::Column::Id)
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|a| (a.operator_id, a.label))
        .collect();
    assert_eq!(
        names,
        [
            (me, "Shop".to_owned()),
            (me, "shop (2)".to_owned()),
            (me, "Bakery".to_owned()),
            (other, "SHOP".to_owned()),
        ]
    );
    for label in ["BAKERY", "shop (2)", "SHOP"] {
        let now = chrono::Utc::now();
        let refused = whatsapp_accounts::ActiveModel {
            operator_id: Set(me),
            label: Set(label.into()),
            provider: Set(Provider::Sim),
            status: Set(AccountStatus::Unpaired),
            session_generation: Set(0),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await
        .expect_err(label);
        assert!(
            matches!(
                refused.sql_err(),
                Some(SqlErr::UniqueConstraintViolation(_))
            ),
            "{label}: {refused}"
        );
    }
    // Another operator's "Bakery" is theirs to have.
    seed::account(db, other, "bakery", AccountStatus::Unpaired).await;

    // Rolled back to before it (with whatever came after it), the old index is back.
    let since = Migrator::migrations().len() - before;
    Migrator::down(db, Some(since.try_into().unwrap()))
        .await
        .unwrap();
    seed::account(db, me, "BAKERY", AccountStatus::Unpaired).await;
}

//! Calendar links on the test engine: one per operator, shown once and stored as a hash; a new
//! one revokes the old; a revoked link, a malformed one and a disabled operator's read as none.

use domain::status::AccountStatus;
use entity::{audit_log, calendar_feeds, operators};
use runtime::config::PublicUrl;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, Set};
use service::{audit::Actor, calendar};
use testkit::{TestDb, seed};

/// The file name a link ends in (`<token>.ics`).
fn file_of(url: &str) -> &str {
    url.rsplit('/').next().unwrap()
}

#[tokio::test]
async fn a_link_reads_as_its_operator_until_replaced_or_revoked() {
    let test = TestDb::new().await;
    let db = &test.db;
    let me = seed::operator(db, 4001, "UTC").await.id;
    let other = seed::operator(db, 4002, "UTC").await.id;
    seed::account(db, me, "Bakery", AccountStatus::Connected).await;
    let public = PublicUrl::parse("https://herald.example/").unwrap();
    assert_eq!(calendar::find(db, me).await.unwrap(), None);

    let first = calendar::create(db, Actor::Operator, me, &public)
        .await
        .unwrap();
    assert!(
        first.starts_with("https://herald.example/calendar/"),
        "{first}"
    );
    assert!(first.ends_with(".ics"));
    let theirs = calendar::create(db, Actor::Operator, other, &public)
        .await
        .unwrap();
    // Only the hash is kept: the token itself appears nowhere in the table.
    let rows = calendar_feeds::Entity::find().all(db).await.unwrap();
    assert_eq!(rows.len(), 2);
    let token = file_of(&first).trim_end_matches(".ics");
    assert!(rows.iter().all(|row| !row.token_hash.contains(token)));

    assert_eq!(
        calendar::reader(db, file_of(&first)).await.unwrap(),
        Some(me)
    );
    assert_eq!(
        calendar::reader(db, file_of(&theirs)).await.unwrap(),
        Some(other)
    );
    let feed = calendar::find(db, me).await.unwrap().unwrap();
    assert!(feed.last_read_at.is_some(), "a read is noted");
    for malformed in ["", ".ics", "x.ics", token, "../../etc/passwd.ics"] {
        assert_eq!(
            calendar::reader(db, malformed).await.unwrap(),
            None,
            "{malformed:?}"
        );
    }

    // A new link revokes the old one.
    let second = calendar::create(db, Actor::Operator, me, &public)
        .await
        .unwrap();
    assert_ne!(second, first);
    assert_eq!(calendar::reader(db, file_of(&first)).await.unwrap(), None);
    assert_eq!(
        calendar::reader(db, file_of(&second)).await.unwrap(),
        Some(me)
    );

    // Revoked, it is gone; revoking again finds nothing; the other operator's link still works.
    assert!(calendar::revoke(db, Actor::Operator, me).await.unwrap());
    assert!(!calendar::revoke(db, Actor::Operator, me).await.unwrap());
    assert_eq!(calendar::reader(db, file_of(&second)).await.unwrap(), None);
    assert_eq!(calendar::find(db, me).await.unwrap(), None);
    assert_eq!(
        calendar::reader(db, file_of(&theirs)).await.unwrap(),
        Some(other)
    );

    // An operator taken off the whitelist loses their feed with their access.
    let mut row = operators::Entity::find_by_id(other)
        .one(db)
        .await
        .unwrap()
        .unwrap()
        .into_active_model();
    row.disabled_at = Set(Some(chrono::Utc::now()));
    row.update(db).await.unwrap();
    assert_eq!(calendar::reader(db, file_of(&theirs)).await.unwrap(), None);

    let actions: Vec<String> = audit_log::Entity::find()
        .filter(audit_log::Column::OperatorId.eq(me))
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|entry| entry.action)
        .collect();
    assert_eq!(
        actions,
        [
            "calendar_feed.created",
            "calendar_feed.created",
            "calendar_feed.revoked"
        ]
    );
}

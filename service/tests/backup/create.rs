//! Taking a backup: never of an in-memory database, and consistent while Herald writes.

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use entity::operators;
use runtime::config::DatabaseUrl;
use sea_orm::{EntityTrait, PaginatorTrait};
use testkit::{TestDb, seed};

use crate::{Tool, says, tree};

#[tokio::test]
async fn create_refuses_an_in_memory_database() {
    let data = tempfile::tempdir().unwrap();
    let refused = Tool::new("sqlite::memory:", data.path()).refuses(&["create"]);
    says(&refused, "DATABASE_URL is an in-memory SQLite database");
    assert!(tree(data.path()).is_empty(), "nothing written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_herald_writes_is_consistent() {
    let test = TestDb::sqlite().await;
    let data = tempfile::tempdir().unwrap();
    let tool = Tool::new(test.url.expose(), data.path());
    let stop = Arc::new(AtomicBool::new(false));
    let writer = tokio::spawn({
        let (db, stop) = (test.db.clone(), stop.clone());
        async move {
            for id in 1.. {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                seed::operator(&db, id, "UTC").await;
            }
        }
    });
    let db = &test.db;
    let count = &move || async move { operators::Entity::find().count(db).await.unwrap() };
    testkit::eventually("writes", move || async move {
        (count().await >= 20).then_some(())
    })
    .await;

    let before = count().await;
    let archive = tokio::task::spawn_blocking(move || tool.create(None))
        .await
        .unwrap();
    let after = count().await;
    stop.store(true, Ordering::Relaxed);
    writer.await.unwrap();
    assert!(after > before, "writes went on while the backup ran");

    // Restored onto a fresh machine (no database yet, so no safety backup): the rows of one
    // moment while the writes went on.
    let fresh = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/db/herald.db", fresh.path().display());
    let tool = Tool::new(&url, &fresh.path().join("data"));
    says(&tool.restore(&archive), "no safety backup needed");
    let db = service::database::connect(&DatabaseUrl::parse(&url).unwrap())
        .await
        .unwrap();
    let restored = operators::Entity::find().count(&db).await.unwrap();
    assert!(
        (before..=after).contains(&restored),
        "{before} <= {restored} <= {after}"
    );
}

//! Server and worker start together on a new SQLite file: both connect and migrate, and neither
//! may fail because the other holds the file.

use runtime::config::DatabaseUrl;
use service::database;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn processes_starting_together_on_a_new_sqlite_file_all_start() {
    for round in 0..30 {
        let dir = tempfile::tempdir().unwrap();
        let url = DatabaseUrl::parse(&format!(
            "sqlite://{}/herald.db?mode=rwc",
            dir.path().display()
        ))
        .unwrap();
        let starts: Vec<_> = (0..4)
            .map(|_| {
                let url = url.clone();
                tokio::spawn(async move { database::connect_and_migrate(&url).await.map(|_| ()) })
            })
            .collect();
        for start in starts {
            if let Err(e) = start.await.unwrap() {
                panic!("round {round}: a start failed: {e}");
            }
        }
    }
}

//! A run's own page shows the message that run sent — its own copy, taken when it fired — not
//! the reminder's message as edited since.

mod common;

use chrono::Utc;
use common::TestServer;
use domain::status::{MessageKind, RunStatus};
use entity::{reminder_run_parts, reminder_runs};
use reqwest::StatusCode;
use sea_orm::{ActiveModelTrait, Set};
use service::operators;

#[tokio::test]
async fn a_runs_page_shows_the_message_it_sent() {
    let server = TestServer::start().await;
    let db = &server.db.db;
    let operator_id = operators::active(db).await.unwrap()[0].id;
    let now = Utc::now();
    let run = reminder_runs::ActiveModel {
        reminder_name: Set("Choir practice".into()),
        operator_id: Set(Some(operator_id)),
        occurrence_at: Set(now),
        status: Set(RunStatus::Success),
        started_at: Set(Some(now)),
        finished_at: Set(Some(now)),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
    for (position, body) in ["Practice at 7", "Bring the new scores"].iter().enumerate() {
        reminder_run_parts::ActiveModel {
            run_id: Set(run.id),
            position: Set(i32::try_from(position).unwrap()),
            kind: Set(MessageKind::Text),
            body: Set(Some((*body).to_owned())),
            media_file_id: Set(None),
            ..Default::default()
        }
        .insert(db)
        .await
        .unwrap();
    }

    let operator = server.signed_in(None).await;
    let response = operator
        .get(server.url(&format!("/reminders/runs/{}", run.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    let message = html
        .split("data-testid=\"run-message\"")
        .nth(1)
        .expect("the page shows the run's message");
    let first = message.find("Practice at 7").expect("the first part");
    let second = message
        .find("Bring the new scores")
        .expect("the second part");
    assert!(first < second, "in the order they were sent");
}

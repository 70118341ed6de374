//! What delivery records on a reminder: however many processes fire one occurrence at once (a
//! lease changing hands, a worker paused past its lease waking up), exactly one moves the
//! reminder on; the others change nothing.

use domain::status::ReminderStatus;
use service::{database, reminders::firing};

use super::*;

#[tokio::test]
async fn of_processes_racing_to_fire_one_occurrence_exactly_one_moves_the_reminder_on() {
    let test = TestDb::new().await;
    let operator = testkit::seed::operator(&test.db, 7001, "UTC").await;
    let account =
        testkit::seed::account(&test.db, operator.id, "Bakery", AccountStatus::Connected).await;
    let due = utc(2031, 3, 3, 9, 0);
    let reminder = testkit::seed::reminder(
        &test.db,
        operator.id,
        account.id,
        "Standup",
        ReminderStatus::Active,
        due,
    )
    .await;
    let mut active: reminder_rows::ActiveModel = reminder.into();
    active.next_fire_at = Set(Some(due));
    let reminder = active.update(&test.db).await.unwrap();

    // Each racer on its own pool, as separate worker processes would be.
    let race = |next_day: u32| {
        let url = test.url.clone();
        async move {
            let db = database::connect(&url).await.unwrap();
            let next = utc(2031, 3, next_day, 9, 0);
            firing::move_on(&db, reminder.id, due, Some(next), due, now())
                .await
                .unwrap()
        }
    };
    let won = futures_util::future::join_all((4..10).map(race)).await;
    assert_eq!(won.iter().filter(|w| **w).count(), 1, "{won:?}");

    let row = reminder_rows::Entity::find_by_id(reminder.id)
        .one(&test.db)
        .await
        .unwrap()
        .unwrap();
    let winner = 4 + won.iter().position(|w| *w).unwrap() as u32;
    assert_eq!(row.next_fire_at, Some(utc(2031, 3, winner, 9, 0)));
    assert_eq!(row.last_fired_at, Some(due));
}

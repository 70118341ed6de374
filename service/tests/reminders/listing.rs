//! The reminders list, a page at a time.

use domain::status::ReminderStatus;
use service::{
    audit::Actor,
    reminders::{self, OverviewPage, ReminderInput},
};

use crate::{World, now};

#[tokio::test]
async fn the_list_pages_newest_first_and_counts_only_the_operators_own() {
    let w = World::new().await;
    let mut made = Vec::new();
    for n in 0..7 {
        let input = ReminderInput {
            name: format!("Reminder {n}"),
            ..w.one_off()
        };
        made.push(w.create(&input).await.id);
    }
    // Another operator's reminders are neither listed nor counted.
    reminders::create(
        w.db(),
        Actor::Operator,
        w.other.id,
        &ReminderInput {
            account_id: w.other.account,
            group_ids: w.other.groups.to_vec(),
            parts: vec![crate::text("theirs")],
            ..w.one_off()
        },
        now(),
    )
    .await
    .unwrap();
    reminders::pause(w.db(), Actor::Operator, w.me.id, made[1], None, now())
        .await
        .unwrap();
    let w = &w;
    let page = |status, number| async move {
        let OverviewPage {
            rows,
            page,
            pages,
            total,
        } = reminders::overview_page(w.db(), w.me.id, status, number, 3)
            .await
            .unwrap();
        let ids: Vec<i64> = rows.iter().map(|row| row.reminder.id).collect();
        (ids, page, pages, total)
    };
    // All made in the same instant: the later id is the newer.
    assert_eq!(
        page(None, 1).await,
        (vec![made[6], made[5], made[4]], 1, 3, 7)
    );
    assert_eq!(page(None, 3).await, (vec![made[0]], 3, 3, 7));
    // Past the last page reads as the last; page 0 as the first.
    assert_eq!(page(None, 9).await, (vec![made[0]], 3, 3, 7));
    assert_eq!(page(None, 0).await.1, 1);
    assert_eq!(
        page(Some(ReminderStatus::Paused), 1).await,
        (vec![made[1]], 1, 1, 1)
    );
    // Nothing to list is one empty page.
    assert_eq!(
        page(Some(ReminderStatus::Failed), 2).await,
        (vec![], 1, 1, 0)
    );
}

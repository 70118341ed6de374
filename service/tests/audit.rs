//! Reading the audit log on the test engine: an operator's entries newest first in pages of 50,
//! filters by action and by target, which entries without an operator everyone reads, the
//! filter's choices, masked secrets — and the time zone change that writes an entry.

use chrono::Utc;
use domain::timezone::TimeZone;
use entity::{audit_log, operators};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, Set,
};
use serde_json::json;
use service::audit::{self, Actor, Entry, Filter, PAGE_SIZE, TargetFilter};
use testkit::{TestDb, seed};

async fn operator(db: &DatabaseConnection, n: i64) -> i64 {
    seed::operator(db, 1000 + n, "UTC").await.id
}

async fn record(db: &DatabaseConnection, entry: Entry) {
    audit::record(db, entry).await.unwrap();
}

fn filter(action: Option<&str>, target: Option<(&str, Option<&str>)>) -> Filter {
    Filter {
        action: action.map(str::to_owned),
        target: target.map(|(kind, id)| TargetFilter {
            kind: kind.to_owned(),
            id: id.map(str::to_owned),
        }),
    }
}

/// The actions of one page, newest first.
async fn actions_listed(db: &DatabaseConnection, operator_id: i64, filter: &Filter) -> Vec<String> {
    audit::list(db, operator_id, filter, None)
        .await
        .unwrap()
        .entries
        .into_iter()
        .map(|entry| entry.action)
        .collect()
}

#[tokio::test]
async fn an_operators_entries_come_newest_first_in_pages_of_fifty() {
    let test = TestDb::new().await;
    let db = &test.db;
    let (me, other) = (operator(db, 1).await, operator(db, 2).await);
    for n in 0..120 {
        record(
            db,
            Entry::new(Actor::Operator, "account.added")
                .operator(me)
                .target("account", n),
        )
        .await;
        if n % 10 == 0 {
            record(db, Entry::new(Actor::Operator, "login").operator(other)).await;
        }
    }

    let mut seen = Vec::new();
    let mut before = None;
    let mut sizes = Vec::new();
    loop {
        let page = audit::list(db, me, &Filter::default(), before)
            .await
            .unwrap();
        sizes.push(page.entries.len());
        assert!(page.entries.iter().all(|e| e.operator_id == Some(me)));
        seen.extend(page.entries.iter().map(|e| e.id));
        match page.older {
            Some(older) => {
                assert_eq!(Some(older), page.entries.last().map(|e| e.id));
                before = Some(older);
            }
            None => break,
        }
    }
    assert_eq!(sizes, [PAGE_SIZE as usize, PAGE_SIZE as usize, 20]);
    assert!(
        seen.windows(2).all(|pair| pair[0] > pair[1]),
        "newest first"
    );
    let mine = audit_log::Entity::find()
        .filter(audit_log::Column::OperatorId.eq(me))
        .count(db)
        .await
        .unwrap();
    assert_eq!(seen.len() as u64, mine, "every entry once, none skipped");

    // An entry written while paging does not shift the older pages.
    let first = audit::list(db, me, &Filter::default(), None).await.unwrap();
    record(db, Entry::new(Actor::Operator, "logout").operator(me)).await;
    let second = audit::list(db, me, &Filter::default(), first.older)
        .await
        .unwrap();
    assert_eq!(
        second.entries.first().map(|e| e.id),
        Some(seen[PAGE_SIZE as usize])
    );
}

#[tokio::test]
async fn filters_narrow_by_action_by_target_kind_and_by_one_target() {
    let test = TestDb::new().await;
    let db = &test.db;
    let me = operator(db, 1).await;
    let entries = [
        ("reminder.created", "reminder", 12),
        ("reminder.updated", "reminder", 12),
        ("reminder.created", "reminder", 13),
        ("account.added", "account", 12),
    ];
    for (action, kind, id) in entries {
        record(
            db,
            Entry::new(Actor::Operator, action)
                .operator(me)
                .target(kind, id),
        )
        .await;
    }
    record(db, Entry::new(Actor::Operator, "login").operator(me)).await;

    assert_eq!(actions_listed(db, me, &Filter::default()).await.len(), 5);
    assert_eq!(
        actions_listed(db, me, &filter(Some("reminder.created"), None)).await,
        ["reminder.created", "reminder.created"]
    );
    assert_eq!(
        actions_listed(db, me, &filter(None, Some(("reminder", None)))).await,
        ["reminder.created", "reminder.updated", "reminder.created"]
    );
    assert_eq!(
        actions_listed(db, me, &filter(None, Some(("reminder", Some("12"))))).await,
        ["reminder.updated", "reminder.created"]
    );
    assert_eq!(
        actions_listed(
            db,
            me,
            &filter(Some("reminder.created"), Some(("reminder", Some("12"))))
        )
        .await,
        ["reminder.created"]
    );
    assert!(
        actions_listed(db, me, &filter(Some("reminder.deleted"), None))
            .await
            .is_empty()
    );
    assert!(
        actions_listed(db, me, &filter(None, Some(("account", Some("13")))))
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn entries_without_an_operator_are_shared_except_those_about_another_operator() {
    let test = TestDb::new().await;
    let db = &test.db;
    let (me, other) = (operator(db, 1).await, operator(db, 2).await);
    record(
        db,
        Entry::new(Actor::Anonymous, "login.failed")
            .detail(json!({ "reason": "expired" }))
            .client_ip("192.0.2.7"),
    )
    .await;
    record(
        db,
        Entry::new(Actor::Telegram, "telegram.refused")
            .detail(json!({ "telegram_user_id": 666, "update": "message" })),
    )
    .await;
    record(
        db,
        Entry::new(Actor::System, "operator.added").target("operator", me),
    )
    .await;
    record(
        db,
        Entry::new(Actor::System, "operator.disabled").target("operator", other),
    )
    .await;
    record(db, Entry::new(Actor::Operator, "login").operator(me)).await;
    record(
        db,
        Entry::new(Actor::Operator, "account.added")
            .operator(other)
            .target("account", 1),
    )
    .await;

    assert_eq!(
        actions_listed(db, me, &Filter::default()).await,
        [
            "login",
            "operator.added",
            "telegram.refused",
            "login.failed"
        ]
    );
    assert_eq!(
        actions_listed(db, other, &Filter::default()).await,
        [
            "account.added",
            "operator.disabled",
            "telegram.refused",
            "login.failed"
        ]
    );
    let failed = audit::list(db, me, &filter(Some("login.failed"), None), None)
        .await
        .unwrap();
    assert_eq!(
        failed.entries[0].client_ip.as_deref(),
        Some("192.0.2.7"),
        "the client's address is kept for the page"
    );
    // Another operator's entries stay out of reach through a filter too.
    assert!(
        actions_listed(db, me, &filter(None, Some(("account", Some("1")))))
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn the_filter_offers_the_actions_and_target_kinds_the_operator_can_read() {
    let test = TestDb::new().await;
    let db = &test.db;
    let (me, other) = (operator(db, 1).await, operator(db, 2).await);
    record(
        db,
        Entry::new(Actor::Operator, "reminder.created")
            .operator(me)
            .target("reminder", 1),
    )
    .await;
    record(db, Entry::new(Actor::Operator, "login").operator(me)).await;
    record(db, Entry::new(Actor::Operator, "login").operator(me)).await;
    record(
        db,
        Entry::new(Actor::Operator, "media.uploaded")
            .operator(other)
            .target("media", 1),
    )
    .await;
    record(db, Entry::new(Actor::Anonymous, "login.failed")).await;

    assert_eq!(
        audit::actions(db, me).await.unwrap(),
        ["login", "login.failed", "reminder.created"]
    );
    assert_eq!(audit::target_kinds(db, me).await.unwrap(), ["reminder"]);
    assert_eq!(
        audit::actions(db, other).await.unwrap(),
        ["login.failed", "media.uploaded"]
    );
}

#[tokio::test]
async fn secret_fields_in_details_never_leave_the_service() {
    let test = TestDb::new().await;
    let db = &test.db;
    let me = operator(db, 1).await;
    record(
        db,
        Entry::new(Actor::System, "telegram.alert_failed")
            .operator(me)
            .detail(json!({ "kind": "run.failed", "bot_token": "123456:ABC-secret" })),
    )
    .await;
    let page = audit::list(db, me, &Filter::default(), None).await.unwrap();
    assert_eq!(
        page.entries[0].detail,
        Some(json!({ "kind": "run.failed", "bot_token": "[hidden]" }))
    );
}

#[tokio::test]
async fn a_time_zone_change_is_saved_and_audited_with_the_old_and_new_zone() {
    let test = TestDb::new().await;
    let db = &test.db;
    let me = operator(db, 1).await;
    let paris: TimeZone = "Europe/Paris".parse().unwrap();

    let saved = service::operators::set_timezone(db, Actor::Operator, me, paris)
        .await
        .unwrap()
        .expect("an active operator");
    assert_eq!(saved.timezone, "Europe/Paris");
    let stored = operators::Entity::find_by_id(me)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.timezone, "Europe/Paris");

    let changed = audit::list(
        db,
        me,
        &filter(Some("operator.timezone_changed"), None),
        None,
    )
    .await
    .unwrap();
    let [entry] = changed.entries.as_slice() else {
        panic!("one entry, got {:?}", changed.entries);
    };
    assert_eq!(entry.operator_id, Some(me));
    assert_eq!(entry.actor, "operator");
    assert_eq!(
        (entry.target_type.as_deref(), entry.target_id.as_deref()),
        (Some("operator"), Some(me.to_string().as_str()))
    );
    assert_eq!(
        entry.detail,
        Some(json!({ "from": "UTC", "to": "Europe/Paris" }))
    );

    // The same zone again changes nothing and writes nothing.
    service::operators::set_timezone(db, Actor::Operator, me, paris)
        .await
        .unwrap();
    assert_eq!(
        audit::list(
            db,
            me,
            &filter(Some("operator.timezone_changed"), None),
            None
        )
        .await
        .unwrap()
        .entries
        .len(),
        1
    );

    // A disabled operator's zone is not theirs to change any more.
    let mut disabled = stored.into_active_model();
    disabled.disabled_at = Set(Some(Utc::now()));
    disabled.update(db).await.unwrap();
    assert!(
        service::operators::set_timezone(db, Actor::Operator, me, TimeZone::UTC)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn entries_are_named_by_todays_names_of_the_readers_own_things_or_else_what_they_recorded() {
    use domain::status::{AccountStatus, ReminderStatus};
    let test = TestDb::new().await;
    let db = &test.db;
    let me = operator(db, 1).await;
    let them = operator(db, 2).await;
    let shop = seed::account(db, me, "Shop", AccountStatus::Connected)
        .await
        .id;
    let class = seed::reminder(
        db,
        me,
        shop,
        "Weekday class",
        ReminderStatus::Active,
        Utc::now(),
    )
    .await
    .id;
    let theirs_account = seed::account(db, them, "Theirs", AccountStatus::Connected)
        .await
        .id;
    let theirs = seed::reminder(
        db,
        them,
        theirs_account,
        "Secret",
        ReminderStatus::Active,
        Utc::now(),
    )
    .await
    .id;
    let entry = |kind: &'static str, id: i64, detail| {
        Entry::new(Actor::Operator, "reminder.paused")
            .operator(me)
            .target(kind, id)
            .detail(detail)
    };
    record(db, entry("reminder", class, json!({ "name": "Old name" }))).await;
    record(db, entry("reminder", 999, json!({ "name": "Deleted one" }))).await;
    record(db, entry("account", shop, json!({}))).await;
    record(db, entry("reminder", theirs, json!({}))).await;

    let page = audit::list(db, me, &filter(None, None), None)
        .await
        .unwrap();
    let names = audit::names(db, me, &page.entries).await.unwrap();
    let named: Vec<Option<String>> = page.entries.iter().rev().map(|e| names.of(e)).collect();
    assert_eq!(
        named,
        [
            Some("Weekday class".to_owned()),
            Some("Deleted one".to_owned()),
            Some("Shop".to_owned()),
            None,
        ],
        "today's name first, the recorded one for what is gone, nothing of another operator's"
    );
}

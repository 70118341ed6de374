//! Who may use the bot: outsiders are refused and audited, and /login sends a one-time link.

use entity::{commands, login_tokens};
use runtime::config::TelegramUserId;
use sea_orm::{EntityTrait, PaginatorTrait};
use service::{
    accounts,
    login_links::{self, Refusal},
    operators,
};
use testkit::TestDb;

use crate::{Harness, OPERATOR, OUTSIDER, REFUSAL, wait};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outsiders_are_refused_and_audited_and_nothing_changes() {
    let test = TestDb::new().await;
    let bot = Harness::start(&test).await;
    let account_id = bot.add("Bakery").await;
    let commands_before = commands::Entity::find().count(&bot.db).await.unwrap();

    bot.api.message(OUTSIDER, "/login");
    bot.api.message(OUTSIDER, "/pair Bakery");
    bot.api.press(OUTSIDER, &format!("pair:{account_id}"));
    bot.api
        .wait_for("answerCallbackQuery", "the refused button", |c| {
            c.params["text"] == REFUSAL
        })
        .await;
    wait("two refusal messages", || async {
        let refusals = bot
            .api
            .calls("sendMessage")
            .into_iter()
            .filter(|c| c.chat_id() == Some(OUTSIDER))
            .collect::<Vec<_>>();
        (refusals.len() == 2).then_some(refusals)
    })
    .await
    .iter()
    .for_each(|c| assert_eq!(c.text(), REFUSAL));

    let refused = bot.audit_rows("telegram.refused").await;
    assert_eq!(refused.len(), 3, "{refused:?}");
    for row in &refused {
        assert_eq!(row.actor, "telegram");
        assert_eq!(row.operator_id, None);
        assert_eq!(row.detail.as_ref().unwrap()["telegram_user_id"], OUTSIDER);
    }
    // Nothing else happened: no link, no new account, no command, nothing sent to anyone else.
    assert_eq!(
        login_tokens::Entity::find().count(&bot.db).await.unwrap(),
        0
    );
    assert_eq!(
        accounts::list(&bot.db, bot.operator_id)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        commands::Entity::find().count(&bot.db).await.unwrap(),
        commands_before
    );
    assert!(bot.api.calls("sendPhoto").is_empty());
    assert!(
        bot.api
            .calls("sendMessage")
            .iter()
            .all(|c| c.chat_id() == Some(OUTSIDER))
    );

    // Taken off the whitelist: refused at the very next message, no restart needed.
    operators::sync_whitelist(
        &bot.db,
        &[TelegramUserId(99)],
        domain::timezone::TimeZone::UTC,
    )
    .await
    .unwrap();
    bot.api.message(OPERATOR, "/login");
    bot.api
        .wait_text(OPERATOR, "the removed operator refused", |t| t == REFUSAL)
        .await;
    assert_eq!(
        login_tokens::Entity::find().count(&bot.db).await.unwrap(),
        0
    );
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_sends_a_link_the_server_redeems_exactly_once() {
    let test = TestDb::new().await;
    let bot = Harness::start(&test).await;

    bot.api.message(OPERATOR, "/login");
    let sent = bot
        .api
        .wait_text(OPERATOR, "the login link", |t| {
            t.contains("http://herald.test/login/")
        })
        .await;
    assert_eq!(
        sent.params["link_preview_options"]["is_disabled"], true,
        "a preview would make Telegram fetch the one-time link"
    );
    let token = sent
        .text()
        .split("http://herald.test/login/")
        .nth(1)
        .unwrap()
        .trim();
    let operator = login_links::redeem(&bot.db, token).await.expect("redeemed");
    assert_eq!(operator.id, bot.operator_id);
    assert!(matches!(
        login_links::redeem(&bot.db, token).await,
        Err(login_links::RedeemError::Refused(Refusal::AlreadyUsed))
    ));
    let issued = bot.audit_rows("login_link.issued").await;
    assert_eq!(issued.len(), 1);
    assert_eq!(issued[0].actor, "telegram");
    assert_eq!(issued[0].operator_id, Some(bot.operator_id));
    bot.stop().await;
}

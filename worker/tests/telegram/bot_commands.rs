//! The bot's commands: pairing by QR photo, the registered command list with hints for malformed
//! ones, and the accounts list with its buttons.

use domain::{
    account::AccountLabel,
    status::{AccountStatus, Provider},
};
use service::accounts;
use testkit::TestDb;
use worker::provider::sim::default_phone;

use crate::{Harness, OPERATOR, wait};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pair_shows_a_qr_photo_edited_on_rotation_then_connects() {
    let test = TestDb::new().await;
    let bot = Harness::start(&test).await;

    bot.api.message(OPERATOR, "/pair Bakery");
    bot.api
        .wait_text(OPERATOR, "pairing started", |t| {
            t.contains("Pairing Bakery")
        })
        .await;
    let photo = bot
        .api
        .wait_for("sendPhoto", "the QR photo", |c| {
            c.chat_id() == Some(OPERATOR)
                && c.caption()
                    .is_some_and(|t| t.starts_with("Scan with WhatsApp on Bakery — expires in "))
        })
        .await;
    assert!(photo.has_photo, "the PNG travels as a photo part");
    let photo_id = photo.message_id.unwrap();
    // The account was created on the configured provider.
    let account = accounts::find_by_label(
        &bot.db,
        bot.operator_id,
        &AccountLabel::parse("Bakery").unwrap(),
    )
    .await
    .unwrap()
    .expect("/pair created the account");
    assert_eq!(account.provider, Provider::Sim);

    let edit = bot
        .api
        .wait_for("editMessageMedia", "the rotated QR code", |c| {
            c.message_id == Some(photo_id)
        })
        .await;
    assert!(edit.has_photo, "the edit carries the new code");
    assert_eq!(edit.chat_id(), Some(OPERATOR));
    assert!(
        edit.caption()
            .is_some_and(|t| t.starts_with("Scan with WhatsApp on Bakery — expires in ")),
        "{edit:?}"
    );
    assert_eq!(edit.params["media"]["type"], "photo");
    assert_eq!(
        bot.api.calls("sendPhoto").len(),
        1,
        "rotations edit the same message"
    );

    wait("a QR code to scan", || async {
        bot.sim.scan(account.id, None).ok()
    })
    .await;
    let phone = default_phone(account.id);
    bot.api
        .wait_text(OPERATOR, "connected", |t| {
            t == format!("✅ Bakery connected as +{phone}")
        })
        .await;
    bot.api
        .wait_text(OPERATOR, "groups synced", |t| t == "Synced 5 groups")
        .await;

    // A connected account is not paired again.
    bot.api.message(OPERATOR, "/pair Bakery");
    bot.api
        .wait_text(OPERATOR, "refusal", |t| {
            t == "Bakery is already connected — /unpair it first"
        })
        .await;
    assert_eq!(
        bot.account(account.id).await.status,
        AccountStatus::Connected
    );
    let pair_requests = bot.audit_rows("account.pair_requested").await;
    assert_eq!(
        pair_requests.len(),
        1,
        "only the first /pair queued a pairing"
    );
    bot.stop().await;
}

/// `/pair <name> <phone>`: a code to enter on that phone instead of a QR photo, then connected
/// as that number.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pair_with_a_phone_number_sends_the_code_to_enter_on_that_phone() {
    let test = TestDb::new().await;
    let bot = Harness::start(&test).await;

    bot.api
        .message(OPERATOR, "/pair Tailor shop +44 7700 900123");
    bot.api
        .wait_text(OPERATOR, "pairing by code started", |t| {
            t.starts_with(
                "Added the account. Pairing Tailor shop with +447700900123: the code to enter on \
                 that phone follows.",
            )
        })
        .await;
    bot.api
        .wait_text(OPERATOR, "the code", |t| {
            t.starts_with("To link Tailor shop by phone number, in WhatsApp → Settings")
                && t.contains(" — expires in ")
        })
        .await;
    let account = accounts::find_by_label(
        &bot.db,
        bot.operator_id,
        &AccountLabel::parse("Tailor shop").unwrap(),
    )
    .await
    .unwrap()
    .expect("/pair created the account");
    // The phone enters the code.
    wait("a code to enter", || async {
        bot.sim.scan(account.id, None).ok()
    })
    .await;
    bot.api
        .wait_text(OPERATOR, "connected", |t| {
            t == "✅ Tailor shop connected as +447700900123"
        })
        .await;
    assert!(
        bot.api.calls("sendPhoto").is_empty(),
        "a code was asked for: no QR photo"
    );
    assert_eq!(
        bot.audit_rows("account.pair_code_requested").await.len(),
        1,
        "audited as a pairing by phone number"
    );
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_are_registered_and_malformed_ones_get_a_hint() {
    let test = TestDb::new().await;
    let bot = Harness::start(&test).await;

    let registered = bot
        .api
        .wait_for("setMyCommands", "the command menu", |_| true)
        .await;
    let names: Vec<&str> = registered.params["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["command"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "start",
            "help",
            "login",
            "pair",
            "unpair",
            "accounts",
            "reminders",
            "cancel"
        ]
    );

    for (sent, expected) in [
        (
            "/pair",
            "Usage: /pair <account name> [+phone number], e.g. /pair Bakery, or /pair Bakery \
             +44 7700 900123 to link by a code entered on that phone",
        ),
        (
            "/pair Bakery +44 77",
            "Phone number: write it in international form with its country code, e.g. /pair \
             Bakery +44 7700 900123",
        ),
        (
            "/unpair   ",
            "Usage: /unpair <account name>, e.g. /unpair Bakery",
        ),
        (
            "/unpair Nowhere",
            "No account called Nowhere — /accounts lists them.",
        ),
        ("/cancel", "No pairing is being followed in this chat."),
        ("/reminders", "No reminders are scheduled."),
        (
            "/frobnicate",
            "I don't know that one — /help lists what I can do.",
        ),
    ] {
        bot.api.message(OPERATOR, sent);
        bot.api.wait_text(OPERATOR, sent, |t| t == expected).await;
    }
    let long = format!("/pair {}", "x".repeat(65));
    bot.api.message(OPERATOR, &long);
    bot.api
        .wait_text(OPERATOR, "a too-long label", |t| {
            t.starts_with("Account name: use at most 64 characters")
                && t.ends_with("Usage: /pair <account name>")
        })
        .await;
    bot.api.message(OPERATOR, "/help");
    bot.api
        .wait_text(OPERATOR, "help", |t| {
            t.contains("/pair — <name>") && t.contains("/login — ")
        })
        .await;
    assert!(
        accounts::list(&bot.db, bot.operator_id)
            .await
            .unwrap()
            .is_empty()
    );
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_lists_statuses_with_buttons_that_answer() {
    let test = TestDb::new().await;
    let bot = Harness::start(&test).await;
    let bakery = bot.add("Bakery").await;
    let yoga = bot.add("Yoga").await;
    bot.pair_directly(bakery).await;

    bot.api.message(OPERATOR, "/accounts");
    let listing = bot
        .api
        .wait_text(OPERATOR, "the account list", |t| {
            t.starts_with("Your accounts:")
        })
        .await;
    let phone = default_phone(bakery);
    assert!(
        listing
            .text()
            .contains(&format!("Bakery (simulated) — 🟢 connected as +{phone}")),
        "{}",
        listing.text()
    );
    assert!(listing.text().contains("Yoga (simulated) — ⚪ not paired"));
    let buttons: Vec<(String, String)> = listing.params["reply_markup"]["inline_keyboard"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|row| row.as_array().unwrap().iter())
        .map(|b| {
            (
                b["text"].as_str().unwrap().to_owned(),
                b["callback_data"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        buttons,
        [
            ("Unpair Bakery".to_owned(), format!("unpair:{bakery}")),
            ("Pair Yoga".to_owned(), format!("pair:{yoga}")),
        ]
    );

    // Pressing "Pair Yoga" starts following its pairing in the chat.
    bot.api.press(OPERATOR, &format!("pair:{yoga}"));
    bot.api
        .wait_for("answerCallbackQuery", "the pair button", |c| {
            c.params["text"]
                .as_str()
                .is_some_and(|t| t.contains("Pairing Yoga"))
        })
        .await;
    bot.api
        .wait_for("sendPhoto", "Yoga's QR photo", |c| {
            c.caption()
                .is_some_and(|t| t.starts_with("Scan with WhatsApp on Yoga"))
        })
        .await;
    bot.api.message(OPERATOR, "/cancel");
    bot.api
        .wait_text(OPERATOR, "cancel", |t| {
            t == "Stopped following the pairing of Yoga here."
        })
        .await;

    // Pressing "Unpair Bakery" queues the unpair; the worker carries it out.
    bot.api.press(OPERATOR, &format!("unpair:{bakery}"));
    bot.api
        .wait_for("answerCallbackQuery", "the unpair button", |c| {
            c.params["text"]
                .as_str()
                .is_some_and(|t| t.starts_with("Unpairing Bakery"))
        })
        .await;
    wait("Bakery to be unpaired", || async {
        (bot.account(bakery).await.status == AccountStatus::Unpaired).then_some(())
    })
    .await;

    // A stale or forged button is answered, and does nothing.
    bot.api.press(OPERATOR, "unpair:999999");
    bot.api
        .wait_for("answerCallbackQuery", "the stale button", |c| {
            c.params["text"]
                .as_str()
                .is_some_and(|t| t.starts_with("That button no longer applies"))
        })
        .await;
    bot.stop().await;
}

//! Sends: the simulated latency, send faults, repeated message ids, and nothing sent before
//! connecting.

use std::time::Duration;

use tokio::time::Instant;

use super::{Fixture, config, next_id, text};
use crate::provider::{
    SendError, StartMode,
    sim::{Fault, default_phone, groups},
};

#[tokio::test]
async fn sends_are_recorded_after_the_simulated_latency() {
    let fixture = Fixture::new(config(0.1)).await;
    let running = fixture.connected(1, "15550100001").await;
    let groups = running.session.groups().await.expect("groups");
    let sent_at = Instant::now();
    let message_id = next_id();
    let sent = running
        .session
        .send(&groups[3].jid, &text("Choir at 7!"), &message_id)
        .await
        .expect("sent");
    assert!(
        sent_at.elapsed() >= Duration::from_millis(40),
        "400 ms × 0.1"
    );
    let id = &sent.wa_message_id;
    assert_eq!(id, message_id.as_str(), "the id it was sent as");

    let rows = fixture.sim.sent(1).await.expect("outbox readable");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].group_jid, groups[3].jid);
    assert_eq!(rows[0].body, "Choir at 7!");
    assert_eq!(rows[0].kind, domain::status::MessageKind::Text);
    assert_eq!(&rows[0].wa_message_id, id);
    assert_eq!(fixture.sim.sent(2).await.map(|rows| rows.len()), Ok(0));
}

#[tokio::test]
async fn send_faults_apply_in_order() {
    let fixture = Fixture::new(config(0.01)).await;
    let running = fixture.connected(1, "15550100001").await;
    let jid = running.session.groups().await.expect("groups")[0]
        .jid
        .clone();
    fixture
        .sim
        .inject(1, Fault::RateLimit { count: 1 })
        .expect("injected");
    fixture
        .sim
        .inject(1, Fault::FailSends { count: 2 })
        .expect("injected");
    let failure = Err(SendError::Transient("simulated send failure".to_owned()));
    assert_eq!(
        running.session.send(&jid, &text("a"), &next_id()).await,
        failure
    );
    assert_eq!(
        running.session.send(&jid, &text("b"), &next_id()).await,
        failure
    );
    assert_eq!(
        running.session.send(&jid, &text("c"), &next_id()).await,
        Err(SendError::RateLimited)
    );
    assert!(
        running
            .session
            .send(&jid, &text("d"), &next_id())
            .await
            .is_ok()
    );
    assert_eq!(
        running
            .session
            .send("120363000000000000@g.us", &text("e"), &next_id())
            .await,
        Err(SendError::Permanent(
            "this account is not a participant of that group".to_owned()
        ))
    );
    let bodies: Vec<_> = fixture
        .sim
        .sent(1)
        .await
        .expect("outbox")
        .into_iter()
        .map(|row| row.body)
        .collect();
    assert_eq!(bodies, ["d"]);
}

#[tokio::test]
async fn a_message_id_the_group_already_has_is_accepted_but_not_delivered_again() {
    let fixture = Fixture::new(config(0.01)).await;
    let running = fixture.connected(1, "15550100001").await;
    let groups = running.session.groups().await.expect("groups");
    let id = next_id();
    let first = running
        .session
        .send(&groups[0].jid, &text("Choir at 7!"), &id)
        .await
        .expect("sent");
    let again = running
        .session
        .send(&groups[0].jid, &text("Choir at 7!"), &id)
        .await
        .expect("accepted");
    assert_eq!(again, first);
    // Another group is another chat: the id is new there.
    running
        .session
        .send(&groups[1].jid, &text("Choir at 7!"), &id)
        .await
        .expect("sent");
    let rows = fixture.sim.sent(1).await.expect("outbox");
    let jids: Vec<_> = rows.iter().map(|row| row.group_jid.as_str()).collect();
    assert_eq!(jids, [groups[0].jid.as_str(), groups[1].jid.as_str()]);
    assert!(rows.iter().all(|row| row.wa_message_id == id.as_str()));
    // The repeat is dropped but counted, for checks that look for repeats.
    let repeats: Vec<_> = rows.iter().map(|row| row.repeats).collect();
    assert_eq!(repeats, [1, 0]);
}

#[tokio::test]
async fn faults_after_sending_leave_the_message_delivered() {
    let fixture = Fixture::new(config(0.01)).await;
    let running = fixture.connected(1, "15550100001").await;
    let jid = running.session.groups().await.expect("groups")[0]
        .jid
        .clone();
    fixture
        .sim
        .inject(1, Fault::LoseAnswers { count: 1 })
        .expect("injected");
    let lost = next_id();
    assert_eq!(
        running.session.send(&jid, &text("lost"), &lost).await,
        Err(SendError::Ambiguous(
            "simulated connection loss right after the write".to_owned()
        ))
    );
    fixture
        .sim
        .inject(1, Fault::FailAfterSending { count: 1 })
        .expect("injected");
    let failed = next_id();
    assert_eq!(
        running.session.send(&jid, &text("failed"), &failed).await,
        Err(SendError::Transient(
            "simulated failure after sending".to_owned()
        ))
    );
    // Sent again as the same id: acknowledged, and the group still has each once.
    assert!(
        running
            .session
            .send(&jid, &text("failed"), &failed)
            .await
            .is_ok()
    );
    let bodies: Vec<_> = fixture
        .sim
        .sent(1)
        .await
        .expect("outbox")
        .into_iter()
        .map(|row| row.body)
        .collect();
    assert_eq!(bodies, ["lost", "failed"]);
}

#[tokio::test]
async fn nothing_is_sent_or_listed_before_connecting() {
    let fixture = Fixture::new(config(0.01)).await;
    let mut pairing = fixture.start(1, 1, StartMode::Pair { phone: None }).await;
    pairing.next_qr().await;
    let jid = groups::group_set(&default_phone(1), 1)[0].jid.clone();
    assert_eq!(
        pairing.session.send(&jid, &text("hi"), &next_id()).await,
        Err(SendError::NotConnected)
    );
    assert!(pairing.session.groups().await.is_err());
}

//! Each account's simulated groups.

use std::collections::HashSet;

use runtime::config::SimConfig;

use super::{Fixture, config, next_id, text};
use crate::provider::{
    SendError,
    sim::{Fault, groups},
};

#[test]
fn group_sets_are_deterministic_and_distinct() {
    let phone = "15550100001";
    let set = groups::group_set(phone, 300);
    assert_eq!(set.len(), 300);
    assert_eq!(set, groups::group_set(phone, 300), "stable per phone");
    let jids: HashSet<_> = set.iter().map(|g| g.jid.as_str()).collect();
    let names: HashSet<_> = set.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(jids.len(), 300);
    assert_eq!(names.len(), 300);
    for group in &set {
        let digits = group.jid.strip_suffix("@g.us").expect("a group jid");
        assert_eq!(digits.len(), 18, "{}", group.jid);
        assert!(digits.starts_with("120363"), "{}", group.jid);
        assert!(digits.bytes().all(|b| b.is_ascii_digit()), "{}", group.jid);
        assert!((2..=1024).contains(&group.participants), "{group:?}");
        assert!(!group.name.is_empty());
        assert!(groups::is_member(phone, 300, &group.jid));
        assert!(!groups::is_member(phone, 0, &group.jid));
    }
    assert!(set.iter().any(|g| g.participants >= 250), "some big groups");
    assert!(set.iter().filter(|g| g.participants < 50).count() > 150);

    let other = groups::group_set("15550100002", 300);
    assert!(other.iter().all(|g| !jids.contains(g.jid.as_str())));
    assert!(!groups::is_member(phone, 300, &other[0].jid));
    assert!(!groups::is_member(phone, 300, "not a jid"));
    assert_eq!(groups::group_set(phone, 5000).len(), 1000, "capped");
}

#[tokio::test]
async fn set_group_count_shrinks_the_group_set() {
    let fixture = Fixture::new(SimConfig {
        group_count: 300,
        ..config(0.01)
    })
    .await;
    let running = fixture.connected(1, "15550100001").await;
    let before = running.session.groups().await.expect("groups");
    assert_eq!(before.len(), 300);
    fixture
        .sim
        .inject(1, Fault::SetGroupCount { count: 5 })
        .expect("injected");
    let after = running.session.groups().await.expect("groups");
    assert_eq!(after, before[..5]);
    assert!(matches!(
        running
            .session
            .send(&before[10].jid, &text("gone"), &next_id())
            .await,
        Err(SendError::Permanent(_))
    ));
}

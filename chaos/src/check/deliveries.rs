//! The simulator's outbox against the run records: nothing delivered twice, nothing recorded
//! sent and missing, nothing delivered that no run part accounts for.

use std::collections::{BTreeMap, HashMap, HashSet};

use domain::status::TargetStatus;
use entity::{reminder_run_parts, reminder_runs, sim_messages};

use super::{Findings, TEST_PREFIX, Tables};

/// How the records class one part of one target: delivered for sure, perhaps (a send whose
/// answer never came), or not at all.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Claim {
    Must,
    Maybe,
    Not,
}

/// One part of one target that a delivery may belong to, and what the records say of it.
struct Owner {
    run: i64,
    target: i64,
    position: i32,
    claim: Claim,
    status: TargetStatus,
    parts_sent: i32,
}

impl std::fmt::Display for Owner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let said = match self.claim {
            Claim::Must => "recorded sent",
            Claim::Maybe => "perhaps sent",
            Claim::Not => "recorded not sent",
        };
        write!(
            f,
            "run #{} target #{} part {} ({said}: target {}, parts_sent {})",
            self.run, self.target, self.position, self.status, self.parts_sent
        )
    }
}

/// The outbox against the run records, key by key: (account, group, body). Bodies are unique
/// per reminder version and part, so each key names one part of the runs that sent one version
/// to one group; more deliveries than such runs is a duplicate, and the count must lie between
/// what the records say was surely sent and what may have been.
pub(super) fn deliveries(t: &Tables, tests: &[String], f: &mut Findings) {
    let runs: HashMap<i64, &reminder_runs::Model> = t.runs.iter().map(|r| (r.id, r)).collect();
    let mut parts_of: HashMap<i64, Vec<&reminder_run_parts::Model>> = HashMap::new();
    for part in &t.parts {
        parts_of.entry(part.run_id).or_default().push(part);
    }
    for parts in parts_of.values_mut() {
        parts.sort_by_key(|p| p.position);
    }
    type Key = (i64, String, String);
    let mut claims: HashMap<Key, Vec<Owner>> = HashMap::new();
    for target in &t.targets {
        let Some(run) = runs.get(&target.run_id) else {
            continue;
        };
        let Some(account_id) = run.account_id else {
            continue;
        };
        for part in parts_of.get(&run.id).into_iter().flatten() {
            let claim = if target.status == TargetStatus::Sent || part.position < target.parts_sent
            {
                Claim::Must
            } else if part.position == target.parts_sent
                && matches!(target.status, TargetStatus::Unknown | TargetStatus::Sending)
            {
                Claim::Maybe
            } else {
                Claim::Not
            };
            let key = (
                account_id,
                target.group_jid.clone(),
                part.body.clone().unwrap_or_default(),
            );
            claims.entry(key).or_default().push(Owner {
                run: run.id,
                target: target.id,
                position: part.position,
                claim,
                status: target.status,
                parts_sent: target.parts_sent,
            });
        }
    }
    let mut delivered: BTreeMap<Key, Vec<&sim_messages::Model>> = BTreeMap::new();
    for message in &t.outbox {
        let key = (
            message.account_id,
            message.group_jid.clone(),
            message.body.clone(),
        );
        delivered.entry(key).or_default().push(message);
    }

    // Send tests: each at most once, in one group.
    let tests: HashSet<&str> = tests.iter().map(String::as_str).collect();
    let mut test_counts: HashMap<&str, usize> = HashMap::new();
    for message in t.outbox.iter().filter(|m| m.body.starts_with(TEST_PREFIX)) {
        *test_counts.entry(message.body.as_str()).or_default() += 1;
        if !tests.contains(message.body.as_str()) {
            f.other.push(format!(
                "the outbox has a test message nobody sent: {:?}",
                message.body
            ));
        }
    }
    for (text, n) in test_counts {
        if n > 1 {
            f.duplicates
                .push(format!("send test {text:?} was delivered {n} times"));
        }
    }

    for (key, messages) in &delivered {
        if key.2.starts_with(TEST_PREFIX) {
            continue;
        }
        let n = messages.len();
        let owners = claims.get(key).map(Vec::as_slice).unwrap_or_default();
        let must = owners.iter().filter(|o| o.claim == Claim::Must).count();
        let may = must + owners.iter().filter(|o| o.claim == Claim::Maybe).count();
        let describe = || {
            format!(
                "group {} of account #{} got {:?} {n} time(s) (message ids {:?}); runs that could own it: {:?}",
                key.1,
                key.0,
                key.2,
                messages
                    .iter()
                    .map(|m| m.wa_message_id.as_str())
                    .collect::<Vec<_>>(),
                owners.iter().map(Owner::to_string).collect::<Vec<_>>()
            )
        };
        if owners.is_empty() {
            f.other.push(format!(
                "a delivery no run part accounts for: {}",
                describe()
            ));
        } else if n > owners.len() {
            f.duplicates.push(describe());
        } else if n > may {
            f.other.push(format!(
                "delivered beyond what the run records say: {}",
                describe()
            ));
        }
    }
    for (key, owners) in &claims {
        let n = delivered.get(key).map_or(0, Vec::len);
        let must = owners.iter().filter(|o| o.claim == Claim::Must).count();
        if n < must {
            f.other.push(format!(
                "the records say {must} run(s) sent {:?} to group {} of account #{}, the simulator received it {n} time(s): {:?}",
                key.2,
                key.1,
                key.0,
                owners.iter().map(Owner::to_string).collect::<Vec<_>>()
            ));
        }
    }
}

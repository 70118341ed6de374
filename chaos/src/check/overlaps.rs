//! One account, one worker: the simulated WhatsApp records each live connection of an account
//! that another process's connection replaced (`sim_overlaps`), that is, the account running in
//! two workers at once. There must be none.

use chrono::{DateTime, Utc};

use super::{Findings, Tables};

/// Every overlap is a violation, unless the connection replaced was a process that had already
/// ended: the simulator counts a connection live for a few seconds after its last renewal, so a
/// worker killed and started again at once (SQLite's one worker) replaces its dead
/// predecessor's connection, which ran nothing any more.
pub(super) fn overlaps(t: &Tables, ended: &[(String, DateTime<Utc>)], f: &mut Findings) {
    for overlap in &t.overlaps {
        let gone = ended
            .iter()
            .find(|(instance, at)| *instance == overlap.replaced && *at <= overlap.at);
        match gone {
            Some((_, at)) => f.notes.push(format!(
                "account #{}: {} replaced the connection of {}, which had ended {} ms before",
                overlap.account_id,
                overlap.by,
                overlap.replaced,
                (overlap.at - *at).num_milliseconds()
            )),
            None => f.overlaps.push(format!(
                "account #{} ran in two workers at once: {}'s live connection was replaced by {} at {}",
                overlap.account_id, overlap.replaced, overlap.by, overlap.at
            )),
        }
    }
}

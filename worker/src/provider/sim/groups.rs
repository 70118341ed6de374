//! The groups a simulated phone is in: derived from the phone number alone, so the same phone
//! always sees the same groups (with the same jids) across sessions, restarts and accounts.

use super::SimError;
use crate::provider::GroupInfo;

/// The most groups a simulated phone can be in (`SIM_GROUP_COUNT`'s upper bound).
pub(super) const MAX_GROUPS: u32 = 1000;

/// Real group jids are 18 digits starting `120363`; ours are this, 7 phone-derived digits and a
/// 4-digit index.
const JID_PREFIX: &str = "1203630";
const JID_SUFFIX: &str = "@g.us";

/// Group names; past the end of the list they repeat with a number ("Book Club 2").
const NAMES: [&str; 64] = [
    "Morning Yoga",
    "Parents 3B",
    "Choir Sopranos",
    "Book Club",
    "Sunday Football",
    "Family",
    "Elm Street Neighbours",
    "Running Club",
    "Chess Club",
    "Garden Allotments",
    "Hiking Crew",
    "Flat 4 Housemates",
    "Office Lunch",
    "Board Game Night",
    "Cycling Saturdays",
    "Parents 2A",
    "Swim Team",
    "Church Volunteers",
    "Photography Walks",
    "Knitting Circle",
    "Climbing Gym",
    "Tennis Doubles",
    "School Run Rota",
    "Dog Walkers",
    "Jazz Band",
    "Choir Tenors",
    "Pilates Tuesdays",
    "Book Swap",
    "Class of 2009",
    "Wedding Planning",
    "Football Dads",
    "Netball Team",
    "Allotment Society",
    "Street Party",
    "Guitar Lessons",
    "Spanish Practice",
    "Camping Trip",
    "Birthday Surprise",
    "Coffee Morning",
    "Cricket Club",
    "Residents Association",
    "Scout Leaders",
    "Food Bank Volunteers",
    "Cousins",
    "Uni Friends",
    "Salsa Class",
    "Bake Sale",
    "Marathon Training",
    "Pub Quiz Team",
    "Youth Orchestra",
    "Drama Society",
    "Carpool Mornings",
    "Parents 5C",
    "Choir Altos",
    "Beach Volleyball",
    "Film Club",
    "Language Exchange",
    "Meditation Group",
    "Basketball Pickup",
    "Market Stall Rota",
    "Gym Buddies",
    "Summer Holiday",
    "Wine Tasting",
    "Model Railway",
];

/// The first `count` groups of `phone`'s set, in a stable order.
pub(super) fn group_set(phone: &str, count: u32) -> Vec<GroupInfo> {
    (0..count.min(MAX_GROUPS))
        .map(|index| GroupInfo {
            jid: group_jid(phone, index),
            name: group_name(phone, index),
            participants: participants(phone, index),
        })
        .collect()
}

/// Whether `jid` is one of the first `count` groups of `phone`'s set.
pub(super) fn is_member(phone: &str, count: u32, jid: &str) -> bool {
    let prefix = format!("{JID_PREFIX}{:07}", phone_tag(phone));
    let Some(index) = jid
        .strip_suffix(JID_SUFFIX)
        .and_then(|rest| rest.strip_prefix(&prefix))
    else {
        return false;
    };
    index.len() == 4
        && index.bytes().all(|b| b.is_ascii_digit())
        && index.parse::<u32>().is_ok_and(|index| index < count)
}

pub(super) fn validate_count(count: u32) -> Result<u32, SimError> {
    if count <= MAX_GROUPS {
        Ok(count)
    } else {
        Err(SimError::Invalid(format!(
            "a simulated phone is in at most {MAX_GROUPS} groups, got {count}"
        )))
    }
}

fn group_jid(phone: &str, index: u32) -> String {
    format!("{JID_PREFIX}{:07}{index:04}{JID_SUFFIX}", phone_tag(phone))
}

fn group_name(phone: &str, index: u32) -> String {
    let len = NAMES.len() as u64;
    // Each phone starts the list somewhere else, so two phones' groups do not look alike.
    let position = (fnv1a(phone.as_bytes()) % len + u64::from(index)) % len;
    let name = NAMES[position as usize];
    match u64::from(index) / len {
        0 => name.to_owned(),
        round => format!("{name} {}", round + 1),
    }
}

/// 2..=1024, mostly small, as real groups are.
fn participants(phone: &str, index: u32) -> u32 {
    let mut seed = phone.as_bytes().to_vec();
    seed.extend_from_slice(&index.to_le_bytes());
    let hash = fnv1a(&seed);
    let spread = hash >> 8;
    let count = match hash % 100 {
        0..70 => 2 + spread % 48,
        70..95 => 50 + spread % 200,
        _ => 250 + spread % 775,
    };
    // At most 1024 by construction.
    u32::try_from(count).unwrap_or(1024)
}

/// The seven digits a phone's group jids share.
fn phone_tag(phone: &str) -> u64 {
    fnv1a(phone.as_bytes()) % 10_000_000
}

/// FNV-1a: tiny, and unlike std's hasher guaranteed stable across Rust releases.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

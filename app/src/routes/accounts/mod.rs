//! The operator's WhatsApp accounts: the list with the add form, and one account's page with
//! pairing, groups and a test send.

mod detail;
mod groups;
mod list;

pub use detail::AccountDetailPage;
pub use list::AccountsPage;

/// "1 group", "3 groups".
fn plural(n: u64, one: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {one}s")
    }
}

//! The operator's reminders: the list, one reminder's page with its run history, one run's
//! page, and the wizard that writes and edits them.

pub(crate) mod detail;
mod drafts;
mod list;
mod run;
mod wizard;

pub use detail::ReminderDetailPage;
pub use list::RemindersPage;
pub use run::RunDetailPage;
pub use wizard::{EditWizardPage, NewReminderPage, NewWizardPage};

/// "1 group", "3 groups".
fn plural(n: usize, one: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {one}s")
    }
}

//! Server functions: the browser's only way into the server's data. Each starts with
//! [`caller::context`], so none runs without a signed-in operator, even when a page renders on
//! the server.

pub mod account;
pub mod accounts;
pub mod audit;
#[cfg(feature = "ssr")]
pub(crate) mod caller;
pub mod dashboard;
pub mod drafts;
pub mod jobs;
pub mod reminders;
pub mod system;

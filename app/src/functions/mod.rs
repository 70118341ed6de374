//! Server functions: the browser's only way into the server's data. Each starts with
//! [`caller::context`], so none runs without a signed-in operator, even when a page renders on
//! the server. Each fails with an [`AppError`].

pub mod accounts;
pub mod agenda;
pub mod audit;
pub mod calendar;
#[cfg(feature = "ssr")]
pub(crate) mod caller;
pub mod dashboard;
pub mod drafts;
mod error;
pub mod jobs;
pub mod operator;
pub mod reminders;
pub mod system;

pub use error::AppError;

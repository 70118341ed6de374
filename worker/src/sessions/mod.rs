//! WhatsApp sessions: the manager that owns them, the account rows it writes, and group sync.

mod accounts;
mod groups;
pub mod manager;

pub use manager::{Manager, Providers, SessionsHandle, Settings};

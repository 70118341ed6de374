//! WhatsApp sessions: the manager that owns them, and group sync.

mod groups;
pub mod manager;

pub use manager::{Manager, Providers, SessionsHandle, Settings};

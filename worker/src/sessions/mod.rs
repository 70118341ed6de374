//! WhatsApp sessions: the manager that owns them, the account rows it writes, group sync, and
//! the consumer that feeds it commands from the bus.

mod accounts;
pub mod consumer;
mod groups;
pub mod manager;

pub use manager::{Manager, Providers, SessionsHandle, Settings};

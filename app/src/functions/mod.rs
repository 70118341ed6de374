//! Server functions: the browser's only way into the server's data.

pub mod account;
pub mod system;

//! Each account's linked-device credentials, in the database (`wa_devices`, and for the web
//! provider its keys in `wa_keys`), so sessions survive restarts and a re-pair starts from nothing.
//! The `keystore` crate owns both tables; the worker reads and writes them only through it.

pub use keystore::{KeyStore, accounts_with_credentials};

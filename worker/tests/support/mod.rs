//! Support for the worker's integration tests.

pub mod fake_bot_api;

pub mod accounts;
pub mod dashboard;
pub mod login;
pub mod not_found;
pub mod settings;
pub mod system;

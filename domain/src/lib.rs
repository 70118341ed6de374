pub mod status;
pub mod timezone;

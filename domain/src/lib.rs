pub mod account;
pub mod bus;
pub mod pairing;
pub mod status;
pub mod timezone;

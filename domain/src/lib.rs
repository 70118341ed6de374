pub mod account;
pub mod bus;
pub mod pairing;
pub mod run;
pub mod status;
pub mod timezone;

//! What each Herald process needs around its work, shared by the server and the worker:
//! configuration read from the environment, logging, the shutdown signal, the container health
//! probe and which build is running. The database-facing rules live in `service`.

pub mod build_info;
pub mod config;
pub mod healthcheck;
pub mod shutdown;
pub mod telemetry;

//! What each Herald process needs around its work, shared by the server and the worker:
//! configuration read from the environment, logging, the shutdown signal, the container health
//! probe, which build is running and the command-line pieces both binaries share. The
//! database-facing rules live in `service`.

pub mod build_info;
pub mod cli;
pub mod config;
pub mod healthcheck;
pub mod shutdown;
pub mod telemetry;

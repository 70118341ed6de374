//! What was built: shown by both health endpoints so an operator can tell which release runs.

/// The crate version of this build.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The git commit this build came from (`unknown` outside a checkout without `HERALD_GIT_COMMIT`).
pub const COMMIT: &str = env!("HERALD_GIT_COMMIT");

/// What `--version` prints after the binary's name.
pub const VERSION_AND_COMMIT: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("HERALD_GIT_COMMIT"),
    ")"
);

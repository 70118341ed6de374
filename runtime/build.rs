//! Records the git commit Herald was built from, for `/api/health` and the worker's `/health`.
//! `HERALD_GIT_COMMIT` wins (container builds have no `.git`); otherwise ask git; else "unknown".

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=HERALD_GIT_COMMIT");
    let commit = std::env::var("HERALD_GIT_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .or_else(git_head)
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=HERALD_GIT_COMMIT={commit}");
}

fn git_head() -> Option<String> {
    let git_dir = run_git(&["rev-parse", "--absolute-git-dir"])?;
    // Rebuild when HEAD moves: a new commit rewrites the branch ref, a checkout rewrites HEAD.
    println!("cargo:rerun-if-changed={git_dir}/HEAD");
    if let Some(reference) = run_git(&["symbolic-ref", "-q", "HEAD"]) {
        println!("cargo:rerun-if-changed={git_dir}/{reference}");
    }
    run_git(&["rev-parse", "--short=12", "HEAD"])
}

fn run_git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .filter(|s| !s.is_empty())
}

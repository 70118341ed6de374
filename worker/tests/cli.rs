//! `herald-worker`'s command line as a shell user meets it: help, version, usage errors, `config
//! check`, completions, and the README's command table held to the real help.

use std::{
    path::Path,
    process::{Command, Output},
};

const BIN: &str = "herald-worker";

/// The binary in `cwd` with nothing from the developer's environment or `.env`.
fn worker(cwd: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_herald-worker"));
    command.env_clear().current_dir(cwd);
    command
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs with a configuration start-up would refuse: what must work without one still does.
fn without_valid_config(args: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    worker(dir.path())
        .env("WORKER_HEALTH_ADDR", "everywhere")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn help_and_version_need_no_configuration() {
    let output = without_valid_config(&["--help"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let help = text(&output.stdout);
    for command in ["healthcheck", "config", "completions"] {
        assert!(
            help.contains(&format!("\n  {command} ")),
            "{command}: {help}"
        );
    }
    let settings = help
        .split("\nSettings: ")
        .nth(1)
        .expect("a settings section");
    for setting in [
        "WORKER_HEALTH_ADDR [default: 127.0.0.1:8081]",
        "SEND_PER_HOUR [default: 5000]",
        "TELEGRAM_BOT_TOKEN [default: unset, bot off]",
    ] {
        assert!(settings.contains(setting), "{setting}: {settings}");
    }
    assert!(
        !settings.contains("METRICS_TOKEN") && !settings.contains("LEPTOS_SITE_ADDR"),
        "only the server uses those: {settings}"
    );
    for command in [&["healthcheck"][..], &["config", "check"], &["completions"]] {
        let output = without_valid_config(&[command, &["--help"]].concat());
        let help = text(&output.stdout);
        assert_eq!(output.status.code(), Some(0), "{command:?}");
        assert!(help.contains("Example"), "{command:?}: {help}");
    }

    let version = without_valid_config(&["--version"]);
    assert_eq!(version.status.code(), Some(0));
    assert_eq!(
        text(&version.stdout).trim(),
        format!(
            "{BIN} {} (commit {})",
            runtime::build_info::VERSION,
            runtime::build_info::COMMIT
        )
    );
}

#[test]
fn a_bad_argument_is_a_usage_error_with_status_2() {
    let dir = tempfile::tempdir().unwrap();
    for (args, expected) in [
        (&["--frobnicate"][..], "unexpected argument '--frobnicate'"),
        (&["login-link"], "unrecognized subcommand 'login-link'"),
        (&["healthcheck", "now"], "unexpected argument 'now'"),
    ] {
        let output = worker(dir.path()).args(args).output().unwrap();
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(stderr.contains("Usage: herald-worker"), "{stderr}");
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn completions_write_a_bash_script() {
    let output = without_valid_config(&["completions", "bash"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let script = text(&output.stdout);
    assert!(
        script.contains("complete -F _herald__worker -o bashdefault -o default herald-worker")
            && script.contains("healthcheck"),
        "{script}"
    );
}

const BOT_TOKEN: &str = "123456:bot-token-never-shown-1";

#[test]
fn config_check_prints_the_effective_settings_with_secrets_redacted() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".env"), "SEND_PER_MINUTE=6\n").unwrap();
    let output = worker(dir.path())
        .env("DATABASE_URL", "postgres://herald:pw-never-shown@db/herald")
        .env("TELEGRAM_BOT_TOKEN", BOT_TOKEN)
        .args(["config", "check"])
        .output()
        .unwrap();
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(
        !format!("{stdout}{}", text(&output.stderr)).contains("never-shown"),
        "{stdout}"
    );
    for line in [
        "DATABASE_URL               environment  postgres://herald:***@db/herald",
        "SEND_PER_MINUTE            .env         6",
        "SEND_PER_HOUR              default      5000",
        "TELEGRAM_BOT_TOKEN         environment  <set, redacted>",
        "TELEGRAM_API_URL           default      https://api.telegram.org/",
    ] {
        assert!(stdout.contains(&format!("  {line}\n")), "{line}:\n{stdout}");
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "only .env"
    );
}

#[test]
fn config_check_lists_every_problem_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let output = worker(dir.path())
        .env("WORKER_HEALTH_ADDR", "everywhere")
        .env("SIM_GROUP_COUNT", "0")
        .env("TELEGRAM_BOT_TOKEN", "never-shown")
        .args(["config", "check"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(!stderr.contains("never-shown") && output.stdout.is_empty());
    for name in [
        "WORKER_HEALTH_ADDR",
        "SIM_GROUP_COUNT",
        "TELEGRAM_BOT_TOKEN",
    ] {
        assert!(
            stderr.contains(&format!("\n  - {name}: ")),
            "{name}: {stderr}"
        );
    }
}

#[test]
fn the_readme_command_table_says_what_help_says() {
    let dir = tempfile::tempdir().unwrap();
    testkit::readme::assert_command_table_matches(BIN, |path| {
        let output = worker(dir.path()).args(path).arg("-h").output().unwrap();
        text(&output.stdout)
    });
}

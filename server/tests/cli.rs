//! `herald-server`'s command line as a shell user meets it: help, version, usage errors, `config
//! check`, completions, and the README's command table held to the real help.

use std::{
    path::Path,
    process::{Command, Output},
};

const BIN: &str = "herald-server";

/// The binary in `cwd` with nothing from the developer's environment or `.env`.
fn server(cwd: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_herald-server"));
    command.env_clear().current_dir(cwd);
    command
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs with a configuration start-up would refuse: what must work without one still does.
fn without_valid_config(args: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    server(dir.path())
        .env("DATABASE_URL", "nope://x")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn help_lists_the_commands_and_ends_with_the_settings_it_uses() {
    let output = without_valid_config(&["--help"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let help = text(&output.stdout);
    for command in [
        "login-link",
        "pair",
        "healthcheck",
        "config",
        "accounts",
        "reminders",
        "completions",
    ] {
        assert!(
            help.contains(&format!("\n  {command} ")),
            "{command}: {help}"
        );
    }
    let settings = help
        .split("\nSettings: ")
        .nth(1)
        .expect("a settings section");
    assert!(
        settings.contains("DATABASE_URL [default: sqlite://data/herald.db]")
            && settings.contains("METRICS_TOKEN [default: unset, server's `/metrics` off]")
            && settings.contains("secret: never logged or printed"),
        "{settings}"
    );
    assert!(
        !settings.contains("SEND_PER_HOUR"),
        "only the worker uses the pacing settings: {settings}"
    );

    let short = without_valid_config(&["-h"]);
    assert_eq!(short.status.code(), Some(0));
    assert!(text(&short.stdout).contains("--help lists them"));
}

#[test]
fn every_command_has_its_own_help_with_an_example() {
    for command in [
        &["login-link"][..],
        &["pair"],
        &["healthcheck"],
        &["config", "check"],
        &["accounts"],
        &["reminders"],
        &["completions"],
    ] {
        let output = without_valid_config(&[command, &["--help"]].concat());
        let help = text(&output.stdout);
        assert_eq!(output.status.code(), Some(0), "{command:?}: {help}");
        assert!(
            help.contains(&format!("Usage: {BIN} {}", command.join(" "))),
            "{command:?}: {help}"
        );
        assert!(help.contains("Example"), "{command:?}: {help}");
    }
    let pair = text(&without_valid_config(&["pair", "--help"]).stdout);
    for option in [
        "--phone <number>",
        "--telegram-id <id>",
        "--timeout <seconds>",
    ] {
        assert!(pair.contains(option), "{option}: {pair}");
    }
}

#[test]
fn version_names_the_build_and_its_commit() {
    for flag in ["--version", "-V"] {
        let output = without_valid_config(&[flag]);
        assert_eq!(output.status.code(), Some(0));
        assert_eq!(
            text(&output.stdout).trim(),
            format!(
                "{BIN} {} (commit {})",
                runtime::build_info::VERSION,
                runtime::build_info::COMMIT
            )
        );
    }
}

#[test]
fn a_bad_argument_is_a_usage_error_with_status_2() {
    let dir = tempfile::tempdir().unwrap();
    for (args, expected) in [
        (&["--frobnicate"][..], "unexpected argument '--frobnicate'"),
        (&["frobnicate"], "unrecognized subcommand 'frobnicate'"),
        (&["pair"], "<LABEL>"),
        (&["pair", "Gym", "--timeout", "0"], "--timeout <seconds>"),
        (
            &["login-link", "--telegram-id", "bob"],
            "--telegram-id <id>",
        ),
        (
            &["completions", "powershell"],
            "possible values: bash, zsh, fish",
        ),
        (&["config"], "Usage: herald-server config <COMMAND>"),
    ] {
        let output = server(dir.path()).args(args).output().unwrap();
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.starts_with("error: ") || stderr.contains("Usage:"),
            "{stderr}"
        );
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing may be written"
    );
}

#[test]
fn completions_write_a_script_without_a_configuration() {
    let output = without_valid_config(&["completions", "bash"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let script = text(&output.stdout);
    assert!(script.starts_with("_herald__server() {"), "{script}");
    assert!(
        script.contains("complete -F _herald__server -o bashdefault -o default herald-server"),
        "{script}"
    );
    for word in ["login-link", "reminders", "--telegram-id"] {
        assert!(script.contains(word), "{word}");
    }
    for shell in ["zsh", "fish"] {
        let output = without_valid_config(&["completions", shell]);
        assert_eq!(output.status.code(), Some(0));
        assert!(text(&output.stdout).contains("login-link"), "{shell}");
    }
}

const DB_PASSWORD: &str = "pw-never-shown-1";
const BOT_TOKEN: &str = "123456:bot-token-never-shown-2";
const METRICS_TOKEN: &str = "metrics-token-never-shown-3";

fn assert_no_secret(output: &Output) {
    let all = format!("{}{}", text(&output.stdout), text(&output.stderr));
    for secret in [DB_PASSWORD, BOT_TOKEN, METRICS_TOKEN, "never-shown"] {
        assert!(!all.contains(secret), "{secret} leaked:\n{all}");
    }
}

#[test]
fn config_check_prints_the_effective_settings_with_secrets_redacted() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".env"),
        format!("METRICS_TOKEN={METRICS_TOKEN}\nPUBLIC_URL=https://from-dotenv.example\n"),
    )
    .unwrap();
    let output = server(dir.path())
        .env(
            "DATABASE_URL",
            format!("postgres://herald:{DB_PASSWORD}@db:5432/herald"),
        )
        .env("TELEGRAM_BOT_TOKEN", BOT_TOKEN)
        // The environment wins over .env.
        .env("PUBLIC_URL", "https://herald.example.com")
        .env("TRUSTED_PROXIES", "127.0.0.1, 172.16.0.0/12")
        .args(["config", "check"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_no_secret(&output);
    let stdout = text(&output.stdout);
    let line = |name: &str| -> Vec<String> {
        let line = stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no {name} in:\n{stdout}"));
        line.split_whitespace().skip(1).map(str::to_owned).collect()
    };
    assert_eq!(
        line("DATABASE_URL"),
        ["environment", "postgres://herald:***@db:5432/herald"]
    );
    assert_eq!(line("METRICS_TOKEN"), [".env", "<set,", "redacted>"]);
    assert_eq!(
        line("PUBLIC_URL"),
        ["environment", "https://herald.example.com/"]
    );
    assert_eq!(
        line("TRUSTED_PROXIES"),
        ["environment", "127.0.0.1,172.16.0.0/12"]
    );
    assert_eq!(line("LEPTOS_SITE_ADDR"), ["default", "127.0.0.1:3000"]);
    assert!(
        !stdout.contains("TELEGRAM_BOT_TOKEN"),
        "the server lists only what it uses: {stdout}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "nothing but .env: no database, no data directory"
    );
}

#[test]
fn config_check_lists_every_problem_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let output = server(dir.path())
        .env(
            "DATABASE_URL",
            format!("mysql://herald:{DB_PASSWORD}@db/herald"),
        )
        .env("LOG_FORMAT", "xml")
        .env("TELEGRAM_BOT_TOKEN", "never-shown-bot-token")
        .env("METRICS_TOKEN", "never-shown")
        .env("SEND_PER_MINUTE", "0")
        .args(["config", "check"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_no_secret(&output);
    let stderr = text(&output.stderr);
    assert!(stderr.starts_with("herald-server config check: invalid configuration:"));
    let named: Vec<&str> = stderr
        .lines()
        .filter_map(|l| l.strip_prefix("  - "))
        .filter_map(|l| l.split(':').next())
        .collect();
    assert_eq!(
        named,
        [
            "DATABASE_URL",
            "LOG_FORMAT",
            "SEND_PER_MINUTE",
            "TELEGRAM_BOT_TOKEN",
            "METRICS_TOKEN"
        ],
        "{stderr}"
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn the_readme_command_table_says_what_help_says() {
    let dir = tempfile::tempdir().unwrap();
    testkit::readme::assert_command_table_matches(BIN, |path| {
        let output = server(dir.path()).args(path).arg("-h").output().unwrap();
        text(&output.stdout)
    });
}

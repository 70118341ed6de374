//! The command-line pieces both binaries share: `--version` with the commit, the settings that end
//! each `--help`, and the `config check` and `completions` commands. Each binary declares its own
//! commands with clap's derive; [`parse`] adds these shared parts to them.

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Subcommand, ValueEnum};

use crate::{
    build_info,
    config::{Config, DefaultValue, Process, SETTINGS, Sources, used_by},
};

/// `config …`: what can be done with the configuration without starting anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Subcommand)]
pub enum ConfigCommand {
    Check,
}

/// The shells `completions` writes scripts for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

/// The full command line of `C`, the binary `process`: its own commands plus the shared parts.
pub fn command<C: CommandFactory>(process: Process) -> clap::Command {
    let bin = process.binary();
    C::command()
        .name(bin)
        .bin_name(bin)
        .version(build_info::VERSION_AND_COMMIT)
        .disable_help_subcommand(true)
        .after_help(format!(
            "Reads {} settings from the environment or ./.env; --help lists them.",
            used_by(process).count()
        ))
        .after_long_help(settings_help(process))
        .mut_subcommand("config", |config| {
            config
                .about("Inspect the configuration without starting anything")
                .mut_subcommand("check", |check| describe_config_check(check, process))
        })
        .mut_subcommand("completions", |completions| {
            describe_completions(completions, bin)
        })
}

fn describe_config_check(check: clap::Command, process: Process) -> clap::Command {
    let bin = process.binary();
    let service = process.short_name();
    check
        .about(
            "Validate the environment and .env as start-up does, and print the effective \
             settings, secrets redacted",
        )
        .long_about(format!(
            "Validates every setting from the environment and ./.env exactly as {bin} does when \
             it starts, without starting anything or touching the database. When all are valid \
             it prints the settings {bin} uses, each with its effective value and where it came \
             from (environment, .env or default), and exits 0. Secrets are never printed: tokens \
             show as <set, redacted>, the database password as ***. Otherwise it lists every \
             problem at once and exits 1."
        ))
        .after_help(format!(
            "Examples:\n  {bin} config check\n  \
             docker compose run --rm --no-deps {service} {bin} config check"
        ))
}

fn describe_completions(completions: clap::Command, bin: &str) -> clap::Command {
    completions
        .about("Print a shell completion script (bash, zsh or fish)")
        .long_about(format!(
            "Prints a completion script for {bin}'s commands and options to standard output; \
             load it from the shell's start-up files. Needs no configuration."
        ))
        .after_help(format!(
            "Examples:\n  \
             {bin} completions bash > ~/.local/share/bash-completion/completions/{bin}\n  \
             {bin} completions zsh > \"${{fpath[1]}}/_{bin}\"\n  \
             {bin} completions fish > ~/.config/fish/completions/{bin}.fish"
        ))
}

/// Parses the process's arguments into `C`; on `--help`, `--version` or an argument error this
/// prints clap's answer and exits (2 for an error). Needs no configuration.
pub fn parse<C: CommandFactory + FromArgMatches>(process: Process) -> C {
    let mut command = command::<C>(process);
    let matches = command.get_matches_mut();
    C::from_arg_matches(&matches).unwrap_or_else(|e| e.format(&mut command).exit())
}

/// `completions <shell>`: the script, on standard output.
pub fn completions<C: CommandFactory>(process: Process, shell: Shell) -> ExitCode {
    let shell = match shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    let mut command = command::<C>(process);
    clap_complete::generate(
        shell,
        &mut command,
        process.binary(),
        &mut std::io::stdout(),
    );
    ExitCode::SUCCESS
}

/// `config check`: validates what start-up validates ([`Config::load`]) and prints the effective
/// settings `process` uses (0), or every problem (1).
pub fn config_check(process: Process) -> ExitCode {
    let bin = process.binary();
    let checked = Sources::read().and_then(|sources| {
        let config = Config::from_sources(&sources)?;
        Ok((sources, config))
    });
    let (sources, config) = match checked {
        Ok(checked) => checked,
        Err(e) => {
            eprintln!("{bin} config check: {e}");
            return ExitCode::FAILURE;
        }
    };
    let rows: Vec<(&str, String, String)> = used_by(process)
        .map(|s| {
            let origin = sources.origin(s.name).to_string();
            (s.name, origin, s.effective(&config))
        })
        .collect();
    let name_width = rows.iter().map(|(n, ..)| n.len()).max().unwrap_or(0);
    let origin_width = rows.iter().map(|(_, o, _)| o.len()).max().unwrap_or(0);
    println!(
        "The configuration is valid: all {} settings check out as at start-up.",
        SETTINGS.len()
    );
    println!("{bin} uses these (from the environment, else ./.env, else the default):\n");
    for (name, origin, value) in rows {
        println!("  {name:name_width$}  {origin:origin_width$}  {value}");
    }
    ExitCode::SUCCESS
}

/// The section that ends `--help`: every setting `process` uses, with its default and meaning.
fn settings_help(process: Process) -> String {
    let bin = process.binary();
    let mut help = wrap(
        &format!(
            "Settings: environment variables, or NAME=value lines in ./.env (the environment \
             wins). {bin} validates every one of Herald's settings at start and uses these:"
        ),
        0,
        100,
    );
    for setting in used_by(process) {
        let default = match setting.default {
            DefaultValue::Value(value) => format!("default: {value}"),
            DefaultValue::Unset("") => "default: unset".to_owned(),
            DefaultValue::Unset(note) => format!("default: unset, {note}"),
        };
        help.push_str(&format!("\n  {} [{default}]\n", setting.name));
        help.push_str(&wrap(&setting.description(), 10, 100));
    }
    help
}

/// `text` in lines of at most `width` columns (a longer word stands alone), each indented.
fn wrap(text: &str, indent: usize, width: usize) -> String {
    let pad = " ".repeat(indent);
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && indent + line.chars().count() + 1 + word.chars().count() > width {
            out.push_str(&format!("{pad}{line}\n"));
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push_str(&format!("{pad}{line}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn wrap_keeps_lines_within_the_width() {
        let text = "the address operators use; links and Origin checks derive from it";
        let wrapped = wrap(text, 4, 30);
        assert!(wrapped.lines().all(|l| l.len() <= 30), "{wrapped}");
        assert!(wrapped.lines().all(|l| l.starts_with("    ")), "{wrapped}");
        assert_eq!(
            wrapped.split_whitespace().collect::<Vec<_>>().join(" "),
            text
        );
        assert_eq!(wrap("", 2, 10), "");
    }
}

//! The README's command table held to the binaries' own `--help`, so the two cannot drift.

/// The `Commands:` of a help text: each command's name and one-line description.
fn help_commands(help: &str) -> Vec<(String, String)> {
    help.lines()
        .skip_while(|l| *l != "Commands:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.trim().split_once("  "))
        .map(|(name, about)| (name.to_owned(), about.trim().to_owned()))
        .collect()
}

/// The README's command table, for this binary: the command's words after the binary's name,
/// and what it says the command does.
fn readme_commands(bin: &str) -> Vec<(Vec<String>, String)> {
    let readme = include_str!("../../README.md");
    let section = readme
        .split("\n## ")
        .find(|s| s.starts_with("Command line\n"))
        .expect("README.md has a Command line section");
    section
        .lines()
        .filter_map(|l| l.strip_prefix(&format!("| `{bin}")))
        .map(|row| {
            let (command, about) = row.split_once("` | ").expect("two cells");
            let words = command
                .split_whitespace()
                .take_while(|w| !w.starts_with(['<', '[', '-']))
                .map(str::to_owned)
                .collect();
            (words, about.trim_end_matches(" |").trim().to_owned())
        })
        .collect()
}

/// Asserts that every row of the README's command table for `bin` says what `help` (the
/// binary's `-h` output for a command path, e.g. `["config"]`) says, and that every command the
/// help lists has a row.
pub fn assert_command_table_matches(bin: &str, help: impl Fn(&[String]) -> String) {
    let rows = readme_commands(bin);
    for (path, about) in &rows {
        let expected = match path.split_last() {
            None => help(&[]).lines().next().unwrap().to_owned(),
            Some((last, parent)) => {
                help_commands(&help(parent))
                    .into_iter()
                    .find(|(name, _)| name == last)
                    .unwrap_or_else(|| {
                        panic!("README lists `{bin} {}`, help does not", path.join(" "))
                    })
                    .1
            }
        };
        assert_eq!(
            about,
            &expected,
            "README's row for `{bin} {}`",
            path.join(" ")
        );
    }
    for (name, _) in help_commands(&help(&[])) {
        assert!(
            rows.iter().any(|(path, _)| path.first() == Some(&name)),
            "README's command table lacks `{bin} {name}`"
        );
    }
}

//! Guards on the shape of the codebase: no source file grows past a size a reader can hold in
//! their head, and no crate's modules depend on each other in a circle.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

const MAX_LINES: usize = 600;

/// Files allowed past `MAX_LINES` because they are tables rather than logic, relative to the
/// workspace root. Each entry must say why it is table-like; an entry that no longer exists or is
/// back under the limit fails the test, so the list cannot go stale.
const TABLE_LIKE: &[&str] = &[];

/// Directories that hold generated, vendored or non-Rust code.
const SKIPPED_DIRS: &[&str] = &["target", "node_modules", "end2end"];

/// Crates left out of the cycle check: `entity`'s SeaORM models name each other in their
/// `Relation` enums and `Related` impls, so its modules are meant to reference one another.
const CYCLES_ALLOWED: &[&str] = &["entity"];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("testkit lives inside the workspace")
        .to_path_buf()
}

/// The `members` of the root manifest, so a new crate is checked without editing this file.
fn workspace_members(root: &Path) -> Vec<String> {
    let manifest = fs::read_to_string(root.join("Cargo.toml")).expect("read root Cargo.toml");
    let start = manifest
        .lines()
        .position(|line| line.trim_start().starts_with("members"))
        .expect("root Cargo.toml has a `members` list");
    let rest: String = manifest.lines().skip(start).collect::<Vec<_>>().join("\n");
    let open = rest.find('[').expect("`members` is an array");
    let close = rest[open..].find(']').expect("`members` array is closed") + open;
    let members: Vec<String> = rest[open + 1..close]
        .split(',')
        .map(|item| item.trim().trim_matches('"').to_string())
        .filter(|item| !item.is_empty())
        .collect();
    assert!(!members.is_empty(), "no workspace members found");
    for member in &members {
        assert!(
            root.join(member).join("Cargo.toml").is_file(),
            "workspace member `{member}` has no Cargo.toml"
        );
    }
    members
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display()));
    for entry in entries {
        let entry = entry.expect("directory entry");
        let path = entry.path();
        let kind = entry.file_type().expect("file type");
        if kind.is_dir() {
            let name = entry.file_name();
            if !SKIPPED_DIRS.iter().any(|skip| name == *skip) {
                rust_files(&path, out);
            }
        } else if kind.is_file() && path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

#[test]
fn no_source_file_is_over_600_lines() {
    let root = workspace_root();
    let mut files = Vec::new();
    for member in workspace_members(&root) {
        rust_files(&root.join(member), &mut files);
    }
    files.sort();

    let mut oversized = Vec::new();
    let mut allowed_and_large = BTreeSet::new();
    for file in &files {
        let text =
            fs::read_to_string(file).unwrap_or_else(|e| panic!("read {}: {e}", file.display()));
        let lines = text.lines().count();
        let rel = relative(&root, file);
        if lines > MAX_LINES {
            if TABLE_LIKE.contains(&rel.as_str()) {
                allowed_and_large.insert(rel);
            } else {
                oversized.push(format!("  {rel}: {lines} lines"));
            }
        }
    }
    let stale: Vec<&&str> = TABLE_LIKE
        .iter()
        .filter(|entry| !allowed_and_large.contains(**entry))
        .collect();

    assert!(
        oversized.is_empty(),
        "{} source file(s) exceed {MAX_LINES} lines; split them by concern (or, if a file is \
         only a table, add it to TABLE_LIKE with the reason):\n{}",
        oversized.len(),
        oversized.join("\n")
    );
    assert!(
        stale.is_empty(),
        "TABLE_LIKE entries that are missing or no longer over {MAX_LINES} lines; remove them: \
         {stale:?}"
    );
}

type Module = Vec<String>;
type Graph = BTreeMap<Module, BTreeSet<Module>>;

/// `src/a/b.rs` and `src/a/b/mod.rs` are `a::b`; `lib.rs` and `main.rs` are the crate root.
fn module_of(src: &Path, file: &Path) -> Module {
    let rel = file
        .strip_prefix(src)
        .expect("file under src")
        .with_extension("");
    let mut parts: Module = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts
        .last()
        .is_some_and(|last| ["mod", "lib", "main"].contains(&last.as_str()))
    {
        parts.pop();
    }
    parts
}

/// Source with comments blanked out (offsets and line breaks kept), and which bytes lie inside
/// string or char literals, so braces there are not taken for blocks. Literal text is still
/// searched for paths: attributes such as `#[serde(with = "crate::a::b")]` are real references.
struct Lexed {
    code: Vec<u8>,
    literal: Vec<bool>,
}

fn lex(text: &str) -> Lexed {
    let mut code = text.as_bytes().to_vec();
    let mut literal = vec![false; code.len()];
    let len = code.len();
    let mut i = 0;
    while i < len {
        let boundary = i == 0 || !is_ident_char(code[i - 1]);
        if code[i..].starts_with(b"//") || code[i..].starts_with(b"/*") {
            let start = i;
            if code[i + 1] == b'/' {
                i = code[i..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(len, |at| i + at);
            } else {
                // Block comments nest in Rust.
                let mut depth = 0usize;
                while i < len {
                    match &code[i..] {
                        [b'/', b'*', ..] => (depth, i) = (depth + 1, i + 2),
                        [b'*', b'/', ..] => (depth, i) = (depth - 1, i + 2),
                        _ => i += 1,
                    }
                    if depth == 0 {
                        break;
                    }
                }
            }
            let comment = code[start..i].iter_mut().filter(|c| **c != b'\n');
            comment.for_each(|c| *c = b' ');
        } else if boundary && raw_string_hashes(&code[i..]).is_some() {
            let (opening, hashes) = raw_string_hashes(&code[i..]).expect("checked above");
            let mut closing = vec![b'"'];
            closing.extend(std::iter::repeat_n(b'#', hashes));
            let start = i;
            i += opening;
            while i < len && !code[i..].starts_with(&closing) {
                i += 1;
            }
            i = (i + closing.len()).min(len);
            literal[start..i].fill(true);
        } else if code[i] == b'"' {
            let start = i;
            i += 1;
            while i < len && code[i] != b'"' {
                i += if code[i] == b'\\' { 2 } else { 1 };
            }
            i = (i + 1).min(len);
            literal[start..i].fill(true);
        } else if code[i] == b'\'' {
            // A char literal (`'{'`, `'\n'`, `'é'`), unless it is a lifetime or label (`'a`).
            let start = i;
            let end = if code.get(i + 1) == Some(&b'\\') {
                // The escaped char (at `i + 2`) may itself be a quote: `'\''`.
                code[i + 3..]
                    .iter()
                    .position(|&c| c == b'\'')
                    .map(|at| i + 4 + at)
            } else {
                let width = code.get(i + 1).map_or(1, |&c| utf8_width(c));
                (code.get(i + 1 + width) == Some(&b'\'')).then_some(i + 2 + width)
            };
            match end {
                Some(end) => {
                    literal[start..end].fill(true);
                    i = end;
                }
                None => i += 1,
            }
        } else {
            i += 1;
        }
    }
    Lexed { code, literal }
}

/// For `r"`, `r#"`, `br##"` and the like: the opening's length and its number of `#`.
fn raw_string_hashes(rest: &[u8]) -> Option<(usize, usize)> {
    let after_prefix = match rest {
        [b'r', ..] => 1,
        [b'b' | b'c', b'r', ..] => 2,
        _ => return None,
    };
    let hashes = rest[after_prefix..]
        .iter()
        .take_while(|&&c| c == b'#')
        .count();
    (rest.get(after_prefix + hashes) == Some(&b'"')).then_some((after_prefix + hashes + 1, hashes))
}

fn utf8_width(first: u8) -> usize {
    match first {
        0xF0.. => 4,
        0xE0.. => 3,
        0xC0.. => 2,
        _ => 1,
    }
}

/// Inline modules (`mod tests { … }`) as byte ranges of their bodies, each with its path inside
/// the file's module: `super` there is relative to the inline module, not to the file.
fn inline_modules(lexed: &Lexed) -> Vec<(usize, usize, Module)> {
    let code = &lexed.code;
    let mut open: Vec<(usize, Option<String>)> = Vec::new();
    let mut spans = Vec::new();
    for (i, &c) in code.iter().enumerate() {
        if lexed.literal[i] {
            continue;
        }
        if c == b'{' {
            open.push((i, inline_module_name(&code[..i])));
        } else if c == b'}' {
            if let Some((start, Some(_))) = open.last() {
                let path: Module = open.iter().filter_map(|(_, name)| name.clone()).collect();
                spans.push((*start, i, path));
            }
            open.pop();
        }
    }
    spans
}

/// The name `x` when `before` ends with `mod x` (and whitespace).
fn inline_module_name(before: &[u8]) -> Option<String> {
    let trimmed = before.trim_ascii_end();
    let name_start = trimmed
        .iter()
        .rposition(|&c| !is_ident_char(c))
        .map_or(0, |at| at + 1);
    let name = &trimmed[name_start..];
    let keyword = trimmed[..name_start].trim_ascii_end();
    let is_mod = keyword.ends_with(b"mod")
        && (keyword.len() == 3 || !is_ident_char(keyword[keyword.len() - 4]))
        && keyword.len() < name_start;
    (is_mod && !name.is_empty()).then(|| String::from_utf8_lossy(name).into_owned())
}

fn is_ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// A small cursor over source bytes that reads paths and `use` trees.
struct Scanner<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Scanner<'_> {
    fn skip_whitespace(&mut self) {
        while self.pos < self.bytes.len() && self.bytes[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }

    fn eat(&mut self, token: &str) -> bool {
        if self.bytes[self.pos..].starts_with(token.as_bytes()) {
            self.pos += token.len();
            true
        } else {
            false
        }
    }

    fn ident(&mut self) -> Option<String> {
        let start = self.pos;
        if start < self.bytes.len()
            && (self.bytes[start].is_ascii_alphabetic() || self.bytes[start] == b'_')
        {
            while self.pos < self.bytes.len() && is_ident_char(self.bytes[self.pos]) {
                self.pos += 1;
            }
            Some(String::from_utf8_lossy(&self.bytes[start..self.pos]).into_owned())
        } else {
            None
        }
    }

    /// Reads the rest of a path after its head (`crate`, `super`) and a `::`, expanding groups:
    /// `a::{b, c::{d, e}}` yields `a::b`, `a::c::d` and `a::c::e`. `*`, `self` and `as` renames
    /// end a path where they stand.
    fn tree(&mut self, prefix: &Module, out: &mut Vec<Module>) {
        let mut path = prefix.clone();
        loop {
            self.skip_whitespace();
            if self.eat("{") {
                self.group(&path, out);
                return;
            }
            match self.ident() {
                Some(segment) => path.push(segment),
                None => break,
            }
            // `::{`/`::segment` continue the path; `::<` (turbofish) and anything else end it.
            let before = self.pos;
            self.skip_whitespace();
            if !self.eat("::") || self.bytes[self.pos..].starts_with(b"<") {
                self.pos = before;
                break;
            }
        }
        out.push(path);
    }

    fn group(&mut self, prefix: &Module, out: &mut Vec<Module>) {
        loop {
            self.skip_whitespace();
            if self.pos >= self.bytes.len() || self.eat("}") {
                return;
            }
            if self.eat(",") {
                continue;
            }
            let before = self.pos;
            self.tree(prefix, out);
            // Skip what a tree does not read (`as name`, `*`) up to this group's next item.
            let mut depth = 0usize;
            while self.pos < self.bytes.len() {
                match self.bytes[self.pos] {
                    b'{' => depth += 1,
                    b'}' if depth == 0 => break,
                    b'}' => depth -= 1,
                    b',' if depth == 0 => break,
                    _ => {}
                }
                self.pos += 1;
            }
            if self.pos == before {
                self.pos += 1;
            }
        }
    }
}

/// Every `crate::…` and `super::…` path in `text`, made absolute from `module`.
fn references(module: &Module, text: &str) -> Vec<Module> {
    let lexed = lex(text);
    let inline = inline_modules(&lexed);
    let bytes = &lexed.code;
    let mut scanner = Scanner { bytes, pos: 0 };
    let mut out = Vec::new();
    while scanner.pos < bytes.len() {
        let at = scanner.pos;
        let boundary = at == 0 || !is_ident_char(bytes[at - 1]);
        let head = if !boundary {
            None
        } else if scanner.eat("crate::") {
            Some(Module::new())
        } else if scanner.eat("super::") {
            // `super` is the parent of the (possibly inline) module, whether the file is `a/b.rs`
            // or `a/b/mod.rs`.
            let mut ups = 1;
            while scanner.eat("super::") {
                ups += 1;
            }
            let mut full = module.clone();
            if let Some((_, _, path)) = inline
                .iter()
                .filter(|(start, end, _)| (*start..*end).contains(&at))
                .max_by_key(|(_, _, path)| path.len())
            {
                full.extend(path.iter().cloned());
            }
            full.len().checked_sub(ups).map(|len| full[..len].to_vec())
        } else {
            None
        };
        match head {
            Some(prefix) => scanner.tree(&prefix, &mut out),
            None => scanner.pos = at + 1,
        }
        if scanner.pos == at {
            scanner.pos += 1;
        }
    }
    out
}

/// Module-level dependency edges of one crate, parent/child edges left out.
fn module_graph(crate_dir: &Path) -> Graph {
    let src = crate_dir.join("src");
    let mut files = Vec::new();
    if src.is_dir() {
        rust_files(&src, &mut files);
    }
    let modules: BTreeMap<Module, PathBuf> = files
        .into_iter()
        .map(|file| (module_of(&src, &file), file))
        .collect();

    let mut graph = Graph::new();
    for (module, file) in &modules {
        let text =
            fs::read_to_string(file).unwrap_or_else(|e| panic!("read {}: {e}", file.display()));
        for path in references(module, &text) {
            // A path names the deepest module it passes through; the rest is an item inside it.
            let Some(target) = (1..=path.len())
                .rev()
                .map(|k| &path[..k])
                .find(|p| modules.contains_key(*p))
            else {
                continue;
            };
            let related = target.starts_with(module) || module.starts_with(target);
            if !related {
                graph
                    .entry(module.clone())
                    .or_default()
                    .insert(target.to_vec());
            }
        }
    }
    graph
}

/// Strongly connected components of more than one module: modules that reach one another.
/// Module graphs are small, so plain reachability from every module is quick enough.
fn cycles(graph: &Graph) -> Vec<Vec<Module>> {
    let reach = |from: &Module| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from];
        while let Some(v) = todo.pop() {
            for w in graph.get(v).into_iter().flatten() {
                if seen.insert(w) {
                    todo.push(w);
                }
            }
        }
        seen
    };
    let reached: BTreeMap<&Module, BTreeSet<&Module>> =
        graph.keys().map(|v| (v, reach(v))).collect();
    let mut found = BTreeSet::new();
    for (v, from_v) in &reached {
        let component: Vec<Module> = from_v
            .iter()
            .filter(|w| reached.get(*w).is_some_and(|back| back.contains(v)))
            .map(|w| (*w).clone())
            .collect();
        if component.len() > 1 {
            found.insert(component);
        }
    }
    found.into_iter().collect()
}

fn describe(crate_name: &str, component: &[Module]) -> String {
    let names: Vec<String> = component
        .iter()
        .map(|m| {
            if m.is_empty() {
                "crate".to_string()
            } else {
                m.join("::")
            }
        })
        .collect();
    format!("  {crate_name}: {}", names.join(", "))
}

#[test]
fn no_module_import_cycles() {
    let root = workspace_root();
    let mut found = Vec::new();
    for member in workspace_members(&root) {
        if CYCLES_ALLOWED.contains(&member.as_str()) {
            continue;
        }
        for component in cycles(&module_graph(&root.join(&member))) {
            found.push(describe(&member, &component));
        }
    }
    assert!(
        found.is_empty(),
        "modules that depend on each other in a cycle (move the shared part into a module both \
         can use, or merge them):\n{}",
        found.join("\n")
    );
}

/// The checker itself must be able to fail: a fake crate whose modules form a cycle through
/// every kind of reference it reads.
#[test]
fn the_cycle_finder_finds_a_cycle() {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = dir.path().join("src");
    fs::create_dir_all(src.join("b")).expect("create src/b");
    fs::create_dir_all(src.join("a")).expect("create src/a");
    let write = |rel: &str, text: &str| fs::write(src.join(rel), text).expect("write fake module");
    write("lib.rs", "mod a;\nmod b;\nmod c;\nmod d;\n");
    // a -> b through a nested group.
    write(
        "a.rs",
        "mod inner;\nuse crate::{d::D, b::{self, B}};\npub struct A;\n",
    );
    // Parent/child references are not cycles.
    write("a/inner.rs", "use super::A;\nuse crate::a::inner;\n");
    // b -> c through `super` from a `mod.rs`, whose parent is the root.
    write("b/mod.rs", "use super::{c::C};\npub struct B;\n");
    // c -> a through an inline path. Not edges: the commented references to d, nor `super::d` in
    // the inline test module, which names c's own function `d`. Each literal there holds a `}`
    // that, taken for code, would end the test module before its `use`.
    write(
        "c.rs",
        "pub struct C;\nfn f() -> crate::a::A { crate::a::A }\n// crate::d::D\n/* crate::d */\n\
         fn d() {}\n\
         #[cfg(test)]\nmod tests {\n\
             fn g<'a>(x: &'a str) -> (&'a str, [char; 2], &'a str, &'a str) {\n\
                 (x, ['\\'','}'], \"} //\", r#\"}\"#)\n\
             }\n\
             use super::d;\n\
         }\n",
    );
    write("d.rs", "pub struct D;\n");

    let graph = module_graph(dir.path());
    let module = |name: &str| -> Module { name.split("::").map(String::from).collect() };
    assert!(
        !graph.contains_key(&module("a::inner")),
        "parent/child edges counted: {graph:?}"
    );
    assert!(
        graph
            .get(&module("c"))
            .is_none_or(|targets| !targets.contains(&module("d"))),
        "c -> d counted from a comment or an inline module's `super`: {graph:?}"
    );
    assert_eq!(
        cycles(&graph),
        vec![vec![module("a"), module("b"), module("c")]],
        "graph: {graph:?}"
    );
    assert_eq!(describe("fake", &cycles(&graph)[0]), "  fake: a, b, c");
}

//! The library's layering, checked on its source: data flows one way
//! (policy → scanner settings → scanners → findings → gate → writers), so
//! the modules of `src/` (tests and the binary's `main.rs`/`cli` aside) form
//! no import circle, and no scanner, inventory or advisory module reaches
//! for the policy, the gate's rules and verdict, the baseline or a writer.
//! Also keeps the fuzz targets' `secgate::` paths pointing at real modules
//! (they are built outside `cargo test`, so a moved module breaks them
//! silently otherwise).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Modules that do the scanning and their data models: what they may not import.
const SCANNING_LAYERS: &[&str] = &["scan", "inventory", "advisory"];
/// The policy, the gate's rules and verdict, the baseline, the writers.
const ABOVE_SCANNERS: &[&str] = &[
    "policy",
    "config",
    "gate",
    "baseline",
    "report",
    "policy_diff",
];

/// One library module: its path (`scan::secrets`) and source, tests removed.
struct Module {
    name: String,
    file: PathBuf,
    code: String,
}

fn src_dir() -> PathBuf {
    common::repo_root().join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

/// `src/scan/secrets.rs` → `scan::secrets`; `src/lib.rs` → `crate`.
fn module_name(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).unwrap().with_extension("");
    let parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .filter(|part| part != "mod")
        .collect();
    if parts == ["lib"] {
        "crate".to_string()
    } else {
        parts.join("::")
    }
}

fn library_modules() -> Vec<Module> {
    let src = src_dir();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files
        .into_iter()
        .filter_map(|file| {
            let name = module_name(&src, &file);
            // The binary's own modules sit above everything; they may use all.
            if name == "main" || name == "cli" || name.starts_with("cli::") {
                return None;
            }
            let text = fs::read_to_string(&file).unwrap();
            Some(Module {
                name,
                code: without_tests(&strip_comments_and_literals(&text)),
                file,
            })
        })
        .collect()
}

/// Blanks comments, string and char literals (keeping line breaks), so
/// that braces and `crate::` inside them do not count.
fn strip_comments_and_literals(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let blank = |out: &mut String, slice: &[u8]| {
        for &b in slice {
            out.push(if b == b'\n' { '\n' } else { ' ' });
        }
    };
    while i < bytes.len() {
        let rest = &bytes[i..];
        if rest.starts_with(b"//") {
            let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
            blank(&mut out, &rest[..end]);
            i += end;
        } else if rest.starts_with(b"/*") {
            let end = text[i + 2..].find("*/").map_or(rest.len(), |at| at + 4);
            blank(&mut out, &rest[..end]);
            i += end;
        } else if let Some(len) = raw_string_len(rest) {
            blank(&mut out, &rest[..len]);
            i += len;
        } else if rest[0] == b'"' || rest.starts_with(b"b\"") {
            let start = usize::from(rest[0] == b'b');
            let mut j = start + 1;
            while j < rest.len() && rest[j] != b'"' {
                j += if rest[j] == b'\\' { 2 } else { 1 };
            }
            let len = (j + 1).min(rest.len());
            blank(&mut out, &rest[..len]);
            i += len;
        } else if rest[0] == b'\'' {
            // A char literal ('{', '\'', '\u{7f}'), not a lifetime ('a).
            let len = if rest.get(1) == Some(&b'\\') {
                rest[2..].iter().position(|&b| b == b'\'').map(|at| at + 3)
            } else {
                let ch_len = text[i + 1..].chars().next().map_or(1, char::len_utf8);
                (rest.get(1 + ch_len) == Some(&b'\'')).then_some(ch_len + 2)
            };
            match len {
                Some(len) => {
                    blank(&mut out, &rest[..len]);
                    i += len;
                }
                None => {
                    out.push('\'');
                    i += 1;
                }
            }
        } else {
            let ch = text[i..].chars().next().unwrap();
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

/// The length of a raw string literal (`r"…"`, `r#"…"#`, `br"…"`) at the start.
fn raw_string_len(rest: &[u8]) -> Option<usize> {
    let start = if rest.starts_with(b"br") {
        2
    } else if rest.starts_with(b"r") {
        1
    } else {
        return None;
    };
    let hashes = rest[start..].iter().take_while(|&&b| b == b'#').count();
    if rest.get(start + hashes) != Some(&b'"') {
        return None;
    }
    let mut closing = vec![b'"'];
    closing.extend(std::iter::repeat_n(b'#', hashes));
    let body = start + hashes + 1;
    let end = rest[body..]
        .windows(closing.len())
        .position(|w| w == closing.as_slice())?;
    Some(body + end + closing.len())
}

/// Removes every item under `#[cfg(test)]` (the `mod tests` block, test-only
/// functions and imports).
fn without_tests(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let item = &rest[at..];
        let bytes = item.as_bytes();
        let mut depth = 0usize;
        let mut end = item.len();
        for (i, &b) in bytes.iter().enumerate().skip("#[cfg(test)]".len()) {
            match b {
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = i + 1;
                        break;
                    }
                }
                b';' if depth == 0 => {
                    end = i + 1;
                    break;
                }
                _ => {}
            }
        }
        rest = &item[end..];
    }
    out.push_str(rest);
    out
}

/// Expands a `use` tree (`crate::a::{b, c::{self, d}}`) into its paths.
fn expand_use_tree(tree: &str) -> Vec<String> {
    let tree: String = tree.split_whitespace().collect::<Vec<_>>().join(" ");
    let Some(open) = tree.find('{') else {
        let path = tree.split(" as ").next().unwrap().trim();
        return vec![path.to_string()];
    };
    let prefix = tree[..open].trim().trim_end_matches("::");
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, ch) in inner.char_indices() {
        match ch {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|part| !part.trim().is_empty())
        .flat_map(expand_use_tree)
        .map(|path| match path.as_str() {
            "self" => prefix.to_string(),
            _ if prefix.is_empty() => path,
            _ => format!("{prefix}::{path}"),
        })
        .collect()
}

/// Every path the module names: each `use` expanded, and `crate::`/`super::`
/// paths written inline.
fn paths_named(code: &str) -> Vec<String> {
    let mut paths = Vec::new();
    let mut without_uses = String::new();
    let mut rest = code;
    while let Some(at) = find_use(rest) {
        without_uses.push_str(&rest[..at]);
        let statement = &rest[at..];
        let end = statement.find(';').unwrap_or(statement.len());
        let keyword = statement.find("use").unwrap();
        paths.extend(expand_use_tree(&statement[keyword + "use".len()..end]));
        rest = &statement[end..];
    }
    without_uses.push_str(rest);
    // A visibility (`pub(in crate::a)`) names where an item is seen, not
    // what the module uses.
    let visibility = regex::Regex::new(r"pub\(in\s+[^)]*\)").unwrap();
    let without_uses = visibility.replace_all(&without_uses, "pub").into_owned();
    // Any path written inline; `resolve` keeps those that name a library
    // module (`crate::…`, `super::…`, or a child module by its bare name).
    // A leading `::` names an external crate.
    let inline = regex::Regex::new(
        r"(^|[^:A-Za-z0-9_])([A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_]*)+)",
    )
    .unwrap();
    paths.extend(
        inline
            .captures_iter(&without_uses)
            .map(|c| c[2].to_string()),
    );
    paths
}

/// The start of the next `use` statement (at an item boundary).
fn find_use(code: &str) -> Option<usize> {
    let pattern = regex::Regex::new(r"(?m)^\s*(?:pub(?:\([^)]*\))?\s+)?use\s").unwrap();
    pattern.find(code).map(|m| m.start())
}

/// Resolves `path`, written in `module`, to the longest library module it names.
fn resolve(path: &str, module: &str, modules: &BTreeSet<String>) -> Option<String> {
    let mut segments: Vec<&str> = path.split("::").collect();
    let mut base: Vec<&str> = if module == "crate" {
        vec![]
    } else {
        module.split("::").collect()
    };
    match segments.first().copied() {
        Some("crate") => {
            base.clear();
            segments.remove(0);
        }
        Some("super") | Some("self") => {
            while let Some(&first) = segments.first() {
                match first {
                    "super" => {
                        base.pop()?;
                    }
                    "self" => {}
                    _ => break,
                }
                segments.remove(0);
            }
        }
        // A child module named by its bare name (`secrets::run`).
        Some(first) => {
            let child = join(&base, &[first]);
            if !modules.contains(&child) {
                return None;
            }
        }
        None => return None,
    }
    (0..=segments.len()).rev().find_map(|take| {
        let candidate = join(&base, &segments[..take]);
        modules.contains(&candidate).then_some(candidate)
    })
}

fn join(base: &[&str], more: &[&str]) -> String {
    let all: Vec<&str> = base.iter().chain(more).copied().collect();
    if all.is_empty() {
        "crate".to_string()
    } else {
        all.join("::")
    }
}

/// Module → the modules it imports from (itself and its own ancestors'
/// declarations aside).
fn import_graph(modules: &[Module]) -> BTreeMap<String, BTreeSet<String>> {
    let names: BTreeSet<String> = modules.iter().map(|m| m.name.clone()).collect();
    modules
        .iter()
        .map(|module| {
            let targets = paths_named(&module.code)
                .iter()
                .filter_map(|path| resolve(path, &module.name, &names))
                .filter(|target| *target != module.name && target != "crate")
                .collect();
            (module.name.clone(), targets)
        })
        .collect()
}

/// Strongly connected components of more than one module (Tarjan).
fn import_circles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'a> {
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        circles: Vec<Vec<String>>,
    }
    fn visit<'a>(state: &mut State<'a>, node: &'a str) {
        let next = state.index.len();
        state.index.insert(node, next);
        state.low.insert(node, next);
        state.stack.push(node);
        state.on_stack.insert(node);
        let graph = state.graph;
        for target in graph.get(node).into_iter().flatten() {
            let target = target.as_str();
            if !state.index.contains_key(target) {
                visit(state, target);
                let low = state.low[node].min(state.low[target]);
                state.low.insert(node, low);
            } else if state.on_stack.contains(target) {
                let low = state.low[node].min(state.index[target]);
                state.low.insert(node, low);
            }
        }
        if state.low[node] == state.index[node] {
            let mut component = Vec::new();
            while let Some(member) = state.stack.pop() {
                state.on_stack.remove(member);
                component.push(member.to_string());
                if member == node {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                state.circles.push(component);
            }
        }
    }
    let mut state = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        circles: Vec::new(),
    };
    for node in graph.keys() {
        if !state.index.contains_key(node.as_str()) {
            visit(&mut state, node);
        }
    }
    state.circles
}

fn is_under(module: &str, layers: &[&str]) -> bool {
    layers
        .iter()
        .any(|layer| module == *layer || module.starts_with(&format!("{layer}::")))
}

#[test]
fn the_library_has_no_import_circle() {
    let modules = library_modules();
    assert!(modules.len() > 20, "found only {} modules", modules.len());
    let graph = import_graph(&modules);
    let circles = import_circles(&graph);
    let described: Vec<String> = circles
        .iter()
        .map(|circle| {
            let edges: Vec<String> = circle
                .iter()
                .flat_map(|from| {
                    graph[from]
                        .iter()
                        .filter(|to| circle.contains(to))
                        .map(move |to| format!("{from} → {to}"))
                })
                .collect();
            edges.join(", ")
        })
        .collect();
    assert!(
        circles.is_empty(),
        "import circles:\n{}",
        described.join("\n")
    );
}

#[test]
fn scanners_never_import_the_policy_the_gate_or_the_writers() {
    let modules = library_modules();
    let graph = import_graph(&modules);
    let scanning: Vec<&Module> = modules
        .iter()
        .filter(|m| is_under(&m.name, SCANNING_LAYERS))
        .collect();
    assert!(
        scanning.len() > 10,
        "found only {} scanning modules",
        scanning.len()
    );
    let violations: Vec<String> = scanning
        .iter()
        .flat_map(|module| {
            graph[&module.name]
                .iter()
                .filter(|target| is_under(target, ABOVE_SCANNERS))
                .map(move |target| {
                    format!(
                        "{} ({}) imports {target}",
                        module.name,
                        module.file.display()
                    )
                })
        })
        .collect();
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

#[test]
fn fuzz_targets_name_modules_that_exist() {
    let modules: BTreeSet<String> = library_modules().into_iter().map(|m| m.name).collect();
    let mut targets = Vec::new();
    rust_files(&common::repo_root().join("fuzz/fuzz_targets"), &mut targets);
    assert!(!targets.is_empty());
    let path = regex::Regex::new(r"\bsecgate((?:::[A-Za-z_][A-Za-z0-9_]*)+)").unwrap();
    let mut missing = Vec::new();
    for target in targets {
        let code = strip_comments_and_literals(&fs::read_to_string(&target).unwrap());
        for used in path.captures_iter(&code) {
            // All but the last segment name modules; `secgate::a::b::item`.
            let segments: Vec<&str> = used[1].trim_start_matches("::").split("::").collect();
            let module_segments: Vec<&str> = segments
                .iter()
                .take_while(|s| s.starts_with(char::is_lowercase))
                .copied()
                .collect();
            let module_segments = &module_segments[..module_segments.len().saturating_sub(1)];
            if !module_segments.is_empty() && !modules.contains(&module_segments.join("::")) {
                missing.push(format!("{}: secgate{}", target.display(), &used[1]));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "fuzz targets name modules that do not exist:\n{}",
        missing.join("\n")
    );
}

#[test]
fn the_checker_sees_what_it_must() {
    let modules: BTreeSet<String> = ["a", "a::b", "a::b::c", "d"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(
        resolve("crate::a::b::Item", "d", &modules).as_deref(),
        Some("a::b")
    );
    assert_eq!(
        resolve("super::Item", "a::b", &modules).as_deref(),
        Some("a")
    );
    assert_eq!(
        resolve("super::super::super::d::x", "a::b::c", &modules).as_deref(),
        Some("d")
    );
    assert_eq!(
        resolve("c::run", "a::b", &modules).as_deref(),
        Some("a::b::c")
    );
    assert_eq!(resolve("std::fs::read", "a", &modules), None);
    assert_eq!(
        expand_use_tree("crate::a::{self, b::{c, Item as Other}}"),
        vec!["crate::a", "crate::a::b::c", "crate::a::b::Item"]
    );
    let code = without_tests(&strip_comments_and_literals(
        "use crate::a::b;\n// crate::d\nfn f() { let s = \"crate::d {\"; let c = '{'; }\n\
         #[cfg(test)]\nmod tests { use crate::d; }\n",
    ));
    assert_eq!(paths_named(&code), vec!["crate::a::b"]);
    assert!(paths_named("pub(in crate::x) fn f() {}").is_empty());
    let code = "fn f() -> b::Item { ::b::x(); std::fs::read(\"\"); super::c::y() }";
    assert_eq!(
        paths_named(code),
        vec!["b::Item", "std::fs::read", "super::c::y"]
    );
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec!["a"]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.into_iter().map(String::from).collect()))
    .collect();
    assert_eq!(import_circles(&graph), vec![vec!["a", "b", "c"]]);
}

//! What the yarn and pnpm readers share: one locked package as a lock
//! lists it, entries of one package merged into an [`Inventory`], the
//! source a URL or path denotes, and located YAML errors.
//!
//! It lives under `yarn/` because the readers' files are yarn's and
//! pnpm's; `pnpm.rs` uses it as `super::yarn::locked`.

use crate::error::ScanError;
use crate::inventory::lock::{UncheckedReason, UncheckedRequirement};
use crate::inventory::{
    ContentHash, DependencyKind, Ecosystem, Edge, EdgeKind, Inventory, LockLines, Package,
    PackageSource,
};
pub(in crate::inventory::npm) use crate::text::mask_url_credentials as redact;
use std::collections::HashMap;
use std::path::Path;

/// One lock entry, understood.
pub(in crate::inventory::npm) struct Entry {
    /// The descriptors its key lists, as written.
    pub(in crate::inventory::npm) descriptors: Vec<String>,
    pub(in crate::inventory::npm) locked: Locked,
    pub(in crate::inventory::npm) deps: Vec<Dependency>,
    /// Berry: the directory of a workspace member.
    pub(in crate::inventory::npm) workspace: Option<String>,
}

/// A dependency as an entry or a manifest names it.
#[derive(Clone, Debug)]
pub(in crate::inventory::npm) struct Dependency {
    pub(in crate::inventory::npm) name: String,
    pub(in crate::inventory::npm) range: String,
    pub(in crate::inventory::npm) kind: EdgeKind,
}

/// npm's public registry, the origin when a lock names none.
pub(in crate::inventory::npm) const NPM_REGISTRY: &str = "https://registry.npmjs.org";

/// One package entry of a lock, before entries of one package are merged.
#[derive(Clone, Debug)]
pub(in crate::inventory::npm) struct Locked {
    pub name: String,
    pub version: String,
    pub source: PackageSource,
    pub hashes: Vec<ContentHash>,
    pub lines: Option<LockLines>,
    /// One of the project's own packages (the root, a workspace member).
    pub member: bool,
    /// pnpm's `dev` flag: `Some(true)` dev-only, `Some(false)` shipped,
    /// `None` when the lock does not say.
    pub dev: Option<bool>,
    /// Indexes into the list of entries given to [`build`].
    pub deps: Vec<(usize, EdgeKind)>,
}

impl Locked {
    pub(in crate::inventory::npm) fn new(
        name: &str,
        version: &str,
        source: PackageSource,
    ) -> Locked {
        Locked {
            name: name.to_string(),
            version: version.to_string(),
            source,
            hashes: Vec::new(),
            lines: None,
            member: false,
            dev: None,
            deps: Vec::new(),
        }
    }
}

/// Two entries' `dev` flags as one: shipped wins, then not knowing.
fn merge_dev(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(false), _) | (_, Some(false)) => Some(false),
        (None, _) | (_, None) => None,
        _ => Some(true),
    }
}

/// The inventory of `entries` (in any order, one package possibly listed
/// several times: pnpm once per set of peers, Berry once per patch):
/// merged by (name, version, source), the first entry's lines kept,
/// sorted, classified from the members unless `unknown_kinds` says why
/// kinds cannot be known.
pub(in crate::inventory::npm) fn build(
    path: &Path,
    entries: Vec<Locked>,
    unknown_kinds: Option<&str>,
) -> Inventory {
    let mut unique: Vec<Locked> = Vec::with_capacity(entries.len());
    let mut index: HashMap<(String, String, PackageSource), usize> = HashMap::new();
    let mut merged_into = Vec::with_capacity(entries.len());
    for entry in entries {
        let key = (
            entry.name.clone(),
            entry.version.clone(),
            entry.source.clone(),
        );
        match index.get(&key) {
            Some(&first) => {
                let kept = &mut unique[first];
                let earlier = match (kept.lines, entry.lines) {
                    (Some(a), Some(b)) => b.start < a.start,
                    (None, Some(_)) => true,
                    _ => false,
                };
                if earlier {
                    kept.lines = entry.lines;
                }
                if kept.hashes.is_empty() {
                    kept.hashes = entry.hashes;
                }
                kept.member |= entry.member;
                kept.dev = merge_dev(kept.dev, entry.dev);
                kept.deps.extend(entry.deps);
                merged_into.push(first);
            }
            None => {
                index.insert(key, unique.len());
                merged_into.push(unique.len());
                unique.push(entry);
            }
        }
    }
    // By name, version (1.9 before 1.10) and source.
    let mut order: Vec<usize> = (0..unique.len()).collect();
    order.sort_by_cached_key(|&i| {
        let p = &unique[i];
        (
            p.name.clone(),
            semver::Version::parse(&p.version).ok(),
            p.version.clone(),
            p.source.clone(),
        )
    });
    let mut position = vec![0; unique.len()];
    for (new, &old) in order.iter().enumerate() {
        position[old] = new;
    }
    let mut packages = Vec::with_capacity(unique.len());
    let mut depends_on = Vec::with_capacity(unique.len());
    let mut dev_flags = Vec::with_capacity(unique.len());
    let mut slots: Vec<Option<Locked>> = unique.into_iter().map(Some).collect();
    for &old in &order {
        let Some(locked) = slots[old].take() else {
            continue;
        };
        let from = position[old];
        let edges: Vec<Edge> = locked
            .deps
            .iter()
            .filter_map(|&(to, kind)| {
                let to = position[*merged_into.get(to)?];
                (to != from).then_some(Edge {
                    to,
                    kind,
                    target: None,
                })
            })
            .collect();
        dev_flags.push(locked.dev);
        depends_on.push(edges);
        packages.push(Package {
            hashes: locked.hashes,
            lines: locked.lines,
            is_member: locked.member,
            ..Package::bare(Ecosystem::Npm, &locked.name, &locked.version, locked.source)
        });
    }
    let mut inventory = Inventory {
        packages,
        depends_on,
        lock_file: Some(path.to_path_buf()),
        ..Inventory::empty(None)
    };
    match unknown_kinds {
        Some(reason) => {
            inventory.finish_unclassified();
            inventory.fallback_reason = Some(reason.to_string());
        }
        None => classify(&mut inventory, &dev_flags),
    }
    if inventory.workspace_members.len() == 1 {
        inventory.root = inventory.workspace_members.first().copied();
    }
    inventory
}

/// Kinds from the graph below the members, then the lock's own `dev`
/// flags over them; what the graph does not reach counts as shipped (a
/// package is never dev-only because an edge was missed).
fn classify(inventory: &mut Inventory, dev_flags: &[Option<bool>]) {
    inventory.finish();
    let has_members = !inventory.workspace_members.is_empty();
    for (package, flag) in inventory.packages.iter_mut().zip(dev_flags) {
        if package.is_member {
            continue;
        }
        match flag {
            Some(true) => package.kind = Some(DependencyKind::DevOnly),
            Some(false) => package.kind = Some(DependencyKind::Normal),
            None if package.kind.is_none() && has_members => {
                package.kind = Some(DependencyKind::Normal)
            }
            None => {}
        }
    }
    if !has_members && dev_flags.iter().any(Option::is_none) {
        inventory.fallback_reason =
            Some("the lock names no project or workspace member: dependency kinds unknown where it sets no `dev` flag".to_string());
    }
}

/// What a resolved URL or spec denotes, with the reason it cannot be
/// checked when it is not a registry package.
pub(in crate::inventory::npm) fn source_of_url(
    name: &str,
    url: &str,
) -> (PackageSource, Option<UncheckedReason>) {
    let url = url.trim();
    if let Some(local) = local_path(url) {
        return (
            PackageSource::Path {
                relative: Some(local.to_string()),
            },
            Some(UncheckedReason::LocalPath),
        );
    }
    if let Some(git) = git_source(url) {
        return (git, Some(UncheckedReason::Url));
    }
    if let Some(origin) = registry_origin(name, url) {
        return (registry(&origin), None);
    }
    (
        PackageSource::Other {
            repr: redact(strip_fragment(url)),
        },
        Some(UncheckedReason::Url),
    )
}

/// A registry source; public when it is npm's own registry or yarn's
/// mirror of it.
pub(in crate::inventory::npm) fn registry(origin: &str) -> PackageSource {
    let host = host_of(origin).to_ascii_lowercase();
    PackageSource::Registry {
        url: redact(origin.trim_end_matches('/')),
        public: matches!(
            host.as_str(),
            "registry.npmjs.org" | "registry.yarnpkg.com" | "registry.npmjs.com"
        ),
    }
}

/// The default registry, for locks that name none.
pub(in crate::inventory::npm) fn npm_registry() -> PackageSource {
    registry(NPM_REGISTRY)
}

/// The registry a tarball URL is on, when it has a registry's shape
/// (`<origin>/<name>/-/<file>.tgz`, also `<origin>/@scope%2fname/-/…`).
fn registry_origin(name: &str, url: &str) -> Option<String> {
    let url = strip_fragment(url);
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return None;
    }
    let encoded = name.replacen('/', "%2f", 1);
    for spelled in [name.to_string(), encoded.clone(), encoded.to_uppercase()] {
        if spelled.is_empty() {
            continue;
        }
        let marker = format!("/{spelled}/-/");
        if let Some(at) = url.find(&marker) {
            return Some(url[..at].to_string());
        }
    }
    None
}

/// `file:`, `link:`, `portal:` and relative or absolute paths.
fn local_path(spec: &str) -> Option<&str> {
    for prefix in ["file:", "link:", "portal:"] {
        if let Some(rest) = spec.strip_prefix(prefix) {
            return Some(rest);
        }
    }
    (spec.starts_with("./") || spec.starts_with("../") || spec.starts_with('/')).then_some(spec)
}

/// A git source: `git+https://…#rev`, `git://`, `git+ssh://`, `github:`,
/// and GitHub's tarball host (`https://codeload.github.com/o/r/tar.gz/<sha>`).
pub(in crate::inventory::npm) fn git_source(url: &str) -> Option<PackageSource> {
    let (base, fragment) = match url.split_once('#') {
        Some((base, fragment)) => (base, Some(fragment)),
        None => (url, None),
    };
    if let Some(rest) = base
        .strip_prefix("https://codeload.github.com/")
        .or_else(|| base.strip_prefix("http://codeload.github.com/"))
    {
        let parts: Vec<&str> = rest.split('/').collect();
        if let [owner, repo, _, rev, ..] = parts.as_slice() {
            return Some(PackageSource::Git {
                url: format!("https://github.com/{owner}/{repo}"),
                reference: None,
                rev: rev.to_string(),
            });
        }
    }
    let is_git = base.starts_with("git+")
        || base.starts_with("git://")
        || base.starts_with("git@")
        || base.starts_with("ssh://")
        || base.starts_with("github:")
        || base.starts_with("gitlab:")
        || base.starts_with("bitbucket:")
        || (base.ends_with(".git") && base.contains("://"));
    if !is_git {
        return None;
    }
    let rev = fragment
        .map(|f| f.strip_prefix("commit=").unwrap_or(f))
        .unwrap_or("");
    let (reference, rev) = if is_commit(rev) {
        (None, rev.to_string())
    } else {
        (
            Some(rev.to_string()).filter(|r| !r.is_empty()),
            String::new(),
        )
    };
    Some(PackageSource::Git {
        url: redact(base.strip_prefix("git+").unwrap_or(base)),
        reference,
        rev,
    })
}

/// A full or abbreviated commit hash.
pub(in crate::inventory::npm) fn is_commit(text: &str) -> bool {
    (7..=64).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_hexdigit())
}

pub(in crate::inventory::npm) fn strip_fragment(url: &str) -> &str {
    url.split('#').next().unwrap_or(url)
}

fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    host.split(':').next().unwrap_or("")
}

/// `%XX` escapes decoded (Berry's locators and patch paths); a malformed
/// escape is kept as written.
pub(in crate::inventory::npm) fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(byte) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `relative` (with `/` separators, `..` allowed) joined to the directory
/// `base` (relative to the project root), normalized; `None` when it
/// climbs out of the root or is absolute.
pub(in crate::inventory::npm) fn join_relative(base: &str, relative: &str) -> Option<String> {
    if relative.starts_with('/') || relative.contains('\\') || relative.contains(':') {
        return None;
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in base.split('/').chain(relative.split('/')) {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            part => parts.push(part),
        }
    }
    Some(if parts.is_empty() {
        ".".to_string()
    } else {
        parts.join("/")
    })
}

/// `name@range` split at the `@` that ends the name (`@scope/name@^1`).
pub(in crate::inventory::npm) fn split_descriptor(descriptor: &str) -> Option<(&str, &str)> {
    let at = descriptor.get(1..)?.find('@')? + 1;
    Some((&descriptor[..at], &descriptor[at + 1..]))
}

/// An unchecked entry on `line`, its text on one line with URLs masked.
pub(in crate::inventory::npm) fn unchecked(
    path: &Path,
    line: u32,
    requirement: &str,
    reason: UncheckedReason,
) -> UncheckedRequirement {
    UncheckedRequirement {
        file: path.to_path_buf(),
        line,
        requirement: redact(&crate::text::one_line(requirement)),
        reason,
    }
}

/// A YAML error as `file:line:column: not a valid <what>: …`.
pub(in crate::inventory::npm) fn yaml_error(
    path: &Path,
    what: &str,
    error: &serde_norway::Error,
) -> ScanError {
    let text = error.to_string();
    // The location is given apart; the message repeats it.
    let message = match text.find(" at line ") {
        Some(at) => &text[..at],
        None => &text,
    };
    let message = format!("not a valid {what}: {}", crate::text::one_line(message));
    match error.location() {
        Some(location) => ScanError::BadInputAt {
            path: path.to_path_buf(),
            line: location.line(),
            column: Some(location.column()),
            message,
        },
        None => ScanError::BadInput {
            path: path.to_path_buf(),
            message,
        },
    }
}

/// A YAML scalar read as text whatever its type (`version: 6`,
/// `lockfileVersion: 5.4`, `'6.0'`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(in crate::inventory::npm) struct Text(pub String);

impl<'de> serde::Deserialize<'de> for Text {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Text, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Text;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string or a number")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Text, E> {
                Ok(Text(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// Top-level keys of a block (`indent` spaces deep) and the lines each
/// spans, found by scanning the text: a YAML parser does not tell lines.
/// From the line after `start` (0-based) up to the next line indented
/// less than `indent` (not blank, not a comment).
pub(in crate::inventory::npm) fn key_lines(
    text: &str,
    start: usize,
    indent: usize,
) -> HashMap<String, LockLines> {
    let mut found = HashMap::new();
    let mut current: Option<(String, u32, u32)> = None;
    for (number, line) in text.lines().enumerate().skip(start) {
        let line_number = number as u32 + 1;
        let trimmed = line.trim_start_matches(' ');
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let depth = line.len() - trimmed.len();
        if depth < indent {
            break;
        }
        if depth == indent {
            if let Some((key, first, last)) = current.take() {
                found.entry(key).or_insert(LockLines {
                    start: first,
                    end: last,
                });
            }
            if let Some(key) = yaml_key(trimmed) {
                current = Some((key, line_number, line_number));
            }
            continue;
        }
        if let Some((_, _, last)) = current.as_mut() {
            *last = line_number;
        }
    }
    if let Some((key, first, last)) = current {
        found.entry(key).or_insert(LockLines {
            start: first,
            end: last,
        });
    }
    found
}

/// The key of a `key:` or `key: value` line, unquoted.
pub(in crate::inventory::npm) fn yaml_key(line: &str) -> Option<String> {
    let line = line.trim_end();
    if let Some(rest) = line.strip_prefix('\'') {
        let mut key = String::new();
        let mut chars = rest.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\'' {
                if chars.peek() == Some(&'\'') {
                    chars.next();
                    key.push('\'');
                    continue;
                }
                return chars.next().filter(|&c| c == ':').map(|_| key);
            }
            key.push(c);
        }
        return None;
    }
    if let Some(rest) = line.strip_prefix('"') {
        let mut key = String::new();
        let mut chars = rest.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => key.push(chars.next()?),
                '"' => return chars.next().filter(|&c| c == ':').map(|_| key),
                c => key.push(c),
            }
        }
        return None;
    }
    // A plain key ends at the first `: ` or a final `:`.
    if let Some(at) = line.find(": ") {
        return Some(line[..at].to_string());
    }
    line.strip_suffix(':').map(str::to_string)
}

/// The name of a member's directory (`packages/web` → `web`; the lock's
/// own directory for `.`).
pub(in crate::inventory::npm) fn directory_name(lock: &Path, dir: &str) -> Option<String> {
    if dir != "." {
        return dir.rsplit('/').next().map(str::to_string);
    }
    let directory = crate::files::directory_of(lock);
    directory
        .canonicalize()
        .ok()
        .and_then(|d| d.file_name()?.to_str().map(str::to_string))
        .or_else(|| directory.file_name()?.to_str().map(str::to_string))
}

//! lockfileVersion 1 (npm 5 and 6) and npm 2–4 shrinkwraps: `dependencies`
//! objects nested where npm installs each package, each entry with its
//! `version` (or, for an alias, git, tarball or `file:` dependency, what
//! was installed instead), `resolved`, `integrity`, `dev`, `optional`,
//! and `requires` (names, resolved as Node does from the entry's place).
//!
//! The lock does not list the project's own dependencies: the root gets
//! an edge to every top-level entry nothing requires, then to whatever
//! is still unreached. Shrinkwraps older than `requires` get edges to
//! their nested entries instead. Workspace members cannot be told from
//! `file:` dependencies here (both are `file:` versions): they are local
//! packages, unchecked.

use super::json::{Json, Member, Members, Names, Text};
use super::placed::{node_lookup, Lock, Locked, Project};
use crate::error::ScanError;
use crate::inventory::EdgeKind;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::collections::{HashMap, HashSet, VecDeque};

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct Entry<'a> {
    #[serde(borrow)]
    version: Option<Text<'a>>,
    /// npm 6 writes `"resolved": false` for some bundled dependencies.
    #[serde(borrow, deserialize_with = "text_or_false")]
    resolved: Option<Text<'a>>,
    #[serde(borrow)]
    integrity: Option<Text<'a>>,
    dev: bool,
    optional: bool,
    #[serde(borrow)]
    requires: Option<&'a RawValue>,
    #[serde(borrow)]
    dependencies: Option<&'a RawValue>,
}

/// A string, or `false`/`null` for none.
fn text_or_false<'de: 'a, 'a, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Text<'a>>, D::Error> {
    let raw = <Option<&'a RawValue>>::deserialize(deserializer)?;
    match raw.map(RawValue::get) {
        None | Some("false") | Some("null") => Ok(None),
        Some(text) => serde_json::from_str::<Text<'a>>(text)
            .map(Some)
            .map_err(|_| serde::de::Error::custom("expected a string or false")),
    }
}

/// One entry read, with what its edges need.
struct Row<'a> {
    location: String,
    placement: usize,
    /// `None` in shrinkwraps older than `requires`.
    requires: Option<Vec<Text<'a>>>,
    /// The placements of the entries nested in it.
    nested: Vec<usize>,
    /// How the root reaches it, if the root does directly.
    kind: EdgeKind,
}

pub(super) fn read<'a>(
    json: &Json<'a>,
    dependencies: Option<&'a RawValue>,
    project: &Project,
) -> Result<Lock, ScanError> {
    let mut lock = Lock {
        placements: vec![project.root(json, None, None)],
        root: 0,
        unreadable: Vec::new(),
    };
    let mut rows: Vec<Row> = Vec::new();
    let mut at_path: HashMap<String, usize> = HashMap::new();
    // (where they are installed, the row they are nested in, the object)
    let mut pending: VecDeque<(String, Option<usize>, &'a RawValue)> = VecDeque::new();
    if let Some(dependencies) = dependencies {
        pending.push_back((String::new(), None, dependencies));
    }
    while let Some((parent, parent_row, raw)) = pending.pop_front() {
        let members: Members = json.parse(raw.get(), &"dependencies")?;
        for (name, raw) in &members.0 {
            let entry: Entry = json.parse(raw.get(), &Member("dependencies", name))?;
            let location = if parent.is_empty() {
                format!("node_modules/{name}")
            } else {
                format!("{parent}/node_modules/{name}")
            };
            let locked = Locked {
                alias: name,
                name: None,
                version: entry.version.as_deref(),
                resolved: entry.resolved.as_deref(),
                integrity: entry.integrity.as_deref(),
                dev: entry.dev,
                lines: json.member_lines(raw),
            };
            let row = match locked.place(json.path) {
                Ok(placement) => {
                    let index = lock.placements.len();
                    lock.placements.push(placement);
                    at_path.insert(location.clone(), index);
                    if let Some(parent_row) = parent_row {
                        rows[parent_row].nested.push(index);
                    }
                    rows.push(Row {
                        location: location.clone(),
                        placement: index,
                        requires: entry.requires.map(required_names),
                        nested: Vec::new(),
                        kind: if entry.dev {
                            EdgeKind::Dev
                        } else if entry.optional {
                            EdgeKind::Optional
                        } else {
                            EdgeKind::Normal
                        },
                    });
                    Some(rows.len() - 1)
                }
                Err(unreadable) => {
                    lock.unreadable.push(unreadable);
                    None
                }
            };
            // What is nested in an unreadable entry is still installed.
            if let Some(nested) = entry.dependencies {
                pending.push_back((location, row, nested));
            }
        }
    }

    let mut buffer = String::new();
    let mut required: HashSet<usize> = HashSet::new();
    for row in &rows {
        let targets: Vec<usize> = match &row.requires {
            Some(names) => names
                .iter()
                .filter_map(|name| {
                    node_lookup(&row.location, name, &mut buffer, |path| {
                        at_path.get(path).copied()
                    })
                })
                .collect(),
            None => row.nested.clone(),
        };
        required.extend(targets.iter().copied());
        let edges = &mut lock.placements[row.placement].edges;
        edges.extend(targets.into_iter().map(|to| (to, EdgeKind::Normal)));
    }
    // The root's own dependencies: the top-level entries nothing requires.
    let kind_of: HashMap<usize, EdgeKind> = rows.iter().map(|r| (r.placement, r.kind)).collect();
    let top_level = rows
        .iter()
        .filter(|row| !row.location.contains("/node_modules/"));
    let root_edges: Vec<(usize, EdgeKind)> = top_level
        .filter(|row| !required.contains(&row.placement))
        .map(|row| (row.placement, row.kind))
        .collect();
    lock.placements[0].edges = root_edges;
    // Then whatever that leaves unreached (a cycle, an extraneous entry).
    let reached = reachable(&lock);
    let unreached: Vec<(usize, EdgeKind)> = (1..lock.placements.len())
        .filter(|placement| !reached[*placement])
        .map(|placement| {
            let kind = kind_of.get(&placement).copied().unwrap_or(EdgeKind::Normal);
            (placement, kind)
        })
        .collect();
    lock.placements[0].edges.extend(unreached);
    Ok(lock)
}

/// The names of a `requires` object; anything else (an ancient `true`)
/// names none.
fn required_names(requires: &RawValue) -> Vec<Text<'_>> {
    serde_json::from_str::<Names>(requires.get())
        .map(|names| names.0)
        .unwrap_or_default()
}

fn reachable(lock: &Lock) -> Vec<bool> {
    let mut seen = vec![false; lock.placements.len()];
    let mut queue = VecDeque::from([lock.root]);
    seen[lock.root] = true;
    while let Some(from) = queue.pop_front() {
        for &(to, _) in &lock.placements[from].edges {
            if let Some(false) = seen.get(to) {
                seen[to] = true;
                queue.push_back(to);
            }
        }
    }
    seen
}

//! The `pyproject.toml` beside a poetry or pdm lock: the project's name and
//! version, the dependencies it declares (its roots in the lock's graph),
//! and which of its groups are for development. Read loosely: a section of
//! an unexpected shape declares nothing (the lock still lists every
//! package, and what no root reaches is counted as shipped); only text that
//! is not TOML is an error.

use super::graph::{Dep, Project};
use super::syntax::{normalize_extra, toml_error};
use crate::error::ScanError;
use std::collections::BTreeSet;
use std::path::Path;
use toml::{Table, Value};

#[derive(Clone, Debug, Default)]
pub(super) struct Manifest {
    pub name: Option<String>,
    pub version: Option<String>,
    /// Main dependencies (`dev: false`, extras included: they ship with the
    /// package) and development ones (`dev: true`).
    pub roots: Vec<Dep>,
    /// `[project.optional-dependencies]` and poetry's `[tool.poetry.extras]`
    /// names, PEP 685 form.
    pub extras: BTreeSet<String>,
    /// Poetry groups but `main`, `[tool.poetry.dev-dependencies]` (`dev`),
    /// pdm's `[tool.pdm.dev-dependencies]` and PEP 735 `[dependency-groups]`.
    pub dev_groups: BTreeSet<String>,
}

impl Manifest {
    /// The project of the lock at `lock`, with these roots.
    pub(super) fn project(&self, lock: &Path) -> Project {
        Project {
            roots: Some(self.roots.clone()),
            ..Project::named(lock, self.name.as_deref(), self.version.as_deref())
        }
    }
}

pub(super) fn parse(path: &Path, text: &str) -> Result<Manifest, ScanError> {
    let table: Table =
        toml::from_str(text).map_err(|e| toml_error(path, text, "pyproject.toml", &e))?;
    let mut manifest = Manifest::default();
    if let Some(project) = table.get("project").and_then(Value::as_table) {
        manifest.name = string(project, "name");
        manifest.version = string(project, "version");
        for spec in strings(project.get("dependencies")) {
            manifest.roots.extend(pep508(spec, false));
        }
        for (extra, specs) in tables(project.get("optional-dependencies")) {
            manifest.extras.insert(normalize_extra(extra));
            for spec in strings(Some(specs)) {
                manifest.roots.extend(pep508(spec, false));
            }
        }
    }
    let tool = table.get("tool").and_then(Value::as_table);
    if let Some(poetry) = tool.and_then(|t| t.get("poetry")).and_then(Value::as_table) {
        manifest.name = manifest.name.or_else(|| string(poetry, "name"));
        manifest.version = manifest.version.or_else(|| string(poetry, "version"));
        poetry_deps(&mut manifest.roots, poetry.get("dependencies"), false);
        if poetry.contains_key("dev-dependencies") {
            manifest.dev_groups.insert("dev".to_string());
            poetry_deps(&mut manifest.roots, poetry.get("dev-dependencies"), true);
        }
        for (group, body) in tables(poetry.get("group")) {
            let group = normalize_extra(group);
            let dev = group != "main";
            if dev {
                manifest.dev_groups.insert(group);
            }
            let deps = body.as_table().and_then(|b| b.get("dependencies"));
            poetry_deps(&mut manifest.roots, deps, dev);
        }
        for (extra, _) in tables(poetry.get("extras")) {
            manifest.extras.insert(normalize_extra(extra));
        }
    }
    if let Some(pdm) = tool.and_then(|t| t.get("pdm")).and_then(Value::as_table) {
        for (group, specs) in tables(pdm.get("dev-dependencies")) {
            manifest.dev_groups.insert(normalize_extra(group));
            for spec in strings(Some(specs)) {
                manifest.roots.extend(pep508(spec, true));
            }
        }
    }
    for (group, specs) in tables(table.get("dependency-groups")) {
        manifest.dev_groups.insert(normalize_extra(group));
        // `{include-group = "…"}` entries name groups listed here anyway.
        for spec in strings(Some(specs)) {
            manifest.roots.extend(pep508(spec, true));
        }
    }
    Ok(manifest)
}

fn string(table: &Table, key: &str) -> Option<String> {
    table.get(key).and_then(Value::as_str).map(str::to_string)
}

/// The strings of an array (other items skipped).
fn strings(value: Option<&Value>) -> impl Iterator<Item = &str> {
    value
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

/// The entries of a table.
fn tables(value: Option<&Value>) -> impl Iterator<Item = (&String, &Value)> {
    value.and_then(Value::as_table).into_iter().flatten()
}

/// A PEP 508 requirement string as a root; a string that is none (pdm's
/// `-e file:///${PROJECT_ROOT}/…`) names no package of the lock.
fn pep508(spec: &str, dev: bool) -> Option<Dep> {
    Some(Dep {
        dev,
        ..Dep::from_pep508(spec)?
    })
}

/// Poetry's `name = "^1.2"` / `name = {version = …, markers = …, extras =
/// […]}` / `name = [{…}, {…}]` tables; `python` is no package.
fn poetry_deps(roots: &mut Vec<Dep>, deps: Option<&Value>, dev: bool) {
    for (name, spec) in tables(deps) {
        if name.eq_ignore_ascii_case("python") {
            continue;
        }
        let specs: Vec<&Value> = match spec {
            Value::Array(items) => items.iter().collect(),
            other => vec![other],
        };
        for spec in specs {
            let mut dep = Dep {
                dev,
                ..Dep::on(name)
            };
            match spec {
                Value::String(range) => dep.specifier = Some(range.clone()),
                Value::Table(table) => {
                    dep.specifier = string(table, "version");
                    dep.marker = string(table, "markers");
                    dep.extras = strings(table.get("extras")).map(normalize_extra).collect();
                }
                _ => {}
            }
            roots.push(dep);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poetry_pep621_pdm_and_pep735_sections() {
        let text = r#"
[project]
name = "My_App"
version = "1.2.0"
dependencies = ["Django>=3.2,<4", "colorama; sys_platform == 'win32'", "-e file:///x"]
[project.optional-dependencies]
S3 = ["boto3[crt]"]

[tool.poetry.dependencies]
python = "^3.8"
requests = {version = "^2.25", extras = ["socks"], markers = "python_version >= '3'"}
numpy = [{version = "<1.25", python = "<3.9"}, {version = ">=1.25", python = ">=3.9"}]

[tool.poetry.dev-dependencies]
black = "^22"

[tool.poetry.group.Test.dependencies]
pytest = "^7"

[tool.poetry.group.main.dependencies]
flask = "*"

[tool.pdm.dev-dependencies]
lint = ["ruff>=0.1"]

[dependency-groups]
docs = ["sphinx", {include-group = "lint"}]
"#;
        let manifest = parse(Path::new("pyproject.toml"), text).unwrap();
        assert_eq!(manifest.name.as_deref(), Some("My_App"));
        assert_eq!(manifest.version.as_deref(), Some("1.2.0"));
        let roots: Vec<(String, bool, Option<String>)> = manifest
            .roots
            .iter()
            .map(|d| (d.name.clone(), d.dev, d.marker.clone()))
            .collect();
        let main = |n: &str| (n.to_string(), false, None);
        let dev = |n: &str| (n.to_string(), true, None);
        assert_eq!(
            roots,
            [
                ("django".to_string(), false, None),
                (
                    "colorama".to_string(),
                    false,
                    Some("sys_platform == 'win32'".to_string())
                ),
                main("boto3"),
                main("numpy"),
                main("numpy"),
                (
                    "requests".to_string(),
                    false,
                    Some("python_version >= '3'".to_string())
                ),
                dev("black"),
                dev("pytest"),
                main("flask"),
                dev("ruff"),
                dev("sphinx"),
            ]
        );
        assert_eq!(manifest.roots[0].specifier.as_deref(), Some(">=3.2, <4"));
        assert_eq!(manifest.roots[5].extras, ["socks"]);
        assert_eq!(manifest.roots[2].extras, ["crt"]);
        assert_eq!(manifest.extras.iter().collect::<Vec<_>>(), ["s3"]);
        assert_eq!(
            manifest.dev_groups.iter().collect::<Vec<_>>(),
            ["dev", "docs", "lint", "test"]
        );
    }

    #[test]
    fn not_toml_is_an_error_at_its_line() {
        let error = parse(Path::new("app/pyproject.toml"), "[project]\nname = \n")
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("app/pyproject.toml:2:"), "{error}");
        assert!(!error.contains('\n'), "{error}");
        // Shapes it does not expect declare nothing.
        let manifest = parse(
            Path::new("pyproject.toml"),
            "project = 3\n[tool.poetry]\ndependencies = [\"x\"]\n",
        )
        .unwrap();
        assert!(manifest.roots.is_empty());
    }
}

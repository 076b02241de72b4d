//! The composite action (`action.yml`), run the way a runner would: each
//! `run:` step with bash, its `env:` and `if:` evaluated from the inputs, the
//! event, the environment and earlier steps' outputs, fake GITHUB_* files and
//! an event payload. `uses:` steps are not run: their `if:` is evaluated and
//! their resolved `with:` recorded, so tests can check both. secgate is the
//! binary cargo built (`SECGATE_BIN`), or a fake that logs its arguments and
//! exits with a chosen code.

mod common;

use serde_norway::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn action_text() -> String {
    std::fs::read_to_string(manifest_dir().join("action.yml")).unwrap()
}

fn action() -> Value {
    serde_norway::from_str(&action_text()).unwrap()
}

fn steps(action: &Value) -> Vec<Value> {
    action["runs"]["steps"].as_sequence().unwrap().clone()
}

fn str_of<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

/// A step's id, else its name.
fn label(step: &Value) -> String {
    str_of(step, "id")
        .or_else(|| str_of(step, "name"))
        .unwrap_or("")
        .to_string()
}

// ---------------------------------------------------------------------------
// Expressions: the part of GitHub's expression language the action uses.
// Anything else is a test failure, never silently true or empty.

#[derive(Debug, Clone, PartialEq)]
enum Val {
    Str(String),
    Bool(bool),
}

impl Val {
    fn truthy(&self) -> bool {
        match self {
            Val::Str(s) => !s.is_empty(),
            Val::Bool(b) => *b,
        }
    }

    fn into_string(self) -> String {
        match self {
            Val::Str(s) => s,
            Val::Bool(b) => b.to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    Not,
    Eq,
    Ne,
    And,
    Or,
    Str(String),
    Name(String),
    Call(String),
}

fn tokenize(expr: &str) -> Vec<Token> {
    let chars: Vec<char> = expr.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            ' ' | '\t' | '\n' | '\r' => i += 1,
            '(' => {
                tokens.push(Token::Open);
                i += 1;
            }
            ')' => {
                tokens.push(Token::Close);
                i += 1;
            }
            '!' if next == Some('=') => {
                tokens.push(Token::Ne);
                i += 2;
            }
            '!' => {
                tokens.push(Token::Not);
                i += 1;
            }
            '=' if next == Some('=') => {
                tokens.push(Token::Eq);
                i += 2;
            }
            '&' if next == Some('&') => {
                tokens.push(Token::And);
                i += 2;
            }
            '|' if next == Some('|') => {
                tokens.push(Token::Or);
                i += 2;
            }
            '\'' => {
                let mut text = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            text.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(&c) => {
                            text.push(c);
                            i += 1;
                        }
                        None => panic!("unterminated string in `{expr}`"),
                    }
                }
                tokens.push(Token::Str(text));
            }
            c if c.is_ascii_alphanumeric() || c == '_' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric() || matches!(chars[i], '_' | '-' | '.'))
                {
                    i += 1;
                }
                let name: String = chars[start..i].iter().collect();
                if chars.get(i) == Some(&'(') {
                    assert_eq!(
                        chars.get(i + 1),
                        Some(&')'),
                        "function with arguments in `{expr}`: not supported by this harness"
                    );
                    tokens.push(Token::Call(name));
                    i += 2;
                } else {
                    tokens.push(Token::Name(name));
                }
            }
            other => panic!("unsupported character `{other}` in expression `{expr}`"),
        }
    }
    tokens
}

/// What expressions see: `inputs.*`, `github.*`, `runner.*`, step outputs,
/// `env.*` (the workflow's environment) and the event payload.
struct Context {
    values: BTreeMap<String, String>,
    env: BTreeMap<String, String>,
    event: serde_json::Value,
    /// Whether an earlier step failed (for success() and failure()).
    failed: bool,
}

impl Context {
    fn lookup(&self, name: &str) -> Val {
        if let Some(var) = name.strip_prefix("env.") {
            return Val::Str(self.env.get(var).cloned().unwrap_or_default());
        }
        if name.starts_with("steps.") && name.contains(".outputs.") {
            // An output never set is empty, as on GitHub.
            return Val::Str(self.values.get(name).cloned().unwrap_or_default());
        }
        if let Some(path) = name.strip_prefix("github.event.") {
            let mut value = &self.event;
            for part in path.split('.') {
                value = &value[part];
            }
            return match value {
                serde_json::Value::Null => Val::Str(String::new()),
                serde_json::Value::String(s) => Val::Str(s.clone()),
                serde_json::Value::Bool(b) => Val::Bool(*b),
                other => Val::Str(other.to_string()),
            };
        }
        match name {
            "true" => Val::Bool(true),
            "false" => Val::Bool(false),
            "null" => Val::Str(String::new()),
            _ => match self.values.get(name) {
                Some(value) => Val::Str(value.clone()),
                None => panic!("unresolved expression `{name}`"),
            },
        }
    }

    fn eval(&self, expr: &str) -> Val {
        let tokens = tokenize(expr);
        let mut parser = Parser {
            tokens: &tokens,
            at: 0,
            context: self,
        };
        let value = parser.or();
        assert_eq!(parser.at, tokens.len(), "trailing tokens in `{expr}`");
        value
    }

    /// An `if:`; without a status function it means `success() && (...)`.
    fn condition(&self, expr: &str) -> bool {
        let expr = expr.trim();
        let expr = expr
            .strip_prefix("${{")
            .and_then(|e| e.strip_suffix("}}"))
            .unwrap_or(expr);
        let status = ["always()", "success()", "failure()", "cancelled()"]
            .iter()
            .any(|f| expr.contains(f));
        let holds = self.eval(expr).truthy();
        if status {
            holds
        } else {
            !self.failed && holds
        }
    }

    /// Replaces every `${{ expr }}` in `text`.
    fn resolve(&self, text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${{") {
            out.push_str(&rest[..start]);
            let end = rest[start..].find("}}").expect("closed expression") + start;
            out.push_str(&self.eval(&rest[start + 3..end]).into_string());
            rest = &rest[end + 2..];
        }
        out.push_str(rest);
        out
    }
}

struct Parser<'a> {
    tokens: &'a [Token],
    at: usize,
    context: &'a Context,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Token {
        let token = self.tokens.get(self.at).cloned().expect("more tokens");
        self.at += 1;
        token
    }

    fn or(&mut self) -> Val {
        let mut left = self.and();
        while self.peek() == Some(&Token::Or) {
            self.at += 1;
            let right = self.and();
            left = if left.truthy() { left } else { right };
        }
        left
    }

    fn and(&mut self) -> Val {
        let mut left = self.unary();
        while self.peek() == Some(&Token::And) {
            self.at += 1;
            let right = self.unary();
            left = if left.truthy() { right } else { left };
        }
        left
    }

    fn unary(&mut self) -> Val {
        if self.peek() == Some(&Token::Not) {
            self.at += 1;
            return Val::Bool(!self.unary().truthy());
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Val {
        let left = self.primary();
        let equal = match self.peek() {
            Some(Token::Eq) => true,
            Some(Token::Ne) => false,
            _ => return left,
        };
        self.at += 1;
        let right = self.primary();
        // GitHub compares strings ignoring case.
        let same = match (&left, &right) {
            (Val::Str(a), Val::Str(b)) => a.eq_ignore_ascii_case(b),
            (Val::Bool(a), Val::Bool(b)) => a == b,
            _ => panic!("comparison of {left:?} with {right:?}: not supported by this harness"),
        };
        Val::Bool(same == equal)
    }

    fn primary(&mut self) -> Val {
        match self.next() {
            Token::Open => {
                let value = self.or();
                assert_eq!(self.next(), Token::Close, "unbalanced parentheses");
                value
            }
            Token::Str(s) => Val::Str(s),
            Token::Name(name) => self.context.lookup(&name),
            Token::Call(name) => Val::Bool(match name.as_str() {
                "always" => true,
                "success" => !self.context.failed,
                "failure" => self.context.failed,
                "cancelled" => false,
                other => panic!("function {other}() is not supported by this harness"),
            }),
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[test]
fn the_harness_evaluates_expressions_as_github_does() {
    let mut values = BTreeMap::new();
    values.insert("inputs.flag".to_string(), "true".to_string());
    values.insert("inputs.empty".to_string(), String::new());
    values.insert("steps.a.outputs.x".to_string(), "Yes".to_string());
    let context = Context {
        values,
        env: BTreeMap::from([("SET".to_string(), "1".to_string())]),
        event: serde_json::json!({"pull_request": {"head": {"repo": {"full_name": "o/r"}}}}),
        failed: false,
    };
    assert!(context.condition("inputs.flag == 'true'"));
    assert!(
        context.condition("steps.a.outputs.x == 'yes'"),
        "case-insensitive"
    );
    assert!(!context.condition("steps.never.outputs.set != ''"));
    assert!(context.condition("env.SET != '' && env.UNSET == ''"));
    assert!(context.condition("!(inputs.empty) && (inputs.flag == 'false' || always())"));
    assert!(context.condition("github.event.pull_request.head.repo.full_name == 'o/r'"));
    assert!(context.condition("${{ github.event.missing.key == '' }}"));
    let failed = Context {
        failed: true,
        ..context
    };
    assert!(
        !failed.condition("inputs.flag == 'true'"),
        "implicit success()"
    );
    assert!(failed.condition("always() && inputs.flag == 'true'"));
    assert!(failed.condition("failure()"));
    assert_eq!(failed.resolve("a-${{ inputs.flag }}-b"), "a-true-b");
    for bad in ["inputs.nope == ''", "format('{0}', 1)", "inputs.flag = 'x'"] {
        assert!(
            std::panic::catch_unwind(|| failed.condition(bad)).is_err(),
            "{bad} must not evaluate"
        );
    }
}

/// `$GITHUB_OUTPUT` as the runner reads it: `name=value` lines and
/// `name<<DELIMITER` ... `DELIMITER` blocks; anything else fails the step.
fn parse_outputs(text: &str) -> BTreeMap<String, String> {
    let mut outputs = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line.is_empty() {
            continue;
        }
        let equals = line.find('=');
        let heredoc = line.find("<<");
        match (equals, heredoc) {
            (Some(e), h) if h.is_none_or(|h| e < h) => {
                let (name, value) = (&line[..e], &line[e + 1..]);
                assert!(!name.is_empty(), "an output without a name: {line:?}");
                outputs.insert(name.to_string(), value.to_string());
            }
            (_, Some(h)) => {
                let (name, delimiter) = (&line[..h], &line[h + 2..]);
                assert!(!name.is_empty() && !delimiter.is_empty(), "{line:?}");
                let mut value = Vec::new();
                loop {
                    match lines.next() {
                        Some(l) if l == delimiter => break,
                        Some(l) => value.push(l),
                        None => panic!("output {name}: no closing delimiter {delimiter:?}"),
                    }
                }
                outputs.insert(name.to_string(), value.join("\n"));
            }
            _ => panic!("invalid line in $GITHUB_OUTPUT: {line:?}"),
        }
    }
    outputs
}

// ---------------------------------------------------------------------------
// Events.

const REPOSITORY: &str = "secgate/demo";
const BASE_SHA: &str = "1111111111111111111111111111111111111111";
const BEFORE_SHA: &str = "2222222222222222222222222222222222222222";
const HEAD_SHA: &str = "3333333333333333333333333333333333333333";
const NO_COMMIT: &str = "0000000000000000000000000000000000000000";

#[derive(Clone, Debug)]
struct Event {
    name: &'static str,
    git_ref: String,
    payload: serde_json::Value,
}

fn repository() -> serde_json::Value {
    serde_json::json!({"full_name": REPOSITORY, "default_branch": "main"})
}

/// A push to `branch`; `before` is the previous tip (zeros: a new branch).
fn push_to(branch: &str, before: &str) -> Event {
    Event {
        name: "push",
        git_ref: format!("refs/heads/{branch}"),
        payload: serde_json::json!({
            "ref": format!("refs/heads/{branch}"),
            "before": before,
            "after": HEAD_SHA,
            "repository": repository(),
        }),
    }
}

fn push(before: &str) -> Event {
    push_to("main", before)
}

fn pr_payload(base: &str, head_repository: &str) -> serde_json::Value {
    serde_json::json!({
        "number": 7,
        "pull_request": {
            "base": {"ref": "main", "sha": base, "repo": {"full_name": REPOSITORY}},
            "head": {"ref": "feature", "sha": HEAD_SHA, "repo": {"full_name": head_repository}},
        },
        "repository": repository(),
    })
}

/// A pull request from a branch of the repository itself.
fn pull_request(base: &str) -> Event {
    Event {
        name: "pull_request",
        git_ref: "refs/pull/7/merge".into(),
        payload: pr_payload(base, REPOSITORY),
    }
}

/// A pull request from someone's fork: GitHub gives its runs a read-only token.
fn pull_request_from_fork(base: &str) -> Event {
    Event {
        name: "pull_request",
        git_ref: "refs/pull/7/merge".into(),
        payload: pr_payload(base, "someone/demo"),
    }
}

/// pull_request_target: the base branch's workflow and token, for any pull request.
fn pull_request_target(base: &str) -> Event {
    Event {
        name: "pull_request_target",
        git_ref: "refs/heads/main".into(),
        payload: pr_payload(base, "someone/demo"),
    }
}

fn workflow_dispatch() -> Event {
    Event {
        name: "workflow_dispatch",
        git_ref: "refs/heads/main".into(),
        payload: serde_json::json!({"ref": "refs/heads/main", "repository": repository()}),
    }
}

// ---------------------------------------------------------------------------
// Runs.

#[derive(Clone, Copy, Debug)]
enum Secgate {
    /// The binary cargo built, as `SECGATE_BIN`.
    Real,
    /// A script as `SECGATE_BIN` that logs its arguments and exits with
    /// `code`; with `writes` it first writes the SARIF, SBOM and report.
    Fake { code: i32, writes: bool },
    /// No `SECGATE_BIN`: the install step runs, with a fake `cargo` on PATH
    /// that logs its arguments and installs the fake secgate.
    Installed { code: i32, writes: bool },
}

/// A workspace (`$GITHUB_WORKSPACE`) with `fixture` copied to `repo/` and
/// `files` added there.
fn workspace(fixture: &str, files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let workspace = tempfile::tempdir().unwrap();
    let repo = workspace.path().join("repo");
    common::copy_tree(
        &manifest_dir().join("tests/fixtures/repos").join(fixture),
        &repo,
    );
    for (name, content) in files {
        std::fs::write(repo.join(name), content).unwrap();
    }
    workspace
}

struct Run {
    workspace: tempfile::TempDir,
    inputs: Vec<(String, String)>,
    event: Event,
    secgate: Secgate,
    /// `SECGATE_DB` (the fixture database) in the environment.
    db: bool,
    /// More of the workflow's environment.
    env: Vec<(String, String)>,
    /// Outputs of `uses:` steps whose `if:` holds: (step id, name, value).
    uses_outputs: Vec<(String, String, String)>,
    action_path: PathBuf,
}

impl Run {
    fn new(fixture: &str) -> Run {
        Run::in_workspace(workspace(fixture, &[]))
    }

    fn in_workspace(workspace: tempfile::TempDir) -> Run {
        Run {
            workspace,
            inputs: vec![("path".into(), "repo".into())],
            event: workflow_dispatch(),
            secgate: Secgate::Real,
            db: true,
            env: Vec::new(),
            uses_outputs: Vec::new(),
            action_path: manifest_dir(),
        }
    }

    /// The fake secgate, exiting with `code`, writing its outputs or not.
    fn fake(fixture: &str, code: i32, writes: bool) -> Run {
        Run {
            secgate: Secgate::Fake { code, writes },
            db: false,
            ..Run::new(fixture)
        }
    }

    fn input(mut self, name: &str, value: &str) -> Run {
        self.inputs.push((name.into(), value.into()));
        self
    }

    fn event(mut self, event: Event) -> Run {
        self.event = event;
        self
    }

    fn env(mut self, name: &str, value: &str) -> Run {
        self.env.push((name.into(), value.into()));
        self
    }

    fn uses_output(mut self, step: &str, name: &str, value: &str) -> Run {
        self.uses_outputs
            .push((step.into(), name.into(), value.into()));
        self
    }

    fn run(self) -> ActionRun {
        run_action(self)
    }
}

/// A `uses:` step as the runner would have called it.
#[derive(Debug)]
struct UsesStep {
    id: String,
    name: String,
    uses: String,
    /// Whether its `if:` held (whether it would have run).
    ran: bool,
    with: BTreeMap<String, String>,
}

struct ActionRun {
    /// The action's outputs.
    outputs: BTreeMap<String, String>,
    /// Exit status of each `run:` step that ran, by id or name.
    statuses: Vec<(String, i32)>,
    uses: Vec<UsesStep>,
    /// stdout and stderr of each `run:` step that ran, by id or name.
    logs: BTreeMap<String, (String, String)>,
    /// What each `run:` step with an id wrote to `$GITHUB_OUTPUT`.
    raw_outputs: BTreeMap<String, String>,
    check_stdout: String,
    summary: String,
    workspace: tempfile::TempDir,
}

impl ActionRun {
    fn status(&self, step: &str) -> Option<i32> {
        self.statuses
            .iter()
            .find(|(label, _)| label == step)
            .map(|(_, code)| *code)
    }

    fn last_status(&self) -> i32 {
        self.statuses.last().unwrap().1
    }

    fn stdout(&self, step: &str) -> &str {
        self.logs.get(step).map_or("", |(out, _)| out.as_str())
    }

    /// The `uses:` step whose action starts with `prefix`.
    fn uses(&self, prefix: &str) -> &UsesStep {
        let found: Vec<_> = self
            .uses
            .iter()
            .filter(|u| u.uses.starts_with(prefix))
            .collect();
        assert_eq!(found.len(), 1, "one {prefix} step: {:?}", self.uses);
        found[0]
    }

    fn uses_by_id(&self, id: &str) -> &UsesStep {
        self.uses
            .iter()
            .find(|u| u.id == id)
            .unwrap_or_else(|| panic!("no uses step {id}: {:?}", self.uses))
    }

    /// The arguments the fake secgate was run with; None when it did not run.
    fn secgate_args(&self) -> Option<Vec<String>> {
        read_args(&self.workspace.path().join("fake/secgate.args"))
    }

    /// The arguments the fake cargo was run with; None when it did not run.
    fn cargo_args(&self) -> Option<Vec<String>> {
        read_args(&self.workspace.path().join("fake/cargo.args"))
    }

    fn runner_temp(&self) -> PathBuf {
        self.workspace.path().join("runner-temp")
    }
}

fn read_args(path: &Path) -> Option<Vec<String>> {
    let bytes = std::fs::read(path).ok()?;
    Some(
        bytes
            .split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect(),
    )
}

fn shell_quote(path: &Path) -> String {
    let text = path.display().to_string();
    assert!(!text.contains('\''), "{text}");
    format!("'{text}'")
}

/// The fake secgate: logs its arguments (NUL-separated), maybe writes its
/// outputs (and an advisory database where secgate caches it), exits `code`.
fn write_fake_secgate(dir: &Path, code: i32, writes: bool) -> PathBuf {
    let high = u32::from(code == 1);
    let script = format!(
        r#"#!/usr/bin/env bash
printf '%s\0' "$@" > {log}
sarif=; sbom=; report=
while [ $# -gt 0 ]; do
  case "$1" in
    --sarif) sarif=$2; shift ;;
    --sbom) sbom=$2; shift ;;
    --report) report=$2; shift ;;
  esac
  shift
done
if {writes}; then
  printf '%s\n' '{{"version":"2.1.0","runs":[]}}' > "$sarif"
  printf '%s\n' '{{"bomFormat":"CycloneDX","specVersion":"1.5"}}' > "$sbom"
  printf '{{"counts":{{"critical":0,"high":{high},"medium":0,"low":0,"info":0}}}}\n' > "$report"
  if [ -z "${{SECGATE_DB:-}}" ]; then mkdir -p "${{XDG_CACHE_HOME:-$HOME/.cache}}/secgate/advisory-db"; fi
fi
echo "secgate (fake): exit {code}" >&2
exit {code}
"#,
        log = shell_quote(&dir.join("secgate.args")),
    );
    let path = dir.join("secgate");
    write_executable(&path, &script);
    path
}

/// The fake cargo: logs its arguments, "installs" the fake secgate into `--root`.
fn write_fake_cargo(dir: &Path, fake_secgate: &Path) {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let script = format!(
        r#"#!/usr/bin/env bash
printf '%s\0' "$@" > {log}
root=
while [ $# -gt 0 ]; do
  case "$1" in --root) root=$2; shift ;; esac
  shift
done
mkdir -p "$root/bin"
cp {secgate} "$root/bin/secgate"
"#,
        log = shell_quote(&dir.join("cargo.args")),
        secgate = shell_quote(fake_secgate),
    );
    write_executable(&bin.join("cargo"), &script);
}

fn write_executable(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn run_action(run: Run) -> ActionRun {
    // The steps run jq from PATH (GitHub's runners have it).
    common::require(
        "jq (the action's steps run it from PATH)",
        None,
        &common::on_path("jq"),
        common::SETUP,
    );
    let action = action();
    let root = run.workspace.path().to_path_buf();
    let temp = root.join("runner-temp");
    std::fs::create_dir_all(&temp).unwrap();
    let summary = root.join("step-summary.md");
    let github_env = root.join("github-env");
    let event_path = root.join("event.json");
    std::fs::write(&event_path, run.event.payload.to_string()).unwrap();
    std::fs::write(&summary, "").unwrap();
    std::fs::write(&github_env, "").unwrap();

    let mut path_var = std::env::var("PATH").unwrap();
    // The workflow's environment: what `env.*` sees, and every step gets.
    let mut user_env: BTreeMap<String, String> = BTreeMap::new();
    user_env.insert(
        "SECGATE_DB_URL".into(),
        "http://127.0.0.1:9/advisory-db.tar.gz".into(),
    );
    let fake = root.join("fake");
    match run.secgate {
        Secgate::Real => {
            user_env.insert(
                "SECGATE_BIN".into(),
                assert_cmd::cargo::cargo_bin("secgate")
                    .display()
                    .to_string(),
            );
        }
        Secgate::Fake { code, writes } => {
            std::fs::create_dir_all(&fake).unwrap();
            let bin = write_fake_secgate(&fake, code, writes);
            user_env.insert("SECGATE_BIN".into(), bin.display().to_string());
        }
        Secgate::Installed { code, writes } => {
            std::fs::create_dir_all(&fake).unwrap();
            let bin = write_fake_secgate(&fake, code, writes);
            write_fake_cargo(&fake, &bin);
            path_var = format!("{}:{path_var}", fake.join("bin").display());
        }
    }
    if run.db {
        user_env.insert(
            "SECGATE_DB".into(),
            manifest_dir()
                .join("tests/fixtures/advisory-db")
                .display()
                .to_string(),
        );
    }
    for (name, value) in &run.env {
        user_env.insert(name.clone(), value.clone());
    }

    let mut values = BTreeMap::new();
    for (name, spec) in action["inputs"].as_mapping().unwrap() {
        let name = name.as_str().unwrap();
        let default = str_of(spec, "default").unwrap_or("").to_string();
        values.insert(format!("inputs.{name}"), default);
    }
    for (name, value) in &run.inputs {
        assert!(
            values.contains_key(&format!("inputs.{name}")),
            "no input {name}"
        );
        values.insert(format!("inputs.{name}"), value.clone());
    }
    let action_path = run.action_path.display().to_string();
    for (key, value) in [
        ("github.action_path", action_path.as_str()),
        ("github.event_name", run.event.name),
        ("github.ref", run.event.git_ref.as_str()),
        ("github.repository", REPOSITORY),
        ("github.run_id", "4242"),
        // Composite actions do not reliably get it: often empty on GitHub.
        ("github.action_ref", ""),
        ("github.workspace", &root.display().to_string()),
        ("runner.temp", &temp.display().to_string()),
        ("runner.os", "Linux"),
        ("runner.arch", "X64"),
    ] {
        values.insert(key.to_string(), value.to_string());
    }
    let mut context = Context {
        values,
        env: user_env.clone(),
        event: run.event.payload.clone(),
        failed: false,
    };

    let mut statuses: Vec<(String, i32)> = Vec::new();
    let mut uses = Vec::new();
    let mut logs = BTreeMap::new();
    let mut raw_outputs = BTreeMap::new();
    for (index, step) in steps(&action).iter().enumerate() {
        let label = label(step);
        let id = str_of(step, "id").unwrap_or("").to_string();
        context.failed = statuses.iter().any(|(_, code)| *code != 0);
        let holds = context.condition(str_of(step, "if").unwrap_or("success()"));
        if let Some(action_ref) = str_of(step, "uses") {
            let mut with = BTreeMap::new();
            if let Some(mapping) = step.get("with").and_then(Value::as_mapping) {
                for (key, value) in mapping {
                    let text = match value {
                        Value::String(s) => s.clone(),
                        other => serde_norway::to_string(other).unwrap().trim().to_string(),
                    };
                    with.insert(key.as_str().unwrap().to_string(), context.resolve(&text));
                }
            }
            if holds {
                for (step_id, name, value) in &run.uses_outputs {
                    if *step_id == id {
                        context
                            .values
                            .insert(format!("steps.{id}.outputs.{name}"), value.clone());
                    }
                }
            }
            uses.push(UsesStep {
                id,
                name: str_of(step, "name").unwrap_or("").to_string(),
                uses: action_ref.to_string(),
                ran: holds,
                with,
            });
            continue;
        }
        let script = str_of(step, "run").expect("a step has run: or uses:");
        if !holds {
            continue;
        }
        let output_file = root.join(format!("output-{index}"));
        std::fs::write(&output_file, "").unwrap();
        let mut command = std::process::Command::new("bash");
        command
            .arg("--noprofile")
            .arg("--norc")
            .arg("-eo")
            .arg("pipefail")
            .arg("-c")
            .arg(script)
            .current_dir(&root)
            .env_clear()
            .env("PATH", &path_var)
            .env("HOME", &root)
            .env("XDG_CACHE_HOME", root.join("cache"))
            .env("GITHUB_ACTIONS", "true")
            .env("CI", "true")
            .env("GITHUB_WORKSPACE", &root)
            .env("GITHUB_OUTPUT", &output_file)
            .env("GITHUB_STEP_SUMMARY", &summary)
            .env("GITHUB_ENV", &github_env)
            .env("GITHUB_EVENT_PATH", &event_path)
            .env("GITHUB_EVENT_NAME", run.event.name)
            .env("GITHUB_REF", &run.event.git_ref)
            .env("GITHUB_REPOSITORY", REPOSITORY)
            .env("GITHUB_ACTION_PATH", &run.action_path)
            .env("RUNNER_TEMP", &temp)
            .env("RUNNER_OS", "Linux")
            .env("RUNNER_ARCH", "X64")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .envs(&user_env);
        if let Some(env) = step.get("env").and_then(Value::as_mapping) {
            for (key, value) in env {
                let value = match value {
                    Value::String(s) => s.clone(),
                    other => serde_norway::to_string(other).unwrap().trim().to_string(),
                };
                command.env(key.as_str().unwrap(), context.resolve(&value));
            }
        }
        let output = command.output().unwrap();
        let code = output.status.code().unwrap_or(-1);
        let raw = std::fs::read_to_string(&output_file).unwrap();
        if !id.is_empty() {
            for (key, value) in parse_outputs(&raw) {
                context
                    .values
                    .insert(format!("steps.{id}.outputs.{key}"), value);
            }
            raw_outputs.insert(id.clone(), raw);
        }
        logs.insert(
            label.clone(),
            (
                String::from_utf8_lossy(&output.stdout).into_owned(),
                String::from_utf8_lossy(&output.stderr).into_owned(),
            ),
        );
        statuses.push((label, code));
    }
    let mut outputs = BTreeMap::new();
    for (name, spec) in action["outputs"].as_mapping().unwrap() {
        let value = str_of(spec, "value").unwrap();
        outputs.insert(name.as_str().unwrap().to_string(), context.resolve(value));
    }
    let check_stdout = logs
        .get("check")
        .map(|(o, _)| o.clone())
        .unwrap_or_default();
    ActionRun {
        outputs,
        statuses,
        uses,
        logs,
        raw_outputs,
        check_stdout,
        summary: std::fs::read_to_string(&summary).unwrap(),
        workspace: run.workspace,
    }
}

// ---------------------------------------------------------------------------
// The action's shape.

#[test]
fn inputs_outputs_and_step_hygiene() {
    let action = action();
    assert_eq!(action["runs"]["using"], "composite");
    for input in [
        "path",
        "config",
        "scanners",
        "fail-on",
        "sarif-file",
        "sbom-file",
        "upload-sarif",
        "history",
        "version",
    ] {
        assert!(action["inputs"].get(input).is_some(), "input {input}");
    }
    assert_eq!(action["inputs"]["upload-sarif"]["default"], "true");
    // Pull requests get pull-request mode unless a workflow says otherwise.
    assert_eq!(action["inputs"]["history"]["default"], "auto");
    for output in [
        "verdict",
        "exit-code",
        "sarif-file",
        "sbom-file",
        "critical",
        "high",
        "medium",
        "low",
        "info",
    ] {
        assert!(action["outputs"].get(output).is_some(), "output {output}");
    }
    for step in steps(&action) {
        if let Some(script) = str_of(&step, "run") {
            assert_eq!(str_of(&step, "shell"), Some("bash"), "{step:?}");
            assert!(
                !script.contains("${{"),
                "expressions go through env, not the script: {script}"
            );
        }
    }
}

#[test]
fn uses_steps_have_the_right_inputs() {
    let steps = steps(&action());
    let upload = steps
        .iter()
        .find(|s| {
            str_of(s, "uses").is_some_and(|u| u.starts_with("github/codeql-action/upload-sarif@"))
        })
        .expect("an upload-sarif step");
    // Whether to upload is decided by the check step, which knows whether
    // this run wrote a SARIF; always(): even when a step before failed.
    assert_eq!(
        str_of(upload, "if"),
        Some("always() && steps.check.outputs.upload-sarif == 'true'")
    );
    assert_eq!(
        upload["with"]["sarif_file"],
        "${{ steps.check.outputs.sarif-file }}"
    );
    assert!(str_of(&upload["with"], "category").is_some());
    // The upload comes before the step that fails the job.
    let upload_at = steps.iter().position(|s| std::ptr::eq(s, upload)).unwrap();
    let last = steps.last().unwrap();
    assert!(str_of(last, "run").unwrap().contains("EXIT_CODE"));
    assert!(upload_at < steps.len() - 1);
    assert_eq!(str_of(last, "if"), Some("always()"));
}

// ---------------------------------------------------------------------------
// End to end, with the real secgate.

#[test]
fn fixture_with_findings_fails_with_annotations_and_summary() {
    let run = Run::new("mixed").run();
    assert_eq!(run.outputs["verdict"], "fail", "{:?}", run.statuses);
    assert_eq!(run.outputs["exit-code"], "1");
    assert_eq!(run.outputs["sarif-file"], "secgate.sarif");
    assert!(run.workspace.path().join("secgate.sarif").is_file());
    assert_eq!(run.outputs["sbom-file"], "sbom.cdx.json");
    let high: u32 = run.outputs["high"].parse().unwrap();
    let critical: u32 = run.outputs["critical"].parse().unwrap();
    assert!(high + critical >= 1, "{:?}", run.outputs);
    assert_eq!(
        run.status("check"),
        Some(0),
        "the check step captures the exit code"
    );
    assert_eq!(run.last_status(), 1, "the final step fails by it");
    let annotations: Vec<_> = run
        .check_stdout
        .lines()
        .filter(|l| l.starts_with("::"))
        .collect();
    assert!(
        !annotations.is_empty() && annotations.len() <= 10,
        "{}",
        run.check_stdout
    );
    assert!(
        run.check_stdout.contains("file=repo/deploy.env,line="),
        "{}",
        run.check_stdout
    );
    assert!(
        run.summary.contains("## secgate: ❌ FAIL"),
        "{}",
        run.summary
    );
    assert!(run.summary.contains("| secrets |"), "{}", run.summary);
}

#[test]
fn clean_fixture_passes() {
    let run = Run::new("clean")
        .input("sarif-file", "out/clean.sarif")
        .run();
    // The output directory does not exist: secgate says so and the action reports an error.
    assert_eq!(run.outputs["verdict"], "error", "{:?}", run.statuses);
    let run = Run::new("clean").run();
    assert_eq!(run.outputs["verdict"], "pass", "{:?}", run.statuses);
    assert_eq!(run.outputs["exit-code"], "0");
    assert_eq!(run.outputs["high"], "0");
    assert!(
        run.statuses.iter().all(|(_, code)| *code == 0),
        "{:?}",
        run.statuses
    );
    assert!(run.check_stdout.lines().all(|l| !l.starts_with("::error")));
    assert!(
        run.summary.contains("## secgate: ✅ PASS"),
        "{}",
        run.summary
    );
}

#[test]
fn the_action_runs_the_policys_external_tools_by_default() {
    // Same default as the CLI: a team's [[external]] tools are never
    // skipped by the Action without a word.
    let home = tempfile::tempdir().unwrap();
    let help = common::secgate(home.path())
        .args(["check", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    let default = str_of(&action()["inputs"]["scanners"], "default")
        .unwrap()
        .to_string();
    assert!(
        help.contains(&format!("[default: {default}]")),
        "the action's scanners default {default} is not the CLI's: {help}"
    );
    let other = std::fs::read(manifest_dir().join("tests/fixtures/external/other.sarif")).unwrap();
    let policy = b"[[external]]\nname = \"other\"\nsarif = \"other.sarif\"\n";
    let run = Run::in_workspace(workspace(
        "python",
        &[("secgate.toml", policy), ("other.sarif", &other)],
    ))
    .run();
    assert_eq!(run.outputs["verdict"], "fail", "{:?}", run.statuses);
    let sarif: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.workspace.path().join("secgate.sarif")).unwrap())
            .unwrap();
    let ids: Vec<&str> = sarif["runs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["automationDetails"]["id"].as_str())
        .collect();
    assert!(ids.contains(&"secgate/external/other/"), "{ids:?}");
}

// ---------------------------------------------------------------------------
// With the fake secgate.

/// The events the action meets, as (label, event).
fn events() -> Vec<(&'static str, Event)> {
    vec![
        ("push", push(BEFORE_SHA)),
        ("push to a new branch", push_to("feature", NO_COMMIT)),
        ("pull_request", pull_request(BASE_SHA)),
        ("pull_request from a fork", pull_request_from_fork(BASE_SHA)),
        ("pull_request_target", pull_request_target(BASE_SHA)),
        ("workflow_dispatch", workflow_dispatch()),
    ]
}

#[test]
fn the_last_step_fails_by_secgates_exit_code() {
    // (secgate's exit code, whether it wrote its outputs, verdict, final step's exit code)
    let cases = [
        (0, true, "pass", 0),
        (1, true, "fail", 1),
        (2, true, "error", 2),
        (2, false, "error", 2),
        (101, false, "error", 2),
    ];
    // A pass or fail without this run's SARIF and report is not secgate's
    // (SECGATE_BIN=/bin/true): could not check.
    let not_secgate = [(0, false), (1, false)];
    for (index, (label, event)) in events().into_iter().enumerate() {
        // Every case on the first event; on the others, a fail and an error.
        let cases = if index == 0 { &cases[..] } else { &cases[1..4] };
        let not_secgate = if index == 0 {
            &not_secgate[..]
        } else {
            &not_secgate[..1]
        };
        for &(code, writes, verdict, last) in cases {
            let run = Run::fake("clean", code, writes).event(event.clone()).run();
            let what = format!("{label}, secgate exit {code}, writes {writes}");
            assert!(run.secgate_args().is_some(), "{what}: secgate ran");
            assert_eq!(run.outputs["verdict"], verdict, "{what}");
            assert_eq!(run.outputs["exit-code"], code.to_string(), "{what}");
            let sarif = if writes { "secgate.sarif" } else { "" };
            assert_eq!(run.outputs["sarif-file"], sarif, "{what}");
            assert_eq!(
                run.status("check"),
                Some(0),
                "{what}: the check step captures it"
            );
            assert_eq!(run.last_status(), last, "{what}: {:?}", run.statuses);
            let final_log = run.stdout("Fail by the verdict");
            if last != 0 {
                assert!(
                    final_log.contains("::error title=secgate::"),
                    "{what}: {final_log}"
                );
            }
        }
        for &(code, writes) in not_secgate {
            let run = Run::fake("clean", code, writes).event(event.clone()).run();
            let what = format!("{label}, secgate exit {code} without its outputs");
            assert_eq!(run.outputs["verdict"], "error", "{what}");
            assert_eq!(run.outputs["exit-code"], "2", "{what}");
            assert_eq!(run.last_status(), 2, "{what}");
            assert!(
                run.check_stdout
                    .contains("without writing this run's SARIF and report"),
                "{what}: {}",
                run.check_stdout
            );
        }
    }
}

/// A SARIF in the workspace before the run: committed, or an earlier run's.
const STALE_SARIF: &[u8] =
    br#"{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"stale"}},"results":[]}]}"#;

fn with_stale_outputs(run: Run) -> Run {
    let root = run.workspace.path();
    std::fs::write(root.join("secgate.sarif"), STALE_SARIF).unwrap();
    std::fs::write(root.join("sbom.cdx.json"), b"{}").unwrap();
    run
}

fn assert_nothing_stale_reported(run: &ActionRun, what: &str) {
    assert_eq!(
        run.outputs["verdict"], "error",
        "{what}: {:?}",
        run.statuses
    );
    assert_eq!(
        run.outputs["sarif-file"], "",
        "{what}: not this run's SARIF"
    );
    assert_eq!(run.outputs["sbom-file"], "", "{what}: not this run's SBOM");
    assert_eq!(run.outputs["report-file"], "", "{what}");
    let upload = run.uses("github/codeql-action/upload-sarif@");
    assert!(!upload.ran, "{what}: the stale SARIF is not uploaded");
    for stale in ["secgate.sarif", "sbom.cdx.json"] {
        assert!(
            !run.workspace.path().join(stale).exists(),
            "{what}: {stale} removed before the run"
        );
    }
    assert_eq!(run.last_status(), 2, "{what}: {:?}", run.statuses);
    assert!(
        run.summary.contains("## secgate: ⚠️ ERROR"),
        "{what}: {}",
        run.summary
    );
}

#[test]
fn a_stale_sarif_is_neither_reported_nor_uploaded() {
    // secgate stops before writing (the fake: exit 2, nothing written).
    let run = with_stale_outputs(Run::fake("clean", 2, false)).run();
    assert_nothing_stale_reported(&run, "fake secgate, exit 2");
    // The real secgate with a policy error: exit 2 before any output.
    let run = with_stale_outputs(Run::in_workspace(workspace(
        "clean",
        &[("secgate.toml", b"fail-on = \"sometimes\"\n")],
    )))
    .run();
    assert_nothing_stale_reported(&run, "policy error");
    assert!(
        run.summary.contains("secgate.toml"),
        "the step summary says what secgate said: {}",
        run.summary
    );
    // When this run wrote one, that one is reported and uploaded.
    let run = with_stale_outputs(Run::new("clean")).run();
    assert_eq!(run.outputs["verdict"], "pass", "{:?}", run.statuses);
    let sarif = std::fs::read(run.workspace.path().join("secgate.sarif")).unwrap();
    assert_ne!(sarif, STALE_SARIF);
    let upload = run.uses("github/codeql-action/upload-sarif@");
    assert!(upload.ran);
    assert_eq!(upload.with["sarif_file"], "secgate.sarif");
}

/// What the check step runs secgate with before the history arguments.
fn base_args(run: &ActionRun) -> Vec<String> {
    [
        "check",
        "repo",
        "--format",
        "github",
        "--scanners",
        "advisories,secrets,sbom,external",
        "--sarif",
        "secgate.sarif",
        "--sbom",
        "sbom.cdx.json",
        "--report",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([run
        .runner_temp()
        .join("secgate-report.json")
        .display()
        .to_string()])
    .collect()
}

#[test]
fn each_event_gives_its_secgate_arguments() {
    let pr_mode = ["--new-since", BASE_SHA];
    // (event, history input (None: the default), the arguments after the common ones)
    let table: Vec<(&str, Event, Option<&str>, &[&str])> = vec![
        ("push", push(BEFORE_SHA), None, &[]),
        (
            "push",
            push(BEFORE_SHA),
            Some("true"),
            &["--since", BEFORE_SHA],
        ),
        ("push", push(BEFORE_SHA), Some("false"), &[]),
        ("push, new branch", push_to("feature", NO_COMMIT), None, &[]),
        (
            "push, new branch",
            push_to("feature", NO_COMMIT),
            Some("true"),
            &["--history"],
        ),
        ("pull_request", pull_request(BASE_SHA), None, &pr_mode),
        (
            "pull_request",
            pull_request(BASE_SHA),
            Some("auto"),
            &pr_mode,
        ),
        (
            "pull_request",
            pull_request(BASE_SHA),
            Some("true"),
            &pr_mode,
        ),
        ("pull_request", pull_request(BASE_SHA), Some("false"), &[]),
        ("fork", pull_request_from_fork(BASE_SHA), None, &pr_mode),
        ("fork", pull_request_from_fork(BASE_SHA), Some("false"), &[]),
        (
            "pull_request_target",
            pull_request_target(BASE_SHA),
            None,
            &pr_mode,
        ),
        (
            "pull_request_target",
            pull_request_target(BASE_SHA),
            Some("true"),
            &pr_mode,
        ),
        ("workflow_dispatch", workflow_dispatch(), None, &[]),
        (
            "workflow_dispatch",
            workflow_dispatch(),
            Some("true"),
            &["--history"],
        ),
        ("workflow_dispatch", workflow_dispatch(), Some("false"), &[]),
    ];
    for (label, event, history, extra) in table {
        let is_pr = matches!(event.name, "pull_request" | "pull_request_target");
        let mut run = Run::fake("clean", 0, true).event(event);
        if let Some(history) = history {
            run = run.input("history", history);
        }
        let run = run.run();
        let what = format!("{label}, history {history:?}");
        let mut expected = base_args(&run);
        expected.extend(extra.iter().map(|s| s.to_string()));
        assert_eq!(run.secgate_args(), Some(expected), "{what}");
        assert_eq!(run.outputs["verdict"], "pass", "{what}: {:?}", run.statuses);
        // Turning pull-request mode off on a pull request is said, not silent.
        let said = run
            .check_stdout
            .contains("::notice title=secgate::history: false on a pull_request");
        assert_eq!(
            said,
            is_pr && history == Some("false"),
            "{what}: {}",
            run.check_stdout
        );
    }
}

#[test]
fn no_base_commit_or_an_unknown_history_value_is_an_error() {
    let mut event = pull_request(BASE_SHA);
    event.payload["pull_request"]["base"]
        .as_object_mut()
        .unwrap()
        .remove("sha");
    let runs = [
        (
            "a pull request without its base",
            Run::fake("clean", 0, true).event(event).run(),
            "no base commit",
        ),
        (
            "history: yes",
            Run::fake("clean", 0, true)
                .event(push(BEFORE_SHA))
                .input("history", "yes")
                .run(),
            "expected auto, true or false",
        ),
    ];
    for (what, run, says) in runs {
        assert_eq!(run.secgate_args(), None, "{what}: secgate did not run");
        assert_ne!(run.outputs["verdict"], "pass", "{what}");
        assert_eq!(run.last_status(), 2, "{what}: {:?}", run.statuses);
        let said = run.logs.values().any(|(out, _)| out.contains(says));
        assert!(said, "{what}: {:?}", run.logs);
        assert!(run.summary.contains(says), "{what}: {}", run.summary);
    }
}

/// A git repository of the clean fixture (the base commit), then a pull
/// request's commit adding a leaked token and a policy that fails on nothing.
fn repo_with_a_loosening_pull_request(dir: &Path) -> String {
    common::git(dir, &["init", "-q", "-b", "main"]);
    common::git(dir, &["add", "-A"]);
    common::git(dir, &["commit", "-q", "-m", "base"]);
    let base = common::git(dir, &["rev-parse", "HEAD"]);
    common::git(dir, &["checkout", "-q", "-b", "feature"]);
    std::fs::copy(
        manifest_dir().join("tests/fixtures/repos/mixed/deploy.env"),
        dir.join("deploy.env"),
    )
    .unwrap();
    std::fs::write(dir.join("secgate.toml"), "fail-on = \"none\"\n").unwrap();
    common::git(dir, &["add", "-A"]);
    common::git(
        dir,
        &["commit", "-q", "-m", "loosen the gate, leak a token"],
    );
    base
}

#[test]
fn a_pull_request_cannot_loosen_its_own_gate() {
    let workspace = workspace("clean", &[]);
    let base = repo_with_a_loosening_pull_request(&workspace.path().join("repo"));
    let run = Run::in_workspace(workspace)
        .event(pull_request(&base))
        .run();
    assert_eq!(run.outputs["verdict"], "fail", "{:?}", run.logs);
    assert_eq!(run.last_status(), 1);
    assert!(
        run.summary.contains("differs from the one at")
            && run.summary.contains("the base's policy applies"),
        "the step summary says the pull request's policy was not applied: {}",
        run.summary
    );
    assert!(
        run.check_stdout.contains("repo/deploy.env"),
        "{}",
        run.check_stdout
    );

    // history: false stays possible, and says what it does.
    let workspace = self::workspace("clean", &[]);
    let base = repo_with_a_loosening_pull_request(&workspace.path().join("repo"));
    let run = Run::in_workspace(workspace)
        .event(pull_request(&base))
        .input("history", "false")
        .run();
    assert_eq!(run.outputs["verdict"], "pass", "{:?}", run.logs);
    assert!(
        run.check_stdout
            .contains("history: false on a pull_request event"),
        "{}",
        run.check_stdout
    );
}

#[test]
fn a_shallow_checkout_fails_closed_and_says_how_to_fetch_the_base() {
    let workspace = workspace("clean", &[]);
    let origin = workspace.path().join("origin");
    std::fs::rename(workspace.path().join("repo"), &origin).unwrap();
    let base = repo_with_a_loosening_pull_request(&origin);
    // actions/checkout's default: the head commit alone.
    let url = format!("file://{}", origin.display());
    common::git(
        workspace.path(),
        &[
            "clone", "-q", "--depth", "1", "--branch", "feature", &url, "repo",
        ],
    );
    let run = Run::in_workspace(workspace)
        .event(pull_request(&base))
        .run();
    assert_eq!(run.outputs["verdict"], "error", "{:?}", run.logs);
    assert_eq!(run.last_status(), 2);
    assert!(
        run.summary.contains("## secgate: ⚠️ ERROR") && run.summary.contains("fetch-depth: 0"),
        "the step summary says why and what to do: {}",
        run.summary
    );
}

#[test]
fn the_sarif_is_uploaded_unless_the_token_cannot_or_the_input_says_no() {
    let mut deleted_fork = pull_request_from_fork(BASE_SHA);
    deleted_fork.payload["pull_request"]["head"]["repo"] = serde_json::Value::Null;
    // (what, event, upload-sarif input, secgate's exit code, uploaded, notice)
    let table = [
        ("push", push(BEFORE_SHA), None, 0, true, false),
        ("pull_request", pull_request(BASE_SHA), None, 1, true, false),
        (
            "fork",
            pull_request_from_fork(BASE_SHA),
            None,
            0,
            false,
            true,
        ),
        (
            "fork",
            pull_request_from_fork(BASE_SHA),
            None,
            1,
            false,
            true,
        ),
        ("deleted fork", deleted_fork, None, 0, false, true),
        // The base repository's token, whoever opened the pull request.
        (
            "pull_request_target",
            pull_request_target(BASE_SHA),
            None,
            0,
            true,
            false,
        ),
        (
            "workflow_dispatch",
            workflow_dispatch(),
            None,
            0,
            true,
            false,
        ),
        (
            "push, upload-sarif: false",
            push(BEFORE_SHA),
            Some("false"),
            0,
            false,
            false,
        ),
        (
            "fork, upload-sarif: false",
            pull_request_from_fork(BASE_SHA),
            Some("false"),
            0,
            false,
            false,
        ),
    ];
    for (what, event, input, code, uploaded, notice) in table {
        let mut run = Run::fake("clean", code, true).event(event);
        if let Some(input) = input {
            run = run.input("upload-sarif", input);
        }
        let run = run.run();
        let upload = run.uses("github/codeql-action/upload-sarif@");
        assert_eq!(upload.ran, uploaded, "{what}");
        assert_eq!(upload.with["sarif_file"], "secgate.sarif", "{what}");
        assert_eq!(upload.with["category"], "secgate", "{what}");
        // The SARIF is written and named either way.
        assert_eq!(run.outputs["sarif-file"], "secgate.sarif", "{what}");
        assert_eq!(
            run.check_stdout.contains(
                "::notice title=secgate::SARIF not uploaded: this pull request comes from a fork"
            ),
            notice,
            "{what}: {}",
            run.check_stdout
        );
        // Skipping the upload changes nothing of the verdict.
        assert_eq!(run.last_status(), code, "{what}: {:?}", run.statuses);
    }
}

const INPUTS: [&str; 9] = [
    "path",
    "config",
    "scanners",
    "fail-on",
    "sarif-file",
    "sbom-file",
    "upload-sarif",
    "history",
    "version",
];

#[test]
fn an_input_with_a_line_break_cannot_forge_outputs() {
    for name in INPUTS {
        for forged in ["x\nverdict=pass\nexit-code=0", "x\r\nverdict=pass"] {
            // secgate (were it run) would say: policy violated.
            let run = Run::fake("clean", 1, true).input(name, forged).run();
            let what = format!("input {name} = {forged:?}");
            assert_eq!(run.secgate_args(), None, "{what}: secgate did not run");
            assert_eq!(run.status("prepare"), Some(2), "{what}: {:?}", run.logs);
            assert!(
                run.stdout("prepare").contains(&format!(
                    "::error title=secgate::input {name} contains a line break"
                )),
                "{what}: {}",
                run.stdout("prepare")
            );
            assert_eq!(run.outputs["verdict"], "", "{what}");
            assert_eq!(run.outputs["exit-code"], "", "{what}");
            assert_eq!(run.last_status(), 2, "{what}: {:?}", run.statuses);
            assert!(run.summary.contains("## secgate: ⚠️ ERROR"), "{what}");
        }
    }
    let run = Run::fake("clean", 0, true)
        .input("upload-sarif", "yes")
        .run();
    assert_eq!(run.status("prepare"), Some(2));
    assert_eq!(run.last_status(), 2);
}

/// The outputs a step wrote, as (name, delimiter); every one must be in the
/// delimiter form.
fn delimited_outputs(raw: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut lines = raw.lines();
    while let Some(line) = lines.next() {
        let (name, delimiter) = line
            .split_once("<<")
            .unwrap_or_else(|| panic!("not the delimiter form: {line:?}"));
        assert!(
            delimiter.len() >= 32 && !name.contains('='),
            "a guessable delimiter: {line:?}"
        );
        lines.by_ref().find(|l| *l == delimiter).expect("closed");
        found.push((name.to_string(), delimiter.to_string()));
    }
    found
}

#[test]
fn outputs_are_written_in_the_delimiter_form_with_random_delimiters() {
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..2 {
        let run = Run::fake("clean", 1, true).run();
        let mut names = Vec::new();
        for step in ["prepare", "install", "check"] {
            for (name, delimiter) in
                delimited_outputs(run.raw_outputs.get(step).map_or("", String::as_str))
            {
                assert!(seen.insert(delimiter), "a delimiter used twice");
                names.push(name);
            }
        }
        for name in [
            "bin",
            "exit-code",
            "verdict",
            "sarif-file",
            "sbom-file",
            "high",
        ] {
            assert!(names.iter().any(|n| n == name), "{name}: {names:?}");
        }
        assert_eq!(run.outputs["verdict"], "fail");
    }
}

#[test]
fn the_environment_secgate_reads_is_named() {
    let run = Run::fake("clean", 0, true)
        .env("SECGATE_DB", "/srv/advisory-db")
        .env("SECGATE_OSV_DB", "/srv/osv")
        .env("SECGATE_OSV_URL", "http://127.0.0.1:9/osv")
        .env("SECGATE_CARGO", "/opt/cargo`x")
        .run();
    let bin = run
        .workspace
        .path()
        .join("fake/secgate")
        .display()
        .to_string();
    let prepare = run.stdout("prepare");
    for (name, value) in [
        ("SECGATE_BIN", bin.as_str()),
        ("SECGATE_DB", "/srv/advisory-db"),
        ("SECGATE_DB_URL", "http://127.0.0.1:9/advisory-db.tar.gz"),
        ("SECGATE_OSV_DB", "/srv/osv"),
        ("SECGATE_OSV_URL", "http://127.0.0.1:9/osv"),
        ("SECGATE_CARGO", "/opt/cargo`x"),
    ] {
        assert!(
            prepare.contains(&format!(
                "::notice title=secgate::{name} is set in the environment ({value})"
            )),
            "{name}: {prepare}"
        );
        assert!(
            run.summary.contains(&format!(
                "`{name}` is set in the environment (`{}`)",
                value.replace('`', "'")
            )),
            "{name}: {}",
            run.summary
        );
    }
    // Nothing to name: no notice.
    let run = Run::fake("clean", 0, true).run();
    assert!(!run.summary.contains("`SECGATE_DB`"), "{}", run.summary);
    // A value cannot add a workflow command of its own.
    let run = Run::fake("clean", 0, true)
        .env("SECGATE_DB", "/x\n::error::forged")
        .run();
    assert!(
        !run.stdout("prepare")
            .lines()
            .any(|l| l.starts_with("::error")),
        "{}",
        run.stdout("prepare")
    );
    assert!(run.stdout("prepare").contains("(/x%0A::error::forged)"));
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn caches_are_restored_by_exact_keys_and_saved_by_separate_steps() {
    let steps = steps(&action());
    let caches: Vec<&Value> = steps
        .iter()
        .filter(|s| str_of(s, "uses").is_some_and(|u| u.starts_with("actions/cache")))
        .collect();
    assert_eq!(caches.len(), 4, "restore and save, crates and database");
    for cache in caches {
        let uses = str_of(cache, "uses").unwrap();
        // actions/cache itself saves in its post step, whatever the event.
        assert!(
            uses.starts_with("actions/cache/restore@") || uses.starts_with("actions/cache/save@"),
            "{uses}"
        );
        let with = cache["with"].as_mapping().unwrap();
        let keys: Vec<&str> = with.keys().filter_map(Value::as_str).collect();
        assert_eq!(keys, ["path", "key"], "{uses}: no restore-keys prefix");
        let key = str_of(&cache["with"], "key").unwrap();
        assert!(
            !key.contains("run_id") && !key.contains("action_ref"),
            "{uses}: {key}"
        );
        if uses.starts_with("actions/cache/save@") {
            let condition = str_of(cache, "if").unwrap();
            assert!(
                condition.contains("steps.prepare.outputs.save-caches == 'true'"),
                "{condition}"
            );
            assert!(!condition.contains("always()"), "{condition}");
        }
    }
}

#[test]
fn only_a_push_to_the_default_branch_saves_caches_restored_by_exact_keys() {
    let today = time::OffsetDateTime::now_utc().date().to_string();
    let lock = std::fs::read(manifest_dir().join("Cargo.lock")).unwrap();
    let crates_key = format!("secgate-crates-Linux-{}", sha256_hex(&lock));
    let db_key = format!("secgate-advisory-db-Linux-{today}");
    // (what, event, cache hits (crates, database), saved)
    let table = [
        ("push to main", push(BEFORE_SHA), (false, false), true),
        (
            "push to main, cached",
            push(BEFORE_SHA),
            (true, true),
            false,
        ),
        (
            "push to a branch",
            push_to("feature", BEFORE_SHA),
            (false, false),
            false,
        ),
        (
            "new branch",
            push_to("feature", NO_COMMIT),
            (false, false),
            false,
        ),
        (
            "pull_request",
            pull_request(BASE_SHA),
            (false, false),
            false,
        ),
        (
            "fork",
            pull_request_from_fork(BASE_SHA),
            (false, false),
            false,
        ),
        (
            "pull_request_target",
            pull_request_target(BASE_SHA),
            (false, false),
            false,
        ),
        (
            "workflow_dispatch",
            workflow_dispatch(),
            (false, false),
            false,
        ),
    ];
    for (what, event, (crates_hit, db_hit), saved) in table {
        let mut run = Run {
            secgate: Secgate::Installed {
                code: 0,
                writes: true,
            },
            ..Run::fake("clean", 0, true)
        }
        .event(event);
        if crates_hit {
            run = run.uses_output("crates-cache", "cache-hit", "true");
        }
        if db_hit {
            run = run.uses_output("db-cache", "cache-hit", "true");
        }
        let run = run.run();
        assert_eq!(run.outputs["verdict"], "pass", "{what}: {:?}", run.logs);
        let root = run.workspace.path();
        let crates_path = root.join(".cargo/registry/cache").display().to_string();
        let db_path = root.join("cache/secgate").display().to_string();
        for (restore, save, key, path) in [
            ("crates-cache", "Save the crates", &crates_key, &crates_path),
            ("db-cache", "Save the advisory", &db_key, &db_path),
        ] {
            let restore = run.uses_by_id(restore);
            assert!(restore.ran, "{what}: {restore:?}");
            assert_eq!(&restore.with["key"], key, "{what}");
            assert_eq!(&restore.with["path"], path, "{what}");
            let save = run.uses.iter().find(|u| u.name.starts_with(save)).unwrap();
            assert_eq!(save.ran, saved, "{what}: {save:?}");
            assert_eq!(&save.with["key"], key, "{what}");
            assert_eq!(&save.with["path"], path, "{what}");
        }
    }
    // A prebuilt secgate, a database checkout: nothing to cache.
    let run = Run::new("clean").event(push(BEFORE_SHA)).run();
    assert_eq!(run.outputs["verdict"], "pass");
    assert!(
        run.uses
            .iter()
            .filter(|u| u.uses.starts_with("actions/cache"))
            .all(|u| !u.ran),
        "{:?}",
        run.uses
    );
}

#[test]
fn the_version_input_installs_that_release_and_caches_nothing_of_it() {
    for (event, saves) in [(push(BEFORE_SHA), true), (pull_request(BASE_SHA), false)] {
        let run = Run {
            secgate: Secgate::Installed {
                code: 1,
                writes: true,
            },
            ..Run::fake("clean", 0, true)
        }
        .event(event)
        .input("version", "0.1.0")
        .run();
        let root = run
            .runner_temp()
            .join("secgate-install")
            .display()
            .to_string();
        assert_eq!(
            run.cargo_args(),
            Some(
                [
                    "install",
                    "--locked",
                    "--root",
                    &root,
                    "secgate",
                    "--version",
                    "0.1.0"
                ]
                .map(String::from)
                .to_vec()
            )
        );
        assert!(run.secgate_args().is_some(), "the installed secgate ran");
        assert_eq!(run.outputs["verdict"], "fail");
        assert_eq!(run.last_status(), 1);
        assert!(!run.uses_by_id("crates-cache").ran);
        let save_crates = run
            .uses
            .iter()
            .find(|u| u.name.starts_with("Save the crates"))
            .unwrap();
        assert!(!save_crates.ran);
        // The database is cached all the same, by a push to main.
        let save_db = run
            .uses
            .iter()
            .find(|u| u.name.starts_with("Save the advisory"))
            .unwrap();
        assert_eq!(save_db.ran, saves);
    }
    // Without a version: the action's own source.
    let run = Run {
        secgate: Secgate::Installed {
            code: 0,
            writes: true,
        },
        ..Run::fake("clean", 0, true)
    }
    .run();
    let root = run
        .runner_temp()
        .join("secgate-install")
        .display()
        .to_string();
    let source = manifest_dir().display().to_string();
    assert_eq!(
        run.cargo_args(),
        Some(
            ["install", "--locked", "--root", &root, "--path", &source]
                .map(String::from)
                .to_vec()
        )
    );
}

#[test]
fn restored_crates_are_kept_only_when_the_lock_file_vouches_for_them() {
    // The action's source: a Cargo.lock locking two crates.
    let action_dir = tempfile::tempdir().unwrap();
    let good = b"the crate cargo downloaded".as_slice();
    let lock = format!(
        "version = 4\n\n[[package]]\nname = \"good\"\nversion = \"1.0.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"{}\"\n\n[[package]]\nname = \"tampered\"\nversion = \"2.0.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"{}\"\n\n[[package]]\nname = \"secgate\"\nversion = \"0.1.0\"\ndependencies = [\n \"good\",\n \"tampered\",\n]\n",
        sha256_hex(good),
        sha256_hex(b"what crates.io serves"),
    );
    std::fs::write(action_dir.path().join("Cargo.lock"), &lock).unwrap();
    let run = Run {
        secgate: Secgate::Installed {
            code: 0,
            writes: true,
        },
        action_path: action_dir.path().to_path_buf(),
        ..Run::fake("clean", 0, true)
    };
    // What the cache restored.
    let registry = run
        .workspace
        .path()
        .join(".cargo/registry/cache/index.crates.io-1949cf8c6b5b557f");
    std::fs::create_dir_all(registry.join("nested")).unwrap();
    std::fs::write(registry.join("good-1.0.0.crate"), good).unwrap();
    std::fs::write(
        registry.join("tampered-2.0.0.crate"),
        b"a build script that phones home",
    )
    .unwrap();
    std::fs::write(registry.join("unlisted-0.1.0.crate"), good).unwrap();
    std::fs::write(registry.join("good-1.0.0.crate.orig"), good).unwrap();
    std::fs::write(registry.join("nested/good-1.0.0.crate"), good).unwrap();
    std::os::unix::fs::symlink(
        registry.join("good-1.0.0.crate"),
        registry.join("link-1.0.0.crate"),
    )
    .unwrap();
    std::fs::write(registry.parent().unwrap().join("good-1.0.0.crate"), good).unwrap();
    let run = run.run();
    assert_eq!(run.status("install"), Some(0), "{:?}", run.logs);
    let mut left: Vec<String> = walk(&run.workspace.path().join(".cargo/registry/cache"));
    left.sort();
    assert_eq!(left, ["index.crates.io-1949cf8c6b5b557f/good-1.0.0.crate"]);
    assert!(
        run.stdout("install")
            .contains("restored crates: 1 match Cargo.lock, 6 removed"),
        "{}",
        run.stdout("install")
    );
    assert!(run
        .stdout("install")
        .contains("::warning title=secgate::6 restored file(s)"));
    // The key follows that Cargo.lock.
    assert_eq!(
        run.uses_by_id("crates-cache").with["key"],
        format!("secgate-crates-Linux-{}", sha256_hex(lock.as_bytes()))
    );
}

/// Files (not directories) under `dir`, relative to it.
fn walk(dir: &Path) -> Vec<String> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let kind = entry.file_type().unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if kind.is_dir() {
            files.extend(
                walk(&entry.path())
                    .into_iter()
                    .map(|f| format!("{name}/{f}")),
            );
        } else {
            files.push(name);
        }
    }
    files
}

/// Checks that every `uses:` line of `text` (a workflow or action file) pins
/// a full commit SHA with a `# vX.Y.Z` comment, except actions in `except`
/// (by owner/name); returns the (action, sha, version) pins found.
fn pins(text: &str, what: &str, except: &[&str]) -> Vec<(String, String, String)> {
    let uses = regex::Regex::new(r"^\s*(?:-\s+)?uses:\s*(.*)$").unwrap();
    let pinned =
        regex::Regex::new(r"^([\w.-]+/[\w.-]+(?:/[\w./-]+)?)@([0-9a-f]{40}) # (v\d+\.\d+\.\d+)$")
            .unwrap();
    let mut found = Vec::new();
    for line in text.lines() {
        let Some(reference) = uses.captures(line).map(|c| c[1].trim().to_string()) else {
            continue;
        };
        if except
            .iter()
            .any(|own| reference.starts_with(&format!("{own}@")))
        {
            continue;
        }
        let captures = pinned.captures(&reference).unwrap_or_else(|| {
            panic!("{what}: not pinned to a full commit SHA with a # vX.Y.Z comment: {line}")
        });
        found.push((
            captures[1].to_string(),
            captures[2].to_string(),
            captures[3].to_string(),
        ));
    }
    // One repository, one version: actions/cache/restore and /save alike.
    for (action, sha, version) in &found {
        let repository: Vec<&str> = action.splitn(3, '/').take(2).collect();
        for (other, other_sha, other_version) in &found {
            if other.splitn(3, '/').take(2).collect::<Vec<_>>() == repository {
                assert_eq!(
                    (sha, version),
                    (other_sha, other_version),
                    "{what}: {action} and {other}"
                );
            }
        }
    }
    found
}

#[test]
fn every_uses_is_pinned_to_a_full_commit_sha_with_its_version() {
    let found = pins(&action_text(), "action.yml", &[]);
    let steps = steps(&action());
    let uses_steps = steps.iter().filter(|s| str_of(s, "uses").is_some()).count();
    assert_eq!(
        found.len(),
        uses_steps,
        "every uses: step is on a line of its own"
    );
    let actions: Vec<&str> = found.iter().map(|(a, _, _)| a.as_str()).collect();
    assert!(actions.contains(&"github/codeql-action/upload-sarif"));
    // upload-sarif v3 is deprecated.
    for (action, _, version) in &found {
        if action.starts_with("github/codeql-action/") {
            assert!(version.starts_with("v4."), "{action} {version}");
        }
    }
    // The checker refuses what it should.
    for bad in [
        "      uses: actions/cache/restore@v4",
        "      uses: actions/cache/restore@55cc8345863c7cc4c66a329aec7e433d2d1c52a9",
        "      uses: actions/cache/restore@55cc8345 # v6.1.0",
        "      uses: actions/cache/restore@55cc8345863c7cc4c66a329aec7e433d2d1c52a9 # v6",
    ] {
        assert!(
            std::panic::catch_unwind(|| pins(bad, "a bad pin", &[])).is_err(),
            "{bad}"
        );
    }
}

// ---------------------------------------------------------------------------
// The README's workflows.

/// The README's workflow examples: ```yaml blocks that start with a
/// `# .github/workflows/NAME` comment, as (NAME, text).
fn readme_workflows() -> Vec<(String, String)> {
    let readme = std::fs::read_to_string(manifest_dir().join("README.md")).unwrap();
    let mut workflows = Vec::new();
    let mut block: Option<String> = None;
    for line in readme.lines() {
        match &mut block {
            None if line.trim() == "```yaml" => block = Some(String::new()),
            Some(text) if line.trim() == "```" => {
                if let Some(name) = text
                    .lines()
                    .next()
                    .and_then(|l| l.strip_prefix("# .github/workflows/"))
                {
                    workflows.push((name.trim().to_string(), text.clone()));
                }
                block = None;
            }
            Some(text) => {
                text.push_str(line);
                text.push('\n');
            }
            None => {}
        }
    }
    workflows
}

fn action_validator(file: &Path) -> Result<(), String> {
    let tool = common::require(
        "action-validator (npm @action-validator/cli)",
        Some("SECGATE_ACTION_VALIDATOR"),
        &[manifest_dir().join("node_modules/.bin/action-validator")],
        common::SETUP,
    );
    let output = std::process::Command::new(tool).arg(file).output().unwrap();
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

#[test]
fn action_validator_accepts_the_action_and_the_readme_workflows() {
    action_validator(&manifest_dir().join("action.yml")).unwrap();
    let workflows = readme_workflows();
    let names: Vec<&str> = workflows.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["secgate.yml", "release.yml"]);
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in &workflows {
        let file = dir.path().join(name);
        std::fs::write(&file, text).unwrap();
        if let Err(report) = action_validator(&file) {
            // action-validator 0.6.0, the latest, has a workflow schema
            // older than GitHub's `attestations` permission (which
            // actions/attest needs). That, and only that, is forgiven: the
            // complaint is about it, and the same workflow without those
            // lines passes.
            assert!(
                report.contains("Additional property 'attestations' is not allowed"),
                "action-validator rejects the README's {name}:\n{report}"
            );
            let without: String = text
                .lines()
                .filter(|l| !l.trim_start().starts_with("attestations: write"))
                .map(|l| format!("{l}\n"))
                .collect();
            let stripped = dir.path().join(format!("without-attestations-{name}"));
            std::fs::write(&stripped, without).unwrap();
            if let Err(report) = action_validator(&stripped) {
                panic!("action-validator rejects the README's {name}:\n{report}");
            }
        }
    }
    // It can say no.
    let broken = dir.path().join("broken.yml");
    std::fs::write(
        &broken,
        "on: push\njobs:\n  a:\n    runs-onn: ubuntu-latest\n    steps:\n      - run: true\n",
    )
    .unwrap();
    assert!(action_validator(&broken).is_err());
}

fn readme_workflow(name: &str) -> (String, Value) {
    let (_, text) = readme_workflows()
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no {name} in the README"));
    let value = serde_norway::from_str(&text).unwrap();
    (text, value)
}

#[test]
fn the_readme_workflows_pin_their_actions() {
    for (name, text) in readme_workflows() {
        // secgate's own action: pinned as the user chooses.
        let found = pins(&text, &name, &["secgate/secgate"]);
        assert!(!found.is_empty(), "{name}");
    }
}

#[test]
fn the_readme_pull_request_workflow_uses_pull_request_mode() {
    let (_, workflow) = readme_workflow("secgate.yml");
    let steps = workflow["jobs"]["gate"]["steps"].as_sequence().unwrap();
    let checkout = steps
        .iter()
        .find(|s| str_of(s, "uses").is_some_and(|u| u.starts_with("actions/checkout@")))
        .unwrap();
    // The base commit is there for pull-request mode.
    assert_eq!(checkout["with"]["fetch-depth"], Value::from(0));
    assert_eq!(checkout["with"]["persist-credentials"], Value::from(false));
    let secgate = steps
        .iter()
        .find(|s| str_of(s, "uses").is_some_and(|u| u.starts_with("secgate/secgate@")))
        .unwrap();
    // The default (auto) is pull-request mode; false would turn it off.
    assert!(
        secgate.get("with").and_then(|w| w.get("history")).is_none(),
        "{secgate:?}"
    );
}

#[test]
fn the_readme_release_workflow_gates_before_publishing_with_least_privilege() {
    let (text, workflow) = readme_workflow("release.yml");
    // Before publishing: a tag push, not a published release.
    let on = workflow.get("on").expect("on: (a string key, YAML 1.2)");
    assert!(on.get("release").is_none(), "{on:?}");
    assert!(on["push"]["tags"].is_sequence(), "{on:?}");
    // Nothing workflow-wide.
    assert_eq!(
        workflow["permissions"],
        Value::Mapping(Default::default()),
        "permissions: {{}} at the top"
    );
    let jobs = workflow["jobs"].as_mapping().unwrap();
    let gate = &workflow["jobs"]["gate"];
    let read_only: Value = serde_norway::from_str("contents: read").unwrap();
    assert_eq!(gate["permissions"], read_only);
    let gate_text = serde_norway::to_string(gate).unwrap();
    for token in ["github.token", "secrets.", "GH_TOKEN", "GITHUB_TOKEN"] {
        assert!(!gate_text.contains(token), "the gate has {token}");
    }
    let runs: Vec<&str> = gate["steps"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|s| str_of(s, "run"))
        .collect();
    assert!(
        runs.iter()
            .any(|r| r.starts_with("cargo install --locked secgate --version ")),
        "{runs:?}"
    );
    assert!(runs
        .iter()
        .any(|r| r.starts_with("secgate check --profile release")));
    assert!(
        !text.contains("--git") && !text.contains("--tag"),
        "a movable ref"
    );
    for (name, job) in jobs {
        let name = name.as_str().unwrap();
        let permissions = job["permissions"]
            .as_mapping()
            .unwrap_or_else(|| panic!("{name}: permissions"));
        let writes = permissions.values().any(|v| v == "write");
        for step in job["steps"].as_sequence().unwrap() {
            let uses = str_of(step, "uses").unwrap_or("");
            if uses.starts_with("actions/checkout@") {
                assert_eq!(
                    step["with"]["persist-credentials"],
                    Value::from(false),
                    "{name}"
                );
            }
            // A job that may write runs no project code: no checkout, no build.
            if writes {
                assert!(
                    !uses.starts_with("actions/checkout@"),
                    "{name} may write and checks out the project"
                );
                if let Some(run) = str_of(step, "run") {
                    assert!(
                        !run.contains("cargo") && !run.contains("secgate "),
                        "{name} may write and runs {run}"
                    );
                }
            }
        }
        if name != "gate" {
            // Everything else comes after the gate.
            let needs = serde_norway::to_string(&job["needs"]).unwrap();
            assert!(needs.contains("gate"), "{name} needs the gate: {needs}");
        }
    }
    // The attestation: the released artifact as subject, the SBOM as predicate.
    let publish = &workflow["jobs"]["publish"];
    let attest = publish["steps"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|s| str_of(s, "uses").is_some_and(|u| u.starts_with("actions/attest")))
        .expect("an attest step");
    let subject = str_of(&attest["with"], "subject-path").unwrap();
    let sbom = str_of(&attest["with"], "sbom-path").unwrap();
    assert!(
        sbom.ends_with("sbom.cdx.json") && !subject.contains("sbom"),
        "{subject} {sbom}"
    );
    for permission in ["id-token", "attestations", "contents"] {
        assert_eq!(publish["permissions"][permission], "write", "{permission}");
    }
}

#[test]
fn the_inputs_reach_secgate_as_its_arguments() {
    // (input, value, where it goes: the argument it replaces, else appended
    // as --INPUT VALUE)
    let table = [
        ("config", "policies/strict.toml", None),
        ("fail-on", "medium", None),
        ("scanners", "secrets,sbom", Some(5)),
        ("sarif-file", "gate.sarif", Some(7)),
        ("sbom-file", "out.cdx.json", Some(9)),
        ("path", ".", Some(1)),
    ];
    for (input, value, at) in table {
        let run = Run::fake("clean", 0, true).input(input, value).run();
        let mut expected = base_args(&run);
        match at {
            Some(at) => expected[at] = value.to_string(),
            None => expected.extend([format!("--{input}"), value.to_string()]),
        }
        assert_eq!(run.secgate_args(), Some(expected), "{input}: {value}");
        assert_eq!(run.outputs["verdict"], "pass", "{input}");
    }
    let run = Run::fake("clean", 0, true)
        .input("sbom-file", "out.cdx.json")
        .input("sarif-file", "gate.sarif")
        .run();
    assert_eq!(run.outputs["sbom-file"], "out.cdx.json");
    assert_eq!(run.outputs["sarif-file"], "gate.sarif");
    assert_eq!(
        run.uses("github/codeql-action/upload-sarif@").with["sarif_file"],
        "gate.sarif"
    );
}

#[test]
fn the_inputs_change_what_the_real_secgate_decides() {
    // The mixed fixture: a leaked token and vulnerable dependencies.
    let policy: &[u8] = b"fail-on = \"none\"\n";
    let runs = [
        ("no input", Run::new("mixed"), "fail"),
        (
            "fail-on: none",
            Run::new("mixed").input("fail-on", "none"),
            "pass",
        ),
        (
            "fail-on: critical",
            Run::new("mixed").input("fail-on", "critical"),
            "fail",
        ),
        (
            "config",
            Run::in_workspace(workspace("mixed", &[("lenient.toml", policy)]))
                .input("config", "repo/lenient.toml"),
            "pass",
        ),
        (
            "scanners: sbom",
            Run::new("mixed").input("scanners", "sbom"),
            "pass",
        ),
    ];
    for (what, run, verdict) in runs {
        let run = run.run();
        assert_eq!(run.outputs["verdict"], verdict, "{what}: {:?}", run.logs);
    }
    // No SBOM written (the sbom scanner did not run): no sbom-file output.
    let run = Run::new("clean")
        .input("scanners", "secrets")
        .input("sbom-file", "out.cdx.json")
        .run();
    assert_eq!(run.outputs["verdict"], "pass", "{:?}", run.logs);
    assert_eq!(run.outputs["sbom-file"], "");
    assert!(!run.workspace.path().join("out.cdx.json").exists());
    let run = Run::new("clean").input("sbom-file", "out.cdx.json").run();
    assert_eq!(run.outputs["sbom-file"], "out.cdx.json");
    assert!(run.workspace.path().join("out.cdx.json").is_file());
}

//! Errors of the library. Every one names what it was reading.

use std::path::PathBuf;
use thiserror::Error;

/// A problem in a policy file, located by line and column.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("{file}:{line}:{column}: {message}")]
pub struct PolicyError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl PolicyError {
    /// Locates a byte span of `source` as a 1-based line and column.
    pub fn at(
        file: &str,
        source: &str,
        span: Option<std::ops::Range<usize>>,
        message: impl Into<String>,
    ) -> Self {
        let offset = span.map(|s| s.start).unwrap_or(0).min(source.len());
        let before = &source[..offset];
        let line = before.matches('\n').count() + 1;
        let column = before
            .rsplit('\n')
            .next()
            .map(|l| l.chars().count())
            .unwrap_or(0)
            + 1;
        PolicyError {
            file: file.to_string(),
            line,
            column,
            message: message.into(),
        }
    }
}

/// Why a scanner could not check; the gate fails closed on it.
#[derive(Debug, Error)]
pub enum ScanError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    BadInput { path: PathBuf, message: String },
    /// `file:line: message` or `file:line:column: message`, the forms
    /// editors and terminals link.
    #[error("{}:{line}{}: {message}", path.display(), column.map(|c| format!(":{c}")).unwrap_or_default())]
    BadInputAt {
        path: PathBuf,
        line: usize,
        column: Option<usize>,
        message: String,
    },
    #[error("advisory database {path}: {message}")]
    Database { path: PathBuf, message: String },
    #[error("{0}")]
    Other(String),
}

/// Why the files of a tree could not be listed; the scanner fails closed.
#[derive(Debug, Error)]
pub enum ScopeError {
    #[error("{key}: invalid glob `{pattern}`: {message}")]
    Exclude {
        key: &'static str,
        pattern: String,
        message: String,
    },
    #[error("{} is in a git work tree, but `git {command}` failed: {message} (tracked files are listed with git; install git, or scan a copy without .git as a plain directory)", dir.display())]
    Git {
        dir: PathBuf,
        command: String,
        message: String,
    },
    #[error("{}: {why}", path.display())]
    Hazard { path: PathBuf, why: String },
}

/// Failure to write an output file.
#[derive(Debug, Error)]
#[error("cannot write {path}: {source}")]
pub struct WriteError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// A baseline file that cannot be used.
#[derive(Debug, Error)]
#[error("baseline {path}: {message}")]
pub struct BaselineError {
    pub path: String,
    pub message: String,
}

/// Why the advisory database could not be updated or read. The previous
/// database is untouched whenever one of these is returned.
#[derive(Debug, Error)]
pub enum DbError {
    /// The download itself failed: network, HTTP status, size, timeout.
    #[error("cannot download the advisory database from {url}: {message}")]
    Fetch { url: String, message: String },
    /// The download arrived but is not a usable advisory database.
    #[error("the download from {url} is not a usable advisory database: {message}")]
    Archive { url: String, message: String },
    #[error("advisory database cache {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no cache directory: set XDG_CACHE_HOME or HOME, or pass --db DIR")]
    NoCacheDir,
    /// A database URL that is never fetched; `origin` says where it was
    /// given (`--url`, `SECGATE_DB_URL`, `db.url`). No `problem` for a URL
    /// of another scheme: the rest of the message says it all.
    #[error(
        "{origin} `{url}`: {}only http:// and https:// URLs are fetched (for {})",
        problem.as_deref().map(|p| format!("{p}; ")).unwrap_or_default(),
        if origin.contains("osv") || origin.contains("OSV") {
            "local OSV archives, DIR/<Ecosystem>/all.zip, use --osv-db DIR instead"
        } else {
            "a local advisory-db checkout, use --db DIR instead"
        }
    )]
    BadUrl {
        origin: String,
        url: String,
        problem: Option<String>,
    },
    #[error("advisory database {0} does not exist")]
    Missing(PathBuf),
    /// Not `source`: the message holds it, and `{:#}` would print it twice.
    #[error("advisory database {path}: {error}")]
    Unreadable {
        path: PathBuf,
        error: std::io::Error,
    },
    /// The download is a loadable database, but much smaller than the
    /// cached one it would replace.
    #[error(
        "the download from {url} holds {fetched} advisories, far fewer than the {cached} of the cached database {}: refused, the cached database is kept (`secgate db update --force` takes it anyway)",
        path.display()
    )]
    Shrunk {
        url: String,
        fetched: usize,
        cached: usize,
        path: PathBuf,
    },
    /// A fetch record that is there but cannot be used.
    #[error("fetch record {}: {message}", path.display())]
    BadRecord { path: PathBuf, message: String },
    /// A directory given as the database that is not one.
    #[error("{path} is not a RustSec advisory-db checkout ({problem})")]
    NotACheckout { path: PathBuf, problem: String },
}

impl DbError {
    /// What to do instead when the database could not be downloaded.
    pub fn way_out(&self) -> Option<&'static str> {
        match self {
            DbError::Fetch { .. } | DbError::Archive { .. } => Some(
                "check against a local advisory-db checkout with --db DIR (or SECGATE_DB=DIR), \
                 point SECGATE_DB_URL, `db update --url` or the policy's [db] url at a reachable mirror, \
                 or check with --offline to use the database already cached",
            ),
            _ => None,
        }
    }
}

impl From<WriteError> for DbError {
    fn from(error: WriteError) -> Self {
        DbError::Io {
            path: error.path,
            source: error.source,
        }
    }
}

/// A git command that failed (pull-request mode, the pre-push hook).
#[derive(Debug, Error)]
#[error("git {command}: {message}")]
pub struct GitError {
    pub command: String,
    pub message: String,
}

impl GitError {
    pub fn new(args: &[&str], message: impl Into<String>) -> Self {
        GitError {
            command: args.first().copied().unwrap_or_default().to_string(),
            message: message.into(),
        }
    }
}

/// Installing, removing or running the pre-push hook.
#[derive(Debug, Error)]
pub enum HookError {
    #[error("{0} exists and was not written by secgate: use --force to replace it, or --chain to keep it as pre-push.local and run it first")]
    Foreign(PathBuf),
    #[error("{0} already exists: cannot chain another hook")]
    ChainOccupied(PathBuf),
    #[error("{0} was not written by secgate: left alone")]
    NotOurs(PathBuf),
    #[error("pre-push input line {line}: expected `<local ref> <local sha> <remote ref> <remote sha>`, got `{text}`")]
    BadInput { line: usize, text: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Git(#[from] GitError),
}

/// Why an OSV archive could not be read; the check cannot vouch for
/// anything then.
#[derive(Debug, Error)]
pub enum OsvError {
    #[error("OSV archive {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("OSV archive {}: not a readable zip archive: {message}", path.display())]
    Zip { path: PathBuf, message: String },
    #[error("OSV archive {}: entry {entry}: {message}", path.display())]
    Record {
        path: PathBuf,
        entry: String,
        message: String,
    },
    #[error("OSV archive {}: holds no {ecosystem} advisories (an empty database cannot vouch for anything)", path.display())]
    Empty { path: PathBuf, ecosystem: String },
    #[error("{0} crashed")]
    Crashed(String),
}

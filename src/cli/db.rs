//! The advisory database cache: `secgate db update`, `secgate db status`,
//! and the refresh before a check that reads the cache.

use super::args::DbCommand;
use super::new_runtime;
use super::output;
use super::policy::read_policy;
use anyhow::{bail, Context, Result};
use secgate::advisory::rustsec::checkout::{self, FetchAge};
use secgate::db::osv::{self, OsvCache};
use secgate::db::{self, Cache, UpdateOutcome};
use secgate::duration::format_duration;
use secgate::gate::verdict::Outcome;
use secgate::inventory::Ecosystem;
use secgate::policy::Policy;
use std::path::Path;

/// `SECGATE_HTTP_TIMEOUT_SECS`, else the default.
fn http_timeout() -> Result<std::time::Duration> {
    match std::env::var(db::TIMEOUT_ENV) {
        Err(_) => Ok(db::DEFAULT_TIMEOUT),
        Ok(text) => match text.trim().parse::<u64>() {
            Ok(seconds) if seconds > 0 => Ok(std::time::Duration::from_secs(seconds)),
            _ => bail!(
                "{}: expected a whole number of seconds above 0, not `{text}`",
                db::TIMEOUT_ENV
            ),
        },
    }
}

pub fn run_db(command: DbCommand) -> Result<Outcome> {
    let now = time::OffsetDateTime::now_utc();
    match command {
        DbCommand::Update {
            url,
            osv_url,
            config,
            force,
        } => {
            let cache = Cache::default_location()?;
            let policy = read_policy(config.as_deref(), Path::new("."), None)?;
            let url = match url {
                Some(url) => db::parse_url("--url", &url)?,
                None => db::resolve_url(&policy.db.url)?,
            };
            // Every URL is checked before anything is fetched.
            let osv_url = match osv_url {
                Some(url) => db::parse_url("--osv-url", &url)?,
                None => osv::resolve_url(&policy.db.osv_url)?,
            };
            let timeout = http_timeout()?;
            let runtime = new_runtime()?;
            let outcome = runtime.block_on(db::update(&url, &cache, timeout, force))?;
            match outcome {
                UpdateOutcome::Updated { advisories } => output::say(format_args!(
                    "advisory database updated: {advisories} advisories from {url} in {}",
                    cache.dir().display()
                )),
                UpdateOutcome::NotModified | UpdateOutcome::AlreadyFresh => {
                    output::say(format_args!(
                        "advisory database is up to date (not modified at {url}): {}",
                        cache.dir().display()
                    ))
                }
            }
            let osv_cache = OsvCache::default_location()?;
            let index_dir = osv::default_index_dir()?;
            for &ecosystem in &policy.db.osv_ecosystems {
                let archive_url = osv::archive_url(&osv_url, ecosystem);
                let outcome = runtime.block_on(fetch_osv(
                    &osv_url, &osv_cache, ecosystem, &index_dir, timeout, None, force,
                ))?;
                let archive = osv_cache.archive(ecosystem);
                match outcome {
                    UpdateOutcome::Updated { advisories } => output::say(format_args!(
                        "{ecosystem} advisories updated: {advisories} from {archive_url} in {}",
                        archive.display(),
                        ecosystem = ecosystem.as_str()
                    )),
                    UpdateOutcome::NotModified | UpdateOutcome::AlreadyFresh => {
                        output::say(format_args!(
                            "{} advisories are up to date (not modified at {archive_url}): {}",
                            ecosystem.as_str(),
                            archive.display()
                        ))
                    }
                }
            }
            Ok(Outcome::Pass)
        }
        DbCommand::Status { config, db } => {
            let policy = read_policy(config.as_deref(), Path::new("."), None)?;
            let dir = match db {
                Some(dir) => {
                    // Checked first: a wrong --db is named, not reported as a missing crates/.
                    checkout::check_checkout(&dir)?;
                    output::field("path", dir.display());
                    output::field(
                        "source",
                        "--db / SECGATE_DB (a local checkout, never fetched)",
                    );
                    dir
                }
                None => {
                    let cache = Cache::default_location()?;
                    output::field("path", cache.dir().display());
                    if !cache.is_present() {
                        output::field(
                            "status",
                            "missing (run `secgate db update`, or pass --db DIR to check)",
                        );
                        return Ok(Outcome::CouldNotCheck);
                    }
                    match cache.record() {
                        Some(record) => {
                            let age = match cache.age(now) {
                                Some(FetchAge::Ago(age)) => {
                                    format!(" ({} ago)", format_duration(age))
                                }
                                Some(FetchAge::Future) => {
                                    " (in the future: due for refresh)".to_string()
                                }
                                None => String::new(),
                            };
                            output::field("fetched-at", format_args!("{}{age}", record.fetched_at));
                            output::field("url", &record.url);
                        }
                        None => output::field("fetched-at", "unknown (no fetch record)"),
                    }
                    cache.dir().to_path_buf()
                }
            };
            let guard = checkout::read_guard(&dir);
            let database = rustsec::Database::open(&dir)
                .with_context(|| format!("advisory database {} does not load", dir.display()))?;
            drop(guard);
            let freshness = checkout::freshness(&database, &dir, now);
            output::field(
                "advisories",
                format_args!(
                    "{}, newest {}",
                    freshness.advisories,
                    freshness.newest.as_deref().unwrap_or("unknown")
                ),
            );
            let max_age = policy.gate.db_max_age;
            // As `check` counts it: since the fetch, else since the newest advisory.
            let since = match freshness.fetched_at {
                Some(_) => "",
                None => " since the newest advisory",
            };
            match freshness.age {
                Some(FetchAge::Future) => output::field("age", format_args!(
                    "unknown, fetched in the future (stale: counted as older than db.max-age = {}; run `secgate db update`)",
                    format_duration(max_age)
                )),
                Some(FetchAge::Ago(age)) if age > max_age => output::field("age", format_args!(
                    "{}{since} (stale: older than db.max-age = {})",
                    format_duration(age),
                    format_duration(max_age)
                )),
                Some(FetchAge::Ago(age)) => output::field("age", format_args!(
                    "{}{since} (db.max-age = {})",
                    format_duration(age),
                    format_duration(max_age)
                )),
                None => output::field("age", "unknown"),
            }
            // As `check` verifies it: a check on this database would fail.
            let counted = secgate::advisory::rustsec::count_advisories(&dir);
            let short = checkout::fetch_record(&dir)
                .and_then(|record| secgate::advisory::rustsec::shortfall(&counted, &record));
            let problem = match short {
                _ if counted.advisories == 0 => Some("it holds no advisories".to_string()),
                Some(short) => Some(format!(
                    "{} holds {}, but its fetch record counted {} at the fetch (deleted since: run `secgate db update`)",
                    short.folder.map_or("it".to_string(), |f| format!("crates/{f}")),
                    match short.on_disk {
                        1 => "1 advisory".to_string(),
                        n => format!("{n} advisories"),
                    },
                    short.fetched
                )),
                None => None,
            };
            match problem {
                Some(problem) => {
                    output::field("verified", format_args!("no: {problem}"));
                    Ok(Outcome::CouldNotCheck)
                }
                None => Ok(Outcome::Pass),
            }
        }
    }
}

/// Before an advisory check on the cache: fetch when it is missing or older
/// than `db.refresh`. A failure with an older cache present is a warning;
/// without one, the advisory scanner reports the missing database.
pub async fn refresh_cache(policy: &Policy, quiet: bool) -> Result<()> {
    let cache = Cache::default_location()?;
    // Before knowing whether a fetch is due: a URL that can never be
    // fetched fails today, not on the day the cache turns stale.
    let url = db::resolve_url(&policy.db.url)?;
    let now = time::OffsetDateTime::now_utc();
    if !cache.is_due(policy.db.refresh, now) {
        return Ok(());
    }
    if cache.age(now) == Some(FetchAge::Future) {
        output::warning(format_args!(
            "fetch record {}: fetched-at {} is in the future (more than {} ahead of this clock): refreshing the advisory database",
            cache.record_path().display(),
            cache.record().map(|r| r.fetched_at).unwrap_or_default(),
            format_duration(checkout::CLOCK_SKEW)
        ));
    }
    match db::refresh(&url, &cache, http_timeout()?, policy.db.refresh).await {
        Ok(UpdateOutcome::Updated { advisories }) if !quiet => output::say(format_args!(
            "advisory database updated: {advisories} advisories from {url}"
        )),
        Ok(_) => {}
        Err(error) if cache.is_present() => {
            let age = match cache.age(time::OffsetDateTime::now_utc()) {
                Some(FetchAge::Ago(age)) => format!(" (fetched {} ago)", format_duration(age)),
                Some(FetchAge::Future) => " (fetched in the future: counted as stale)".to_string(),
                None => String::new(),
            };
            output::warning(format_args!("{error}; using the cached database{age}"));
            output::way_out(&error);
        }
        Err(error) => {
            output::db_error(&error);
        }
    }
    Ok(())
}

/// Fetches one ecosystem's OSV archive (checked to parse before the swap)
/// and, when a new one came, builds its package index, so the next check
/// reads only its packages' advisories; a failed index build only costs
/// that check the build, and is a warning.
async fn fetch_osv(
    base: &db::DbUrl,
    cache: &OsvCache,
    ecosystem: Ecosystem,
    index_dir: &Path,
    timeout: std::time::Duration,
    refresh: Option<std::time::Duration>,
    force: bool,
) -> Result<UpdateOutcome, secgate::error::DbError> {
    let outcome = osv::update(
        base,
        cache,
        ecosystem,
        timeout,
        refresh,
        force,
        move |path| {
            secgate::advisory::osv::verify(path, ecosystem)
                .map(|(advisories, newest)| osv::Verified { advisories, newest })
                .map_err(|e| e.to_string())
        },
    )
    .await?;
    if let UpdateOutcome::Updated { .. } = outcome {
        let archive = cache.archive(ecosystem);
        if let Err(error) = secgate::advisory::osv::OsvSource::open(&archive, ecosystem, index_dir)
        {
            output::warning(format_args!("{error}"));
        }
    }
    Ok(outcome)
}

/// Before a check that reads the OSV cache: fetches the archives of the
/// policy's ecosystems that the repository has lock files of and whose
/// cache is due. A failed fetch with an archive in the cache warns and
/// keeps it; without one, the check fails closed on the missing archive.
pub async fn refresh_osv(
    policy: &Policy,
    present: &std::collections::BTreeSet<Ecosystem>,
    quiet: bool,
) -> Result<()> {
    let wanted: Vec<Ecosystem> = policy
        .db
        .osv_ecosystems
        .iter()
        .copied()
        .filter(|ecosystem| present.contains(ecosystem))
        .collect();
    if wanted.is_empty() {
        return Ok(());
    }
    let base = osv::resolve_url(&policy.db.osv_url)?;
    let cache = OsvCache::default_location()?;
    let index_dir = osv::default_index_dir()?;
    let now = time::OffsetDateTime::now_utc();
    for ecosystem in wanted {
        if !cache.is_due(ecosystem, policy.db.refresh, now) {
            continue;
        }
        let archive = cache.archive(ecosystem);
        let outcome = fetch_osv(
            &base,
            &cache,
            ecosystem,
            &index_dir,
            http_timeout()?,
            Some(policy.db.refresh),
            false,
        )
        .await;
        match outcome {
            Ok(UpdateOutcome::Updated { advisories }) => {
                if !quiet {
                    output::say(format_args!(
                        "{} advisories updated: {advisories} from {}",
                        ecosystem.as_str(),
                        osv::archive_url(&base, ecosystem)
                    ));
                }
            }
            Ok(_) => {}
            Err(error) if archive.is_file() => {
                output::warning(format_args!(
                    "{error}; using the cached {} advisories",
                    ecosystem.as_str()
                ));
                output::way_out(&error);
            }
            Err(error) => output::db_error(&error),
        }
    }
    Ok(())
}

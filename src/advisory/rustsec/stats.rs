//! How many advisories the database holds and the date of the newest one,
//! counted without parsing the advisories.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

#[derive(Debug, Default, PartialEq, Eq)]
pub struct DbStats {
    pub advisories: usize,
    pub newest: Option<String>,
    /// Advisory files in each folder of `crates/` (an empty one too).
    pub crate_folders: BTreeMap<String, usize>,
}

/// Counts the advisory files of `database` (whose `crates/` folders are
/// `crate_folders`, listed already) and finds the newest `date` by reading
/// the front matter of the most recent ones only. Names are counted as
/// listed: a path is made only for a file whose date is read.
pub fn read(database: &Path, crate_folders: &BTreeSet<String>) -> DbStats {
    let crates = database.join("crates");
    let mut folders: Vec<(Option<&str>, PathBuf)> = crate_folders
        .iter()
        .map(|name| (Some(name.as_str()), crates.join(name)))
        .collect();
    if let Ok(listing) = std::fs::read_dir(database.join("rust")) {
        folders.extend(listing.flatten().map(|entry| (None, entry.path())));
    }
    // (year the id was assigned, folder, file name)
    let mut files: Vec<(u32, usize, OsString)> = Vec::new();
    let mut per_crate = Vec::with_capacity(crate_folders.len());
    for (index, (crate_name, folder)) in folders.iter().enumerate() {
        // A file where a folder should be: not counted.
        let Ok(names) = advisory_names(folder) else {
            continue;
        };
        let before = files.len();
        for name in names {
            let text = name.to_string_lossy();
            if !is_counted(&text) {
                continue;
            }
            // RUSTSEC-YYYY-NNNN: the year the id was assigned.
            let year: u32 = text
                .get(8..12)
                .and_then(|y| y.parse().ok())
                .unwrap_or(u32::MAX);
            drop(text);
            files.push((year, index, name));
        }
        if let Some(crate_name) = crate_name {
            per_crate.push((crate_name.to_string(), files.len() - before));
        }
    }
    let mut stats = DbStats {
        advisories: files.len(),
        newest: None,
        // Collected at once: sorted and built in one pass, no search per name.
        crate_folders: per_crate.into_iter().collect(),
    };
    // Newest id year first, each year's files in the order listed; every
    // file of the newest year is read anyway, and sorting them all cost
    // more than passing over the list once per year read.
    let mut years: Vec<u32> = files.iter().map(|(year, _, _)| *year).collect();
    years.sort_unstable_by(|a, b| b.cmp(a));
    years.dedup();
    'years: for year in years {
        for (_, folder, name) in files.iter().filter(|(y, _, _)| *y == year) {
            // An advisory is dated no later than its id was assigned, so
            // older ids cannot hold a newer date than one already found.
            let newest_year = stats
                .newest
                .as_ref()
                .and_then(|d| d.get(..4)?.parse::<u32>().ok());
            if newest_year.is_some_and(|newest| year < newest) {
                break 'years;
            }
            if let Some(date) = advisory_date(&folders[*folder].1.join(name)) {
                // ISO dates order as strings.
                if stats.newest.as_ref().is_none_or(|n| date > *n) {
                    stats.newest = Some(date);
                }
            }
        }
    }
    stats
}

/// Whether a file of an advisory folder counts as an advisory: the
/// placeholder loads but is none.
pub fn is_counted(file_name: &str) -> bool {
    file_name != "RUSTSEC-0000-0000.md"
}

/// The `date = "YYYY-MM-DD"` of an advisory's front matter, read from the
/// start of the file.
fn advisory_date(path: &Path) -> Option<String> {
    use std::io::Read;
    let mut head = Vec::with_capacity(2048);
    std::fs::File::open(path)
        .ok()?
        .take(2048)
        .read_to_end(&mut head)
        .ok()?;
    let find = |text: &str| {
        text.lines().find_map(|line| {
            let value = line.trim().strip_prefix("date")?.trim_start();
            let value = value.strip_prefix('=')?.trim().trim_matches('"');
            (value.len() == 10).then(|| value.to_string())
        })
    };
    // Checked first as it is (ASCII, mostly): a lossy copy costs more.
    let head_text = match std::str::from_utf8(&head) {
        Ok(text) => find(text),
        Err(_) => find(&String::from_utf8_lossy(&head)),
    };
    head_text.or_else(|| {
        // A long front matter: read it all.
        let text = std::fs::read_to_string(path).ok()?;
        find(&text)
    })
}

/// The advisory files in one crate's folder (what `Database::open` reads:
/// everything but dotfiles), sorted.
pub fn advisory_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    Ok(advisory_names(dir)?
        .into_iter()
        .map(|name| dir.join(name))
        .collect())
}

/// The names of `advisory_files`, in the same order.
fn advisory_names(dir: &Path) -> std::io::Result<Vec<OsString>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name();
        if name.as_encoded_bytes().starts_with(b".") {
            continue;
        }
        names.push(name);
    }
    // As their paths in one folder would sort.
    names.sort();
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folders(database: &Path) -> BTreeSet<String> {
        std::fs::read_dir(database.join("crates"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect()
    }

    #[test]
    fn counts_files_and_finds_the_newest_date() {
        let database = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/advisory-db");
        let stats = read(&database, &folders(&database));
        let parsed = rustsec::Database::open(&database).unwrap();
        assert_eq!(stats.advisories, parsed.iter().count());
        let newest = parsed.iter().map(|a| a.metadata.date.as_str()).max();
        assert_eq!(stats.newest.as_deref(), newest);
        assert_eq!(stats.crate_folders.len(), folders(&database).len());
        assert_eq!(stats.crate_folders["smallvec"], 5);
        assert_eq!(
            stats.crate_folders.values().sum::<usize>(),
            stats.advisories
        );
    }
}

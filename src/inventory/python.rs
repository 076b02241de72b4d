//! The Python readers of the package inventory: pip requirement files,
//! `poetry.lock`, `uv.lock`, `Pipfile.lock` and `pdm.lock`, each into an
//! [`Inventory`] of PyPI packages: PEP 503 names (as OSV and package URLs
//! compare them), exact versions, the lines that list each package, the
//! sha256 the lock records, dependency edges where the lock has the graph,
//! and dev-only kinds where the lock (or the `pyproject.toml` beside it)
//! tells them apart. What cannot be checked (a requirement without an exact
//! pin, a URL, an editable install, an include that was not read, an entry
//! without a PEP 440 version) is returned beside the inventory with its file
//! and line: a gate must say what it did not look at, never drop it.

mod graph;
mod lock;
mod pdm;
mod pipfile;
mod poetry;
mod pyproject;
mod requirements;
mod syntax;
mod uv;

pub use lock::{is_python_lock, LockFormat};

use crate::inventory::lock::LockContents;

use crate::error::ScanError;
use std::path::Path;
use syntax::read_text;

/// Reads the Python lock at `path`, chosen by its name. Requirement files
/// follow their `-r`/`-c` includes inside `root` (the scanned directory);
/// `poetry.lock` and `pdm.lock` read the `pyproject.toml` beside them when
/// there is one.
pub fn read(path: &Path, root: &Path) -> Result<LockContents, ScanError> {
    let format = LockFormat::of(path).ok_or_else(|| ScanError::BadInput {
        path: path.to_path_buf(),
        message: "not a Python lock file secgate reads".to_string(),
    })?;
    let text = read_text(path)?;
    if format == LockFormat::Requirements {
        let mut includes = requirements::FileIncludes::new(path, root);
        return requirements::read(path, &text, &mut includes);
    }
    let manifest_path = crate::files::directory_of(path).join("pyproject.toml");
    let manifest_text = if format.reads_pyproject() && manifest_path.is_file() {
        Some(read_text(&manifest_path)?)
    } else {
        None
    };
    parse_lock(
        format,
        path,
        &text,
        manifest_text
            .as_deref()
            .map(|t| (manifest_path.as_path(), t)),
    )
}

/// `read` on text already read, touching no file: a requirement file's
/// includes are reported as not found; `pyproject` is the manifest beside a
/// poetry or pdm lock, if any.
pub fn parse(
    format: LockFormat,
    path: &Path,
    text: &str,
    pyproject: Option<(&Path, &str)>,
) -> Result<LockContents, ScanError> {
    if format == LockFormat::Requirements {
        return requirements::read(path, text, &mut requirements::NoIncludes);
    }
    parse_lock(format, path, text, pyproject)
}

fn parse_lock(
    format: LockFormat,
    path: &Path,
    text: &str,
    pyproject: Option<(&Path, &str)>,
) -> Result<LockContents, ScanError> {
    let manifest = match pyproject {
        Some((manifest_path, manifest_text)) if format.reads_pyproject() => {
            Some(pyproject::parse(manifest_path, manifest_text)?)
        }
        _ => None,
    };
    let (inventory, unchecked) = match format {
        LockFormat::Poetry => poetry::read(path, text, manifest.as_ref())?,
        LockFormat::Uv => uv::read(path, text)?,
        LockFormat::Pipfile => pipfile::read(path, text)?,
        LockFormat::Pdm => pdm::read(path, text, manifest.as_ref())?,
        LockFormat::Requirements => unreachable!("requirement files are read by `parse`"),
    };
    let mut files_read = vec![path.to_path_buf()];
    if let (Some((manifest_path, _)), Some(_)) = (pyproject, &manifest) {
        files_read.push(manifest_path.to_path_buf());
    }
    Ok(LockContents {
        format: format.as_str(),
        listed_in: vec![path.to_path_buf(); inventory.packages.len()],
        inventory,
        unchecked,
        files_read,
    })
}

#[cfg(test)]
mod tests {
    use super::syntax::*;
    use super::*;

    #[test]
    fn formats_by_file_name() {
        for (path, format) in [
            ("poetry.lock", Some(LockFormat::Poetry)),
            ("api/uv.lock", Some(LockFormat::Uv)),
            ("Pipfile.lock", Some(LockFormat::Pipfile)),
            ("pdm.lock", Some(LockFormat::Pdm)),
            ("requirements.txt", Some(LockFormat::Requirements)),
            ("dev-requirements.txt", Some(LockFormat::Requirements)),
            ("requirements/base.txt", Some(LockFormat::Requirements)),
            ("requirements.in", None),
            ("notes.txt", None),
            ("pylock.toml", None),
            ("Cargo.lock", None),
        ] {
            assert_eq!(LockFormat::of(Path::new(path)), format, "{path}");
            assert_eq!(is_python_lock(Path::new(path)), format.is_some());
        }
    }

    #[test]
    fn read_dispatches_and_reads_the_pyproject_beside() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/python");
        let lock = read(&dir.join("poetry-1.1-django/poetry.lock"), &dir).unwrap();
        assert_eq!(lock.format, LockFormat::Poetry.as_str());
        assert_eq!(
            lock.files_read,
            [
                dir.join("poetry-1.1-django/poetry.lock"),
                dir.join("poetry-1.1-django/pyproject.toml")
            ]
        );
        assert_eq!(lock.listed_in.len(), lock.inventory.packages.len());
        let lock = read(&dir.join("pdm-flask/pdm.lock"), &dir).unwrap();
        assert_eq!(lock.files_read.len(), 1);
        let lock = read(&dir.join("pipenv-flask/Pipfile.lock"), &dir).unwrap();
        assert_eq!(lock.format, LockFormat::Pipfile.as_str());
        let lock = read(&dir.join("uv-polars/uv.lock"), &dir).unwrap();
        assert_eq!(lock.file_of(0), dir.join("uv-polars/uv.lock"));
        let error = read(&dir.join("README.md"), &dir).unwrap_err().to_string();
        assert!(error.ends_with("README.md: not a Python lock file secgate reads"));
        let error = read(&dir.join("nowhere/uv.lock"), &dir)
            .unwrap_err()
            .to_string();
        assert!(error.contains("nowhere/uv.lock"), "{error}");
    }

    #[test]
    fn text_encodings_pip_reads() {
        let path = Path::new("requirements.txt");
        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain("a==1\r\n".encode_utf16().flat_map(|u| u.to_le_bytes()))
            .collect();
        assert_eq!(decode(path, utf16).unwrap(), "a==1\r\n");
        let utf16be: Vec<u8> = [0xFE, 0xFF]
            .into_iter()
            .chain("b==2".encode_utf16().flat_map(|u| u.to_be_bytes()))
            .collect();
        assert_eq!(decode(path, utf16be).unwrap(), "b==2");
        assert_eq!(decode(path, b"\xEF\xBB\xBFc==3".to_vec()).unwrap(), "c==3");
        let error = decode(path, b"a==1\nb==\xFF2\n".to_vec())
            .unwrap_err()
            .to_string();
        assert_eq!(error, "requirements.txt:2: not UTF-8 text");
        assert!(decode(path, vec![0xFF, 0xFE, 0x61]).is_err());
    }

    #[test]
    fn credentials_in_urls_are_masked() {
        for (text, masked) in [
            (
                "https://user:pa55@host/simple",
                "https://user:***@host/simple",
            ),
            (
                "git+https://ghp_abcdefghijklmnopqrstu@github.com/o/r.git",
                "git+https://***@github.com/o/r.git",
            ),
            ("https://git@github.com/o/r", "https://git@github.com/o/r"),
            (
                "a @ https://x:y@h/a.whl ; b @ https://p:q@h/b",
                "a @ https://x:***@h/a.whl ; b @ https://p:***@h/b",
            ),
            ("no url at all", "no url at all"),
        ] {
            assert_eq!(redact(text), masked, "{text}");
        }
    }

    #[test]
    fn checksums_and_indexes() {
        let hex = "0E5C3A7BD5C4E32F5F3D07A3A9E3A48F5E08E17EBB3B6F71F0CF2FE3E1B8D0A1";
        assert_eq!(
            sha256_of(&format!("sha256:{hex}")),
            Some(hex.to_ascii_lowercase())
        );
        assert_eq!(sha256_of(&format!("md5:{hex}")), None);
        assert_eq!(sha256_of("sha256:abc"), None);
        let wheel = format!("sha256:{}", "1".repeat(64));
        let sdist = format!("sha256:{}", "2".repeat(64));
        let other = format!("sha256:{}", "3".repeat(64));
        let files = [
            (Some("pkg-1.0-py3-none-any.whl"), wheel.as_str()),
            (Some("pkg-1.1.tar.gz"), other.as_str()),
            (Some("https://h/p/pkg-1.0.tar.gz#sha256=x"), sdist.as_str()),
        ];
        assert_eq!(pick_checksum(files, "1.0"), Some("2".repeat(64)));
        assert_eq!(
            pick_checksum(files[..1].to_vec(), "1.0"),
            Some("1".repeat(64))
        );
        assert_eq!(pick_checksum(files, "2.0"), None);
        assert_eq!(
            pick_checksum([(None, wheel.as_str())], "9"),
            Some("1".repeat(64))
        );
        assert!(is_pypi("https://pypi.org/simple"));
        assert!(is_pypi("https://pypi.python.org/simple/"));
        assert!(is_pypi("https://user:x@files.pythonhosted.org/packages/a"));
        assert!(!is_pypi("https://pypi.org.evil.example/simple"));
        assert!(!is_pypi("https://nexus.example/repository/pypi.org/simple"));
    }

    #[test]
    fn names_requirements_and_markers() {
        assert_eq!(leading_name("PySocks (>=1.5.6,!=1.5.7)"), Some("PySocks"));
        assert_eq!(leading_name("ipython[test]"), Some("ipython"));
        assert_eq!(leading_name("-e ."), None);
        assert_eq!(leading_name("name-"), Some("name"));
        assert_eq!(
            marker_text("colorama; platform_system == \"Windows\""),
            Some("platform_system == \"Windows\"".to_string())
        );
        assert_eq!(marker_text("colorama"), None);
        assert_eq!(marker_text("colorama ;  "), None);
        assert!(requirement("requests[socks] (>=2.0) ; python_version >= '3'").is_ok());
        // pep508_rs would panic on these.
        for text in ["dex-=6.0", "a_ ==1", "a[b-]", "a[ok, b. ]==1", "  x.[y]"] {
            let error = requirement(text).unwrap_err();
            assert!(
                error.message.to_string().contains("must end with"),
                "{text}"
            );
        }
        assert!(requirement("a-b.c_d[e-f]==1").is_ok());
        assert!(requirement("a-").is_err());
        assert_eq!(platform_marker(Some("extra == \"dotenv\"")), None);
        assert_eq!(
            platform_marker(Some("sys_platform == \"win32\" and extra == 'socks'")),
            Some("sys_platform == 'win32'".to_string())
        );
        assert_eq!(
            platform_marker(Some("python_version < \"3.11\"")),
            Some("python_version < \"3.11\"".to_string())
        );
        assert_eq!(platform_marker(Some(" ")), None);
    }
}

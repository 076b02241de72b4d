//! An OSV archive, `<Ecosystem>/all.zip`: one JSON record per entry, named
//! after its id, never after its package. Opened read-only (the folder may
//! be read-only); its identity (size, modification time, a SHA-256 of its
//! central directory) keys the package index built from it.

use crate::error::OsvError;
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use zip::ZipArchive;

/// The largest record read: the biggest real ones (long `versions` lists)
/// are a few hundred KiB; past this an entry is a decompression bomb.
pub const MAX_RECORD: u64 = 32 * 1024 * 1024;

/// What an archive is, cheaply: a changed archive has another identity.
/// The central directory holds every entry's name, size and CRC-32, so its
/// hash changes with any entry's content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub size: u64,
    /// Nanoseconds since the Unix epoch; 0 when the system has none.
    pub modified_ns: u64,
    /// SHA-256 of the bytes from the central directory to the end, hex.
    pub directory_sha256: String,
}

/// An open archive. Cloning is cheap (one file, one parsed directory), so
/// each thread reading records has its own.
#[derive(Clone)]
pub struct Archive {
    path: PathBuf,
    zip: ZipArchive<SharedFile>,
    identity: Identity,
}

impl Archive {
    pub fn open(path: &Path) -> Result<Archive, OsvError> {
        let io = |source| OsvError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(io)?;
        let meta = file.metadata().map_err(io)?;
        if !meta.is_file() {
            return Err(OsvError::Zip {
                path: path.to_path_buf(),
                message: "not a regular file".to_string(),
            });
        }
        let modified_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        let shared = SharedFile {
            file: Arc::new(file),
            position: 0,
        };
        let zip = ZipArchive::new(shared.clone()).map_err(|e| OsvError::Zip {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let directory_sha256 =
            hash_tail(shared, zip.central_directory_start(), meta.len()).map_err(io)?;
        Ok(Archive {
            path: path.to_path_buf(),
            zip,
            identity: Identity {
                size: meta.len(),
                modified_ns,
                directory_sha256,
            },
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The names of the entries that hold records (`*.json` files), in
    /// archive order.
    pub fn record_names(&self) -> Vec<String> {
        self.zip
            .file_names()
            .filter_map(Result::ok)
            .filter(|name| is_record_name(name))
            .map(|name| name.into_owned())
            .collect()
    }

    /// The bytes of entry `name`, checked against its CRC-32.
    pub fn read(&mut self, name: &str) -> Result<Vec<u8>, OsvError> {
        let error = |message: String| OsvError::Record {
            path: self.path.clone(),
            entry: name.to_string(),
            message,
        };
        let mut entry = self.zip.by_name(name).map_err(|e| error(e.to_string()))?;
        if entry.size() > MAX_RECORD {
            return Err(error(format!(
                "{} bytes unpacked, more than the {MAX_RECORD} a record may have",
                entry.size()
            )));
        }
        let mut bytes = Vec::with_capacity(entry.size() as usize);
        // The directory's size can lie; the read is capped all the same.
        (&mut entry)
            .take(MAX_RECORD + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| error(e.to_string()))?;
        if bytes.len() as u64 > MAX_RECORD {
            return Err(error(format!(
                "more than the {MAX_RECORD} bytes a record may have"
            )));
        }
        Ok(bytes)
    }
}

/// `PYSEC-2021-335.json`, in the archive's top folder or below.
fn is_record_name(name: &str) -> bool {
    name.ends_with(".json") && !name.ends_with('/')
}

/// SHA-256 of `file` from `start` to `end`, read in blocks.
fn hash_tail(mut file: SharedFile, start: u64, end: u64) -> std::io::Result<String> {
    let mut hasher = Sha256::new();
    file.seek(SeekFrom::Start(start.min(end)))?;
    let mut rest = (&mut file).take(end.saturating_sub(start));
    let mut block = [0u8; 64 * 1024];
    loop {
        let read = rest.read(&mut block)?;
        if read == 0 {
            break;
        }
        hasher.update(&block[..read]);
    }
    Ok(format!("{:x}", hasher.finalize()))
}

/// One open file read at positions of its own: clones share the file (no
/// reopening, no shared cursor), so threads read records side by side.
#[derive(Clone)]
struct SharedFile {
    file: Arc<File>,
    position: u64,
}

impl Read for SharedFile {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        #[cfg(unix)]
        let read = std::os::unix::fs::FileExt::read_at(&*self.file, buf, self.position)?;
        #[cfg(windows)]
        let read = std::os::windows::fs::FileExt::seek_read(&*self.file, buf, self.position)?;
        self.position += read as u64;
        Ok(read)
    }
}

impl Seek for SharedFile {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let invalid = || std::io::Error::new(std::io::ErrorKind::InvalidInput, "seek out of range");
        self.position = match to {
            SeekFrom::Start(at) => at,
            SeekFrom::End(by) => {
                let len = self.file.metadata()?.len();
                len.checked_add_signed(by).ok_or_else(invalid)?
            }
            SeekFrom::Current(by) => self.position.checked_add_signed(by).ok_or_else(invalid)?,
        };
        Ok(self.position)
    }
}

/// Reads every record of a zip given as bytes, as `Archive` would: for the
/// fuzz target, which must reach the zip reader with arbitrary input.
pub fn read_all_from_bytes(bytes: &[u8]) -> Result<usize, String> {
    let mut zip = ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| e.to_string())?;
    let mut read = 0;
    for index in 0..zip.len() {
        let Ok(mut entry) = zip.by_index(index) else {
            continue;
        };
        let is_record = entry.name().is_ok_and(|name| is_record_name(&name));
        if !is_record || entry.size() > MAX_RECORD {
            continue;
        }
        let mut bytes = Vec::new();
        if (&mut entry)
            .take(MAX_RECORD + 1)
            .read_to_end(&mut bytes)
            .is_ok()
        {
            read += 1;
            let _ = serde_json::from_slice::<super::record::Outline>(&bytes);
        }
    }
    Ok(read)
}

/// Writes a zip of `entries` (name, content), DEFLATE-compressed.
#[cfg(test)]
pub(crate) fn write_zip(path: &Path, entries: &[(&str, &[u8])]) {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(File::create(path).unwrap());
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in entries {
        zip.start_file(*name, options).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_follows_the_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("all.zip");
        write_zip(&path, &[("A-1.json", b"{\"id\": \"A-1\"}")]);
        let first = Archive::open(&path).unwrap();
        assert_eq!(first.record_names(), ["A-1.json"]);
        let same = Archive::open(&path).unwrap();
        assert_eq!(first.identity(), same.identity());
        write_zip(&path, &[("A-1.json", b"{\"id\": \"A-2\"}")]);
        let changed = Archive::open(&path).unwrap();
        assert_ne!(
            first.identity().directory_sha256,
            changed.identity().directory_sha256
        );
        assert_eq!(
            changed.clone().read("A-1.json").unwrap(),
            b"{\"id\": \"A-2\"}"
        );
    }

    #[test]
    fn not_a_zip_is_an_error_that_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("all.zip");
        std::fs::write(&path, b"not a zip at all").unwrap();
        let error = Archive::open(&path).err().unwrap().to_string();
        assert!(
            error.contains("all.zip") && error.contains("zip"),
            "{error}"
        );
        assert!(Archive::open(&dir.path().join("missing.zip")).is_err());
        assert!(Archive::open(dir.path()).is_err());
    }

    #[test]
    fn arbitrary_bytes_read_as_a_zip_do_not_panic() {
        assert!(read_all_from_bytes(b"PK\x05\x06garbage").is_err());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("all.zip");
        write_zip(&path, &[("A-1.json", b"{}"), ("B/", b""), ("README", b"x")]);
        assert_eq!(read_all_from_bytes(&std::fs::read(&path).unwrap()), Ok(1));
    }
}

//! File access for the loader. Everything the check stage reads goes through [`World`]:
//! [`FsWorld`] is the disk (used by the CLI), [`MemoryWorld`] a map of paths to bytes
//! (used by tests). Keeping the disk behind one trait is what lets the loader confine a
//! spec to its project root and bound every read.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Component, Path, PathBuf};

/// Why a file could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    /// A FIFO, device, socket or directory: refused before any byte is read, so that a
    /// FIFO cannot block and `/dev/zero` cannot stream gigabytes.
    NotRegularFile(&'static str),
    /// Anything else the operating system reports (missing file, permissions).
    Io(String),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::NotRegularFile(kind) => write!(f, "it is a {kind}, not a regular file"),
            ReadError::Io(message) => f.write_str(message),
        }
    }
}

/// File access, so that tests need no disk and the loader can bound every read.
pub trait World {
    /// The absolute path with every `.`, `..` and symbolic link resolved, or why the path
    /// does not name anything.
    fn canonicalize(&self, path: &Path) -> Result<PathBuf, String>;

    /// The bytes of a regular file, at most `limit + 1` of them (one more than allowed,
    /// so that the caller can tell "exactly at the limit" from "too large").
    fn read(&self, path: &Path, limit: usize) -> Result<Vec<u8>, ReadError>;
}

/// The real file system.
pub struct FsWorld;

impl World for FsWorld {
    fn canonicalize(&self, path: &Path) -> Result<PathBuf, String> {
        // `Path::new("")` is the parent of a bare file name: the current directory.
        let path = if path.as_os_str().is_empty() {
            Path::new(".")
        } else {
            path
        };
        std::fs::canonicalize(path).map_err(|e| e.to_string())
    }

    fn read(&self, path: &Path, limit: usize) -> Result<Vec<u8>, ReadError> {
        use std::io::Read;
        // Metadata first: opening a FIFO for reading would block until a writer appears.
        let metadata = std::fs::metadata(path).map_err(|e| ReadError::Io(e.to_string()))?;
        check_regular(&metadata)?;
        let mut options = std::fs::OpenOptions::new();
        options.read(true);
        #[cfg(unix)]
        {
            // Should the file be swapped for a FIFO after the check, opening still does
            // not block; the second check below then refuses it.
            use std::os::unix::fs::OpenOptionsExt;
            options.custom_flags(libc::O_NONBLOCK);
        }
        let file = options
            .open(path)
            .map_err(|e| ReadError::Io(e.to_string()))?;
        let metadata = file.metadata().map_err(|e| ReadError::Io(e.to_string()))?;
        check_regular(&metadata)?;
        let expected = usize::try_from(metadata.len()).unwrap_or(usize::MAX);
        let mut bytes = Vec::with_capacity(expected.min(limit.saturating_add(1)));
        file.take(limit as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| ReadError::Io(e.to_string()))?;
        Ok(bytes)
    }
}

fn check_regular(metadata: &std::fs::Metadata) -> Result<(), ReadError> {
    let kind = metadata.file_type();
    if kind.is_file() {
        return Ok(());
    }
    if kind.is_dir() {
        return Err(ReadError::NotRegularFile("directory"));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return Err(ReadError::NotRegularFile("FIFO (named pipe)"));
        }
        if kind.is_char_device() || kind.is_block_device() {
            return Err(ReadError::NotRegularFile("device"));
        }
        if kind.is_socket() {
            return Err(ReadError::NotRegularFile("socket"));
        }
    }
    Err(ReadError::NotRegularFile("special file"))
}

/// An in-memory file system: absolute paths to bytes. Relative paths are taken relative
/// to `/`. Directories exist implicitly above every file; there are no symbolic links.
#[derive(Debug, Clone, Default)]
pub struct MemoryWorld {
    files: BTreeMap<PathBuf, Vec<u8>>,
}

impl MemoryWorld {
    pub fn new() -> MemoryWorld {
        MemoryWorld::default()
    }

    /// Adds (or replaces) a file.
    pub fn with(mut self, path: impl AsRef<Path>, bytes: impl Into<Vec<u8>>) -> MemoryWorld {
        self.files.insert(absolute(path.as_ref()), bytes.into());
        self
    }

    fn is_dir(&self, path: &Path) -> bool {
        self.files.keys().any(|f| f.starts_with(path) && f != path)
    }
}

impl World for MemoryWorld {
    fn canonicalize(&self, path: &Path) -> Result<PathBuf, String> {
        let path = absolute(path);
        if self.files.contains_key(&path) || self.is_dir(&path) {
            Ok(path)
        } else {
            Err("No such file or directory".to_string())
        }
    }

    fn read(&self, path: &Path, limit: usize) -> Result<Vec<u8>, ReadError> {
        let path = absolute(path);
        match self.files.get(&path) {
            Some(bytes) => Ok(bytes[..bytes.len().min(limit.saturating_add(1))].to_vec()),
            None if self.is_dir(&path) => Err(ReadError::NotRegularFile("directory")),
            None => Err(ReadError::Io("No such file or directory".to_string())),
        }
    }
}

/// `path` made absolute against `/` with `.` and `..` removed, without touching a disk.
fn absolute(path: &Path) -> PathBuf {
    lexical_normalise(&Path::new("/").join(path))
}

/// Removes `.` and resolves `..` textually (`a/../b` is `b`); `..` at the root stays at
/// the root. Symbolic links are not consulted: callers that need them canonicalise.
pub fn lexical_normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::ParentDir => match out.components().next_back() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => out.push(".."),
            },
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_world_resolves_and_reads_with_a_limit() {
        let world = MemoryWorld::new().with("/p/a.mlc", "0123456789");
        assert_eq!(
            world.canonicalize(Path::new("/p/x/../a.mlc")),
            Ok(PathBuf::from("/p/a.mlc"))
        );
        assert_eq!(world.canonicalize(Path::new("/p")), Ok(PathBuf::from("/p")));
        assert!(world.canonicalize(Path::new("/p/b.mlc")).is_err());
        assert_eq!(world.read(Path::new("/p/a.mlc"), 3), Ok(b"0123".to_vec()));
        assert_eq!(
            world.read(Path::new("/p"), 3),
            Err(ReadError::NotRegularFile("directory"))
        );
    }

    #[test]
    fn lexical_normalise_keeps_leading_parent_dirs() {
        assert_eq!(
            lexical_normalise(Path::new("../a/./b/../c")),
            PathBuf::from("../a/c")
        );
        assert_eq!(
            lexical_normalise(Path::new("/a/../../b")),
            PathBuf::from("/b")
        );
    }
}

//! Small filesystem helpers shared by every module that touches disk: bounded reads,
//! reads confined to a directory tree, and atomic writes, so no caller can forget any.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// Reads at most `limit` bytes; a longer file is an error, found without reading it all.
pub fn read_limited(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    read_file_limited(File::open(path)?, limit)
}

fn read_file_limited(file: File, limit: u64) -> io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    file.take(limit.saturating_add(1)).read_to_end(&mut buf)?;
    if buf.len() as u64 > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("larger than the limit of {limit} bytes"),
        ));
    }
    Ok(buf)
}

/// Why a file below a local mirror's directory was not opened.
#[derive(Debug, thiserror::Error)]
pub enum BelowError {
    /// The path leads through a symbolic link, or ends at something that is not a regular
    /// file (FIFO, device, socket, directory). Nothing was read from it.
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Opens `rel` (`/`-separated, no empty, `.` or `..` segment) below `root` for reading.
///
/// Every component below `root` is opened without following symbolic links, and the last
/// one must be a regular file: a local mirror is someone else's tree, and a link in it
/// could otherwise hand a private file of this machine to the report and the evidence
/// bundle, or a FIFO could hold a reader forever. `root` itself was given by the user and
/// may be a link. Components are opened relative to the directory opened before them
/// (`openat`), so swapping a directory for a link mid-walk changes nothing.
pub fn open_below(root: &Path, rel: &str) -> Result<File, BelowError> {
    let segs: Vec<&str> = rel.split('/').collect();
    if segs.iter().any(|s| s.is_empty() || *s == "." || *s == "..") {
        return Err(BelowError::Refused(format!(
            "{rel:?} is not a plain relative path"
        )));
    }
    open_segments(root, &segs)
}

#[cfg(unix)]
fn open_segments(root: &Path, segs: &[&str]) -> Result<File, BelowError> {
    use rustix::fs::{AtFlags, FileType, Mode, OFlags, fstat, openat, statat};

    let mut dir = rustix::fs::open(
        root,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(io::Error::from)?;
    for (i, seg) in segs.iter().enumerate() {
        let last = i + 1 == segs.len();
        let shown = segs[..=i].join("/");
        // NONBLOCK: opening a FIFO must not wait for a writer; it is refused just below.
        let flags = OFlags::RDONLY
            | OFlags::NOFOLLOW
            | OFlags::CLOEXEC
            | OFlags::NOCTTY
            | if last {
                OFlags::NONBLOCK
            } else {
                OFlags::DIRECTORY
            };
        let fd = match openat(&dir, *seg, flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(e) if e == rustix::io::Errno::NOENT => return Err(io::Error::from(e).into()),
            Err(e) => {
                // ELOOP or ENOTDIR: say what is in the way, from the entry itself.
                return Err(match statat(&dir, *seg, AtFlags::SYMLINK_NOFOLLOW) {
                    Ok(st) => refused(&shown, FileType::from_raw_mode(st.st_mode), last),
                    Err(_) => BelowError::Io(io::Error::from(e)),
                });
            }
        };
        let kind = FileType::from_raw_mode(fstat(&fd).map_err(io::Error::from)?.st_mode);
        let wanted = if last {
            FileType::RegularFile
        } else {
            FileType::Directory
        };
        if kind != wanted {
            return Err(refused(&shown, kind, last));
        }
        if last {
            return Ok(File::from(fd));
        }
        dir = fd;
    }
    Err(BelowError::Refused("empty path".into()))
}

#[cfg(unix)]
fn refused(shown: &str, kind: rustix::fs::FileType, last: bool) -> BelowError {
    use rustix::fs::FileType;
    let what = match kind {
        FileType::Symlink => "a symbolic link",
        FileType::Fifo => "a FIFO",
        FileType::CharacterDevice | FileType::BlockDevice => "a device",
        FileType::Socket => "a socket",
        FileType::Directory => "a directory",
        FileType::RegularFile if !last => "a file, not a directory",
        _ => "not a regular file",
    };
    BelowError::Refused(format!(
        "{shown} is {what}; a local mirror is read only through regular files and directories inside it"
    ))
}

/// Without `openat`, each component is checked with `symlink_metadata` before the file is
/// opened; the opened file must still be a regular file.
#[cfg(not(unix))]
fn open_segments(root: &Path, segs: &[&str]) -> Result<File, BelowError> {
    let mut path = root.to_path_buf();
    for (i, seg) in segs.iter().enumerate() {
        path.push(seg);
        let last = i + 1 == segs.len();
        let meta = fs::symlink_metadata(&path)?;
        let ok = if last { meta.is_file() } else { meta.is_dir() };
        if !ok {
            return Err(BelowError::Refused(format!(
                "{} is not a regular {}; a local mirror is read only through regular files and directories inside it",
                segs[..=i].join("/"),
                if last { "file" } else { "directory" }
            )));
        }
    }
    let file = File::open(&path)?;
    if !file.metadata()?.is_file() {
        return Err(BelowError::Refused(format!(
            "{} is not a regular file",
            segs.join("/")
        )));
    }
    Ok(file)
}

/// [`read_limited`] for a file below a local mirror's directory ([`open_below`]).
pub fn read_below(root: &Path, rel: &str, limit: u64) -> Result<Vec<u8>, BelowError> {
    let file = open_below(root, rel)?;
    Ok(read_file_limited(file, limit)?)
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, fsync,
/// rename over the target, then fsync of the directory so the rename itself is durable.
/// A reader sees the old content or the new one, never a mix. `mode` applies on Unix.
pub fn atomic_write(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let (dir, tmp) = temp_beside(path)?;
    let result = (|| {
        write_fresh(&tmp, bytes, mode)?;
        fs::rename(&tmp, path)?;
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Writes `bytes` to `path`, which must not exist, and never replaces a file that does,
/// even one created by another process a moment before (a key must never be overwritten:
/// checking `exists()` first and renaming over the target loses the other key in a race).
/// The bytes go to a temporary file first, which is then hard-linked to `path`: the link
/// fails with `AlreadyExists` if anything is there, and a reader never sees half a file.
/// On filesystems without hard links (FAT on a USB stick, where offline keys often live)
/// the file is created with `create_new` and written in place instead.
pub fn write_new(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let (dir, tmp) = temp_beside(path)?;
    let linked = write_fresh(&tmp, bytes, mode).and_then(|()| fs::hard_link(&tmp, path));
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Err(e),
        // No hard links here: create_new on the target itself still never overwrites.
        Err(_) => {
            if let Err(e) = write_fresh(path, bytes, mode) {
                if e.kind() != io::ErrorKind::AlreadyExists {
                    let _ = fs::remove_file(path);
                }
                return Err(e);
            }
        }
    }
    sync_dir(dir)
}

/// The directory of `path` and a fresh temporary name beside it (`.NAME.RANDOM.tmp`, the
/// pattern [`remove_stale_temps`] clears).
fn temp_beside(path: &Path) -> io::Result<(&Path, PathBuf)> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
    let mut rnd = [0u8; 8];
    getrandom::fill(&mut rnd).map_err(|e| io::Error::other(e.to_string()))?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        hex::encode(rnd)
    ));
    Ok((dir, tmp))
}

/// Creates `p` (it must not exist) with `mode` on Unix, writes `bytes` and syncs them.
fn write_fresh(p: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut f = opts.open(p)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// Makes a rename or link in `dir` durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    if let Ok(d) = File::open(dir) {
        d.sync_all()?;
    }
    Ok(())
}

/// Removes temporary files that [`atomic_write`] left for `target` in `dir` when a writer
/// died mid-write. Only call this while holding the lock that serialises writers.
pub fn remove_stale_temps(dir: &Path, target: &Path) {
    let Some(name) = target.file_name().and_then(|n| n.to_str()) else {
        return;
    };
    let prefix = format!(".{name}.");
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let n = e.file_name();
        let Some(n) = n.to_str() else { continue };
        if n.starts_with(&prefix) && n.ends_with(".tmp") {
            let _ = fs::remove_file(e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_new_never_replaces_a_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k.key");
        write_new(&p, b"first", 0o600).unwrap();
        let e = write_new(&p, b"second", 0o600).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(&p).unwrap(), b"first");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("k.key")]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }

    #[test]
    fn read_limited_refuses_large_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        fs::write(&p, vec![0u8; 11]).unwrap();
        assert!(read_limited(&p, 10).is_err());
        assert_eq!(read_limited(&p, 11).unwrap().len(), 11);
    }

    #[cfg(unix)]
    #[test]
    fn open_below_refuses_links_and_non_regular_files() {
        use std::os::unix::fs::symlink;
        let outside = tempfile::tempdir().unwrap();
        fs::write(outside.path().join("secret"), b"private").unwrap();
        let real = tempfile::tempdir().unwrap();
        let root = real.path();
        fs::create_dir_all(root.join("a/b")).unwrap();
        fs::write(root.join("a/b/f"), b"plain").unwrap();
        symlink(outside.path().join("secret"), root.join("a/link")).unwrap();
        symlink(outside.path(), root.join("dirlink")).unwrap();
        symlink("b/f", root.join("a/inside")).unwrap();
        let refused = |rel: &str| match read_below(root, rel, 100) {
            Err(BelowError::Refused(why)) => why,
            other => panic!("{rel}: {other:?}"),
        };
        assert_eq!(read_below(root, "a/b/f", 100).unwrap(), b"plain");
        assert!(refused("a/link").starts_with("a/link is a symbolic link"));
        assert!(refused("a/inside").starts_with("a/inside is a symbolic link"));
        assert!(refused("dirlink/secret").starts_with("dirlink is a symbolic link"));
        assert!(refused("a/b").starts_with("a/b is a directory"));
        assert!(refused("a/b/f/g").starts_with("a/b/f is a file, not a directory"));
        assert!(refused("a/../a/b/f").contains("not a plain relative path"));
        assert!(matches!(
            read_below(root, "a/missing", 100),
            Err(BelowError::Io(e)) if e.kind() == io::ErrorKind::NotFound
        ));
        assert!(matches!(
            read_below(root, "a/b/f", 3),
            Err(BelowError::Io(e)) if e.kind() == io::ErrorKind::InvalidData
        ));
        // The root itself is the user's choice and may be a link.
        let via = outside.path().join("mirror");
        symlink(root, &via).unwrap();
        assert_eq!(read_below(&via, "a/b/f", 100).unwrap(), b"plain");
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.json");
        atomic_write(&p, b"one", 0o644).unwrap();
        atomic_write(&p, b"two", 0o644).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}

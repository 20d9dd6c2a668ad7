//! Evidence for auditors: the exact bytes each mirror served, the root chain, and the
//! report, laid out so that anyone can re-run the verdict offline with mirrorproof itself
//! (`check DIR/profile.toml --artifacts none --no-state`) or with another implementation.
//!
//! Documents are written into the bundle as they arrive, so a sweep of thousands of mirrors
//! never holds their bytes in memory; `report.json` is written last, so a bundle without it
//! is incomplete (the run failed or was stopped).
//!
//! The directory is outside input in a sense: it may sit where other users can write, and
//! what mirrors send decides how much is written. So `DIR` must not exist (it is created)
//! or be an empty directory, every file is created new (`O_CREAT | O_EXCL`: whatever is in
//! the way is refused, never replaced), and no symbolic link is ever followed below `DIR`
//! (each directory is opened with `O_NOFOLLOW` relative to its parent's descriptor).

pub mod merge;

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::profile::{Mirror, Profile};
use crate::report::{Report, Status};
use crate::schemes::native::NativeLatest;

#[derive(Debug, thiserror::Error)]
#[error("cannot write evidence to {path}: {source}")]
pub struct EvidenceError {
    path: String,
    #[source]
    source: std::io::Error,
}

/// An evidence bundle being written during a run. Writes from the run's tasks that fail
/// are remembered (the first error) and returned by the `finish_*` call, which then
/// writes nothing more.
#[derive(Debug)]
pub struct EvidenceDir {
    inner: Arc<Bundle>,
    /// The run's tasks hand documents to one writer thread through this bounded queue:
    /// a slow disk then makes tasks wait for room (their bodies stay counted in the
    /// fetcher's memory budget meanwhile), and at most `QUEUE` copies wait in memory. One
    /// thread, not a blocking section per task: each of those would start another runtime
    /// thread, and the allocator's per-thread arenas then kept the freed bodies (measured:
    /// 160 MiB instead of 80 for 600 mirrors serving 1 MiB each).
    queue: Mutex<Option<tokio::sync::mpsc::Sender<Op>>>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
}

/// Documents waiting for the writer thread, at most.
const QUEUE: usize = 8;

enum Op {
    Write(String, Vec<u8>),
    /// Removes the file (a document fetched again after a rotation), then writes the new
    /// bytes if any.
    Replace(String, Option<Vec<u8>>),
}

#[derive(Debug)]
struct Bundle {
    path: PathBuf,
    #[cfg(unix)]
    fd: std::os::fd::OwnedFd,
    failed: Mutex<Option<EvidenceError>>,
}

impl EvidenceDir {
    /// Opens `dir` for a new bundle: created if missing (its parent must exist), else it
    /// must be an empty directory and not a symbolic link. A bundle never mixes with an
    /// older one, and nothing planted in `dir` beforehand can redirect a write.
    pub fn create(dir: &Path) -> Result<EvidenceDir, EvidenceError> {
        let err = |source| EvidenceError {
            path: dir.display().to_string(),
            source,
        };
        match std::fs::create_dir(dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let meta = std::fs::symlink_metadata(dir).map_err(err)?;
                if !meta.is_dir() {
                    return Err(err(std::io::Error::other(
                        "exists and is not a directory (a symbolic link is refused too)",
                    )));
                }
                if std::fs::read_dir(dir).map_err(err)?.next().is_some() {
                    return Err(err(std::io::Error::other(
                        "the directory is not empty; evidence goes into a new or empty directory",
                    )));
                }
            }
            // Only the last component is created: say which parent is missing, rather
            // than "No such file or directory" for a path the user may think exists.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let parent = dir
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or(Path::new("."));
                return Err(err(std::io::Error::new(
                    e.kind(),
                    format!(
                        "its parent directory {} does not exist (only the last component is created)",
                        parent.display()
                    ),
                )));
            }
            Err(e) => return Err(err(e)),
        }
        #[cfg(unix)]
        {
            use rustix::fs::{CWD, Mode, OFlags, openat};
            let fd = openat(
                CWD,
                dir,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| err(e.into()))?;
            EvidenceDir::start(Bundle {
                path: dir.to_path_buf(),
                fd,
                failed: Mutex::new(None),
            })
        }
        #[cfg(not(unix))]
        EvidenceDir::start(Bundle {
            path: dir.to_path_buf(),
            failed: Mutex::new(None),
        })
    }

    fn start(bundle: Bundle) -> Result<EvidenceDir, EvidenceError> {
        let inner = Arc::new(bundle);
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Op>(QUEUE);
        let worker = inner.clone();
        let writer = std::thread::Builder::new()
            .name("evidence-writer".into())
            .spawn(move || {
                while let Some(op) = rx.blocking_recv() {
                    if worker.has_failed() {
                        continue;
                    }
                    let done = match op {
                        Op::Write(rel, bytes) => worker.put(&rel, &bytes),
                        Op::Replace(rel, bytes) => worker.remove(&rel).and_then(|()| match bytes {
                            Some(b) => worker.put(&rel, &b),
                            None => Ok(()),
                        }),
                    };
                    if let Err(e) = done {
                        worker.fail(e);
                    }
                }
            })
            .map_err(|e| inner.error(&inner.path, e))?;
        Ok(EvidenceDir {
            inner,
            queue: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(writer)),
        })
    }

    /// Waits until every queued document is on disk (or a write failed). Called by the
    /// `finish_*` functions once the run's tasks are done; later `keep` calls are dropped.
    fn drain(&self) {
        if let Ok(mut q) = self.queue.lock() {
            q.take();
        }
        let writer = self.writer.lock().ok().and_then(|mut w| w.take());
        if let Some(w) = writer
            && w.join().is_err()
        {
            self.inner.fail(
                self.inner
                    .error(&self.inner.path, std::io::Error::other("writer failed")),
            );
        }
    }

    fn sender(&self) -> Option<tokio::sync::mpsc::Sender<Op>> {
        self.queue.lock().ok().and_then(|q| q.clone())
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Completes a native bundle once every queued document is written: the pinned root,
    /// beside each mirror's release the rotated roots this run accepted.
    pub fn finish_native(
        &self,
        report: &Report,
        evidence: &NativeLatest,
        served: &[(Mirror, bool)],
    ) -> Result<(), EvidenceError> {
        let pinned_name = format!("pinned-root-{}.json", evidence.pinned_version);
        let trust = Trust {
            lines: vec![
                format!("root = {}", toml_str(&pinned_name)),
                format!("channel = {}", toml_str(&report.channel)),
            ],
            files: vec![(pinned_name, evidence.pinned.to_json_bytes())],
            per_mirror: evidence
                .rotations
                .iter()
                .map(|(v, env)| (format!("root/{v}.json"), env.to_json_bytes()))
                .collect(),
        };
        self.finish(report, &trust, served)
    }

    /// Completes a signed-file bundle once every queued document is written: the pinned
    /// key and the profile's description of the signed file. Large images named by unsigned
    /// metadata are not kept (their signatures are).
    pub fn finish_signed(
        &self,
        report: &Report,
        profile: &Profile,
        served: &[(Mirror, bool)],
    ) -> Result<(), EvidenceError> {
        let Some(source) = &profile.signed else {
            self.drain();
            return self.inner.check();
        };
        let key = crate::fsutil::read_limited(&profile.root, crate::schemes::MAX_KEY_FILE_BYTES)
            .map_err(|source| EvidenceError {
                path: profile.root.display().to_string(),
                source,
            })?;
        let mut lines = vec![
            format!("scheme = {}", toml_str(source.format.as_str())),
            "key = \"pinned.key\"".to_owned(),
            format!("channel = {}", toml_str(&report.channel)),
            format!("file = {}", toml_str(&source.file)),
        ];
        let optional = [
            ("signature", &source.signature),
            ("identity", &source.identity),
            ("namespace", &source.namespace),
            ("version_file", &source.version_file),
            ("origin", &source.origin),
        ];
        for (field, value) in optional {
            if let Some(v) = value {
                lines.push(format!("{field} = {}", toml_str(v)));
            }
        }
        if !source.required_entries.is_empty() {
            let list: Vec<String> = source
                .required_entries
                .iter()
                .map(|e| toml_str(e))
                .collect();
            lines.push(format!("required_entries = [{}]", list.join(", ")));
        }
        let trust = Trust {
            files: vec![("pinned.key".to_owned(), key)],
            lines,
            per_mirror: Vec::new(),
        };
        self.finish(report, &trust, served)
    }

    /// The one evidence stage's end, for every scheme: once every queued document is
    /// written, the pinned trust, each mirror's URL (and the trust's files beside its
    /// documents), a profile that re-checks the bundle offline, and the report (last).
    pub fn finish(
        &self,
        report: &Report,
        trust: &Trust,
        served: &[(Mirror, bool)],
    ) -> Result<(), EvidenceError> {
        self.drain();
        self.inner.finish(report, trust, served)
    }

    /// Queues one file for the writer thread; waits while the queue is full. A failure is
    /// kept for `finish_*` to report, and later writes are skipped.
    pub(crate) async fn keep(&self, rel: &str, bytes: &[u8]) {
        if self.inner.has_failed() {
            return;
        }
        if let Some(tx) = self.sender() {
            let _ = tx.send(Op::Write(rel.to_owned(), bytes.to_vec())).await;
        }
    }

    /// Replaces (or, with `None`, removes) a file this run wrote earlier: a document
    /// fetched again after a root rotation is judged, so it is the one kept.
    pub(crate) async fn replace(&self, rel: &str, bytes: Option<&[u8]>) {
        if self.inner.has_failed() {
            return;
        }
        if let Some(tx) = self.sender() {
            let _ = tx
                .send(Op::Replace(rel.to_owned(), bytes.map(<[u8]>::to_vec)))
                .await;
        }
    }
}

impl Bundle {
    fn has_failed(&self) -> bool {
        self.failed.lock().map(|f| f.is_some()).unwrap_or(true)
    }

    fn fail(&self, e: EvidenceError) {
        if let Ok(mut f) = self.failed.lock()
            && f.is_none()
        {
            *f = Some(e);
        }
    }

    fn check(&self) -> Result<(), EvidenceError> {
        match self.failed.lock() {
            Ok(mut f) => f.take().map_or(Ok(()), Err),
            Err(_) => Err(self.error(&self.path, std::io::Error::other("writer failed"))),
        }
    }

    fn error(&self, path: &Path, source: std::io::Error) -> EvidenceError {
        EvidenceError {
            path: path.display().to_string(),
            source,
        }
    }

    /// Creates `DIR/rel` new, with its directories; refuses anything already in the way
    /// and never follows a symbolic link.
    pub(crate) fn put(&self, rel: &str, bytes: &[u8]) -> Result<(), EvidenceError> {
        let full = self.path.join(rel);
        let (dirs, name) = split(rel).ok_or_else(|| self.error(&full, bad_name()))?;
        self.put_inner(&dirs, name, bytes)
            .map_err(|e| self.error(&full, e))
    }

    #[cfg(unix)]
    fn put_inner(&self, dirs: &[&str], name: &str, bytes: &[u8]) -> std::io::Result<()> {
        use rustix::fs::{Mode, OFlags, openat};
        let parent = self.open_dirs(dirs, true)?;
        let fd = openat(
            &parent,
            name,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o644),
        )?;
        let mut file = std::fs::File::from(fd);
        file.write_all(bytes)?;
        Ok(())
    }

    /// Opens (and with `create`, makes) each directory below `DIR` relative to the one
    /// above it, refusing symbolic links at every step.
    #[cfg(unix)]
    fn open_dirs(&self, dirs: &[&str], create: bool) -> std::io::Result<std::os::fd::OwnedFd> {
        use rustix::fs::{Mode, OFlags, mkdirat, openat};
        use std::os::fd::AsFd;
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let mut current = openat(&self.fd, ".", flags, Mode::empty())?;
        for d in dirs {
            if create {
                match mkdirat(current.as_fd(), *d, Mode::from_raw_mode(0o755)) {
                    Ok(()) | Err(rustix::io::Errno::EXIST) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            current = openat(current.as_fd(), *d, flags, Mode::empty())?;
        }
        Ok(current)
    }

    #[cfg(not(unix))]
    fn put_inner(&self, dirs: &[&str], name: &str, bytes: &[u8]) -> std::io::Result<()> {
        let mut p = self.path.clone();
        for d in dirs {
            p.push(d);
            match std::fs::create_dir(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    if !std::fs::symlink_metadata(&p)?.is_dir() {
                        return Err(std::io::Error::other("not a directory"));
                    }
                }
                Err(e) => return Err(e),
            }
        }
        p.push(name);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&p)?;
        f.write_all(bytes)
    }

    fn remove(&self, rel: &str) -> Result<(), EvidenceError> {
        let full = self.path.join(rel);
        let (dirs, name) = split(rel).ok_or_else(|| self.error(&full, bad_name()))?;
        // A directory not there yet holds nothing to remove (a first fetch kept by
        // replacing, as TUF walks keep every file).
        #[cfg(unix)]
        let r = match self.open_dirs(&dirs, false) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            other => other,
        }
        .and_then(
            |d| match rustix::fs::unlinkat(&d, name, rustix::fs::AtFlags::empty()) {
                Ok(()) | Err(rustix::io::Errno::NOENT) => Ok(()),
                Err(e) => Err(e.into()),
            },
        );
        #[cfg(not(unix))]
        let r = {
            let _ = (dirs, name);
            match std::fs::remove_file(&full) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                other => other,
            }
        };
        r.map_err(|e| self.error(&full, e))
    }

    fn finish(
        &self,
        report: &Report,
        trust: &Trust,
        served: &[(Mirror, bool)],
    ) -> Result<(), EvidenceError> {
        self.check()?;
        for (name, bytes) in &trust.files {
            self.put(name, bytes)?;
        }
        let mut profile = String::new();
        let _ = writeln!(
            profile,
            "# Evidence from a mirrorproof run at {}. Re-check offline with:\n#   mirrorproof check profile.toml --artifacts none --no-state",
            report.checked_at
        );
        let _ = writeln!(profile, "name = {}", toml_str(&report.profile));
        for line in &trust.lines {
            let _ = writeln!(profile, "{line}");
        }
        push_vantages(&mut profile, report);
        for (i, (mirror, served)) in served.iter().enumerate() {
            if !served {
                // What an entry did not serve is part of the picture (a vantage that
                // reached nothing is degraded; a mirror one country cannot reach is
                // targeted; a mirror down for one CI runner is not ok), so a re-check or a
                // merge must know of it: listed with the run's reason, nothing to read.
                let why = report
                    .mirrors
                    .get(i)
                    .and_then(|m| m.error.clone())
                    .unwrap_or_else(|| "nothing kept".into());
                let _ = writeln!(
                    profile,
                    "\n[[mirrors]]\nurl = {}\nsource = {}\ncountry = {}\nunreached = {}",
                    toml_str(&mirror_dir(i)),
                    toml_str(&mirror.url),
                    toml_str(&mirror.country),
                    toml_str(&crate::envelope::one_line(&why)),
                );
                if let Some(v) = &mirror.vantage {
                    let _ = writeln!(profile, "vantage = {}", toml_str(v));
                }
                push_labels(&mut profile, mirror);
                continue;
            }
            let sub = mirror_dir(i);
            for (rel, bytes) in &trust.per_mirror {
                self.put(&format!("{sub}/{rel}"), bytes)?;
            }
            self.put(
                &format!("{sub}/SOURCE"),
                format!("{}\n", mirror.url).as_bytes(),
            )?;
            push_mirror(&mut profile, &sub, mirror);
            // Artifacts are not kept, so what the run found of them can only be claimed:
            // a re-check or a merge then shows the entry as the run judged it, saying so.
            if let Some(m) = report.mirrors.get(i)
                && matches!(m.status, Status::Corrupt | Status::Incomplete)
            {
                let _ = writeln!(
                    profile,
                    "artifacts_failed = {}",
                    toml_str(&format!(
                        "{}: {}",
                        m.status.as_str(),
                        crate::envelope::one_line(&m.error.as_deref().unwrap_or(""))
                    ))
                );
            }
        }
        self.put("profile.toml", profile.as_bytes())?;
        self.put("report.json", report.to_json().as_bytes())
    }
}

/// What a bundle holds of the pinned trust, besides the mirrors' own files.
#[derive(Debug, Clone, Default)]
pub struct Trust {
    /// Files at the bundle's top (the pinned root or key), by name.
    pub files: Vec<(String, Vec<u8>)>,
    /// The profile's lines after its name, saying how to use those files (TOML).
    pub lines: Vec<String>,
    /// Files written beside every serving mirror's documents (rotated roots), by path.
    pub per_mirror: Vec<(String, Vec<u8>)>,
}

/// The bundle's directory for the mirror at this index in the run's list.
pub(crate) fn mirror_dir(index: usize) -> String {
    format!("mirrors/{index:04}")
}

fn push_mirror(profile: &mut String, sub: &str, mirror: &Mirror) {
    let _ = writeln!(
        profile,
        "\n[[mirrors]]\nurl = {}\nsource = {}\ncountry = {}",
        toml_str(sub),
        toml_str(&mirror.url),
        toml_str(&mirror.country),
    );
    if let Some(v) = &mirror.vantage {
        let _ = writeln!(profile, "vantage = {}", toml_str(v));
    }
    push_labels(profile, mirror);
}

/// The optional labels of an entry: its name, its address.
fn push_labels(profile: &mut String, mirror: &Mirror) {
    if let Some(n) = &mirror.name {
        let _ = writeln!(profile, "name = {}", toml_str(n));
    }
    if let (Some(a), Some(_)) = (mirror.address, &mirror.vantage) {
        let _ = writeln!(profile, "address = {}", toml_str(&a.to_string()));
    }
}

/// The run's vantages, so that re-checking or merging the bundle reports them. Every
/// entry of the bundle names its vantage, so none of them is asked through these again:
/// they are labels here (a proxy's password is not kept).
fn push_vantages(profile: &mut String, report: &Report) {
    for v in &report.vantages {
        let _ = writeln!(
            profile,
            "\n[[vantages]]\nname = {}\nkind = {}\ncountry = {}",
            toml_str(&v.name),
            toml_str(v.kind.as_str()),
            toml_str(&v.country)
        );
        if let Some(p) = &v.proxy {
            let _ = writeln!(profile, "proxy = {}", toml_str(p));
        }
    }
}

/// Splits a bundle-relative path into its directories and file name; refuses empty, `.`
/// and `..` components (paths come from profiles and release names, checked already;
/// this is the last line).
fn split(rel: &str) -> Option<(Vec<&str>, &str)> {
    let mut parts: Vec<&str> = rel.split('/').collect();
    if parts
        .iter()
        .any(|p| p.is_empty() || *p == "." || *p == ".." || p.contains('\0'))
    {
        return None;
    }
    let name = parts.pop()?;
    Some((parts, name))
}

fn bad_name() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        "not a plain relative path",
    )
}

fn toml_str(s: &str) -> String {
    crate::text::toml_string(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_created_new_and_links_are_never_followed() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("ev");
        let outside = tmp.path().join("outside");
        std::fs::write(&outside, b"untouched").unwrap();
        let ev = EvidenceDir::create(&dir).unwrap();
        ev.inner.put("a/b/c.json", b"one").unwrap();
        assert_eq!(std::fs::read(dir.join("a/b/c.json")).unwrap(), b"one");
        // Never overwritten.
        assert!(ev.inner.put("a/b/c.json", b"two").is_err());
        // A link planted as a file or as a directory is refused.
        std::os::unix::fs::symlink(&outside, dir.join("a/link.json")).unwrap();
        assert!(ev.inner.put("a/link.json", b"evil").is_err());
        std::os::unix::fs::symlink(tmp.path(), dir.join("a/d")).unwrap();
        assert!(ev.inner.put("a/d/outside", b"evil").is_err());
        assert_eq!(std::fs::read(&outside).unwrap(), b"untouched");
        assert!(ev.inner.put("../x", b"").is_err());
        // Through the writer thread: queued, then on disk once drained.
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(ev.replace("a/b/c.json", Some(b"three")));
        rt.block_on(ev.keep("a/e.json", b"four"));
        ev.drain();
        assert_eq!(std::fs::read(dir.join("a/b/c.json")).unwrap(), b"three");
        assert_eq!(std::fs::read(dir.join("a/e.json")).unwrap(), b"four");
        ev.inner.remove("a/b/c.json").unwrap();
        assert!(!dir.join("a/b/c.json").exists());
        assert!(ev.inner.check().is_ok());
    }

    #[test]
    fn the_directory_must_be_new_or_empty_and_not_a_link() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(EvidenceDir::create(tmp.path()).is_ok(), "empty is fine");
        std::fs::write(tmp.path().join("x"), b"").unwrap();
        assert!(EvidenceDir::create(tmp.path()).is_err(), "not empty");
        let empty = tmp.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&empty, &link).unwrap();
        assert!(EvidenceDir::create(&link).is_err(), "a link to a directory");
    }
}

//! A TUF client with its trusted metadata on disk, as the specification's workflow and
//! python-tuf's `ngclient.Updater` keep it: `root.json`, `timestamp.json`,
//! `snapshot.json`, `targets.json` and one file per delegated role (the role name quoted,
//! so no name can leave the directory), each replaced atomically once verified. What is
//! on disk is the floor for the next run's rollback checks.

use std::io::Read;
use std::path::{Path, PathBuf};

use url::Url;

use super::metadata::{Hasher, ROOT, SNAPSHOT, TARGETS, TIMESTAMP, TargetFile, Targets};
use super::source::{self, Source, SourceError};
use super::trusted::{self, Accepted, TimestampUpdate, TrustedSet};
use super::{Config, TufError};
use crate::time::Timestamp;

/// Mode of metadata and target files written.
const FILE_MODE: u32 = 0o644;
/// Read size when checking a cached target.
const CHUNK: usize = 64 * 1024;

pub struct Updater<S> {
    /// `None`: nothing is read from or written to disk (the audit view).
    dir: Option<PathBuf>,
    metadata_url: Url,
    source: S,
    config: Config,
    trusted: TrustedSet,
    /// The root this run started from, to notice timestamp and snapshot key rotations.
    start_root: std::sync::Arc<super::metadata::Root>,
    refreshed: bool,
    /// Every document verified in this run, in the order it was accepted, with its role
    /// name: intermediate roots too, which later ones replace in the trusted set.
    verified: Vec<Accepted>,
}

/// The file a role is kept in below the metadata directory.
pub fn metadata_file(dir: &Path, role: &str) -> PathBuf {
    dir.join(metadata_name(role))
}

/// The name of that file: the role name quoted, so one path segment that is never `.`
/// or `..` (it ends in `.json`).
fn metadata_name(role: &str) -> String {
    format!("{}.json", source::quote(role))
}

/// Reads a role's stored copy, opened without following a symbolic link and only if it
/// is a regular file: a link or a FIFO where `timestamp.json` should be must neither
/// hold the client forever nor make it read some other file as trusted metadata.
fn read_stored(dir: &Path, role: &str, max: u64) -> Result<Vec<u8>, String> {
    crate::fsutil::read_below(dir, &metadata_name(role), max).map_err(|e| match e {
        // (Its own message speaks of local mirrors.)
        crate::fsutil::BelowError::Refused(_) => {
            "not a regular file; a symbolic link, FIFO or device is never read as metadata"
                .to_owned()
        }
        crate::fsutil::BelowError::Io(e) => e.to_string(),
    })
}

/// Writes the initial trusted root into `dir` (created if needed), after checking it is
/// a root signed by a threshold of its own keys: a client never starts from a file that
/// could not verify anything.
///
/// A directory that already trusts a newer root is left alone: writing an older one over
/// it would undo every rotation the client has verified since (a key the repository
/// retired, perhaps because it leaked, would be trusted again). The same version, or an
/// older or unreadable stored root, is replaced as asked.
pub fn init(dir: &Path, root: &[u8], now: Timestamp) -> Result<(), TufError> {
    let new = TrustedSet::new(root.to_vec(), now)?
        .root()
        .signed
        .common
        .version;
    let file = metadata_file(dir, ROOT);
    if let Some(stored) = stored_root_version(dir)
        && stored > new
    {
        return Err(TufError::Io(format!(
            "{} already trusts root version {stored}, newer than this root's version {new}: init would roll back trust (to start over, remove the directory first)",
            file.display()
        )));
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| TufError::io(&format!("metadata directory {}", dir.display()), &e))?;
    crate::fsutil::atomic_write(&file, root, FILE_MODE)
        .map_err(|e| TufError::io(&format!("writing {}", file.display()), &e))
}

/// The version of the root kept in `dir`, if there is one that reads as metadata. Not
/// verified again: this client wrote it after verifying it, and it is used only to refuse.
fn stored_root_version(dir: &Path) -> Option<u64> {
    #[derive(serde::Deserialize)]
    struct Stored {
        signed: Version,
    }
    #[derive(serde::Deserialize)]
    struct Version {
        version: u64,
    }
    let bytes = read_stored(dir, ROOT, Config::default().root_max_bytes).ok()?;
    serde_json::from_slice::<Stored>(&bytes)
        .ok()
        .map(|s| s.signed.version)
}

impl<S: Source> Updater<S> {
    /// Loads the trusted root from `dir`. Nothing is fetched yet.
    pub fn new(
        dir: &Path,
        metadata_url: Url,
        source: S,
        config: Config,
        now: Timestamp,
    ) -> Result<Updater<S>, TufError> {
        let bytes = read_stored(dir, ROOT, config.root_max_bytes).map_err(|e| {
            TufError::Io(format!(
                "trusted root {}: {e}",
                metadata_file(dir, ROOT).display()
            ))
        })?;
        Updater::start(
            Some(dir.to_path_buf()),
            bytes,
            metadata_url,
            source,
            config,
            now,
        )
    }

    /// A client that keeps nothing on disk, starting from `root` (a pinned root): every
    /// run is a first run, so rollback protection is only within the run.
    pub fn in_memory(
        root: Vec<u8>,
        metadata_url: Url,
        source: S,
        config: Config,
        now: Timestamp,
    ) -> Result<Updater<S>, TufError> {
        Updater::start(None, root, metadata_url, source, config, now)
    }

    fn start(
        dir: Option<PathBuf>,
        root: Vec<u8>,
        metadata_url: Url,
        source: S,
        config: Config,
        now: Timestamp,
    ) -> Result<Updater<S>, TufError> {
        let trusted = TrustedSet::new(root.clone(), now)?;
        let verified = vec![trusted.root().accepted(ROOT)];
        Ok(Updater {
            dir,
            metadata_url: source::dir_url(&metadata_url),
            source,
            start_root: trusted.root().signed.clone(),
            config,
            trusted,
            refreshed: false,
            verified,
        })
    }

    /// Shares verifications with the other walks of a run (see [`super::cache`]).
    pub fn share_verifications(&mut self, cache: std::sync::Arc<super::cache::VerifyCache>) {
        self.trusted.share_verifications(cache);
    }

    /// Every document verified so far, in order, with its role name.
    pub fn verified(&self) -> &[Accepted] {
        &self.verified
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn trusted(&self) -> &TrustedSet {
        &self.trusted
    }

    /// Updates root, timestamp, snapshot and top-level targets (5.3 to 5.6).
    pub async fn refresh(&mut self) -> Result<(), TufError> {
        self.refreshed = true;
        self.load_root().await?;
        self.load_timestamp().await?;
        self.load_snapshot().await?;
        self.load_targets(TARGETS, ROOT).await?;
        Ok(())
    }

    async fn fetch(&self, role: &str, version: Option<u64>, max: u64) -> Result<Vec<u8>, TufError> {
        let url = source::metadata_url(&self.metadata_url, role, version)
            .map_err(|e| TufError::Io(format!("metadata URL for {role}: {e}")))?;
        // A client on disk is run by hand, and a wrong metadata URL is the usual cause
        // of a failure: name what was asked. The audit's mirrors are named by the report
        // (and a local one's URL is internal), so there the file name is enough.
        let what = match (self.dir.is_some(), version) {
            (true, _) => url.to_string(),
            (false, Some(v)) => format!("{v}.{role}.json"),
            (false, None) => format!("{role}.json"),
        };
        self.source
            .get(&url, max)
            .await
            .map_err(|error| TufError::Fetch { what, error })
    }

    /// Records a newly verified document, and keeps it on disk when there is a disk.
    fn persist(&mut self, accepted: Option<Accepted>, bytes: Vec<u8>) -> Result<(), TufError> {
        let Some(accepted) = accepted else {
            return Err(TufError::Order("a document recorded before it was trusted"));
        };
        if let Some(dir) = &self.dir {
            let file = metadata_file(dir, &accepted.role);
            crate::fsutil::atomic_write(&file, &bytes, FILE_MODE)
                .map_err(|e| TufError::io(&format!("writing {}", file.display()), &e))?;
        }
        self.verified.push(accepted);
        Ok(())
    }

    fn local(&self, role: &str, max: u64) -> Option<Vec<u8>> {
        let dir = self.dir.as_ref()?;
        read_stored(dir, role, max).ok()
    }

    /// 5.3: root N+1, N+2, ... until the repository says there is none (404 or 403).
    async fn load_root(&mut self) -> Result<(), TufError> {
        let first = self.trusted.root().signed.common.version.saturating_add(1);
        let last = first.saturating_add(self.config.max_root_rotations);
        for v in first..last {
            let bytes = match self.fetch(ROOT, Some(v), self.config.root_max_bytes).await {
                Ok(b) => b,
                Err(TufError::Fetch {
                    error: SourceError::Missing(_),
                    ..
                }) => break,
                Err(e) => return Err(e),
            };
            self.trusted.update_root(bytes.clone())?;
            self.persist(Some(self.trusted.root().accepted(ROOT)), bytes)?;
        }
        // 5.3.11: after a rotation of timestamp or snapshot keys the stored ones are not
        // a floor any more (the repository may have had to start their versions over).
        let now = &self.trusted.root().signed;
        if let Some(dir) = &self.dir
            && (trusted::rotated(&self.start_root, now, TIMESTAMP)
                || trusted::rotated(&self.start_root, now, SNAPSHOT))
        {
            for role in [TIMESTAMP, SNAPSHOT] {
                match std::fs::remove_file(metadata_file(dir, role)) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(TufError::io(&format!("removing {role}.json"), &e)),
                }
            }
        }
        Ok(())
    }

    /// 5.4: the stored timestamp (if it still verifies) is the floor for the new one.
    async fn load_timestamp(&mut self) -> Result<(), TufError> {
        if let Some(bytes) = self.local(TIMESTAMP, self.config.timestamp_max_bytes) {
            // An invalid or expired stored timestamp is no reason to stop: an expired one
            // is still kept as the floor (see TrustedSet).
            let _ = self.trusted.update_timestamp(bytes);
        }
        let bytes = self
            .fetch(TIMESTAMP, None, self.config.timestamp_max_bytes)
            .await?;
        match self.trusted.update_timestamp(bytes.clone())? {
            TimestampUpdate::Same => Ok(()),
            TimestampUpdate::New => {
                let accepted = self.trusted.timestamp().map(|t| t.accepted(TIMESTAMP));
                self.persist(accepted, bytes)
            }
        }
    }

    /// 5.5: the stored snapshot serves when it is still the one timestamp names.
    async fn load_snapshot(&mut self) -> Result<(), TufError> {
        if let Some(bytes) = self.local(SNAPSHOT, self.config.snapshot_max_bytes)
            && self.trusted.update_snapshot(bytes, true).is_ok()
        {
            return Ok(());
        }
        let meta = self
            .trusted
            .timestamp()
            .map(|t| t.signed.snapshot_meta().clone())
            .ok_or(TufError::Order("no timestamp"))?;
        let max = meta.length.unwrap_or(self.config.snapshot_max_bytes);
        let version = self
            .trusted
            .root()
            .signed
            .consistent()
            .then_some(meta.version);
        let bytes = self.fetch(SNAPSHOT, version, max).await?;
        self.trusted.update_snapshot(bytes.clone(), false)?;
        let accepted = self.trusted.snapshot().map(|t| t.accepted(SNAPSHOT));
        self.persist(accepted, bytes)
    }

    /// 5.6 / 5.7.1: a targets role, from disk when the stored copy is the one snapshot
    /// names, else from the repository.
    async fn load_targets(&mut self, role: &str, delegator: &str) -> Result<(), TufError> {
        if self.trusted.targets(role).is_some() {
            return Ok(());
        }
        if let Some(bytes) = self.local(role, self.config.targets_max_bytes)
            && self.trusted.update_targets(bytes, role, delegator).is_ok()
        {
            return Ok(());
        }
        let meta = self
            .trusted
            .snapshot()
            .and_then(|s| s.signed.meta.get(&format!("{role}.json")).cloned())
            .ok_or_else(|| TufError::NotInSnapshot(role.to_owned()))?;
        let max = meta.length.unwrap_or(self.config.targets_max_bytes);
        let version = self
            .trusted
            .root()
            .signed
            .consistent()
            .then_some(meta.version);
        let bytes = self.fetch(role, version, max).await?;
        self.trusted
            .update_targets(bytes.clone(), role, delegator)?;
        let accepted = self.trusted.targets(role).map(|t| t.accepted(role));
        self.persist(accepted, bytes)
    }

    /// 5.7: the target's signed length and hashes, from the first role in pre-order
    /// depth-first order of delegations that lists it. Refreshes first if needed.
    pub async fn target_info(&mut self, path: &str) -> Result<Option<TargetFile>, TufError> {
        if !self.refreshed || self.trusted.targets(TARGETS).is_none() {
            self.refresh().await?;
        }
        let mut to_visit: Vec<(String, String)> = vec![(TARGETS.into(), ROOT.into())];
        let mut visited: std::collections::BTreeSet<String> = Default::default();
        while visited.len() <= self.config.max_delegations {
            let Some((role, parent)) = to_visit.pop() else {
                break;
            };
            if visited.contains(&role) {
                continue;
            }
            self.load_targets(&role, &parent).await?;
            let targets: &Targets = &self
                .trusted
                .targets(&role)
                .ok_or(TufError::Order("targets not loaded"))?
                .signed;
            if let Some(t) = targets.targets.get(path) {
                return Ok(Some(t.clone()));
            }
            visited.insert(role.clone());
            if let Some(d) = &targets.delegations {
                let mut children = Vec::new();
                for (child, terminating) in d.roles_for(path) {
                    children.push((child, role.clone()));
                    if terminating {
                        to_visit.clear();
                        break;
                    }
                }
                children.reverse();
                to_visit.extend(children);
            }
        }
        Ok(None)
    }

    /// The target's file in `target_dir` if it is already there with the signed length
    /// and hashes (the conformance CLI asks clients not to download it again).
    pub fn cached_target(
        &self,
        path: &str,
        info: &TargetFile,
        target_dir: &Path,
    ) -> Option<PathBuf> {
        let file = target_file(target_dir, path).ok()?;
        // A link or a FIFO under the target's name is not a cached copy (and reading a
        // FIFO would wait forever): the download replaces it.
        let name = file.file_name()?.to_str()?;
        let f = crate::fsutil::open_below(target_dir, name).ok()?;
        let mut hashers = info.hashes.hashers().ok()?;
        let mut reader = f.take(info.length.saturating_add(1));
        let mut buf = vec![0u8; CHUNK];
        let mut seen = 0u64;
        loop {
            let n = reader.read(&mut buf).ok()?;
            if n == 0 {
                break;
            }
            seen += n as u64;
            for h in &mut hashers {
                h.update(&buf[..n]);
            }
        }
        (seen == info.length && info.hashes.compare(hashers).is_ok()).then_some(file)
    }

    /// Downloads a target in constant memory and stores it only once verified. The body
    /// streams (at most its signed length: one byte more fails) through every listed hash
    /// into a new file beside the target, under a name no target can have (see
    /// [`partial_file`]); only when the length and every hash match is it synced and
    /// renamed onto the target's quoted path, replacing whatever was there. On any
    /// failure, or if this future is dropped, the partial file is removed, so nothing
    /// unverified ever sits where a user could take it for the target. In a
    /// consistent-snapshot repository the file fetched is `DIR/HASH.NAME`.
    pub async fn download_target(
        &self,
        path: &str,
        info: &TargetFile,
        target_dir: &Path,
        target_base_url: &Url,
    ) -> Result<PathBuf, TufError> {
        let file = target_file(target_dir, path)?;
        let hash = (self.trusted.root().signed.consistent()
            && self.config.prefix_targets_with_hash)
            .then(|| info.hashes.0.first().map(|(_, h)| h.as_str()))
            .flatten();
        let url = source::target_url(target_base_url, path, hash)
            .map_err(|why| TufError::BadTargetPath(path.to_owned(), why))?;
        let mismatch = |reason: String| TufError::LengthOrHash {
            what: format!("target {path}"),
            reason,
        };
        // Before any request: a digest this client cannot compute could never verify.
        let hashers = info.hashes.hashers().map_err(mismatch)?;
        std::fs::create_dir_all(target_dir)
            .map_err(|e| TufError::io(&format!("target directory {}", target_dir.display()), &e))?;
        let partial = Partial::create(partial_file(&file)?)
            .map_err(|e| TufError::io("creating the partial target file", &e))?;
        let guard = partial.guard();
        let sink = Hashing {
            file: partial.file,
            hashers,
            seen: 0,
        };
        let sink = self
            .source
            .get_into(&url, info.length, sink)
            .await
            .map_err(|error| match error {
                SourceError::Sink(e) => TufError::Io(format!("writing target {path}: {e}")),
                error => TufError::Fetch {
                    what: format!("target {path} from {url}"),
                    error,
                },
            })?;
        if sink.seen != info.length {
            return Err(mismatch(format!(
                "{} bytes where {} were signed",
                sink.seen, info.length
            )));
        }
        info.hashes.compare(sink.hashers).map_err(mismatch)?;
        let (from, to, dir) = (guard.path.clone(), file.clone(), target_dir.to_path_buf());
        let f = sink.file;
        tokio::task::spawn_blocking(move || {
            f.sync_all()?;
            drop(f);
            std::fs::rename(&from, &to)?;
            // The rename itself made durable (as `fsutil::atomic_write` does it).
            match std::fs::File::open(&dir) {
                Ok(d) => d.sync_all(),
                Err(_) => Ok(()),
            }
        })
        .await
        .map_err(|e| TufError::Io(format!("storing target {path}: {e}")))?
        .map_err(|e| TufError::io("storing the target", &e))?;
        guard.disarm();
        Ok(file)
    }
}

/// Where a target's bytes go while they are fetched: beside the target (so the rename is
/// atomic), hidden, and named with a `+`, which [`source::quote`] always encodes, so no
/// target's stored name can ever be a partial file's. Long names are cut so that the
/// partial name stays within the usual 255-byte limit (quoted names are ASCII).
fn partial_file(target: &Path) -> Result<PathBuf, TufError> {
    let name = target
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or(TufError::Order("a target file always has a name"))?;
    let cut = name.get(..name.len().min(PARTIAL_NAME_MAX)).unwrap_or(name);
    Ok(target.with_file_name(format!(".{cut}{PARTIAL_SUFFIX}")))
}

/// Suffix of partial target files (see [`partial_file`]).
pub const PARTIAL_SUFFIX: &str = ".mirrorproof+partial";
/// Bytes of the target's name kept in its partial file's name.
const PARTIAL_NAME_MAX: usize = 200;

/// A partial target file, created new.
struct Partial {
    path: PathBuf,
    file: std::fs::File,
}

impl Partial {
    /// Creates `path` new. A leftover from a run that died first is removed: the name is
    /// only ever this client's. `create_new` is `O_CREAT | O_EXCL`, which never follows a
    /// symbolic link: whatever took the name in between makes this fail, not write
    /// through it.
    fn create(path: PathBuf) -> std::io::Result<Partial> {
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(FILE_MODE);
        }
        let file = opts.open(&path)?;
        Ok(Partial { path, file })
    }

    fn guard(&self) -> PartialGuard {
        PartialGuard {
            path: self.path.clone(),
            armed: true,
        }
    }
}

/// Removes the partial file when dropped, unless it became the target: every way out of
/// a download (an error, a mismatch, the caller dropping the future) cleans up.
struct PartialGuard {
    path: PathBuf,
    armed: bool,
}

impl PartialGuard {
    fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for PartialGuard {
    fn drop(&mut self) {
        if self.armed {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The sink a target streams into: every byte written to the partial file goes through
/// each listed hash, in the same pass, and is counted.
struct Hashing {
    file: std::fs::File,
    hashers: Vec<Hasher>,
    seen: u64,
}

impl std::io::Write for Hashing {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        let done = buf.get(..n).unwrap_or_default();
        for h in &mut self.hashers {
            h.update(done);
        }
        self.seen = self.seen.saturating_add(n as u64);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// Where a target is stored: its path quoted as one file name (python-tuf's choice), so
/// `/` and `..` can never leave `target_dir`. The two names quoting leaves as they are
/// and that mean something to a file system, `.` and `..`, and the empty name, are
/// refused.
pub fn target_file(target_dir: &Path, path: &str) -> Result<PathBuf, TufError> {
    let name = source::quote(path);
    if name.is_empty() || name == "." || name == ".." {
        return Err(TufError::BadTargetPath(
            path.to_owned(),
            "it names no file of its own",
        ));
    }
    Ok(target_dir.join(name))
}

//! Local rollback state: the highest verified release per project and channel.
//!
//! A damaged state file is an error, never a silent reset: forgetting the recorded version
//! would let a mirror roll a user back to an old signed release. [`plan`] decides, before a
//! run, where its state lives when the directory cannot be written.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::fsutil;

pub mod plan;

pub use plan::{NotRecorded, PlanError, StatePlan, StateSetting};

const MAX_STATE_BYTES: u64 = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error(
        "state file {path} is damaged ({reason}); refusing to reset it, since that would allow a rollback. Inspect or delete it by hand"
    )]
    Corrupt { path: String, reason: String },
    #[error("cannot read state {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write state {path}: {source}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0:?} cannot be used in a state path (allowed: letters, digits, '.', '_', '-')")]
    Name(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelState {
    pub version: u64,
    pub payload_sha256: String,
    pub updated: String,
}

/// What [`StateStore::advance`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Advance {
    Written,
    /// The state already holds this version or a newer one.
    NotNewer,
    /// The state holds this very version with other contents (written by a concurrent run):
    /// equivocation, recorded state left as it was.
    Conflict(ChannelState),
}

#[derive(Debug, Clone)]
pub struct StateStore {
    dir: PathBuf,
}

/// Project names come from the signed root and may hold any character; they are
/// percent-encoded into one safe path segment (so `..` or `/` can never escape the state
/// directory), while ordinary names stay readable.
fn project_segment(s: &str) -> Result<String, StateError> {
    if s.is_empty() {
        return Err(StateError::Name(String::new()));
    }
    let mut out = String::with_capacity(s.len());
    for (i, b) in s.bytes().enumerate() {
        let plain = b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || (b == b'.' && i > 0);
        if plain {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    Ok(out)
}

fn channel_segment(s: &str) -> Result<&str, StateError> {
    crate::release::check_channel_name(s)
        .map(|_| s)
        .map_err(|_| StateError::Name(s.chars().take(64).collect()))
}

impl StateStore {
    pub fn new(dir: impl Into<PathBuf>) -> StateStore {
        StateStore { dir: dir.into() }
    }

    /// `$XDG_DATA_HOME/mirrorproof` or `~/.local/share/mirrorproof`.
    pub fn default_dir() -> Option<PathBuf> {
        if let Some(d) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
            return Some(PathBuf::from(d).join("mirrorproof"));
        }
        std::env::var_os("HOME")
            .filter(|d| !d.is_empty())
            .map(|h| PathBuf::from(h).join(".local/share/mirrorproof"))
    }

    pub fn path(&self, project: &str, channel: &str) -> Result<PathBuf, StateError> {
        Ok(self
            .dir
            .join(project_segment(project)?)
            .join(format!("{}.json", channel_segment(channel)?)))
    }

    pub fn load(&self, project: &str, channel: &str) -> Result<Option<ChannelState>, StateError> {
        let path = self.path(project, channel)?;
        let shown = path.display().to_string();
        let bytes = match fsutil::read_limited(&path, MAX_STATE_BYTES) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                return Err(StateError::Corrupt {
                    path: shown,
                    reason: e.to_string(),
                });
            }
            Err(source) => {
                return Err(StateError::Read {
                    path: shown,
                    source,
                });
            }
        };
        let state: ChannelState =
            serde_json::from_slice(&bytes).map_err(|e| StateError::Corrupt {
                path: shown.clone(),
                reason: crate::envelope::one_line(&e),
            })?;
        if state.payload_sha256.len() != 64
            || !state
                .payload_sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(StateError::Corrupt {
                path: shown,
                reason: "payload_sha256 is not 64 lowercase hex".into(),
            });
        }
        Ok(Some(state))
    }

    /// Writes the state unconditionally (atomically, under the directory's lock).
    pub fn save(
        &self,
        project: &str,
        channel: &str,
        state: &ChannelState,
    ) -> Result<(), StateError> {
        let path = self.path(project, channel)?;
        let _lock = self.lock(&path)?;
        write_locked(&path, state)
    }

    /// Records `state` only if it is newer than what is on disk now. Concurrent runs that
    /// share a state directory are serialised by a lock file, and each re-reads the state
    /// under the lock, so the recorded version never goes backwards whichever run ends last,
    /// and a run that finds its own version recorded with other contents says so.
    pub fn advance(
        &self,
        project: &str,
        channel: &str,
        state: &ChannelState,
    ) -> Result<Advance, StateError> {
        let path = self.path(project, channel)?;
        let _lock = self.lock(&path)?;
        if let Some(current) = self.load(project, channel)? {
            if current.version == state.version && current.payload_sha256 != state.payload_sha256 {
                return Ok(Advance::Conflict(current));
            }
            if current.version >= state.version {
                return Ok(Advance::NotNewer);
            }
        }
        write_locked(&path, state)?;
        Ok(Advance::Written)
    }

    /// Takes an exclusive lock on `DIR/.lock`; released when the returned file is dropped
    /// (or the process dies, so a killed run never leaves the directory locked).
    fn lock(&self, path: &Path) -> Result<std::fs::File, StateError> {
        let err = |source| StateError::Write {
            path: path.display().to_string(),
            source,
        };
        std::fs::create_dir_all(&self.dir).map_err(err)?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.dir.join(".lock"))
            .map_err(err)?;
        file.lock().map_err(err)?;
        Ok(file)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

fn write_locked(path: &Path, state: &ChannelState) -> Result<(), StateError> {
    let err = |source| StateError::Write {
        path: path.display().to_string(),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(err)?;
        // A writer killed between creating its temporary file and renaming it leaves the
        // temporary behind; under the lock no other writer is mid-write, so clear them.
        fsutil::remove_stale_temps(parent, path);
    }
    let mut bytes = serde_json::to_vec_pretty(state).unwrap_or_default();
    bytes.push(b'\n');
    fsutil::atomic_write(path, &bytes, 0o644).map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_corruption_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path());
        assert_eq!(store.load("p", "stable").unwrap(), None);
        let s = ChannelState {
            version: 7,
            payload_sha256: "a".repeat(64),
            updated: "2026-11-22T00:00:00Z".into(),
        };
        store.save("p", "stable", &s).unwrap();
        assert_eq!(store.load("p", "stable").unwrap(), Some(s.clone()));
        std::fs::write(store.path("p", "stable").unwrap(), b"{garbage").unwrap();
        assert!(matches!(
            store.load("p", "stable"),
            Err(StateError::Corrupt { .. })
        ));
        assert!(store.path("p", "../x").is_err());
        let newer = ChannelState {
            version: 8,
            ..s.clone()
        };
        std::fs::write(store.path("p", "stable").unwrap(), b"").unwrap();
        assert!(
            store.advance("p", "stable", &newer).is_err(),
            "damaged: no silent reset"
        );
        store.save("p", "stable", &s).unwrap();
        assert_eq!(store.advance("p", "stable", &s).unwrap(), Advance::NotNewer);
        let other = ChannelState {
            payload_sha256: "b".repeat(64),
            ..s.clone()
        };
        assert_eq!(
            store.advance("p", "stable", &other).unwrap(),
            Advance::Conflict(s.clone())
        );
        assert_eq!(
            store.advance("p", "stable", &newer).unwrap(),
            Advance::Written
        );
        assert_eq!(store.load("p", "stable").unwrap().unwrap().version, 8);
        let odd = store.path("../Example OS", "stable").unwrap();
        assert_eq!(odd, dir.path().join("%2E.%2FExample%20OS/stable.json"));
    }
}

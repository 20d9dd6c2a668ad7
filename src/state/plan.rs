//! Where one run keeps its rollback state, decided before any mirror is asked.
//!
//! A run that cannot record what it learns (no data directory, a read-only or full disk)
//! must still catch rollbacks against what was recorded before and still print its report:
//! refusing to run would leave the user with no answer at all, and running without the
//! recorded state would let a mirror roll them back. So the run reads a private copy of the
//! recorded state (the "shadow"), and the reason nothing could be recorded is handed back
//! for the caller to say after its output.

use std::path::{Path, PathBuf};

use super::{MAX_STATE_BYTES, StateError, StateStore};

/// Where the user asked for state to live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateSetting {
    /// Neither read nor write state (`--no-state`).
    Off,
    /// This directory (`--state DIR`).
    Dir(PathBuf),
    /// The user's data directory ([`StateStore::default_dir`]).
    Default,
}

impl StateSetting {
    /// The setting from the two command-line options; `off` wins because the parser
    /// already refuses both together.
    pub fn from_options(dir: Option<PathBuf>, off: bool) -> StateSetting {
        match (off, dir) {
            (true, _) => StateSetting::Off,
            (false, Some(d)) => StateSetting::Dir(d),
            (false, None) => StateSetting::Default,
        }
    }

    /// The directory state lives in; `None` when no data directory can be found.
    fn dir(&self) -> Option<PathBuf> {
        match self {
            StateSetting::Off => None,
            StateSetting::Dir(d) => Some(d.clone()),
            StateSetting::Default => StateStore::default_dir(),
        }
    }

    /// The store for a run that only reads state (offline verify): there is nothing to
    /// record, so a missing data directory is an error rather than a private copy.
    pub fn read_only_store(&self) -> Result<Option<StateStore>, PlanError> {
        match self {
            StateSetting::Off => Ok(None),
            _ => self
                .dir()
                .map(|d| Some(StateStore::new(d)))
                .ok_or_else(|| PlanError::NoDataDir {
                    vars: data_dir_vars(),
                }),
        }
    }
}

/// Why a run could not be planned at all.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("cannot create a temporary state: {0}")]
    Shadow(#[source] std::io::Error),
    #[error("no data directory ({vars}; set one, or use --state DIR or --no-state)")]
    NoDataDir { vars: String },
}

/// Why what a run learned was not recorded. The run itself went on: the caller prints its
/// output first, then this as its error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotRecorded {
    #[error("no data directory to record the state in ({vars})")]
    NoDataDir { vars: String },
    #[error("cannot write state in {dir}: {reason}")]
    Unwritable { dir: String, reason: String },
    /// A write failed during the run although the directory looked writable before it.
    #[error("{0}")]
    WriteFailed(String),
}

/// Where this run keeps rollback state. Dropping it removes the private copy, if any.
#[derive(Debug)]
pub struct StatePlan {
    store: Option<StateStore>,
    unwritable: Option<NotRecorded>,
    shadow: Option<PathBuf>,
}

impl Drop for StatePlan {
    fn drop(&mut self) {
        if let Some(d) = &self.shadow {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

impl StatePlan {
    /// Plans the state of a run that records `project`/`channel`.
    ///
    /// When the state directory is writable (or the names or the recorded file are
    /// unusable, which the store itself reports with the reason before any mirror is
    /// asked) the store is the real one. Otherwise the run gets a private copy of what is
    /// recorded, and [`StatePlan::unrecorded`] says why nothing new was kept.
    pub fn for_run(
        setting: &StateSetting,
        project: &str,
        channel: &str,
    ) -> Result<StatePlan, PlanError> {
        StatePlan::with_probe(setting, project, channel, probe_writable)
    }

    /// [`StatePlan::for_run`] with the writability probe given, so that tests running as
    /// root (who may write anywhere) still reach the unwritable path.
    fn with_probe(
        setting: &StateSetting,
        project: &str,
        channel: &str,
        probe_writable: fn(&Path) -> std::io::Result<()>,
    ) -> Result<StatePlan, PlanError> {
        let mut plan = StatePlan {
            store: None,
            unwritable: None,
            shadow: None,
        };
        if *setting == StateSetting::Off {
            return Ok(plan);
        }
        let Some(dir) = setting.dir() else {
            // Nothing was recorded (there is nowhere it could be); the run goes on with an
            // empty private state and says so after the report.
            let shadow = make_shadow().map_err(PlanError::Shadow)?;
            plan.store = Some(StateStore::new(&shadow));
            plan.shadow = Some(shadow);
            plan.unwritable = Some(NotRecorded::NoDataDir {
                vars: data_dir_vars(),
            });
            return Ok(plan);
        };
        let store = StateStore::new(&dir);
        let Ok(file) = store.path(project, channel) else {
            // The library names the problem with the project or channel name.
            plan.store = Some(store);
            return Ok(plan);
        };
        let probe = match file.parent() {
            Some(parent) => probe_writable(parent),
            None => Ok(()),
        };
        let Err(why) = probe else {
            plan.store = Some(store);
            return Ok(plan);
        };
        let recorded = match crate::fsutil::read_limited(&file, MAX_STATE_BYTES) {
            Ok(b) => Some(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(_) => {
                // Unreadable or damaged: the store refuses it, with the reason, before any
                // mirror is asked.
                plan.store = Some(store);
                return Ok(plan);
            }
        };
        let Ok(shadow) = make_shadow() else {
            plan.store = Some(store);
            return Ok(plan);
        };
        let shadow_store = StateStore::new(&shadow);
        plan.shadow = Some(shadow);
        if let Some(bytes) = recorded
            && copy_recorded(&shadow_store, project, channel, &bytes).is_err()
        {
            plan.store = Some(store);
            return Ok(plan);
        }
        plan.store = Some(shadow_store);
        plan.unwritable = Some(NotRecorded::Unwritable {
            dir: dir.display().to_string(),
            reason: why.to_string(),
        });
        Ok(plan)
    }

    /// The store the run reads and records through (`None`: state is off).
    pub fn store(&self) -> Option<&StateStore> {
        self.store.as_ref()
    }

    /// Whether the run reads a private copy instead of the real state directory.
    pub fn is_shadow(&self) -> bool {
        self.shadow.is_some()
    }

    /// Why a run that would have recorded a new version could not (the directory was not
    /// writable, or a write failed during the run); `written` says whether the run
    /// recorded anything, and `failed` is the write error it met, if any.
    pub fn unrecorded(&self, written: bool, failed: Option<&StateError>) -> Option<NotRecorded> {
        match failed {
            Some(e) => Some(NotRecorded::WriteFailed(e.to_string())),
            None => self.unwritable.clone().filter(|_| written),
        }
    }
}

/// How the variables that locate the data directory are set, for a message saying there
/// is none: an empty `HOME=""` is not the same mistake as no `HOME` at all.
fn data_dir_vars() -> String {
    let how = |name: &str| match std::env::var_os(name) {
        None => format!("{name} is not set"),
        Some(v) if v.is_empty() => format!("{name} is empty"),
        Some(_) => format!("{name} is set"),
    };
    format!("{} and {}", how("HOME"), how("XDG_DATA_HOME"))
}

/// The recorded state, byte for byte, into the private copy.
fn copy_recorded(
    shadow: &StateStore,
    project: &str,
    channel: &str,
    bytes: &[u8],
) -> Result<(), StateError> {
    let p = shadow.path(project, channel)?;
    let write = || -> std::io::Result<()> {
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d)?;
        }
        std::fs::write(&p, bytes)
    };
    write().map_err(|source| StateError::Write {
        path: p.display().to_string(),
        source,
    })
}

/// Whether a state file could be written in `dir`: the directory made, and a small file
/// created, written, synced and removed (a read-only or full filesystem fails here, where
/// merely checking permissions would not).
fn probe_writable(dir: &Path) -> std::io::Result<()> {
    use std::io::Write as _;
    std::fs::create_dir_all(dir)?;
    let p = dir.join(format!(".mirrorproof-probe.{}.tmp", random_hex()?));
    let written = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&p)?;
        f.write_all(&[b'\n'; 256])?;
        f.sync_all()
    })();
    let _ = std::fs::remove_file(&p);
    written
}

fn random_hex() -> std::io::Result<String> {
    let mut rnd = [0u8; 8];
    getrandom::fill(&mut rnd).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(hex::encode(rnd))
}

/// A private, empty directory (mode 0700: the recorded state is nobody else's business)
/// for a state that cannot be kept.
fn make_shadow() -> std::io::Result<PathBuf> {
    let d = std::env::temp_dir().join(format!(
        "mirrorproof-state.{}.{}",
        std::process::id(),
        random_hex()?
    ));
    let mut b = std::fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(&d)?;
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::ChannelState;

    fn recorded(version: u64) -> ChannelState {
        ChannelState {
            version,
            payload_sha256: "c".repeat(64),
            updated: "2026-11-22T00:00:00Z".into(),
        }
    }

    #[test]
    fn options_map_to_settings() {
        assert_eq!(StateSetting::from_options(None, true), StateSetting::Off);
        assert_eq!(
            StateSetting::from_options(Some("d".into()), false),
            StateSetting::Dir("d".into())
        );
        assert_eq!(
            StateSetting::from_options(None, false),
            StateSetting::Default
        );
    }

    #[test]
    fn off_means_no_store_and_nothing_unrecorded() {
        let plan = StatePlan::for_run(&StateSetting::Off, "p", "stable").unwrap();
        assert!(plan.store().is_none());
        assert!(!plan.is_shadow());
        assert_eq!(plan.unrecorded(true, None), None);
        assert!(StateSetting::Off.read_only_store().unwrap().is_none());
    }

    #[test]
    fn writable_directory_is_used_directly() {
        let dir = tempfile::tempdir().unwrap();
        let setting = StateSetting::Dir(dir.path().join("state"));
        let plan = StatePlan::for_run(&setting, "p", "stable").unwrap();
        assert_eq!(plan.store().unwrap().dir(), dir.path().join("state"));
        assert!(!plan.is_shadow());
        assert_eq!(plan.unrecorded(true, None), None);
        // The probe leaves nothing behind but the project's directory.
        let left: Vec<_> = std::fs::read_dir(dir.path().join("state/p"))
            .unwrap()
            .collect();
        assert!(left.is_empty(), "{left:?}");
        let ro = setting.read_only_store().unwrap().unwrap();
        assert_eq!(ro.dir(), dir.path().join("state"));
    }

    #[test]
    fn a_write_error_during_the_run_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let plan =
            StatePlan::for_run(&StateSetting::Dir(dir.path().into()), "p", "stable").unwrap();
        let err = StateError::Write {
            path: "x/stable.json".into(),
            source: std::io::Error::other("disk full"),
        };
        let why = plan.unrecorded(false, Some(&err)).unwrap();
        assert_eq!(why, NotRecorded::WriteFailed(err.to_string()));
        assert!(why.to_string().contains("disk full"));
    }

    #[test]
    fn bad_names_are_left_for_the_store_to_refuse() {
        let dir = tempfile::tempdir().unwrap();
        let plan = StatePlan::for_run(&StateSetting::Dir(dir.path().into()), "p", "../x").unwrap();
        let store = plan.store().unwrap();
        assert_eq!(store.dir(), dir.path());
        assert!(matches!(store.load("p", "../x"), Err(StateError::Name(_))));
    }

    /// The probe writes for real: below a regular file nothing can be created, whoever
    /// runs it (root included), and in a writable directory it leaves nothing behind.
    #[test]
    fn the_probe_writes_for_real() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        std::fs::write(&file, b"x").unwrap();
        assert!(probe_writable(&file.join("p")).is_err());
        probe_writable(&dir.path().join("p")).unwrap();
        let left: Vec<_> = std::fs::read_dir(dir.path().join("p")).unwrap().collect();
        assert!(left.is_empty(), "{left:?}");
    }

    fn refuse(_: &Path) -> std::io::Result<()> {
        Err(std::io::Error::from(std::io::ErrorKind::ReadOnlyFilesystem))
    }

    /// A directory that cannot be written: the run reads a private copy of the recorded
    /// state (so a rollback is still caught) and says why nothing new was kept, but only
    /// when there was something new to keep.
    #[test]
    fn unwritable_directory_gets_a_private_copy() {
        let dir = tempfile::tempdir().unwrap();
        let real = StateStore::new(dir.path());
        real.save("p", "stable", &recorded(5)).unwrap();
        let setting = StateSetting::Dir(dir.path().into());
        let plan = StatePlan::with_probe(&setting, "p", "stable", refuse).unwrap();
        assert!(plan.is_shadow());
        let store = plan.store().unwrap().clone();
        assert_ne!(store.dir(), dir.path());
        assert_eq!(store.load("p", "stable").unwrap(), Some(recorded(5)));
        assert_eq!(plan.unrecorded(false, None), None);
        let why = plan.unrecorded(true, None).unwrap();
        assert!(matches!(why, NotRecorded::Unwritable { .. }), "{why:?}");
        assert_eq!(
            why.to_string(),
            format!(
                "cannot write state in {}: {}",
                dir.path().display(),
                std::io::Error::from(std::io::ErrorKind::ReadOnlyFilesystem)
            )
        );
        // Recording through the copy never touches the real state; the copy is gone with
        // the plan.
        store.save("p", "stable", &recorded(6)).unwrap();
        assert_eq!(real.load("p", "stable").unwrap(), Some(recorded(5)));
        let shadow = store.dir().to_path_buf();
        drop(plan);
        assert!(!shadow.exists());
    }

    /// Nothing recorded yet and nowhere to record: an empty private state.
    #[test]
    fn unwritable_and_nothing_recorded_starts_empty() {
        let dir = tempfile::tempdir().unwrap();
        let setting = StateSetting::Dir(dir.path().into());
        let plan = StatePlan::with_probe(&setting, "p", "stable", refuse).unwrap();
        assert!(plan.is_shadow());
        assert_eq!(plan.store().unwrap().load("p", "stable").unwrap(), None);
        assert!(plan.unrecorded(true, None).is_some());
    }

    /// A damaged recorded state is not copied past: the real store refuses it, with the
    /// reason, before any mirror is asked.
    #[test]
    fn damaged_state_is_left_for_the_store_to_refuse() {
        let dir = tempfile::tempdir().unwrap();
        let real = StateStore::new(dir.path());
        let file = real.path("p", "stable").unwrap();
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, vec![b' '; 2 * MAX_STATE_BYTES as usize]).unwrap();
        let setting = StateSetting::Dir(dir.path().into());
        let plan = StatePlan::with_probe(&setting, "p", "stable", refuse).unwrap();
        assert!(!plan.is_shadow());
        assert!(matches!(
            plan.store().unwrap().load("p", "stable"),
            Err(StateError::Corrupt { .. })
        ));
    }
}

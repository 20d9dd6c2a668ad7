//! The one entry point from a loaded profile: which [`Scheme`] runs is decided here, from
//! what the profile pins, so no caller (the command line, a library user) ever chooses
//! between native and signed-file runs, or builds a state key, or knows how a scheme's
//! trust goes into an evidence bundle.
//!
//! A new scheme is one variant of [`Loaded`] and of [`Latest`], and one arm in each
//! `match` below; [`crate::run::check`] and everything after it stay as they are.

use std::sync::Arc;

use crate::evidence::{EvidenceDir, EvidenceError};
use crate::profile::{Mirror, Profile};
use crate::report::Report;
use crate::run::{self, CheckError, CheckOptions, Scheme};
use crate::schemes::files::{self, Files, LatestSigned};
use crate::schemes::native::{self, Native, NativeLatest};
use crate::schemes::pinned::Pinned;
use crate::schemes::tuf::scheme::{self as tuf, Tuf, TufLatest};
use crate::state::{StateError, StateStore};

/// A profile's scheme, its pinned trust read and checked, ready to run.
pub struct ProfileCheck {
    name: String,
    opts: CheckOptions,
    scheme: Loaded,
    keep_documents: bool,
}

/// One variant per scheme a profile can name.
enum Loaded {
    Native(Native),
    /// The pinned key is kept beside the scheme: `verify` checks local files under it.
    Files(Box<Files>, Box<Pinned>),
    Tuf(Box<Tuf>),
}

/// What a run of a profile produced, whatever its scheme.
#[derive(Debug)]
pub struct ProfileOutcome {
    pub report: Report,
    /// Set when the run recorded a new version in the local state.
    pub state_written: bool,
    /// Set when the run should have recorded a new version but could not write the state:
    /// the report is whole all the same, and the caller says so after showing it.
    pub state_error: Option<StateError>,
    /// Whether each mirror served any file kept as evidence.
    pub served: Vec<(Mirror, bool)>,
    /// What the scheme hands on about the latest content.
    pub latest: Latest,
    /// The signed documents each entry served, when the run was asked to keep them
    /// ([`ProfileCheck::keep_documents`]): what the history stores.
    pub documents: Option<run::documents::Documents>,
}

/// The latest content, in the scheme's own terms: what local files are checked against
/// (`verify`), and the trust an evidence bundle must carry to be re-checked offline.
#[derive(Debug)]
pub enum Latest {
    Native(NativeLatest),
    Files {
        pinned: Box<Pinned>,
        latest: Option<Box<LatestSigned>>,
    },
    Tuf(TufLatest),
}

impl ProfileCheck {
    /// Reads the pinned trust the profile names (a root for native profiles, a key for
    /// the signed-file formats) under the size limit of `opts`, and picks the scheme.
    /// `opts.state` may be set later ([`ProfileCheck::with_state`]): where the state is
    /// kept can depend on [`ProfileCheck::state_key`].
    pub fn load(profile: &Profile, opts: CheckOptions) -> Result<ProfileCheck, CheckError> {
        let scheme = match (profile.scheme.as_str(), &profile.signed) {
            (_, Some(_)) => {
                let (pinned, source) = files::load_pinned(profile)?;
                let scheme = Files::new(pinned.clone(), source, &profile.name, &opts);
                Loaded::Files(Box::new(scheme), Box::new(pinned))
            }
            ("native", None) => {
                let pinned =
                    native::load_pinned_root(&profile.root, opts.fetch.max_metadata_bytes)?;
                Loaded::Native(Native::new(pinned, &opts))
            }
            ("tuf", None) => Loaded::Tuf(Box::new(Tuf::new(profile, &opts)?)),
            (other, None) => return Err(CheckError::Scheme(other.to_owned())),
        };
        Ok(ProfileCheck {
            name: profile.name.clone(),
            opts,
            scheme,
            keep_documents: false,
        })
    }

    /// The name the local state keeps this stream under, as the scheme says it.
    pub fn state_key(&self) -> String {
        match &self.scheme {
            Loaded::Native(s) => s.state_key(),
            Loaded::Files(s, _) => s.state_key(),
            Loaded::Tuf(s) => s.state_key(),
        }
    }

    /// The state store the run reads and records through (`None`: no state).
    pub fn with_state(mut self, store: Option<StateStore>) -> ProfileCheck {
        self.opts.state = store;
        self
    }

    /// Whether the run keeps the signed documents each mirror served, in memory and
    /// bounded ([`run::documents`]), for the history to store.
    pub fn keep_documents(mut self, keep: bool) -> ProfileCheck {
        self.keep_documents = keep;
        self
    }

    /// Runs the whole check over `mirrors`; blocking. Documents each mirror serves go into
    /// `evidence` as they arrive; [`ProfileOutcome::finish_evidence`] completes it.
    pub fn run(
        self,
        mirrors: Vec<Mirror>,
        evidence: Option<Arc<EvidenceDir>>,
    ) -> Result<ProfileOutcome, CheckError> {
        let (name, opts, keep) = (&self.name, self.opts, self.keep_documents);
        match self.scheme {
            Loaded::Native(s) => {
                let out = run::check_keeping(s, name, mirrors, opts, evidence, keep)?;
                Ok(ProfileOutcome::from(out, Latest::Native))
            }
            Loaded::Files(s, pinned) => {
                let out = run::check_keeping(*s, name, mirrors, opts, evidence, keep)?;
                Ok(ProfileOutcome::from(out, |latest| Latest::Files {
                    pinned,
                    latest: latest.map(Box::new),
                }))
            }
            Loaded::Tuf(mut s) => {
                s.use_state(opts.state.clone())?;
                let out = run::check_keeping(*s, name, mirrors, opts, evidence, keep)?;
                Ok(ProfileOutcome::from(out, Latest::Tuf))
            }
        }
    }
}

/// Loads `profile` and checks `mirrors` with `opts` (state included); blocking.
pub fn check_profile(
    profile: &Profile,
    mirrors: Vec<Mirror>,
    opts: CheckOptions,
    evidence: Option<Arc<EvidenceDir>>,
) -> Result<ProfileOutcome, CheckError> {
    ProfileCheck::load(profile, opts)?.run(mirrors, evidence)
}

impl ProfileOutcome {
    fn from<L>(out: run::Outcome<L>, latest: impl FnOnce(L) -> Latest) -> ProfileOutcome {
        ProfileOutcome {
            report: out.report,
            state_written: out.state_written,
            state_error: out.state_error,
            served: out.served,
            latest: latest(out.latest),
            documents: out.documents,
        }
    }

    /// Completes an evidence bundle written during the run with the trust this scheme
    /// pinned (the root and the rotations it accepted, or the key and the signed file's
    /// description), so the bundle re-checks offline.
    pub fn finish_evidence(
        &self,
        dir: &EvidenceDir,
        profile: &Profile,
    ) -> Result<(), EvidenceError> {
        match &self.latest {
            Latest::Native(l) => dir.finish_native(&self.report, l, &self.served),
            Latest::Files { .. } => dir.finish_signed(&self.report, profile, &self.served),
            Latest::Tuf(l) => {
                let trust = tuf::evidence_trust(profile, &self.report, l);
                dir.finish(&self.report, &trust, &self.served)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fetch::{ArtifactMode, FetchConfig};
    use std::path::Path;

    fn opts() -> CheckOptions {
        CheckOptions {
            channel: "stable".into(),
            artifacts: ArtifactMode::None,
            fetch: FetchConfig::default(),
            state: None,
            now: crate::time::parse("2030-01-01T00:00:00Z").unwrap(),
            vantages: Default::default(),
            hooks: Default::default(),
        }
    }

    fn profile(text: &str) -> Profile {
        Profile::parse(text, Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    #[test]
    fn the_scheme_names_the_state_key() {
        let native =
            profile("name = \"demo\"\nroot = \"keys/demo.root.json\"\nchannel = \"stable\"\n");
        // The project the pinned root names, not the profile's name.
        let key = ProfileCheck::load(&native, opts()).unwrap().state_key();
        assert_eq!(key, "exampleos");
        let signify = profile(
            "name = \"obsd\"\nscheme = \"signify\"\nkey = \"keys/openbsd-79-base.pub\"\nchannel = \"c\"\nfile = \"SHA256.sig\"\n",
        );
        let key = ProfileCheck::load(&signify, opts()).unwrap().state_key();
        assert_eq!(key, "signify:obsd");
    }

    #[test]
    fn pinned_trust_is_read_before_any_mirror_is_asked() {
        let native = profile("name = \"x\"\nroot = \"keys/missing.json\"\nchannel = \"stable\"\n");
        let e = ProfileCheck::load(&native, opts()).err().unwrap();
        assert!(matches!(e, CheckError::PinnedRoot { .. }), "{e}");
        let mut other = native.clone();
        other.scheme = "carrier-pigeon".into();
        let e = ProfileCheck::load(&other, opts()).err().unwrap();
        assert!(matches!(e, CheckError::Scheme(s) if s == "carrier-pigeon"));
    }
}

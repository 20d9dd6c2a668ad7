//! mirrorproof: check that every mirror, in every country, serves the genuine latest
//! release, as decided by signed bytes and pinned offline keys alone.
//!
//! One run is one pipeline, [`run`], whatever the scheme. It starts from a loaded
//! [`profile`] ([`run::ProfileCheck`], [`run::check_profile`]), which picks the scheme:
//! plan and fetch (each [`run::Scheme`] says what to ask every mirror for, possibly over
//! several rounds, and a [`run::Visit`] fetches it under the [`fetch`] limits and keeps
//! evidence), observe (the scheme turns verified bytes into a [`run::Observation`]), judge
//! ([`run::judge`], the same rules for every scheme), artifacts ([`run::artifacts`]), record
//! (the rollback [`state`]), the [`report`] with its renderers, and the [`evidence`] bundle.
//!
//! The schemes live in [`schemes`]: [`schemes::native`] (signed release documents under a
//! rotating [`root`], read by [`envelope`] and [`release`]), [`schemes::files`] (files
//! signed directly, in the signify, minisign, SSHSIG and signed-note formats of the
//! sibling modules) and [`schemes::tuf`] (a TUF client). [`verify`] and [`signed_files`]
//! check files on disk against what a run found, or against a signature.
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod country;
pub mod envelope;
pub mod evidence;
pub mod fetch;
pub mod fsutil;
pub mod history;
pub mod import;
pub mod json;
pub mod keys;
pub mod profile;
pub mod publish;
pub mod release;
pub mod report;
pub mod root;
pub mod run;
pub mod schemes;
pub mod signed_files;
pub mod state;
pub mod stream;
pub mod text;
pub mod time;
pub mod trust;
pub mod vantage;
pub mod verify;

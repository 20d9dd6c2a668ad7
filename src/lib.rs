//! mirrorproof: check that every mirror, in every country, serves the genuine latest
//! release, as decided by signed bytes and pinned offline keys alone.
//!
//! The pipeline, one module per step: [`keys`] and [`envelope`] check signatures,
//! [`root`] holds the pinned trust and its rotations, [`release`] reads signed release
//! documents, [`fetch`] gets bytes from mirrors under strict limits, [`audit`] turns what
//! every mirror served into verdicts, [`state`] remembers the highest verified version,
//! [`report`] says it all, and [`check`] runs the whole thing.
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod audit;
pub mod check;
pub mod country;
pub mod envelope;
pub mod evidence;
pub mod fetch;
pub mod fsutil;
pub mod import;
pub mod json;
pub mod keys;
pub mod profile;
pub mod publish;
pub mod release;
pub mod report;
pub mod root;
pub mod scheme_check;
pub mod schemes;
pub mod signed_files;
pub mod state;
pub mod stream;
pub mod text;
pub mod time;
pub mod trust;
pub mod verify;

//! Verification results shared by the mirrors of one `check` run.
//!
//! Hundreds of mirrors usually serve the same bytes of every document. Verifying a
//! document (strict parse, canonical form, signatures, typed read) costs the same on each
//! copy, and for a targets role of megabytes on hundreds of mirrors it made a sweep
//! CPU-bound: the runtime's threads that drive request deadlines starved, and honest
//! mirrors timed out depending on the checker's load.
//!
//! What is shared is only what is a pure function of its key: the exact bytes of the
//! document, the exact bytes of the document whose keys it is checked under (the root for
//! top-level roles, the delegating targets role for delegated ones) and the role name.
//! Two mirrors with equal keys would get the same answer from a fresh verification, so a
//! hit gives exactly that answer. Everything that depends on a mirror's own chain
//! (versions against what it trusts, hashes and lengths against the metadata above,
//! expiry, rollback) is checked by each mirror's [`super::trusted::TrustedSet`] as before.
//!
//! Failures are never kept: a document that did not verify is verified again (and fails
//! again) on every mirror serving it, so nothing learned from one mirror can make
//! another's bytes pass. The cache is bounded in entries and in document bytes; beyond
//! either bound it stops adding (results are verified afresh, never wrong, only slower).

use std::any::Any;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

use super::TufError;

/// Entries kept at most (a repository has a handful of top-level documents and a bounded
/// number of delegations per walk; two rounds and a few versions stay far below).
pub const MAX_ENTRIES: usize = 64;
/// Bytes of documents whose verified form is kept, at most: the parsed forms of this
/// much JSON live for the whole run.
pub const MAX_BYTES: u64 = 48 * 1024 * 1024;
/// Documents at least this large are verified off the runtime's worker threads (see
/// [`VerifyCache::verified`]).
pub const LARGE: usize = 64 * 1024;

/// What a verification is keyed by: SHA-256 of the delegator's bytes, SHA-256 of the
/// document's bytes, and the role name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    pub delegator: [u8; 32],
    pub document: [u8; 32],
    pub role: String,
}

type Shared = Arc<dyn Any + Send + Sync>;

#[derive(Default)]
struct State {
    done: HashMap<Key, Shared>,
    bytes: u64,
    /// One lock per key being verified, so that mirrors asking at once for the same
    /// document wait for one verification instead of each doing it.
    pending: HashMap<Key, Arc<Mutex<()>>>,
}

/// The cache of one run; share it with [`Arc`].
#[derive(Default)]
pub struct VerifyCache {
    state: Mutex<State>,
    verifications: AtomicU64,
}

impl std::fmt::Debug for VerifyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyCache")
            .field("entries", &self.len())
            .finish()
    }
}

/// SHA-256 of `bytes`.
pub fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

impl VerifyCache {
    pub fn new() -> VerifyCache {
        VerifyCache::default()
    }

    /// How many verifications ran through this cache (hits do not count): what shows
    /// that identical copies are verified once.
    pub fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }

    /// Entries kept now.
    pub fn len(&self) -> usize {
        self.lock().done.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A poisoned lock only means another task panicked; the maps are whole.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn hit<T: Send + Sync + 'static>(&self, key: &Key) -> Option<Arc<T>> {
        self.lock()
            .done
            .get(key)
            .and_then(|v| v.clone().downcast::<T>().ok())
    }

    /// The result of `verify` for `key` (over a document of `len` bytes): a kept one, or
    /// a fresh one, kept if it succeeded and fits. A large document's verification runs
    /// where it does not hold up the runtime's other tasks (their deadlines).
    pub fn verified<T: Send + Sync + 'static>(
        &self,
        key: Key,
        len: usize,
        verify: impl FnOnce() -> Result<T, TufError>,
    ) -> Result<Arc<T>, TufError> {
        if let Some(hit) = self.hit::<T>(&key) {
            return Ok(hit);
        }
        off_the_runtime(len >= LARGE, || self.verify_once(key, len, verify))
    }

    fn verify_once<T: Send + Sync + 'static>(
        &self,
        key: Key,
        len: usize,
        verify: impl FnOnce() -> Result<T, TufError>,
    ) -> Result<Arc<T>, TufError> {
        let turn = self.lock().pending.entry(key.clone()).or_default().clone();
        // Held until the result is kept: whoever waits for this turn then finds it.
        let _turn = turn.lock().unwrap_or_else(|e| e.into_inner());
        // Whoever held the turn before may have verified it meanwhile.
        let result = match self.hit::<T>(&key) {
            Some(hit) => Ok(hit),
            None => {
                self.verifications.fetch_add(1, Ordering::Relaxed);
                verify().map(Arc::new)
            }
        };
        let mut state = self.lock();
        if state
            .pending
            .get(&key)
            .is_some_and(|t| Arc::ptr_eq(t, &turn))
        {
            state.pending.remove(&key);
        }
        if let Ok(v) = &result {
            let len = len as u64;
            if !state.done.contains_key(&key)
                && state.done.len() < MAX_ENTRIES
                && state.bytes.saturating_add(len) <= MAX_BYTES
            {
                state.bytes += len;
                let shared: Shared = v.clone();
                state.done.insert(key, shared);
            }
        }
        result
    }
}

/// Runs `f` so that, on a multi-threaded runtime, the worker's other tasks move to
/// another thread while it runs (`block_in_place`). On a current-thread runtime (the
/// conformance client) or outside a runtime it just runs.
pub fn off_the_runtime<R>(large: bool, f: impl FnOnce() -> R) -> R {
    let multi = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    if large && multi {
        tokio::task::block_in_place(f)
    } else {
        f()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: u8) -> Key {
        Key {
            delegator: [0; 32],
            document: [i; 32],
            role: "targets".into(),
        }
    }

    #[test]
    fn failures_are_verified_again_and_successes_once() {
        let c = VerifyCache::new();
        let fail = || Err::<u64, _>(TufError::Order("no"));
        assert!(c.verified(key(1), 10, fail).is_err());
        assert!(c.verified(key(1), 10, fail).is_err());
        assert_eq!(c.verifications(), 2);
        assert!(c.is_empty());
        assert_eq!(*c.verified(key(1), 10, || Ok(7u64)).unwrap(), 7);
        // A hit never runs the verification (which would now say otherwise).
        assert_eq!(*c.verified(key(1), 10, || Ok(8u64)).unwrap(), 7);
        assert_eq!(c.verifications(), 3);
        // Another role name, delegator or document is another key.
        let mut k = key(1);
        k.role = "other".into();
        assert_eq!(*c.verified(k, 10, || Ok(9u64)).unwrap(), 9);
        let mut k = key(1);
        k.delegator = [1; 32];
        assert_eq!(*c.verified(k, 10, || Ok(10u64)).unwrap(), 10);
        assert_eq!(c.verifications(), 5);
    }

    #[test]
    fn beyond_its_bounds_it_stops_keeping() {
        let c = VerifyCache::new();
        for i in 0..=MAX_ENTRIES as u8 {
            c.verified(key(i), 1, || Ok(u64::from(i))).unwrap();
        }
        assert_eq!(c.len(), MAX_ENTRIES);
        let last = MAX_ENTRIES as u8;
        assert_eq!(*c.verified(key(last), 1, || Ok(0u64)).unwrap(), 0);
        let big = VerifyCache::new();
        big.verified(key(1), MAX_BYTES as usize + 1, || Ok(1u64))
            .unwrap();
        assert!(big.is_empty());
    }
}

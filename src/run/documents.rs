//! The signed documents a run's mirrors served, kept in memory for the history
//! (`--history`): what each entry served at each path (by SHA-256) and one copy of each
//! distinct document. It follows what the evidence bundle keeps ([`super::Keep`]): the
//! document judged last at a path is the one named.
//!
//! Only a run that asks for it collects (`ProfileCheck::keep_documents`). Each document is
//! already capped by the metadata limit; identical documents (the usual case: every honest
//! mirror serves the same bytes) are held once; and past [`BODY_BUDGET_BYTES`] of distinct
//! documents only their digests and sizes are kept, so hostile mirrors each serving their
//! own large document cannot grow the run's memory without bound.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

/// Distinct document bytes held at most per run; beyond this, digests and sizes only.
pub const BODY_BUDGET_BYTES: u64 = 64 * 1024 * 1024;

/// One distinct document.
#[derive(Debug, Clone)]
pub struct KeptDocument {
    pub size: u64,
    /// `None` when the run's budget for document bytes was spent before this one arrived.
    pub bytes: Option<Arc<[u8]>>,
}

/// What a run's mirrors served, per entry (in the order of `Report::mirrors`).
#[derive(Debug, Clone, Default)]
pub struct Documents {
    /// Per entry: path (below the mirror, as the evidence bundle names it) → SHA-256 hex.
    pub served: Vec<BTreeMap<String, String>>,
    /// SHA-256 hex → the document.
    pub documents: BTreeMap<String, KeptDocument>,
}

/// Shared by every visit of one run.
#[derive(Debug, Default)]
pub(crate) struct Collector {
    inner: Mutex<Store>,
}

#[derive(Debug, Default)]
struct Store {
    documents: BTreeMap<String, KeptDocument>,
    held: u64,
}

impl Collector {
    /// Holds `bytes` once (within the budget) and returns its digest.
    fn hold(&self, bytes: &[u8]) -> String {
        let digest = hex::encode(Sha256::digest(bytes));
        // A poisoned lock only means another task panicked mid-insert: the map is whole.
        let mut store = match self.inner.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if !store.documents.contains_key(&digest) {
            let size = bytes.len() as u64;
            let keep = store.held.saturating_add(size) <= BODY_BUDGET_BYTES;
            if keep {
                store.held += size;
            }
            store.documents.insert(
                digest.clone(),
                KeptDocument {
                    size,
                    bytes: keep.then(|| Arc::from(bytes)),
                },
            );
        }
        digest
    }

    /// Each entry's paths, and the documents they name: one replaced everywhere by a
    /// later round (a release refetched under a rotated root) is not what any mirror
    /// served in the end, and is dropped, as the evidence bundle drops it.
    pub(crate) fn finish(&self, entries: Vec<BTreeMap<String, String>>) -> Documents {
        let mut store = match self.inner.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let named: std::collections::BTreeSet<&String> =
            entries.iter().flat_map(|e| e.values()).collect();
        let mut documents = std::mem::take(&mut store.documents);
        documents.retain(|digest, _| named.contains(digest));
        Documents {
            served: entries,
            documents,
        }
    }
}

/// One entry's paths, and the run's collector.
#[derive(Debug)]
pub(crate) struct EntryDocuments {
    collector: Arc<Collector>,
    paths: Mutex<BTreeMap<String, String>>,
}

impl EntryDocuments {
    pub(crate) fn new(collector: Arc<Collector>) -> EntryDocuments {
        EntryDocuments {
            collector,
            paths: Mutex::new(BTreeMap::new()),
        }
    }

    /// `path` now holds `bytes`, or (with `None`) nothing: a failed refetch.
    pub(crate) fn set(&self, path: &str, bytes: Option<&[u8]>) {
        let digest = bytes.map(|b| self.collector.hold(b));
        let mut paths = match self.paths.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        match digest {
            Some(d) => {
                paths.insert(path.to_owned(), d);
            }
            None => {
                paths.remove(path);
            }
        }
    }

    pub(crate) fn take(&self) -> BTreeMap<String, String> {
        match self.paths.lock() {
            Ok(mut g) => std::mem::take(&mut *g),
            Err(p) => std::mem::take(&mut *p.into_inner()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_documents_are_held_once_and_replacements_follow_the_evidence() {
        let c = Arc::new(Collector::default());
        let a = EntryDocuments::new(c.clone());
        let b = EntryDocuments::new(c.clone());
        a.set("stable/release.json", Some(b"one"));
        b.set("stable/release.json", Some(b"one"));
        b.set("root/2.json", Some(b"root"));
        // A refetch that failed leaves nothing at that path.
        b.set("root/2.json", None);
        a.set("stable/release.json", Some(b"two"));
        let docs = c.finish(vec![a.take(), b.take()]);
        assert_eq!(
            docs.documents.len(),
            2,
            "one and two, each held once; root replaced"
        );
        let two = hex::encode(Sha256::digest(b"two"));
        let one = hex::encode(Sha256::digest(b"one"));
        assert_eq!(docs.served[0]["stable/release.json"], two);
        assert_eq!(docs.served[1]["stable/release.json"], one);
        assert!(!docs.served[1].contains_key("root/2.json"));
    }

    #[test]
    fn past_the_budget_only_digests_are_kept() {
        let c = Arc::new(Collector::default());
        let e = EntryDocuments::new(c.clone());
        let big = vec![7u8; (BODY_BUDGET_BYTES - 10) as usize];
        e.set("a", Some(&big));
        e.set("b", Some(&[1u8; 20]));
        e.set("c", Some(&[2u8; 5]));
        let docs = c.finish(vec![e.take()]);
        let by_path = |p: &str| &docs.documents[&docs.served[0][p]];
        assert!(by_path("a").bytes.is_some());
        assert!(by_path("b").bytes.is_none(), "over the budget");
        assert_eq!(by_path("b").size, 20);
        assert!(by_path("c").bytes.is_some(), "still fits");
    }
}

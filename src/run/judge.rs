//! The one judge: given what every mirror served in one run (as [`Observation`]s) and the
//! local state, decide each mirror's status. Pure: no I/O, no clock. Every scheme is judged
//! here, by these rules.
//!
//! **Mode.** A run is judged by order when any signed content carries a number
//! ([`Order::Version`], [`Order::TreeSize`], or [`Order::Claimed`]; unnumbered content in
//! such a run counts as number 0), else by majority.
//!
//! **Renames** (claimed order only, before anything else). A signature binds an image's
//! bytes, not the unsigned version it is served under: the same verified content under two
//! version names means someone renamed it. The name most mirrors give it is its version
//! (on a tie the oldest name: a replay under a newer name is the attack that gains a
//! downgrade); the other mirrors are `invalid` and the state does not move in this run.
//!
//! **Equivocation.** Among verified content only (expired included: two signed payloads
//! under one version are proof of misbehaving keys either way), in ordered runs: two
//! contents with one number, or one content whose number the local state holds with
//! another content. In every run: two digests of one signed document (kind and version),
//! across all mirrors. A mirror holding such content or document is `equivocating`; that
//! comes first, before expiry. The state never moves to an equivocated version.
//!
//! **Latest.** Signed order (versions, tree sizes): the highest verified number that is
//! not expired and not below the state's version; the first mirror serving it describes it.
//! Claimed order: the number most verified mirrors claim (the newest on a tie), at or above
//! the state's; with nothing verified at all, the number most mirrors claim. Majority: the
//! content most mirrors serve; a tie has no latest.
//!
//! **Statuses**, first that applies: `unreachable` / `invalid` / `rollback` (from the
//! scheme);
//! `equivocating`; `expired`; `rollback` (number below the state's); above the latest
//! (claimed order only): a verified image is `incomplete` (unconfirmed until most mirrors
//! agree), an unverified claim is `incomplete` or `invalid` as its image failed; `stale`
//! (below the latest, or in majority runs other content than the latest, or any content
//! when mirrors are split evenly); otherwise the mirror is [`Judgement::Latest`] and the
//! artifacts stage decides between `ok`, `corrupt` and `incomplete`.
//!
//! **State.** It moves to the latest only when the latest has a number, is not
//! equivocated (nor any document of the mirror that describes it), and (claimed order) nothing was renamed and more than half the mirrors with
//! verified images claim the latest's version: one mirror replaying an old image under a
//! new name must not poison the state and make every honest mirror a rollback from then on.

use std::collections::{BTreeMap, BTreeSet};

use crate::run::observe::{Observation, Order, Proof, Signed};
use crate::state::ChannelState;
use crate::time::Timestamp;

/// A mirror's status; the variants are in the order the first applicable one wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Unreachable,
    Invalid,
    Equivocating,
    Expired,
    Rollback,
    Stale,
    Corrupt,
    Incomplete,
    Ok,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Unreachable => "unreachable",
            Status::Invalid => "invalid",
            Status::Equivocating => "equivocating",
            Status::Expired => "expired",
            Status::Rollback => "rollback",
            Status::Stale => "stale",
            Status::Corrupt => "corrupt",
            Status::Incomplete => "incomplete",
            Status::Ok => "ok",
        }
    }
}

/// The judgement of a mirror's content, before artifacts are looked at. `Latest` mirrors
/// go on to the artifact checks, which decide between ok, corrupt and incomplete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Judgement {
    Final(Status, String),
    Latest,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Equivocation {
    /// `None` for the content itself, else the kind of the signed document.
    pub kind: Option<String>,
    pub version: u64,
    /// The conflicting digests, sorted.
    pub payload_sha256: Vec<String>,
    /// Indexes of the mirrors that hold one of them.
    pub mirrors: Vec<usize>,
    /// True when the local state holds one of them.
    pub with_state: bool,
    /// The signed bytes behind each digest, where they are text worth keeping as proof.
    pub evidence: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Latest {
    /// `None` for unordered content.
    pub version: Option<u64>,
    pub payload_sha256: String,
    /// Index of a mirror that serves it, to describe it.
    pub example: usize,
}

#[derive(Debug, Clone)]
pub struct Audit {
    pub latest: Option<Latest>,
    pub judgements: Vec<Judgement>,
    pub equivocations: Vec<Equivocation>,
    /// Why the state must not move in this run although there is a latest (said in the
    /// report); `None` when nothing holds it back.
    pub hold: Option<Hold>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hold {
    /// Something held it back that the report shows elsewhere (an equivocation, no
    /// verified image); nothing more to say.
    Silent,
    /// A reason to add to the report's notices.
    Notice(String),
}

impl Audit {
    /// True when the latest content has two signed histories; the state must not then
    /// record either of them.
    pub fn latest_is_equivocated(&self) -> bool {
        self.latest.as_ref().is_some_and(|l| {
            l.version.is_some_and(|v| {
                self.equivocations
                    .iter()
                    .any(|e| e.kind.is_none() && e.version == v)
            })
        })
    }

    /// Indexes of the mirrors that serve the latest content, for the artifacts stage.
    pub fn latest_mirrors(&self) -> impl Iterator<Item = usize> + '_ {
        self.judgements
            .iter()
            .enumerate()
            .filter(|(_, j)| **j == Judgement::Latest)
            .map(|(i, _)| i)
    }
}

/// How a run is judged (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Signed,
    Claimed,
    Majority,
}

/// The words of the reasons, which say what the number is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Words {
    /// Signed release versions.
    Release,
    /// Tree sizes, and versions claimed in unsigned metadata.
    Version,
}

/// Judges one run. Mirrors whose image was served under a renamed version become
/// `Invalid` in `observations` (they hold no signed content of their own).
pub fn judge<D>(
    observations: &mut [Observation<D>],
    state: Option<&ChannelState>,
    now: Timestamp,
) -> Audit {
    let signed = || observations.iter().filter_map(Observation::signed);
    let mode = if signed().any(|s| matches!(s.order, Order::Claimed(_))) {
        Mode::Claimed
    } else if signed().any(|s| s.order.number().is_some()) {
        Mode::Signed
    } else {
        Mode::Majority
    };
    let words = if signed().any(|s| matches!(s.order, Order::Version(_))) {
        Words::Release
    } else {
        Words::Version
    };
    let verified_claims: Vec<u64> = signed()
        .filter(|s| s.proof == Proof::Verified)
        .filter_map(|s| s.order.number())
        .collect();
    let renamed = mode == Mode::Claimed && demote_renames(observations);

    let equivocations = equivocations(observations, state, mode);
    let floor = state.map_or(0, |s| s.version);
    let latest = match mode {
        Mode::Majority => None,
        Mode::Signed => latest_signed(observations, floor, now),
        Mode::Claimed => latest_claimed(observations, floor),
    };
    let (latest, judgements) = match mode {
        Mode::Majority => by_majority(observations),
        _ => {
            let judgements = observations
                .iter()
                .enumerate()
                .map(|(i, o)| {
                    ordered_status(
                        i,
                        o,
                        &equivocations,
                        latest.as_ref(),
                        floor,
                        now,
                        mode,
                        words,
                    )
                })
                .collect();
            (latest, judgements)
        }
    };
    let mut audit = Audit {
        latest,
        judgements,
        equivocations,
        hold: None,
    };
    audit.hold = hold(&audit, mode, renamed, &verified_claims);
    audit
}

fn number<D>(s: &Signed<D>) -> u64 {
    s.order.number().unwrap_or(0)
}

fn verified<D>(o: &Observation<D>) -> Option<&Signed<D>> {
    o.signed().filter(|s| s.proof == Proof::Verified)
}

/// Turns every mirror that serves verified content under another name than most mirrors
/// give it into `Invalid`; true if there was any.
fn demote_renames<D>(observations: &mut [Observation<D>]) -> bool {
    let mut names: BTreeMap<String, BTreeMap<u64, usize>> = BTreeMap::new();
    for s in observations.iter().filter_map(verified) {
        *names
            .entry(s.content.clone())
            .or_default()
            .entry(number(s))
            .or_default() += 1;
    }
    let mut renamed = false;
    for (content, by_name) in &names {
        if by_name.len() < 2 {
            continue;
        }
        renamed = true;
        let top = by_name.values().copied().max().unwrap_or(0);
        let Some(real) = by_name.iter().find(|(_, n)| **n == top).map(|(v, _)| *v) else {
            continue;
        };
        for o in observations.iter_mut() {
            let v = match verified(o) {
                Some(s) if &s.content == content && number(s) != real => number(s),
                _ => continue,
            };
            *o = Observation::Invalid(format!(
                "serves the image that {top} mirror(s) serve as version {real} under the name of version {v} (renamed: a replay)"
            ));
        }
    }
    renamed
}

/// Two digests under one (kind, version), among verified content; the content itself
/// (kind `None`) only in ordered runs, where the state takes part too.
fn equivocations<D>(
    observations: &[Observation<D>],
    state: Option<&ChannelState>,
    mode: Mode,
) -> Vec<Equivocation> {
    type Key = (Option<String>, u64);
    let mut groups: BTreeMap<Key, BTreeMap<String, Option<String>>> = BTreeMap::new();
    let keys_of = |s: &Signed<D>| -> Vec<(Key, String, Option<String>)> {
        let mut keys = Vec::new();
        if mode != Mode::Majority {
            keys.push(((None, number(s)), s.content.clone(), s.evidence.clone()));
        }
        for d in &s.documents {
            keys.push((
                (Some(d.kind.clone()), d.version),
                d.digest.clone(),
                d.evidence.clone(),
            ));
        }
        keys
    };
    for s in observations.iter().filter_map(verified) {
        for (key, digest, evidence) in keys_of(s) {
            let proofs = groups.entry(key).or_default();
            let kept = proofs.entry(digest).or_default();
            if kept.is_none() {
                *kept = evidence;
            }
        }
    }
    let mut out = Vec::new();
    for ((kind, version), digests) in &groups {
        let state_conflict = kind.is_none()
            && state
                .filter(|st| st.version == *version)
                .is_some_and(|st| digests.keys().any(|d| *d != st.payload_sha256));
        if digests.len() < 2 && !state_conflict {
            continue;
        }
        let mut all: BTreeSet<String> = digests.keys().cloned().collect();
        if state_conflict && let Some(st) = state {
            all.insert(st.payload_sha256.clone());
        }
        let mirrors = observations
            .iter()
            .enumerate()
            .filter(|(_, o)| {
                verified(o).is_some_and(|s| {
                    keys_of(s)
                        .iter()
                        .any(|(k, _, _)| k.0 == *kind && k.1 == *version)
                })
            })
            .map(|(i, _)| i)
            .collect();
        out.push(Equivocation {
            kind: kind.clone(),
            version: *version,
            payload_sha256: all.into_iter().collect(),
            mirrors,
            with_state: state_conflict,
            evidence: digests.values().flatten().cloned().collect(),
        });
    }
    out
}

fn expired<D>(s: &Signed<D>, now: Timestamp) -> bool {
    s.expires.is_some_and(|e| now >= e)
}

/// Signed order: the highest verified number, not expired, at or above the floor; the
/// first mirror serving it describes it.
fn latest_signed<D>(observations: &[Observation<D>], floor: u64, now: Timestamp) -> Option<Latest> {
    observations
        .iter()
        .enumerate()
        .filter_map(|(i, o)| verified(o).map(|s| (i, s)))
        .filter(|(_, s)| !expired(s, now) && number(s) >= floor)
        .max_by_key(|(i, s)| (number(s), std::cmp::Reverse(*i)))
        .map(|(i, s)| Latest {
            version: s.order.number(),
            payload_sha256: s.content.clone(),
            example: i,
        })
}

/// Claimed order: the number most verified mirrors claim (the newest on a tie); with
/// nothing verified, the number most mirrors claim.
fn latest_claimed<D>(observations: &[Observation<D>], floor: u64) -> Option<Latest> {
    let none_verified = !observations.iter().any(|o| verified(o).is_some());
    let most_claimed = |verified_only: bool| {
        let mut n: BTreeMap<u64, usize> = BTreeMap::new();
        for s in observations.iter().filter_map(Observation::signed) {
            if s.proof == Proof::Verified || !verified_only {
                *n.entry(number(s)).or_default() += 1;
            }
        }
        n.into_iter()
            .filter(|(v, _)| *v >= floor)
            .max_by_key(|(v, c)| (*c, *v))
            .map(|(v, _)| v)
    };
    let version = most_claimed(true).or_else(|| none_verified.then(|| most_claimed(false))?)?;
    observations.iter().enumerate().find_map(|(i, o)| {
        let s = o.signed()?;
        (number(s) == version && (s.proof == Proof::Verified || none_verified)).then(|| Latest {
            version: Some(version),
            payload_sha256: s.content.clone(),
            example: i,
        })
    })
}

fn not_signed<D>(o: &Observation<D>) -> Option<Judgement> {
    match o {
        Observation::Unreachable(w) => Some(Judgement::Final(Status::Unreachable, w.clone())),
        Observation::Invalid(w) => Some(Judgement::Final(Status::Invalid, w.clone())),
        Observation::Rollback(w) => Some(Judgement::Final(Status::Rollback, w.clone())),
        Observation::Signed(_) => None,
    }
}

#[allow(clippy::too_many_arguments)]
fn ordered_status<D>(
    index: usize,
    o: &Observation<D>,
    equivocations: &[Equivocation],
    latest: Option<&Latest>,
    floor: u64,
    now: Timestamp,
    mode: Mode,
    words: Words,
) -> Judgement {
    let Some(s) = o.signed() else {
        return not_signed(o).unwrap_or(Judgement::Latest);
    };
    let v = number(s);
    let newest = latest.and_then(|l| l.version).unwrap_or(v);
    let split = equivocations
        .iter()
        .filter(|e| e.mirrors.contains(&index))
        .find(|e| e.kind.is_none())
        .or_else(|| equivocations.iter().find(|e| e.mirrors.contains(&index)));
    if let Some(e) = split {
        let why = match (&e.kind, mode, words) {
            (Some(kind), _, _) => format!(
                "{kind} {} exists with different signed contents elsewhere",
                e.version
            ),
            (None, Mode::Claimed, _) => format!(
                "version {v} is claimed for different signed images; the version is unsigned, so a mirror may be replaying an older image under this name"
            ),
            (None, _, Words::Release) => {
                format!("release {v} exists with different signed contents elsewhere")
            }
            (None, _, Words::Version) => {
                format!("version {v} exists with different signed contents (split view)")
            }
        };
        return Judgement::Final(Status::Equivocating, why);
    }
    if let Some(expires) = s.expires.filter(|_| expired(s, now)) {
        return Judgement::Final(
            Status::Expired,
            format!(
                "release {v} expired at {} (frozen or neglected mirror)",
                crate::time::format(&expires)
            ),
        );
    }
    if v < floor {
        return Judgement::Final(
            Status::Rollback,
            match words {
                Words::Release => {
                    format!("release {v} is older than {floor}, already verified here")
                }
                Words::Version => {
                    format!("version {v} is older than {floor}, already seen (local state)")
                }
            },
        );
    }
    if v > newest {
        // Claimed order only: above what most mirrors agree on.
        return match &s.proof {
            Proof::Verified => Judgement::Final(
                Status::Incomplete,
                format!(
                    "claims version {v} (unsigned), newer than the {newest} most mirrors serve: unconfirmed"
                ),
            ),
            Proof::Unfetched(e) => Judgement::Final(
                Status::Incomplete,
                format!(
                    "claims version {v}, newer than {newest}, but its image could not be fetched: {e}"
                ),
            ),
            Proof::Refused(e) => Judgement::Final(
                Status::Invalid,
                format!(
                    "claims version {v}, newer than {newest}, but its image does not verify: {e}"
                ),
            ),
            Proof::NotChecked => Judgement::Final(
                Status::Incomplete,
                format!(
                    "claims version {v} (unsigned), newer than the {newest} most mirrors claim; its image was not checked: unconfirmed"
                ),
            ),
        };
    }
    if v < newest {
        return Judgement::Final(
            Status::Stale,
            match words {
                Words::Release => format!("serves {v}; latest is {newest}"),
                Words::Version => format!("version {v}, behind {newest}"),
            },
        );
    }
    Judgement::Latest
}

/// Unordered content: what most mirrors serve counts as latest; a tie has no latest.
fn by_majority<D>(observations: &[Observation<D>]) -> (Option<Latest>, Vec<Judgement>) {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for s in observations.iter().filter_map(Observation::signed) {
        *counts.entry(&s.content).or_default() += 1;
    }
    let total: usize = counts.values().sum();
    let top = counts.values().copied().max().unwrap_or(0);
    let leaders: Vec<&str> = counts
        .iter()
        .filter(|(_, n)| **n == top)
        .map(|(c, _)| *c)
        .collect();
    let winner = match leaders[..] {
        [one] => Some(one),
        _ => None,
    };
    let judgements = observations
        .iter()
        .map(|o| {
            let Some(s) = o.signed() else {
                return not_signed(o).unwrap_or(Judgement::Latest);
            };
            match winner {
                Some(w) if w == s.content => Judgement::Latest,
                Some(_) => Judgement::Final(
                    Status::Stale,
                    format!(
                        "serves other signed content than the {top} of {total} mirrors that agree; the signature carries no version, so this may be older (or newer)"
                    ),
                ),
                None => Judgement::Final(
                    Status::Stale,
                    format!(
                        "mirrors are split evenly between {} signed contents and the signature carries no version: none can be called latest",
                        leaders.len()
                    ),
                ),
            }
        })
        .collect();
    let latest = winner.and_then(|w| {
        observations.iter().enumerate().find_map(|(i, o)| {
            o.signed().filter(|s| s.content == w).map(|s| Latest {
                version: None,
                payload_sha256: s.content.clone(),
                example: i,
            })
        })
    });
    (latest, judgements)
}

/// Why the state must not move in this run (see the module documentation). The claimed
/// order's reasons are said even when there is no latest: they explain why none is taken.
fn hold(audit: &Audit, mode: Mode, renamed: bool, verified_claims: &[u64]) -> Option<Hold> {
    if mode == Mode::Claimed {
        if renamed {
            return Some(Hold::Notice(
                "state not advanced: a signed image was served under more than one version name"
                    .into(),
            ));
        }
        let latest = audit.latest.as_ref().and_then(|l| l.version);
        let on_latest = latest.map_or(0, |lv| verified_claims.iter().filter(|v| **v == lv).count());
        if on_latest * 2 <= verified_claims.len() {
            return Some(if verified_claims.is_empty() {
                Hold::Silent
            } else {
                Hold::Notice(format!(
                    "state not advanced: only {on_latest} of {} mirrors with verified images claim the newest version (the version is unsigned, so a majority must agree)",
                    verified_claims.len()
                ))
            });
        }
    }
    // A document split among the latest's own documents holds it too (its mirrors are
    // equivocating, so the report shows why).
    let split = audit.latest.as_ref().is_some_and(|l| {
        audit
            .equivocations
            .iter()
            .any(|e| e.mirrors.contains(&l.example))
    });
    (split || audit.latest_is_equivocated()).then_some(Hold::Silent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::observe::Document;

    fn now() -> Timestamp {
        crate::time::parse("2026-11-22T00:00:00Z").unwrap()
    }

    fn content(order: Order, content: &str, expired: bool) -> Observation<()> {
        let expires = if expired {
            now() - chrono::TimeDelta::days(1)
        } else {
            now() + chrono::TimeDelta::days(1)
        };
        Observation::Signed(Box::new(Signed {
            content: content.into(),
            order,
            expires: matches!(order, Order::Version(_)).then_some(expires),
            published: None,
            signers: Vec::new(),
            artifacts: Vec::new(),
            evidence: Some(format!("note {content}")),
            documents: Vec::new(),
            proof: Proof::Verified,
            detail: (),
        }))
    }

    /// A native release: a signed version with an expiry, content 64 hex.
    fn release(version: u64, hash: &str, expired: bool) -> Observation<()> {
        content(Order::Version(version), &hash.repeat(64), expired)
    }

    fn statuses(a: &Audit) -> Vec<Option<Status>> {
        a.judgements
            .iter()
            .map(|j| match j {
                Judgement::Final(s, _) => Some(*s),
                Judgement::Latest => None,
            })
            .collect()
    }

    fn state(version: u64, hash: &str) -> ChannelState {
        ChannelState {
            version,
            payload_sha256: hash.into(),
            updated: String::new(),
        }
    }

    #[test]
    fn order_of_statuses() {
        let mut obs = vec![
            Observation::Unreachable("x".into()),
            Observation::Invalid("y".into()),
            release(5, "a", false),
            release(4, "b", false),
            release(3, "c", true),
            release(5, "a", false),
        ];
        let a = judge(&mut obs, None, now());
        assert_eq!(a.latest.as_ref().unwrap().version, Some(5));
        assert_eq!(
            statuses(&a),
            vec![
                Some(Status::Unreachable),
                Some(Status::Invalid),
                None,
                Some(Status::Stale),
                Some(Status::Expired),
                None
            ]
        );
        assert!(a.equivocations.is_empty());
        assert_eq!(a.hold, None);
    }

    #[test]
    fn equivocation_beats_expiry_and_blocks_state() {
        let mut obs = vec![
            release(5, "a", false),
            release(5, "b", true),
            release(4, "c", false),
        ];
        let a = judge(&mut obs, None, now());
        assert_eq!(
            statuses(&a),
            vec![
                Some(Status::Equivocating),
                Some(Status::Equivocating),
                Some(Status::Stale)
            ]
        );
        assert_eq!(a.equivocations.len(), 1);
        assert_eq!(a.equivocations[0].mirrors, vec![0, 1]);
        assert!(a.latest_is_equivocated());
        assert_eq!(a.hold, Some(Hold::Silent));
    }

    #[test]
    fn state_sets_the_floor_and_catches_rewritten_history() {
        let st = state(5, &"a".repeat(64));
        let a = judge(&mut [release(4, "b", false)], Some(&st), now());
        assert!(a.latest.is_none());
        assert_eq!(statuses(&a), vec![Some(Status::Rollback)]);

        let a = judge(&mut [release(5, "c", false)], Some(&st), now());
        assert_eq!(statuses(&a), vec![Some(Status::Equivocating)]);
        assert!(a.equivocations[0].with_state);

        let a = judge(
            &mut [release(5, "a", false), release(6, "d", false)],
            Some(&st),
            now(),
        );
        assert_eq!(statuses(&a), vec![Some(Status::Stale), None]);
    }

    #[test]
    fn majority_decides_without_versions_and_a_tie_has_no_latest() {
        let u = |c| content(Order::Unordered, c, false);
        let a = judge(&mut [u("a"), u("a"), u("b")], None, now());
        assert_eq!(a.judgements[0], Judgement::Latest);
        assert!(matches!(
            a.judgements[2],
            Judgement::Final(Status::Stale, _)
        ));
        assert_eq!(a.latest.as_ref().unwrap().version, None);
        let a = judge(&mut [u("a"), u("b")], None, now());
        assert!(a.latest.is_none());
        assert!(a.judgements.iter().all(|v| *v != Judgement::Latest));
    }

    #[test]
    fn tree_sizes_order_split_views_and_state() {
        let t = |n, c| content(Order::TreeSize(n), c, false);
        let mut seen = [t(10, "r10"), t(12, "r12"), t(12, "x12"), t(11, "r11")];
        let a = judge(&mut seen, None, now());
        assert!(a.latest_is_equivocated());
        assert_eq!(a.equivocations.len(), 1);
        assert_eq!(a.equivocations[0].evidence.len(), 2);
        assert!(matches!(
            a.judgements[1],
            Judgement::Final(Status::Equivocating, _)
        ));
        assert!(matches!(
            a.judgements[0],
            Judgement::Final(Status::Stale, _)
        ));

        let st = state(11, "r11");
        let a = judge(&mut [t(10, "r10"), t(11, "r11")], Some(&st), now());
        assert!(matches!(
            a.judgements[0],
            Judgement::Final(Status::Rollback, _)
        ));
        assert_eq!(a.judgements[1], Judgement::Latest);
        let a = judge(&mut [t(11, "other")], Some(&st), now());
        assert!(a.equivocations[0].with_state);
    }

    #[test]
    fn a_renamed_image_is_invalid_and_holds_the_state() {
        let c = |n, img| content(Order::Claimed(n), img, false);
        let mut seen = [c(7, "img7"), c(7, "img7"), c(8, "img7")];
        let a = judge(&mut seen, None, now());
        assert!(matches!(seen[2], Observation::Invalid(_)));
        assert_eq!(statuses(&a), vec![None, None, Some(Status::Invalid)]);
        assert!(matches!(a.hold, Some(Hold::Notice(_))));

        // An unverified newer claim is unconfirmed; most verified claims decide.
        let mut pending = content(Order::Claimed(9), "sig9", false);
        if let Observation::Signed(s) = &mut pending {
            s.proof = Proof::NotChecked;
        }
        let mut seen = [c(7, "img7"), c(7, "img7"), pending];
        let a = judge(&mut seen, None, now());
        assert_eq!(a.latest.as_ref().unwrap().version, Some(7));
        assert_eq!(statuses(&a), vec![None, None, Some(Status::Incomplete)]);
        assert_eq!(a.hold, None);
    }

    #[test]
    fn a_rollback_the_scheme_saw_is_final() {
        let mut obs = [
            release(5, "a", false),
            Observation::Rollback("snapshot 3 is older than 4".into()),
        ];
        let a = judge(&mut obs, None, now());
        assert_eq!(statuses(&a), vec![None, Some(Status::Rollback)]);
        assert_eq!(a.latest.as_ref().unwrap().version, Some(5));
    }

    #[test]
    fn documents_of_one_kind_and_version_must_agree() {
        let doc = |digest: &str| Document {
            kind: "snapshot".into(),
            version: 3,
            digest: digest.into(),
            evidence: None,
        };
        let mut seen = [release(5, "a", false), release(5, "a", false)];
        for (o, d) in seen.iter_mut().zip(["s1", "s2"]) {
            if let Observation::Signed(s) = o {
                s.documents.push(doc(d));
            }
        }
        let a = judge(&mut seen, None, now());
        assert_eq!(a.equivocations.len(), 1);
        assert_eq!(a.equivocations[0].kind.as_deref(), Some("snapshot"));
        assert_eq!(a.equivocations[0].mirrors, vec![0, 1]);
        assert!(matches!(
            &a.judgements[0],
            Judgement::Final(Status::Equivocating, why) if why.starts_with("snapshot 3")
        ));
        // The content itself agrees, so the latest stands, but its mirrors are not ok and
        // the state does not move to it.
        assert!(!a.latest_is_equivocated());
        assert_eq!(a.hold, Some(Hold::Silent));
    }
}

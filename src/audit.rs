//! Cross-mirror verdicts: given what every mirror served in one run and the local state,
//! decide each mirror's status in the order the format fixes. Pure: no I/O, no clock.

use std::collections::{BTreeMap, BTreeSet};

use crate::keys::KeyId;
use crate::release::Release;
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

/// A release whose signatures met the threshold and whose payload parsed and matched the
/// project and channel (it may still be expired).
#[derive(Debug, Clone)]
pub struct SignedRelease {
    pub release: Release,
    pub payload_sha256: String,
    pub signers: Vec<KeyId>,
}

/// What one mirror served, before any comparison with the others.
#[derive(Debug, Clone)]
pub enum Observation {
    Unreachable(String),
    Invalid(String),
    Signed(SignedRelease),
}

/// The judgement of a mirror's release, before artifacts are looked at. `Latest` mirrors
/// go on to the artifact checks, which decide between ok, corrupt and incomplete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Judgement {
    Final(Status, String),
    Latest,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Equivocation {
    pub version: u64,
    pub payload_sha256: Vec<String>,
    /// Indexes of the mirrors that served one of the conflicting payloads.
    pub mirrors: Vec<usize>,
    /// True when the local state holds one of the conflicting payloads.
    pub with_state: bool,
}

#[derive(Debug, Clone)]
pub struct Latest {
    pub version: u64,
    pub payload_sha256: String,
    /// Index of a mirror that served it, to take the release document from.
    pub example: usize,
}

#[derive(Debug, Clone)]
pub struct Audit {
    pub latest: Option<Latest>,
    pub judgements: Vec<Judgement>,
    pub equivocations: Vec<Equivocation>,
}

impl Audit {
    /// True when the latest version itself has two signed histories; the state must not
    /// then record either of them.
    pub fn latest_is_equivocated(&self) -> bool {
        self.latest
            .as_ref()
            .is_some_and(|l| self.equivocations.iter().any(|e| e.version == l.version))
    }
}

pub fn judge(observations: &[Observation], state: Option<&ChannelState>, now: Timestamp) -> Audit {
    // Every correctly signed payload, by version, including expired ones: two different
    // signed payloads under one version are proof of misbehaving release keys either way.
    let mut by_version: BTreeMap<u64, BTreeSet<&str>> = BTreeMap::new();
    for o in observations {
        if let Observation::Signed(s) = o {
            by_version
                .entry(s.release.version)
                .or_default()
                .insert(&s.payload_sha256);
        }
    }
    let mut equivocations = Vec::new();
    for (version, hashes) in &by_version {
        let state_conflict = state
            .filter(|st| st.version == *version)
            .is_some_and(|st| hashes.iter().any(|h| *h != st.payload_sha256));
        if hashes.len() > 1 || state_conflict {
            let mut payload_sha256: BTreeSet<String> =
                hashes.iter().map(|h| h.to_string()).collect();
            if state_conflict && let Some(st) = state {
                payload_sha256.insert(st.payload_sha256.clone());
            }
            let mirrors = observations
                .iter()
                .enumerate()
                .filter(
                    |(_, o)| matches!(o, Observation::Signed(s) if s.release.version == *version),
                )
                .map(|(i, _)| i)
                .collect();
            equivocations.push(Equivocation {
                version: *version,
                payload_sha256: payload_sha256.into_iter().collect(),
                mirrors,
                with_state: state_conflict,
            });
        }
    }
    let equivocated: BTreeSet<u64> = equivocations.iter().map(|e| e.version).collect();

    let floor = state.map_or(0, |s| s.version);
    let latest = observations
        .iter()
        .enumerate()
        .filter_map(|(i, o)| match o {
            Observation::Signed(s) if !s.release.is_expired(now) && s.release.version >= floor => {
                Some((s.release.version, i, s.payload_sha256.clone()))
            }
            _ => None,
        })
        .max_by_key(|(v, i, _)| (*v, std::cmp::Reverse(*i)))
        .map(|(version, example, payload_sha256)| Latest {
            version,
            payload_sha256,
            example,
        });

    let judgements = observations
        .iter()
        .map(|o| match o {
            Observation::Unreachable(e) => Judgement::Final(Status::Unreachable, e.clone()),
            Observation::Invalid(e) => Judgement::Final(Status::Invalid, e.clone()),
            Observation::Signed(s) => {
                let v = s.release.version;
                if equivocated.contains(&v) {
                    Judgement::Final(
                        Status::Equivocating,
                        format!("release {v} exists with different signed contents elsewhere"),
                    )
                } else if s.release.is_expired(now) {
                    Judgement::Final(
                        Status::Expired,
                        format!(
                            "release {v} expired at {} (frozen or neglected mirror)",
                            crate::time::format(&s.release.expires)
                        ),
                    )
                } else if v < floor {
                    Judgement::Final(
                        Status::Rollback,
                        format!("release {v} is older than {floor}, already verified here"),
                    )
                } else if latest.as_ref().is_some_and(|l| v < l.version) {
                    let lv = latest.as_ref().map_or(0, |l| l.version);
                    Judgement::Final(Status::Stale, format!("serves {v}; latest is {lv}"))
                } else {
                    Judgement::Latest
                }
            }
        })
        .collect();
    Audit {
        latest,
        judgements,
        equivocations,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::release::Release;

    fn signed(version: u64, hash: &str, expired: bool) -> Observation {
        let now = crate::time::parse("2026-11-22T00:00:00Z").unwrap();
        let expires = if expired {
            now - chrono::TimeDelta::days(1)
        } else {
            now + chrono::TimeDelta::days(1)
        };
        Observation::Signed(SignedRelease {
            release: Release {
                project: "p".into(),
                channel: "stable".into(),
                version,
                published: now,
                expires,
                artifacts: vec![],
            },
            payload_sha256: hash.repeat(64),
            signers: vec![],
        })
    }

    fn now() -> Timestamp {
        crate::time::parse("2026-11-22T00:00:00Z").unwrap()
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

    #[test]
    fn order_of_statuses() {
        let obs = vec![
            Observation::Unreachable("x".into()),
            Observation::Invalid("y".into()),
            signed(5, "a", false),
            signed(4, "b", false),
            signed(3, "c", true),
            signed(5, "a", false),
        ];
        let a = judge(&obs, None, now());
        assert_eq!(a.latest.as_ref().unwrap().version, 5);
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
    }

    #[test]
    fn equivocation_beats_expiry_and_blocks_state() {
        let obs = vec![
            signed(5, "a", false),
            signed(5, "b", true),
            signed(4, "c", false),
        ];
        let a = judge(&obs, None, now());
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
    }

    #[test]
    fn state_sets_the_floor_and_catches_rewritten_history() {
        let st = ChannelState {
            version: 5,
            payload_sha256: "a".repeat(64),
            updated: String::new(),
        };
        let a = judge(&[signed(4, "b", false)], Some(&st), now());
        assert!(a.latest.is_none());
        assert_eq!(statuses(&a), vec![Some(Status::Rollback)]);

        let a = judge(&[signed(5, "c", false)], Some(&st), now());
        assert_eq!(statuses(&a), vec![Some(Status::Equivocating)]);
        assert!(a.equivocations[0].with_state);

        let a = judge(
            &[signed(5, "a", false), signed(6, "d", false)],
            Some(&st),
            now(),
        );
        assert_eq!(statuses(&a), vec![Some(Status::Stale), None]);
    }
}

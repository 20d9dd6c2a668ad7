//! DSSE v1 envelopes: the only way signed bytes enter mirrorproof.
//!
//! Signatures are checked over `PAE(payloadType, payload)` before anyone looks inside the
//! payload, so a parser bug in a document type can only ever be reached with signed input.

use std::collections::{BTreeSet, HashSet};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::keys::{KeyId, PublicKey, SecretKey};

pub const ROOT_TYPE: &str = "application/vnd.mirrorproof.root+json";
pub const RELEASE_TYPE: &str = "application/vnd.mirrorproof.release+json";
/// Default cap on an envelope's size, checked before parsing.
pub const DEFAULT_MAX_BYTES: u64 = 1024 * 1024;
/// Most signature entries an envelope may carry. Real envelopes carry a handful; the cap
/// bounds the verification work one hostile document can cause (every signature under a
/// trusted key is tried, so none can hide a valid one).
pub const MAX_SIGNATURES: usize = 256;
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EnvelopeError {
    #[error("envelope is {size} bytes, over the {limit}-byte limit")]
    TooLarge { size: u64, limit: u64 },
    #[error("not a DSSE envelope: {0}")]
    Malformed(String),
    #[error("payload is not valid standard base64")]
    PayloadEncoding,
    #[error("payload type {found:?} where {expected} was expected")]
    WrongType { expected: String, found: String },
    #[error(
        "signature threshold not met: {valid} valid signature(s) from distinct trusted keys, {needed} needed"
    )]
    Threshold { valid: usize, needed: usize },
    #[error("key {0} has already signed this envelope")]
    AlreadySigned(String),
    #[error("envelope carries {0} signatures, over the limit of {MAX_SIGNATURES}")]
    TooManySignatures(usize),
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct EnvelopeSignature {
    pub keyid: String,
    pub sig: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Envelope {
    #[serde(rename = "payloadType")]
    pub payload_type: String,
    pub payload: String,
    pub signatures: Vec<EnvelopeSignature>,
}

/// A payload whose signatures met a threshold; only this type gives access to the bytes
/// that document parsers read.
#[derive(Debug, Clone)]
pub struct Verified {
    pub payload: Vec<u8>,
    /// Distinct trusted key IDs whose signature verified, sorted.
    pub signers: Vec<KeyId>,
}

/// DSSE pre-authentication encoding.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload_type.len() + payload.len() + 32);
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(payload_type.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_type.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload);
    out
}

impl Envelope {
    /// Parses envelope JSON after checking its size against `limit`.
    pub fn parse(bytes: &[u8], limit: u64) -> Result<Envelope, EnvelopeError> {
        if bytes.len() as u64 > limit {
            return Err(EnvelopeError::TooLarge {
                size: bytes.len() as u64,
                limit,
            });
        }
        crate::json::from_slice_strict(bytes).map_err(EnvelopeError::Malformed)
    }

    pub fn unsigned(payload_type: &str, payload: &[u8]) -> Envelope {
        Envelope {
            payload_type: payload_type.to_owned(),
            payload: STANDARD.encode(payload),
            signatures: Vec::new(),
        }
    }

    /// The raw payload bytes. Not for parsing: use [`Envelope::verify`] for that.
    pub fn payload_bytes(&self) -> Result<Vec<u8>, EnvelopeError> {
        STANDARD
            .decode(self.payload.as_bytes())
            .map_err(|_| EnvelopeError::PayloadEncoding)
    }

    /// Adds one signature (threshold signing: each key holder adds their own).
    pub fn sign(&mut self, key: &SecretKey) -> Result<(), EnvelopeError> {
        let id = key.public().id().to_string();
        if self.signatures.iter().any(|s| s.keyid == id) {
            return Err(EnvelopeError::AlreadySigned(id));
        }
        let payload = self.payload_bytes()?;
        let sig = key.sign(&pae(&self.payload_type, &payload));
        self.signatures.push(EnvelopeSignature {
            keyid: id,
            sig: STANDARD.encode(sig),
        });
        Ok(())
    }

    /// Checks the payload type, then counts distinct trusted keys whose signature verifies.
    /// Unknown key IDs are ignored, repeated key IDs count once, and a failing signature
    /// does not stop a later valid one under the same key ID from counting.
    pub fn verify(
        &self,
        expected_type: &str,
        trusted: &[&PublicKey],
        threshold: usize,
    ) -> Result<Verified, EnvelopeError> {
        if self.payload_type != expected_type {
            return Err(EnvelopeError::WrongType {
                expected: expected_type.to_owned(),
                found: self.payload_type.chars().take(80).collect(),
            });
        }
        if self.signatures.len() > MAX_SIGNATURES {
            return Err(EnvelopeError::TooManySignatures(self.signatures.len()));
        }
        let payload = self.payload_bytes()?;
        let message = pae(&self.payload_type, &payload);
        let mut good: BTreeSet<KeyId> = BTreeSet::new();
        // Every signature under a trusted, not-yet-counted key is tried: the format says a
        // failing one never hides a later valid one. The work is bounded by the envelope
        // size cap; byte-identical repeats of a failed signature are not tried twice.
        let mut failed: HashSet<(&str, &str)> = HashSet::new();
        for s in &self.signatures {
            let Some(key) = trusted.iter().find(|k| k.id().as_str() == s.keyid) else {
                continue;
            };
            if good.contains(key.id()) || failed.contains(&(s.keyid.as_str(), s.sig.as_str())) {
                continue;
            }
            let Ok(sig) = STANDARD.decode(s.sig.as_bytes()) else {
                continue;
            };
            if key.verify_strict(&message, &sig) {
                good.insert(key.id().clone());
            } else {
                failed.insert((s.keyid.as_str(), s.sig.as_str()));
            }
        }
        if threshold == 0 || good.len() < threshold {
            return Err(EnvelopeError::Threshold {
                valid: good.len(),
                needed: threshold,
            });
        }
        Ok(Verified {
            payload,
            signers: good.into_iter().collect(),
        })
    }

    pub fn to_json_bytes(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).unwrap_or_default();
        out.push(b'\n');
        out
    }
}

/// First line of an error's text, bounded, for one-line reports.
pub(crate) fn one_line(e: &dyn std::fmt::Display) -> String {
    let s = e.to_string();
    let line = s.lines().next().unwrap_or("");
    line.chars().take(200).collect()
}

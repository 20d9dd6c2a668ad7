//! Strict JSON: a signed document that repeats a key inside one object is rejected.
//!
//! JSON parsers disagree on duplicates (first wins, last wins, error). If two verifiers
//! could read different artifact hashes out of the same signed bytes, the signature would
//! no longer pin down one meaning, so duplicates are refused before any document is read.

use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// Parses `bytes` as `T` after checking that no object repeats a key.
pub fn from_slice_strict<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    NoDuplicates
        .deserialize(&mut de)
        .map_err(|e| crate::envelope::one_line(&e))?;
    de.end().map_err(|e| crate::envelope::one_line(&e))?;
    serde_json::from_slice(bytes).map_err(|e| crate::envelope::one_line(&e))
}

struct NoDuplicates;

impl<'de> DeserializeSeed<'de> for NoDuplicates {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for NoDuplicates {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(NoDuplicates)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                let shown: String = key.chars().take(64).collect();
                return Err(de::Error::custom(format!("duplicate key {shown:?}")));
            }
            map.next_value_seed(NoDuplicates)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_are_refused_at_any_depth() {
        let ok: Result<serde_json::Value, _> = from_slice_strict(br#"{"a":{"b":1,"c":[{"d":2}]}}"#);
        assert!(ok.is_ok());
        for bad in [
            &br#"{"a":1,"a":2}"#[..],
            br#"{"x":{"b":1,"b":1}}"#,
            br#"[{"k":1,"k":1}]"#,
        ] {
            let r: Result<serde_json::Value, _> = from_slice_strict(bad);
            assert!(r.unwrap_err().contains("duplicate key"));
        }
        let trailing: Result<serde_json::Value, _> = from_slice_strict(b"{} x");
        assert!(trailing.is_err());
    }
}

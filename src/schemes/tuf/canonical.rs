//! Canonical JSON as securesystemslib defines it (`formats.encode_canonical`), the bytes
//! every TUF signature covers.
//!
//! The rules, which differ from OLPC canonical JSON and from RFC 8785: objects with keys
//! sorted by code point and no whitespace; strings in double quotes with only `\` and `"`
//! escaped (every other character, control characters included, is written raw as UTF-8);
//! integers in decimal; `true`, `false`, `null`. Floats cannot be encoded at all, so a
//! document holding one can never verify: python-tuf refuses it the same way.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CanonicalError {
    /// A number that is not an integer in the signed range of JSON parsers (a float, or
    /// an integer too large to be read exactly).
    #[error("cannot canonicalize the number {0} (only integers are allowed)")]
    Number(String),
}

/// The canonical bytes of `value`.
pub fn encode(value: &Value) -> Result<Vec<u8>, CanonicalError> {
    let mut out = Vec::with_capacity(1024);
    write(value, &mut out)?;
    Ok(out)
}

fn write(value: &Value, out: &mut Vec<u8>) -> Result<(), CanonicalError> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                out.extend_from_slice(i.to_string().as_bytes());
            } else if let Some(u) = n.as_u64() {
                out.extend_from_slice(u.to_string().as_bytes());
            } else {
                return Err(CanonicalError::Number(n.to_string()));
            }
        }
        Value::String(s) => string(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write(item, out)?;
            }
            out.push(b']');
        }
        Value::Object(map) => {
            // serde_json's map is sorted unless a crate in the build turns on
            // `preserve_order`; sorting here keeps the bytes right either way. Rust
            // orders strings by UTF-8 bytes, which is code point order, as Python does.
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.push(b'{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                string(k, out);
                out.push(b':');
                write(v, out)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

fn string(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    for b in s.bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'"' => out.extend_from_slice(b"\\\""),
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(json: &str) -> String {
        let v: Value = serde_json::from_str(json).unwrap();
        String::from_utf8(encode(&v).unwrap()).unwrap()
    }

    /// Expected outputs computed with securesystemslib 1.x:
    /// `securesystemslib.formats.encode_canonical(json.loads(s))`.
    #[test]
    fn matches_securesystemslib() {
        let cases: &[(&str, &str)] = &[
            (
                r#"{"b": 1, "a": [true, false, null]}"#,
                r#"{"a":[true,false,null],"b":1}"#,
            ),
            (
                r#"{"s": "quote \" and back \\ slash"}"#,
                r#"{"s":"quote \" and back \\ slash"}"#,
            ),
            // Control characters are written raw, not escaped.
            ("{\"t\": \"a\\nb\\u0001\"}", "{\"t\":\"a\nb\u{1}\"}"),
            // Non-ASCII is written as UTF-8; keys sort by code point.
            (
                r#"{"é": 1, "z": 2, "Z": 3, "ä": 4}"#,
                "{\"Z\":3,\"z\":2,\"ä\":4,\"é\":1}",
            ),
            (
                r#"{"n": -12, "big": 18446744073709551615, "zero": 0}"#,
                r#"{"big":18446744073709551615,"n":-12,"zero":0}"#,
            ),
            (r#"[]"#, r#"[]"#),
            (r#"{}"#, r#"{}"#),
            (
                r#"{"nested": {"y": {"b": [], "a": {}}, "x": "1"}}"#,
                r#"{"nested":{"x":"1","y":{"a":{},"b":[]}}}"#,
            ),
            // Escaped solidus and unicode escapes in the input are just characters.
            (r#"{"u": "\u00e9\/"}"#, "{\"u\":\"é/\"}"),
        ];
        for (input, want) in cases {
            assert_eq!(&canon(input), want, "input {input}");
        }
    }

    #[test]
    fn floats_are_refused() {
        for bad in [r#"{"v": 1.0}"#, r#"[1e3]"#, r#"{"v": 0.5}"#] {
            let v: Value = serde_json::from_str(bad).unwrap();
            assert!(
                matches!(encode(&v), Err(CanonicalError::Number(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn no_whitespace_anywhere() {
        let s = canon(r#"{ "a" : [ 1 , 2 ] , "b" : { "c" : "d e" } }"#);
        assert_eq!(s, r#"{"a":[1,2],"b":{"c":"d e"}}"#);
    }
}

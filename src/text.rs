//! Text that came from outside (mirrors, mirror lists, signed comments, HTTP reasons, file
//! names) on its way to a person or to a file a person will open.
//!
//! One rule, applied wherever such text is printed: C0 controls, DEL, C1 controls (U+0080 to
//! U+009F, which include the one-byte CSI U+009B), the bidi and directional marks that reorder
//! what a terminal shows (U+061C, U+200E, U+200F, U+202A to U+202E, U+2066 to U+2069), and the
//! Unicode line and paragraph separators are shown as escapes, never sent raw. Everything
//! else, including ordinary non-ASCII text, passes unchanged.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Characters that can move the cursor, retitle a window, clear a screen or reorder text.
pub fn is_unsafe(c: char) -> bool {
    matches!(
        c,
        '\u{0}'..='\u{1f}'
            | '\u{7f}'..='\u{9f}'
            | '\u{61c}'
            | '\u{200e}'
            | '\u{200f}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
    )
}

/// The text with every unsafe character written as a Rust-style escape (`\n`, `\u{1b}`,
/// `\u{202e}`), so it is shown on one line and in the order it was written.
pub fn shown(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if is_unsafe(c) {
            match c {
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                _ => {
                    let _ = write!(out, "\\u{{{:x}}}", c as u32);
                }
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A TOML basic string (with its quotes) that is valid for any input and safe to show: quotes
/// and backslashes escaped, and every unsafe character (TOML forbids raw controls and DEL)
/// written as `\uXXXX`, which TOML reads back as the same character.
pub fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if is_unsafe(c) => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Pretty JSON in which strings also escape DEL, C1 and bidi characters (`\u202e`): the same
/// value for any JSON reader, and nothing that reorders a terminal when the report is shown.
pub fn json_pretty<T: serde::Serialize + ?Sized>(value: &T) -> Result<String, serde_json::Error> {
    let mut out = Vec::with_capacity(4096);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, SafeFormatter::default());
    value.serialize(&mut ser)?;
    // serde_json writes only UTF-8.
    Ok(String::from_utf8(out).unwrap_or_default())
}

#[derive(Default)]
struct SafeFormatter {
    pretty: serde_json::ser::PrettyFormatter<'static>,
}

impl serde_json::ser::Formatter for SafeFormatter {
    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            // serde_json already escapes C0 controls, quotes and backslashes itself.
            if is_unsafe(c) {
                writer.write_all(&fragment.as_bytes()[start..i])?;
                write!(writer, "\\u{:04x}", c as u32)?;
                start = i + c.len_utf8();
            }
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }

    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.pretty.begin_array(w)
    }
    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.pretty.end_array(w)
    }
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.pretty.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.pretty.end_array_value(w)
    }
    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.pretty.begin_object(w)
    }
    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.pretty.end_object(w)
    }
    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.pretty.begin_object_key(w, first)
    }
    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.pretty.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.pretty.end_object_value(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_controls_c1_and_bidi_only() {
        assert_eq!(shown("plain ünïcode 日本"), "plain ünïcode 日本");
        assert_eq!(shown("a\u{1b}]0;x\u{7}b"), "a\\u{1b}]0;x\\u{7}b");
        assert_eq!(shown("\u{9b}2J"), "\\u{9b}2J");
        assert_eq!(shown("x-\u{202e}gpj.zip"), "x-\\u{202e}gpj.zip");
        assert_eq!(
            shown("\u{7f}\u{61c}\u{2066}\u{200f}"),
            "\\u{7f}\\u{61c}\\u{2066}\\u{200f}"
        );
        assert_eq!(shown("a\nb"), "a\\nb");
    }

    #[test]
    fn toml_strings_read_back_as_written() {
        for s in [
            "plain",
            "quote \" and \\ back",
            "del \u{7f} esc \u{1b} nul \u{0}",
            "c1 \u{85}\u{9b} bidi \u{202e}\u{2066}",
            "line\nbreak\ttab\r",
        ] {
            let doc = format!("v = {}\n", toml_string(s));
            assert!(!doc.chars().any(|c| is_unsafe(c) && c != '\n'), "{doc:?}");
            let parsed: toml::Table = toml::from_str(&doc).unwrap();
            assert_eq!(parsed["v"].as_str().unwrap(), s);
        }
    }

    #[test]
    fn json_reads_back_and_shows_nothing_unsafe() {
        let v = serde_json::json!({"name": "a\u{202e}b\u{7f}\u{9b}\u{1b}", "n": [1, 2]});
        let out = json_pretty(&v).unwrap();
        assert!(!out.chars().any(|c| is_unsafe(c) && c != '\n'), "{out}");
        let back: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(back, v);
        assert_eq!(
            out,
            serde_json::to_string_pretty(&v)
                .unwrap()
                .replace('\u{202e}', "\\u202e")
                .replace('\u{7f}', "\\u007f")
                .replace('\u{9b}', "\\u009b")
        );
    }
}

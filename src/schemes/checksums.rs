//! BSD-style checksum lists (`SHA256 (bsd.rd) = <hex>`), as OpenBSD publishes in `SHA256`
//! and signs into `SHA256.sig`, and as `sha256sum --tag` writes.
//!
//! The list is only parsed after its signature verified, but it still names the files that
//! will be trusted, so the parser accepts one spelling per line and refuses anything that
//! could make two readers disagree about which file carries which digest: `signify -C`
//! tolerates extra blanks, CR line ends and junk after the digest, and base64 digests; none
//! of that appears in real OpenBSD lists and none of it is accepted here.

use std::collections::HashMap;
use std::collections::hash_map::Entry as MapEntry;

use crate::schemes::SchemeError;

/// Most entries one list may hold. An OpenBSD release lists about a hundred files; the cap
/// bounds memory and work for a hostile (but validly signed) list.
pub const MAX_ENTRIES: usize = 100_000;
/// signify reads names with `%1023[^)]`; longer names could never be checked by it.
pub const MAX_NAME_BYTES: usize = 1023;
/// The longest line that can hold a valid entry: `SHA512 (` + name + `) = ` + 128 hex.
const MAX_LINE_BYTES: usize = "SHA512 (".len() + MAX_NAME_BYTES + ") = ".len() + 128;

/// A digest from the list, with the algorithm that tells the caller how to hash the file.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Digest {
    Sha256([u8; 32]),
    Sha512([u8; 64]),
}

impl Digest {
    /// The tag as written in the list, which is also how reports name the algorithm.
    pub fn algorithm(&self) -> &'static str {
        match self {
            Digest::Sha256(_) => "SHA256",
            Digest::Sha512(_) => "SHA512",
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Digest::Sha256(d) => d,
            Digest::Sha512(d) => d,
        }
    }

    /// Lowercase hex, the only spelling the list may use.
    pub fn to_hex(&self) -> String {
        hex::encode(self.as_bytes())
    }
}

/// One `ALG (name) = digest` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub digest: Digest,
}

/// Quotes untrusted text for an error message, shortened so one hostile line cannot flood
/// a report.
fn quoted(text: &str) -> String {
    const MAX: usize = 60;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{:?}...", text.get(..cut).unwrap_or_default()),
        None => format!("{text:?}"),
    }
}

fn content(line_no: usize, msg: String) -> SchemeError {
    SchemeError::Content(format!("checksum list line {line_no}: {msg}"))
}

/// Decodes exactly `N` bytes of lowercase hex. Uppercase is refused because `signify -C`
/// compares digests as lowercase strings and would report such a file as FAILED.
fn lower_hex<const N: usize>(s: &str) -> Result<[u8; N], String> {
    if s.len() != 2 * N {
        return Err(format!(
            "digest is {} characters, {} expected: {}",
            s.len(),
            2 * N,
            quoted(s)
        ));
    }
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(format!("digest must be lowercase hex: {}", quoted(s)));
    }
    let mut out = [0u8; N];
    hex::decode_to_slice(s, &mut out).map_err(|_| format!("digest is not hex: {}", quoted(s)))?;
    Ok(out)
}

/// Refuses names that are ambiguous or that could escape the release directory if a caller
/// ever used them as paths.
fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("empty file name".into());
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(format!("file name is over {MAX_NAME_BYTES} bytes"));
    }
    if name.chars().any(char::is_control) {
        return Err(format!(
            "file name contains control characters: {}",
            quoted(name)
        ));
    }
    if name.starts_with('/') {
        return Err(format!("absolute file name {}", quoted(name)));
    }
    if name.split('/').any(|c| c == "..") {
        return Err(format!(
            "file name with a \"..\" component: {}",
            quoted(name)
        ));
    }
    Ok(())
}

fn parse_line(line: &str) -> Result<Entry, String> {
    if line.ends_with('\r') {
        return Err("CRLF line endings are not accepted".into());
    }
    let Some((alg, rest)) = line.split_once(" (") else {
        return Err(format!(
            "not an \"ALG (name) = digest\" line: {}",
            quoted(line)
        ));
    };
    // The digest cannot contain ") = ", so the last one ends the name even when the name
    // itself contains it (as `sha256sum --tag` writes such names, unescaped).
    let Some((name, hex)) = rest.rsplit_once(") = ") else {
        return Err(format!(
            "not an \"ALG (name) = digest\" line: {}",
            quoted(line)
        ));
    };
    let digest = match alg {
        "SHA256" => Digest::Sha256(lower_hex::<32>(hex)?),
        "SHA512" => Digest::Sha512(lower_hex::<64>(hex)?),
        other => {
            return Err(format!(
                "unsupported algorithm {} (SHA256 and SHA512 only)",
                quoted(other)
            ));
        }
    };
    check_name(name)?;
    Ok(Entry {
        name: name.to_owned(),
        digest,
    })
}

/// Parses a whole checksum list. Every line must be an entry: `signify -C` stops with
/// "unable to parse" at an empty line, so blank lines are refused too. The last line may
/// lack its newline. The same name may appear with both SHA256 and SHA512; listed twice
/// with the same algorithm it must carry the same digest, and is then kept once.
pub fn parse(text: &[u8]) -> Result<Vec<Entry>, SchemeError> {
    let body = text.strip_suffix(b"\n").unwrap_or(text);
    if body.is_empty() {
        return Err(SchemeError::Content("checksum list is empty".into()));
    }
    let mut entries: Vec<Entry> = Vec::new();
    let mut seen: HashMap<(String, &'static str), usize> = HashMap::new();
    for (i, raw) in body.split(|&b| b == b'\n').enumerate() {
        let line_no = i + 1;
        if raw.is_empty() {
            return Err(content(line_no, "empty line".into()));
        }
        if raw.len() > MAX_LINE_BYTES {
            return Err(content(
                line_no,
                format!("line is over {MAX_LINE_BYTES} bytes"),
            ));
        }
        let line = std::str::from_utf8(raw).map_err(|_| content(line_no, "not UTF-8".into()))?;
        let entry = parse_line(line).map_err(|m| content(line_no, m))?;
        match seen.entry((entry.name.clone(), entry.digest.algorithm())) {
            MapEntry::Occupied(o) => {
                let first = entries.get(*o.get()).map(|e| &e.digest);
                if first != Some(&entry.digest) {
                    return Err(content(
                        line_no,
                        format!(
                            "{} listed again for {} with a different digest",
                            entry.digest.algorithm(),
                            quoted(&entry.name)
                        ),
                    ));
                }
            }
            MapEntry::Vacant(v) => {
                if entries.len() >= MAX_ENTRIES {
                    return Err(SchemeError::Content(format!(
                        "checksum list has over {MAX_ENTRIES} entries"
                    )));
                }
                v.insert(entries.len());
                entries.push(entry);
            }
        }
    }
    Ok(entries)
}

/// Every entry for `name` (one per algorithm), compared byte for byte: no path
/// normalisation, so `./bsd` and `bsd` are different names, as they are to `signify -C`.
pub fn lookup<'a>(entries: &'a [Entry], name: &str) -> Vec<&'a Entry> {
    entries.iter().filter(|e| e.name == name).collect()
}

/// The entries gathered per file name, in the order names first appear. A file listed with
/// both SHA256 and SHA512 is one file: fetched once, hashed through both, and accepted only
/// when both match.
pub fn by_name(entries: &[Entry]) -> Vec<(&str, Vec<&Digest>)> {
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut out: Vec<(&str, Vec<&Digest>)> = Vec::new();
    for e in entries {
        match index.entry(e.name.as_str()) {
            MapEntry::Occupied(o) => {
                if let Some((_, digests)) = out.get_mut(*o.get()) {
                    digests.push(&e.digest);
                }
            }
            MapEntry::Vacant(v) => {
                v.insert(out.len());
                out.push((e.name.as_str(), vec![&e.digest]));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schemes::signify;

    // `sha256sum --tag INSTALL.amd64 bsd bsd.rd; sha512sum --tag bsd.rd` (GNU coreutils),
    // signed with `signify-openbsd -S -e -s k.sec -m SHA_ALL -x SHA_ALL.sig`.
    const PUB: &str = "untrusted comment: mirrorproof test key public key\n\
RWQw+Q4IcVpV+OYhIGXmHOG7I+8cjucfyJndp7uKXP4+fsXi2NJcNJ2l\n";
    const SIGNED: &str = "untrusted comment: verify with k.pub\n\
RWQw+Q4IcVpV+Eyrom6gxeooLiJ0pZPbVlWXMjfc84YtjEkeUtJ/nlfc/PQJRMAE8nr+wro8jHIRtVlEXu0yqvTBQRVzzvis5Qc=\n\
SHA256 (INSTALL.amd64) = 500a2792ea3bc0ba61c6fa88a1bdf7fd975fe25a0b53b1cc7fda7d5b85244926\n\
SHA256 (bsd) = e3cb29d6a1f1aa3ec5625337880440fbf80c48a3a84b8122befeb1bd82e93644\n\
SHA256 (bsd.rd) = ed254a0b4eea86408909d215060136d7731dbe83a1cf39160ef3c3ad1b316783\n\
SHA512 (bsd.rd) = 3f1d4e8dbc9ab3b099e4508930819a12c50b6feff7c9ee309a33428b6ea9bd882f63a2acfaa9c0ce2dc1bd994687b9975eae3088b6f76d13224c302f794ac207\n";

    // Real `sha256sum --tag` / `sha512sum --tag` output for awkward names (GNU coreutils).
    const TAGGED: &str = "\
SHA256 (with space.txt) = 2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881
SHA256 (sub/file.tgz) = a1fce4363854ff888cff4b8e7875d600c2682390412a8cf79b37d0b11148b0fa
SHA256 (a)b) = e3cb29d6a1f1aa3ec5625337880440fbf80c48a3a84b8122befeb1bd82e93644
SHA256 (odd) = name) = 50e721e49c013f00c62cf59f2163542a9d8df02464efeb615d31051b0fddc326
SHA256 (./bsd) = e3cb29d6a1f1aa3ec5625337880440fbf80c48a3a84b8122befeb1bd82e93644
SHA512 (bsd) = 26bf326ae69b4b088f2642de570e239abebe811a12176edf24e5b93ed107909fa18753f2d7011e21ca09624eaabeec5402ad870d59ea2707f4e56289548924bc
SHA512 (sub/file.tgz) = 121b4774a759924a2929c4a412fb6e31b9aaa746466840efcc4a76d69a94149e2364e3983d646feafaa1b511785e5c9e90aedc30da6a6bead5520ecc99c6626a
";
    const BSD_256: &str = "e3cb29d6a1f1aa3ec5625337880440fbf80c48a3a84b8122befeb1bd82e93644";

    fn err(text: &str) -> String {
        let e = parse(text.as_bytes()).unwrap_err();
        assert!(matches!(e, SchemeError::Content(_)), "{e:?}");
        let s = e.to_string();
        assert!(!s.contains('\n'), "{s}");
        s
    }

    #[test]
    fn signed_openbsd_style_list() {
        let key = signify::parse(PUB.as_bytes()).unwrap();
        let (sig, msg) = signify::parse_signature(SIGNED.as_bytes()).unwrap();
        signify::verify(&key, &sig, msg).unwrap();
        let entries = parse(msg).unwrap();
        assert_eq!(entries.len(), 4);
        let rd = lookup(&entries, "bsd.rd");
        assert_eq!(rd.len(), 2);
        assert_eq!(rd[0].digest.algorithm(), "SHA256");
        assert_eq!(
            rd[0].digest.to_hex(),
            "ed254a0b4eea86408909d215060136d7731dbe83a1cf39160ef3c3ad1b316783"
        );
        assert_eq!(rd[1].digest.algorithm(), "SHA512");
        assert!(matches!(rd[1].digest, Digest::Sha512(d) if d[0] == 0x3f && d[63] == 0x07));
        let bsd = lookup(&entries, "bsd");
        assert_eq!(bsd.len(), 1);
        assert_eq!(bsd[0].digest.to_hex(), BSD_256);
        assert!(lookup(&entries, "bsd.r").is_empty());
        assert!(lookup(&entries, "./bsd").is_empty());
        assert!(lookup(&entries, "BSD").is_empty());
    }

    #[test]
    fn digest_matches_the_file() {
        use sha2::Digest as _;
        // The file behind "bsd" above was "base kernel\n".
        let entries = parse(TAGGED.as_bytes()).unwrap();
        let got: [u8; 32] = sha2::Sha256::digest(b"base kernel\n").into();
        assert_eq!(lookup(&entries, "./bsd")[0].digest, Digest::Sha256(got));
        let got: [u8; 64] = sha2::Sha512::digest(b"base kernel\n").into();
        assert_eq!(lookup(&entries, "bsd")[0].digest, Digest::Sha512(got));
    }

    #[test]
    fn gnu_tagged_names() {
        let entries = parse(TAGGED.as_bytes()).unwrap();
        assert_eq!(entries.len(), 7);
        let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "with space.txt",
                "sub/file.tgz",
                "a)b",
                "odd) = name",
                "./bsd",
                "bsd",
                "sub/file.tgz"
            ]
        );
        assert_eq!(lookup(&entries, "sub/file.tgz").len(), 2);
        // No final newline is fine.
        assert_eq!(parse(TAGGED.trim_end().as_bytes()).unwrap(), entries);
    }

    #[test]
    fn identical_duplicate_is_kept_once_different_is_refused() {
        let line = format!("SHA256 (bsd) = {BSD_256}\n");
        let twice = parse(format!("{line}{line}").as_bytes()).unwrap();
        assert_eq!(twice.len(), 1);
        let other = BSD_256.replacen('e', "f", 1);
        let e = err(&format!("{line}SHA256 (bsd) = {other}\n"));
        assert!(
            e.contains("line 2") && e.contains("different digest"),
            "{e}"
        );
    }

    #[test]
    fn by_name_gathers_every_line_of_a_file_in_first_seen_order() {
        let (_, msg) = signify::parse_signature(SIGNED.as_bytes()).unwrap();
        let entries = parse(msg).unwrap();
        let grouped = by_name(&entries);
        let names: Vec<&str> = grouped.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, ["INSTALL.amd64", "bsd", "bsd.rd"]);
        let rd: Vec<&str> = grouped[2].1.iter().map(|d| d.algorithm()).collect();
        assert_eq!(rd, ["SHA256", "SHA512"]);
    }

    #[test]
    fn malformed_lines_are_refused() {
        let l = |name: &str| format!("SHA256 ({name}) = {BSD_256}\n");
        let cases: Vec<(String, &str)> = vec![
            (String::new(), "empty"),
            ("\n".into(), "empty"),
            (format!("{}\n{}", l("a"), l("b")), "line 2: empty line"),
            (format!("{}\n", l("a")), "line 2: empty line"),
            (l("bsd").replace('\n', "\r\n"), "CRLF"),
            (l("bsd").to_uppercase().replace("SHA256 (BSD)", "SHA256 (bsd)"), "lowercase"),
            (format!("SHA256 (bsd) = {BSD_256} junk\n"), "characters"),
            (format!("SHA256 (bsd) = {}\n", &BSD_256[..63]), "63 characters"),
            (format!("SHA512 (bsd) = {BSD_256}\n"), "128 expected"),
            (format!("SHA256 (bsd) = {}g\n", &BSD_256[..63]), "not hex"),
            (format!("SHA256  (bsd) = {BSD_256}\n"), "unsupported algorithm"),
            (format!(" SHA256 (bsd) = {BSD_256}\n"), "unsupported algorithm"),
            (format!("SHA256 (bsd)  = {BSD_256}\n"), "not an"),
            (format!("SHA256 (bsd) =  {BSD_256}\n"), "characters"),
            (format!("SHA256(bsd) = {BSD_256}\n"), "not an"),
            (format!("sha256 (bsd) = {BSD_256}\n"), "unsupported algorithm"),
            ("SHA1 (bsd) = 4e62a9d1c032193de41faad13bcdb0569c06caa1\n".into(), "unsupported"),
            (format!("{BSD_256}  bsd\n"), "not an"),
            // GNU's escaped form for names with a backslash or newline.
            (
                "\\SHA256 (a\\\\b) = 594e519ae499312b29433b7dd8a97ff068defcba9755b6d5d00e84c524d67b06\n"
                    .into(),
                "unsupported algorithm",
            ),
            // A base64 digest (`sha256 -b`), which signify -C would accept.
            (
                "SHA256 (bsd) = 48sp1qHxqj7FYlM3iARA+/gMSKOoS4Eivv6xvYLpNkQ=\n".into(),
                "characters",
            ),
            (l(""), "empty file name"),
            (l("/etc/passwd"), "absolute"),
            (l(".."), "\"..\""),
            (l("../bsd"), "\"..\""),
            (l("a/../../bsd"), "\"..\""),
            (l("a/.."), "\"..\""),
            (l("a\tb"), "control"),
            (l("a\u{0}b"), "control"),
            (l("a\u{85}b"), "control"),
            (l(&"n".repeat(MAX_NAME_BYTES + 1)), "over"),
            (format!("SHA256 (bsd) = {BSD_256}\u{0}\n"), "characters"),
        ];
        for (text, want) in cases {
            let e = err(&text);
            assert!(e.contains(want), "{text:?}: {e} (want {want})");
        }
        let mut latin1 = l("caf\u{e9}").into_bytes();
        latin1.retain(|&b| b != 0xc3);
        assert!(parse(&latin1).unwrap_err().to_string().contains("UTF-8"));
        // Names that look odd but are harmless stay allowed.
        for ok in [
            "..bsd",
            "a..b",
            "./bsd",
            "d/.../e",
            &"n".repeat(MAX_NAME_BYTES),
        ] {
            assert_eq!(parse(l(ok).as_bytes()).unwrap()[0].name, ok);
        }
    }

    #[test]
    fn long_untrusted_text_is_truncated_in_errors() {
        let e = err(&format!("{}\n", "x".repeat(1000)));
        assert!(e.len() < 200, "{e}");
        let e = err(&format!("SHA256 ({}\t) = {BSD_256}\n", "y".repeat(1000)));
        assert!(e.contains("control"), "{e}");
        assert!(e.len() < 200, "{e}");
    }

    #[test]
    fn entry_cap() {
        let mut text = String::new();
        for i in 0..=MAX_ENTRIES {
            text.push_str(&format!("SHA256 (f{i}) = {BSD_256}\n"));
        }
        let e = err(&text);
        assert!(e.contains("over 100000 entries"), "{e}");
        // Exactly at the cap is fine.
        let at_cap = &text[..text.len() - format!("SHA256 (f{MAX_ENTRIES}) = {BSD_256}\n").len()];
        assert_eq!(parse(at_cap.as_bytes()).unwrap().len(), MAX_ENTRIES);
    }

    #[test]
    fn huge_line_fails_fast() {
        let huge = vec![b'S'; 16 * 1024 * 1024];
        let e = parse(&huge).unwrap_err().to_string();
        assert!(e.contains("line 1") && e.contains("over"), "{e}");
    }
}

//! OpenSSH signatures (`ssh-keygen -Y sign`, PROTOCOL.sshsig) checked against an
//! `allowed_signers` file (ssh-keygen(1) "ALLOWED SIGNERS"), for projects such as GrapheneOS
//! that sign releases with SSH keys.
//!
//! Only plain `ssh-ed25519` keys are accepted, so the strict Ed25519 policy of
//! [`crate::keys::PublicKey`] covers every signature; RSA, ECDSA, FIDO (`sk-`) keys and
//! certificates are refused by name rather than half-supported.
//!
//! Stricter than ssh-keygen, on purpose (one file, one verdict, on every machine):
//! - the armour must be exactly header, non-empty base64 lines, footer, optional final
//!   newline: no CR, no blank lines, nothing after the footer;
//! - the blob must be version 1 exactly, with an empty reserved field (ssh-keygen ignores
//!   its contents), a non-empty UTF-8 namespace and no trailing bytes at any level;
//! - `valid-after`/`valid-before` must carry a `Z` (or `UTC`) suffix: ssh-keygen reads a
//!   bare time in the local time zone, which would make the verdict depend on the machine;
//! - a malformed allowed_signers line fails the whole file instead of being skipped (it is
//!   trust configuration, so a typo must be seen), and a line restricted by `namespaces=`
//!   keeps that restriction in [`find_principals`] too (ssh-keygen ignores it there).
//!
//! `cert-authority` lines are skipped, not refused: certificates are refused anyway, so such
//! a line could never authorise a signature here, just as it never authorises a plain-key
//! signature in ssh-keygen; other lines of the same file still serve. Lines with an
//! unsupported key type are skipped for the same reason.

use base64::Engine;
use sha2::{Digest, Sha256};

use super::{MAX_KEY_FILE_BYTES, MAX_SIGNATURE_FILE_BYTES, Message, Prehash, SchemeError};
use crate::keys::PublicKey;

const MAGIC: &[u8] = b"SSHSIG";
const VERSION: u32 = 1;
const ED25519: &str = "ssh-ed25519";
const BEGIN: &str = "-----BEGIN SSH SIGNATURE-----";
const END: &str = "-----END SSH SIGNATURE-----";

/// A file that long is not a hand-kept list of signers; refusing it bounds the work.
const MAX_LINES: usize = 1000;

/// OpenSSH's `match_pattern_list` gives up (no match) on a sub-pattern this long; we do the
/// same so a pattern never means more here than there.
const MAX_SUBPATTERN: usize = 1023;

/// Key types OpenSSH knows, so a line naming one is recognised as a key we do not support
/// (skipped) rather than as a typo (refused).
const KNOWN_KEY_TYPES: &[&str] = &[
    "ssh-ed25519",
    "ssh-rsa",
    "ssh-dss",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "ssh-xmss@openssh.com",
    "ssh-ed25519-cert-v01@openssh.com",
    "ssh-rsa-cert-v01@openssh.com",
    "ssh-dss-cert-v01@openssh.com",
    "ecdsa-sha2-nistp256-cert-v01@openssh.com",
    "ecdsa-sha2-nistp384-cert-v01@openssh.com",
    "ecdsa-sha2-nistp521-cert-v01@openssh.com",
    "sk-ssh-ed25519-cert-v01@openssh.com",
    "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
    "ssh-xmss-cert-v01@openssh.com",
];

/// One usable line of an allowed_signers file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedSigner {
    /// The principals pattern list as written (without surrounding quotes).
    pub principals: String,
    /// `namespaces="..."` split at commas; `None` when the line does not restrict them.
    pub namespaces: Option<Vec<String>>,
    /// Unix seconds, inclusive.
    pub valid_after: Option<i64>,
    /// Unix seconds, inclusive.
    pub valid_before: Option<i64>,
    pub key: PublicKey,
    /// 1-based line number, so errors can point at the line to fix.
    pub line: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashAlg {
    Sha256,
    Sha512,
}

impl HashAlg {
    fn name(self) -> &'static str {
        match self {
            HashAlg::Sha256 => "sha256",
            HashAlg::Sha512 => "sha512",
        }
    }

    fn digest_len(self) -> usize {
        match self {
            HashAlg::Sha256 => 32,
            HashAlg::Sha512 => 64,
        }
    }
}

/// A parsed SSHSIG blob whose key is already known to be a strict Ed25519 key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshSignature {
    pub key: PublicKey,
    pub namespace: String,
    pub hash: HashAlg,
    pub signature: [u8; 64],
}

/// Untrusted text for an error message: bounded, and quoted so control characters show.
fn quoted(s: &str) -> String {
    const MAX: usize = 64;
    if s.chars().count() > MAX {
        let head: String = s.chars().take(MAX).collect();
        format!("{head:?}...")
    } else {
        format!("{s:?}")
    }
}

fn quoted_bytes(b: &[u8]) -> String {
    quoted(&String::from_utf8_lossy(b))
}

/// Why a key type is refused, naming the family so the user knows what to change.
fn unsupported_key_type(keytype: &str) -> String {
    let q = quoted(keytype);
    if keytype.ends_with("-cert-v01@openssh.com") {
        format!(
            "key type {q} is an OpenSSH certificate, which is not supported: mirrorproof accepts plain ssh-ed25519 keys only"
        )
    } else if keytype.starts_with("sk-") {
        format!(
            "key type {q} is a FIDO security-key type, which is not supported: mirrorproof accepts ssh-ed25519 only"
        )
    } else {
        format!("key type {q} is not supported: mirrorproof accepts ssh-ed25519 only")
    }
}

/// The SSH wire format (RFC 4251): every read is bounds-checked against what is left, so a
/// length field can never point outside the buffer.
struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf }
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.buf.split_at_checked(n)?;
        self.buf = rest;
        Some(head)
    }

    fn u32(&mut self) -> Option<u32> {
        let b: [u8; 4] = self.take(4)?.try_into().ok()?;
        Some(u32::from_be_bytes(b))
    }

    fn string(&mut self) -> Option<&'a [u8]> {
        let n = usize::try_from(self.u32()?).ok()?;
        self.take(n)
    }

    fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

fn put_string(out: &mut Vec<u8>, s: &[u8]) {
    // Every field we write is a namespace, algorithm name or digest, all far below 4 GiB.
    let len = u32::try_from(s.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(s);
}

/// Parses an SSH public-key blob into a strict Ed25519 key, or says why not (unsupported
/// type, bad length, weak point) in words the caller wraps with its own context.
fn ed25519_from_blob(blob: &[u8]) -> Result<PublicKey, String> {
    let mut r = Reader::new(blob);
    let keytype = r
        .string()
        .ok_or("public key blob is truncated (no key type)")?;
    if keytype != ED25519.as_bytes() {
        return Err(unsupported_key_type(&String::from_utf8_lossy(keytype)));
    }
    let raw = r
        .string()
        .ok_or("ssh-ed25519 public key blob is truncated")?;
    let raw: [u8; 32] = raw
        .try_into()
        .map_err(|_| format!("ssh-ed25519 public key is {} bytes, not 32", raw.len()))?;
    if !r.is_empty() {
        return Err("ssh-ed25519 public key blob has trailing bytes".into());
    }
    PublicKey::from_bytes(&raw).map_err(|e| e.to_string())
}

fn key_blob(key: &PublicKey) -> Vec<u8> {
    let raw = hex::decode(key.to_hex()).unwrap_or_default();
    let mut blob = Vec::with_capacity(51);
    put_string(&mut blob, ED25519.as_bytes());
    put_string(&mut blob, &raw);
    blob
}

/// The form `ssh-keygen -l` and `-Y verify` print, so users can match keys by eye.
fn fingerprint(key: &PublicKey) -> String {
    let digest = Sha256::digest(key_blob(key));
    format!(
        "SHA256:{}",
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(digest.as_slice())
    )
}

fn format_time(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .map(|ts| crate::time::format(&ts))
        .unwrap_or_else(|| t.to_string())
}

// ---------------------------------------------------------------------------------------
// Patterns

/// OpenSSH `match_pattern`: `*` any run, `?` any one byte, everything else literal and
/// case-sensitive. Iterative with one backtrack point, so no pattern can take more than
/// O(len(s) * len(p)) steps.
fn glob(s: &[u8], p: &[u8]) -> bool {
    let (mut si, mut pi) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        match p.get(pi) {
            Some(b'*') => {
                pi += 1;
                star = Some((pi, si));
            }
            Some(&c) if c == b'?' || Some(&c) == s.get(si) => {
                pi += 1;
                si += 1;
            }
            _ => match star {
                Some((sp, ss)) => {
                    pi = sp;
                    si = ss + 1;
                    star = Some((sp, ss + 1));
                }
                None => return false,
            },
        }
    }
    p.get(pi..)
        .is_some_and(|rest| rest.iter().all(|&c| c == b'*'))
}

/// OpenSSH `match_pattern_list`: comma-separated patterns, a match on a `!`-negated one
/// refuses outright, otherwise any positive match accepts.
fn match_pattern_list(s: &str, list: &str) -> bool {
    let mut positive = false;
    let mut rest = list;
    while !rest.is_empty() {
        let (negated, r) = match rest.strip_prefix('!') {
            Some(r) => (true, r),
            None => (false, rest),
        };
        let (sub, after) = r.split_once(',').unwrap_or((r, ""));
        rest = after;
        if sub.len() >= MAX_SUBPATTERN {
            return false;
        }
        if glob(s.as_bytes(), sub.as_bytes()) {
            if negated {
                return false;
            }
            positive = true;
        }
    }
    positive
}

/// Whether `identity` is accepted by an allowed_signers principals field, with OpenSSH's
/// pattern-list semantics (`*`, `?`, and `!` negation that wins over any positive match).
pub fn principal_matches(patterns: &str, identity: &str) -> bool {
    match_pattern_list(identity, patterns)
}

fn namespace_allowed(signer: &AllowedSigner, namespace: &str) -> bool {
    match &signer.namespaces {
        None => true,
        Some(list) => match_pattern_list(namespace, &list.join(",")),
    }
}

fn valid_at(signer: &AllowedSigner, now: i64) -> bool {
    signer.valid_after.is_none_or(|t| now >= t) && signer.valid_before.is_none_or(|t| now <= t)
}

// ---------------------------------------------------------------------------------------
// allowed_signers

enum LineOutcome {
    Signer(Box<AllowedSigner>),
    Skipped(String),
}

#[derive(Default)]
struct Options {
    cert_authority: bool,
    namespaces: Option<Vec<String>>,
    valid_after: Option<i64>,
    valid_before: Option<i64>,
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// Splits off the first blank-delimited word.
fn next_word(s: &str) -> (&str, &str) {
    let s = s.trim_start_matches(is_blank);
    match s.find(is_blank) {
        Some(i) => s.split_at(i),
        None => (s, ""),
    }
}

/// Splits off an options word the way `sshkey_advance_past_options` does: blanks inside
/// double quotes (with `\"` escapes) do not end it.
fn options_word(s: &str) -> Result<(&str, &str), String> {
    let mut quoted_now = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if quoted_now => escaped = true,
            '"' => quoted_now = !quoted_now,
            c if is_blank(c) && !quoted_now => return Ok(s.split_at(i)),
            _ => {}
        }
    }
    if quoted_now {
        return Err("options have an unterminated double quote".into());
    }
    Ok((s, ""))
}

/// Key types never contain these, options always do (or are the one flag we know).
fn looks_like_options(word: &str) -> bool {
    word.contains(['=', '"', ',']) || word.eq_ignore_ascii_case("cert-authority")
}

/// `opt_dequote`: the value must be double-quoted (ssh-keygen refuses it otherwise);
/// `\"` stands for a quote.
fn dequote<'a>(s: &'a str, name: &str) -> Result<(String, &'a str), String> {
    let Some(body) = s.strip_prefix('"') else {
        return Err(format!(
            "the value of {name}= must be in double quotes, as ssh-keygen requires"
        ));
    };
    let mut out = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((out, body.get(i + 1..).unwrap_or(""))),
            '\\' if body.get(i + 1..).is_some_and(|r| r.starts_with('"')) => {
                out.push('"');
                chars.next();
            }
            c => out.push(c),
        }
    }
    Err(format!("the value of {name}= has no closing double quote"))
}

/// Strips a case-insensitive `name=` prefix.
fn strip_option<'a>(s: &'a str, name: &str) -> Option<&'a str> {
    let head = s.get(..name.len())?;
    if head.eq_ignore_ascii_case(name) {
        s.get(name.len()..)?.strip_prefix('=')
    } else {
        None
    }
}

/// OpenSSH `parse_absolute_time`, restricted to UTC: `YYYYMMDD`, `YYYYMMDDHHMM` or
/// `YYYYMMDDHHMMSS`, followed by `Z` or `UTC`.
fn parse_time(s: &str, name: &str) -> Result<i64, String> {
    let bad = || format!("{name} time {} is not YYYYMMDD[HHMM[SS]]Z", quoted(s));
    let digits = if let Some(d) = s.strip_suffix(['Z', 'z']) {
        d
    } else if let Some(d) = s.len().checked_sub(3).and_then(|i| {
        s.get(i..)
            .filter(|t| t.eq_ignore_ascii_case("UTC"))
            .and(s.get(..i))
    }) {
        d
    } else if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "{name} time {} has no Z suffix: ssh-keygen would read it in the local time zone, which differs between machines; write {}",
            quoted(s),
            quoted(&format!("{s}Z"))
        ));
    } else {
        return Err(bad());
    };
    if !matches!(digits.len(), 8 | 12 | 14) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let field = |from: usize, to: usize| -> u32 {
        digits
            .get(from..to)
            .and_then(|d| d.parse().ok())
            .unwrap_or(0)
    };
    let year = i32::try_from(field(0, 4)).map_err(|_| bad())?;
    let date = chrono::NaiveDate::from_ymd_opt(year, field(4, 6), field(6, 8)).ok_or_else(bad)?;
    let time = date
        .and_hms_opt(field(8, 10), field(10, 12), field(12, 14))
        .ok_or_else(bad)?;
    let t = time.and_utc().timestamp();
    if t <= 0 {
        return Err(format!("{name} time {} is not after 1970", quoted(s)));
    }
    Ok(t)
}

/// `sshsigopt_parse`: comma-separated, keywords case-insensitive, unknown ones refused.
fn parse_options(word: &str) -> Result<Options, String> {
    let mut opts = Options::default();
    let mut rest = word;
    loop {
        if let Some(r) = rest
            .get(..14)
            .filter(|h| h.eq_ignore_ascii_case("cert-authority"))
            .and(rest.get(14..))
            .filter(|r| r.is_empty() || r.starts_with(','))
        {
            opts.cert_authority = true;
            rest = r;
        } else if let Some(v) = strip_option(rest, "namespaces") {
            if opts.namespaces.is_some() {
                return Err("more than one namespaces= option".into());
            }
            let (value, r) = dequote(v, "namespaces")?;
            let list: Vec<String> = value.split(',').map(str::to_owned).collect();
            if list.iter().any(|n| n.is_empty() || n == "!") {
                return Err(format!("namespaces={} has an empty entry", quoted(&value)));
            }
            opts.namespaces = Some(list);
            rest = r;
        } else if let Some(v) = strip_option(rest, "valid-after") {
            if opts.valid_after.is_some() {
                return Err("more than one valid-after= option".into());
            }
            let (value, r) = dequote(v, "valid-after")?;
            opts.valid_after = Some(parse_time(&value, "valid-after")?);
            rest = r;
        } else if let Some(v) = strip_option(rest, "valid-before") {
            if opts.valid_before.is_some() {
                return Err("more than one valid-before= option".into());
            }
            let (value, r) = dequote(v, "valid-before")?;
            opts.valid_before = Some(parse_time(&value, "valid-before")?);
            rest = r;
        } else {
            let name = rest.split([',', '=']).next().unwrap_or(rest);
            return Err(format!(
                "unknown option {} (known: cert-authority, namespaces, valid-after, valid-before)",
                quoted(name)
            ));
        }
        if rest.is_empty() {
            break;
        }
        let Some(r) = rest.strip_prefix(',') else {
            return Err(format!(
                "unexpected text {} after an option value",
                quoted(rest)
            ));
        };
        if r.is_empty() {
            return Err("options end with a comma".into());
        }
        rest = r;
    }
    if let (Some(after), Some(before)) = (opts.valid_after, opts.valid_before)
        && before <= after
    {
        return Err("valid-before is not later than valid-after".into());
    }
    Ok(opts)
}

fn parse_line(line: &str, lineno: usize) -> Result<LineOutcome, String> {
    // Principals: one word, or a double-quoted string (strdelimw).
    let (principals, rest) = if let Some(q) = line.strip_prefix('"') {
        let end = q
            .find('"')
            .ok_or("principals have no closing double quote")?;
        let (p, r) = q.split_at(end);
        let r = r.get(1..).unwrap_or("");
        if !r.is_empty() && !r.starts_with(is_blank) {
            return Err("text directly after the closing quote of the principals".into());
        }
        (p, r)
    } else {
        let (p, r) = next_word(line);
        if p.contains('"') {
            return Err(format!(
                "principals {} contain a stray double quote",
                quoted(p)
            ));
        }
        (p, r)
    };
    if principals.is_empty() {
        return Err("empty principals".into());
    }
    let rest = rest.trim_start_matches(is_blank);
    if rest.is_empty() {
        return Err("no key after the principals".into());
    }

    let (first, after_first) = options_word(rest)?;
    let (opts, keytype, rest) = if looks_like_options(first) {
        let opts = parse_options(first)?;
        let (keytype, rest) = next_word(after_first);
        (opts, keytype, rest)
    } else {
        let (keytype, rest) = next_word(rest);
        (Options::default(), keytype, rest)
    };
    if keytype.is_empty() {
        return Err("no key type after the options".into());
    }
    let (b64, _comment) = next_word(rest);
    if b64.is_empty() {
        return Err(format!("no base64 key after key type {}", quoted(keytype)));
    }
    let known = KNOWN_KEY_TYPES.contains(&keytype);
    if !known && KNOWN_KEY_TYPES.contains(&b64) {
        return Err(format!("unknown option {}", quoted(keytype)));
    }
    let blob = super::strict_base64(b64)
        .ok_or_else(|| format!("the {} key is not valid base64", quoted(keytype)))?;
    let inner_type = Reader::new(&blob)
        .string()
        .ok_or_else(|| format!("the {} key blob is truncated", quoted(keytype)))?;
    if inner_type != keytype.as_bytes() {
        return Err(format!(
            "key type {} does not match the key blob's type {}",
            quoted(keytype),
            quoted_bytes(inner_type)
        ));
    }
    if keytype != ED25519 {
        return Ok(LineOutcome::Skipped(unsupported_key_type(keytype)));
    }
    if opts.cert_authority {
        return Ok(LineOutcome::Skipped(
            "cert-authority line skipped: certificates are not supported, so a CA key authorises nothing here".into(),
        ));
    }
    let key = ed25519_from_blob(&blob)?;
    Ok(LineOutcome::Signer(Box::new(AllowedSigner {
        principals: principals.to_owned(),
        namespaces: opts.namespaces,
        valid_after: opts.valid_after,
        valid_before: opts.valid_before,
        key,
        line: lineno,
    })))
}

/// Parses an allowed_signers file. Lines with a key type other than ssh-ed25519, and
/// `cert-authority` lines, are skipped so the rest of a shared file still serves; a file
/// with no usable line, or with any malformed line, is refused.
pub fn parse_allowed_signers(text: &[u8]) -> Result<Vec<AllowedSigner>, SchemeError> {
    let err = |m: String| SchemeError::Key(format!("allowed_signers: {m}"));
    if text.len() as u64 > MAX_KEY_FILE_BYTES {
        return Err(err(format!(
            "file is {} bytes, more than the {MAX_KEY_FILE_BYTES}-byte limit",
            text.len()
        )));
    }
    let text = std::str::from_utf8(text).map_err(|_| err("not UTF-8 text".into()))?;
    let mut signers = Vec::new();
    let mut first_skip: Option<(usize, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let lineno = i + 1;
        if lineno > MAX_LINES {
            return Err(err(format!("more than {MAX_LINES} lines")));
        }
        if raw.chars().any(|c| c.is_control() && c != '\t') {
            return Err(err(format!("line {lineno}: contains a control character")));
        }
        let line = raw.trim_matches(is_blank);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match parse_line(line, lineno).map_err(|m| err(format!("line {lineno}: {m}")))? {
            LineOutcome::Signer(s) => signers.push(*s),
            LineOutcome::Skipped(why) => {
                if first_skip.is_none() {
                    first_skip = Some((lineno, why));
                }
            }
        }
    }
    if signers.is_empty() {
        return Err(match first_skip {
            Some((lineno, why)) => err(format!("no usable line (line {lineno}: {why})")),
            None => err("no signer lines".into()),
        });
    }
    Ok(signers)
}

// ---------------------------------------------------------------------------------------
// Signatures

/// Parses an armoured SSHSIG file. Refuses anything but one ssh-ed25519 signature in the
/// exact layout ssh-keygen writes (line width aside).
pub fn parse_signature(armored: &[u8]) -> Result<SshSignature, SchemeError> {
    let err = |m: String| SchemeError::Signature(m);
    if armored.len() as u64 > MAX_SIGNATURE_FILE_BYTES {
        return Err(err(format!(
            "file is {} bytes, more than the {MAX_SIGNATURE_FILE_BYTES}-byte limit",
            armored.len()
        )));
    }
    let text = std::str::from_utf8(armored).map_err(|_| err("not UTF-8 text".into()))?;
    if text.contains('\r') {
        return Err(err(
            "contains a carriage return (CRLF line endings); ssh-keygen writes and reads LF only"
                .into(),
        ));
    }
    let after_header = text
        .strip_prefix(BEGIN)
        .filter(|r| r.starts_with('\n'))
        .ok_or_else(|| err(format!("does not start with the line {BEGIN}")))?;
    let footer = format!("\n{END}");
    let end = after_header
        .find(&footer)
        .ok_or_else(|| err(format!("has no {END} line")))?;
    let (body, tail) = after_header.split_at(end);
    let tail = tail.get(footer.len()..).unwrap_or("");
    if !(tail.is_empty() || tail == "\n") {
        return Err(err(format!("has data after the {END} line")));
    }
    let body = body.get(1..).unwrap_or("");
    if body.is_empty() {
        return Err(err("has no base64 between header and footer".into()));
    }
    let mut b64 = String::with_capacity(body.len());
    for l in body.split('\n') {
        if l.is_empty() {
            return Err(err("has a blank line inside the base64".into()));
        }
        b64.push_str(l);
    }
    let blob = super::strict_base64(&b64)
        .ok_or_else(|| err("the signature is not valid (canonical, padded) base64".into()))?;
    parse_blob(&blob)
}

fn parse_blob(blob: &[u8]) -> Result<SshSignature, SchemeError> {
    let err = |m: String| SchemeError::Signature(m);
    let truncated = |field: &str| err(format!("SSHSIG blob is truncated in the {field} field"));
    let mut r = Reader::new(blob);
    if r.take(MAGIC.len()) != Some(MAGIC) {
        return Err(err("blob does not start with SSHSIG".into()));
    }
    let version = r.u32().ok_or_else(|| truncated("version"))?;
    if version != VERSION {
        return Err(err(format!(
            "SSHSIG version {version} is not supported (only version {VERSION})"
        )));
    }
    let pk = r.string().ok_or_else(|| truncated("public key"))?;
    let key = ed25519_from_blob(pk).map_err(|m| err(format!("signing key: {m}")))?;
    let namespace = r.string().ok_or_else(|| truncated("namespace"))?;
    let namespace = std::str::from_utf8(namespace)
        .map_err(|_| err("namespace is not UTF-8".into()))?
        .to_owned();
    if namespace.is_empty() {
        return Err(err("namespace is empty (PROTOCOL.sshsig forbids it)".into()));
    }
    if namespace.contains('\0') {
        return Err(err(format!(
            "namespace {} contains a NUL byte",
            quoted(&namespace)
        )));
    }
    let reserved = r.string().ok_or_else(|| truncated("reserved"))?;
    if !reserved.is_empty() {
        return Err(err(format!(
            "reserved field is not empty ({} bytes); ssh-keygen always writes it empty",
            reserved.len()
        )));
    }
    let hash = match r.string().ok_or_else(|| truncated("hash algorithm"))? {
        b"sha256" => HashAlg::Sha256,
        b"sha512" => HashAlg::Sha512,
        other => {
            return Err(err(format!(
                "hash algorithm {} is not sha256 or sha512",
                quoted_bytes(other)
            )));
        }
    };
    let sig_blob = r.string().ok_or_else(|| truncated("signature"))?;
    if !r.is_empty() {
        return Err(err(
            "SSHSIG blob has trailing bytes after the signature".into()
        ));
    }
    let mut s = Reader::new(sig_blob);
    let sigtype = s
        .string()
        .ok_or_else(|| err("signature field is truncated (no algorithm)".into()))?;
    if sigtype != ED25519.as_bytes() {
        return Err(err(format!(
            "signature algorithm {} does not match the ssh-ed25519 key",
            quoted_bytes(sigtype)
        )));
    }
    let raw = s
        .string()
        .ok_or_else(|| err("ssh-ed25519 signature is truncated".into()))?;
    let signature: [u8; 64] = raw.try_into().map_err(|_| {
        err(format!(
            "ssh-ed25519 signature is {} bytes, not 64",
            raw.len()
        ))
    })?;
    if !s.is_empty() {
        return Err(err("signature field has trailing bytes".into()));
    }
    Ok(SshSignature {
        key,
        namespace,
        hash,
        signature,
    })
}

/// What the caller must stream the signed file through before calling [`verify`] with
/// `Message::Digest`.
pub fn prehash(sig: &SshSignature) -> Prehash {
    match sig.hash {
        HashAlg::Sha256 => Prehash::Sha256,
        HashAlg::Sha512 => Prehash::Sha512,
    }
}

/// Lists at most a few fingerprints, so a long allowed_signers file cannot flood a report.
fn fingerprints(signers: &[&AllowedSigner]) -> String {
    const SHOW: usize = 3;
    let mut out: Vec<String> = signers
        .iter()
        .take(SHOW)
        .map(|s| format!("{} (line {})", fingerprint(&s.key), s.line))
        .collect();
    if signers.len() > SHOW {
        out.push(format!("and {} more", signers.len() - SHOW));
    }
    out.join(", ")
}

/// Checks that `sig` was made for `namespace` (which must not be empty). Done before
/// anything else, so that a signature for another purpose is reported as such, not as a
/// key that allowed_signers does not permit.
pub fn check_namespace(sig: &SshSignature, namespace: &str) -> Result<(), SchemeError> {
    if namespace.is_empty() {
        return Err(SchemeError::Policy(
            "an SSH signature namespace is required (ssh-keygen -n)".into(),
        ));
    }
    if sig.namespace != namespace {
        return Err(SchemeError::Policy(format!(
            "signature namespace is {}, not the expected {}",
            quoted(&sig.namespace),
            quoted(namespace)
        )));
    }
    Ok(())
}

/// Checks `sig` over `message` as `ssh-keygen -Y verify -I identity -n namespace` would at
/// time `now` (unix seconds), then with the strict Ed25519 check.
pub fn verify(
    signers: &[AllowedSigner],
    identity: &str,
    namespace: &str,
    sig: &SshSignature,
    message: Message<'_>,
    now: i64,
) -> Result<(), SchemeError> {
    check_namespace(sig, namespace)?;
    if identity.is_empty() {
        return Err(SchemeError::Policy(
            "an identity (principal) is required to check an SSH signature".into(),
        ));
    }
    let for_identity: Vec<&AllowedSigner> = signers
        .iter()
        .filter(|s| principal_matches(&s.principals, identity))
        .collect();
    let found = fingerprint(&sig.key);
    if for_identity.is_empty() {
        return Err(SchemeError::Policy(format!(
            "no allowed_signers line matches identity {}",
            quoted(identity)
        )));
    }
    let with_key: Vec<&AllowedSigner> = for_identity
        .iter()
        .copied()
        .filter(|s| s.key == sig.key)
        .collect();
    let Some(first_with_key) = with_key.first() else {
        if let Some(other) = signers.iter().find(|s| s.key == sig.key) {
            return Err(SchemeError::Policy(format!(
                "signing key {found} is allowed for {} (line {}), not for identity {}",
                quoted(&other.principals),
                other.line,
                quoted(identity)
            )));
        }
        return Err(SchemeError::WrongKey {
            expected: fingerprints(&for_identity),
            found,
        });
    };
    let in_namespace: Vec<&AllowedSigner> = with_key
        .iter()
        .copied()
        .filter(|s| namespace_allowed(s, namespace))
        .collect();
    let Some(first_in_namespace) = in_namespace.first() else {
        return Err(SchemeError::Policy(format!(
            "allowed_signers line {} does not permit namespace {} (namespaces={})",
            first_with_key.line,
            quoted(namespace),
            quoted(
                &first_with_key
                    .namespaces
                    .clone()
                    .unwrap_or_default()
                    .join(",")
            )
        )));
    };
    if !in_namespace.iter().any(|s| valid_at(s, now)) {
        let s = first_in_namespace;
        let why = match (s.valid_after, s.valid_before) {
            (Some(a), _) if now < a => format!("is not valid until {}", format_time(a)),
            (_, Some(b)) => format!("expired at {}", format_time(b)),
            _ => "is not valid now".into(),
        };
        return Err(SchemeError::Policy(format!(
            "allowed_signers line {}: key {found} {why} (checked at {})",
            s.line,
            format_time(now)
        )));
    }

    // The signed data holds H(message): a streamed file arrives as that digest already,
    // a message in memory is hashed here through the same code (schemes::Prehasher; never
    // `None`, as SSHSIG always names sha256 or sha512, and an empty digest would not verify).
    let hashed;
    let digest: &[u8] = match message {
        Message::Bytes(b) => {
            hashed = super::Prehasher::digest(prehash(sig), b).unwrap_or_default();
            &hashed
        }
        Message::Digest(d) => {
            if d.len() != sig.hash.digest_len() {
                return Err(SchemeError::Policy(format!(
                    "the message digest is {} bytes, but the signature uses {} ({} bytes)",
                    d.len(),
                    sig.hash.name(),
                    sig.hash.digest_len()
                )));
            }
            d
        }
    };
    let mut signed = Vec::with_capacity(MAGIC.len() + namespace.len() + digest.len() + 32);
    signed.extend_from_slice(MAGIC);
    put_string(&mut signed, namespace.as_bytes());
    put_string(&mut signed, b"");
    put_string(&mut signed, sig.hash.name().as_bytes());
    put_string(&mut signed, digest);
    if sig.key.verify_strict(&signed, &sig.signature) {
        Ok(())
    } else {
        Err(SchemeError::BadSignature(format!(
            " (ssh-ed25519 key {found}, namespace {})",
            quoted(namespace)
        )))
    }
}

/// The principals the signing key is allowed to sign as in `namespace` at `now`, like
/// `ssh-keygen -Y find-principals`, for when the user names no identity. Each pattern of
/// each matching line is listed once; negated (`!`) patterns are left out, wildcard ones
/// kept as written. This does not check the signature itself: pass a result to [`verify`].
pub fn find_principals(
    signers: &[AllowedSigner],
    sig: &SshSignature,
    namespace: &str,
    now: i64,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    if namespace.is_empty() || sig.namespace != namespace {
        return out;
    }
    for s in signers {
        if s.key != sig.key || !namespace_allowed(s, namespace) || !valid_at(s, now) {
            continue;
        }
        for p in s.principals.split(',') {
            // A listed pattern can still be excluded by a negation on the same line.
            let usable =
                !p.is_empty() && !p.starts_with('!') && principal_matches(&s.principals, p);
            if usable && !out.iter().any(|o| o == p) {
                out.push(p.to_owned());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // Made on this machine with OpenSSH 9.2p1:
    //   ssh-keygen -t ed25519 -N '' -C contact@grapheneos.org -f k
    //   ssh-keygen -t ed25519 -N '' -C other -f k2
    //   ssh-keygen -t rsa -b 1024 -N '' -C rsa -f krsa
    //   printf 'mirrorproof factory image 2024.01\n' > file
    const K_PUB: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA9aXPegYntxetK6lzozOxMnP2fQtkHS/7bRhxG8q6uM contact@grapheneos.org";
    const K2_PUB: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIBcxHpNc28tc1MbX0BeSXAYyFbJjAa3m2CLw2o+Ljuh other";
    const RSA_PUB: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDm0hFb8kRUpRnz6tmvqWQTVC0IVcKXwmBhqEPeDLa+tvoNHmDw712jtUXvlD9lpD74sHv8j7iOZcUafxE1FhH7+dOkWf/QzOfF4//QEdZ9jefwcFgPZHLSP/KhxcOywbalRxcfQXc8B1bHgjNrVtiiONdZ0nYazbh3iik8xy/LhQ== rsa";
    // ssh-keygen -s ca -I test -n contact@grapheneos.org k.pub
    const K_CERT_PUB: &str = "ssh-ed25519-cert-v01@openssh.com AAAAIHNzaC1lZDI1NTE5LWNlcnQtdjAxQG9wZW5zc2guY29tAAAAIO8mbUvxpKJOfRrq0ZKKn+IntP+cTP76iFBfDlWnaxt0AAAAIA9aXPegYntxetK6lzozOxMnP2fQtkHS/7bRhxG8q6uMAAAAAAAAAAAAAAABAAAABHRlc3QAAAAaAAAAFmNvbnRhY3RAZ3JhcGhlbmVvcy5vcmcAAAAAAAAAAP//////////AAAAAAAAAIIAAAAVcGVybWl0LVgxMS1mb3J3YXJkaW5nAAAAAAAAABdwZXJtaXQtYWdlbnQtZm9yd2FyZGluZwAAAAAAAAAWcGVybWl0LXBvcnQtZm9yd2FyZGluZwAAAAAAAAAKcGVybWl0LXB0eQAAAAAAAAAOcGVybWl0LXVzZXItcmMAAAAAAAAAAAAAADMAAAALc3NoLWVkMjU1MTkAAAAgriB9w3Qoi/tyyhmFfrFaUy+Jiyi3gosJdvMPyMrsv78AAABTAAAAC3NzaC1lZDI1NTE5AAAAQAEnrEUYkcLop9cCUWVtQXhWNOzYXX/fn0ktOI6QBCM2ueco9OY6I+Q+h6n4D6tbziQsSX/S5ySqxhidksj45g8= contact@grapheneos.org";
    const FILE: &[u8] = b"mirrorproof factory image 2024.01\n";
    // sha512sum file
    const FILE_SHA512: &str = "f6e8a5befacf0f02e0a4310d7c502411f096d567be8e58645357da3848ecb0b48b96ab2d08637bdfaf9a5a8c33319e95ba6aaa9201eaf458a999df55238d2676";
    // ssh-keygen -Y sign -f k -n "factory images" file
    const SIG_512: &str = "-----BEGIN SSH SIGNATURE-----
U1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAgD1pc96Bie3F60rqXOjM7Eyc/Z9
C2QdL/ttGHEbyrq4wAAAAOZmFjdG9yeSBpbWFnZXMAAAAAAAAABnNoYTUxMgAAAFMAAAAL
c3NoLWVkMjU1MTkAAABAzJQ4Or5EAZHZmXelsYMaxgxL0reCzUuXu97tJa8J/pPv3XeGFs
shRwHP1+rYDvQj/c2F7dD6PHSPu6o5MJNUAA==
-----END SSH SIGNATURE-----
";
    // ssh-keygen -Y sign -f k -n "factory images" -O hashalg=sha256 file
    const SIG_256: &str = "-----BEGIN SSH SIGNATURE-----
U1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAgD1pc96Bie3F60rqXOjM7Eyc/Z9
C2QdL/ttGHEbyrq4wAAAAOZmFjdG9yeSBpbWFnZXMAAAAAAAAABnNoYTI1NgAAAFMAAAAL
c3NoLWVkMjU1MTkAAABA7fD8UYh+KuTl8Cjmr6PYGxaH/5qUCZ8w+wz6bObShvpg3lQWWJ
6FF7QW1bniux5oUNkff1zW5UWf3YtQ1uNZAQ==
-----END SSH SIGNATURE-----
";
    // ssh-keygen -Y sign -f k -n file file
    const SIG_NS_FILE: &str = "-----BEGIN SSH SIGNATURE-----
U1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAgD1pc96Bie3F60rqXOjM7Eyc/Z9
C2QdL/ttGHEbyrq4wAAAAEZmlsZQAAAAAAAAAGc2hhNTEyAAAAUwAAAAtzc2gtZWQyNTUx
OQAAAECDhRPhUz47pTaRaSWyGgCxMLfU+G+agHGXhtTazsfmB2HWx5hmG9e9s9aLOaaP4d
gmg+JfJGwHIvfjZwJ+2/AE
-----END SSH SIGNATURE-----
";
    // ssh-keygen -Y sign -f k2 -n "factory images" file
    const SIG_K2: &str = "-----BEGIN SSH SIGNATURE-----
U1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAggFzEek1zby1zUxtfQF5JcBjIVs
mMBrebYIvDaj4uO6EAAAAOZmFjdG9yeSBpbWFnZXMAAAAAAAAABnNoYTUxMgAAAFMAAAAL
c3NoLWVkMjU1MTkAAABAonXFrc1bhqzK78hXkOfYLLZU6gHXe3bQxQkCwVikUOSV603M9w
+WXeruwoouWhHoUrByUbwFID7EpREDHti+Cw==
-----END SSH SIGNATURE-----
";
    // ssh-keygen -Y sign -f krsa -n "factory images" file
    const SIG_RSA: &str = "-----BEGIN SSH SIGNATURE-----
U1NIU0lHAAAAAQAAAJcAAAAHc3NoLXJzYQAAAAMBAAEAAACBAObSEVvyRFSlGfPq2a+pZB
NULQhVwpfCYGGoQ94Mtr62+g0eYPDvXaO1Re+UP2WkPviwe/yPuI5lxRp/ETUWEfv506RZ
/9DM58Xj/9AR1n2N5/BwWA9kctI/8qHFw7LBtqVHFx9BdzwHVseCM2tW2KI411nSdhrNuH
eKKTzHL8uFAAAADmZhY3RvcnkgaW1hZ2VzAAAAAAAAAAZzaGE1MTIAAACUAAAADHJzYS1z
aGEyLTUxMgAAAIBTZ6WqU9kzAndla4ofid7321XMaosZVIEh5Isi6xXPhE3TDhLn7AHCd6
eT8DZRQZsCNS0aT1W7c4OdU0ef9EXIxHcoaJ1+8iuA6FIbARkl/qd99XnTBgZZ744MGa+K
s821FtTWy6XWkfb9E3Yi6rts3fIthPgJIjKGFHk3834sjg==
-----END SSH SIGNATURE-----
";
    // ssh-add k; ssh-keygen -Y sign -f k-cert.pub -n "factory images" file (via ssh-agent)
    const SIG_CERT: &str = "-----BEGIN SSH SIGNATURE-----
U1NIU0lHAAAAAQAAAcoAAAAgc3NoLWVkMjU1MTktY2VydC12MDFAb3BlbnNzaC5jb20AAA
Ag7yZtS/Gkok59GurRkoqf4ie0/5xM/vqIUF8OVadrG3QAAAAgD1pc96Bie3F60rqXOjM7
Eyc/Z9C2QdL/ttGHEbyrq4wAAAAAAAAAAAAAAAEAAAAEdGVzdAAAABoAAAAWY29udGFjdE
BncmFwaGVuZW9zLm9yZwAAAAAAAAAA//////////8AAAAAAAAAggAAABVwZXJtaXQtWDEx
LWZvcndhcmRpbmcAAAAAAAAAF3Blcm1pdC1hZ2VudC1mb3J3YXJkaW5nAAAAAAAAABZwZX
JtaXQtcG9ydC1mb3J3YXJkaW5nAAAAAAAAAApwZXJtaXQtcHR5AAAAAAAAAA5wZXJtaXQt
dXNlci1yYwAAAAAAAAAAAAAAMwAAAAtzc2gtZWQyNTUxOQAAACCuIH3DdCiL+3LKGYV+sV
pTL4mLKLeCiwl28w/Iyuy/vwAAAFMAAAALc3NoLWVkMjU1MTkAAABAASesRRiRwuin1wJR
ZW1BeFY07Nhdf9+fSS04jpAEIza55yj05joj5D6HqfgPq1vOJCxJf9LnJKrGGJ2SyPjmDw
AAAA5mYWN0b3J5IGltYWdlcwAAAAAAAAAGc2hhNTEyAAAAUwAAAAtzc2gtZWQyNTUxOQAA
AEDMlDg6vkQBkdmZd6WxgxrGDEvSt4LNS5e73u0lrwn+k+/dd4YWyyFHAc/X6tgO9CP9zY
Xt0Po8dI+7qjkwk1QA
-----END SSH SIGNATURE-----
";
    const ID: &str = "contact@grapheneos.org";
    const NS: &str = "factory images";
    /// 2026-01-01T00:00:00Z.
    const NOW: i64 = 1_767_225_600;

    fn key_of(pub_line: &str) -> String {
        pub_line.split(' ').take(2).collect::<Vec<_>>().join(" ")
    }

    fn signers(text: &str) -> Vec<AllowedSigner> {
        parse_allowed_signers(text.as_bytes()).unwrap()
    }

    fn allowed_k() -> Vec<AllowedSigner> {
        signers(&format!("{ID} {}\n", key_of(K_PUB)))
    }

    fn b64(b: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(b)
    }

    fn unb64(s: &str) -> Vec<u8> {
        super::super::strict_base64(s).unwrap()
    }

    fn blob_of(armored: &str) -> Vec<u8> {
        let body: String = armored
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        unb64(&body)
    }

    fn armor(blob: &[u8]) -> String {
        let enc = b64(blob);
        let mut out = format!("{BEGIN}\n");
        for chunk in enc.as_bytes().chunks(70) {
            out.push_str(std::str::from_utf8(chunk).unwrap());
            out.push('\n');
        }
        out.push_str(END);
        out.push('\n');
        out
    }

    fn string(s: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        put_string(&mut v, s);
        v
    }

    /// Builds an SSHSIG blob from its fields, so each can be broken on its own.
    fn build(
        version: u32,
        pk: &[u8],
        ns: &[u8],
        reserved: &[u8],
        hash: &[u8],
        sig: &[u8],
    ) -> Vec<u8> {
        let mut v = MAGIC.to_vec();
        v.extend_from_slice(&version.to_be_bytes());
        v.extend(string(pk));
        v.extend(string(ns));
        v.extend(string(reserved));
        v.extend(string(hash));
        v.extend(string(sig));
        v
    }

    fn ed_sig_field(sig: &[u8]) -> Vec<u8> {
        let mut v = string(ED25519.as_bytes());
        v.extend(string(sig));
        v
    }

    fn parts() -> (Vec<u8>, [u8; 64]) {
        let s = parse_signature(SIG_512.as_bytes()).unwrap();
        (key_blob(&s.key), s.signature)
    }

    fn check(sig: &SshSignature) -> Result<(), SchemeError> {
        verify(&allowed_k(), ID, NS, sig, Message::Bytes(FILE), NOW)
    }

    #[test]
    fn parses_genuine_signature() {
        let s = parse_signature(SIG_512.as_bytes()).unwrap();
        assert_eq!(s.namespace, NS);
        assert_eq!(s.hash, HashAlg::Sha512);
        assert_eq!(s.key, allowed_k()[0].key);
        assert_eq!(prehash(&s), Prehash::Sha512);
        // Our encoder gives back exactly what ssh-keygen wrote.
        let rebuilt = build(
            1,
            &key_blob(&s.key),
            NS.as_bytes(),
            b"",
            b"sha512",
            &ed_sig_field(&s.signature),
        );
        assert_eq!(rebuilt, blob_of(SIG_512));
        assert_eq!(armor(&rebuilt), SIG_512);
        // The fingerprint ssh-keygen -Y verify printed for this key.
        assert_eq!(
            fingerprint(&s.key),
            "SHA256:mHgPLnnrW90KBRO1LWai8TdM6rZznkCfkpAWhLVHfVY"
        );
    }

    #[test]
    fn verifies_sha512_and_sha256_from_bytes_and_digest() {
        let s512 = parse_signature(SIG_512.as_bytes()).unwrap();
        check(&s512).unwrap();
        let d = hex::decode(FILE_SHA512).unwrap();
        verify(&allowed_k(), ID, NS, &s512, Message::Digest(&d), NOW).unwrap();

        let s256 = parse_signature(SIG_256.as_bytes()).unwrap();
        assert_eq!(s256.hash, HashAlg::Sha256);
        assert_eq!(prehash(&s256), Prehash::Sha256);
        check(&s256).unwrap();
        let d = Sha256::digest(FILE);
        verify(&allowed_k(), ID, NS, &s256, Message::Digest(&d), NOW).unwrap();
        // The file without the final newline ssh-keygen saw.
        assert!(matches!(
            verify(
                &allowed_k(),
                ID,
                NS,
                &s256,
                Message::Bytes(b"mirrorproof factory image 2024.01"),
                NOW
            ),
            Err(SchemeError::BadSignature(_))
        ));
    }

    #[test]
    fn digest_of_wrong_length_or_wrong_hash_is_refused() {
        let s512 = parse_signature(SIG_512.as_bytes()).unwrap();
        let d256 = Sha256::digest(FILE);
        let e = verify(&allowed_k(), ID, NS, &s512, Message::Digest(&d256), NOW).unwrap_err();
        assert!(
            matches!(&e, SchemeError::Policy(m) if m.contains("32 bytes") && m.contains("sha512")),
            "{e}"
        );
        // A sha512 digest handed to a sha256 signature: wrong length too.
        let s256 = parse_signature(SIG_256.as_bytes()).unwrap();
        let d512 = hex::decode(FILE_SHA512).unwrap();
        assert!(verify(&allowed_k(), ID, NS, &s256, Message::Digest(&d512), NOW).is_err());
        // A right-length digest of something else.
        let mut bad = d512.clone();
        bad[0] ^= 1;
        assert!(matches!(
            verify(&allowed_k(), ID, NS, &s512, Message::Digest(&bad), NOW),
            Err(SchemeError::BadSignature(_))
        ));
    }

    #[test]
    fn tampering_is_detected() {
        // Message.
        let s = parse_signature(SIG_512.as_bytes()).unwrap();
        let mut msg = FILE.to_vec();
        msg[3] ^= 0x20;
        assert!(matches!(
            verify(&allowed_k(), ID, NS, &s, Message::Bytes(&msg), NOW),
            Err(SchemeError::BadSignature(_))
        ));
        // Every byte of the signature.
        for i in 0..64 {
            let mut t = s.clone();
            t.signature[i] ^= 0x01;
            assert!(check(&t).is_err(), "flipped signature byte {i} accepted");
        }
        // The embedded key, swapped for another key that is also allowed.
        let k2 = parse_signature(SIG_K2.as_bytes()).unwrap().key;
        let both = signers(&format!(
            "{ID} {}\n{ID} {}\n",
            key_of(K_PUB),
            key_of(K2_PUB)
        ));
        let mut t = s.clone();
        t.key = k2;
        assert!(matches!(
            verify(&both, ID, NS, &t, Message::Bytes(FILE), NOW),
            Err(SchemeError::BadSignature(_))
        ));
        // Each base64 character of the armoured file: refused at parse or at verify.
        let lines: Vec<&str> = SIG_512.lines().collect();
        // Every third character (a different third on each line) keeps the debug build fast.
        for (li, line) in lines.iter().enumerate().skip(1).take(lines.len() - 2) {
            for ci in (li % 3..line.len()).step_by(3) {
                let mut l = line.as_bytes().to_vec();
                l[ci] = if l[ci] == b'A' { b'B' } else { b'A' };
                let mut all: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
                all[li] = String::from_utf8(l).unwrap();
                let text = all.join("\n") + "\n";
                let ok = parse_signature(text.as_bytes()).and_then(|s| check(&s));
                assert!(ok.is_err(), "changed line {li} char {ci} accepted");
            }
        }
    }

    #[test]
    fn wrong_key_is_refused() {
        let s = parse_signature(SIG_K2.as_bytes()).unwrap();
        let e = check(&s).unwrap_err();
        match &e {
            SchemeError::WrongKey { expected, found } => {
                assert!(expected.contains("SHA256:mHgPLnnrW90KBRO1LWai8TdM6rZznkCfkpAWhLVHfVY"));
                assert!(expected.contains("line 1"));
                assert_eq!(found, &fingerprint(&s.key));
            }
            other => panic!("{other}"),
        }
        // Key known, but for someone else.
        let list = signers(&format!(
            "{ID} {}\nrelease@example.org {}\n",
            key_of(K_PUB),
            key_of(K2_PUB)
        ));
        let e = verify(&list, ID, NS, &s, Message::Bytes(FILE), NOW).unwrap_err();
        assert!(
            matches!(&e, SchemeError::Policy(m) if m.contains("release@example.org") && m.contains("line 2")),
            "{e}"
        );
    }

    #[test]
    fn namespace_must_match() {
        let s = parse_signature(SIG_NS_FILE.as_bytes()).unwrap();
        assert_eq!(s.namespace, "file");
        let e = check(&s).unwrap_err();
        assert!(
            matches!(&e, SchemeError::Policy(m) if m.contains("\"file\"") && m.contains("\"factory images\"")),
            "{e}"
        );
        verify(&allowed_k(), ID, "file", &s, Message::Bytes(FILE), NOW).unwrap();
        // A genuine signature in one namespace is not one in another, even if the
        // caller claims so: the namespace is inside the signed data.
        let mut t = s.clone();
        t.namespace = NS.into();
        assert!(matches!(check(&t), Err(SchemeError::BadSignature(_))));
        // No namespace at all.
        let e = verify(&allowed_k(), ID, "", &s, Message::Bytes(FILE), NOW).unwrap_err();
        assert!(matches!(&e, SchemeError::Policy(m) if m.contains("required")));
    }

    #[test]
    fn namespaces_option_restricts_a_line() {
        let list = signers(&format!("{ID} namespaces=\"file\" {}\n", key_of(K_PUB)));
        assert_eq!(list[0].namespaces, Some(vec!["file".to_string()]));
        let s_ns = parse_signature(SIG_NS_FILE.as_bytes()).unwrap();
        verify(&list, ID, "file", &s_ns, Message::Bytes(FILE), NOW).unwrap();
        let s = parse_signature(SIG_512.as_bytes()).unwrap();
        let e = verify(&list, ID, NS, &s, Message::Bytes(FILE), NOW).unwrap_err();
        assert!(
            matches!(&e, SchemeError::Policy(m) if m.contains("does not permit namespace") && m.contains("line 1")),
            "{e}"
        );
        // Patterns work as in ssh-keygen; a negation wins.
        let list = signers(&format!(
            "{ID} NameSpaces=\"factory*,git\" {}\n",
            key_of(K_PUB)
        ));
        verify(&list, ID, NS, &s, Message::Bytes(FILE), NOW).unwrap();
        let list = signers(&format!(
            "{ID} namespaces=\"*,!factory images\" {}\n",
            key_of(K_PUB)
        ));
        assert!(verify(&list, ID, NS, &s, Message::Bytes(FILE), NOW).is_err());
        // A second, unrestricted line for the same key serves.
        let list = signers(&format!(
            "{ID} namespaces=\"file\" {k}\n{ID} {k}\n",
            k = key_of(K_PUB)
        ));
        verify(&list, ID, NS, &s, Message::Bytes(FILE), NOW).unwrap();
    }

    #[test]
    fn principal_must_match() {
        let s = parse_signature(SIG_512.as_bytes()).unwrap();
        let e = verify(
            &allowed_k(),
            "someone@grapheneos.org",
            NS,
            &s,
            Message::Bytes(FILE),
            NOW,
        )
        .unwrap_err();
        assert!(
            matches!(&e, SchemeError::Policy(m) if m.contains("someone@grapheneos.org")),
            "{e}"
        );
        let e = verify(&allowed_k(), "", NS, &s, Message::Bytes(FILE), NOW).unwrap_err();
        assert!(matches!(&e, SchemeError::Policy(_)));
        let list = signers(&format!("*@grapheneos.org {}\n", key_of(K_PUB)));
        verify(&list, ID, NS, &s, Message::Bytes(FILE), NOW).unwrap();
        let list = signers(&format!(
            "!contact@grapheneos.org,*@grapheneos.org {}\n",
            key_of(K_PUB)
        ));
        assert!(verify(&list, ID, NS, &s, Message::Bytes(FILE), NOW).is_err());
        // Quoted principals (ssh-keygen accepts them).
        let list = signers(&format!("\"{ID},a@b\" {}\n", key_of(K_PUB)));
        assert_eq!(list[0].principals, format!("{ID},a@b"));
        verify(&list, ID, NS, &s, Message::Bytes(FILE), NOW).unwrap();
    }

    #[test]
    fn pattern_lists_follow_openssh() {
        assert!(principal_matches("a@x", "a@x"));
        assert!(!principal_matches("a@x", "A@x"));
        assert!(!principal_matches("a@x", "a@xy"));
        assert!(principal_matches("b@x,a@x", "a@x"));
        assert!(principal_matches("*@x", "a@x"));
        assert!(principal_matches("*", ""));
        assert!(!principal_matches("", ""));
        assert!(!principal_matches("", "a"));
        assert!(principal_matches("?@x", "a@x"));
        assert!(!principal_matches("?@x", "ab@x"));
        assert!(principal_matches("a*b*c", "aXbYbZc"));
        assert!(!principal_matches("a*b*c", "aXbYbZ"));
        assert!(principal_matches(
            "*a*a*a*a*a*a*a*a*a*a*a*",
            &"a".repeat(40)
        ));
        assert!(!principal_matches(
            "*a*a*a*a*a*a*a*a*a*a*a*b",
            &"a".repeat(200)
        ));
        // Negation wins, wherever it is.
        assert!(!principal_matches("*@x,!a@x", "a@x"));
        assert!(!principal_matches("!a@x,*@x", "a@x"));
        assert!(principal_matches("!a@x,*@x", "b@x"));
        // A negation alone accepts nothing.
        assert!(!principal_matches("!a@x", "b@x"));
        // OpenSSH gives up on an over-long sub-pattern.
        let long = "a".repeat(1100);
        assert!(!principal_matches(&format!("*,{long}"), "a"));
        assert!(principal_matches(&format!("*,{}", "a".repeat(1000)), "a"));
    }

    #[test]
    fn validity_window() {
        let s = parse_signature(SIG_512.as_bytes()).unwrap();
        let list = signers(&format!(
            "{ID} valid-after=\"20250101Z\",valid-before=\"20261231235959Z\" {}\n",
            key_of(K_PUB)
        ));
        assert_eq!(list[0].valid_after, Some(1_735_689_600));
        assert_eq!(list[0].valid_before, Some(1_798_761_599));
        verify(&list, ID, NS, &s, Message::Bytes(FILE), NOW).unwrap();
        // Inclusive at both ends, like ssh-keygen.
        verify(&list, ID, NS, &s, Message::Bytes(FILE), 1_735_689_600).unwrap();
        verify(&list, ID, NS, &s, Message::Bytes(FILE), 1_798_761_599).unwrap();
        let e = verify(&list, ID, NS, &s, Message::Bytes(FILE), 1_735_689_599).unwrap_err();
        assert!(
            matches!(&e, SchemeError::Policy(m) if m.contains("not valid until 2025-01-01T00:00:00Z")),
            "{e}"
        );
        let e = verify(&list, ID, NS, &s, Message::Bytes(FILE), 1_798_761_600).unwrap_err();
        assert!(
            matches!(&e, SchemeError::Policy(m) if m.contains("expired at 2026-12-31T23:59:59Z")),
            "{e}"
        );
        assert!(find_principals(&list, &s, NS, 1_798_761_600).is_empty());
        assert_eq!(find_principals(&list, &s, NS, NOW), vec![ID.to_string()]);
    }

    #[test]
    fn time_forms() {
        assert_eq!(parse_time("20240101Z", "t"), Ok(1_704_067_200));
        assert_eq!(parse_time("20240101utc", "t"), Ok(1_704_067_200));
        assert_eq!(
            parse_time("202401011230Z", "t"),
            Ok(1_704_067_200 + 12 * 3600 + 30 * 60)
        );
        assert_eq!(
            parse_time("20240101123005z", "t"),
            Ok(1_704_067_200 + 12 * 3600 + 30 * 60 + 5)
        );
        assert_eq!(parse_time("20240229Z", "t"), Ok(1_709_164_800));
        let e = parse_time("20240101", "valid-after").unwrap_err();
        assert!(
            e.contains("local time zone") && e.contains("\"20240101Z\""),
            "{e}"
        );
        for bad in [
            "",
            "Z",
            "2024Z",
            "2024010Z",
            "202401011Z",
            "20230229Z",
            "20241301Z",
            "20240132Z",
            "202401012460Z",
            "20240101235960Z",
            "2024-01-01Z",
            "+2024101Z",
            "19700101Z",
            "19600101Z",
            "20240101ZZ",
            "20240101 Z",
        ] {
            assert!(parse_time(bad, "t").is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn allowed_signers_syntax() {
        let k = key_of(K_PUB);
        // Comments, blank lines, CRLF, leading blanks, a trailing comment, no final newline.
        let list = signers(&format!(
            "# signers\r\n\r\n   \t\r\n  {ID} {k} the comment\r\n# end\r\nb@x {k}"
        ));
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].line, 4);
        assert_eq!(list[0].principals, ID);
        assert_eq!(list[1].line, 6);
        // Options: case-insensitive keywords, quoted blanks, escaped quote.
        let list = signers(&format!(
            "{ID} Valid-After=\"20250101Z\",namespaces=\"a b,c\\\"d\" {k}\n"
        ));
        assert_eq!(
            list[0].namespaces,
            Some(vec!["a b".to_string(), "c\"d".to_string()])
        );
        assert_eq!(list[0].valid_after, Some(1_735_689_600));

        let refused = |line: String, want: &str| {
            let e = parse_allowed_signers(line.as_bytes()).unwrap_err();
            let m = e.to_string();
            assert!(matches!(e, SchemeError::Key(_)), "{m}");
            assert!(m.contains(want), "{line:?}: {m}");
            assert!(!m.contains('\n'));
        };
        refused(format!("{ID} valid-after=20250101Z {k}\n"), "double quotes");
        refused(
            format!("{ID} valid-after=\"20250101\" {k}\n"),
            "no Z suffix",
        );
        refused(
            format!("{ID} namespace=\"file\" {k}\n"),
            "unknown option \"namespace\"",
        );
        refused(format!("{ID} no-touch-required {k}\n"), "unknown option");
        refused(
            format!("{ID} namespaces=\"a\",namespaces=\"b\" {k}\n"),
            "more than one",
        );
        refused(format!("{ID} namespaces=\"\" {k}\n"), "empty entry");
        refused(format!("{ID} namespaces=\"a,,b\" {k}\n"), "empty entry");
        refused(format!("{ID} namespaces=\"a\", {k}\n"), "end with a comma");
        refused(format!("{ID} namespaces=\"a\"x {k}\n"), "unexpected text");
        refused(format!("{ID} namespaces=\"a {k}\n"), "unterminated");
        refused(
            format!("{ID} valid-after=\"20260101Z\",valid-before=\"20250101Z\" {k}\n"),
            "not later",
        );
        refused(format!("{ID}\n"), "no key");
        refused(format!("{ID} namespaces=\"a\"\n"), "no key type");
        refused(format!("{ID} ssh-ed25519\n"), "no base64");
        refused(format!("{ID} ssh-ed25519 AAAA!!!!\n"), "not valid base64");
        refused(format!("\"{ID} {k}\n"), "no closing double quote");
        refused(format!("\"{ID}\"x {k}\n"), "after the closing quote");
        refused(format!("a\"b {k}\n"), "stray double quote");
        refused(format!("\"\" {k}\n"), "empty principals");
        refused(format!("{ID} {k}\u{0}\n"), "control character");
        refused("# only a comment\n\n".into(), "no signer lines");
        refused(String::new(), "no signer lines");
        // Truncated base64 (a length that is not a multiple of 4).
        let mut bad_b64 = k.clone();
        bad_b64.pop();
        refused(format!("{ID} {bad_b64}\n"), "not valid base64");
        // Key type word and blob disagree.
        let blob = k.split(' ').nth(1).unwrap();
        refused(format!("{ID} ssh-rsa {blob}\n"), "does not match");
        // Wrong key length and trailing bytes in the key blob.
        let mut raw = unb64(blob);
        raw.push(0);
        refused(
            format!("{ID} ssh-ed25519 {}\n", b64(&raw)),
            "trailing bytes",
        );
        let mut short = string(b"ssh-ed25519");
        short.extend(string(&[7u8; 31]));
        refused(format!("{ID} ssh-ed25519 {}\n", b64(&short)), "31 bytes");
        // Not UTF-8.
        assert!(parse_allowed_signers(b"\xff\xfe ssh-ed25519 AAAA\n").is_err());
    }

    #[test]
    fn allowed_signers_size_bounds() {
        let k = key_of(K_PUB);
        let mut text = format!("{ID} {k}\n");
        text.push_str(&"#\n".repeat(999));
        assert_eq!(signers(&text).len(), 1);
        text.push_str("#\n");
        let e = parse_allowed_signers(text.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("more than 1000 lines"), "{e}");
        let huge = vec![b'#'; 64 * 1024 + 1];
        let e = parse_allowed_signers(&huge).unwrap_err();
        assert!(e.to_string().contains("65536"), "{e}");
    }

    #[test]
    fn unsupported_lines_are_skipped_but_not_all() {
        let k = key_of(K_PUB);
        let rsa = key_of(RSA_PUB);
        let cert = key_of(K_CERT_PUB);
        let mut sk = string(b"sk-ssh-ed25519@openssh.com");
        sk.extend(string(&[9u8; 32]));
        sk.extend(string(b"ssh:"));
        let sk = format!("sk-ssh-ed25519@openssh.com {}", b64(&sk));
        let list = signers(&format!(
            "{ID} {rsa}\n{ID} {cert}\n{ID} {sk}\n*@grapheneos.org cert-authority {k}\n{ID} {k}\n"
        ));
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].line, 5);
        let s = parse_signature(SIG_512.as_bytes()).unwrap();
        verify(&list, ID, NS, &s, Message::Bytes(FILE), NOW).unwrap();

        let only = |line: String, want: &str| {
            let m = parse_allowed_signers(line.as_bytes())
                .unwrap_err()
                .to_string();
            assert!(m.contains("no usable line") && m.contains(want), "{m}");
        };
        only(
            format!("{ID} {rsa}\n"),
            "key type \"ssh-rsa\" is not supported: mirrorproof accepts ssh-ed25519 only",
        );
        only(format!("{ID} {cert}\n"), "certificate");
        only(format!("{ID} {sk}\n"), "FIDO");
        only(format!("{ID} cert-authority {k}\n"), "cert-authority");
        only(format!("# x\n{ID} {rsa}\n{ID} {cert}\n"), "line 2");
    }

    #[test]
    fn unsupported_signatures_are_refused() {
        let e = parse_signature(SIG_RSA.as_bytes()).unwrap_err().to_string();
        assert!(
            e.contains(
                "key type \"ssh-rsa\" is not supported: mirrorproof accepts ssh-ed25519 only"
            ),
            "{e}"
        );
        let e = parse_signature(SIG_CERT.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(e.contains("certificate"), "{e}");
        let (_, sig) = parts();
        let mut sk = string(b"sk-ssh-ed25519@openssh.com");
        sk.extend(string(&[9u8; 32]));
        sk.extend(string(b"ssh:"));
        let blob = build(1, &sk, NS.as_bytes(), b"", b"sha512", &ed_sig_field(&sig));
        let e = parse_signature(armor(&blob).as_bytes())
            .unwrap_err()
            .to_string();
        assert!(e.contains("FIDO"), "{e}");
    }

    #[test]
    fn non_canonical_s_is_rejected() {
        // L, the order of the prime-order subgroup, little-endian.
        const L: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
            0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let (pk, sig) = parts();
        let mut forged = sig;
        let mut carry = 0u16;
        for i in 0..32 {
            let v = u16::from(sig[32 + i]) + u16::from(L[i]) + carry;
            forged[32 + i] = v as u8;
            carry = v >> 8;
        }
        assert_eq!(carry, 0, "S + L must still fit in 32 bytes for this vector");
        assert_ne!(forged, sig);
        let blob = build(
            1,
            &pk,
            NS.as_bytes(),
            b"",
            b"sha512",
            &ed_sig_field(&forged),
        );
        let s = parse_signature(armor(&blob).as_bytes()).unwrap();
        assert!(matches!(check(&s), Err(SchemeError::BadSignature(_))));
        // The same blob with the original S verifies, so only S made the difference.
        let blob = build(1, &pk, NS.as_bytes(), b"", b"sha512", &ed_sig_field(&sig));
        check(&parse_signature(armor(&blob).as_bytes()).unwrap()).unwrap();
    }

    #[test]
    fn small_order_keys_are_rejected() {
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let mut pk = string(b"ssh-ed25519");
        pk.extend(string(&identity));
        let (_, sig) = parts();
        let blob = build(1, &pk, NS.as_bytes(), b"", b"sha512", &ed_sig_field(&sig));
        let e = parse_signature(armor(&blob).as_bytes()).unwrap_err();
        assert!(
            matches!(&e, SchemeError::Signature(m) if m.contains("weak")),
            "{e}"
        );
        let e = parse_allowed_signers(format!("{ID} ssh-ed25519 {}\n", b64(&pk)).as_bytes())
            .unwrap_err();
        assert!(
            matches!(&e, SchemeError::Key(m) if m.contains("weak") && m.contains("line 1")),
            "{e}"
        );
    }

    #[test]
    fn blob_structure_is_strict() {
        let (pk, sig) = parts();
        let good = build(1, &pk, NS.as_bytes(), b"", b"sha512", &ed_sig_field(&sig));
        assert!(parse_signature(armor(&good).as_bytes()).is_ok());
        let refused = |blob: Vec<u8>, want: &str| {
            let e = parse_signature(armor(&blob).as_bytes()).unwrap_err();
            assert!(
                matches!(&e, SchemeError::Signature(m) if m.contains(want)),
                "{want}: {e}"
            );
        };
        let mut trailing = good.clone();
        trailing.push(0);
        refused(trailing, "trailing bytes after the signature");
        refused(
            build(2, &pk, NS.as_bytes(), b"", b"sha512", &ed_sig_field(&sig)),
            "version 2",
        );
        refused(
            build(0, &pk, NS.as_bytes(), b"", b"sha512", &ed_sig_field(&sig)),
            "version 0",
        );
        refused(
            build(1, &pk, b"", b"", b"sha512", &ed_sig_field(&sig)),
            "namespace is empty",
        );
        refused(
            build(1, &pk, b"a\0b", b"", b"sha512", &ed_sig_field(&sig)),
            "NUL",
        );
        refused(
            build(1, &pk, b"\xff", b"", b"sha512", &ed_sig_field(&sig)),
            "not UTF-8",
        );
        refused(
            build(1, &pk, NS.as_bytes(), b"x", b"sha512", &ed_sig_field(&sig)),
            "reserved",
        );
        refused(
            build(1, &pk, NS.as_bytes(), b"", b"sha1", &ed_sig_field(&sig)),
            "\"sha1\"",
        );
        refused(
            build(1, &pk, NS.as_bytes(), b"", b"SHA512", &ed_sig_field(&sig)),
            "hash algorithm",
        );
        let mut pk_trailing = pk.clone();
        pk_trailing.push(0);
        refused(
            build(
                1,
                &pk_trailing,
                NS.as_bytes(),
                b"",
                b"sha512",
                &ed_sig_field(&sig),
            ),
            "trailing",
        );
        let mut sig_trailing = ed_sig_field(&sig);
        sig_trailing.push(0);
        refused(
            build(1, &pk, NS.as_bytes(), b"", b"sha512", &sig_trailing),
            "trailing",
        );
        let mut short = string(ED25519.as_bytes());
        short.extend(string(&sig[..63]));
        refused(
            build(1, &pk, NS.as_bytes(), b"", b"sha512", &short),
            "63 bytes",
        );
        let mut rsa_alg = string(b"rsa-sha2-512");
        rsa_alg.extend(string(&sig));
        refused(
            build(1, &pk, NS.as_bytes(), b"", b"sha512", &rsa_alg),
            "does not match",
        );
        let mut magic = good.clone();
        magic[0] = b's';
        refused(magic, "SSHSIG");
        // Every truncation of the blob is refused without panicking.
        for n in 0..good.len() {
            assert!(
                parse_signature(armor(&good[..n]).as_bytes()).is_err(),
                "truncated to {n}"
            );
        }
        // Length fields that point far past the end, at every level.
        let mut huge = MAGIC.to_vec();
        huge.extend_from_slice(&1u32.to_be_bytes());
        huge.extend_from_slice(&u32::MAX.to_be_bytes());
        huge.extend_from_slice(&pk);
        refused(huge, "truncated in the public key");
        let mut inner = string(ED25519.as_bytes());
        inner.extend_from_slice(&u32::MAX.to_be_bytes());
        inner.extend_from_slice(&sig);
        refused(
            build(1, &pk, NS.as_bytes(), b"", b"sha512", &inner),
            "truncated",
        );
        let mut pk_huge = string(ED25519.as_bytes());
        pk_huge.extend_from_slice(&0xFFFF_FFF0u32.to_be_bytes());
        refused(
            build(
                1,
                &pk_huge,
                NS.as_bytes(),
                b"",
                b"sha512",
                &ed_sig_field(&sig),
            ),
            "truncated",
        );
    }

    #[test]
    fn armour_is_strict() {
        let refused = |text: &str, want: &str| {
            let e = parse_signature(text.as_bytes()).unwrap_err();
            assert!(
                matches!(&e, SchemeError::Signature(m) if m.contains(want) && !m.contains('\n')),
                "{want}: {e}"
            );
        };
        // Line width is not part of the format: one long line is the same signature.
        let one_line = format!("{BEGIN}\n{}\n{END}\n", b64(&blob_of(SIG_512)));
        check(&parse_signature(one_line.as_bytes()).unwrap()).unwrap();
        // No final newline is fine.
        check(&parse_signature(SIG_512.trim_end().as_bytes()).unwrap()).unwrap();

        refused(&SIG_512.replace('\n', "\r\n"), "carriage return");
        refused(&format!("{SIG_512}garbage\n"), "data after");
        refused(&format!("{SIG_512}\n"), "data after");
        refused(&format!("\n{SIG_512}"), "does not start");
        refused(
            &SIG_512.replacen(
                "-----BEGIN SSH SIGNATURE-----",
                "-----BEGIN SSH SIGNATURE----- ",
                1,
            ),
            "does not start",
        );
        refused(
            &SIG_512.replace("-----END SSH SIGNATURE-----\n", ""),
            "has no -----END",
        );
        refused(&SIG_512[..SIG_512.len() / 2], "has no -----END");
        refused(&format!("{BEGIN}\n{END}\n"), "no base64");
        refused(&format!("{BEGIN}{END}\n"), "does not start");
        refused(&format!("{BEGIN}\n\n{END}\n"), "no base64");
        refused(&SIG_512.replacen("Z9\n", "Z9\n\n", 1), "blank line");
        refused(&SIG_512.replacen("Z9\n", "Z9 \n", 1), "base64");
        refused(&SIG_512.replacen("U1NI", "U1N!", 1), "base64");
        // Padding removed, and non-canonical trailing bits.
        refused(&SIG_512.replacen("AA==", "AA", 1), "base64");
        refused(&SIG_512.replacen("AA==", "AB==", 1), "base64");
        refused("", "does not start");
        assert!(parse_signature(b"\xff\xfe").is_err());
        // Over the size limit, refused before parsing.
        let big = format!("{BEGIN}\n{}\n{END}\n", "A".repeat(70 * 1024));
        refused(&big, "limit");
    }

    #[test]
    fn finds_principals_for_the_signing_key() {
        let k = key_of(K_PUB);
        let k2 = key_of(K2_PUB);
        let list = signers(&format!(
            "{ID},*@grapheneos.org,!evil@grapheneos.org,x@y,!x@y {k}\nother@example.org {k2}\nrelease@example.org namespaces=\"file\" {k}\n{ID} {k}\n"
        ));
        let s = parse_signature(SIG_512.as_bytes()).unwrap();
        assert_eq!(
            find_principals(&list, &s, NS, NOW),
            vec![ID.to_string(), "*@grapheneos.org".to_string()]
        );
        let s_ns = parse_signature(SIG_NS_FILE.as_bytes()).unwrap();
        assert_eq!(
            find_principals(&list, &s_ns, "file", NOW),
            vec![
                ID.to_string(),
                "*@grapheneos.org".to_string(),
                "release@example.org".to_string()
            ]
        );
        // The signature's namespace must be the one asked for.
        assert!(find_principals(&list, &s_ns, NS, NOW).is_empty());
        let s2 = parse_signature(SIG_K2.as_bytes()).unwrap();
        assert_eq!(
            find_principals(&list, &s2, NS, NOW),
            vec!["other@example.org".to_string()]
        );
        let only_k = allowed_k();
        assert!(find_principals(&only_k, &s2, NS, NOW).is_empty());
        // Every principal found verifies.
        for p in find_principals(&list, &s, NS, NOW) {
            verify(&list, &p, NS, &s, Message::Bytes(FILE), NOW).unwrap();
        }
    }

    #[test]
    fn errors_are_one_line_and_bounded() {
        let long = "x".repeat(10_000);
        let e = parse_allowed_signers(format!("{ID} {long}=\"a\" {}\n", key_of(K_PUB)).as_bytes())
            .unwrap_err();
        let m = e.to_string();
        assert!(m.len() < 300 && !m.contains('\n'), "{m}");
        let (pk, sig) = parts();
        let ns = format!("{}\nx", "n".repeat(5000));
        let blob = build(1, &pk, ns.as_bytes(), b"", b"sha512", &ed_sig_field(&sig));
        let s = parse_signature(armor(&blob).as_bytes()).unwrap();
        let m = verify(&allowed_k(), ID, NS, &s, Message::Bytes(FILE), NOW)
            .unwrap_err()
            .to_string();
        assert!(m.len() < 300 && !m.contains('\n'), "{m}");
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(300))]

        /// Arbitrary bytes, armoured or raw, never panic the parsers.
        #[test]
        fn parsers_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..400)) {
            let _ = parse_signature(&bytes);
            let _ = parse_signature(armor(&bytes).as_bytes());
            let mut with_magic = MAGIC.to_vec();
            with_magic.extend_from_slice(&bytes);
            let _ = parse_signature(armor(&with_magic).as_bytes());
            let _ = parse_allowed_signers(&bytes);
            let text = String::from_utf8_lossy(&bytes);
            let _ = parse_allowed_signers(format!("{ID} {text} {}", key_of(K_PUB)).as_bytes());
            let _ = principal_matches(&text, ID);
        }

        /// Random edits to a genuine blob never yield an accepted signature.
        #[test]
        fn edited_blobs_never_verify(pos in 0usize..10_000, val in proptest::num::u8::ANY) {
            let mut blob = blob_of(SIG_512);
            let i = pos % blob.len();
            proptest::prop_assume!(blob[i] != val);
            blob[i] = val;
            let ok = parse_signature(armor(&blob).as_bytes()).and_then(|s| check(&s));
            proptest::prop_assert!(ok.is_err());
        }
    }
}

//! Turning other projects' published mirror lists into profile `[[mirrors]]` entries, so a
//! profile can start from the list a project already maintains instead of hand copying.
//!
//! Each parser follows the publisher's own definition of its format (cited at each parser),
//! not a description of it. Every parser is lenient: entries it cannot use are skipped with a
//! warning, never fatal, because these files are hand-maintained and a single odd record
//! should not lose the other hundreds. Countries always leave as assigned ISO 3166-1 codes
//! (or `ZZ` with a warning): a list's own spelling is never copied into a profile.

use std::collections::HashMap;
use std::path::Path;

use crate::country::{code_for_name, iso_code};
use crate::profile::{Location, Mirror, Profile, UNKNOWN_COUNTRY};
use crate::text::{shown, toml_string};

/// Real mirror lists are well under 1 MiB; this only stops a wrong path from eating memory.
pub const MAX_IMPORT_BYTES: u64 = 16 * 1024 * 1024;

/// One warning per odd record would flood a terminal for a badly wrong file; past this many
/// the rest are counted, not listed.
pub const MAX_WARNINGS: usize = 50;

/// Far more fields than any real record (a mirrors.dat record or a masterlist paragraph
/// has a few dozen); lines past it in one record are ignored, so a hostile list of one
/// endless record costs no more memory than the file.
const MAX_RECORD_LINES: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// OpenBSD's `build/mirrors.dat` (openbsd/www): `0`-separated records of `KEY<tab>value`.
    Openbsd,
    /// Debian's `Mirrors.masterlist` (mirror/masterlist): deb822 paragraphs.
    Debian,
    /// pacman's `mirrorlist` as archlinux.org generates it.
    Arch,
    /// CRAN's `CRAN_mirrors.csv`.
    Cran,
}

/// One mirror as it will appear in a profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub url: String,
    /// ISO 3166-1 alpha-2, uppercase; "ZZ" when the list gives nothing usable.
    pub country: String,
    pub name: Option<String>,
}

/// What a list gave: the mirrors, and what the user should know about the records that were
/// skipped or given `ZZ`. Warnings are already terminal-safe (outside text went through
/// [`shown`]) and are one line each, so the CLI prints them as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Imported {
    pub entries: Vec<Entry>,
    pub warnings: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    /// The profile given to [`replace_mirrors`] could not be rewritten safely.
    #[error("cannot replace the mirrors of the profile: {0}")]
    Profile(String),
}

/// Reads and parses a mirror list file (entries only; see [`read_list`] for the warnings).
pub fn import_file(path: &Path, format: Format) -> Result<Vec<Entry>, ImportError> {
    read_list(path, format).map(|i| i.entries)
}

/// Reads and parses a mirror list file, with the warnings to show the user.
pub fn read_list(path: &Path, format: Format) -> Result<Imported, ImportError> {
    let bytes =
        crate::fsutil::read_limited(path, MAX_IMPORT_BYTES).map_err(|e| ImportError::Read {
            path: shown(&path.display().to_string()).into_owned(),
            reason: e.to_string(),
        })?;
    Ok(parse_list(&String::from_utf8_lossy(&bytes), format))
}

/// Parses mirror list text (entries only; see [`parse_list`] for the warnings).
pub fn parse(text: &str, format: Format) -> Vec<Entry> {
    parse_list(text, format).entries
}

/// Parses mirror list text. A mirror listed more than once (the same host and path, whatever
/// the scheme) is one entry: https wins over http, and the first listing's country and
/// position are kept, so no mirror counts twice in a country.
pub fn parse_list(text: &str, format: Format) -> Imported {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut w = Warnings::default();
    let raw = match format {
        Format::Openbsd => parse_openbsd(text, &mut w),
        Format::Debian => parse_debian(text, &mut w),
        Format::Arch => parse_arch(text, &mut w),
        Format::Cran => parse_cran(text, &mut w),
    };
    let key = match format {
        Format::Arch => arch_mirror_key,
        _ => mirror_key,
    };
    let entries = dedup(raw, key, &mut w);
    Imported {
        entries,
        warnings: w.finish(),
    }
}

/// Renders entries as `[[mirrors]]` tables for a profile.
pub fn to_toml(entries: &[Entry]) -> String {
    let mut out = String::new();
    for (i, e) in entries.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str("[[mirrors]]\n");
        out.push_str(&format!("url = {}\n", toml_string(&e.url)));
        out.push_str(&format!("country = {}\n", toml_string(&e.country)));
        if let Some(n) = &e.name {
            out.push_str(&format!("name = {}\n", toml_string(n)));
        }
    }
    out
}

#[derive(Default)]
struct Warnings {
    list: Vec<String>,
    dropped: usize,
}

impl Warnings {
    fn push(&mut self, msg: String) {
        if self.list.len() < MAX_WARNINGS {
            self.list.push(msg);
        } else {
            self.dropped += 1;
        }
    }

    fn finish(mut self) -> Vec<String> {
        if self.dropped > 0 {
            self.list
                .push(format!("... and {} more warnings", self.dropped));
        }
        self.list
    }

    /// `what` is the list's own text for the country; it is shown escaped.
    fn unknown_country(&mut self, place: &str, what: &str) {
        self.push(format!(
            "{place}: country \"{}\" is not an assigned ISO 3166-1 code or a known country name; using ZZ (unknown)",
            shown(what)
        ));
    }
}

/// Only what the profile parser will accept back as an HTTP(S) mirror.
fn usable_url(url: &str) -> Option<String> {
    let url = url.trim();
    if url.is_empty() || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    match Mirror::new(url, UNKNOWN_COUNTRY, None, None, Path::new(".")) {
        Ok(Mirror {
            location: Location::Http(u),
            ..
        }) if u.host_str().is_some_and(|h| !h.is_empty()) => Some(url.to_owned()),
        _ => None,
    }
}

/// The parsed URL of an entry (entries only hold URLs `usable_url` accepted).
fn parsed(url: &str) -> Option<url::Url> {
    url::Url::parse(url).ok()
}

/// Same mirror whatever the scheme: host, port and path (with one trailing slash).
fn mirror_key(url: &str) -> String {
    match parsed(url) {
        Some(u) => format!(
            "{}:{}{}",
            u.host_str().unwrap_or(""),
            u.port().map(|p| p.to_string()).unwrap_or_default(),
            u.path().trim_end_matches('/')
        ),
        None => url.to_owned(),
    }
}

/// Arch lists each mirror once per protocol, sometimes under a second path: one mirror host
/// is one mirror.
fn arch_mirror_key(url: &str) -> String {
    match parsed(url) {
        Some(u) => u.host_str().unwrap_or("").to_owned(),
        None => url.to_owned(),
    }
}

fn is_https(url: &str) -> bool {
    url.get(..8)
        .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
}

fn dedup(raw: Vec<Entry>, key: fn(&str) -> String, w: &mut Warnings) -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::with_capacity(raw.len());
    let mut index: HashMap<String, usize> = HashMap::new();
    for e in raw {
        let k = key(&e.url);
        let Some(&i) = index.get(&k) else {
            index.insert(k, out.len());
            out.push(e);
            continue;
        };
        let Some(kept) = out.get_mut(i) else { continue };
        if kept.country != e.country {
            w.push(format!(
                "{}: listed again under {}; kept once, under {}",
                shown(&e.url),
                e.country,
                kept.country
            ));
        }
        if is_https(&e.url) && !is_https(&kept.url) {
            kept.url = e.url;
        }
    }
    out
}

/// Names are labels in reports: one line, single spaces.
fn clean_name(n: &str) -> Option<String> {
    let n = n.split_whitespace().collect::<Vec<_>>().join(" ");
    (!n.is_empty()).then_some(n)
}

/// OpenBSD `mirrors.dat`, as defined by openbsd/www `build/mirrors.tmpl` and read by
/// `build/mirrors.pl` (`read_mirrors`): a line `0` closes the current record and starts a
/// new one (end of file closes the last); lines starting with `#` and blank lines are
/// skipped (blank lines do not separate records); every other line is a field
/// `KEY<whitespace>value` with a key of 2 or 3 capitals or digits. `GC` is the country's
/// English name ("The Netherlands", "USA", "CDN" for content delivery networks), `GZ` its
/// ccTLD (`uk`; `net` for CDNs), `UH` the http URL and `UHS` the https one. A record with
/// neither (anoncvs-only hosts) is not an http mirror and is skipped.
fn parse_openbsd(text: &str, w: &mut Warnings) -> Vec<Entry> {
    // Each record is judged when it closes, not collected first: a hostile list of
    // one-field records would otherwise cost many times its size.
    let mut out = Vec::new();
    let mut cur: Vec<(&str, &str)> = Vec::new();
    let mut start = 1;
    for (n, line) in text.lines().enumerate() {
        let lineno = n + 1;
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if line.trim_end() == "0" {
            if !cur.is_empty() {
                openbsd_record(start, &cur, w, &mut out);
                cur.clear();
            }
            start = lineno;
            continue;
        }
        let (k, v) = line
            .split_once(|c: char| c.is_ascii_whitespace())
            .unwrap_or((line, ""));
        let is_key = (2..=3).contains(&k.len())
            && k.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if !is_key {
            w.push(format!(
                "line {lineno}: not a KEY<tab>value field, skipped: \"{}\"",
                shown(line.trim())
            ));
            continue;
        }
        if cur.len() < MAX_RECORD_LINES {
            cur.push((k, v.trim()));
        }
    }
    if !cur.is_empty() {
        openbsd_record(start, &cur, w, &mut out);
    }
    out
}

/// One closed `mirrors.dat` record (starting at `lineno`): an entry if it has a usable URL.
fn openbsd_record(lineno: usize, rec: &[(&str, &str)], w: &mut Warnings, out: &mut Vec<Entry>) {
    {
        // mirrors.pl refuses a repeated key; the first one is what a reader sees first.
        let field = |key: &str| rec.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
        let url = [field("UHS"), field("UH")]
            .into_iter()
            .flatten()
            .find_map(usable_url);
        let Some(url) = url else {
            if field("UH").is_some() || field("UHS").is_some() {
                w.push(format!(
                    "record at line {lineno}: no usable http(s) URL in UH/UHS, skipped"
                ));
            }
            return;
        };
        let place = format!("record at line {lineno} ({})", shown(&url));
        let gc = field("GC").unwrap_or("");
        let gz = field("GZ").unwrap_or("");
        let country = if gc.eq_ignore_ascii_case("CDN") {
            // A content delivery network serves from many countries: no one country.
            UNKNOWN_COUNTRY
        } else {
            match (code_for_name(gc), iso_code(gz)) {
                (Some(by_name), Some(by_tld)) if by_name != by_tld => {
                    w.push(format!(
                        "{place}: GC \"{}\" is {by_name} but GZ \"{}\" is {by_tld}; using {by_name}",
                        shown(gc),
                        shown(gz)
                    ));
                    by_name
                }
                (Some(c), _) | (None, Some(c)) => c,
                (None, None) => {
                    w.unknown_country(&place, &format!("{gc} / {gz}"));
                    UNKNOWN_COUNTRY
                }
            }
        };
        out.push(Entry {
            url,
            country: country.to_owned(),
            name: None,
        });
    }
}

/// Debian `Mirrors.masterlist` (mirror/masterlist on salsa.debian.org): deb822 paragraphs
/// separated by blank lines; a line starting with whitespace continues the previous field;
/// `Site` is the host name, `Archive-http`/`Archive-https` the archive's path on it, and
/// `Country` is an ISO code followed by the English name ("GB United Kingdom"). GeoDNS and
/// CDN entries (`deb.debian.org`) have no `Country`: they are `ZZ`, without a warning.
fn parse_debian(text: &str, w: &mut Warnings) -> Vec<Entry> {
    let mut out = Vec::new();
    for_each_paragraph(text, |rec| {
        let field = |key: &str| {
            rec.iter().find_map(|line| {
                if line.starts_with(char::is_whitespace) {
                    return None;
                }
                let (k, v) = line.split_once(':')?;
                k.trim().eq_ignore_ascii_case(key).then(|| v.trim())
            })
        };
        let Some(site) = field("Site").filter(|s| !s.is_empty() && !s.contains('/')) else {
            return;
        };
        let url = [
            ("https", field("Archive-https")),
            ("http", field("Archive-http")),
        ]
        .into_iter()
        .filter_map(|(scheme, path)| Some((scheme, path.filter(|p| !p.is_empty())?)))
        .find_map(|(scheme, path)| {
            let path = path.trim_matches('/');
            let url = if path.is_empty() {
                format!("{scheme}://{site}/")
            } else {
                format!("{scheme}://{site}/{path}/")
            };
            usable_url(&url)
        });
        let Some(url) = url else { return };
        let country = match field("Country") {
            None | Some("") => UNKNOWN_COUNTRY,
            Some(c) => {
                let (code, name) = c.split_once(char::is_whitespace).unwrap_or((c, ""));
                match iso_code(code).or_else(|| code_for_name(name)) {
                    Some(iso) => iso,
                    None => {
                        w.unknown_country(&format!("Site {}", shown(site)), c);
                        UNKNOWN_COUNTRY
                    }
                }
            }
        };
        out.push(Entry {
            url,
            country: country.to_owned(),
            name: clean_name(site),
        });
    });
    out
}

/// Calls `f` with each blank-line separated paragraph of lines, `#` comment lines removed.
/// One paragraph at a time: collecting them all first cost over 20 times the file's size
/// for a hostile list of one-line paragraphs.
fn for_each_paragraph<'a>(text: &'a str, mut f: impl FnMut(&[&'a str])) {
    let mut cur = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !cur.is_empty() {
                f(&cur);
                cur.clear();
            }
        } else if !line.starts_with('#') && cur.len() < MAX_RECORD_LINES {
            cur.push(line);
        }
    }
    if !cur.is_empty() {
        f(&cur);
    }
}

/// pacman `mirrorlist` as archlinux.org generates it (archweb
/// `templates/mirrors/mirrorlist.txt`): a `##` header block, then for each country a line
/// `## <country name>` ("Worldwide" for mirrors with none) followed by
/// `#Server = <url>$repo/os/$arch` lines, commented out for the user to choose. The
/// score-sorted variant (`mirrorlist_status.txt`) puts `## Score: <n>, <country>` above
/// each server. Each mirror appears once per protocol, so http and https of one host are
/// one entry (https kept).
fn parse_arch(text: &str, w: &mut Warnings) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut heading: Option<&str> = None;
    let mut resolved: HashMap<String, &'static str> = HashMap::new();
    for line in text.lines() {
        let line = line.trim();
        let uncommented = line.trim_start_matches('#').trim_start();
        if let Some((k, v)) = uncommented.split_once('=')
            && k.trim().eq_ignore_ascii_case("server")
        {
            let Some(url) = usable_url(&strip_template(v.trim())) else {
                continue;
            };
            let name = heading.unwrap_or("");
            let country = match resolved.get(name) {
                Some(c) => *c,
                None => {
                    let c = if name.is_empty() || name.eq_ignore_ascii_case("worldwide") {
                        UNKNOWN_COUNTRY
                    } else if let Some(c) = code_for_name(name) {
                        c
                    } else {
                        w.unknown_country(&format!("heading \"## {}\"", shown(name)), name);
                        UNKNOWN_COUNTRY
                    };
                    resolved.insert(name.to_owned(), c);
                    c
                }
            };
            out.push(Entry {
                url,
                country: country.to_owned(),
                name: None,
            });
        } else if let Some(h) = line.strip_prefix("##") {
            let h = h.trim();
            // "## Score: 1.2, Germany" in the score-sorted list.
            let h = match h.strip_prefix("Score:") {
                Some(rest) => rest.split_once(',').map_or("", |(_, c)| c.trim()),
                None => h,
            };
            heading = Some(h);
        }
    }
    out
}

/// `…/archlinux/$repo/os/$arch` → `…/archlinux/`: the profile wants the mirror's base, and
/// any path segment holding a pacman variable is below it.
fn strip_template(url: &str) -> String {
    match url.find('$') {
        Some(i) => match url[..i].rfind('/') {
            Some(j) => url[..=j].to_owned(),
            None => String::new(),
        },
        None => url.to_owned(),
    }
}

/// CRAN `CRAN_mirrors.csv` (R's `doc/CRAN_mirrors.csv`, read by `utils::getCRANmirrors`):
/// RFC 4180 CSV with a header `Name,Country,City,URL,Host,Maintainer,OK,CountryCode` (and
/// `Comment` in newer copies). `CountryCode` is the lower-case ccTLD, so the United Kingdom
/// is `uk`; it is mapped to ISO (`GB`). Rows with `OK` 0 are the ones R hides. "0-Cloud"
/// rows redirect to servers worldwide: `ZZ`, whatever their `CountryCode` says.
fn parse_cran(text: &str, w: &mut Warnings) -> Vec<Entry> {
    /// Columns, once the header row has been read.
    struct Cols {
        url: usize,
        code: Option<usize>,
        country: Option<usize>,
        name: Option<usize>,
        ok: Option<usize>,
    }
    let mut header_seen = false;
    let mut cols: Option<Cols> = None;
    let mut out = Vec::new();
    for_each_csv_record(text, |row| {
        if !header_seen {
            header_seen = true;
            let col = |name: &str| row.iter().position(|h| h.trim().eq_ignore_ascii_case(name));
            cols = col("URL").map(|url| Cols {
                url,
                code: col("CountryCode"),
                country: col("Country"),
                name: col("Name"),
                ok: col("OK"),
            });
            return;
        }
        let Some(c) = &cols else { return };
        let get = |c: Option<usize>| c.and_then(|c| row.get(c)).map(|s| s.trim());
        if get(c.ok) == Some("0") {
            return;
        }
        let Some(url) = get(Some(c.url)).and_then(usable_url) else {
            return;
        };
        let country_name = get(c.country).unwrap_or("");
        let code = get(c.code).unwrap_or("");
        let country = if country_name.starts_with("0-Cloud") {
            UNKNOWN_COUNTRY
        } else if let Some(c) = iso_code(code).or_else(|| code_for_name(country_name)) {
            c
        } else {
            w.unknown_country(
                &format!("row {}", shown(&url)),
                &format!("{code} / {country_name}"),
            );
            UNKNOWN_COUNTRY
        };
        out.push(Entry {
            url,
            country: country.to_owned(),
            name: get(c.name).and_then(clean_name),
        });
    });
    out
}

/// More columns than any mirror list has; fields past it are read but not kept, so a row
/// of millions of commas costs no memory.
const MAX_CSV_FIELDS: usize = 64;

/// Calls `f` with each RFC 4180 record that is not blank, one at a time (collecting every
/// row first cost 80 times the file's size for a hostile list of one-field rows): quoted
/// fields may hold commas, newlines and doubled quotes. A quote inside an unquoted field is
/// kept as text rather than rejected. At most [`MAX_CSV_FIELDS`] fields of a row are kept.
fn for_each_csv_record(text: &str, mut f: impl FnMut(&[String])) {
    let mut row: Vec<String> = Vec::new();
    let mut fields = 0usize;
    let mut field = String::new();
    let mut quoted = false;
    let mut was_quoted = false;
    let mut emit = |row: &mut Vec<String>, fields: &mut usize| {
        if row.iter().any(|x| !x.trim().is_empty()) {
            f(row);
        }
        row.clear();
        *fields = 0;
    };
    let end_field = |row: &mut Vec<String>, field: &mut String, fields: &mut usize| {
        if *fields < MAX_CSV_FIELDS {
            row.push(std::mem::take(field));
        } else {
            field.clear();
        }
        *fields += 1;
    };
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    quoted = false;
                }
            } else {
                field.push(c);
            }
            continue;
        }
        match c {
            '"' if field.is_empty() && !was_quoted => {
                quoted = true;
                was_quoted = true;
            }
            ',' => {
                end_field(&mut row, &mut field, &mut fields);
                was_quoted = false;
            }
            '\r' => {}
            '\n' => {
                end_field(&mut row, &mut field, &mut fields);
                was_quoted = false;
                emit(&mut row, &mut fields);
            }
            c => field.push(c),
        }
    }
    if !field.is_empty() || was_quoted || fields > 0 {
        end_field(&mut row, &mut field, &mut fields);
        emit(&mut row, &mut fields);
    }
}

/// The profile text with its `[[mirrors]]` tables replaced by `entries`, and everything
/// else (comments, other keys and tables, their order) kept byte for byte. The new tables go
/// where the first `[[mirrors]]` table was, or at the end when there was none. Comment lines
/// directly above a kept table stay with it even when they follow a removed mirror.
///
/// Refuses rather than guesses: the input must parse as a profile, `mirrors` must be
/// written as `[[mirrors]]` tables (not an inline array), and the result must parse as a
/// profile whose every other value is unchanged.
pub fn replace_mirrors(profile_text: &str, entries: &[Entry]) -> Result<String, ImportError> {
    let bad = |m: String| ImportError::Profile(m);
    let before: toml::Table =
        toml::from_str(profile_text).map_err(|e| bad(crate::envelope::one_line(&e.message())))?;
    Profile::parse(profile_text, Path::new(".")).map_err(|e| bad(e.to_string()))?;

    let lines: Vec<&str> = profile_text.split_inclusive('\n').collect();
    let headers = table_headers(&lines);
    if before.contains_key("mirrors") && !headers.iter().any(|h| h.mirrors) {
        return Err(bad(
            "its mirrors are not written as [[mirrors]] tables; edit it by hand".into(),
        ));
    }
    // Line ranges of every mirrors block: from its header to the next header, less the
    // comment and blank lines that sit directly above a kept (non-mirrors) header.
    let mut drop = vec![false; lines.len()];
    let mut insert_at = None;
    for (i, h) in headers.iter().enumerate() {
        if !h.mirrors {
            continue;
        }
        insert_at.get_or_insert(h.line);
        let next = headers.get(i + 1);
        let mut end = next.map_or(lines.len(), |n| n.line);
        if next.is_some_and(|n| !n.mirrors) {
            while end > h.line + 1 && is_comment_or_blank(lines.get(end - 1).copied()) {
                end -= 1;
            }
        }
        for d in drop.iter_mut().take(end).skip(h.line) {
            *d = true;
        }
    }
    let new_tables = to_toml(entries);
    let mut out = String::with_capacity(profile_text.len() + new_tables.len());
    let mut inserted = false;
    for (i, line) in lines.iter().enumerate() {
        if Some(i) == insert_at {
            out.push_str(&new_tables);
            inserted = true;
            // One blank line between the new tables and whatever is kept after them.
            let next_kept = (i..lines.len()).find(|&j| !drop.get(j).copied().unwrap_or(false));
            if next_kept.is_some_and(|j| lines.get(j).is_some_and(|l| !l.trim().is_empty())) {
                out.push('\n');
            }
        }
        if !drop.get(i).copied().unwrap_or(false) {
            out.push_str(line);
        }
    }
    if !inserted {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        if !out.is_empty() && !out.ends_with("\n\n") {
            out.push('\n');
        }
        out.push_str(&new_tables);
    }

    let mut after: toml::Table = toml::from_str(&out).map_err(|e| {
        bad(format!(
            "the rewritten profile does not parse ({}); edit it by hand",
            crate::envelope::one_line(&e.message())
        ))
    })?;
    let mut before = before;
    before.remove("mirrors");
    after.remove("mirrors");
    if before != after {
        return Err(bad(
            "rewriting it would change more than its mirrors; edit it by hand".into(),
        ));
    }
    Profile::parse(&out, Path::new(".")).map_err(|e| bad(e.to_string()))?;
    Ok(out)
}

fn is_comment_or_blank(line: Option<&str>) -> bool {
    line.is_some_and(|l| {
        let t = l.trim();
        t.is_empty() || t.starts_with('#')
    })
}

struct Header {
    line: usize,
    /// `[[mirrors]]`, or a sub-table of a mirror (`[mirrors.x]`, `[[mirrors.x]]`).
    mirrors: bool,
}

/// Table header lines of a TOML document. A line is a header only when it starts outside
/// any string and any value, which a scan of strings, comments and brackets decides: `[`
/// inside a multi-line array or string is not a header.
fn table_headers(lines: &[&str]) -> Vec<Header> {
    #[derive(PartialEq, Clone, Copy)]
    enum Str {
        None,
        MlBasic,
        MlLiteral,
    }
    let mut out = Vec::new();
    let mut depth = 0usize; // open [ and { of values
    let mut in_str = Str::None;
    for (n, line) in lines.iter().enumerate() {
        if in_str == Str::None && depth == 0 {
            let t = line.trim_start();
            if t.starts_with('[') {
                let name = t
                    .trim_start_matches('[')
                    .split(']')
                    .next()
                    .unwrap_or("")
                    .trim();
                let first = name.split('.').next().unwrap_or("").trim();
                let first = first.trim_matches(|c| c == '"' || c == '\'');
                out.push(Header {
                    line: n,
                    mirrors: first == "mirrors",
                });
                continue;
            }
        }
        let b = line.as_bytes();
        let mut i = 0;
        while i < b.len() {
            match in_str {
                Str::MlBasic => {
                    if b[i] == b'\\' {
                        i += 2;
                        continue;
                    }
                    if b[i..].starts_with(b"\"\"\"") {
                        // A closing """ may be followed by up to two more quotes.
                        i += 3;
                        while i < b.len() && b[i] == b'"' {
                            i += 1;
                        }
                        in_str = Str::None;
                        continue;
                    }
                    i += 1;
                }
                Str::MlLiteral => {
                    if b[i..].starts_with(b"'''") {
                        i += 3;
                        while i < b.len() && b[i] == b'\'' {
                            i += 1;
                        }
                        in_str = Str::None;
                        continue;
                    }
                    i += 1;
                }
                Str::None => match b[i] {
                    b'#' => break,
                    b'"' if b[i..].starts_with(b"\"\"\"") => {
                        in_str = Str::MlBasic;
                        i += 3;
                    }
                    b'\'' if b[i..].starts_with(b"'''") => {
                        in_str = Str::MlLiteral;
                        i += 3;
                    }
                    b'"' => {
                        i += 1;
                        while i < b.len() && b[i] != b'"' {
                            i += if b[i] == b'\\' { 2 } else { 1 };
                        }
                        i += 1;
                    }
                    b'\'' => {
                        i += 1;
                        while i < b.len() && b[i] != b'\'' {
                            i += 1;
                        }
                        i += 1;
                    }
                    b'[' | b'{' => {
                        depth += 1;
                        i += 1;
                    }
                    b']' | b'}' => {
                        depth = depth.saturating_sub(1);
                        i += 1;
                    }
                    _ => i += 1,
                },
            }
        }
    }
    out
}

/// A profile that `mirrors import --into` will rewrite, read and checked before the list is:
/// a typo'd path or a file that is not a profile is refused before anything else happens,
/// and is never turned into a profile.
#[derive(Debug)]
pub struct TargetProfile {
    path: std::path::PathBuf,
    text: String,
}

/// Why `mirrors import --into` left the profile as it was.
#[derive(Debug, thiserror::Error)]
pub enum IntoError {
    #[error("cannot read profile {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("profile {path} is not UTF-8")]
    NotUtf8 { path: String },
    #[error("{path}: {source}")]
    NotAProfile {
        path: String,
        #[source]
        source: crate::profile::ProfileError,
    },
    #[error(transparent)]
    Replace(#[from] ImportError),
    #[error("the new {path} would not load: {source}")]
    WouldNotLoad {
        path: String,
        #[source]
        source: crate::profile::ProfileError,
    },
    #[error("cannot write profile {path}: {source}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl TargetProfile {
    /// Reads `path` (bounded) and checks that it loads as a profile.
    pub fn open(path: &Path) -> Result<TargetProfile, IntoError> {
        let shown_path = || path.display().to_string();
        let bytes = crate::fsutil::read_limited(path, crate::profile::MAX_PROFILE_BYTES).map_err(
            |source| IntoError::Read {
                path: shown_path(),
                source,
            },
        )?;
        let text =
            String::from_utf8(bytes).map_err(|_| IntoError::NotUtf8 { path: shown_path() })?;
        Profile::parse(&text, profile_base(path)).map_err(|source| IntoError::NotAProfile {
            path: shown_path(),
            source,
        })?;
        Ok(TargetProfile {
            path: path.to_path_buf(),
            text,
        })
    }

    /// Replaces the profile's mirror list with `entries`, everything else kept; the new
    /// text must load as a profile before it replaces the old one, which is written
    /// atomically (a reader sees the old profile or the new one) with its permissions
    /// kept. Returns how many mirrors the new profile lists.
    pub fn replace_mirrors(&self, entries: &[Entry]) -> Result<usize, IntoError> {
        let shown_path = || self.path.display().to_string();
        let new = replace_mirrors(&self.text, entries)?;
        let loaded = Profile::parse(&new, profile_base(&self.path)).map_err(|source| {
            IntoError::WouldNotLoad {
                path: shown_path(),
                source,
            }
        })?;
        crate::fsutil::atomic_write(&self.path, new.as_bytes(), file_mode(&self.path)).map_err(
            |source| IntoError::Write {
                path: shown_path(),
                source,
            },
        )?;
        Ok(loaded.mirrors.len())
    }
}

/// Paths inside a profile are relative to the profile file.
fn profile_base(profile: &Path) -> &Path {
    profile.parent().unwrap_or(Path::new("."))
}

/// The profile keeps its permissions when it is rewritten.
fn file_mode(p: &Path) -> u32 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(m) = std::fs::metadata(p) {
            return m.permissions().mode() & 0o7777;
        }
    }
    let _ = p;
    0o644
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_are_cut_at_the_first_variable_segment() {
        assert_eq!(
            strip_template("https://m.example/arch/$repo/os/$arch"),
            "https://m.example/arch/"
        );
        assert_eq!(
            strip_template("http://m.example/$arch/$repo"),
            "http://m.example/"
        );
        assert_eq!(
            strip_template("https://m.example/a/"),
            "https://m.example/a/"
        );
    }

    fn csv_records(text: &str) -> Vec<Vec<String>> {
        let mut rows = Vec::new();
        for_each_csv_record(text, |r| rows.push(r.to_vec()));
        rows
    }

    #[test]
    fn csv_rows_keep_at_most_the_field_cap() {
        let text = format!("a,b{}\nc\n", ",".repeat(100_000));
        let rows = csv_records(&text);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].len(), MAX_CSV_FIELDS);
        assert_eq!(rows[0][..2], ["a", "b"]);
        assert_eq!(rows[1], ["c"]);
    }

    #[test]
    fn csv_quotes_commas_and_newlines() {
        let rows = csv_records("a,\"b,\"\"c\"\"\",\"d\r\ne\"\r\n\r\nx");
        assert_eq!(rows, vec![vec!["a", "b,\"c\"", "d\r\ne"], vec!["x"]]);
    }

    #[test]
    fn headers_inside_strings_and_arrays_are_not_headers() {
        let text = "a = [\n[1, 2],\n]\nb = \"\"\"\n[[mirrors]]\n\"\"\"\nc = '''\n[x]\n'''\n[[mirrors]]\nurl = \"[y]\"\n[signed] # c\n";
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        let h: Vec<(usize, bool)> = table_headers(&lines)
            .iter()
            .map(|h| (h.line, h.mirrors))
            .collect();
        assert_eq!(h, [(9, true), (11, false)]);
    }
}

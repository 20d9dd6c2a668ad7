//! Turning other projects' published mirror lists into profile `[[mirrors]]` entries, so a
//! profile can start from the list a project already maintains instead of hand copying.
//!
//! Every parser is lenient: entries it cannot use are skipped, never fatal, because these
//! files are hand-maintained and a single odd record should not lose the other hundreds.

use std::collections::HashSet;
use std::path::Path;

use crate::profile::{Location, Mirror, UNKNOWN_COUNTRY};

/// Real mirror lists are well under 1 MiB; this only stops a wrong path from eating memory.
pub const MAX_IMPORT_BYTES: u64 = 16 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// OpenBSD's `KEY value` mirror records (GC, UH, UHS).
    Openbsd,
    /// Debian's `Mirrors.masterlist`.
    Debian,
    /// pacman's `mirrorlist`.
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

#[derive(Debug, thiserror::Error)]
#[error("cannot read {path}: {reason}")]
pub struct ImportError {
    pub path: String,
    pub reason: String,
}

/// Reads and parses a mirror list file.
pub fn import_file(path: &Path, format: Format) -> Result<Vec<Entry>, ImportError> {
    let bytes = crate::fsutil::read_limited(path, MAX_IMPORT_BYTES).map_err(|e| ImportError {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    Ok(parse(&String::from_utf8_lossy(&bytes), format))
}

/// Parses mirror list text; the first entry for a URL wins.
pub fn parse(text: &str, format: Format) -> Vec<Entry> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let raw = match format {
        Format::Openbsd => parse_openbsd(text),
        Format::Debian => parse_debian(text),
        Format::Arch => parse_arch(text),
        Format::Cran => parse_cran(text),
    };
    let mut seen = HashSet::new();
    raw.into_iter()
        .filter(|e| seen.insert(e.url.clone()))
        .collect()
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

/// A TOML basic string. Not serde_json: JSON leaves DEL (U+007F) raw, which TOML forbids.
fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
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

fn country_code(c: &str) -> String {
    let c = c.trim();
    if c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic()) {
        c.to_ascii_uppercase()
    } else {
        UNKNOWN_COUNTRY.to_owned()
    }
}

/// Names are labels in reports: one line, single spaces.
fn clean_name(n: &str) -> Option<String> {
    let n = n.split_whitespace().collect::<Vec<_>>().join(" ");
    (!n.is_empty()).then_some(n)
}

/// Blank-line separated records of lines, comments and blank-only lines removed.
fn records(text: &str) -> Vec<Vec<&str>> {
    let mut out = Vec::new();
    let mut cur = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
        } else if !line.trim_start().starts_with('#') {
            cur.push(line);
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn parse_openbsd(text: &str) -> Vec<Entry> {
    let mut out = Vec::new();
    for rec in records(text) {
        let field = |key: &str| {
            rec.iter().find_map(|line| {
                let line = line.trim();
                let (k, v) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
                (k == key).then(|| v.trim())
            })
        };
        let url = [field("UHS"), field("UH")]
            .into_iter()
            .flatten()
            .find_map(usable_url);
        if let Some(url) = url {
            out.push(Entry {
                url,
                country: country_code(field("GC").unwrap_or("")),
                name: None,
            });
        }
    }
    out
}

fn parse_debian(text: &str) -> Vec<Entry> {
    let mut out = Vec::new();
    for rec in records(text) {
        // Indented lines continue the previous field (e.g. Comment) and are not fields.
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
            continue;
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
        if let Some(url) = url {
            let country = field("Country")
                .and_then(|c| c.split_whitespace().next())
                .unwrap_or("");
            out.push(Entry {
                url,
                country: country_code(country),
                name: clean_name(site),
            });
        }
    }
    out
}

fn parse_arch(text: &str) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut country = UNKNOWN_COUNTRY.to_owned();
    for line in text.lines() {
        let line = line.trim();
        let uncommented = line.trim_start_matches('#').trim_start();
        if let Some((k, v)) = uncommented.split_once('=')
            && k.trim().eq_ignore_ascii_case("server")
        {
            if let Some(url) = usable_url(&strip_template(v.trim())) {
                out.push(Entry {
                    url,
                    country: country.clone(),
                    name: None,
                });
            }
        } else if let Some(heading) = line.strip_prefix("##") {
            country = crate::country::code_for_name(heading)
                .unwrap_or(UNKNOWN_COUNTRY)
                .to_owned();
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

fn parse_cran(text: &str) -> Vec<Entry> {
    let mut rows = csv_records(text).into_iter();
    let Some(header) = rows.next() else {
        return Vec::new();
    };
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
    };
    let (Some(url_col), code_col, name_col, ok_col) =
        (col("URL"), col("CountryCode"), col("Name"), col("OK"))
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for row in rows {
        let get = |c: Option<usize>| c.and_then(|c| row.get(c)).map(|s| s.trim());
        if get(ok_col) == Some("0") {
            continue;
        }
        if let Some(url) = get(Some(url_col)).and_then(usable_url) {
            out.push(Entry {
                url,
                country: country_code(get(code_col).unwrap_or("")),
                name: get(name_col).and_then(clean_name),
            });
        }
    }
    out
}

/// RFC 4180 records: quoted fields may hold commas, newlines and doubled quotes. A quote
/// inside an unquoted field is kept as text rather than rejected.
fn csv_records(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut was_quoted = false;
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
                row.push(std::mem::take(&mut field));
                was_quoted = false;
            }
            '\r' => {}
            '\n' => {
                row.push(std::mem::take(&mut field));
                was_quoted = false;
                rows.push(std::mem::take(&mut row));
            }
            c => field.push(c),
        }
    }
    if !field.is_empty() || was_quoted || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows.retain(|r| r.iter().any(|f| !f.trim().is_empty()));
    rows
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

    #[test]
    fn csv_quotes_commas_and_newlines() {
        let rows = csv_records("a,\"b,\"\"c\"\"\",\"d\r\ne\"\r\n\r\nx");
        assert_eq!(rows, vec![vec!["a", "b,\"c\"", "d\r\ne"], vec!["x"]]);
    }
}

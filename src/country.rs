//! ISO 3166-1 alpha-2 codes for countries as mirror lists write them.
//!
//! Reports group mirrors by country, so a list's own spelling must never reach a profile
//! raw: `uk` and `GB` would be two "countries", and a made-up code would be a country no
//! one can look up. Every code that leaves this module is an assigned ISO 3166-1 code (or
//! `ZZ`, the user-assigned code the profile uses for "unknown").
//!
//! The table of assigned codes and English names is generated from Debian's `iso-codes`
//! by `scripts/gen-countries.py` (see `country_table.rs`); the aliases below are the
//! spellings that real published mirror lists use and ISO does not.

use crate::profile::UNKNOWN_COUNTRY;

/// Generated; lives next to this file so the crate root needs only `pub mod country;`.
#[path = "country_table.rs"]
mod country_table;
use country_table::{CODES, NAMES};

/// Country-code top-level domains that differ from the ISO code of the same country.
/// Only `uk` is in use: `.uk` predates ISO's `GB` and stayed. (`.su`, `.ac` and `.eu` are
/// not countries assigned in ISO 3166-1 and are deliberately absent: they become `ZZ`.)
const CCTLD_ALIASES: &[(&str, &str)] = &[("uk", "GB")];

/// Spellings used by published mirror lists that are not ISO's name, common name or
/// official name, normalised as [`normalise`] does (lower case, single spaces, no leading
/// "the"). Where each comes from: OpenBSD `mirrors.dat` `GC` ("USA", "The Netherlands",
/// "Russia", "Korea"), CRAN `CRAN_mirrors.csv` `Country` ("UK", "USA", "Korea", "Iran"),
/// Arch `mirrorlist` headings ("Russia", "Taiwan", "Vietnam", "Turkey"), Debian
/// `Mirrors.masterlist` (which writes the code itself).
const NAME_ALIASES: &[(&str, &str)] = &[
    ("usa", "US"),
    ("u.s.a.", "US"),
    ("us", "US"),
    ("united states of america", "US"),
    ("uk", "GB"),
    ("u.k.", "GB"),
    ("great britain", "GB"),
    ("britain", "GB"),
    ("england", "GB"),
    ("scotland", "GB"),
    ("wales", "GB"),
    ("northern ireland", "GB"),
    ("holland", "NL"),
    ("russia", "RU"),
    ("korea", "KR"),
    ("republic of korea", "KR"),
    ("korea (south)", "KR"),
    ("taiwan", "TW"),
    ("taiwan, r.o.c.", "TW"),
    ("republic of china", "TW"),
    ("vietnam", "VN"),
    ("iran", "IR"),
    ("turkey", "TR"),
    ("czech republic", "CZ"),
    ("macedonia", "MK"),
    ("swaziland", "SZ"),
    ("cape verde", "CV"),
    ("ivory coast", "CI"),
    ("laos", "LA"),
    ("syria", "SY"),
    ("brunei", "BN"),
    ("vatican", "VA"),
    ("vatican city", "VA"),
    ("palestine", "PS"),
    ("moldova", "MD"),
    ("bolivia", "BO"),
    ("venezuela", "VE"),
    ("tanzania", "TZ"),
    ("macau", "MO"),
    ("hong kong sar", "HK"),
    ("hong kong sar china", "HK"),
    ("democratic republic of the congo", "CD"),
    ("dr congo", "CD"),
    ("republic of the congo", "CG"),
    ("micronesia", "FM"),
    ("burma", "MM"),
    ("east timor", "TL"),
    ("bosnia", "BA"),
    ("bosnia & herzegovina", "BA"),
    ("trinidad & tobago", "TT"),
    ("uae", "AE"),
];

/// ISO 3166-1 alpha-2 for a code as lists write it: case-insensitive, surrounding spaces
/// ignored, the ccTLD alias `uk` mapped to `GB` (the only ccTLD that differs from an
/// assigned code), and `ZZ` accepted as "unknown". None when not an assigned ISO 3166-1
/// code, so that a made-up or reserved code (`EU`, `SU`, `XK`) is never copied into a
/// profile as if it were a country.
pub fn iso_code(code: &str) -> Option<&'static str> {
    let code = code.trim();
    if code.len() != 2 || !code.is_ascii() {
        return None;
    }
    let lower = code.to_ascii_lowercase();
    if let Some((_, iso)) = CCTLD_ALIASES.iter().find(|(tld, _)| *tld == lower) {
        return Some(iso);
    }
    let upper = code.to_ascii_uppercase();
    if upper == UNKNOWN_COUNTRY {
        return Some(UNKNOWN_COUNTRY);
    }
    CODES
        .binary_search(&upper.as_str())
        .ok()
        .and_then(|i| CODES.get(i).copied())
}

/// ISO code for an English country name as mirror lists write it ("The Netherlands",
/// "USA", "United Kingdom", "Czech Republic", "South Korea", ...): ISO's own names, common
/// names and official names (with or without accents), plus the aliases above; case and
/// spacing do not matter. None when unknown, so the caller decides between `ZZ` and an
/// error instead of guessing.
pub fn code_for_name(name: &str) -> Option<&'static str> {
    let key = normalise(name);
    if key.is_empty() {
        return None;
    }
    if let Some((_, iso)) = NAME_ALIASES.iter().find(|(n, _)| *n == key) {
        return Some(iso);
    }
    NAMES
        .binary_search_by(|(n, _)| (*n).cmp(key.as_str()))
        .ok()
        .and_then(|i| NAMES.get(i))
        .map(|(_, iso)| *iso)
}

/// The key both tables use: lower case, single spaces, a leading "the " dropped ("The
/// Netherlands" and "Netherlands" are the same country). Must match
/// `scripts/gen-countries.py`'s `norm`.
fn normalise(name: &str) -> String {
    let key = name
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    match key.strip_prefix("the ") {
        Some(rest) => rest.to_owned(),
        None => key,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted_for_binary_search() {
        assert!(CODES.len() >= 249);
        assert!(CODES.windows(2).all(|w| w[0] < w[1]));
        assert!(NAMES.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(
            NAMES
                .iter()
                .all(|(n, c)| *n == normalise(n) && CODES.binary_search(c).is_ok())
        );
    }

    #[test]
    fn aliases_point_at_assigned_codes_and_are_normalised() {
        for (n, c) in NAME_ALIASES {
            assert_eq!(*n, normalise(n), "alias {n:?} is not normalised");
            assert!(CODES.binary_search(c).is_ok(), "alias {n:?} -> {c}");
        }
        for (t, c) in CCTLD_ALIASES {
            assert!(CODES.binary_search(c).is_ok(), "ccTLD {t:?} -> {c}");
            assert!(
                CODES
                    .binary_search(&t.to_ascii_uppercase().as_str())
                    .is_err()
            );
        }
    }

    #[test]
    fn codes_as_lists_write_them() {
        assert_eq!(iso_code("uk"), Some("GB"));
        assert_eq!(iso_code("UK"), Some("GB"));
        assert_eq!(iso_code("gb"), Some("GB"));
        assert_eq!(iso_code(" de "), Some("DE"));
        assert_eq!(iso_code("zz"), Some("ZZ"));
        assert_eq!(iso_code("EU"), None);
        assert_eq!(iso_code("SU"), None);
        assert_eq!(iso_code("XK"), None);
        assert_eq!(iso_code("QQ"), None);
        assert_eq!(iso_code("net"), None);
        assert_eq!(iso_code(""), None);
        assert_eq!(iso_code("ÜK"), None);
    }

    #[test]
    fn names_as_lists_write_them() {
        for (name, code) in [
            ("The Netherlands", "NL"),
            ("Netherlands", "NL"),
            ("USA", "US"),
            ("United States", "US"),
            ("United Kingdom", "GB"),
            ("UK", "GB"),
            ("Czech Republic", "CZ"),
            ("Czechia", "CZ"),
            ("South Korea", "KR"),
            ("Korea", "KR"),
            ("Korea, Republic of", "KR"),
            ("Russia", "RU"),
            ("Russian Federation", "RU"),
            ("Taiwan", "TW"),
            ("Vietnam", "VN"),
            ("Viet Nam", "VN"),
            ("Iran", "IR"),
            ("Türkiye", "TR"),
            ("Turkiye", "TR"),
            ("Turkey", "TR"),
            ("Réunion", "RE"),
            ("Reunion", "RE"),
            ("  new   ZEALAND ", "NZ"),
            ("Hong Kong", "HK"),
        ] {
            assert_eq!(code_for_name(name), Some(code), "{name}");
        }
        for name in ["CDN", "Worldwide", "", "Atlantis", "Kosovo"] {
            assert_eq!(code_for_name(name), None, "{name}");
        }
    }
}

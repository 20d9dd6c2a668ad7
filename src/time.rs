//! RFC 3339 timestamps in UTC, as the format requires (`Z` suffix, no offsets), so two
//! implementations can never disagree about which instant a document names.

use chrono::{DateTime, SecondsFormat, Utc};

pub type Timestamp = DateTime<Utc>;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0:?} is not an RFC 3339 UTC time ending in Z")]
pub struct TimeError(pub String);

pub fn parse(s: &str) -> Result<Timestamp, TimeError> {
    let bad = || TimeError(s.chars().take(40).collect());
    if !s.ends_with('Z') || s.as_bytes().get(10) != Some(&b'T') {
        return Err(bad());
    }
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| bad())
}

pub fn format(t: &Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub fn now() -> Timestamp {
    Utc::now()
}

/// Parses either an absolute time or an offset from `base` such as `+30d`, `+12h`, `-1d`
/// (publisher convenience only; documents always carry absolute times).
pub fn parse_relative(s: &str, base: Timestamp) -> Result<Timestamp, TimeError> {
    let bad = || TimeError(s.chars().take(40).collect());
    let (sign, rest) = match s.as_bytes().first() {
        Some(b'+') => (1i64, &s[1..]),
        Some(b'-') => (-1i64, &s[1..]),
        _ => return parse(s),
    };
    let Some(unit) = rest.chars().last() else {
        return Err(bad());
    };
    let num = &rest[..rest.len() - unit.len_utf8()];
    if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n: i64 = num.parse().map_err(|_| bad())?;
    let secs = match unit {
        's' => n,
        'm' => n.checked_mul(60).ok_or_else(bad)?,
        'h' => n.checked_mul(3600).ok_or_else(bad)?,
        'd' => n.checked_mul(86400).ok_or_else(bad)?,
        _ => return Err(bad()),
    };
    let delta = chrono::TimeDelta::try_seconds(sign * secs).ok_or_else(bad)?;
    base.checked_add_signed(delta).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requires_z() {
        assert!(parse("2026-11-22T10:00:00Z").is_ok());
        assert!(parse("2026-11-22T10:00:00.5Z").is_ok());
        assert!(parse("2026-11-22T10:00:00+00:00").is_err());
        assert!(parse("yesterday").is_err());
    }

    #[test]
    fn relative_offsets() {
        let base = parse("2026-11-22T00:00:00Z").unwrap();
        assert_eq!(
            format(&parse_relative("+2d", base).unwrap()),
            "2026-11-24T00:00:00Z"
        );
        assert_eq!(
            format(&parse_relative("-1h", base).unwrap()),
            "2026-11-21T23:00:00Z"
        );
        assert!(parse_relative("+x", base).is_err());
        assert!(parse_relative("+1é", base).is_err());
        assert!(parse_relative("+-5d", base).is_err());
        assert!(parse_relative("--9223372036854775808s", base).is_err());
    }
}

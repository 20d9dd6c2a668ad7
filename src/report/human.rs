//! The human report: mirrors grouped by country, then a plain-words summary. Every piece
//! of text from outside (names, URLs, reasons, notices, signed evidence) goes through
//! [`shown`], once, here. Reasons are wrapped at word boundaries to the width, never cut.

use std::fmt::Write as _;

use super::{MirrorReport, Render, Report, Status};
use crate::text::shown;

/// The table at a terminal's width.
#[derive(Debug, Clone, Copy)]
pub struct Human {
    pub columns: usize,
}

impl Render for Human {
    fn render(&self, report: &Report, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        out.write_all(human(report, self.columns).as_bytes())
    }
}

fn human(report: &Report, columns: usize) -> String {
    let columns = columns.max(MIN_COLUMNS);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} ({}) checked at {} with {}; artifacts: {}",
        shown(&report.profile),
        shown(&report.channel),
        report.checked_at,
        match (&report.root, report.scheme) {
            (Some(r), _) => format!("root v{}", r.version),
            (None, Some(s)) => format!("pinned {s} key"),
            (None, None) => "no root".into(),
        },
        report.artifacts_mode
    );
    for n in &report.notices {
        let _ = writeln!(out, "note: {}", shown(n));
    }
    let latest_published = report
        .latest
        .as_ref()
        .and_then(|l| l.published.as_deref())
        .and_then(|p| crate::time::parse(p).ok());
    let width = report
        .mirrors
        .iter()
        .map(|m| label(m).chars().count())
        .max()
        .unwrap_or(0)
        .min(48);
    for country in report.countries.keys() {
        let _ = writeln!(out, "\n{}", shown(country));
        for m in report.mirrors.iter().filter(|m| &m.country == country) {
            let version = m.version.map_or("-".to_string(), |v| v.to_string());
            let lag = match (&latest_published, m.published.as_deref()) {
                (Some(l), Some(p)) if m.status != Status::Ok => crate::time::parse(p)
                    .ok()
                    .map(|p| lag_words(*l - p))
                    .unwrap_or_default(),
                _ => String::new(),
            };
            let reason = shown(m.error.as_deref().unwrap_or(""));
            let head = format!(
                "  {:<12} {:<width$}  {:>10}  {:<14} ",
                m.status.as_str(),
                label(m),
                version,
                lag,
                width = width
            );
            write_wrapped(&mut out, &head, &reason, columns);
        }
    }
    let _ = writeln!(out);
    for e in &report.root_equivocations {
        let _ = writeln!(
            out,
            "ROOT EQUIVOCATION: root version {} exists in {} different signed versions (served by {})",
            e.version,
            e.payload_sha256.len(),
            shown(&e.mirrors.join(", "))
        );
    }
    for r in &report.root_rejected {
        let _ = writeln!(
            out,
            "rejected root candidate v{} from {}: {}",
            r.version,
            shown(&r.mirror),
            shown(&r.error)
        );
    }
    for e in &report.equivocations {
        let _ = writeln!(
            out,
            "EQUIVOCATION: {} {} was signed with {} different contents{} (mirrors: {})",
            match (&e.kind, report.scheme) {
                (Some(kind), _) => kind.as_str(),
                (None, Some(_)) => "version",
                (None, None) => "release",
            },
            e.version,
            e.payload_sha256.len(),
            if e.with_state {
                ", one of them recorded in local state"
            } else {
                ""
            },
            if e.mirrors.is_empty() {
                "-".into()
            } else {
                shown(&e.mirrors.join(", ")).into_owned()
            }
        );
        for (i, doc) in e.evidence.iter().enumerate() {
            let _ = writeln!(out, "  signed evidence {}:", i + 1);
            for line in doc.lines().take(40) {
                let line: String = line.chars().take(200).collect();
                let _ = writeln!(out, "    {}", shown(&line));
            }
        }
    }
    let _ = writeln!(out, "{}", shown(&report.summary()));
    out
}

/// Width of the human report when the terminal's is unknown.
pub const DEFAULT_COLUMNS: usize = 100;
/// Narrower than this, wrapped reasons would be a word a line.
const MIN_COLUMNS: usize = 60;
/// A reason gets its own indented lines when fewer columns than this are left beside the
/// table's other fields.
const MIN_REASON_COLUMNS: usize = 30;
const REASON_INDENT: &str = "      ";

/// Writes `head` then `text` wrapped at word boundaries within `columns`; continuation
/// lines are indented under the reason. A word longer than a line is kept whole.
fn write_wrapped(out: &mut String, head: &str, text: &str, columns: usize) {
    let head_len = head.chars().count();
    let (first_room, indent) = if columns.saturating_sub(head_len) >= MIN_REASON_COLUMNS {
        (columns - head_len, " ".repeat(head_len))
    } else {
        (0, REASON_INDENT.to_string())
    };
    let rest_room = columns.saturating_sub(indent.chars().count()).max(1);
    let mut line = head.to_string();
    let mut used = 0;
    let mut room = first_room;
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let n = word.chars().count();
        if used > 0 && used + 1 + n > room || used == 0 && room == 0 {
            let _ = writeln!(out, "{}", line.trim_end());
            line = indent.clone();
            used = 0;
            room = rest_room;
        }
        if used > 0 {
            line.push(' ');
            used += 1;
        }
        line.push_str(word);
        used += n;
    }
    let _ = writeln!(out, "{}", line.trim_end());
}

fn label(m: &MirrorReport) -> String {
    shown(m.name.as_deref().unwrap_or(&m.url)).into_owned()
}

fn lag_words(d: chrono::TimeDelta) -> String {
    let days = d.num_days();
    let hours = d.num_hours();
    if days >= 1 {
        format!("{days}d behind")
    } else if hours >= 1 {
        format!("{hours}h behind")
    } else if d.num_seconds() > 0 {
        "<1h behind".into()
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_keeps_every_word_and_the_width() {
        let reason = "stable/release.json: error sending request: client error (Connect): tcp connect error: Connection refused (os error 111) and-a-very-long-unbreakable-word-that-is-wider-than-the-room-left";
        let mut out = String::new();
        write_wrapped(
            &mut out,
            &format!("{:<56}", "  unreachable  m"),
            reason,
            100,
        );
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines.len() > 2, "{out}");
        for l in &lines {
            let long_word = l.contains("unbreakable");
            assert!(l.chars().count() <= 100 || long_word, "{l:?}");
        }
        // Continuation lines start under the reason.
        assert!(lines[1].starts_with(&" ".repeat(56)), "{out}");
        let words: Vec<&str> = out.split_whitespace().skip(2).collect();
        assert_eq!(words.join(" "), reason);
        // Too little room beside the table: the reason goes below, indented.
        let mut out = String::new();
        write_wrapped(&mut out, &format!("{:<90}", "  unreachable  m"), "a b", 100);
        assert_eq!(out, "  unreachable  m\n      a b\n");
    }
}

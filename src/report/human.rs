//! The human report: mirrors grouped by country, then a plain-words summary. Every piece
//! of text from outside (names, URLs, reasons, notices, signed evidence) goes through
//! [`shown`], once, here. Reasons are wrapped at word boundaries to the width, never cut.

use std::fmt::Write as _;

use super::{EquivocationCopy, MirrorReport, Render, Report, Status};
use crate::text::shown;

/// The table at a terminal's width.
#[derive(Debug, Clone, Copy)]
pub struct Human {
    pub columns: usize,
    /// Statuses in colour (for a terminal that wants it: `--color`, `NO_COLOR`).
    pub color: bool,
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
    write_vantages(&mut out, report, columns);
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
            if let Some(c) = &m.carried_by {
                write_wrapped(&mut out, "      ", &shown(&carrier_words(c)), columns);
            }
        }
    }
    let _ = writeln!(out);
    for t in report.targeted.iter().flatten() {
        // The table names mirrors by their label: so does this line, with the URL that
        // `targeted[]` keys them by. The odd views first, each status once.
        let mut by_status: Vec<(Status, Vec<&str>)> = Vec::new();
        for (v, st) in &t.statuses {
            match by_status.iter_mut().find(|(s, _)| s == st) {
                Some((_, vs)) => vs.push(v),
                None => by_status.push((*st, vec![v])),
            }
        }
        by_status.sort_by_key(|(st, _)| *st == Status::Ok);
        let views: Vec<String> = by_status
            .iter()
            .map(|(st, vs)| format!("{} through {}", st.as_str(), vs.join(", ")))
            .collect();
        let name = report
            .mirrors
            .iter()
            .find(|m| m.url == t.url)
            .and_then(|m| m.name.as_deref());
        let head = match name {
            Some(n) => format!("TARGETED: {} ({}) is ", shown(n), shown(&t.url)),
            None => format!("TARGETED: {} is ", shown(&t.url)),
        };
        write_wrapped(&mut out, &head, &shown(&views.join("; ")), columns);
    }
    for e in &report.root_equivocations {
        let _ = writeln!(
            out,
            "ROOT EQUIVOCATION: root version {} exists in {} different signed versions (served by {})",
            e.version,
            e.payload_sha256.len(),
            shown(&e.mirrors.join(", "))
        );
        write_copies(&mut out, &e.copies, &report.mirrors, columns);
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
            // A kind can be a role name a repository signed: text from outside.
            match (&e.kind, report.scheme) {
                (Some(kind), _) => shown(kind),
                (None, Some(_)) => "version".into(),
                (None, None) => "release".into(),
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
        write_copies(&mut out, &e.copies, &report.mirrors, columns);
        if !e.vantages.is_empty() {
            let _ = writeln!(
                out,
                "  seen through vantages: {}",
                shown(&e.vantages.join(", "))
            );
        }
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

/// One line per conflicting copy of an equivocation: its digest (enough of it to tell
/// the copies apart) and who serves it, so a reader knows which operators to ask.
fn write_copies(
    out: &mut String,
    copies: &[EquivocationCopy],
    entries: &[MirrorReport],
    columns: usize,
) {
    for c in copies {
        let digest: String = c.digest.chars().take(COPY_DIGEST_CHARS).collect();
        let mut holders = Vec::new();
        if !c.mirrors.is_empty() {
            holders.push(format!("served by {}", served_through(c, entries)));
        }
        if c.state {
            holders.push("recorded in local state".to_owned());
        }
        if holders.is_empty() {
            holders.push("served by no mirror".to_owned());
        }
        let head = format!("  copy sha256 {}… ", shown(&digest));
        write_wrapped(out, &head, &shown(&holders.join("; ")), columns);
    }
}

/// Who served a copy, each mirror with the vantages it served that copy through: "A, B
/// through fr, direct" read as if A had served it through fr too, when fr may be the very
/// path that was handed the other copy. Where the entries do not tell (a copy of another
/// document than the one mirrors are compared by), the copy's own list is kept.
fn served_through(c: &EquivocationCopy, entries: &[MirrorReport]) -> String {
    if c.vantages.is_empty() {
        return c.mirrors.join(", ");
    }
    let per_mirror: Option<Vec<String>> = c
        .mirrors
        .iter()
        .map(|url| {
            let mut through: Vec<&str> = entries
                .iter()
                .filter(|m| &m.url == url && m.payload_sha256.as_deref() == Some(&c.digest))
                .filter_map(|m| m.vantage.as_deref())
                .collect();
            through.sort_unstable();
            through.dedup();
            (!through.is_empty()).then(|| format!("{url} through {}", through.join(", ")))
        })
        .collect();
    per_mirror.map_or_else(
        || format!("{} through {}", c.mirrors.join(", "), c.vantages.join(", ")),
        |each| each.join("; "),
    )
}

/// Hex digits of a copy's digest shown: 64 bits, plenty to tell two copies apart.
const COPY_DIGEST_CHARS: usize = 16;

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
    let mut l = shown(m.name.as_deref().unwrap_or(&m.url)).into_owned();
    match (&m.vantage, &m.address) {
        (Some(v), Some(a)) => l.push_str(&format!(" [{} at {}]", shown(v), shown(a))),
        (Some(v), None) => l.push_str(&format!(" [{}]", shown(v))),
        (None, Some(a)) => l.push_str(&format!(" [at {}]", shown(a))),
        (None, None) => {}
    }
    l
}

/// The vantages of a run, each in words that say what its country claim rests on: a
/// hosting network or an exit is not "users in FR", so it is never called that.
fn write_vantages(out: &mut String, report: &Report, columns: usize) {
    if report.vantages.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nVantages");
    for v in &report.vantages {
        let path = crate::vantage::describe(&crate::vantage::VantageSpec {
            name: v.name.clone(),
            kind: v.kind,
            proxy: v.proxy.clone(),
            country: v.country.clone(),
        });
        let status = match v.status {
            super::VantageStatus::Ok => "ok",
            super::VantageStatus::Degraded => "DEGRADED",
        };
        let head = format!("  {:<9} {:<20} ", status, shown(&v.name));
        let mut text = format!("{}; reached {} of {}", shown(&path), v.reached, v.entries);
        if let Some(r) = &v.reason {
            text.push_str(&format!("; {}", shown(r)));
        } else if v.entries == 0 {
            text.push_str("; no mirror was checked through it (local directories are read here, through direct vantages only)");
        } else if v.reached == 0 {
            // Not degraded only because no other vantage reached anything to compare with:
            // a bare "ok ... reached 0 of 3" read as a working path.
            text.push_str("; nothing came through it, and no other vantage reached a mirror to compare with: the path itself may be down (a proxy or tunnel not running, no network), not the mirrors");
        }
        write_wrapped(out, &head, &text, columns);
    }
}

/// Who carried an entry's requests, in a few words.
fn carrier_words(c: &crate::vantage::Carrier) -> String {
    use crate::vantage::Carrier;
    match c {
        Carrier::Tor { exits } if exits.is_empty() => "carried by: no Tor exit recorded".to_owned(),
        Carrier::Tor { exits } => {
            let each: Vec<String> = exits
                .iter()
                .map(|e| {
                    format!(
                        "{} {} ({}{})",
                        e.nickname,
                        e.fingerprint,
                        e.address,
                        e.country
                            .as_deref()
                            .map(|c| format!(", {c}"))
                            .unwrap_or_default()
                    )
                })
                .collect();
            format!("carried by Tor exit {}", each.join(", "))
        }
        Carrier::Globalping { probes, .. } => {
            let each: Vec<String> = probes
                .iter()
                .map(|p| {
                    let mut w = format!("in {}", p.country);
                    if let Some(city) = &p.city {
                        w.push_str(&format!(" ({city})"));
                    }
                    if let Some(n) = &p.network {
                        w.push_str(&format!(", network {n}"));
                    }
                    if let Some(a) = p.asn {
                        w.push_str(&format!(" AS{a}"));
                    }
                    w
                })
                .collect();
            format!(
                "seen by a Globalping probe {} (a third party's measurement, not first hand)",
                each.join("; ")
            )
        }
    }
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

//! The human report: mirrors grouped by country, then a plain-words summary. Every piece
//! of text from outside (names, URLs, reasons, notices, signed evidence) goes through
//! [`shown`], once, here. Reasons are wrapped at word boundaries to the width, never cut.
//!
//! Colour, when asked for, is only ever our own SGR sequences around our own words (status
//! words, verdicts, alarm labels): `shown` has escaped every escape character of outside
//! text before, so every escape character in the output is one of ours, and widths are
//! counted without them ([`visible_width`]). Without colour the bytes are those of the
//! plain report.

use std::fmt::Write as _;

use super::{EquivocationCopy, Labels, MirrorReport, Render, Report, Status};
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
        out.write_all(human(report, self.columns, Paint(self.color)).as_bytes())
    }
}

/// Whether our words are coloured, and how.
#[derive(Debug, Clone, Copy)]
struct Paint(bool);

/// SGR parameters. Green is good, yellow is behind, red is an attack or a broken
/// release, magenta is "could not tell" (nothing answered, or not all of it): four
/// colours a reader tells apart on dark and light backgrounds alike, each also a word.
const GREEN: &str = "32";
const YELLOW: &str = "33";
const RED: &str = "1;31";
const MAGENTA: &str = "35";

impl Paint {
    /// `text` in the colour `sgr`, or unchanged without colour. `text` must already be
    /// safe to show (ours, or through `shown`).
    fn paint(self, sgr: &str, text: &str) -> String {
        if self.0 {
            format!("\x1b[{sgr}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    /// A status word in its colour, padded to `width` columns (the padding outside the
    /// colour, so it counts whatever the terminal makes of escapes).
    fn status(self, st: Status, width: usize) -> String {
        let word = st.as_str();
        let pad = width.saturating_sub(word.chars().count());
        format!("{}{}", self.paint(status_sgr(st), word), " ".repeat(pad))
    }
}

fn status_sgr(st: Status) -> &'static str {
    match st {
        Status::Ok => GREEN,
        Status::Stale | Status::Expired => YELLOW,
        Status::Invalid | Status::Equivocating | Status::Rollback | Status::Corrupt => RED,
        Status::Unreachable | Status::Incomplete => MAGENTA,
    }
}

/// Columns `s` takes on a terminal: characters, without our SGR sequences (the only
/// escape characters left after `shown`).
fn visible_width(s: &str) -> usize {
    let mut n = 0;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            // ESC [ parameters m
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            n += 1;
        }
    }
    n
}

fn human(report: &Report, columns: usize, paint: Paint) -> String {
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
    write_vantages(&mut out, report, columns, paint);
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
                "  {} {:<width$}  {:>10}  {:<14} ",
                paint.status(m.status, 12),
                label(m),
                version,
                lag,
                width = width
            );
            write_wrapped(&mut out, &head, &reason, columns);
            if let Some(c) = &m.carried_by {
                let words = format!("carried by: {}", carrier_words(c));
                write_wrapped(&mut out, "      ", &shown(&words), columns);
            }
        }
    }
    let _ = writeln!(out);
    let labels = Labels::new(&report.mirrors);
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
        let name = labels.name(&t.url);
        let targeted = paint.paint(RED, "TARGETED:");
        let head = match name {
            Some(n) => format!("{targeted} {} ({}) is ", shown(n), shown(&t.url)),
            None => format!("{targeted} {} is ", shown(&t.url)),
        };
        write_wrapped(&mut out, &head, &shown(&views.join("; ")), columns);
    }
    for e in &report.root_equivocations {
        let _ = writeln!(
            out,
            "{} root version {} exists in {} different signed versions (served by {})",
            paint.paint(RED, "ROOT EQUIVOCATION:"),
            e.version,
            e.payload_sha256.len(),
            shown(&e.mirrors.join(", "))
        );
        write_copies(&mut out, &e.copies, &labels, columns);
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
            "{} {} {} was signed with {} different contents{} (mirrors: {})",
            paint.paint(RED, "EQUIVOCATION:"),
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
        write_copies(&mut out, &e.copies, &labels, columns);
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
    let verdict = if report.ok { GREEN } else { RED };
    let _ = writeln!(out, "{}", paint.paint(verdict, &shown(&report.summary())));
    out
}

/// One line per conflicting copy of an equivocation: its digest (enough of it to tell
/// the copies apart) and who serves it, so a reader knows which operators to ask.
fn write_copies(
    out: &mut String,
    copies: &[EquivocationCopy],
    labels: &Labels<'_>,
    columns: usize,
) {
    for c in copies {
        let digest: String = c.digest.chars().take(COPY_DIGEST_CHARS).collect();
        let mut holders = Vec::new();
        if !c.mirrors.is_empty() {
            holders.push(format!("served by {}", served_through(c, labels)));
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
fn served_through(c: &EquivocationCopy, labels: &Labels<'_>) -> String {
    if c.vantages.is_empty() {
        return c.mirrors.join(", ");
    }
    let per_mirror: Option<Vec<String>> = c
        .mirrors
        .iter()
        .map(|url| {
            let through = labels.vantages_serving(url, &c.digest);
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
    let head_len = visible_width(head);
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
fn write_vantages(out: &mut String, report: &Report, columns: usize, paint: Paint) {
    if report.vantages.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nVantages");
    for v in &report.vantages {
        let path = v.path();
        let (status, sgr) = match v.status {
            super::VantageStatus::Ok => ("ok", GREEN),
            super::VantageStatus::Degraded => ("DEGRADED", YELLOW),
        };
        let pad = " ".repeat(9usize.saturating_sub(status.len()));
        let head = format!(
            "  {}{pad} {:<20} ",
            paint.paint(sgr, status),
            shown(&v.name)
        );
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

/// Who carried an entry's requests, in words: the human report's `carried by:` line and
/// the HTML report's `Carried by` column.
pub(super) fn carrier_words(c: &crate::vantage::Carrier) -> String {
    use crate::vantage::Carrier;
    match c {
        Carrier::Tor { exits } if exits.is_empty() => "no Tor exit recorded".to_owned(),
        Carrier::Tor { exits } => {
            let each: Vec<String> = exits
                .iter()
                .map(|e| {
                    let mut w = format!("Tor exit {} {}", e.nickname, e.fingerprint);
                    if !e.address.is_empty() || e.country.is_some() {
                        w.push_str(" (");
                        w.push_str(&e.address);
                        if let Some(cc) = &e.country {
                            if !e.address.is_empty() {
                                w.push_str(", ");
                            }
                            w.push_str(cc);
                        }
                        w.push(')');
                    }
                    w
                })
                .collect();
            each.join("; ")
        }
        Carrier::Globalping { probes, first_hand } => {
            let each: Vec<String> = probes
                .iter()
                .map(|p| {
                    let mut w = format!("Globalping probe in {}", p.country);
                    if let Some(city) = &p.city {
                        w.push_str(&format!(" ({city})"));
                    }
                    if let Some(n) = &p.network {
                        w.push_str(&format!(", {n}"));
                    }
                    if let Some(asn) = p.asn {
                        w.push_str(&format!(" AS{asn}"));
                    }
                    w
                })
                .collect();
            let mut s = if each.is_empty() {
                "Globalping (no probe recorded)".to_owned()
            } else {
                each.join("; ")
            };
            if !first_hand {
                s.push_str(" — a third party's measurement, not first hand");
            }
            s
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
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::report::LatestReport;

    fn entry(name: &str, country: &str, status: Status, error: Option<&str>) -> MirrorReport {
        MirrorReport {
            url: format!("https://{country}.example/"),
            country: country.into(),
            name: Some(name.into()),
            status,
            version: Some(2),
            payload_sha256: None,
            signers: Vec::new(),
            published: None,
            documents: Default::default(),
            artifacts: Vec::new(),
            elapsed_ms: 1,
            error: error.map(str::to_owned),
            vantage: None,
            address: None,
            carried_by: None,
            out_of_reach: false,
        }
    }

    /// Every status, a hostile name and a reason long enough to wrap.
    fn report() -> Report {
        let long = "the mirror answered with a release that was signed by keys the pinned root does not name, twice over, and then stopped answering at all";
        let mut mirrors = vec![
            entry("good", "DE", Status::Ok, None),
            entry("evil\x1b[31mRED\x1b]0;title\x07", "FR", Status::Ok, None),
        ];
        for (i, st) in [
            Status::Unreachable,
            Status::Invalid,
            Status::Equivocating,
            Status::Expired,
            Status::Rollback,
            Status::Stale,
            Status::Corrupt,
            Status::Incomplete,
        ]
        .into_iter()
        .enumerate()
        {
            mirrors.push(entry(&format!("m{i}"), "FR", st, Some(long)));
        }
        let mut r = Report {
            latest: Some(LatestReport {
                version: 2,
                payload_sha256: "ab".repeat(32),
                published: None,
                signers: vec!["k".into()],
                release_keys: 1,
                equivocated: false,
            }),
            mirrors,
            artifacts_mode: "full",
            ..Report::new("demo", "stable", "2026-11-22T14:00:00Z")
        };
        r.summarise();
        r
    }

    /// The output with our SGR sequences taken out; fails on any escape that is not one.
    fn strip(s: &str) -> String {
        let mut out = String::new();
        let mut rest = s;
        while let Some(at) = rest.find('\x1b') {
            out.push_str(&rest[..at]);
            let seq = &rest[at..];
            let end = seq.find('m').unwrap();
            let params = &seq[2..end];
            assert!(seq.starts_with("\x1b["), "not an SGR sequence: {seq:?}");
            assert!(
                [GREEN, YELLOW, RED, MAGENTA, "0"].contains(&params),
                "not one of ours: {params:?}"
            );
            rest = &seq[end + 1..];
        }
        out.push_str(rest);
        out
    }

    #[test]
    fn colour_is_ours_only_and_changes_nothing_else() {
        let r = report();
        for columns in [60, 100, 200] {
            let plain = human(&r, columns, Paint(false));
            assert!(!plain.contains('\x1b'), "{plain}");
            let coloured = human(&r, columns, Paint(true));
            // Same text, same wrapping, same alignment once our sequences are out: widths
            // were counted without them.
            assert_eq!(strip(&coloured), plain, "at {columns} columns");
            assert!(coloured.contains("\x1b[32mok\x1b[0m"));
            assert!(coloured.contains("\x1b[1;31mrollback\x1b[0m"));
            assert!(coloured.contains("\x1b[33mstale\x1b[0m"));
            assert!(coloured.contains("\x1b[35munreachable\x1b[0m"));
            // The hostile name is escaped, coloured or not.
            assert!(coloured.contains("evil\\u{1b}[31mRED\\u{1b}]0;title\\u{7}"));
            // The verdict: not ok, in red.
            let last = coloured.lines().last().unwrap();
            assert!(
                last.starts_with("\x1b[1;31m") && last.ends_with("\x1b[0m"),
                "{last:?}"
            );
        }
        // The public renderer without colour is the plain report.
        let plain = Human {
            columns: 100,
            color: false,
        }
        .show(&r);
        assert_eq!(plain, human(&r, 100, Paint(false)));
    }

    #[test]
    fn carriers_are_named_on_their_own_line() {
        use crate::vantage::Carrier;
        use crate::vantage::globalping::Probe;
        let mut r = report();
        r.mirrors[0].carried_by = Some(Carrier::Globalping {
            probes: vec![Probe {
                country: "JP".into(),
                city: Some("Tokyo".into()),
                asn: Some(64500),
                network: Some("Example Net".into()),
            }],
            first_hand: false,
        });
        r.mirrors[1].carried_by = Some(Carrier::Tor { exits: Vec::new() });
        let text = human(&r, 200, Paint(false));
        assert!(
            text.contains("\n      carried by: Globalping probe in JP (Tokyo), Example Net AS64500 — a third party's measurement, not first hand\n"),
            "{text}"
        );
        assert!(
            text.contains("\n      carried by: no Tor exit recorded\n"),
            "{text}"
        );
    }

    #[test]
    fn widths_skip_our_sequences() {
        assert_eq!(visible_width("\x1b[1;31mrollback\x1b[0m    x"), 13);
        assert_eq!(visible_width("plain é"), 7);
    }

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

//! One self-contained HTML page (`--format html`): summary, a world map coloured by each
//! country's verdict, the mirrors per vantage, equivocation evidence, and with a history
//! each mirror's lag over time.
//!
//! The page is a report people forward and archive, so it must be safe to open anywhere
//! and for ever: no script, no request to any host (CSS and SVG inline, the map built in
//! with `include_str!`, a Content-Security-Policy that forbids loading anything), readable
//! printed and without colour vision (every colour comes with a word or a hatch). Every
//! piece of text from outside (names, URLs, reasons, notices, signed evidence) goes through
//! [`shown`] (controls and bidi made visible, as on a terminal) and then HTML escaping, once,
//! in [`Page::text`]; nothing else writes outside text. Work is linear in the report: a
//! page of 10,000 mirrors is a few megabytes.

mod chart;
mod map;

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;

use super::human::carrier_words;
use super::{
    EquivocationReport, Labels, LagSeries, MirrorReport, Render, Report, Status, VantageReport,
    VantageStatus, count,
};
use crate::text::shown;

#[derive(Debug, Clone, Default)]
pub struct Html {
    /// Each mirror's lag over time, when the run has a history.
    pub lag: Option<Vec<LagSeries>>,
}

impl Render for Html {
    fn render(&self, report: &Report, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        out.write_all(page(report, self.lag.as_deref()).as_bytes())
    }
}

/// The policy in the page itself: nothing may be fetched, framed or run; only the inline
/// style, and `data:` images (the empty favicon that stops a browser asking for one).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

/// Longest text shown from one field (a reason, a notice, a name): a hostile mirror's
/// megabyte of reason would otherwise be the page.
const MAX_FIELD_CHARS: usize = 2000;
/// Longest signed evidence document shown; the JSON report and the evidence directory
/// keep the whole document.
const MAX_EVIDENCE_CHARS: usize = 64 * 1024;

fn page(report: &Report, lag: Option<&[LagSeries]>) -> String {
    // About 400 bytes a mirror row; a reserve that avoids most regrowth.
    let mut p = Page {
        out: String::with_capacity(96 * 1024 + report.mirrors.len() * 512),
    };
    let labels = Labels::new(&report.mirrors);
    p.head(report);
    p.raw("<body>\n<main>\n");
    p.summary(report);
    p.notices(report);
    p.countries(report);
    p.equivocations(report, &labels);
    p.targeted(report, &labels);
    p.vantages(report);
    p.mirrors(report);
    if let Some(lag) = lag {
        p.lag(lag);
    }
    p.footer();
    p.raw("</main>\n</body>\n</html>\n");
    p.out
}

/// The page being written. Outside text goes in through [`Page::text`] only.
struct Page {
    out: String,
}

impl Page {
    /// Markup written by this module.
    fn raw(&mut self, s: &str) {
        self.out.push_str(s);
    }

    /// Text from outside: bounded, made visible ([`shown`]), escaped for HTML text and
    /// attribute values alike.
    fn text(&mut self, s: &str) {
        self.text_within(s, MAX_FIELD_CHARS);
    }

    fn text_within(&mut self, s: &str, max_chars: usize) {
        let (s, cut) = clip(s, max_chars);
        escape_into(&mut self.out, &shown(s));
        if cut {
            self.out.push_str(" […]");
        }
    }

    fn head(&mut self, report: &Report) {
        self.raw("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        let _ = writeln!(
            self.out,
            "<meta http-equiv=\"Content-Security-Policy\" content=\"{CONTENT_SECURITY_POLICY}\">"
        );
        self.raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        self.raw("<meta name=\"referrer\" content=\"no-referrer\">\n");
        self.raw("<meta name=\"generator\" content=\"mirrorproof ");
        self.raw(env!("CARGO_PKG_VERSION"));
        self.raw("\">\n<link rel=\"icon\" href=\"data:,\">\n<title>");
        self.raw(if report.ok { "OK" } else { "NOT OK" });
        self.raw(": ");
        self.text(&report.profile);
        self.raw(" (");
        self.text(&report.channel);
        self.raw(") mirrors, ");
        self.text(&report.checked_at);
        self.raw(" · mirrorproof</title>\n<style>\n");
        self.raw(STYLE);
        self.raw("</style>\n</head>\n");
    }

    fn summary(&mut self, report: &Report) {
        self.raw("<header>\n<p class=\"tool\">mirrorproof report</p>\n<h1>");
        self.text(&report.profile);
        self.raw(" <span class=\"channel\">");
        self.text(&report.channel);
        self.raw("</span></h1>\n<div class=\"verdicts\">");
        if report.ok {
            self.raw("<p class=\"verdict good\" data-verdict=\"ok\"><b>✓ OK</b> every mirror that decides passes</p>");
        } else {
            self.raw("<p class=\"verdict bad\" data-verdict=\"not-ok\"><b>✗ NOT OK</b> problems found</p>");
        }
        if report.independent {
            self.raw("<p class=\"verdict good\" data-verdict=\"independent\"><b>✓ Independent</b> every reachable country gets the same verified release</p>");
        } else {
            self.raw("<p class=\"verdict bad\" data-verdict=\"not-independent\"><b>✗ NOT independent</b> where you are decides what you get</p>");
        }
        self.raw("</div>\n<p class=\"summary\" id=\"summary\">");
        self.text_within(&report.summary(), MAX_EVIDENCE_CHARS);
        self.raw("</p>\n<dl class=\"facts\">\n");
        self.fact_start("Checked at");
        self.text(&report.checked_at);
        self.fact_end();
        self.fact_start("Latest release");
        match &report.latest {
            Some(l) => {
                let _ = write!(self.out, "<b>{}</b>", l.version);
                if let Some(p) = &l.published {
                    self.raw(", published ");
                    self.text(p);
                }
                if l.equivocated {
                    self.raw(" <span class=\"st st-bad\">✗ equivocated</span>");
                }
                self.raw("<br><span class=\"mono small\">sha256 ");
                self.text(&l.payload_sha256);
                self.raw("</span>");
            }
            None => self.raw("none: no mirror serves a valid release"),
        }
        self.fact_end();
        if let Some(l) = &report.latest {
            self.fact_start("Signed by");
            match report.scheme {
                None => {
                    let _ = write!(
                        self.out,
                        "{} of {} pinned release keys",
                        l.signers.len(),
                        l.release_keys
                    );
                }
                Some(_) => self.raw("the pinned key"),
            }
            if !l.signers.is_empty() {
                self.raw("<br><span class=\"mono small\">");
                self.text(&l.signers.join(", "));
                self.raw("</span>");
            }
            self.fact_end();
        }
        match (&report.root, report.scheme) {
            (Some(r), _) => {
                self.fact_start("Pinned root");
                let _ = write!(self.out, "version {}, expires ", r.version);
                self.text(&r.expires);
                self.raw("<br><span class=\"mono small\">sha256 ");
                self.text(&r.payload_sha256);
                self.raw("</span>");
                self.fact_end();
            }
            (None, Some(scheme)) => {
                self.fact_start("Signature scheme");
                self.text(scheme);
                self.fact_end();
            }
            (None, None) => {}
        }
        self.fact_start("Mirrors");
        let urls: std::collections::HashSet<&str> =
            report.mirrors.iter().map(|m| m.url.as_str()).collect();
        let _ = write!(
            self.out,
            "{} in {}",
            count(urls.len(), "mirror", "mirrors"),
            count(report.countries.len(), "country", "countries")
        );
        if !report.vantages.is_empty() {
            let _ = write!(
                self.out,
                ", {} through {}",
                count(report.mirrors.len(), "check", "checks"),
                count(report.vantages.len(), "vantage", "vantages")
            );
        }
        self.fact_end();
        self.fact_start("Artifacts checked");
        self.text(report.artifacts_mode);
        self.fact_end();
        self.raw("</dl>\n</header>\n");
    }

    fn fact_start(&mut self, term: &str) {
        self.raw("<div><dt>");
        self.raw(term);
        self.raw("</dt><dd>");
    }

    fn fact_end(&mut self) {
        self.raw("</dd></div>\n");
    }

    fn notices(&mut self, report: &Report) {
        if report.notices.is_empty() {
            return;
        }
        self.raw("<section id=\"notices\">\n<h2>Notices</h2>\n<ul class=\"notices\">\n");
        for n in &report.notices {
            self.raw("<li>");
            self.text(n);
            self.raw("</li>\n");
        }
        self.raw("</ul>\n</section>\n");
    }

    fn countries(&mut self, report: &Report) {
        let places = map::Places::parse();
        self.raw("<section id=\"countries\">\n<h2>Countries</h2>\n");
        map::world(&mut self.out, report, &places);
        self.raw("<table class=\"countries\">\n<thead><tr><th>Country</th><th>Verdict</th><th class=\"num\">Mirrors</th><th class=\"num\">ok</th><th>Statuses</th></tr></thead>\n<tbody>\n");
        for (cc, c) in &report.countries {
            let verdict = map::Verdict::of(c);
            let _ = write!(
                self.out,
                "<tr data-cc=\"{}\" data-verdict=\"{}\"><td><span class=\"cc\">",
                attr(cc),
                verdict.key()
            );
            self.text(cc);
            self.raw("</span> ");
            match places.name(cc) {
                // The asset's names are escaped already.
                Some(name) => self.raw(name),
                None => self.raw("<i>unknown code</i>"),
            }
            if !places.on_map(cc) {
                self.raw(" <span class=\"small muted\">(not on the map)</span>");
            }
            self.raw("</td><td>");
            map::swatch(&mut self.out, verdict);
            self.raw(verdict.label());
            let _ = write!(
                self.out,
                "</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>",
                c.mirrors, c.ok
            );
            let mut first = true;
            // Worst first, as the statuses are ordered.
            for (st, n) in &c.statuses {
                if !first {
                    self.raw(" ");
                }
                first = false;
                badge(&mut self.out, *st, Some(*n), false);
            }
            self.raw("</td></tr>\n");
        }
        self.raw("</tbody>\n</table>\n</section>\n");
    }

    fn equivocations(&mut self, report: &Report, labels: &Labels<'_>) {
        if report.equivocations.is_empty()
            && report.root_equivocations.is_empty()
            && report.root_rejected.is_empty()
        {
            return;
        }
        self.raw("<section id=\"equivocations\">\n<h2>Equivocation evidence</h2>\n");
        self.raw("<p>The signing keys signed conflicting contents under one version: the copies below are each validly signed, so the keys (or whoever holds them) showed different users different releases. The signed documents are the proof: anyone can verify them offline against the pinned keys.</p>\n");
        for e in &report.root_equivocations {
            self.raw("<article class=\"equivocation\" data-kind=\"root\">\n<h3>Root version ");
            let _ = writeln!(
                self.out,
                "{} exists in {} different signed versions</h3>",
                e.version,
                e.payload_sha256.len()
            );
            self.equivocation_body(e, labels);
            self.raw("</article>\n");
        }
        for e in &report.equivocations {
            self.raw("<article class=\"equivocation\" data-kind=\"release\">\n<h3>");
            match (&e.kind, report.scheme) {
                (Some(kind), _) => self.text(kind),
                (None, Some(_)) => self.raw("Version"),
                (None, None) => self.raw("Release"),
            }
            let _ = write!(
                self.out,
                " {} was signed with {} different contents",
                e.version,
                e.payload_sha256.len()
            );
            if e.with_state {
                self.raw(", one of them recorded in the local state");
            }
            self.raw("</h3>\n");
            self.equivocation_body(e, labels);
            self.raw("</article>\n");
        }
        if !report.root_rejected.is_empty() {
            self.raw("<h3>Rejected root candidates</h3>\n<ul>\n");
            for r in &report.root_rejected {
                let _ = write!(self.out, "<li>version {} from ", r.version);
                self.text(&r.mirror);
                self.raw(": ");
                self.text(&r.error);
                self.raw("</li>\n");
            }
            self.raw("</ul>\n");
        }
        self.raw("</section>\n");
    }

    fn equivocation_body(&mut self, e: &EquivocationReport, labels: &Labels<'_>) {
        if !e.vantages.is_empty() {
            self.raw("<p>Seen through vantages: ");
            self.text(&e.vantages.join(", "));
            self.raw("</p>\n");
        }
        self.raw("<table class=\"copies\">\n<thead><tr><th>Copy (sha256 of the signed payload)</th><th>Held by</th></tr></thead>\n<tbody>\n");
        if e.copies.is_empty() {
            // Who holds which copy is not known: the digests, and everyone involved.
            for d in &e.payload_sha256 {
                self.raw("<tr><td class=\"mono\">");
                self.text(d);
                self.raw("</td><td>one or more of the mirrors below</td></tr>\n");
            }
        }
        for c in &e.copies {
            self.raw("<tr><td class=\"mono\">");
            self.text(&c.digest);
            self.raw("</td><td><ul class=\"plain\">");
            for url in &c.mirrors {
                self.raw("<li>");
                self.mirror_ref(url, labels);
                let through = labels.vantages_serving(url, &c.digest);
                if !through.is_empty() {
                    self.raw(" <span class=\"muted\">through ");
                    self.text(&through.join(", "));
                    self.raw("</span>");
                }
                self.raw("</li>");
            }
            if c.state {
                self.raw("<li><i>recorded in the local state</i></li>");
            }
            if c.mirrors.is_empty() && !c.state {
                self.raw("<li><i>served by no mirror</i></li>");
            }
            self.raw("</ul></td></tr>\n");
        }
        self.raw("</tbody>\n</table>\n");
        if e.copies.is_empty() && !e.mirrors.is_empty() {
            self.raw("<p>Mirrors involved: ");
            for (i, url) in e.mirrors.iter().enumerate() {
                if i > 0 {
                    self.raw(", ");
                }
                self.mirror_ref(url, labels);
            }
            self.raw("</p>\n");
        }
        for (i, doc) in e.evidence.iter().enumerate() {
            let _ = write!(
                self.out,
                "<h4>Signed evidence {} of {}</h4>\n<pre class=\"evidence\">",
                i + 1,
                e.evidence.len()
            );
            // Line breaks are the document's own, kept as lines; everything else that
            // could reorder or hide text is made visible.
            let (doc, cut) = clip(doc, MAX_EVIDENCE_CHARS);
            for line in doc.split_inclusive('\n') {
                let (line, newline) = match line.strip_suffix('\n') {
                    Some(l) => (l, true),
                    None => (line, false),
                };
                escape_into(&mut self.out, &shown(line));
                if newline {
                    self.raw("\n");
                }
            }
            if cut {
                self.raw("\n[… cut here; the JSON report holds the whole document]");
            }
            self.raw("</pre>\n");
        }
    }

    /// A mirror named the way the tables name it: its label, with the URL beside it.
    fn mirror_ref(&mut self, url: &str, labels: &Labels<'_>) {
        match labels.name(url) {
            Some(name) => {
                self.raw("<b>");
                self.text(name);
                self.raw("</b> <span class=\"url\">");
                self.text(url);
                self.raw("</span>");
            }
            None => {
                self.raw("<span class=\"url\">");
                self.text(url);
                self.raw("</span>");
            }
        }
    }

    fn targeted(&mut self, report: &Report, labels: &Labels<'_>) {
        let Some(targeted) = report.targeted.as_ref().filter(|t| !t.is_empty()) else {
            return;
        };
        self.raw("<section id=\"targeted\">\n<h2>Targeted mirrors</h2>\n<p>These mirrors served different things depending on the vantage that asked: a mirror (or the network in front of it) that singles out some users.</p>\n<table>\n<thead><tr><th>Mirror</th><th>What each vantage saw</th></tr></thead>\n<tbody>\n");
        for t in targeted {
            self.raw("<tr><td>");
            self.mirror_ref(&t.url, labels);
            self.raw("</td><td><ul class=\"plain\">");
            for (v, st) in &t.statuses {
                self.raw("<li>");
                badge(&mut self.out, *st, None, false);
                self.raw(" through ");
                self.text(v);
                self.raw("</li>");
            }
            self.raw("</ul></td></tr>\n");
        }
        self.raw("</tbody>\n</table>\n</section>\n");
    }

    fn vantages(&mut self, report: &Report) {
        if report.vantages.is_empty() {
            return;
        }
        self.raw("<section id=\"vantages\">\n<h2>Vantages</h2>\n<table>\n<thead><tr><th>Vantage</th><th>Status</th><th>Path</th><th>Country</th><th class=\"num\">Reached</th><th>Reason</th></tr></thead>\n<tbody>\n");
        for v in &report.vantages {
            self.vantage_row(v);
        }
        self.raw("</tbody>\n</table>\n<p class=\"small muted\">A degraded vantage could not reach most mirrors that other vantages reached: what it saw is shown, but decides no verdict.</p>\n</section>\n");
    }

    fn vantage_row(&mut self, v: &VantageReport) {
        let degraded = v.status == VantageStatus::Degraded;
        let _ = write!(
            self.out,
            "<tr data-vantage-status=\"{}\"><td><b>",
            if degraded { "degraded" } else { "ok" }
        );
        self.text(&v.name);
        self.raw("</b></td><td>");
        if degraded {
            self.raw("<span class=\"st st-warn\">! DEGRADED</span>");
        } else {
            self.raw("<span class=\"st st-good\">✓ ok</span>");
        }
        self.raw("</td><td>");
        let path = v.path();
        self.text(&path);
        self.raw("</td><td>");
        self.text(&v.country);
        self.raw(" <span class=\"small muted\">(");
        self.raw(match v.country_source {
            crate::vantage::CountrySource::Configuration => "configured",
            crate::vantage::CountrySource::TorGeoip => "Tor GeoIP",
            crate::vantage::CountrySource::Probe => "probe's own location",
            crate::vantage::CountrySource::Unknown => "unknown",
        });
        let _ = write!(
            self.out,
            ")</span></td><td class=\"num\">{} of {}</td><td>",
            v.reached, v.entries
        );
        if let Some(r) = &v.reason {
            self.text(r);
        }
        self.raw("</td></tr>\n");
    }

    fn mirrors(&mut self, report: &Report) {
        self.raw("<section id=\"mirrors\">\n<h2>Mirrors</h2>\n");
        // One table per vantage, in the order the run lists them; entries without a
        // vantage (a run without vantages) make one table.
        let mut groups: Vec<(Option<&str>, Vec<&MirrorReport>)> = report
            .vantages
            .iter()
            .map(|v| (Some(v.name.as_str()), Vec::new()))
            .collect();
        let mut index: HashMap<Option<&str>, usize> = groups
            .iter()
            .enumerate()
            .map(|(i, (k, _))| (*k, i))
            .collect();
        for m in &report.mirrors {
            let key = m.vantage.as_deref();
            let i = *index.entry(key).or_insert_with(|| {
                groups.push((key, Vec::new()));
                groups.len() - 1
            });
            if let Some((_, g)) = groups.get_mut(i) {
                g.push(m);
            }
        }
        let degraded: std::collections::HashSet<&str> = report
            .vantages
            .iter()
            .filter(|v| v.status == VantageStatus::Degraded)
            .map(|v| v.name.as_str())
            .collect();
        for (vantage, mut entries) in groups {
            if entries.is_empty() {
                continue;
            }
            // Grouped by country as the human report is; the profile's order within.
            entries.sort_by(|a, b| a.country.cmp(&b.country));
            if let Some(v) = vantage {
                self.raw("<h3>Through vantage ");
                self.text(v);
                if degraded.contains(v) {
                    self.raw(" <span class=\"st st-warn\">! degraded</span>");
                }
                self.raw("</h3>\n");
            }
            self.mirror_table(&entries);
        }
        if report.mirrors.is_empty() {
            self.raw("<p>The run checked no mirror.</p>\n");
        }
        self.raw("</section>\n");
    }

    fn mirror_table(&mut self, entries: &[&MirrorReport]) {
        let addresses = entries.iter().any(|m| m.address.is_some());
        let carriers = entries.iter().any(|m| m.carried_by.is_some());
        self.raw("<table class=\"mirrors\">\n<thead><tr><th>Status</th><th>Mirror</th><th>Country</th><th class=\"num\">Version</th><th>Reason</th>");
        if addresses {
            self.raw("<th>Address</th>");
        }
        if carriers {
            self.raw("<th>Carried by</th>");
        }
        self.raw("<th class=\"num\">Time</th></tr></thead>\n<tbody>\n");
        for m in entries {
            let _ = write!(
                self.out,
                "<tr class=\"mirror\" data-status=\"{}\"><td>",
                m.status.as_str()
            );
            badge(&mut self.out, m.status, None, m.out_of_reach);
            self.raw("</td><td class=\"who\">");
            if let Some(name) = &m.name {
                self.raw("<b class=\"name\">");
                self.text(name);
                self.raw("</b><br>");
            }
            self.raw("<span class=\"url\">");
            self.text(&m.url);
            self.raw("</span></td><td class=\"cc\">");
            self.text(&m.country);
            self.raw("</td><td class=\"num\">");
            match m.version {
                Some(v) => {
                    let _ = write!(self.out, "{v}");
                }
                None => self.raw("<span class=\"muted\">–</span>"),
            }
            if let Some(p) = &m.published {
                self.raw("<br><span class=\"small muted\">");
                self.text(p.get(..10).unwrap_or(p));
                self.raw("</span>");
            }
            self.raw("</td><td class=\"reason\">");
            if let Some(e) = &m.error {
                self.text(e);
            }
            if m.out_of_reach {
                self.raw(" <i class=\"muted\">(out of this vantage's reach: says nothing about the mirror)</i>");
            }
            self.raw("</td>");
            if addresses {
                self.raw("<td class=\"mono small\">");
                if let Some(a) = &m.address {
                    self.text(a);
                }
                self.raw("</td>");
            }
            if carriers {
                self.raw("<td class=\"small\">");
                if let Some(c) = &m.carried_by {
                    self.text(&carrier_words(c));
                }
                self.raw("</td>");
            }
            let _ = writeln!(
                self.out,
                "<td class=\"num small\">{}</td></tr>",
                elapsed(m.elapsed_ms)
            );
        }
        self.raw("</tbody>\n</table>\n");
    }

    fn lag(&mut self, series: &[LagSeries]) {
        self.raw("<section id=\"lag\">\n<h2>Lag over time</h2>\n<p class=\"small muted\">From the history: for each observation, how long the newest release then known had been out while this mirror did not serve it (0 once it did). Dashed lines mark a change in what the mirror served, triangles on the time axis a newer release first seen anywhere, and hollow points the runs at which the mirror served nothing valid.</p>\n");
        if series.is_empty() {
            self.raw("<p>The history holds no observation of these mirrors yet.</p>\n");
        }
        self.raw("<div class=\"charts\">\n");
        for s in series {
            self.raw("<figure class=\"lag\"><figcaption>");
            if let Some(n) = &s.name {
                self.raw("<b>");
                self.text(n);
                self.raw("</b> ");
            }
            self.raw("<span class=\"url\">");
            self.text(&s.url);
            self.raw("</span><br><span class=\"small muted\">");
            self.text(&s.country);
            self.raw(" · through ");
            self.text(&s.vantage);
            self.raw("</span></figcaption>\n");
            chart::lag_chart(&mut self.out, s);
            self.raw("</figure>\n");
        }
        self.raw("</div>\n</section>\n");
    }

    fn footer(&mut self) {
        self.raw("<footer><p>Written by mirrorproof ");
        self.raw(env!("CARGO_PKG_VERSION"));
        self.raw(". The page loads nothing and runs no script. Map: Natural Earth 1:110m boundaries (public domain), via world-atlas 2.0.2; places too small for that scale are dots.</p></footer>\n");
    }
}

/// How a status reads at a glance: a colour class, a sign and the status's own word, so
/// neither the colour nor the sign is needed to read it.
fn status_look(st: Status) -> (&'static str, &'static str) {
    match st {
        Status::Ok => ("st-good", "✓"),
        Status::Stale | Status::Expired | Status::Incomplete => ("st-warn", "!"),
        Status::Invalid | Status::Equivocating | Status::Rollback | Status::Corrupt => {
            ("st-bad", "✗")
        }
        Status::Unreachable => ("st-none", "?"),
    }
}

fn badge(out: &mut String, st: Status, n: Option<usize>, out_of_reach: bool) {
    let (class, sign) = status_look(st);
    let _ = write!(
        out,
        "<span class=\"st {class}\" data-status=\"{}\">{sign} ",
        st.as_str()
    );
    if let Some(n) = n {
        let _ = write!(out, "{n} ");
    }
    out.push_str(st.as_str());
    if out_of_reach {
        out.push('*');
    }
    out.push_str("</span>");
}

fn elapsed(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{}.{} s", ms / 1000, (ms % 1000) / 100)
    }
}

/// At most `max_chars` characters of `s`, and whether it was cut.
fn clip(s: &str, max_chars: usize) -> (&str, bool) {
    match s.char_indices().nth(max_chars) {
        Some((i, _)) => (s.get(..i).unwrap_or(s), true),
        None => (s, false),
    }
}

/// HTML escaping good for text and for double- or single-quoted attribute values.
fn escape_into(out: &mut String, s: &str) {
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let rep = match c {
            '&' => "&amp;",
            '<' => "&lt;",
            '>' => "&gt;",
            '"' => "&quot;",
            '\'' => "&#39;",
            _ => continue,
        };
        out.push_str(s.get(start..i).unwrap_or(""));
        out.push_str(rep);
        start = i + c.len_utf8();
    }
    out.push_str(s.get(start..).unwrap_or(""));
}

/// A value from outside for an attribute this module writes (a country code as a key).
fn attr(s: &str) -> Cow<'_, str> {
    let shown = shown(s);
    if !shown.contains(['&', '<', '>', '"', '\'']) {
        return shown;
    }
    let mut out = String::with_capacity(shown.len() + 8);
    escape_into(&mut out, &shown);
    Cow::Owned(out)
}

/// The page's style: one column up to 1240 px, tables that stay readable at 1280 px and on
/// paper, and the Okabe–Ito colours (distinguishable with the common colour-vision
/// deficiencies), always beside a word.
const STYLE: &str = r#":root{--good:#0072B2;--warn:#E69F00;--bad:#D55E00;--none:#6b6b6b;--ink:#1d1d1f;--muted:#5f6368;--line:#d9dde1;--bg:#fff;--band:#f6f7f9;color-scheme:light}
*{box-sizing:border-box}
html{background:var(--bg);color:var(--ink);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Liberation Sans","DejaVu Sans",sans-serif}
body{margin:0}
main{max-width:1240px;margin:0 auto;padding:20px 24px 40px}
h1{font-size:26px;margin:0 0 12px;overflow-wrap:anywhere}
h1 .channel{font-weight:400;color:var(--muted)}
h2{font-size:19px;margin:32px 0 10px;padding-bottom:4px;border-bottom:2px solid var(--ink)}
h3{font-size:15px;margin:20px 0 8px;overflow-wrap:anywhere}
h4{font-size:13px;margin:14px 0 4px}
.tool{margin:0;color:var(--muted);text-transform:uppercase;letter-spacing:.08em;font-size:12px}
.verdicts{display:flex;gap:10px;flex-wrap:wrap;margin:0 0 10px}
.verdict{margin:0;padding:8px 14px;border-radius:6px;border:2px solid;font-size:14px}
.verdict b{font-size:17px;margin-right:8px}
.verdict.good{border-color:var(--good);background:#e3f0fa;color:#00456e}
.verdict.bad{border-color:var(--bad);background:#fbe6dc;color:#7d3000}
.summary{font-size:15px;max-width:70em;margin:8px 0 14px;overflow-wrap:anywhere}
.facts{display:grid;grid-template-columns:repeat(auto-fill,minmax(270px,1fr));gap:8px 24px;margin:0;padding:12px 14px;background:var(--band);border:1px solid var(--line);border-radius:6px}
.facts div{min-width:0}
.facts dt{font-size:12px;color:var(--muted);text-transform:uppercase;letter-spacing:.05em}
.facts dd{margin:0;overflow-wrap:anywhere}
.mono,.url,pre{font-family:"DejaVu Sans Mono","Liberation Mono",Menlo,Consolas,monospace}
.mono,.url{font-size:12px;overflow-wrap:anywhere}
.url{color:#3c4043}
.small{font-size:12px}
.muted{color:var(--muted)}
table{border-collapse:collapse;width:100%;margin:6px 0 10px}
th,td{text-align:left;vertical-align:top;padding:5px 8px;border-bottom:1px solid var(--line)}
thead th{font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted);border-bottom:2px solid var(--ink);background:var(--bg)}
tbody tr:nth-child(even){background:var(--band)}
td.num,th.num{text-align:right;white-space:nowrap}
td.who{min-width:16em;max-width:30em;overflow-wrap:anywhere}
td.reason{overflow-wrap:anywhere;min-width:14em}
td.cc,.cc{font-weight:600;white-space:nowrap}
ul.plain{list-style:none;margin:0;padding:0}
ul.plain li{margin:2px 0;overflow-wrap:anywhere}
.st{display:inline-block;white-space:nowrap;padding:1px 7px;border-radius:10px;border:1px solid;font-size:12px;font-weight:600}
.st-good{background:#e3f0fa;border-color:var(--good);color:#00456e}
.st-warn{background:#fdf1d6;border-color:var(--warn);color:#6e4a00}
.st-bad{background:#fbe6dc;border-color:var(--bad);color:#7d3000}
.st-none{background:#eeeeee;border-color:var(--none);color:#333}
.notices li{margin:3px 0;overflow-wrap:anywhere}
.mapbox{display:flex;gap:18px;align-items:flex-start;flex-wrap:wrap}
.mapbox svg.world{flex:1 1 760px;max-width:100%;height:auto;border:1px solid var(--line);border-radius:6px;background:#fff}
.legend{flex:0 0 200px;margin:0;padding:0;list-style:none}
.legend li{display:flex;align-items:center;gap:8px;margin:0 0 8px}
.legend svg{flex:0 0 auto}
.world .sphere{fill:#eef3f7;stroke:#c9d3dc;stroke-width:.8}
.world .land path:not(.sphere){fill:#dcdcdc;stroke:#fff;stroke-width:.4}
.world .c{stroke:#fff;stroke-width:.4}
.world circle.c{stroke:#1d1d1f;stroke-width:.8}
.v-all{fill:var(--good)}
.v-some{fill:var(--warn)}
.v-none{fill:url(#hatch-none)}
.v-empty{fill:#dcdcdc}
table.countries{max-width:900px}
.equivocation{border-left:4px solid var(--bad);padding:2px 0 2px 14px;margin:12px 0 20px}
pre.evidence{background:var(--band);border:1px solid var(--line);padding:8px 10px;font-size:12px;white-space:pre-wrap;overflow-wrap:anywhere;max-height:40em;overflow:auto}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(380px,1fr));gap:14px}
figure.lag{margin:0;padding:8px 10px;border:1px solid var(--line);border-radius:6px;break-inside:avoid}
figure.lag figcaption{overflow-wrap:anywhere}
figure.lag svg{display:block;width:100%;height:auto;margin:4px 0}
figure.lag p{margin:0;font-size:12px}
.chart .axis{stroke:#888;stroke-width:1}
.chart .grid{stroke:#e3e3e3;stroke-width:1}
.chart .line{fill:none;stroke:var(--good);stroke-width:1.6}
.chart .pt{fill:var(--good)}
.chart .nothing{fill:#fff;stroke:var(--bad);stroke-width:1.5}
.chart .change{stroke:#555;stroke-width:1;stroke-dasharray:3 2}
.chart .release{fill:#555}
.chart text{font-size:10px;fill:#444}
footer{margin-top:36px;padding-top:8px;border-top:1px solid var(--line);color:var(--muted);font-size:12px}
@media print{html{font-size:10pt}main{max-width:none;padding:0}*{-webkit-print-color-adjust:exact;print-color-adjust:exact}h2,h3,h4{break-after:avoid}tr,figure,.equivocation,.mapbox{break-inside:avoid}thead{display:table-header-group}pre.evidence{max-height:none;overflow:visible}}
"#;

#[cfg(test)]
mod tests;

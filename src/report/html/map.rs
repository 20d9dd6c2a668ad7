//! The world map: Natural Earth's country outlines (scripts/world-map.sh turns them into
//! `assets/world-110m.svg`, one element a line, keyed by ISO 3166-1 alpha-2), each
//! coloured by its country's verdict, and dots for the places too small to draw that have
//! mirrors.
//!
//! The asset is this crate's own file, checked in and read at compile time; it is still
//! read here as strictly as a line format can be (a line that does not fit is skipped, and a
//! test holds every line to the format), so a bad regeneration shows as a missing country,
//! never as markup in the page.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{Report, attr};
use crate::report::CountryReport;

const WORLD: &str = include_str!("../assets/world-110m.svg");

/// A country's colour on the map: the share of its mirrors that are ok.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    AllOk,
    SomeNotOk,
    NoneOk,
    NoMirrors,
}

impl Verdict {
    pub(super) fn of(c: &CountryReport) -> Verdict {
        if c.mirrors == 0 {
            Verdict::NoMirrors
        } else if c.ok == c.mirrors {
            Verdict::AllOk
        } else if c.ok > 0 {
            Verdict::SomeNotOk
        } else {
            Verdict::NoneOk
        }
    }

    /// The CSS class and `data-verdict` value.
    pub(super) fn key(self) -> &'static str {
        match self {
            Verdict::AllOk => "all-ok",
            Verdict::SomeNotOk => "some-not-ok",
            Verdict::NoneOk => "none-ok",
            Verdict::NoMirrors => "no-mirrors",
        }
    }

    fn class(self) -> &'static str {
        match self {
            Verdict::AllOk => "v-all",
            Verdict::SomeNotOk => "v-some",
            Verdict::NoneOk => "v-none",
            Verdict::NoMirrors => "v-empty",
        }
    }

    pub(super) fn label(self) -> &'static str {
        match self {
            Verdict::AllOk => "all mirrors ok",
            Verdict::SomeNotOk => "some mirrors not ok",
            Verdict::NoneOk => "no mirror ok",
            Verdict::NoMirrors => "no mirrors",
        }
    }

    const ALL: [Verdict; 4] = [
        Verdict::AllOk,
        Verdict::SomeNotOk,
        Verdict::NoneOk,
        Verdict::NoMirrors,
    ];
}

/// What the asset has for one country.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape<'a> {
    /// SVG path data of its outline.
    Outline(&'a str),
    /// Too small to draw at this scale: a dot at these coordinates.
    Dot(&'a str, &'a str),
    /// Not drawn (Antarctica, below the map's crop).
    Nowhere,
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Place<'a> {
    pub(super) cc: &'a str,
    /// XML-escaped already, by the generator.
    pub(super) name: &'a str,
    pub(super) shape: Shape<'a>,
}

/// The asset, read: places by code, and the lines drawn as they are (the sea, land no
/// code covers).
pub(super) struct Places {
    view_box: &'static str,
    by_code: BTreeMap<&'static str, Place<'static>>,
    /// Outlines first, then dots, as the asset orders them after sorting by code.
    order: Vec<&'static str>,
    backdrop: Vec<&'static str>,
}

impl Places {
    pub(super) fn parse() -> Places {
        parse_asset(WORLD)
    }

    pub(super) fn name(&self, cc: &str) -> Option<&'static str> {
        self.by_code.get(cc).map(|p| p.name)
    }

    pub(super) fn on_map(&self, cc: &str) -> bool {
        self.by_code
            .get(cc)
            .is_some_and(|p| !matches!(p.shape, Shape::Nowhere))
    }

    #[cfg(test)]
    pub(super) fn get(&self, cc: &str) -> Option<&Place<'static>> {
        self.by_code.get(cc)
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.by_code.len()
    }
}

pub(super) fn parse_asset(asset: &'static str) -> Places {
    let mut places = Places {
        view_box: "0 0 1000 500",
        by_code: BTreeMap::new(),
        order: Vec::new(),
        backdrop: Vec::new(),
    };
    for line in asset.lines() {
        if line.starts_with("<svg ") {
            if let Some(v) = between(line, "viewBox=\"", "\"") {
                places.view_box = v;
            }
            continue;
        }
        if let Some(place) = parse_place(line) {
            if places.by_code.insert(place.cc, place).is_none() {
                places.order.push(place.cc);
            }
        } else if is_backdrop(line) {
            places.backdrop.push(line);
        }
    }
    places
}

/// One country line of the asset, in one of the generator's three forms.
pub(super) fn parse_place(line: &str) -> Option<Place<'_>> {
    let (shape, rest) = if let Some(rest) = line.strip_prefix("<path data-cc=\"") {
        let (cc, rest) = rest.split_once("\" d=\"")?;
        let (d, rest) = rest.split_once("\"><title>")?;
        if !d.bytes().all(|b| b"Mlz0123456789.- ".contains(&b)) {
            return None;
        }
        (
            Shape::Outline(d),
            (cc, rest.strip_suffix("</title></path>")?),
        )
    } else if let Some(rest) = line.strip_prefix("<circle data-cc=\"") {
        let (cc, rest) = rest.split_once("\" cx=\"")?;
        let (cx, rest) = rest.split_once("\" cy=\"")?;
        let (cy, rest) = rest.split_once("\" r=\"")?;
        let (_, rest) = rest.split_once("\"><title>")?;
        if !number(cx) || !number(cy) {
            return None;
        }
        (
            Shape::Dot(cx, cy),
            (cc, rest.strip_suffix("</title></circle>")?),
        )
    } else if let Some(rest) = line.strip_prefix("<g data-cc=\"") {
        let (cc, rest) = rest.split_once("\"><title>")?;
        (Shape::Nowhere, (cc, rest.strip_suffix("</title></g>")?))
    } else {
        return None;
    };
    let (cc, name) = rest;
    let code_ok = cc.len() == 2 && cc.bytes().all(|b| b.is_ascii_uppercase());
    // Names are XML-escaped by the generator: no markup may start inside one.
    let name_ok = !name.contains(['<', '>', '"']);
    (code_ok && name_ok).then_some(Place { cc, name, shape })
}

/// The lines drawn as they are: the sea's outline, and land that no code covers (path
/// data and a title only).
fn is_backdrop(line: &str) -> bool {
    if let Some(d) = line
        .strip_prefix("<path class=\"sphere\" d=\"")
        .and_then(|r| r.strip_suffix("\"/>"))
    {
        return d.bytes().all(|b| b"MLlz0123456789.- ".contains(&b));
    }
    let Some(rest) = line.strip_prefix("<path d=\"") else {
        return false;
    };
    let Some((d, rest)) = rest.split_once("\"><title>") else {
        return false;
    };
    let Some(name) = rest.strip_suffix("</title></path>") else {
        return false;
    };
    d.bytes().all(|b| b"Mlz0123456789.- ".contains(&b)) && !name.contains(['<', '>', '"'])
}

fn number(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b"0123456789.-".contains(&b))
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let rest = s.split_once(start)?.1;
    Some(rest.split_once(end)?.0)
}

/// The map and its legend. Countries with mirrors take their verdict's colour; every
/// other outline stays grey; dots are drawn only for small places that have mirrors (a
/// hundred grey dots would say nothing).
pub(super) fn world(out: &mut String, report: &Report, places: &Places) {
    let mut counts = [0usize; 4];
    for c in report.countries.values() {
        let v = Verdict::of(c);
        if let Some(i) = Verdict::ALL.iter().position(|x| *x == v) {
            counts[i] += 1;
        }
    }
    let _ = write!(
        out,
        "<div class=\"mapbox\">\n<svg class=\"world\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"{}\" role=\"img\" aria-labelledby=\"map-title\"><title id=\"map-title\">Countries coloured by verdict: {} all ok, {} some not ok, {} none ok</title>\n",
        places.view_box, counts[0], counts[1], counts[2]
    );
    out.push_str(HATCH);
    out.push_str("<g class=\"land\">\n");
    for line in &places.backdrop {
        out.push_str(line);
        out.push('\n');
    }
    out.push_str("</g>\n");
    let mut dots = String::new();
    for cc in &places.order {
        let Some(place) = places.by_code.get(cc) else {
            continue;
        };
        let country = report.countries.get(*cc);
        let verdict = country.map_or(Verdict::NoMirrors, Verdict::of);
        match place.shape {
            Shape::Outline(d) => {
                let _ = write!(
                    out,
                    "<path class=\"c {}\" data-cc=\"{}\" data-verdict=\"{}\" d=\"{d}\">",
                    verdict.class(),
                    place.cc,
                    verdict.key()
                );
                title(out, place, country, verdict);
                out.push_str("</path>\n");
            }
            Shape::Dot(cx, cy) if country.is_some() => {
                let _ = write!(
                    dots,
                    "<circle class=\"c dot {}\" data-cc=\"{}\" data-verdict=\"{}\" cx=\"{cx}\" cy=\"{cy}\" r=\"5\">",
                    verdict.class(),
                    place.cc,
                    verdict.key()
                );
                title(&mut dots, place, country, verdict);
                dots.push_str("</circle>\n");
            }
            Shape::Dot(..) | Shape::Nowhere => {}
        }
    }
    // On top of every outline, so that a country's dot is never hidden by a neighbour.
    out.push_str(&dots);
    out.push_str("</svg>\n<ul class=\"legend\">\n");
    for (v, n) in Verdict::ALL.iter().zip(counts) {
        out.push_str("<li>");
        swatch(out, *v);
        out.push_str("<span>");
        out.push_str(v.label());
        if *v != Verdict::NoMirrors {
            let _ = write!(out, " ({n})");
        }
        out.push_str("</span></li>\n");
    }
    let off_map: Vec<&String> = report
        .countries
        .keys()
        .filter(|cc| !places.on_map(cc))
        .collect();
    if !off_map.is_empty() {
        out.push_str("<li class=\"small muted\">not on the map: ");
        for (i, cc) in off_map.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push_str(&attr(cc));
        }
        out.push_str(" (see the table)</li>\n");
    }
    out.push_str("</ul>\n</div>\n");
}

fn title(out: &mut String, place: &Place<'_>, country: Option<&CountryReport>, verdict: Verdict) {
    let _ = write!(out, "<title>{} ({}): ", place.name, place.cc);
    match country {
        Some(c) => {
            let _ = write!(out, "{} of {} ok, {}", c.ok, c.mirrors, verdict.label());
        }
        None => out.push_str("no mirrors"),
    }
    out.push_str("</title>");
}

/// A small square in a verdict's fill, for the legend and the country table.
pub(super) fn swatch(out: &mut String, v: Verdict) {
    let _ = write!(
        out,
        "<svg class=\"swatch\" width=\"14\" height=\"14\" viewBox=\"0 0 14 14\" aria-hidden=\"true\"><rect class=\"{}\" x=\".5\" y=\".5\" width=\"13\" height=\"13\" stroke=\"#1d1d1f\" stroke-width=\".6\"/></svg> ",
        v.class()
    );
}

/// "No mirror ok" is hatched as well as coloured: it must not rest on telling orange from
/// vermillion.
const HATCH: &str = "<defs><pattern id=\"hatch-none\" width=\"5\" height=\"5\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\"><rect width=\"5\" height=\"5\" fill=\"#D55E00\"/><rect width=\"1.6\" height=\"5\" fill=\"#fff\" fill-opacity=\".75\"/></pattern></defs>\n";

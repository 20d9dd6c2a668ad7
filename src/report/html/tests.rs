use std::collections::BTreeMap;

use super::chart::{self, LEFT, MAX_POINTS, RIGHT, Scale, WIDTH};
use super::map::{self, Places, Shape};
use super::*;
use crate::report::{
    EquivocationCopy, EquivocationReport, LagPoint, LatestReport, MirrorReport, TargetedReport,
    VantageReport,
};
use crate::text::is_unsafe;

/// The integration tests' reading of a page's outside references, so both judge alike.
#[path = "../../../tests/common/outside.rs"]
mod outside;
use outside::outside_references;

const HOSTILE: &str =
    "<script>document.title='pwned'</script>\u{1b}]0;x\u{7}\u{202e}gpj.exe\u{9b}\"'&";

fn mirror(
    name: &str,
    url: &str,
    country: &str,
    status: Status,
    version: Option<u64>,
) -> MirrorReport {
    MirrorReport {
        url: url.into(),
        country: country.into(),
        name: Some(name.into()),
        status,
        version,
        payload_sha256: version.map(|v| format!("{v:064x}")),
        signers: Vec::new(),
        published: None,
        documents: BTreeMap::new(),
        artifacts: Vec::new(),
        elapsed_ms: 12,
        error: (status != Status::Ok).then(|| format!("{} because of reasons", status.as_str())),
        vantage: None,
        address: None,
        carried_by: None,
        out_of_reach: false,
    }
}

fn report(mirrors: Vec<MirrorReport>) -> Report {
    let mut r = Report {
        latest: Some(LatestReport {
            version: 4,
            payload_sha256: "ab".repeat(32),
            published: Some("2026-12-01T10:00:00Z".into()),
            signers: vec!["key1".into(), "key2".into()],
            release_keys: 3,
            equivocated: false,
        }),
        mirrors,
        artifacts_mode: "full",
        ..Report::new("exampleos", "stable", "2026-12-02T10:00:00Z")
    };
    r.summarise();
    r
}

fn world_report() -> Report {
    report(vec![
        mirror("fr-1", "https://fr1.example/", "FR", Status::Ok, Some(4)),
        mirror("fr-2", "https://fr2.example/", "FR", Status::Ok, Some(4)),
        mirror("de-1", "https://de1.example/", "DE", Status::Ok, Some(4)),
        mirror("de-2", "https://de2.example/", "DE", Status::Stale, Some(3)),
        mirror(
            "ru-1",
            "https://ru1.example/",
            "RU",
            Status::Unreachable,
            None,
        ),
        mirror("sg-1", "https://sg1.example/", "SG", Status::Ok, Some(4)),
        mirror(
            "zz-1",
            "https://zz1.example/",
            "ZZ",
            Status::Corrupt,
            Some(4),
        ),
    ])
}

#[test]
fn the_page_names_every_mirror_and_status_and_loads_nothing() {
    let html = Html::default().show(&world_report());
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains(CONTENT_SECURITY_POLICY));
    for name in ["fr-1", "fr-2", "de-1", "de-2", "ru-1", "sg-1", "zz-1"] {
        assert!(
            html.contains(&format!("<b class=\"name\">{name}</b>")),
            "{name}"
        );
    }
    for st in ["ok", "stale", "unreachable", "corrupt"] {
        assert!(
            html.contains(&format!("<tr class=\"mirror\" data-status=\"{st}\">")),
            "{st}"
        );
    }
    assert_eq!(outside_references(&html), Vec::<String>::new());
    assert!(!html.contains("<script"), "no script of its own");
    assert!(!html.contains("<img"), "no images to fetch");
    // Not OK (a stale mirror), not independent (RU serves nothing).
    assert!(html.contains("data-verdict=\"not-ok\""));
    assert!(html.contains("data-verdict=\"not-independent\""));
}

#[test]
fn countries_are_coloured_by_their_verdict() {
    let html = Html::default().show(&world_report());
    let path = |cc: &str, verdict: &str| {
        let class = match verdict {
            "all-ok" => "v-all",
            "some-not-ok" => "v-some",
            "none-ok" => "v-none",
            _ => "v-empty",
        };
        format!("class=\"c {class}\" data-cc=\"{cc}\" data-verdict=\"{verdict}\"")
    };
    assert!(html.contains(&format!("<path {}", path("FR", "all-ok"))));
    assert!(html.contains(&format!("<path {}", path("DE", "some-not-ok"))));
    assert!(html.contains(&format!("<path {}", path("RU", "none-ok"))));
    assert!(html.contains(&format!("<path {}", path("BR", "no-mirrors"))));
    // Singapore is too small for 1:110m: a dot, drawn because it has a mirror.
    assert!(html.contains(&format!(
        "<circle {}",
        path("SG", "all-ok").replace("c v-all", "c dot v-all")
    )));
    // Small places without mirrors get no dot.
    assert!(!html.contains("data-cc=\"MC\""));
    // ZZ is no place: in the table, and named as off the map.
    assert!(html.contains("<tr data-cc=\"ZZ\" data-verdict=\"none-ok\">"));
    assert!(html.contains("not on the map: ZZ"));
    assert!(html.contains("all mirrors ok (2)"), "FR and SG");
    assert!(html.contains("some mirrors not ok (1)"));
    assert!(html.contains("no mirror ok (2)"), "RU and ZZ");
    assert!(html.contains("<title>Germany (DE): 1 of 2 ok, some mirrors not ok</title>"));
}

#[test]
fn text_from_outside_is_escaped_and_made_visible_everywhere() {
    let mut m = mirror(
        HOSTILE,
        &format!("https://x.example/{HOSTILE}"),
        "FR",
        Status::Invalid,
        None,
    );
    m.error = Some(format!("bad signature {HOSTILE}"));
    m.vantage = Some(format!("v{HOSTILE}"));
    let mut r = report(vec![m]);
    r.profile = format!("p{HOSTILE}");
    r.channel = format!("c{HOSTILE}");
    r.notices = vec![format!("note {HOSTILE}")];
    r.equivocations = vec![EquivocationReport {
        kind: Some(format!("k{HOSTILE}")),
        version: 4,
        payload_sha256: vec![format!("d{HOSTILE}")],
        mirrors: vec![format!("https://x.example/{HOSTILE}")],
        with_state: false,
        evidence: vec![format!("line one {HOSTILE}\nline two\u{2028}{HOSTILE}")],
        copies: vec![EquivocationCopy {
            digest: format!("d{HOSTILE}"),
            mirrors: vec![format!("https://x.example/{HOSTILE}")],
            state: false,
            vantages: vec![format!("v{HOSTILE}")],
        }],
        vantages: vec![format!("v{HOSTILE}")],
    }];
    r.targeted = Some(vec![TargetedReport {
        url: format!("https://x.example/{HOSTILE}"),
        statuses: BTreeMap::from([(format!("v{HOSTILE}"), Status::Invalid)]),
    }]);
    r.vantages = vec![VantageReport {
        name: format!("v{HOSTILE}"),
        kind: crate::vantage::Kind::Direct,
        country: "FR".into(),
        country_source: crate::vantage::CountrySource::Configuration,
        status: VantageStatus::Degraded,
        reason: Some(format!("r{HOSTILE}")),
        proxy: None,
        entries: 1,
        reached: 0,
    }];
    let html = Html {
        lag: Some(vec![LagSeries {
            url: format!("https://x.example/{HOSTILE}"),
            name: Some(HOSTILE.into()),
            country: format!("F{HOSTILE}"),
            vantage: format!("v{HOSTILE}"),
            points: vec![LagPoint {
                at: 1_800_000_000,
                latest_version: 4,
                serving_version: None,
                lag_seconds: 60,
            }],
        }]),
    }
    .show(&r);
    // Only the page's own line breaks; nothing a terminal or a bidi algorithm obeys.
    if let Some((i, c)) = html
        .char_indices()
        .find(|&(_, c)| is_unsafe(c) && c != '\n')
    {
        panic!(
            "U+{:04X} raw at {i}: {}",
            c as u32,
            &html[i.saturating_sub(80)..i]
        );
    }
    assert!(!html.contains("<script"), "{html}");
    assert!(!html.contains("'pwned'"));
    assert!(html.contains("&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;"));
    assert!(html.contains("\\u{202e}gpj.exe"));
    assert!(html.contains("\\u{1b}]0;x\\u{7}"));
    assert!(html.contains("\\u{2028}"), "inside evidence too");
    // Every kind of place the text goes to received it escaped.
    let escaped = "&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;\\u{1b}]0;x\\u{7}\\u{202e}gpj.exe\\u{9b}&quot;&#39;&amp;";
    for (what, prefix) in [
        ("profile", "p"),
        ("channel", "c"),
        ("notice", "note "),
        ("vantage", "v"),
        ("kind", "k"),
        ("digest", "d"),
        ("vantage reason", "r"),
        ("lag country", "F"),
        ("reason", "bad signature "),
        ("url", "https://x.example/"),
    ] {
        assert!(html.contains(&format!("{prefix}{escaped}")), "{what}");
    }
    assert_eq!(outside_references(&html), Vec::<String>::new());
}

#[test]
fn long_outside_text_is_cut() {
    let mut m = mirror("m", "https://m.example/", "FR", Status::Invalid, None);
    m.error = Some("x".repeat(1_000_000));
    let html = Html::default().show(&report(vec![m]));
    assert!(html.len() < 200_000, "{}", html.len());
    assert!(html.contains(&format!("{} […]", "x".repeat(MAX_FIELD_CHARS))));
}

#[test]
fn the_map_asset_is_every_country_in_the_expected_form() {
    let asset = include_str!("../assets/world-110m.svg");
    assert!(asset.len() < 150 * 1024, "{} bytes", asset.len());
    assert!(asset.contains("Natural Earth") && asset.contains("world-atlas 2.0.2"));
    assert!(asset.contains("scripts/world-map.sh"));
    // Every line is the header, a place, the sea or land without a code: nothing else can
    // reach the page.
    let mut in_comment = false;
    for line in asset.lines() {
        if line.starts_with("<!--") {
            in_comment = !line.ends_with("-->");
            continue;
        }
        if in_comment {
            in_comment = !line.ends_with("-->");
            continue;
        }
        let known = line.starts_with("<svg ")
            || line == "</svg>"
            || map::parse_place(line).is_some()
            || line.starts_with("<path class=\"sphere\"")
            || line.starts_with("<path d=\"");
        assert!(known, "unexpected line: {}", &line[..line.len().min(120)]);
    }
    let places = Places::parse();
    // Every code mirrorproof accepts has a name, and a shape or a reason for none.
    let codes: Vec<String> = (b'A'..=b'Z')
        .flat_map(|a| (b'A'..=b'Z').map(move |b| String::from_utf8(vec![a, b]).unwrap()))
        .filter(|cc| crate::country::iso_code(cc) == Some(cc.as_str()) && cc != "ZZ")
        .collect();
    assert!(codes.len() > 240, "{}", codes.len());
    for cc in &codes {
        assert!(places.get(cc).is_some(), "{cc} missing from the map asset");
    }
    assert_eq!(places.len(), codes.len());
    let outlines = codes
        .iter()
        .filter(|cc| {
            places
                .get(cc)
                .is_some_and(|p| matches!(p.shape, Shape::Outline(_)))
        })
        .count();
    assert!(outlines >= 170, "{outlines}");
    assert!(matches!(
        places.get("SG").map(|p| p.shape),
        Some(Shape::Dot(..))
    ));
    assert!(matches!(
        places.get("AQ").map(|p| p.shape),
        Some(Shape::Nowhere)
    ));
    // French Guiana is its own place, not part of France's outline.
    assert!(matches!(
        places.get("GF").map(|p| p.shape),
        Some(Shape::Outline(_))
    ));
    assert_eq!(places.name("DE"), Some("Germany"));
}

#[test]
fn a_place_line_that_does_not_fit_the_form_is_refused() {
    assert!(
        map::parse_place("<path data-cc=\"DE\" d=\"M1 2l3 4z\"><title>Germany</title></path>")
            .is_some()
    );
    for bad in [
        "<path data-cc=\"DE\" d=\"M1 2\" onload=\"x\"><title>Germany</title></path>",
        "<path data-cc=\"de\" d=\"M1 2z\"><title>Germany</title></path>",
        "<path data-cc=\"DE\" d=\"M1 2z\"><title>Ger<script>many</title></path>",
        "<circle data-cc=\"SG\" cx=\"1\" cy=\"x\" r=\"4\"><title>Singapore</title></circle>",
        "<g data-cc=\"AQ\"><title>Antarctica</title></g><script>",
    ] {
        assert!(map::parse_place(bad).is_none(), "{bad}");
    }
}

fn series(points: &[(i64, u64, Option<u64>, u64)]) -> LagSeries {
    LagSeries {
        url: "https://m.example/".into(),
        name: Some("m".into()),
        country: "DE".into(),
        vantage: "direct".into(),
        points: points
            .iter()
            .map(
                |&(at, latest_version, serving_version, lag_seconds)| LagPoint {
                    at,
                    latest_version,
                    serving_version,
                    lag_seconds,
                },
            )
            .collect(),
    }
}

fn chart_of(s: &LagSeries) -> String {
    let mut out = String::new();
    chart::lag_chart(&mut out, s);
    out
}

/// The `d` of the lag line, as (x, y) pairs.
fn line_points(svg: &str) -> Vec<(f64, f64)> {
    let d = svg
        .split_once("<path class=\"line\" d=\"")
        .and_then(|(_, r)| r.split_once('"'))
        .map(|(d, _)| d)
        .expect("a lag line");
    d.split(['M', 'L'])
        .filter(|s| !s.is_empty())
        .map(|pair| {
            let pair = pair.trim_end_matches("h1");
            let (x, y) = pair.split_once(' ').expect("x y");
            (x.parse().expect("x"), y.parse().expect("y"))
        })
        .collect()
}

#[test]
fn a_lag_chart_puts_time_across_and_lag_up() {
    const H: i64 = 3600;
    let t = 1_800_000_000;
    // v3 everywhere; v4 appears at t+1h; this mirror takes it at t+4h.
    let s = series(&[
        (t, 3, Some(3), 0),
        (t + H, 4, Some(3), 0),
        (t + 2 * H, 4, Some(3), 3600),
        (t + 3 * H, 4, None, 7200),
        (t + 4 * H, 4, Some(4), 0),
    ]);
    let svg = chart_of(&s);
    let pts = line_points(&svg);
    assert_eq!(pts.len(), 5);
    let (bottom, top) = (chart::HEIGHT - chart::BOTTOM, chart::TOP);
    assert_eq!(pts[0], (LEFT, bottom));
    assert_eq!(pts[4], (WIDTH - RIGHT, bottom));
    // The worst lag is the top of the chart; half of it, half way up.
    assert_eq!(pts[3].1, top);
    assert!(
        (pts[2].1 - (bottom + top) / 2.0).abs() < 0.06,
        "{:?}",
        pts[2]
    );
    // Evenly spaced runs, evenly spaced points.
    let step = (WIDTH - LEFT - RIGHT) / 4.0;
    for (i, (x, _)) in pts.iter().enumerate() {
        assert!((x - (LEFT + step * i as f64)).abs() < 0.06, "{i}: {x}");
    }
    // What it served changed three times after the first: 3 → nothing → 4.
    assert_eq!(svg.matches("<line class=\"change\"").count(), 3);
    assert!(svg.contains(">v3</text>"));
    assert!(svg.contains(">nothing valid</text>"));
    // Release 4 first seen at the second run: one tick.
    assert_eq!(svg.matches("<path class=\"release\"").count(), 1);
    assert!(svg.contains("release 4 first seen by 2027-01-15 09:00"));
    // One hollow point, where it served nothing valid.
    assert_eq!(svg.matches("<circle class=\"nothing\"").count(), 1);
    assert!(svg.contains("Worst lag 2h over 5 observations."));
    assert!(svg.contains("serves the latest release 4"));
    assert!(
        svg.contains(">2h</text>"),
        "the y axis is labelled with the worst lag"
    );
}

#[test]
fn a_mirror_still_behind_says_so_under_its_chart() {
    let t = 1_800_000_000;
    let s = series(&[(t + 7200, 5, Some(4), 90_000), (t, 5, Some(4), 82_800)]);
    let svg = chart_of(&s);
    // Out of order in, in order drawn.
    let pts = line_points(&svg);
    assert_eq!(pts[0].0, LEFT);
    assert_eq!(pts[1].1, chart::TOP);
    assert!(
        svg.contains("serves 4, latest 5, <b>1d 1h behind</b>"),
        "{svg}"
    );
}

#[test]
fn one_observation_and_none_are_still_drawn_or_said() {
    let s = series(&[(1_800_000_000, 4, Some(4), 0)]);
    let svg = chart_of(&s);
    assert_eq!(line_points(&svg).len(), 1);
    assert!(svg.contains("h1\""), "a visible stroke");
    assert!(svg.contains("over 1 observation."));
    assert_eq!(chart_of(&series(&[])), "<p>No observation yet.</p>\n");
}

#[test]
fn a_long_history_is_thinned_but_keeps_its_worst_lag_and_changes() {
    let t0 = 1_800_000_000;
    let n = 100_000;
    let mut pts: Vec<(i64, u64, Option<u64>, u64)> = (0..n)
        .map(|i| (t0 + i * 60, 4, Some(4), (i as u64 % 97) * 10))
        .collect();
    // One spike and one version change, somewhere in the middle.
    pts[54_321].3 = 1_000_000;
    pts[77_777].2 = Some(3);
    let s = series(&pts);
    let svg = chart_of(&s);
    let drawn = line_points(&svg);
    assert!(drawn.len() <= 2 * MAX_POINTS, "{}", drawn.len());
    assert!(drawn.len() >= MAX_POINTS / 2, "{}", drawn.len());
    assert!(
        drawn.iter().any(|&(_, y)| y == chart::TOP),
        "the spike is drawn"
    );
    assert_eq!(
        drawn.last().map(|p| p.0),
        Some(WIDTH - RIGHT),
        "so is the last run"
    );
    assert!(svg.contains(">v3</text>") || svg.matches("<line class=\"change\"").count() >= 3);
    assert!(svg.len() < 64 * 1024, "{}", svg.len());
    assert!(svg.contains(&format!("over {n} observations ({} drawn)", drawn.len())));

    // A mirror that flips version at every run cannot make the chart long either.
    let flips: Vec<_> = (0..n)
        .map(|i| (t0 + i * 60, 4, Some(3 + (i as u64 % 2)), 0))
        .collect();
    let svg = chart_of(&series(&flips));
    assert!(line_points(&svg).len() <= 2 * MAX_POINTS);
}

#[test]
fn scales_clamp_and_survive_degenerate_input() {
    let s = Scale::new(100, 100, 0);
    assert_eq!(s.x(100), LEFT);
    assert_eq!(s.y(0), chart::HEIGHT - chart::BOTTOM);
    let s = Scale::new(i64::MIN, i64::MAX, u64::MAX);
    assert!(s.x(0).is_finite() && s.y(u64::MAX).is_finite());
}

#[test]
fn durations_read_in_two_units() {
    assert_eq!(chart::duration(0), "0s");
    assert_eq!(chart::duration(59), "59s");
    assert_eq!(chart::duration(60 * 12), "12m");
    assert_eq!(chart::duration(3600 * 5 + 600), "5h 10m");
    assert_eq!(chart::duration(3600 * 5), "5h");
    assert_eq!(chart::duration(86_400 * 3 + 3600 * 4 + 7), "3d 4h");
    assert_eq!(chart::duration(86_400 * 2 + 59), "2d");
}

#[test]
fn ten_thousand_mirrors_make_a_page_of_reasonable_size() {
    let size = |n: usize| {
        let countries = ["FR", "DE", "US", "JP", "BR", "SG", "ZA", "IN"];
        let mirrors = (0..n)
            .map(|i| {
                let st = if i % 7 == 0 {
                    Status::Stale
                } else {
                    Status::Ok
                };
                mirror(
                    &format!("mirror-{i}"),
                    &format!("https://m{i}.example/pub/"),
                    countries[i % countries.len()],
                    st,
                    Some(4),
                )
            })
            .collect();
        let html = Html::default().show(&report(mirrors));
        assert!(html.contains(&format!("<b class=\"name\">mirror-{}</b>", n - 1)));
        html.len()
    };
    let ten = size(10_000);
    let twenty = size(20_000);
    assert!(ten < 12 * 1024 * 1024, "{ten} bytes");
    // Linear: twice the mirrors, about twice the page (the fixed part is the map).
    let per_mirror = (twenty - ten) as f64 / 10_000.0;
    assert!(per_mirror < 800.0, "{per_mirror} bytes a mirror");
    assert!((ten as f64) < 150_000.0 + per_mirror * 10_000.0 * 1.1);
}

#[test]
fn the_reference_check_reads_markup_not_text() {
    let page = "<style>a{background:url(#x)} b{background:url(https://a.example/)}</style>\
        <p>&lt;img src=x&gt; url(y)</p><img src=\"http://a.example/\"><a href='#top'>t</a>\
        <link rel=icon href=\"data:,\">";
    let bad = outside_references(page);
    assert_eq!(bad.len(), 2, "{bad:?}");
    assert!(
        bad[0].starts_with("src=\"http://a.example/")
            || bad[1].starts_with("src=\"http://a.example/")
    );
}

#[test]
fn a_mirror_never_behind_has_no_top_label() {
    let t = 1_800_000_000;
    let svg = chart_of(&series(&[(t, 4, Some(4), 0), (t + 60, 4, Some(4), 0)]));
    assert!(svg.contains(">0</text>"));
    assert!(!svg.contains(">1s</text>"), "{svg}");
    assert!(svg.contains("Worst lag 0s"));
}

#[test]
fn each_vantage_gets_its_table_with_carriers_and_addresses_where_present() {
    use crate::vantage::{Carrier, CountrySource, Kind, globalping::Probe, tor::ExitRelay};
    let entry = |name: &str, vantage: &str, status: Status| {
        let mut m = mirror(
            name,
            &format!("https://{name}.example/"),
            "DE",
            status,
            Some(4),
        );
        m.vantage = Some(vantage.into());
        m
    };
    let mut direct = entry("a", "direct", Status::Ok);
    direct.address = Some("192.0.2.7".into());
    let mut tor = entry("a", "tor-fr", Status::Stale);
    tor.carried_by = Some(Carrier::Tor {
        exits: vec![ExitRelay {
            fingerprint: "AB".repeat(20),
            nickname: "exit1".into(),
            address: "198.51.100.9".into(),
            country: Some("FR".into()),
        }],
    });
    let mut probe = entry("a", "gp-jp", Status::Ok);
    probe.carried_by = Some(Carrier::Globalping {
        probes: vec![Probe {
            country: "JP".into(),
            city: Some("Tokyo <b>".into()),
            asn: Some(64500),
            network: Some("Example Net".into()),
        }],
        first_hand: false,
    });
    let vantage = |name: &str, kind, status| VantageReport {
        name: name.into(),
        kind,
        country: "FR".into(),
        country_source: CountrySource::TorGeoip,
        status,
        reason: None,
        proxy: None,
        entries: 1,
        reached: 1,
    };
    let mut r = report(vec![direct, tor, probe]);
    r.vantages = vec![
        vantage("direct", Kind::Direct, VantageStatus::Ok),
        vantage("tor-fr", Kind::Tor, VantageStatus::Degraded),
        vantage("gp-jp", Kind::Globalping, VantageStatus::Ok),
    ];
    let html = Html::default().show(&r);
    let section = html.split_once("<section id=\"mirrors\">").unwrap().1;
    let tables: Vec<&str> = section.split("<h3>Through vantage ").skip(1).collect();
    assert_eq!(tables.len(), 3);
    assert!(tables[0].starts_with("direct</h3>"));
    assert!(tables[0].contains("<th>Address</th>") && tables[0].contains("192.0.2.7"));
    assert!(!tables[0].contains("<th>Carried by</th>"));
    assert!(tables[1].starts_with("tor-fr <span class=\"st st-warn\">! degraded</span></h3>"));
    assert!(tables[1].contains(&format!(
        "Tor exit exit1 {} (198.51.100.9, FR)",
        "AB".repeat(20)
    )));
    assert!(tables[2].contains(
        "Globalping probe in JP (Tokyo &lt;b&gt;), Example Net AS64500 — a third party&#39;s measurement"
    ));
    // The vantage table says which one is degraded, in words.
    assert!(html.contains("<tr data-vantage-status=\"degraded\"><td><b>tor-fr</b></td><td><span class=\"st st-warn\">! DEGRADED</span>"));
    assert!(html.contains("3 checks through 3 vantages"));
}

#[test]
fn chart_times_are_as_precise_as_the_span_needs() {
    // 2026-12-02T10:00:07Z
    let at = 1_796_205_607;
    assert_eq!(chart::date(at, 30), "2026-12-02 10:00:07");
    assert_eq!(chart::date(at, 7200), "2026-12-02 10:00");
    assert_eq!(chart::date(at, 10 * 86_400), "2026-12-02");
}

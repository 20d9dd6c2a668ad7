//! The HTML report (`check --format html --output FILE`) as a browser shows it: real
//! headless Chromium loads the page the binary wrote, from a loopback server that logs every
//! request, and the tests read the DOM Chromium built and a screenshot it took.
//!
//! What must hold: the page names every mirror with its status, colours the countries of
//! the report on the map, shows equivocation evidence, asks no one for anything when opened
//! (one request: the page itself), and never runs or shows raw what a hostile mirror list
//! put in a name. The screenshot of the main scenario is copied to `target/html-report.png`
//! for people to look at.

mod common;

use std::path::{Path, PathBuf};

use common::binary::run_in;
use common::chromium::{Chromium, PageServer, png_size};
use common::outside::outside_references;
use common::*;
use mirrorproof::text::{is_unsafe, shown, toml_string};

/// A mirror name that would run a script, retitle a terminal and reverse text, if any of
/// it reached the page raw.
const HOSTILE: &str =
    "<script>document.title='pwned'</script><img src=x>\u{1b}]0;x\u{7}\u{202e}gpj.exe";

/// A world of loopback HTTP mirrors in six countries: ok, stale, tampered and unreachable
/// ones, a small state (Singapore: a dot, not an outline) and a hostile name.
struct Scenario {
    w: World,
    /// (name, country, expected status).
    mirrors: Vec<(String, &'static str, &'static str)>,
    profile: PathBuf,
}

fn scenario() -> Scenario {
    let mut w = World::new();
    // The binary judges at wall-clock time.
    w.now = mirrorproof::time::now();
    let genuine = genuine(&w);
    let older = older(&w);
    let mut mirrors = Vec::new();
    let mut add =
        |w: &mut World, name: &str, cc: &'static str, serves: &Release, st: &'static str| {
            w.mirror(name, cc).serves(serves).over_http();
            mirrors.push((name.to_owned(), cc, st));
        };
    add(&mut w, "fr-paris", "FR", &genuine, "ok");
    add(&mut w, "fr-lyon", "FR", &older, "stale");
    add(&mut w, "de-berlin", "DE", &genuine, "ok");
    add(&mut w, "de-tampered", "DE", &genuine, "corrupt");
    w.on("de-tampered").tamper_artifact(ZIP);
    add(&mut w, "jp-tokyo", "JP", &genuine, "unreachable");
    w.on("jp-tokyo").stop_http();
    add(&mut w, "br-saopaulo", "BR", &older, "stale");
    add(&mut w, "us-east", "US", &genuine, "ok");
    add(&mut w, "sg-1", "SG", &genuine, "ok");
    add(&mut w, "nl-hostile", "NL", &genuine, "ok");
    // The hostile name is the profile's label for nl-hostile.
    let mut text = format!(
        "name = \"exampleos\"\nroot = {}\nchannel = \"stable\"\n",
        toml_string(&w.pinned_path().display().to_string())
    );
    for (name, cc, _) in &mirrors {
        let label = if name == "nl-hostile" {
            format!("nl {HOSTILE}")
        } else {
            name.clone()
        };
        text.push_str(&format!(
            "[[mirrors]]\nurl = {}\ncountry = {}\nname = {}\n",
            toml_string(&w.url_of(name)),
            toml_string(cc),
            toml_string(&label)
        ));
    }
    let profile = w.path().join("profile.toml");
    std::fs::write(&profile, text).unwrap();
    Scenario {
        w,
        mirrors,
        profile,
    }
}

/// Runs `check --format html --output page.html` and returns the page.
fn html_of(w: &World, profile: &Path) -> String {
    let page = w.path().join("page.html");
    let out = run_in(
        w.path(),
        &[
            "check".as_ref(),
            profile.as_os_str(),
            "--no-state".as_ref(),
            "--timeout".as_ref(),
            "10".as_ref(),
            "--format".as_ref(),
            "html".as_ref(),
            "--output".as_ref(),
            page.as_os_str(),
        ],
    );
    // Not every mirror is ok: exit 1, and the report went to the file, not stdout.
    assert_eq!(out.code, Some(1), "{}", out.describe());
    assert!(out.stdout.is_empty(), "{}", out.describe());
    std::fs::read_to_string(&page).expect("the page was written")
}

/// The mirror rows of a DOM, each as its markup.
fn rows(dom: &str) -> Vec<&str> {
    dom.split("<tr class=\"mirror\"")
        .skip(1)
        .map(|r| r.split("</tr>").next().unwrap_or(r))
        .collect()
}

/// No character a terminal or the bidi algorithm obeys, other than line breaks.
#[track_caller]
fn assert_no_unsafe(what: &str, text: &str) {
    if let Some((i, c)) = text
        .char_indices()
        .find(|&(_, c)| is_unsafe(c) && c != '\n')
    {
        panic!("{what}: U+{:04X} raw at byte {i}", c as u32);
    }
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
}

#[test]
fn chromium_renders_every_mirror_status_and_country_and_fetches_nothing() {
    let Some(chromium) = Chromium::get() else {
        return;
    };
    let s = scenario();
    let html = html_of(&s.w, &s.profile);
    assert_eq!(outside_references(&html), Vec::<String>::new());
    assert_no_unsafe("page", &html);

    let server = PageServer::start(html.clone().into_bytes());
    let dom = chromium.dump_dom(&server.url());
    // Opening the page asked for the page and for nothing else: no style sheet, font,
    // image or icon, from this server or (the resolver rules would have failed it) any
    // other.
    assert_eq!(server.requests(), vec!["GET / HTTP/1.1".to_owned()]);

    assert_no_unsafe("DOM", &dom);
    assert!(!dom.contains("<script"), "a script element was built");
    assert!(!dom.contains("<img"), "an image element was built");
    assert!(
        dom.contains("<title>NOT OK: exampleos (stable) mirrors"),
        "the title is the page's own"
    );

    // Every mirror, by name, in a row that shows its status as a word.
    let rows = rows(&dom);
    assert_eq!(rows.len(), s.mirrors.len(), "one row per mirror");
    for (name, cc, status) in &s.mirrors {
        let shown_name = if name == "nl-hostile" {
            "nl &lt;script&gt;document.title='pwned'&lt;/script&gt;&lt;img src=x&gt;\\u{1b}]0;x\\u{7}\\u{202e}gpj.exe".to_owned()
        } else {
            name.clone()
        };
        let row = rows
            .iter()
            .find(|r| r.contains(&format!("<b class=\"name\">{shown_name}</b>")))
            .unwrap_or_else(|| panic!("no row names {name}"));
        assert!(
            row.starts_with(&format!(" data-status=\"{status}\"")),
            "{name}: {row}"
        );
        let sign = match *status {
            "ok" => "✓",
            "unreachable" => "?",
            "stale" => "!",
            _ => "✗",
        };
        assert!(
            row.contains(&format!("{sign} {status}</span>")),
            "{name}: {row}"
        );
        assert!(
            row.contains(&format!("<td class=\"cc\">{cc}</td>")),
            "{name}: {row}"
        );
        assert!(
            row.contains(&shown(&s.w.url_of(name)).into_owned()),
            "{name}: its URL"
        );
    }

    // The map: each country of the report coloured by its verdict.
    for (cc, verdict, class) in [
        ("FR", "some-not-ok", "v-some"),
        ("DE", "some-not-ok", "v-some"),
        ("JP", "none-ok", "v-none"),
        ("BR", "none-ok", "v-none"),
        ("US", "all-ok", "v-all"),
        ("NL", "all-ok", "v-all"),
    ] {
        let path =
            format!("<path class=\"c {class}\" data-cc=\"{cc}\" data-verdict=\"{verdict}\" d=\"M");
        assert!(dom.contains(&path), "{cc} is not drawn as {verdict}");
    }
    assert!(dom.contains("<circle class=\"c dot v-all\" data-cc=\"SG\" data-verdict=\"all-ok\""));
    // Countries without mirrors are drawn, uncoloured.
    assert!(dom.contains("<path class=\"c v-empty\" data-cc=\"CA\" data-verdict=\"no-mirrors\""));
    for cc in ["FR", "DE", "JP", "BR", "US", "NL", "SG"] {
        assert!(
            dom.contains(&format!("<tr data-cc=\"{cc}\"")),
            "{cc} in the country table"
        );
    }
    assert!(dom.contains("data-verdict=\"not-independent\""));

    // Seen: a screenshot at a laptop's width, a PNG of that size with something on it.
    let png = tempfile::tempdir().unwrap();
    let file = png.path().join("report.png");
    chromium.screenshot(&server.url(), &file, 1280, 2400);
    let bytes = std::fs::read(&file).unwrap();
    assert_eq!(png_size(&bytes), (1280, 2400));
    assert!(
        bytes.len() > 60_000,
        "an almost empty screenshot: {} bytes",
        bytes.len()
    );
    let _ = std::fs::create_dir_all(target_dir());
    std::fs::copy(&file, target_dir().join("html-report.png")).unwrap();
    assert_eq!(
        server.requests().len(),
        2,
        "the screenshot's load fetched only the page too"
    );
}

/// The request log is what says the page fetched nothing: it must see a page that does.
#[test]
fn the_request_log_sees_what_a_page_fetches() {
    let Some(chromium) = Chromium::get() else {
        return;
    };
    let leaky = b"<!DOCTYPE html><html><head><link rel=\"icon\" href=\"data:,\"><title>t</title></head><body><p>x</p><img src=\"/leak.png\"></body></html>";
    let server = PageServer::start(leaky.to_vec());
    let dom = chromium.dump_dom(&server.url());
    assert!(dom.contains("<p>x</p>"));
    assert_eq!(
        server.requests(),
        vec![
            "GET / HTTP/1.1".to_owned(),
            "GET /leak.png HTTP/1.1".to_owned()
        ]
    );
    assert_eq!(
        outside_references(std::str::from_utf8(leaky).unwrap()).len(),
        1
    );
}

#[test]
fn chromium_shows_equivocation_evidence_with_who_served_which_copy() {
    let Some(chromium) = Chromium::get() else {
        return;
    };
    let mut w = World::new();
    w.now = mirrorproof::time::now();
    // The release keys sign two different contents under one version, one for Russia.
    let genuine = w
        .release(V)
        .signed_by(&[0, 1])
        .artifact_bytes(ZIP, b"genuine")
        .build();
    let backdoored = w
        .release(V)
        .signed_by(&[1, 2])
        .artifact_bytes(ZIP, b"backdoor")
        .build();
    w.mirror("fr", "FR").serves(&genuine).over_http();
    w.mirror("de", "DE").serves(&genuine).over_http();
    w.mirror("ru", "RU").serves(&backdoored).over_http();
    let profile = w.write_profile("profile.toml");
    let html = html_of(&w, &profile);
    assert_eq!(outside_references(&html), Vec::<String>::new());

    let server = PageServer::start(html.into_bytes());
    let dom = chromium.dump_dom(&server.url());
    assert_eq!(server.requests().len(), 1);
    assert!(dom.contains("data-verdict=\"not-ok\""));
    let section = dom
        .split_once("<section id=\"equivocations\">")
        .map(|(_, s)| s.split("</section>").next().unwrap_or(s))
        .expect("an equivocation section");
    assert!(section.contains(&format!("Release {V} was signed with 2 different contents")));
    // Each copy by its full digest, held by the mirrors that served it.
    for (digest, holders, others) in [
        (genuine.payload_sha256(), vec!["fr", "de"], vec!["ru"]),
        (backdoored.payload_sha256(), vec!["ru"], vec!["fr", "de"]),
    ] {
        let row = section
            .split("<tr>")
            .find(|r| r.contains(&digest))
            .unwrap_or_else(|| panic!("no row for copy {digest}"));
        for m in holders {
            assert!(
                row.contains(&format!("<b>{m}</b>")),
                "{m} holds {digest}: {row}"
            );
            assert!(row.contains(&w.url_of(m)));
        }
        for m in others {
            assert!(
                !row.contains(&format!("<b>{m}</b>")),
                "{m} does not hold {digest}"
            );
        }
    }
    // Every mirror is equivocating, and the map says no country has an ok mirror.
    let rows = rows(&dom);
    assert_eq!(rows.len(), 3);
    assert!(
        rows.iter()
            .all(|r| r.starts_with(" data-status=\"equivocating\""))
    );
    for cc in ["FR", "DE", "RU"] {
        assert!(dom.contains(&format!("data-cc=\"{cc}\" data-verdict=\"none-ok\"")));
    }
    let png = tempfile::tempdir().unwrap();
    let file = png.path().join("equivocation.png");
    chromium.screenshot(&server.url(), &file, 1280, 1600);
    assert_eq!(png_size(&std::fs::read(&file).unwrap()), (1280, 1600));
    let _ = std::fs::create_dir_all(target_dir());
    std::fs::copy(&file, target_dir().join("html-report-equivocation.png")).unwrap();
}

/// Lag histories as the history store hands them (hand-made until it lands): a mirror
/// that catches up within hours, one three weeks behind, one that served nothing valid
/// for a while, one never behind.
fn histories(w: &World) -> Vec<mirrorproof::report::LagSeries> {
    use mirrorproof::report::{LagPoint, LagSeries};
    const H: i64 = 3600;
    let t0 = w.now.timestamp() - 28 * 24 * H;
    // Runs every 6 hours for four weeks; release V appears a week in.
    let release_at = t0 + 7 * 24 * H;
    let runs: Vec<i64> = (0..112).map(|i| t0 + i * 6 * H).collect();
    let series = |name: &str, cc: &str, serves: &dyn Fn(i64) -> Option<u64>| LagSeries {
        url: w.url_of(name),
        name: Some(name.to_owned()),
        country: cc.to_owned(),
        vantage: "direct".to_owned(),
        points: runs
            .iter()
            .map(|&at| {
                let latest = if at >= release_at { V } else { OLD };
                let serving = serves(at);
                LagPoint {
                    at,
                    latest_version: latest,
                    serving_version: serving,
                    lag_seconds: if serving == Some(latest) || latest == OLD {
                        0
                    } else {
                        (at - release_at) as u64
                    },
                }
            })
            .collect(),
    };
    vec![
        series("fr-paris", "FR", &|at| {
            Some(if at >= release_at + 12 * H { V } else { OLD })
        }),
        series("fr-lyon", "FR", &|_| Some(OLD)),
        series("jp-tokyo", "JP", &|at| {
            if at >= release_at + 3 * 24 * H && at < release_at + 9 * 24 * H {
                None
            } else if at >= release_at + 9 * 24 * H {
                Some(V)
            } else {
                Some(OLD)
            }
        }),
        series("de-berlin", "DE", &|at| {
            Some(if at >= release_at { V } else { OLD })
        }),
    ]
}

#[test]
fn chromium_draws_a_lag_chart_per_mirror() {
    let Some(chromium) = Chromium::get() else {
        return;
    };
    let s = scenario();
    let report = s.w.check().report;
    let lag = histories(&s.w);
    let html = mirrorproof::report::Render::show(
        &mirrorproof::report::Html {
            lag: Some(lag.clone()),
        },
        &report,
    );
    assert_eq!(outside_references(&html), Vec::<String>::new());
    let server = PageServer::start(html.into_bytes());
    let dom = chromium.dump_dom(&server.url());
    assert_eq!(server.requests().len(), 1);
    let section = dom
        .split_once("<section id=\"lag\">")
        .map(|(_, s)| s.split("</section>").next().unwrap_or(s))
        .expect("a lag section");
    let figures: Vec<&str> = section.split("<figure class=\"lag\">").skip(1).collect();
    assert_eq!(figures.len(), lag.len());
    for (fig, series) in figures.iter().zip(&lag) {
        let name = series.name.as_deref().unwrap();
        assert!(fig.contains(&format!("<b>{name}</b>")), "{name}");
        assert!(fig.contains("<svg class=\"chart\""), "{name}");
        assert!(fig.contains("over 112 observations"), "{name}");
    }
    assert!(figures[1].contains(&format!("serves {OLD}, latest {V}, <b>20d 18h behind</b>")));
    assert!(
        figures[2].contains(">nothing valid</text>"),
        "jp served nothing for a while"
    );
    assert!(figures[3].contains("Worst lag 0s"));
    let png = tempfile::tempdir().unwrap();
    let file = png.path().join("lag.png");
    chromium.screenshot(&server.url(), &file, 1280, 3000);
    let bytes = std::fs::read(&file).unwrap();
    assert_eq!(png_size(&bytes), (1280, 3000));
    let _ = std::fs::create_dir_all(target_dir());
    std::fs::copy(&file, target_dir().join("html-report-lag.png")).unwrap();
}

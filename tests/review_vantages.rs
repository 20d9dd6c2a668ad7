//! A hostile review of vantage points (issue 10): each test mounts one attack, on loopback,
//! by a hostile proxy, a hostile measurement API, a crafted evidence bundle or hostile
//! input, and asserts what must hold: the bytes and the pinned keys decide, never the
//! vantage; every limit holds; text from outside never reaches a terminal raw; nothing is
//! followed out of where it belongs; proxy passwords never show.

mod common;

use std::path::{Path, PathBuf};

use common::binary;
use common::proxy::{HttpProxy, Rules, SocksProxy};
use common::vantages::*;

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// Every file below `dir`, read whole (an evidence bundle is small).
fn all_files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let t = e.file_type().unwrap();
            if t.is_dir() {
                todo.push(e.path());
            } else if t.is_file() {
                out.push((e.path(), std::fs::read(e.path()).unwrap()));
            }
        }
    }
    out
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

// ---------------------------------------------------------------------------------------
// Degraded on purpose: a black box that blocks most mirrors, so that its vantage is
// `degraded`, and serves the few it lets through a frozen release.

/// A country's network blocks 8 of 10 mirrors and serves the other two the previous signed
/// release. Blocking that much makes the vantage `degraded` (a broken path decides
/// nothing), but what it did deliver is validly signed old bytes, which no broken path
/// makes: a rollback on that path, proved by the signatures. It must not pass.
#[test]
fn a_vantage_cannot_hide_a_frozen_release_by_blocking_enough_to_be_degraded() {
    let (mut w, _) = world(10);
    let old = previous(&w);
    let to = black_box(&mut w, "box", &old);
    let rules = Rules::honest()
        .route(&authority(&w, "m0"), to)
        .route(&authority(&w, "m1"), to)
        .only_hosts([authority(&w, "m0"), authority(&w, "m1")]);
    let fr = SocksProxy::start(rules);
    let vfr = vantage("fr", &fr.url("socks5h"), "FR");
    let p = profile(&w, "p.toml", &names(10), &[]);
    let c = check(&w, &p, &vantage_args(true, &[&vfr]));

    c.expect_all(&names(10), "direct", "ok");
    c.expect_all(&names(10)[2..], "fr", "unreachable");
    c.expect_all(&names(10)[..2], "fr", "stale");
    // The path is broken for most mirrors: degraded, and its unreachable entries blame
    // no mirror.
    assert_eq!(c.vantage_status("fr"), "degraded", "{}", c.json["vantages"]);
    // But the frozen release it served is evidence all the same.
    let t = c.targeted();
    assert_eq!(t.len(), 2, "{t:?}\n{}", c.table());
    assert_eq!(
        t[&w.url_of("m0")],
        statuses(&[("direct", "ok"), ("fr", "stale")])
    );
    assert!(!c.ok() && !c.independent(), "{}", c.out.describe());
    assert_eq!(c.code(), Some(1), "{}", c.out.describe());
}

// ---------------------------------------------------------------------------------------
// Proxy passwords.

const SECRET: &str = "S3cretPw";

/// A vantage whose proxy URL carries a password: through an honest SOCKS proxy, a dead one
/// and an HTTP proxy, given on the command line, and with an evidence bundle. The password
/// shows nowhere: not in the JSON or human report, not on stderr, not in any file of the
/// bundle.
#[test]
fn a_proxy_password_never_reaches_a_report_an_error_or_the_evidence() {
    let (w, _) = world(2);
    let socks = SocksProxy::start(Rules::honest());
    let dead = SocksProxy::start(Rules::honest().refuse_all());
    let http = HttpProxy::start(Rules::honest());
    let with_password = |url: &str| url.replacen("://", &format!("://alice:{SECRET}@"), 1);
    let vs = [
        vantage("fr", &with_password(&socks.url("socks5h")), "FR"),
        vantage("de", &with_password(&dead.url("socks5")), "DE"),
        vantage("us", &with_password(&http.url()), "US"),
        // Nothing listens there: a connection error of the client itself.
        vantage("jp", &with_password("socks5h://127.0.0.1:1"), "JP"),
    ];
    let p = profile(&w, "p.toml", &names(2), &[]);
    let vargs = vantage_args(true, &vs.iter().collect::<Vec<_>>());
    let mut json_args = vargs.clone();
    json_args.extend(["--evidence".into(), "ev".into()]);
    let c = check(&w, &p, &json_args);
    c.expect_all(&names(2), "fr", "ok");
    c.expect_all(&names(2), "us", "ok");
    c.expect_all(&names(2), "de", "unreachable");
    c.expect_all(&names(2), "jp", "unreachable");
    // The proxy is named in the report, without its password.
    let shown = c.vantage("fr")["proxy"].as_str().unwrap_or("").to_owned();
    assert!(shown.contains("alice:REDACTED@"), "{shown}");
    for (what, text) in [("stdout", &c.out.stdout), ("stderr", &c.out.stderr)] {
        assert!(!text.contains(SECRET), "{what}: {}", c.out.describe());
    }
    let files = all_files(&w.path().join("ev"));
    assert!(files.len() > 4, "{files:?}");
    for (path, bytes) in &files {
        assert!(
            !contains(bytes, SECRET),
            "{} holds the password",
            path.display()
        );
    }
    // The human report, and the same vantages from a profile.
    let mut human = args(&["check", p.to_str().unwrap(), "--no-state"]);
    human.extend(vargs);
    let out = binary::run_in(w.path(), &human);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert!(out.stdout.contains("alice:REDACTED@"), "{}", out.describe());
    assert!(
        !out.stdout.contains(SECRET) && !out.stderr.contains(SECRET),
        "{}",
        out.describe()
    );
    let p2 = profile(&w, "p2.toml", &names(2), &vs);
    let c = check(&w, &p2, &[] as &[&str]);
    assert_eq!(c.vantage_names(), ["fr", "de", "us", "jp"]);
    assert!(
        !c.out.stdout.contains(SECRET) && !c.out.stderr.contains(SECRET),
        "{}",
        c.out.describe()
    );
}

/// A mistake in a vantage whose proxy has a password: the one-line error names the spec,
/// but not the password, whether it comes from `--vantage` or from a profile.
#[test]
fn a_bad_vantage_spec_does_not_print_its_proxy_password() {
    let (w, _) = world(1);
    let p = profile(&w, "p.toml", &names(1), &[]);
    let bad_specs = [
        format!("name=fr,proxy=socks5h://alice:{SECRET}@127.0.0.1:1080,country=XX"),
        format!("name=f r,proxy=socks5h://alice:{SECRET}@127.0.0.1:1080,country=FR"),
        format!("name=fr,proxy=socks5h://alice:{SECRET}@127.0.0.1:1080,country=FR,colour=red"),
        format!("proxy=ftp://alice:{SECRET}@127.0.0.1:21,country=FR"),
        format!("kind=tor,proxy=socks5h://alice:{SECRET}@127.0.0.1:1080,country=FR"),
    ];
    for spec in &bad_specs {
        let out = binary::run_in(
            w.path(),
            &args(&[
                "check",
                p.to_str().unwrap(),
                "--no-state",
                "--vantage",
                spec,
            ]),
        );
        assert_eq!(out.code, Some(2), "{spec}: {}", out.describe());
        assert_eq!(
            out.stderr.trim_end().lines().count(),
            1,
            "{}",
            out.describe()
        );
        assert!(!out.stderr.contains(SECRET), "{spec}: {}", out.describe());
    }
    for table in [
        format!("proxy = \"socks5h://alice:{SECRET}@127.0.0.1:1080\"\ncountry = \"XX\""),
        format!("proxy = \"ftp://alice:{SECRET}@127.0.0.1:21\"\ncountry = \"FR\""),
        format!(
            "kind = \"tor\"\nproxy = \"socks5h://alice:{SECRET}@127.0.0.1:1\"\ncountry = \"FR\""
        ),
    ] {
        let text = std::fs::read_to_string(&p).unwrap() + "\n[[vantages]]\n" + &table + "\n";
        let bad = w.path().join("bad.toml");
        std::fs::write(&bad, text).unwrap();
        let out = binary::run_in(
            w.path(),
            &args(&["check", bad.to_str().unwrap(), "--no-state"]),
        );
        assert_eq!(out.code, Some(2), "{table}: {}", out.describe());
        assert!(!out.stderr.contains(SECRET), "{table}: {}", out.describe());
    }
}

/// A library user who logs a vantage or a profile with `{:?}` does not log the password.
#[test]
fn debug_output_of_vantages_and_profiles_hides_the_proxy_password() {
    let spec = mirrorproof::vantage::VantageSpec::parse_arg(&format!(
        "name=fr,proxy=socks5h://alice:{SECRET}@127.0.0.1:1080,country=FR"
    ))
    .unwrap();
    assert_eq!(
        spec.proxy.as_deref(),
        Some(format!("socks5h://alice:{SECRET}@127.0.0.1:1080").as_str()),
        "the password is still used"
    );
    let debug = format!("{spec:?} {spec:#?}");
    assert!(!debug.contains(SECRET), "{debug}");
    let (w, _) = world(1);
    let vs = [vantage(
        "fr",
        &format!("socks5h://alice:{SECRET}@127.0.0.1:1080"),
        "FR",
    )];
    let p = profile(&w, "p.toml", &names(1), &vs);
    let profile = mirrorproof::profile::Profile::load(&p).unwrap();
    let debug = format!("{profile:?}");
    assert!(!debug.contains(SECRET), "{debug}");
}

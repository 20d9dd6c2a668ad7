//! Vantage points (issue 10): every mirror is checked through every vantage, and a network
//! between users and mirrors (a country's "black box") shows as what it is. Each proxy here
//! stands for one country's network (tests/common/proxy.rs); each scenario is one thing
//! such a network can do, checked end to end through the real binary, or through the
//! library with `CheckOptions.vantages`.

mod common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::time::Duration;

use common::proxy::{HttpProxy, Rules, SocksProxy};
use common::vantages::*;
use common::*;
use mirrorproof::fetch::{ArtifactMode, FetchConfig};
use mirrorproof::profile::Profile;
use mirrorproof::report::{Report, VantageStatus};
use mirrorproof::run::{CheckOptions, check_profile};
use mirrorproof::vantage::{VantageSpec, Vantages};

// ---------------------------------------------------------------------------------------
// The library's way in: `CheckOptions.vantages`.

fn lib_check(profile: &Path, specs: &[String], each_address: bool) -> Report {
    let profile = Profile::load(profile).unwrap();
    let opts = CheckOptions {
        channel: profile.channel.clone(),
        artifacts: ArtifactMode::Full,
        fetch: FetchConfig {
            timeout: Duration::from_secs(5),
            artifact_timeout: Duration::from_secs(5),
            ..FetchConfig::default()
        },
        state: None,
        now: mirrorproof::time::now(),
        vantages: Vantages {
            specs: specs
                .iter()
                .map(|s| VantageSpec::parse_arg(s).unwrap())
                .collect(),
            each_address,
            ..Vantages::default()
        },
        hooks: Default::default(),
    };
    check_profile(&profile, profile.mirrors.clone(), opts, None)
        .unwrap()
        .report
}

#[track_caller]
fn lib_status(r: &Report, name: &str, vantage: &str) -> Status {
    let found: Vec<_> = r
        .mirrors
        .iter()
        .filter(|m| m.name.as_deref() == Some(name) && m.vantage.as_deref() == Some(vantage))
        .collect();
    assert_eq!(found.len(), 1, "{name} through {vantage}: {:#?}", r.mirrors);
    found[0].status
}

fn lib_targeted(r: &Report) -> Vec<(String, Vec<(String, Status)>)> {
    r.targeted
        .as_ref()
        .expect("targeted is present with vantages")
        .iter()
        .map(|t| {
            (
                t.url.clone(),
                t.statuses.iter().map(|(k, v)| (k.clone(), *v)).collect(),
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// 1. Honest vantages agree with this machine.

#[test]
fn honest_socks5h_vantages_for_two_countries_agree_with_direct() {
    let (w, _) = world(2);
    let fr = SocksProxy::start(Rules::honest());
    let de = SocksProxy::start(Rules::honest());
    let vfr = vantage("fr", &fr.url("socks5h"), "FR");
    let vde = vantage("de", &de.url("socks5h"), "DE");
    let p = profile(&w, "p.toml", &names(2), &[]);
    let c = check(&w, &p, &vantage_args(true, &[&vfr, &vde]));

    assert_eq!(c.entries().len(), 6, "{}", c.table());
    assert_eq!(c.vantage_names(), ["direct", "fr", "de"]);
    for v in ["direct", "fr", "de"] {
        c.expect_all(&names(2), v, "ok");
        assert_eq!(c.vantage_status(v), "ok");
        assert_eq!(c.vantage(v)["reached"], 2);
    }
    assert_eq!(c.vantage("fr")["country"], "FR");
    assert_eq!(c.vantage("fr")["kind"], "proxy");
    assert_eq!(c.vantage("fr")["country_source"], "configuration");
    assert_eq!(c.vantage("direct")["kind"], "direct");
    assert!(c.targeted().is_empty());
    assert!(c.ok() && c.independent(), "{}", c.out.describe());
    assert_eq!(c.code(), Some(0));
    // Each proxy carried the requests of every mirror: nothing went around it.
    for proxy in [&fr, &de] {
        let seen = proxy.targets();
        for n in names(2) {
            assert!(seen.contains(&authority(&w, &n)), "{n} not in {seen:?}");
        }
    }
}

#[test]
fn honest_http_and_socks5_proxies_are_vantages_too() {
    let (w, _) = world(2);
    let us = HttpProxy::start(Rules::honest());
    let jp = SocksProxy::start(Rules::honest());
    let vus = vantage("us-http", &us.url(), "US");
    let vjp = vantage("jp-socks5", &jp.url("socks5"), "JP");
    let p = profile(&w, "p.toml", &names(2), &[]);
    let c = check(&w, &p, &vantage_args(false, &[&vus, &vjp]));

    assert_eq!(c.vantage_names(), ["us-http", "jp-socks5"]);
    for v in ["us-http", "jp-socks5"] {
        c.expect_all(&names(2), v, "ok");
        assert_eq!(c.vantage_status(v), "ok");
    }
    assert!(c.targeted().is_empty());
    assert!(c.ok() && c.independent());
    assert_eq!(c.code(), Some(0));
    for (seen, what) in [(us.targets(), "http"), (jp.targets(), "socks5")] {
        for n in names(2) {
            assert!(
                seen.contains(&authority(&w, &n)),
                "{what}: {n} not in {seen:?}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// 2-4. Black boxes: what one country is served.

#[test]
fn a_black_box_serving_the_previous_release_makes_the_mirror_stale_in_that_country_only() {
    let (mut w, _) = world(3);
    let old = previous(&w);
    let to = black_box(&mut w, "box", &old);
    let fr = SocksProxy::start(Rules::honest().route(&authority(&w, "m0"), to));
    let vfr = vantage("fr", &fr.url("socks5h"), "FR");
    let p = profile(&w, "p.toml", &names(3), &[]);
    let c = check(&w, &p, &vantage_args(true, &[&vfr]));

    assert_eq!(c.status("m0", "fr"), "stale", "{}", c.table());
    assert_eq!(c.entry("m0", "fr")["version"], OLD);
    assert_eq!(c.status("m0", "direct"), "ok");
    c.expect_all(&names(3)[1..], "fr", "ok");
    c.expect_all(&names(3)[1..], "direct", "ok");
    assert_eq!(
        c.vantage_status("fr"),
        "ok",
        "one stale mirror is not a broken path"
    );
    assert_eq!(
        c.targeted(),
        [(
            w.url_of("m0"),
            statuses(&[("direct", "ok"), ("fr", "stale")])
        )]
        .into()
    );
    assert!(!c.independent());
    assert!(!c.ok());
    assert_eq!(c.code(), Some(1));
    assert!(fr.targets().contains(&authority(&w, "m0")));
    assert!(
        w.server("box").requests() > 0,
        "the black box was never asked"
    );
}

/// Through the library: the same pipeline, `CheckOptions.vantages` set by the caller.
#[test]
fn a_black_box_flipping_artifact_bytes_makes_the_mirror_corrupt_in_that_country_only() {
    let (mut w, rel) = world(3);
    let to = flipping_box(&mut w, "box", &rel);
    let fr = SocksProxy::start(Rules::honest().route(&authority(&w, "m0"), to));
    let p = profile(&w, "p.toml", &names(3), &[]);
    let r = lib_check(
        &p,
        &[
            "direct".into(),
            vantage("fr", &fr.url("socks5h"), "FR").arg(),
        ],
        false,
    );

    assert_eq!(lib_status(&r, "m0", "fr"), Status::Corrupt);
    assert_eq!(lib_status(&r, "m0", "direct"), Status::Ok);
    for n in ["m1", "m2"] {
        assert_eq!(lib_status(&r, n, "fr"), Status::Ok);
        assert_eq!(lib_status(&r, n, "direct"), Status::Ok);
    }
    assert!(r.vantages.iter().all(|v| v.status == VantageStatus::Ok));
    assert_eq!(
        lib_targeted(&r),
        [(
            w.url_of("m0"),
            vec![
                ("direct".into(), Status::Ok),
                ("fr".into(), Status::Corrupt)
            ]
        )]
    );
    assert!(!r.independent && !r.ok);
    assert!(w.server("box").requests_for("GET", ZIP) > 0);
}

#[test]
fn another_signed_release_of_the_same_version_for_one_country_is_an_equivocation_across_vantages() {
    let (mut w, rel) = world(2);
    let other = other_same_version(&w);
    let to = black_box(&mut w, "box", &other);
    let fr = SocksProxy::start(Rules::honest().route(&authority(&w, "m0"), to));
    let vfr = vantage("fr", &fr.url("socks5h"), "FR");
    let p = profile(&w, "p.toml", &names(2), &[]);

    // From here alone, nothing is wrong.
    let here = check(&w, &p, &["--vantage", "direct"]);
    assert!(here.json["equivocations"].as_array().unwrap().is_empty());
    assert_eq!(here.code(), Some(0), "{}", here.out.describe());

    let ev = w.path().join("evidence");
    let mut args = vantage_args(true, &[&vfr]);
    args.extend(["--evidence".into(), ev.display().to_string()]);
    let c = check(&w, &p, &args);
    let eqs = c.json["equivocations"].as_array().unwrap();
    assert_eq!(eqs.len(), 1, "{}", c.out.describe());
    let e = &eqs[0];
    assert_eq!(e["version"], V);
    assert_eq!(e["vantages"], serde_json::json!(["direct", "fr"]));
    let mut digests: Vec<&str> = e["payload_sha256"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    digests.sort();
    let mut want = [rel.payload_sha256(), other.payload_sha256()];
    want.sort();
    assert_eq!(digests, want);
    // Which copy went where: the country's copy only to m0 (through fr, see below).
    let copy = |digest: String| {
        e["copies"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["digest"] == digest.as_str())
            .unwrap_or_else(|| panic!("no copy {digest}: {e:#}"))["mirrors"]
            .clone()
    };
    assert_eq!(
        copy(other.payload_sha256()),
        serde_json::json!([w.url_of("m0")])
    );
    let public = copy(rel.payload_sha256());
    for n in ["m0", "m1"] {
        assert!(
            public.as_array().unwrap().contains(&w.url_of(n).into()),
            "{e:#}"
        );
    }
    assert_eq!(c.status("m0", "fr"), "equivocating", "{}", c.table());
    assert_eq!(c.status("m0", "direct"), "equivocating");
    assert!(!c.ok() && !c.independent());
    assert_eq!(c.code(), Some(1));

    // Both signed documents are in the bundle, byte for byte.
    let mut saved = Vec::new();
    for d in std::fs::read_dir(ev.join("mirrors")).unwrap() {
        let f = d.unwrap().path().join(&w.channel).join("release.json");
        if let Ok(bytes) = std::fs::read(f) {
            saved.push(bytes);
        }
    }
    assert!(
        saved.contains(&rel.bytes()),
        "the genuine release is not in the bundle"
    );
    assert!(
        saved.contains(&other.bytes()),
        "the country's release is not in the bundle"
    );
}

// ---------------------------------------------------------------------------------------
// 5-6. Paths that fail: a broken vantage, and a vantage that blocks some mirrors.

#[test]
fn a_proxy_refusing_everything_is_a_degraded_vantage_that_decides_nothing() {
    let (w, _) = world(3);
    let fr = SocksProxy::start(Rules::honest());
    let dead = SocksProxy::start(Rules::honest().refuse_all());
    let vfr = vantage("fr", &fr.url("socks5h"), "FR");
    let vdead = vantage("dead", &dead.url("socks5h"), "RU");
    let p = profile(&w, "p.toml", &names(3), &[]);
    let c = check(&w, &p, &vantage_args(true, &[&vfr, &vdead]));

    c.expect_all(&names(3), "dead", "unreachable");
    c.expect_all(&names(3), "direct", "ok");
    c.expect_all(&names(3), "fr", "ok");
    assert_eq!(c.vantage_status("dead"), "degraded");
    let reason = c.vantage("dead")["reason"].as_str().unwrap_or("");
    assert!(reason.contains("could not reach 3 of the 3"), "{reason}");
    assert_eq!(c.vantage("dead")["reached"], 0);
    assert_eq!(c.vantage_status("fr"), "ok");
    assert!(c.targeted().is_empty(), "a broken path targets no mirror");
    assert!(c.ok() && c.independent(), "{}", c.out.describe());
    assert_eq!(c.code(), Some(0));
    assert_eq!(dead.targets().len(), 3, "{:?}", dead.targets());
}

#[test]
fn a_proxy_answering_only_for_some_host_names_targets_the_others() {
    let (mut w, _) = world(4);
    let port = w.server("m0").addr().port();
    w.on("m0").at_url(&format!("http://localhost:{port}/"));
    let fr = SocksProxy::start(Rules::honest().only_hosts(["127.0.0.1"]));
    let vfr = vantage("fr", &fr.url("socks5h"), "FR");
    let p = profile(&w, "p.toml", &names(4), &[]);
    let c = check(&w, &p, &vantage_args(true, &[&vfr]));

    assert_eq!(c.status("m0", "fr"), "unreachable", "{}", c.table());
    assert_eq!(c.status("m0", "direct"), "ok");
    c.expect_all(&names(4)[1..], "fr", "ok");
    c.expect_all(&names(4), "direct", "ok");
    assert_eq!(
        c.vantage_status("fr"),
        "ok",
        "1 of 4 missed is not a broken path"
    );
    assert_eq!(
        c.targeted(),
        [(
            w.url_of("m0"),
            statuses(&[("direct", "ok"), ("fr", "unreachable")])
        )]
        .into()
    );
    assert!(!c.independent() && !c.ok());
    assert_eq!(c.code(), Some(1));
    assert!(
        fr.targets().contains(&format!("localhost:{port}")),
        "{:?}",
        fr.targets()
    );
}

// ---------------------------------------------------------------------------------------
// 7. DNS rewritten by the vantage.

/// `localhost:P` is 127.0.0.1:P here (the genuine release) and 127.0.0.2:P at the proxy
/// (an old one). Under socks5h the proxy resolves, so it can lie; under socks5 this
/// machine resolves and hands the proxy an address, so the same proxy cannot.
#[test]
fn a_proxy_rewriting_dns_fools_socks5h_entries_but_not_socks5_ones() {
    let (mut w, _) = world(2);
    let old = previous(&w);
    w.mirror("old", "ZZ").serves(&old);
    let genuine_dir = w.on("m0").dir();
    let old_dir = w.on("old").dir();
    let elsewhere = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
    let (port, _genuine, liar) = localhost_and(elsewhere, &genuine_dir, &old_dir);
    w.on("m0").at_url(&format!("http://localhost:{port}/"));
    let proxy = SocksProxy::start(Rules::honest().resolve("localhost", elsewhere));
    let p = profile(&w, "p.toml", &names(2), &[]);
    let r = lib_check(
        &p,
        &[
            "direct".into(),
            vantage("dns", &proxy.url("socks5h"), "FR").arg(),
            vantage("dns-local", &proxy.url("socks5"), "FR").arg(),
        ],
        false,
    );

    assert_eq!(
        lib_status(&r, "m0", "dns"),
        Status::Stale,
        "{:#?}",
        r.mirrors
    );
    assert_eq!(lib_status(&r, "m0", "dns-local"), Status::Ok);
    assert_eq!(lib_status(&r, "m0", "direct"), Status::Ok);
    for v in ["direct", "dns", "dns-local"] {
        assert_eq!(lib_status(&r, "m1", v), Status::Ok);
    }
    assert_eq!(
        lib_targeted(&r),
        [(
            format!("http://localhost:{port}/"),
            vec![
                ("direct".into(), Status::Ok),
                ("dns".into(), Status::Stale),
                ("dns-local".into(), Status::Ok)
            ]
        )]
    );
    assert!(!r.independent && !r.ok);
    let seen = proxy.targets();
    assert!(seen.contains(&format!("localhost:{port}")), "{seen:?}");
    assert!(
        seen.iter()
            .any(|t| *t == format!("127.0.0.1:{port}") || *t == format!("[::1]:{port}")),
        "socks5 sent no address: {seen:?}"
    );
    assert!(
        liar.requests() > 0,
        "the rewritten name never reached 127.0.0.2"
    );
}

// ---------------------------------------------------------------------------------------
// 8. Hostile proxies.

#[test]
fn hostile_proxies_get_the_limits_of_hostile_mirrors() {
    let (w, _) = world(2);
    let honest = SocksProxy::start(Rules::honest());
    let endless = SocksProxy::start(Rules::honest().endless());
    let slow = SocksProxy::start(Rules::honest().slow(10));
    let huge = SocksProxy::start(Rules::honest().huge());
    let vs = [
        vantage("fr", &honest.url("socks5h"), "FR"),
        vantage("endless", &endless.url("socks5h"), "DE"),
        vantage("slow", &slow.url("socks5h"), "US"),
        vantage("huge", &huge.url("socks5h"), "JP"),
    ];
    let p = profile(&w, "p.toml", &names(2), &[]);
    let mut args = vantage_args(false, &vs.iter().collect::<Vec<_>>());
    args.extend(["--timeout".into(), "2".into()]);
    let dir = w.path().to_path_buf();
    // Ends at all: a generous bound, not a measurement.
    let c = ends_within(Duration::from_secs(120), move || check_in(&dir, &p, &args));

    c.expect_all(&names(2), "fr", "ok");
    // As from hostile mirrors: timeouts cover whole requests, bodies stop at the limit.
    for (v, why) in [
        ("endless", "timed out"),
        ("slow", "timed out"),
        ("huge", "over the size limit"),
    ] {
        for n in names(2) {
            let e = c.entry(&n, v);
            assert_eq!(
                e["status"],
                "unreachable",
                "{n} through {v}:\n{}",
                c.table()
            );
            let error = e["error"].as_str().unwrap_or("");
            assert!(error.contains(why), "{n} through {v}: {error}");
        }
        assert_eq!(c.vantage_status(v), "degraded", "{}", c.json["vantages"]);
    }
    // Broken paths decide nothing: the honest vantage's view stands.
    assert!(c.targeted().is_empty());
    assert!(c.ok() && c.independent(), "{}", c.out.describe());
    assert_eq!(c.code(), Some(0));
    // Every connection was cut long before the endless answer ran out (what is counted
    // includes what the kernel buffered on the way, as for hostile mirrors).
    let per_connection = huge.bytes_sent() / huge.connections().max(1) as u64;
    assert!(
        per_connection < 32 << 20,
        "{per_connection} bytes per connection"
    );
    assert!(endless.connections() > 0 && slow.targets().len() >= 2);
}

// ---------------------------------------------------------------------------------------
// 9. --each-address.

/// A name that leads to two machines: 127.0.0.1:P serves the genuine release, [::1]:P an
/// old one. Needs `localhost` to resolve to both (a Debian or Ubuntu /etc/hosts does).
#[test]
fn each_address_of_a_name_is_its_own_entry() {
    if let Err(why) = localhost_is_dual_stack() {
        eprintln!("SKIPPED each_address_of_a_name_is_its_own_entry: {why}");
        return;
    }
    let (mut w, rel) = world(1);
    let old = previous(&w);
    w.mirror("old", "ZZ").serves(&old);
    w.mirror("two", "NL").serves(&rel);
    let (v4, v6) = same_port(
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        &w.on("two").dir(),
        IpAddr::V6(Ipv6Addr::LOCALHOST),
        &w.on("old").dir(),
    );
    let port = v4.addr().port();
    w.on("two").at_url(&format!("http://localhost:{port}/"));
    let p = profile(&w, "p.toml", &["m0".into(), "two".into()], &[]);
    let c = check(&w, &p, &["--each-address"]);

    let two: Vec<_> = c.entries().iter().filter(|m| m["name"] == "two").collect();
    assert_eq!(two.len(), 2, "{}", c.table());
    let at = |a: &str| {
        two.iter()
            .find(|m| m["address"] == a)
            .unwrap_or_else(|| panic!("no entry at {a}:\n{}", c.table()))["status"]
            .clone()
    };
    assert_eq!(at("127.0.0.1"), "ok");
    assert_eq!(at("::1"), "stale");
    assert_eq!(
        c.targeted(),
        [(
            format!("http://localhost:{port}/"),
            statuses(&[("direct/127.0.0.1", "ok"), ("direct/::1", "stale")])
        )]
        .into()
    );
    assert!(!c.independent());
    assert_eq!(c.code(), Some(1));
    assert!(v4.requests() > 0 && v6.requests() > 0);
}

/// What every machine can run: the pinned address travels through a socks5 vantage (the
/// proxy is handed the address this machine resolved), a socks5h vantage is checked by
/// name (the proxy resolves), and a black box at one address shows in its own column.
#[test]
fn each_address_pins_addresses_through_socks5_and_leaves_socks5h_to_the_proxy() {
    let (mut w, _) = world(2);
    let old = previous(&w);
    let to = black_box(&mut w, "box", &old);
    let (port, _servers) = on_localhost(&w.on("m0").dir());
    w.on("m0").at_url(&format!("http://localhost:{port}/"));
    let fr = SocksProxy::start(Rules::honest().route(&format!("127.0.0.1:{port}"), to));
    let de = SocksProxy::start(Rules::honest());
    let vfr = vantage("fr", &fr.url("socks5"), "FR");
    let vde = vantage("de", &de.url("socks5h"), "DE");
    let p = profile(&w, "p.toml", &names(2), &[]);
    let mut args = vantage_args(true, &[&vfr, &vde]);
    args.push("--each-address".into());
    let c = check(&w, &p, &args);

    let entry_at = |v: &str, a: &str| {
        c.entries()
            .iter()
            .find(|m| m["name"] == "m0" && m["vantage"] == v && m["address"] == a)
            .unwrap_or_else(|| panic!("no m0 through {v} at {a}:\n{}", c.table()))
    };
    assert_eq!(entry_at("direct", "127.0.0.1")["status"], "ok");
    assert_eq!(entry_at("fr", "127.0.0.1")["status"], "stale");
    // socks5h: by name, no address.
    assert_eq!(c.entry("m0", "de")["status"], "ok");
    assert!(c.entry("m0", "de").get("address").is_none());
    // An IP literal has one address already.
    for v in ["direct", "fr", "de"] {
        assert_eq!(c.status("m1", v), "ok");
        assert!(c.entry("m1", v).get("address").is_none());
    }
    let targeted = c.targeted();
    let m0 = &targeted[&format!("http://localhost:{port}/")];
    assert_eq!(m0["direct/127.0.0.1"], "ok");
    assert_eq!(m0["fr/127.0.0.1"], "stale");
    assert_eq!(m0["de"], "ok");
    assert_eq!(targeted.len(), 1);
    let notices = c.json["notices"].to_string();
    assert!(
        notices.contains("vantage de resolves names on its own side"),
        "{notices}"
    );
    assert!(
        fr.targets().contains(&format!("127.0.0.1:{port}")),
        "{:?}",
        fr.targets()
    );
    assert!(
        de.targets().contains(&format!("localhost:{port}")),
        "{:?}",
        de.targets()
    );
    assert_eq!(c.code(), Some(1));
}

/// A vantage that resolves names on its own side has no address to compare by: whether it
/// is broken is judged against what other vantages reached at any address of the mirror
/// (here only `direct`, which checks each address).
#[test]
fn each_address_still_finds_a_broken_vantage_that_resolves_names_itself() {
    let (mut w, _) = world(3);
    let mut servers = Vec::new();
    for n in names(3) {
        let (port, here) = on_localhost(&w.on(&n).dir());
        servers.extend(here);
        w.on(&n).at_url(&format!("http://localhost:{port}/"));
    }
    let dead = SocksProxy::start(Rules::honest().refuse_all());
    let vdead = vantage("dead", &dead.url("socks5h"), "RU");
    let p = profile(&w, "p.toml", &names(3), &[]);
    let mut args = vantage_args(true, &[&vdead]);
    args.push("--each-address".into());
    let c = check(&w, &p, &args);

    c.expect_all(&names(3), "dead", "unreachable");
    for m in c.entries().iter().filter(|m| m["vantage"] == "direct") {
        assert_eq!(m["status"], "ok", "{}", c.table());
        assert!(m["address"].is_string(), "{}", c.table());
    }
    assert_eq!(
        c.vantage_status("dead"),
        "degraded",
        "{}",
        c.json["vantages"]
    );
    assert!(c.targeted().is_empty(), "{}", c.json["targeted"]);
    assert!(c.ok() && c.independent(), "{}", c.out.describe());
    assert_eq!(c.code(), Some(0));
}

// ---------------------------------------------------------------------------------------
// 10. Profiles and the command line.

#[test]
fn profile_vantages_are_used_unless_the_command_line_replaces_them() {
    let (w, _) = world(2);
    let fr = SocksProxy::start(Rules::honest());
    let de = SocksProxy::start(Rules::honest());
    let p = profile(
        &w,
        "p.toml",
        &names(2),
        &[
            vantage("fr", &fr.url("socks5h"), "FR"),
            vantage("de", &de.url("socks5h"), "DE"),
        ],
    );
    let c = check(&w, &p, &[] as &[&str]);
    assert_eq!(c.vantage_names(), ["fr", "de"]);
    assert_eq!(c.entries().len(), 4);
    c.expect_all(&names(2), "fr", "ok");
    c.expect_all(&names(2), "de", "ok");
    assert_eq!(c.code(), Some(0));
    let (seen_fr, seen_de) = (fr.targets().len(), de.targets().len());
    assert!(seen_fr >= 2 && seen_de >= 2);

    let c = check(&w, &p, &["--vantage", "direct"]);
    assert_eq!(c.vantage_names(), ["direct"]);
    c.expect_all(&names(2), "direct", "ok");
    assert_eq!(c.entries().len(), 2);
    assert_eq!(fr.targets().len(), seen_fr, "a replaced vantage was used");
    assert_eq!(de.targets().len(), seen_de, "a replaced vantage was used");
}

#[test]
fn bad_vantage_specs_exit_2_with_one_line() {
    let (w, _) = world(1);
    let p = profile(&w, "p.toml", &names(1), &[]);
    let profile_arg = p.display().to_string();
    for (args, says) in [
        (vec!["--vantage", "tor:"], "needs a country"),
        (
            vec!["--vantage", "kind=pigeon,country=FR"],
            "kind \"pigeon\"",
        ),
        (
            vec!["--vantage", "proxy=ftp://127.0.0.1:21,country=FR"],
            "scheme must be",
        ),
        (
            vec![
                "--vantage",
                "name=a,proxy=socks5h://127.0.0.1:1,country=FR",
                "--vantage",
                "name=a,proxy=socks5h://127.0.0.1:2,country=DE",
            ],
            "two vantages are named \"a\"",
        ),
    ] {
        let mut all = vec!["check", profile_arg.as_str(), "--no-state", "--json"];
        all.extend(&args);
        let out = binary::run_in(w.path(), &all);
        assert_eq!(out.code, Some(2), "{args:?}: {}", out.describe());
        assert!(out.stdout.is_empty(), "{args:?}: {}", out.describe());
        let err = out.stderr.trim_end();
        assert!(
            !err.contains('\n'),
            "{args:?}: more than one line: {}",
            out.describe()
        );
        assert!(err.contains(says), "{args:?}: {}", out.describe());
    }
    // The same mistakes in a profile.
    for (table, says) in [
        (
            "proxy = \"ftp://127.0.0.1:21\"\ncountry = \"FR\"",
            "scheme must be",
        ),
        ("kind = \"tor\"", "needs a country"),
    ] {
        let text = std::fs::read_to_string(&p).unwrap() + "\n[[vantages]]\n" + table + "\n";
        let bad = w.path().join("bad.toml");
        std::fs::write(&bad, text).unwrap();
        let out = binary::run_in(w.path(), &["check", bad.to_str().unwrap(), "--no-state"]);
        assert_eq!(out.code, Some(2), "{table}: {}", out.describe());
        assert!(!out.stderr.trim_end().contains('\n'), "{}", out.describe());
        assert!(out.stderr.contains(says), "{table}: {}", out.describe());
    }
}

// ---------------------------------------------------------------------------------------
// 11. What people read.

#[test]
fn the_human_report_names_vantages_targeted_mirrors_and_degraded_paths() {
    let (mut w, _) = world(2);
    let old = previous(&w);
    let to = black_box(&mut w, "box", &old);
    let fr = SocksProxy::start(Rules::honest().route(&authority(&w, "m0"), to));
    let dead = SocksProxy::start(Rules::honest().refuse_all());
    let vfr = vantage("fr", &fr.url("socks5h"), "FR");
    let vdead = vantage("dead", &dead.url("socks5h"), "RU");
    let p = profile(&w, "p.toml", &names(2), &[]);
    let mut args = vec![
        "check".to_owned(),
        p.display().to_string(),
        "--no-state".into(),
    ];
    args.extend(vantage_args(true, &[&vfr, &vdead]));
    args.push("--vantage=direct=NL".into());
    let out = binary::run_in(w.path(), &args);
    let text = &out.stdout;
    assert_eq!(out.code, Some(1), "{}", out.describe());

    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| *l == "Vantages")
        .unwrap_or_else(|| panic!("no Vantages section:\n{text}"));
    // One item per vantage, its wrapped lines joined.
    let mut section: Vec<String> = Vec::new();
    for l in lines[at + 1..].iter().take_while(|l| l.starts_with("  ")) {
        match section.last_mut() {
            Some(item) if l.as_bytes().get(2) == Some(&b' ') => {
                item.push(' ');
                item.push_str(l.trim());
            }
            _ => section.push((*l).to_owned()),
        }
    }
    let line_of = |name: &str| {
        section
            .iter()
            .find(|l| l.split_whitespace().nth(1) == Some(name))
            .unwrap_or_else(|| panic!("no line for vantage {name}:\n{text}"))
            .to_string()
    };
    let direct = line_of("direct");
    assert!(direct.trim_start().starts_with("ok"), "{direct}");
    assert!(direct.contains("this machine's own network"), "{direct}");
    let fr_line = line_of("fr");
    assert!(fr_line.trim_start().starts_with("ok"), "{fr_line}");
    assert!(
        fr_line.contains(&format!("through proxy {}", vfr.proxy))
            && fr_line.contains("in FR as configured"),
        "{fr_line}"
    );
    let nl = line_of("direct-nl");
    assert!(
        nl.contains("this machine's own network, in NL as configured"),
        "{nl}"
    );
    let dead_line = line_of("dead");
    assert!(
        dead_line.trim_start().starts_with("DEGRADED"),
        "{dead_line}"
    );
    assert!(
        section.join(" ").contains("could not reach 2 of the 2"),
        "{text}"
    );

    let targeted: Vec<&&str> = lines
        .iter()
        .filter(|l| l.starts_with("TARGETED: "))
        .collect();
    assert_eq!(targeted.len(), 1, "{text}");
    let t = targeted[0];
    assert!(t.contains(&w.url_of("m0")), "{t}");
    assert!(
        t.contains("ok through direct") && t.contains("stale through fr"),
        "{t}"
    );
    assert!(
        text.contains("Degraded (what it could not reach is not counted): vantage dead."),
        "{text}"
    );
    assert!(
        !text.contains("users in"),
        "a vantage is never 'users in':\n{text}"
    );
}

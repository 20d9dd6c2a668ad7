//! Managed Tor vantages (`tor:CC`) against a real private Tor network on loopback
//! (tests/common/tor.rs, scripts/tor-testnet.sh): mirrorproof's own tor processes, real
//! circuits through real relays, and the exit read back from tor's control port.
//!
//! One network serves every scenario, and they run in one test so that a network this
//! process started is stopped when it ends; scenarios that only wait (a country without an
//! exit) run on a thread beside the others.

mod common;

use std::collections::BTreeSet;
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::Duration;

use common::http::Server;
use common::tor::Testnet;
use mirrorproof::vantage::tor::{ExitRelay, ManagedTor, TorError, TorOptions, exit_countries};

fn options(net: &Testnet, bootstrap: Duration) -> TorOptions {
    TorOptions {
        binary: PathBuf::from("tor"),
        bootstrap_timeout: bootstrap,
        extra_config: Some(net.client_torrc()),
    }
}

/// GETs `url` through `proxy` (a `socks5h://` URL from `ManagedTor::proxy_url`).
fn fetch(rt: &tokio::runtime::Runtime, proxy: &str, url: &str) -> Vec<u8> {
    let client = reqwest::Client::builder()
        .proxy(reqwest::Proxy::all(proxy).expect("proxy URL"))
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    rt.block_on(async {
        let resp = client.get(url).send().await.expect("GET through tor");
        assert_eq!(resp.status(), 200, "{url} through {proxy}");
        resp.bytes().await.expect("body").to_vec()
    })
}

fn fingerprints(exits: &[ExitRelay]) -> BTreeSet<&str> {
    exits.iter().map(|e| e.fingerprint.as_str()).collect()
}

#[test]
fn tor_vantages_leave_through_an_exit_in_their_country() {
    let Some(net) = Testnet::get() else {
        return;
    };

    // Nothing that is not two letters reaches a torrc, and nothing starts for it.
    for bad in ["FRA", "f r", "fr}\nExitNodes {de", ""] {
        let err = ManagedTor::start(&[bad.to_string()], &options(&net, Duration::from_secs(5)))
            .expect_err("a bad country code is refused");
        assert!(matches!(err, TorError::BadCountry(_)), "{bad:?}: {err}");
        assert!(!err.to_string().contains('\n'), "{err}");
    }

    // No exit in JP: tor never finishes bootstrapping; the deadline ends it, naming JP.
    let jp_opts = options(&net, Duration::from_secs(5));
    let jp = std::thread::spawn(move || ManagedTor::start(&["JP".to_string()], &jp_opts));

    let www = tempfile::tempdir().expect("tempdir");
    let body: Vec<u8> = (0..300_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
    std::fs::write(www.path().join("release.bin"), &body).expect("write");
    let server = Server::serve_dir(www.path());
    // An IP literal: the exits of this network cannot resolve names.
    let url = format!("{}release.bin", server.url());

    let tor = ManagedTor::start(
        &["FR".to_string(), "de".to_string(), "FR".to_string()],
        &options(&net, Duration::from_secs(60)),
    )
    .expect("tor for FR and DE bootstraps on the testnet");
    assert_eq!(tor.countries(), ["DE", "FR"]);
    assert_eq!(tor.proxy_url("US", "g1"), None);

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let groups = ["mirror-1", "mirror-2", "https://odd label/é"];
    for cc in ["FR", "DE"] {
        for group in groups {
            let proxy = tor.proxy_url(cc, group).expect("a proxy for this country");
            assert!(proxy.starts_with("socks5h://"), "{proxy}");
            for _ in 0..2 {
                assert!(
                    fetch(&rt, &proxy, &url) == body,
                    "the bytes through tor:{cc} differ"
                );
            }
        }
    }
    assert_eq!(server.requests_for("GET", "release.bin"), 12);

    // Every stream group of tor:FR was carried by the FR exit, and DE by the DE exit.
    for cc in ["FR", "DE"] {
        let want = net.exit(cc);
        for group in groups {
            let exits = tor.exits(cc, group);
            assert_eq!(
                fingerprints(&exits),
                BTreeSet::from([want.fingerprint.as_str()]),
                "tor:{cc} group {group:?} went through {exits:?}"
            );
            let exit = &exits[0];
            assert_eq!(exit.address, want.address);
            assert_eq!(exit.country.as_deref(), Some(cc));
            assert!(exit.nickname.ends_with(cc), "{exit:?}");
        }
    }
    // Lower case finds the same tor; a group that never connected has no exit.
    assert_eq!(tor.exits("fr", "mirror-1"), tor.exits("FR", "mirror-1"));
    assert!(tor.exits("FR", "never-used").is_empty());
    assert!(tor.exits("US", "mirror-1").is_empty());

    // Isolation: two groups never share a circuit.
    for cc in ["FR", "DE"] {
        let a = tor.circuits(cc, "mirror-1");
        let b = tor.circuits(cc, "mirror-2");
        assert!(!a.is_empty() && !b.is_empty(), "tor:{cc}: {a:?} {b:?}");
        assert!(a.is_disjoint(&b), "tor:{cc} shared circuits: {a:?} {b:?}");
    }

    // Stopping ends the tor processes: their SOCKS ports refuse connections.
    let socks: Vec<String> = ["FR", "DE"]
        .iter()
        .map(|cc| {
            let url = tor.proxy_url(cc, "x").expect("proxy");
            url.rsplit('@').next().expect("host:port").to_string()
        })
        .collect();
    for addr in &socks {
        assert!(TcpStream::connect(addr).is_ok(), "{addr} before stop");
    }
    tor.stop();
    for addr in &socks {
        assert!(
            TcpStream::connect(addr).is_err(),
            "{addr} still open after stop"
        );
    }

    // The exit listing: every country of the network, each with its own exit.
    let listing = exit_countries(&options(&net, Duration::from_secs(60))).expect("exit listing");
    assert_eq!(
        listing.keys().map(String::as_str).collect::<Vec<_>>(),
        ["DE", "FR", "US"]
    );
    for (cc, exits) in &listing {
        let want = net.exit(cc);
        assert_eq!(exits.len(), 1, "{cc}: {exits:?}");
        assert_eq!(exits[0].fingerprint, want.fingerprint);
        assert_eq!(exits[0].address, want.address);
        assert_eq!(exits[0].country.as_deref(), Some(cc.as_str()));
    }

    let err = jp
        .join()
        .expect("JP thread")
        .expect_err("no exit in JP: tor:JP cannot bootstrap");
    assert!(matches!(err, TorError::Bootstrap { .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("tor:JP") && msg.contains("5 s"), "{msg}");
    assert!(!msg.contains('\n'), "{msg}");
}

/// `check --vantage tor:CC` from the command line: every entry through a tor vantage is
/// carried by an exit in its country (read back from tor's control port into the report),
/// and a country without an exit is a degraded vantage that decides nothing.
#[test]
fn check_through_tor_records_the_exit_that_carried_every_entry() {
    let Some(net) = Testnet::get() else {
        return;
    };
    let (w, _release) = common::vantages::world(3);
    let names = common::vantages::names(3);
    let profile = common::vantages::profile(&w, "tor.toml", &names, &[]);
    let torrc = net.client_torrc().display().to_string();
    let run = common::vantages::check(
        &w,
        &profile,
        &[
            "--vantage",
            "direct",
            "--vantage",
            "tor:FR",
            "--vantage",
            "tor:DE",
            "--vantage",
            "tor:JP",
            "--tor-config",
            &torrc,
            "--tor-bootstrap-timeout",
            "10",
            "--timeout",
            "20",
        ],
    );
    assert_eq!(run.code(), Some(0), "{}", run.table());
    assert!(run.targeted().is_empty(), "{}", run.table());
    for (vantage, cc) in [("tor-fr", "FR"), ("tor-de", "DE")] {
        assert_eq!(run.vantage_status(vantage), "ok", "{}", run.table());
        assert_eq!(run.vantage(vantage)["country_source"], "tor-geoip");
        let want = net.exit(cc);
        for name in &names {
            let e = run.entry(name, vantage);
            assert_eq!(e["status"], "ok", "{e:#}");
            assert_eq!(e["carried_by"]["by"], "tor", "{e:#}");
            let exits = e["carried_by"]["exits"].as_array().expect("exits");
            assert_eq!(exits.len(), 1, "{e:#}");
            assert_eq!(exits[0]["fingerprint"], want.fingerprint.as_str(), "{e:#}");
            assert_eq!(exits[0]["address"], want.address.as_str(), "{e:#}");
            assert_eq!(exits[0]["country"], cc, "{e:#}");
        }
    }
    // No exit in JP: the vantage is degraded, its entries say why, nothing went out directly.
    assert_eq!(run.vantage_status("tor-jp"), "degraded", "{}", run.table());
    for name in &names {
        let e = run.entry(name, "tor-jp");
        assert_eq!(e["status"], "unreachable", "{e:#}");
        let why = e["error"].as_str().expect("a reason");
        assert!(why.contains("tor:JP") && why.contains("bootstrap"), "{why}");
        assert!(e.get("carried_by").is_none(), "{e:#}");
    }
    // The human report says "via an exit in FR", never "users in".
    let human = common::binary::run_in(
        w.path(),
        &[
            "check",
            &profile.display().to_string(),
            "--no-state",
            "--vantage",
            "tor:FR",
            "--tor-config",
            &torrc,
            "--timeout",
            "20",
        ],
    );
    assert_eq!(human.code, Some(0), "{}", human.describe());
    assert!(
        human.stdout.contains("via an exit in FR"),
        "{}",
        human.describe()
    );
    assert!(
        human.stdout.contains(&net.exit("FR").fingerprint),
        "{}",
        human.describe()
    );
    assert!(!human.stdout.contains("users in"), "{}", human.describe());
}

//! `mirrorproof merge`: evidence bundles taken on several machines (CI runners in several
//! regions, auditors in several countries), each through its own vantages, joined into one
//! run. The threats: a network in one country (an ISP "black box") that serves its users an
//! old or another signed release while every mirror looks honest from elsewhere, which only
//! a comparison across machines shows; and bundles themselves, which are files from others:
//! their `report.json` claims nothing, their documents are verified again, their layout may
//! be hostile.
//!
//! Every test drives the real binary: `check --evidence DIR --vantage ...` on each
//! "machine", then `merge DIR...`. Mirrors are loopback HTTP servers; a country's network is
//! a loopback SOCKS proxy (`tests/common/proxy.rs`).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use base64::Engine;
use common::binary::{Out, run_in};
use common::proxy::{Rules, SocksProxy};
use common::*;
use serde_json::Value;

// ---------------------------------------------------------------------------------------
// Helpers

/// A release current by the wall clock, which the binary judges with.
fn current(w: &World, version: u64, signers: &[usize], image: &[u8]) -> Release {
    let now = mirrorproof::time::now();
    w.release(version)
        .published(now - days(1))
        .expires(now + days(30))
        .signed_by(signers)
        .artifact_bytes(ZIP, image)
        .build()
}

/// The genuine release before it: validly signed, not expired, three weeks older.
fn previous(w: &World) -> Release {
    let now = mirrorproof::time::now();
    w.release(OLD)
        .published(now - days(21))
        .expires(now + days(30))
        .signed_by(&[0, 1])
        .artifact_bytes(ZIP, b"the previous image")
        .build()
}

fn genuine_now(w: &World) -> Release {
    current(w, V, &[0, 1], b"the public image")
}

/// A profile naming only these mirrors of the world (the world may hold other servers: the
/// ones a black box sends traffic to).
fn profile(w: &World, file: &str, mirrors: &[(&str, &str)]) -> PathBuf {
    profile_pinned(w, file, &w.pinned_path(), mirrors)
}

fn profile_pinned(w: &World, file: &str, root: &Path, mirrors: &[(&str, &str)]) -> PathBuf {
    let mut text = format!(
        "name = \"{PROJECT}\"\nroot = {:?}\nchannel = {:?}\n",
        root.display().to_string(),
        w.channel
    );
    for (name, country) in mirrors {
        text.push_str(&format!(
            "\n[[mirrors]]\nurl = {:?}\ncountry = {country:?}\nname = {name:?}\n",
            w.url_of(name)
        ));
    }
    let p = w.path().join(file);
    std::fs::write(&p, text).unwrap();
    p
}

/// `--vantage` for a SOCKS proxy standing for a country's network (names go through the
/// proxy: socks5h).
fn via(proxy: &SocksProxy, name: &str, country: &str) -> String {
    format!(
        "name={name},proxy={},country={country}",
        proxy.url("socks5h")
    )
}

/// How a proxy sees a mirror's connections: `127.0.0.1:PORT`.
fn target(w: &World, mirror: &str) -> String {
    w.server(mirror).addr().to_string()
}

fn parse(out: &Out) -> Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}\n{}", out.describe()))
}

/// One machine's run: `check PROFILE --evidence DIR --vantage V...` in the world's
/// directory; returns its live report.
fn bundle(cwd: &Path, profile: &Path, dir: &str, vantages: &[&str]) -> Value {
    let mut args = vec![
        "check".to_owned(),
        profile.display().to_string(),
        "--no-state".into(),
        "--json".into(),
        "--evidence".into(),
        dir.into(),
    ];
    for v in vantages {
        args.extend(["--vantage".to_owned(), (*v).to_owned()]);
    }
    let out = run_in(cwd, &args);
    assert!(
        matches!(out.code, Some(0 | 1)),
        "check --evidence {dir}: {}",
        out.describe()
    );
    assert!(
        cwd.join(dir).join("report.json").is_file(),
        "bundle {dir} is complete"
    );
    parse(&out)
}

/// `merge DIRS... --json EXTRA...`: its exit code and report.
fn merge(cwd: &Path, dirs: &[&str], extra: &[&str]) -> (Option<i32>, Value) {
    let out = merge_out(cwd, dirs, &[&["--json"], extra].concat());
    assert!(
        matches!(out.code, Some(0 | 1)),
        "merge {dirs:?}: {}",
        out.describe()
    );
    (out.code, parse(&out))
}

fn merge_out(cwd: &Path, dirs: &[&str], extra: &[&str]) -> Out {
    let mut args = vec!["merge"];
    args.extend_from_slice(dirs);
    args.extend_from_slice(extra);
    run_in(cwd, &args)
}

/// A refusal: exit 2, one line on stderr that names `what`, nothing on stdout, no panic.
#[track_caller]
fn assert_refused(out: &Out, what: &str) {
    assert_eq!(out.code, Some(2), "{}", out.describe());
    assert_eq!(
        out.stderr.lines().count(),
        1,
        "one line: {}",
        out.describe()
    );
    assert!(
        out.stderr.starts_with("mirrorproof: "),
        "{}",
        out.describe()
    );
    assert!(
        out.stderr.contains(what),
        "names {what}: {}",
        out.describe()
    );
    assert!(out.stdout.is_empty(), "{}", out.describe());
}

fn str_of(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("not a string: {v}"))
        .to_owned()
}

/// Every entry of a report as `NAME via VANTAGE` → status. Panics on a mirror reported
/// twice for one vantage.
fn cells(r: &Value) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for m in r["mirrors"].as_array().unwrap() {
        let key = format!("{} via {}", str_of(&m["name"]), str_of(&m["vantage"]));
        let status = str_of(&m["status"]);
        assert!(
            out.insert(key.clone(), status).is_none(),
            "{key} reported twice: {r:#}"
        );
    }
    out
}

/// The entry `NAME via VANTAGE`.
fn entry<'r>(r: &'r Value, name: &str, vantage: &str) -> &'r Value {
    r["mirrors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == name && m["vantage"] == vantage)
        .unwrap_or_else(|| panic!("no {name} via {vantage}: {r:#}"))
}

fn vantage_names(r: &Value) -> Vec<String> {
    r["vantages"]
        .as_array()
        .unwrap_or_else(|| panic!("no vantages: {r:#}"))
        .iter()
        .map(|v| str_of(&v["name"]))
        .collect()
}

fn vantage_status(r: &Value, name: &str) -> String {
    let v = r["vantages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name)
        .unwrap_or_else(|| panic!("no vantage {name}: {r:#}"));
    str_of(&v["status"])
}

/// `targeted` as url → (vantage → status).
fn targeted(r: &Value) -> BTreeMap<String, BTreeMap<String, String>> {
    r["targeted"]
        .as_array()
        .unwrap_or_else(|| panic!("no targeted: {r:#}"))
        .iter()
        .map(|t| {
            let statuses = t["statuses"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), str_of(v)))
                .collect();
            (str_of(&t["url"]), statuses)
        })
        .collect()
}

fn statuses(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The bundle directory (`mirrors/NNNN`) holding what `url` served.
fn entry_dir(bundle: &Path, url: &str) -> PathBuf {
    for e in std::fs::read_dir(bundle.join("mirrors")).unwrap() {
        let dir = e.unwrap().path();
        if std::fs::read_to_string(dir.join("SOURCE")).unwrap_or_default() == format!("{url}\n") {
            return dir;
        }
    }
    panic!("no entry for {url} in {}", bundle.display());
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// Two mirrors over HTTP serving the genuine release, and their profile.
fn two_mirrors(w: &mut World) -> (PathBuf, Release) {
    let rel = genuine_now(w);
    w.mirror("a", "FR").serves(&rel).over_http();
    w.mirror("b", "DE").serves(&rel).over_http();
    (profile(w, "profile.toml", &[("a", "FR"), ("b", "DE")]), rel)
}

/// The scenario of a country whose network serves mirror `b` a frozen release: bundle
/// `bundle-fr` seen directly, `bundle-de` through the black box. Returns the world (the
/// proxy and servers stay up while it lives) and both live reports.
fn frozen_for_one_country() -> (World, SocksProxy, Value, Value) {
    let mut w = World::new();
    let (profile, _) = two_mirrors(&mut w);
    let old = previous(&w);
    w.mirror("frozen", "DE").serves(&old).over_http();
    let black_box =
        SocksProxy::start(Rules::honest().route(&target(&w, "b"), w.server("frozen").addr()));
    let fr = bundle(w.path(), &profile, "bundle-fr", &["direct=FR"]);
    let de = bundle(
        w.path(),
        &profile,
        "bundle-de",
        &[&via(&black_box, "de-isp", "DE")],
    );
    (w, black_box, fr, de)
}

// ---------------------------------------------------------------------------------------
// 1. Two machines, two vantages

#[test]
fn two_machines_with_one_vantage_each_merge_into_one_run() {
    let mut w = World::new();
    let rel = genuine_now(&w);
    w.mirror("a", "FR").serves(&rel).over_http();
    w.mirror("b", "DE").serves(&rel).over_http();
    // A mirror that stopped syncing: stale from everywhere.
    let old = previous(&w);
    w.mirror("c", "US").serves(&old).over_http();
    let profile = profile(&w, "profile.toml", &[("a", "FR"), ("b", "DE"), ("c", "US")]);
    let honest = SocksProxy::start(Rules::honest());

    let fr = bundle(w.path(), &profile, "bundle-fr", &["direct=FR"]);
    let de = bundle(
        w.path(),
        &profile,
        "bundle-de",
        &[&via(&honest, "de-isp", "DE")],
    );
    assert!(
        honest.targets().contains(&target(&w, "a")),
        "the DE bundle went through its proxy: {:?}",
        honest.targets()
    );

    let (code, merged) = merge(w.path(), &["bundle-fr", "bundle-de"], &[]);
    assert_eq!(
        code,
        Some(1),
        "a stale mirror fails the merge as it fails check"
    );
    assert_eq!(merged["schema"], "mirrorproof.report/1");
    assert_eq!(vantage_names(&merged), ["direct-fr", "de-isp"]);
    for v in ["direct-fr", "de-isp"] {
        assert_eq!(vantage_status(&merged, v), "ok");
    }
    // Every mirror once per vantage, each with the verdict its own run gave.
    let mut expected = cells(&fr);
    expected.extend(cells(&de));
    assert_eq!(expected.len(), 6);
    assert_eq!(cells(&merged), expected);
    assert_eq!(merged["mirrors"].as_array().unwrap().len(), 6);
    assert_eq!(entry(&merged, "c", "de-isp")["status"], "stale");
    assert_eq!(entry(&merged, "a", "direct-fr")["status"], "ok");
    assert_eq!(merged["latest"]["version"], V);
    assert_eq!(merged["latest"]["payload_sha256"], rel.payload_sha256());
    // The entries' URLs are the mirrors', not the bundle's directories.
    assert_eq!(entry(&merged, "b", "de-isp")["url"], w.url_of("b"));
    assert!(targeted(&merged).is_empty());
    assert!(merged["equivocations"].as_array().unwrap().is_empty());

    // The human report names both vantages and gives the same exit code.
    let human = merge_out(w.path(), &["bundle-fr", "bundle-de"], &[]);
    assert_eq!(human.code, Some(1), "{}", human.describe());
    assert!(
        human.stdout.contains("de-isp") && human.stdout.contains("direct-fr"),
        "{}",
        human.describe()
    );
}

// ---------------------------------------------------------------------------------------
// 2. A black box in one country

#[test]
fn a_black_box_freezing_one_mirror_in_one_country_is_targeting_once_merged() {
    let (w, black_box, fr, de) = frozen_for_one_country();
    assert!(
        black_box.connections() > 0,
        "the DE run went through the black box"
    );
    // Each machine alone sees one vantage: no comparison, no targeting.
    assert_eq!(
        cells(&fr),
        statuses(&[("a via direct-fr", "ok"), ("b via direct-fr", "ok")])
    );
    assert_eq!(
        cells(&de),
        statuses(&[("a via de-isp", "ok"), ("b via de-isp", "stale")])
    );
    assert!(targeted(&fr).is_empty() && targeted(&de).is_empty());
    for alone in ["bundle-fr", "bundle-de"] {
        let (_, r) = merge(w.path(), &[alone], &[]);
        assert!(targeted(&r).is_empty(), "{alone} alone: {r:#}");
    }

    let (code, merged) = merge(w.path(), &["bundle-fr", "bundle-de"], &[]);
    assert_eq!(code, Some(1));
    let mut want = BTreeMap::new();
    want.insert(
        w.url_of("b"),
        statuses(&[("direct-fr", "ok"), ("de-isp", "stale")]),
    );
    assert_eq!(targeted(&merged), want);
    assert_eq!(merged["independent"], false);
    assert_eq!(entry(&merged, "b", "de-isp")["version"], OLD);
    assert_eq!(entry(&merged, "b", "direct-fr")["version"], V);
}

/// A black box that flips artifact bytes for one country: that machine's run finds the
/// artifact corrupt. Bundles keep release documents, not artifacts, so the merge must
/// still not call that mirror `ok` through that vantage (nor exit 0).
#[test]
fn artifact_bytes_flipped_for_one_country_stay_a_failure_once_merged() {
    let mut w = World::new();
    let (profile, rel) = two_mirrors(&mut w);
    w.mirror("flipped", "DE")
        .serves(&rel)
        .tamper_artifact(ZIP)
        .over_http();
    let black_box =
        SocksProxy::start(Rules::honest().route(&target(&w, "b"), w.server("flipped").addr()));
    bundle(w.path(), &profile, "bundle-fr", &["direct=FR"]);
    let de = bundle(
        w.path(),
        &profile,
        "bundle-de",
        &[&via(&black_box, "de-isp", "DE")],
    );
    assert_eq!(entry(&de, "b", "de-isp")["status"], "corrupt", "{de:#}");
    let (code, merged) = merge(w.path(), &["bundle-fr", "bundle-de"], &[]);
    assert_eq!(code, Some(1), "{merged:#}");
    assert_ne!(entry(&merged, "b", "de-isp")["status"], "ok", "{merged:#}");
}

// ---------------------------------------------------------------------------------------
// 3. Equivocation visible only across bundles

#[test]
fn another_signed_release_for_one_country_is_an_equivocation_across_bundles() {
    let mut w = World::new();
    let (profile, public) = two_mirrors(&mut w);
    // The same version, validly signed (by keys 1 and 2), other bytes: for one country only.
    let twin = current(&w, V, &[1, 2], b"an image for one country");
    assert_ne!(public.payload_sha256(), twin.payload_sha256());
    w.mirror("twin", "DE").serves(&twin).over_http();
    let to = w.server("twin").addr();
    // The country's whole network sees the other release, consistently.
    let black_box = SocksProxy::start(
        Rules::honest()
            .route(&target(&w, "a"), to)
            .route(&target(&w, "b"), to),
    );
    let fr = bundle(w.path(), &profile, "bundle-fr", &["direct=FR"]);
    let de = bundle(
        w.path(),
        &profile,
        "bundle-de",
        &[&via(&black_box, "de-isp", "DE")],
    );
    // Each machine alone saw one consistent, validly signed release.
    for alone in [&fr, &de] {
        assert!(
            alone["equivocations"].as_array().unwrap().is_empty(),
            "{alone:#}"
        );
        assert!(cells(alone).values().all(|s| s == "ok"), "{alone:#}");
        assert_eq!(alone["ok"], true);
    }

    let (code, merged) = merge(w.path(), &["bundle-fr", "bundle-de"], &[]);
    assert_eq!(code, Some(1));
    let eq = merged["equivocations"].as_array().unwrap();
    assert_eq!(eq.len(), 1, "{merged:#}");
    assert_eq!(eq[0]["version"], V);
    let vantages: BTreeSet<String> = eq[0]["vantages"]
        .as_array()
        .unwrap()
        .iter()
        .map(str_of)
        .collect();
    assert_eq!(
        vantages,
        BTreeSet::from(["direct-fr".to_owned(), "de-isp".to_owned()])
    );
    let hashes: BTreeSet<String> = eq[0]["payload_sha256"]
        .as_array()
        .unwrap()
        .iter()
        .map(str_of)
        .collect();
    assert_eq!(
        hashes,
        BTreeSet::from([public.payload_sha256(), twin.payload_sha256()])
    );
    assert_eq!(merged["independent"], false);
    assert!(
        cells(&merged).values().all(|s| s == "equivocating"),
        "{merged:#}"
    );
}

// ---------------------------------------------------------------------------------------
// 4. Nothing in report.json is trusted; every document is verified again

#[test]
fn a_bundles_report_claims_nothing_and_its_documents_are_verified_again() {
    let (w, _black_box, _, _) = frozen_for_one_country();
    let dirs = ["bundle-fr", "bundle-de"];
    let (code, before) = merge(w.path(), &dirs, &[]);
    assert_eq!(code, Some(1));
    let verdicts = cells(&before);
    assert_eq!(verdicts["b via de-isp"], "stale");

    // The DE machine's report rewritten to say all is well.
    let report_path = w.path().join("bundle-de/report.json");
    let mut claimed: Value = serde_json::from_slice(&std::fs::read(&report_path).unwrap()).unwrap();
    for m in claimed["mirrors"].as_array_mut().unwrap() {
        m["status"] = "ok".into();
        m["version"] = V.into();
        m["error"] = Value::Null;
    }
    claimed["ok"] = true.into();
    claimed["independent"] = true.into();
    std::fs::write(&report_path, serde_json::to_vec(&claimed).unwrap()).unwrap();
    let (code, after) = merge(w.path(), &dirs, &[]);
    assert_eq!((code, cells(&after)), (Some(1), verdicts.clone()));
    assert_eq!(targeted(&after), targeted(&before));

    // Without any report at all: the same.
    std::fs::remove_file(&report_path).unwrap();
    let (code, after) = merge(w.path(), &dirs, &[]);
    assert_eq!((code, cells(&after)), (Some(1), verdicts.clone()));

    // A document edited after signing (one byte of payload added: still valid JSON) is
    // invalid in the merge, whatever the bundle's run said of it.
    let doc = entry_dir(&w.path().join("bundle-de"), &w.url_of("a")).join("stable/release.json");
    let mut env: mirrorproof::envelope::Envelope =
        serde_json::from_slice(&std::fs::read(&doc).unwrap()).unwrap();
    let mut payload = env.payload_bytes().unwrap();
    payload.push(b' ');
    env.payload = base64::engine::general_purpose::STANDARD.encode(&payload);
    std::fs::write(&doc, env.to_json_bytes()).unwrap();
    let (code, tampered) = merge(w.path(), &dirs, &[]);
    assert_eq!(code, Some(1));
    let a = entry(&tampered, "a", "de-isp");
    assert_eq!(a["status"], "invalid", "{tampered:#}");
    assert!(!str_of(&a["error"]).is_empty());
    assert_eq!(entry(&tampered, "a", "direct-fr")["status"], "ok");
}

// ---------------------------------------------------------------------------------------
// 5. One pinned trust

#[test]
fn bundles_pinned_to_different_roots_are_refused() {
    let mut w = World::new();
    let (profile_path, _) = two_mirrors(&mut w);
    // Another root 1: another root key, the same release keys (so its bundle verifies).
    let other = w.root(1).root_keys(&[1]).build();
    let other_root = w.path().join("other-root.json");
    std::fs::write(&other_root, other.bytes()).unwrap();
    let other_profile = profile_pinned(&w, "other.toml", &other_root, &[("a", "FR"), ("b", "DE")]);

    bundle(w.path(), &profile_path, "bundle-fr", &["direct=FR"]);
    bundle(w.path(), &profile_path, "bundle-de", &["direct=DE"]);
    let foreign = bundle(w.path(), &other_profile, "bundle-other", &["direct=US"]);
    assert_eq!(
        foreign["ok"], true,
        "the other root's own bundle is fine on its own"
    );

    // Two worlds.
    let out = merge_out(w.path(), &["bundle-fr", "bundle-other"], &["--json"]);
    assert_refused(&out, "bundle-other");
    assert!(out.stderr.contains("pinned"), "{}", out.describe());
    // Order does not matter: the odd one is named against the first.
    assert_refused(
        &merge_out(w.path(), &["bundle-other", "bundle-fr", "bundle-de"], &[]),
        "bundle-fr",
    );

    // A bundle whose pinned root file was replaced.
    copy_dir(
        &w.path().join("bundle-de"),
        &w.path().join("bundle-swapped"),
    );
    std::fs::write(
        w.path().join("bundle-swapped/pinned-root-1.json"),
        other.bytes(),
    )
    .unwrap();
    assert_refused(
        &merge_out(w.path(), &["bundle-fr", "bundle-swapped"], &[]),
        "bundle-swapped",
    );

    // The auditor's own profile decides: another root is refused, the right one accepted.
    let dirs = ["bundle-fr", "bundle-de"];
    let out = merge_out(
        w.path(),
        &dirs,
        &["--profile", other_profile.to_str().unwrap()],
    );
    assert_refused(&out, "bundle-fr");
    let (code, r) = merge(
        w.path(),
        &dirs,
        &["--profile", profile_path.to_str().unwrap()],
    );
    assert_eq!(code, Some(0), "{r:#}");
    assert_eq!(vantage_names(&r), ["direct-fr", "direct-de"]);
}

/// The same root, written by another tool (compact JSON, no final newline), is the same
/// pinned trust: `--profile` compares what is pinned, not how the file is formatted.
#[test]
fn the_auditors_profile_may_format_the_same_root_differently() {
    let mut w = World::new();
    let (profile_path, _) = two_mirrors(&mut w);
    bundle(w.path(), &profile_path, "bundle-fr", &["direct=FR"]);
    let pinned: Value = serde_json::from_slice(&std::fs::read(w.pinned_path()).unwrap()).unwrap();
    let compact = w.path().join("compact-root.json");
    std::fs::write(&compact, serde_json::to_vec(&pinned).unwrap()).unwrap();
    let mine = profile_pinned(&w, "mine.toml", &compact, &[("a", "FR"), ("b", "DE")]);
    let (code, r) = merge(
        w.path(),
        &["bundle-fr"],
        &["--profile", mine.to_str().unwrap()],
    );
    assert_eq!(code, Some(0), "{r:#}");

    // A profile whose pinned root cannot be read says so, and is not called a bundle.
    let gone = profile_pinned(
        &w,
        "gone.toml",
        &w.path().join("no-such-root.json"),
        &[("a", "FR")],
    );
    let out = merge_out(
        w.path(),
        &["bundle-fr"],
        &["--profile", gone.to_str().unwrap()],
    );
    assert_refused(&out, "cannot read the pinned trust");
    assert!(
        out.stderr.contains("no-such-root.json"),
        "{}",
        out.describe()
    );
}

// ---------------------------------------------------------------------------------------
// 6. Two runners' `direct` are two vantages

#[test]
fn two_runners_direct_vantages_stay_apart_and_are_compared() {
    let mut w = World::new();
    let (profile, _) = two_mirrors(&mut w);
    // Runner A names its vantage; runner B, later and elsewhere, runs a plain check (its
    // entries are `direct` too), when mirror b is frozen for it.
    bundle(w.path(), &profile, "runner-a", &["direct"]);
    let old = previous(&w);
    w.on("b").serves(&old);
    bundle(w.path(), &profile, "runner-b", &[]);

    let (code, merged) = merge(w.path(), &["runner-a", "runner-b"], &[]);
    assert_eq!(code, Some(1));
    assert_eq!(
        vantage_names(&merged),
        ["direct@runner-a", "direct@runner-b"]
    );
    assert_eq!(
        cells(&merged),
        statuses(&[
            ("a via direct@runner-a", "ok"),
            ("b via direct@runner-a", "ok"),
            ("a via direct@runner-b", "ok"),
            ("b via direct@runner-b", "stale"),
        ])
    );
    let mut want = BTreeMap::new();
    want.insert(
        w.url_of("b"),
        statuses(&[("direct@runner-a", "ok"), ("direct@runner-b", "stale")]),
    );
    assert_eq!(targeted(&merged), want);

    // CI artifacts are often all called `evidence`: still two vantages, still compared.
    copy_dir(&w.path().join("runner-a"), &w.path().join("fr/evidence"));
    copy_dir(&w.path().join("runner-b"), &w.path().join("de/evidence"));
    let (_, nested) = merge(w.path(), &["fr/evidence", "de/evidence"], &[]);
    assert_eq!(
        vantage_names(&nested),
        ["direct@evidence", "direct@evidence-2"]
    );
    assert_eq!(targeted(&nested).len(), 1, "{nested:#}");
}

/// A CI runner runs a plain `check --evidence` (no `--vantage`); a mirror down from that
/// runner must still show in the merge as unreachable from it, or the merge cannot see
/// that a country is cut off from a mirror.
#[test]
fn a_mirror_down_for_a_plain_runner_is_unreachable_in_the_merge() {
    let mut w = World::new();
    let (profile, _) = two_mirrors(&mut w);
    bundle(w.path(), &profile, "runner-a", &[]);
    w.on("b").stop_http();
    let b_down = bundle(w.path(), &profile, "runner-b", &[]);
    assert_eq!(b_down["mirrors"][1]["status"], "unreachable");
    let (code, merged) = merge(w.path(), &["runner-a", "runner-b"], &[]);
    assert_eq!(code, Some(1));
    assert_eq!(
        entry(&merged, "b", "direct@runner-b")["status"],
        "unreachable"
    );
    assert_eq!(targeted(&merged).len(), 1, "{merged:#}");
}

// ---------------------------------------------------------------------------------------
// 7. Entries that served nothing

#[test]
fn what_served_nothing_stays_unreachable_and_a_blind_vantage_is_degraded() {
    let mut w = World::new();
    let rel = genuine_now(&w);
    for (name, cc) in [("a", "FR"), ("b", "DE"), ("c", "US")] {
        w.mirror(name, cc).serves(&rel).over_http();
    }
    let profile = profile(&w, "profile.toml", &[("a", "FR"), ("b", "DE"), ("c", "US")]);
    // DE's network blocks mirror c; CN's network blocks everything.
    let blocking =
        SocksProxy::start(Rules::honest().only_hosts([target(&w, "a"), target(&w, "b")]));
    let blind = SocksProxy::start(Rules::honest().refuse_all());
    bundle(w.path(), &profile, "bundle-fr", &["direct=FR"]);
    let de = bundle(
        w.path(),
        &profile,
        "bundle-de",
        &[&via(&blocking, "de-isp", "DE")],
    );
    let cn = bundle(
        w.path(),
        &profile,
        "bundle-cn",
        &[&via(&blind, "cn-isp", "CN")],
    );
    assert_eq!(entry(&de, "c", "de-isp")["status"], "unreachable");
    let why = str_of(&entry(&de, "c", "de-isp")["error"]);
    // Alone, the CN machine cannot tell that its network is the broken part.
    assert!(cells(&cn).values().all(|s| s == "unreachable"), "{cn:#}");
    assert_eq!(vantage_status(&cn, "cn-isp"), "ok");

    let (code, merged) = merge(w.path(), &["bundle-fr", "bundle-de", "bundle-cn"], &[]);
    assert_eq!(code, Some(1));
    assert_eq!(
        cells(&merged).len(),
        9,
        "every entry, served or not: {merged:#}"
    );
    let c = entry(&merged, "c", "de-isp");
    assert_eq!(c["status"], "unreachable");
    let merged_why = str_of(&c["error"]);
    let head: String = why.chars().take(40).collect();
    assert!(
        merged_why.contains(&head),
        "the bundle's reason {why:?} is kept: {merged_why:?}"
    );
    assert_eq!(vantage_status(&merged, "cn-isp"), "degraded");
    assert_eq!(vantage_status(&merged, "de-isp"), "ok");
    assert_eq!(vantage_status(&merged, "direct-fr"), "ok");
    for m in ["a", "b", "c"] {
        assert_eq!(entry(&merged, m, "cn-isp")["status"], "unreachable");
    }
    // Mirror c is blocked for one country; the blind vantage decides nothing.
    let mut want = BTreeMap::new();
    want.insert(
        w.url_of("c"),
        statuses(&[("direct-fr", "ok"), ("de-isp", "unreachable")]),
    );
    assert_eq!(targeted(&merged), want);
}

// ---------------------------------------------------------------------------------------
// 8. Hostile bundles

/// Writes a copy of `good` as `name`, with its profile.toml passed through `edit`.
fn variant(w: &World, name: &str, edit: impl FnOnce(&str) -> String) -> String {
    let dir = w.path().join(name);
    copy_dir(&w.path().join("good"), &dir);
    let text = std::fs::read_to_string(dir.join("profile.toml")).unwrap();
    let edited = edit(&text);
    assert_ne!(edited, text, "{name}: the edit changed nothing");
    std::fs::write(dir.join("profile.toml"), edited).unwrap();
    name.to_owned()
}

#[test]
fn hostile_bundles_are_refused_with_one_line() {
    let mut w = World::new();
    let (profile, _) = two_mirrors(&mut w);
    bundle(w.path(), &profile, "good", &["direct=FR"]);
    let text = std::fs::read_to_string(w.path().join("good/profile.toml")).unwrap();
    assert!(text.contains("url = \"mirrors/0000\""), "{text}");
    assert!(text.contains("root = \"pinned-root-1.json\""), "{text}");
    let outside = w.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(
        outside.join("secret.json"),
        w.pinned_path().to_str().unwrap(),
    )
    .unwrap();

    let mut cases: Vec<(String, &str)> = Vec::new();
    let url0 = |to: &str| {
        let to = to.to_owned();
        move |t: &str| t.replace("url = \"mirrors/0000\"", &format!("url = {to:?}"))
    };
    cases.push((
        variant(&w, "dotdot-entry", url0("../../etc")),
        "not from a directory inside",
    ));
    cases.push((
        variant(&w, "absolute-entry", url0("/etc")),
        "not from a directory inside",
    ));
    cases.push((
        variant(&w, "network-entry", url0("http://127.0.0.1:9/")),
        "not from a directory inside",
    ));
    let root = |to: String| {
        move |t: &str| t.replace("root = \"pinned-root-1.json\"", &format!("root = {to:?}"))
    };
    cases.push((
        variant(
            &w,
            "root-outside",
            root("../good/pinned-root-1.json".into()),
        ),
        "pinned trust",
    ));
    cases.push((
        variant(
            &w,
            "root-absolute",
            root(
                w.path()
                    .join("good/pinned-root-1.json")
                    .display()
                    .to_string(),
            ),
        ),
        "pinned trust",
    ));
    cases.push((
        variant(&w, "not-toml", |t| format!("{t}\n[[[ this is not toml")),
        "profile.toml: line",
    ));

    // profile.toml a link to a real profile elsewhere.
    let link = w.path().join("link-profile");
    copy_dir(&w.path().join("good"), &link);
    std::fs::remove_file(link.join("profile.toml")).unwrap();
    std::os::unix::fs::symlink(
        w.path().join("good/profile.toml"),
        link.join("profile.toml"),
    )
    .unwrap();
    cases.push(("link-profile".into(), "symbolic link"));
    // The pinned root a link to a file elsewhere.
    let link_root = w.path().join("link-root");
    copy_dir(&w.path().join("good"), &link_root);
    std::fs::remove_file(link_root.join("pinned-root-1.json")).unwrap();
    std::os::unix::fs::symlink(w.pinned_path(), link_root.join("pinned-root-1.json")).unwrap();
    cases.push(("link-root".into(), "symbolic link"));
    // An entry's directory a link out of the bundle (to a local mirror).
    let link_entry = w.path().join("link-entry");
    copy_dir(&w.path().join("good"), &link_entry);
    std::fs::remove_dir_all(link_entry.join("mirrors/0000")).unwrap();
    std::os::unix::fs::symlink(w.on("a").dir(), link_entry.join("mirrors/0000")).unwrap();
    cases.push(("link-entry".into(), "mirrors/0000 is a symbolic link"));
    // A huge profile.toml (a valid one, padded with a comment).
    let huge = w.path().join("huge");
    copy_dir(&w.path().join("good"), &huge);
    let mut padded = text.clone().into_bytes();
    padded.extend(b"\n#");
    padded.resize(mirrorproof::profile::MAX_PROFILE_BYTES as usize + 10, b'x');
    std::fs::write(huge.join("profile.toml"), padded).unwrap();
    cases.push(("huge".into(), "huge"));
    // Not UTF-8.
    let latin = w.path().join("latin1");
    copy_dir(&w.path().join("good"), &latin);
    std::fs::write(latin.join("profile.toml"), b"name = \"caf\xe9\"\n").unwrap();
    cases.push(("latin1".into(), "UTF-8"));
    // Not a bundle at all: an empty directory, a file, nothing.
    std::fs::create_dir_all(w.path().join("empty")).unwrap();
    cases.push(("empty".into(), "empty"));
    std::fs::write(w.path().join("a-file"), b"hello").unwrap();
    cases.push(("a-file".into(), "a-file"));
    cases.push(("missing".into(), "missing"));

    for (dir, what) in &cases {
        let out = merge_out(w.path(), &["good", dir], &["--json"]);
        assert!(
            !out.stderr.contains("panicked"),
            "{dir}: {}",
            out.describe()
        );
        assert_refused(&out, what);
        assert!(
            out.stderr.contains(dir.as_str()),
            "{dir}: {}",
            out.describe()
        );
    }
    // The good bundle alone is fine: the refusals came from the variants.
    let (code, _) = merge(w.path(), &["good"], &[]);
    assert_eq!(code, Some(0));
}

/// A bundle's labels (the URL it says an entry came from, the entry's name) are text from
/// someone else: the human report shows them escaped.
#[test]
fn text_from_a_bundle_never_reaches_the_terminal_raw() {
    let mut w = World::new();
    let (profile, _) = two_mirrors(&mut w);
    bundle(w.path(), &profile, "good", &["direct=FR"]);
    let url = w.url_of("a");
    variant(&w, "loud", |t| {
        t.replace(
            &format!("source = {url:?}"),
            "source = \"http://evil.example/\\u001b]0;owned\\u0007\\u001b[2J\"",
        )
        .replace("name = \"a\"", "name = \"a\\u001b[31m\\u202e\\r\"")
    });
    // A vantage label is held to the rules of vantage names: refused in one escaped line.
    variant(&w, "loud-vantage", |t| {
        t.replace(
            "vantage = \"direct-fr\"",
            "vantage = \"fr\\u001b[8m\\u0085\"",
        )
    });
    let out = merge_out(w.path(), &["good", "loud-vantage"], &[]);
    assert_eq!(out.code, Some(2), "{}", out.describe());
    assert!(
        out.stderr.contains("vantage") && out.stderr.contains("must be"),
        "{}",
        out.describe()
    );
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.describe());
    assert!(
        !out.stderr.chars().any(|c| c.is_control() && c != '\n'),
        "raw control characters in {}",
        out.describe()
    );
    for format in [&[][..], &["--json"][..]] {
        let out = merge_out(w.path(), &["good", "loud"], format);
        assert_eq!(out.code, Some(0), "{}", out.describe());
        let raw: Vec<char> = out
            .stdout
            .chars()
            .filter(|c| (c.is_control() && *c != '\n') || *c == '\u{202e}')
            .collect();
        assert!(raw.is_empty(), "raw {raw:?} in {}", out.describe());
    }
    let (_, r) = merge(w.path(), &["good", "loud"], &[]);
    assert!(
        r["mirrors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["url"] == "http://evil.example/\u{1b}]0;owned\u{7}\u{1b}[2J"),
        "the claim is kept, as data: {r:#}"
    );
    assert!(
        r["mirrors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["name"] == "a\u{1b}[31m\u{202e}\r"),
        "{r:#}"
    );
}

/// A bundle that names one of its vantages after another machine's renamed one
/// (`direct@runner-b`) must not merge its entries into that machine's column.
#[test]
fn a_bundle_cannot_pose_as_another_runners_vantage() {
    let mut w = World::new();
    let (profile, _) = two_mirrors(&mut w);
    bundle(
        w.path(),
        &profile,
        "runner-a",
        &["direct", "name=direct@runner-b,kind=direct"],
    );
    let old = previous(&w);
    w.on("b").serves(&old);
    bundle(w.path(), &profile, "runner-b", &["direct"]);
    let out = merge_out(w.path(), &["runner-a", "runner-b"], &["--json"]);
    assert_refused(&out, "direct@runner-b");
    assert!(
        out.stderr.contains("runner-a") && out.stderr.contains("bundles runner-a and runner-b"),
        "both bundles are named: {}",
        out.describe()
    );
    // Each machine alone is fine.
    for alone in ["runner-a", "runner-b"] {
        let (_, r) = merge(w.path(), &[alone], &[]);
        assert_eq!(cells(&r).len(), 2 * vantage_names(&r).len(), "{r:#}");
    }
}

// ---------------------------------------------------------------------------------------
// 9. Other schemes

mod schemes {
    use super::*;
    use common::ecosystems::{Eco, Signify};
    use sha2::{Digest, Sha256};

    /// An OpenBSD-style release directory: files, a `SHA256` list, `SHA256.sig`.
    fn openbsd_release(dir: &Path, sec: &Path, files: &[(&str, &[u8])]) {
        std::fs::create_dir_all(dir).unwrap();
        let mut list = String::new();
        for (name, bytes) in files {
            std::fs::write(dir.join(name), bytes).unwrap();
            list.push_str(&format!(
                "SHA256 ({name}) = {}\n",
                hex::encode(Sha256::digest(bytes))
            ));
        }
        let scratch = tempfile::tempdir().unwrap();
        let listing = scratch.path().join("SHA256");
        std::fs::write(&listing, list).unwrap();
        Signify::sign_embedded(sec, &listing, &dir.join("SHA256.sig"));
    }

    #[test]
    fn signify_bundles_merge_and_a_list_forged_for_one_country_is_targeting() {
        let mut e = Eco::new();
        let work = e.work();
        let (pub_key, sec) = Signify::keygen(&work, "openbsd-79-base");
        let (_, stranger) = Signify::keygen(&work, "stranger");
        e.profile = format!(
            "scheme = \"signify\"\nkey = {:?}\nchannel = \"7.9-amd64\"\nfile = \"7.9/amd64/SHA256.sig\"\n",
            pub_key.display().to_string()
        );
        let files: [(&str, &[u8]); 1] = [("base79.tgz", b"base set 7.9")];
        for (name, cc) in [("a", "FR"), ("b", "DE")] {
            openbsd_release(&e.mirror(name, cc).join("7.9/amd64"), &sec, &files);
            e.over_http(name);
        }
        let profile = e.write_profile();
        // One country's network answers for mirror b with a list signed by another key.
        let forged = tempfile::tempdir().unwrap();
        openbsd_release(&forged.path().join("7.9/amd64"), &stranger, &files);
        let forger = Server::serve_dir(forged.path());
        let b_addr = {
            let text = std::fs::read_to_string(&profile).unwrap();
            // The second mirror's URL, as written: http://127.0.0.1:PORT/
            let urls: Vec<&str> = text
                .lines()
                .filter_map(|l| l.strip_prefix("url = \""))
                .map(|l| l.trim_end_matches('"'))
                .collect();
            urls[1]
                .trim_start_matches("http://")
                .trim_end_matches('/')
                .to_owned()
        };
        let black_box = SocksProxy::start(Rules::honest().route(&b_addr, forger.addr()));
        bundle(e.path(), &profile, "bundle-fr", &["direct=FR"]);
        let de = bundle(
            e.path(),
            &profile,
            "bundle-de",
            &[&via(&black_box, "de-isp", "DE")],
        );
        assert_eq!(entry(&de, "b", "de-isp")["status"], "invalid", "{de:#}");

        let (code, merged) = merge(e.path(), &["bundle-fr", "bundle-de"], &[]);
        assert_eq!(code, Some(1));
        assert_eq!(
            cells(&merged),
            statuses(&[
                ("a via direct-fr", "ok"),
                ("b via direct-fr", "ok"),
                ("a via de-isp", "ok"),
                ("b via de-isp", "invalid"),
            ])
        );
        assert_eq!(targeted(&merged).len(), 1, "{merged:#}");
        // The auditor's own profile pins the same key and signed file: accepted.
        let (code, pinned) = merge(
            e.path(),
            &["bundle-fr", "bundle-de"],
            &["--profile", profile.to_str().unwrap()],
        );
        assert_eq!((code, cells(&pinned)), (Some(1), cells(&merged)));

        // The forged list, moved into the FR bundle's place for b, is invalid there too:
        // it is the signature that decides, not which bundle holds it.
        let fr_b = entry_dir(&e.path().join("bundle-fr"), &format!("http://{b_addr}/"));
        std::fs::copy(
            forged.path().join("7.9/amd64/SHA256.sig"),
            fr_b.join("7.9/amd64/SHA256.sig"),
        )
        .unwrap();
        let (_, again) = merge(e.path(), &["bundle-fr", "bundle-de"], &[]);
        assert_eq!(entry(&again, "b", "direct-fr")["status"], "invalid");

        // A native bundle is pinned to other trust: refused.
        let mut w = World::new();
        let (native, _) = two_mirrors(&mut w);
        let native_bundle = e.path().join("bundle-native");
        bundle(
            w.path(),
            &native,
            native_bundle.to_str().unwrap(),
            &["direct=FR"],
        );
        assert_refused(
            &merge_out(e.path(), &["bundle-fr", "bundle-native"], &[]),
            "bundle-native",
        );
    }

    #[test]
    fn tuf_bundles_merge_and_are_walked_again() {
        let repo = common_tuf::Repo::with_target();
        let served = tempfile::tempdir().unwrap();
        copy_dir(repo.path(), served.path());
        let server = Server::serve_dir(served.path());
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("root.json"), repo.root_bytes(1)).unwrap();
        let profile = dir.path().join("profile.toml");
        std::fs::write(
            &profile,
            format!(
                "name = \"repo\"\nscheme = \"tuf\"\nroot = \"root.json\"\ntargets = [\"pkg.tar\"]\n\n[[mirrors]]\nname = \"m\"\nurl = \"{0}metadata/\"\ntargets_url = \"{0}targets/\"\ncountry = \"FR\"\n",
                server.url()
            ),
        )
        .unwrap();
        bundle(dir.path(), &profile, "bundle-fr", &["direct=FR"]);
        bundle(dir.path(), &profile, "bundle-de", &["direct=DE"]);
        let (code, merged) = merge(dir.path(), &["bundle-fr", "bundle-de"], &[]);
        assert_eq!(code, Some(0), "{merged:#}");
        assert_eq!(
            cells(&merged),
            statuses(&[("m via direct-fr", "ok"), ("m via direct-de", "ok")])
        );
        let (code, _) = merge(
            dir.path(),
            &["bundle-fr", "bundle-de"],
            &["--profile", profile.to_str().unwrap()],
        );
        assert_eq!(
            code,
            Some(0),
            "the profile that made the bundles pins the same root"
        );

        // A bundle that checked other targets described another stream: refused, not judged
        // against the first bundle's targets.
        let other = dir.path().join("other.toml");
        let text = std::fs::read_to_string(&profile).unwrap();
        std::fs::write(&other, text.replace("[\"pkg.tar\"]", "[\"other.tar\"]")).unwrap();
        bundle(dir.path(), &other, "bundle-other", &["direct=US"]);
        assert_refused(
            &merge_out(dir.path(), &["bundle-fr", "bundle-other"], &[]),
            "bundle-other",
        );

        // One kept metadata file edited after signing: that entry no longer verifies.
        let de = entry_dir(
            &dir.path().join("bundle-de"),
            &format!("{}metadata/", server.url()),
        );
        let ts = find_file(&de, "timestamp.json");
        let mut bytes = std::fs::read(&ts).unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        let at = text.find("\"version\": ").unwrap() + "\"version\": ".len();
        bytes[at] = if bytes[at] == b'7' { b'8' } else { b'7' };
        std::fs::write(&ts, bytes).unwrap();
        let (code, tampered) = merge(dir.path(), &["bundle-fr", "bundle-de"], &[]);
        assert_eq!(code, Some(1), "{tampered:#}");
        assert_eq!(entry(&tampered, "m", "direct-fr")["status"], "ok");
        assert_eq!(
            entry(&tampered, "m", "direct-de")["status"],
            "invalid",
            "{tampered:#}"
        );
    }

    fn find_file(dir: &Path, name: &str) -> PathBuf {
        find_below(dir, name).unwrap_or_else(|| panic!("no {name} below {}", dir.display()))
    }

    fn find_below(dir: &Path, name: &str) -> Option<PathBuf> {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                if let Some(found) = find_below(&p, name) {
                    return Some(found);
                }
            } else if p.file_name().and_then(|n| n.to_str()) == Some(name) {
                return Some(p);
            }
        }
        None
    }
}

#[path = "common/tuf.rs"]
mod common_tuf;

//! A first-time auditor's trial of vantage points, as they would run it after reading the
//! README's "Auditors" section and docs/VANTAGES.md: the real binary, mirrors served on
//! loopback, real SOCKS and HTTP proxies on loopback standing for countries, the real `tor`
//! and `sshd` where the recipes use them. Each test is one stumble from that trial: what the
//! auditor typed and what the tool (or the documentation) must answer.

mod common;

use std::path::{Path, PathBuf};

use common::binary::{self, Out};
use common::proxy::{HttpProxy, Rules, SocksProxy};
use common::vantages::*;
use common::*;

/// `mirrorproof ARGS...` in the world's directory.
fn run(w: &World, args: &[&str]) -> Out {
    binary::run_in(w.path(), args)
}

/// A refusal: exit 2, nothing on stdout, one line on stderr.
#[track_caller]
fn refused(out: &Out) -> &str {
    assert_eq!(out.code, Some(2), "{}", out.describe());
    assert!(out.stdout.is_empty(), "{}", out.describe());
    let err = out.stderr.trim_end();
    assert!(
        !err.contains('\n'),
        "more than one line: {}",
        out.describe()
    );
    err
}

// ---------------------------------------------------------------------------------------
// Typing vantages.

/// An auditor who just started `ssh -D 1080` types the tunnel's address as it printed in
/// their terminal, without a scheme. The parser's own words ("relative URL without a base",
/// or, for `localhost:1080`, "scheme must be ..." about a scheme they never wrote) sent them
/// looking for what a "base" is; the answer is the URL they meant.
#[test]
fn a_proxy_without_a_scheme_is_answered_with_the_url_that_was_meant() {
    let (w, _) = world(1);
    let p = profile(&w, "p.toml", &names(1), &[]);
    let p = p.to_str().unwrap();
    for (spec, says) in [
        (
            "name=fr-vps,proxy=127.0.0.1:1080,country=FR",
            "did you mean socks5h://127.0.0.1:1080?",
        ),
        (
            "name=fr-vps,proxy=localhost:1080,country=FR",
            "did you mean socks5h://localhost:1080?",
        ),
        // The SOCKS version most tools default to when unsure: say what to use instead.
        (
            "name=fr-vps,proxy=socks4://127.0.0.1:1080,country=FR",
            "socks5h",
        ),
        // A proxy URL alone: the country is what a vantage is for.
        (
            "socks5h://127.0.0.1:1080",
            "did you mean proxy=socks5h://127.0.0.1:1080,country=CC?",
        ),
        // The shorthand with `=` for `:`.
        ("tor=FR", "did you mean tor:FR?"),
        ("globalping=JP", "did you mean globalping:JP?"),
    ] {
        let out = run(&w, &["check", p, "--no-state", "--vantage", spec]);
        let err = refused(&out);
        assert!(err.contains(says), "{spec}: {}", out.describe());
        assert!(!err.contains("relative URL"), "{spec}: {}", out.describe());
    }
    // `localhost` is not a scheme the auditor wrote.
    let out = run(
        &w,
        &[
            "check",
            p,
            "--no-state",
            "--vantage",
            "proxy=localhost:1080,country=FR",
        ],
    );
    assert!(
        !refused(&out).contains("scheme must be"),
        "{}",
        out.describe()
    );
}

/// Two tunnels to two VPSes in one country, neither named: both get the default name
/// `proxy-fr`, and "names must be unique" is about names the auditor never gave. The
/// message says where the name came from and what to do.
#[test]
fn two_unnamed_proxies_in_one_country_are_told_to_take_names() {
    let (w, _) = world(1);
    let p = profile(&w, "p.toml", &names(1), &[]);
    let out = run(
        &w,
        &[
            "check",
            p.to_str().unwrap(),
            "--no-state",
            "--vantage",
            "proxy=socks5h://127.0.0.1:1080,country=FR",
            "--vantage",
            "proxy=socks5h://127.0.0.1:1081,country=FR",
        ],
    );
    let err = refused(&out);
    assert!(err.contains("\"proxy-fr\""), "{}", out.describe());
    assert!(err.contains("name="), "{}", out.describe());
    // The same vantage typed twice says the same, with a way out.
    let out = run(
        &w,
        &[
            "check",
            p.to_str().unwrap(),
            "--no-state",
            "--vantage",
            "tor:FR",
            "--vantage",
            "tor:fr",
        ],
    );
    let err = refused(&out);
    assert!(err.contains("\"tor-fr\""), "{}", out.describe());
    assert!(err.contains("drop the repeated one"), "{}", out.describe());
}

// ---------------------------------------------------------------------------------------
// Trying vantages on the demo.

/// The first thing an auditor tries is the demo with a vantage. Its mirrors are local
/// directories, which are read on this machine whatever the vantage, so a run through a
/// proxy only checked nothing, and said "No mirror of 0 mirrors serves a valid release"
/// with exit 1, as if the mirrors had failed. Now it is refused up front, saying why and
/// what to add. A directory checked alongside `direct` still is, and an evidence bundle
/// (local directories that carry their vantage) still re-checks.
#[test]
fn vantages_over_local_directories_only_are_refused_saying_why() {
    let mut w = World::new();
    w.now = mirrorproof::time::now();
    let rel = genuine(&w);
    w.mirror("m0", "FR").serves(&rel);
    w.mirror("m1", "DE").serves(&rel);
    let p = profile(&w, "p.toml", &names(2), &[]);
    let p = p.to_str().unwrap();
    let proxy = SocksProxy::start(Rules::honest());
    let fr = format!("name=fr-vps,proxy={},country=FR", proxy.url("socks5h"));
    let out = run(&w, &["check", p, "--no-state", "--vantage", &fr]);
    let err = refused(&out);
    assert!(err.contains("local director"), "{}", out.describe());
    assert!(err.contains("--vantage direct"), "{}", out.describe());
    assert!(err.contains("fr-vps"), "{}", out.describe());
    assert_eq!(proxy.connections(), 0, "nothing goes through the proxy");

    // With `direct` too, the directories are checked (through direct only).
    let ev = w.path().join("ev");
    let out = run(
        &w,
        &[
            "check",
            p,
            "--no-state",
            "--vantage",
            "direct",
            "--vantage",
            &fr,
            "--evidence",
            ev.to_str().unwrap(),
        ],
    );
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert!(
        out.stdout.contains("through direct vantages only"),
        "{}",
        out.describe()
    );
    // The bundle's entries are local directories that carry their vantage: re-checked.
    let bundle = ev.join("profile.toml");
    let out = run(
        &w,
        &[
            "check",
            bundle.to_str().unwrap(),
            "--no-state",
            "--artifacts",
            "none",
        ],
    );
    assert_eq!(out.code, Some(0), "{}", out.describe());
}

// ---------------------------------------------------------------------------------------
// Reading the human report.

/// The human report's item for vantage `name` in its Vantages section, wrapped lines joined.
#[track_caller]
fn vantage_item(text: &str, name: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| *l == "Vantages")
        .unwrap_or_else(|| panic!("no Vantages section:\n{text}"));
    let mut items: Vec<String> = Vec::new();
    for l in lines[at + 1..].iter().take_while(|l| l.starts_with("  ")) {
        match items.last_mut() {
            Some(item) if l.as_bytes().get(2) == Some(&b' ') => {
                item.push(' ');
                item.push_str(l.trim());
            }
            _ => items.push((*l).to_owned()),
        }
    }
    items
        .into_iter()
        .find(|l| l.split_whitespace().nth(1) == Some(name))
        .unwrap_or_else(|| panic!("no item for vantage {name}:\n{text}"))
}

/// Lines starting with `prefix`, each with its wrapped continuation lines joined.
fn items_starting(text: &str, prefix: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut inside = false;
    for l in text.lines() {
        if l.starts_with(prefix) {
            out.push(l.to_owned());
            inside = true;
        } else if inside && l.starts_with("    ") {
            if let Some(last) = out.last_mut() {
                last.push(' ');
                last.push_str(l.trim());
            }
        } else {
            inside = false;
        }
    }
    out
}

/// The recipe's tunnel not up yet (or down): the only vantage reached nothing, and its
/// line read "ok ... reached 0 of 2", as if the path worked; it is not `degraded` only
/// because no other vantage reached anything to compare with. The line now says so.
#[test]
fn a_lone_vantage_that_reached_nothing_does_not_read_as_working() {
    let (w, _) = world(2);
    let p = profile(&w, "p.toml", &names(2), &[]);
    let down = SocksProxy::start(Rules::honest().refuse_all());
    let fr = format!("name=fr-vps,proxy={},country=FR", down.url("socks5h"));
    let out = run(
        &w,
        &["check", p.to_str().unwrap(), "--no-state", "--vantage", &fr],
    );
    assert_eq!(out.code, Some(1), "{}", out.describe());
    let item = vantage_item(&out.stdout, "fr-vps");
    assert!(item.contains("reached 0 of 2"), "{item}");
    assert!(item.contains("nothing came through it"), "{item}");
    assert!(item.contains("not running"), "{item}");
    // A working vantage's line has no such words.
    let out = run(
        &w,
        &[
            "check",
            p.to_str().unwrap(),
            "--no-state",
            "--vantage",
            "direct",
        ],
    );
    assert_eq!(out.code, Some(0), "{}", out.describe());
    let item = vantage_item(&out.stdout, "direct");
    assert!(!item.contains("nothing came through"), "{item}");
}

/// The table names mirrors by their label (`m0 [fr]`) and the TARGETED line named them by
/// URL only, listing every vantage's status in alphabetical order ("ok through de, ok
/// through direct, stale through fr"), so the odd one out had to be searched for. It now
/// names the mirror as the table does, and puts the views that differ first, each once.
#[test]
fn the_targeted_line_names_the_mirror_and_leads_with_the_odd_view() {
    let (mut w, _) = world(2);
    let old = previous(&w);
    let to = black_box(&mut w, "box", &old);
    let fr = SocksProxy::start(Rules::honest().route(&authority(&w, "m0"), to));
    let de = SocksProxy::start(Rules::honest());
    let p = profile(&w, "p.toml", &names(2), &[]);
    let mut args = vec![
        "check".to_owned(),
        p.display().to_string(),
        "--no-state".into(),
    ];
    args.extend(vantage_args(
        true,
        &[
            &vantage("fr-isp", &fr.url("socks5h"), "FR"),
            &vantage("de-vps", &de.url("socks5h"), "DE"),
        ],
    ));
    let out = binary::run_in(w.path(), &args);
    assert_eq!(out.code, Some(1), "{}", out.describe());
    let targeted = items_starting(&out.stdout, "TARGETED: ");
    assert_eq!(targeted.len(), 1, "{}", out.describe());
    let t = &targeted[0];
    assert!(
        t.starts_with(&format!("TARGETED: m0 ({}) is ", w.url_of("m0"))),
        "{t}"
    );
    assert!(
        t.ends_with("is stale through fr-isp; ok through de-vps, direct"),
        "{t}"
    );
}

/// A black box hands one country another validly signed release of the latest version for
/// one mirror. The copy line for the genuine release read "served by m0, m1 through ch,
/// direct": as if m0 had served it through ch too, when ch is the path that was handed the
/// other copy. Each mirror now comes with the vantages it served that copy through.
#[test]
fn equivocation_copies_say_which_mirror_served_them_through_which_vantage() {
    let (mut w, rel) = world(2);
    let other = other_same_version(&w);
    let to = black_box(&mut w, "box", &other);
    let ch = HttpProxy::start(Rules::honest().route(&authority(&w, "m0"), to));
    let p = profile(&w, "p.toml", &names(2), &[]);
    let mut args = vec![
        "check".to_owned(),
        p.display().to_string(),
        "--no-state".into(),
        "--artifacts".into(),
        "none".into(),
    ];
    args.extend(vantage_args(true, &[&vantage("ch-isp", &ch.url(), "CH")]));
    let out = binary::run_in(w.path(), &args);
    assert_eq!(out.code, Some(1), "{}", out.describe());
    let copies = items_starting(&out.stdout, "  copy sha256 ");
    assert_eq!(copies.len(), 2, "{}", out.describe());
    let line_of = |digest: &str| {
        copies
            .iter()
            .find(|l| l.contains(&format!("copy sha256 {}", &digest[..16])))
            .unwrap_or_else(|| panic!("no line for {digest}:\n{}", out.describe()))
            .clone()
    };
    let (m0, m1) = (w.url_of("m0"), w.url_of("m1"));
    assert!(
        line_of(&rel.payload_sha256()).ends_with(&format!(
            "served by {m0} through direct; {m1} through ch-isp, direct"
        )),
        "{}",
        out.describe()
    );
    assert!(
        line_of(&other.payload_sha256()).ends_with(&format!("served by {m0} through ch-isp")),
        "{}",
        out.describe()
    );
}

// ---------------------------------------------------------------------------------------
// Merging bundles.

/// Typing `merge` by hand: the bundle's `profile.toml` (the file `check` re-checks it
/// with) was refused as "profile.toml: Not a directory (os error 20)"; a directory that is
/// not there as "profile.toml: No such file or directory"; and one bundle given twice (a
/// glob and a name, `ev` and `ev/`) was merged as two machines' runs, every mirror counted
/// twice under `direct@ev` and `direct@ev-2`. Each is now refused saying what to give.
#[test]
fn merge_says_what_a_bundle_is_and_takes_each_once() {
    let (w, _) = world(2);
    let p = profile(&w, "p.toml", &names(2), &[]);
    let out = run(
        &w,
        &[
            "check",
            p.to_str().unwrap(),
            "--no-state",
            "--vantage",
            "direct=NL",
            "--evidence",
            "ev",
        ],
    );
    assert_eq!(out.code, Some(0), "{}", out.describe());
    let out = run(&w, &["merge", "ev"]);
    assert_eq!(out.code, Some(0), "{}", out.describe());

    for twice in [["ev", "ev"], ["ev", "ev/"]] {
        let out = run(&w, &["merge", twice[0], twice[1]]);
        let err = refused(&out);
        assert!(err.contains("give each bundle once"), "{}", out.describe());
    }
    let out = run(&w, &["merge", "ev/profile.toml"]);
    let err = refused(&out);
    assert!(
        err.contains("is a file: give the bundle's directory (ev)"),
        "{}",
        out.describe()
    );
    let out = run(&w, &["merge", "ev", "ev-fr"]);
    let err = refused(&out);
    assert!(
        err.contains("bundle ev-fr: no such directory"),
        "{}",
        out.describe()
    );
}

// ---------------------------------------------------------------------------------------
// Help and the manual.

/// The text between `.SH "MIRRORPROOF NAME"` and the next command's heading in `man`.
fn man_section<'a>(man: &'a str, name: &str) -> &'a str {
    let head = format!(".SH \"MIRRORPROOF {name}\"");
    let at = man
        .find(&head)
        .unwrap_or_else(|| panic!("no {head} in the manual"));
    let rest = &man[at + head.len()..];
    let end = rest.find(".SH \"MIRRORPROOF ").unwrap_or(rest.len());
    &rest[..end]
}

/// `check --help` listed `--vantage` and its forms, but not what the report does with them:
/// "degraded" and "targeted", the words the report then prints, were in no help text nor
/// in the manual page, and neither pointed at docs/VANTAGES.md. `merge --help` did not say
/// what a DIR is (not the bundle's profile.toml) or why vantages come back as NAME@BUNDLE.
#[test]
fn help_and_the_manual_say_how_vantages_are_judged_and_merged() {
    let w = World::new();
    let check = run(&w, &["check", "--help"]);
    assert_eq!(check.code, Some(0), "{}", check.describe());
    let merge = run(&w, &["merge", "--help"]);
    assert_eq!(merge.code, Some(0), "{}", merge.describe());
    let man = run(&w, &["man"]);
    assert_eq!(man.code, Some(0), "{}", man.describe());
    // roff writes every `-` as `\-`.
    let man = man.stdout.replace("\\-", "-");
    let man_check = man_section(&man, "CHECK");
    let man_merge = man_section(&man, "MERGE");
    for (what, text) in [("check --help", &check.stdout[..]), ("man", man_check)] {
        for word in [
            "DEGRADED",
            "TARGETED",
            "70 %",
            "merge DIR",
            "docs/VANTAGES.md",
        ] {
            assert!(text.contains(word), "{what} does not say {word:?}:\n{text}");
        }
    }
    for (what, text) in [("merge --help", &merge.stdout[..]), ("man", man_merge)] {
        for word in ["--evidence DIR", "not its profile.toml", "NAME@BUNDLE"] {
            assert!(text.contains(word), "{what} does not say {word:?}:\n{text}");
        }
    }
    // `-h` stays a summary.
    let short = run(&w, &["check", "-h"]);
    assert!(!short.stdout.contains("TARGETED"), "{}", short.describe());
}

// ---------------------------------------------------------------------------------------
// Tor without a way to the Tor network.

/// Whether `tool` is on the PATH.
fn installed(tool: &str) -> bool {
    std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool} >/dev/null 2>&1"))
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Skips (saying so on stderr) when `tool` is missing, except under `CI=true`, where the
/// reference tools are installed (scripts/install-reference-tools.sh) and a missing one
/// is a failure.
fn have(tool: &str, package: &str) -> bool {
    if installed(tool) {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{tool} is not installed under CI"
    );
    use std::io::Write as _;
    let _ = std::io::stderr().write_all(
        format!(
            "\n*** first_use_vantages: SKIPPED, {tool} (Debian's {package}) is not installed\n\n"
        )
        .as_bytes(),
    );
    false
}

/// A configuration that gives tor a Tor network it can never reach: one directory
/// authority on a loopback port where nothing listens. What a machine without internet, or
/// where Tor is blocked, looks like to tor, without leaving loopback.
fn unreachable_tor_network(w: &World) -> PathBuf {
    let p = w.path().join("no-network.torrc");
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    std::fs::write(
        &p,
        format!(
            "TestingTorNetwork 1\nDirAuthority nowhere orport={port} no-v2 \
             v3ident=01703F7EB0F4646ADD570736D261834D9C4ECD9C 127.0.0.1:{port} \
             1E88CCABF49D45457F7B579E5268CA42E25A87D9\n"
        ),
    )
    .unwrap();
    p
}

/// Without internet, `mirrorproof vantages tor` waited its two minutes and said "the exit
/// listing: tor did not bootstrap within 120 s (last: 14 %: Handshaking with a relay;
/// warning: DONE)": no word of what to check. `tor` not installed read "the exit listing:
/// cannot start tor: No such file or directory". Each now says what is wrong and what to do.
#[test]
fn listing_tor_exits_without_a_way_to_tor_says_what_to_check() {
    let w = World::new();
    let out = run(&w, &["vantages", "tor", "--tor", "/nonexistent/tor"]);
    assert_eq!(out.code, Some(1), "{}", out.describe());
    let err = out.stderr.trim_end();
    assert!(err.contains("apt-get install tor"), "{}", out.describe());
    assert!(!err.contains("the exit listing"), "{}", out.describe());
    if !have("tor", "tor") {
        return;
    }
    let torrc = unreachable_tor_network(&w);
    let out = run(
        &w,
        &[
            "vantages",
            "tor",
            "--tor-config",
            torrc.to_str().unwrap(),
            "--tor-bootstrap-timeout",
            "3",
        ],
    );
    assert_eq!(out.code, Some(1), "{}", out.describe());
    let err = out.stderr.trim_end();
    assert!(!err.contains('\n'), "{}", out.describe());
    assert!(
        err.contains("did not connect to the Tor network within 3 s"),
        "{}",
        out.describe()
    );
    assert!(
        err.contains("is this machine online?"),
        "{}",
        out.describe()
    );
    assert!(err.contains("--tor-config"), "{}", out.describe());
    assert!(!err.contains("the exit listing"), "{}", out.describe());
    assert!(out.stdout.is_empty(), "{}", out.describe());
}

/// `check --vantage tor:FR` without internet printed nothing for two minutes (tor was
/// trying to connect, up to --tor-bootstrap-timeout) and looked hung. One line on stderr now
/// says what it waits for and how long at most; stdout stays the report alone, and a
/// re-check of the bundle, which starts no tor, says nothing.
#[test]
fn a_run_with_tor_says_it_is_waiting_for_tor_and_how_long() {
    if !have("tor", "tor") {
        return;
    }
    let (w, _) = world(1);
    let p = profile(&w, "p.toml", &names(1), &[]);
    let torrc = unreachable_tor_network(&w);
    let c = check(
        &w,
        &p,
        &[
            "--vantage",
            "direct",
            "--vantage",
            "tor:FR",
            "--tor-config",
            torrc.to_str().unwrap(),
            "--tor-bootstrap-timeout",
            "3",
            "--evidence",
            "ev",
        ],
    );
    // The tor vantage is degraded, so it decides nothing: the run is direct's.
    assert_eq!(c.code(), Some(0), "{}", c.out.describe());
    assert_eq!(c.status("m0", "tor-fr"), "unreachable", "{}", c.table());
    assert_eq!(c.vantage_status("tor-fr"), "degraded");
    let err = c.out.stderr.trim_end();
    assert_eq!(
        err,
        "mirrorproof: starting tor for tor:FR; connecting to the Tor network may take up to 3 s (--tor-bootstrap-timeout)",
        "{}",
        c.out.describe()
    );
    let bundle = w.path().join("ev").join("profile.toml");
    let out = run(
        &w,
        &[
            "check",
            bundle.to_str().unwrap(),
            "--no-state",
            "--artifacts",
            "none",
        ],
    );
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert!(out.stdout.contains("tor-fr"), "{}", out.describe());
    assert!(out.stderr.is_empty(), "{}", out.describe());
}

// ---------------------------------------------------------------------------------------
// The recipes, as written.

/// The shell commands of the first ```sh block after `heading` in `doc`, continuation lines
/// joined.
fn recipe(doc: &str, heading: &str) -> Vec<String> {
    let at = doc
        .find(heading)
        .unwrap_or_else(|| panic!("no {heading:?} in the document"));
    let block = doc[at..]
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .unwrap_or_else(|| panic!("no sh block after {heading:?}"));
    let mut commands: Vec<String> = Vec::new();
    let mut continued = false;
    for line in block.lines() {
        let (text, more) = match line.trim_end().strip_suffix('\\') {
            Some(t) => (t, true),
            None => (line.trim_end(), false),
        };
        match commands.last_mut() {
            Some(last) if continued => {
                last.push(' ');
                last.push_str(text.trim());
            }
            _ if !text.trim().is_empty() => commands.push(text.trim().to_owned()),
            _ => {}
        }
        continued = more;
    }
    commands
}

/// An OpenSSH server on 127.0.0.1 for this test only, that lets `user` in with `key`; stopped
/// when dropped.
struct Sshd {
    child: std::process::Child,
    port: u16,
}

impl Sshd {
    fn start(dir: &Path, user_key_pub: &Path) -> Sshd {
        let host_key = dir.join("host_key");
        keygen(&host_key);
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let config = dir.join("sshd_config");
        std::fs::write(
            &config,
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {}\nPidFile none\n\
                 AuthorizedKeysFile {}\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
                 PermitRootLogin prohibit-password\nStrictModes no\nUsePAM no\nAllowTcpForwarding yes\n",
                host_key.display(),
                user_key_pub.display()
            ),
        )
        .unwrap();
        // As root, sshd wants its privilege separation directory, which only the system
        // service creates.
        if is_root() {
            let _ = std::fs::create_dir_all("/run/sshd");
        }
        let child = std::process::Command::new("/usr/sbin/sshd")
            .arg("-D")
            .arg("-e")
            .arg("-f")
            .arg(&config)
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(dir.join("sshd.log")).unwrap())
            .spawn()
            .expect("start sshd");
        let sshd = Sshd { child, port };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "sshd did not listen: {}",
                std::fs::read_to_string(dir.join("sshd.log")).unwrap_or_default()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        sshd
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn keygen(path: &Path) {
    let st = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path)
        .status()
        .expect("ssh-keygen");
    assert!(st.success());
}

/// The VPS recipe in docs/VANTAGES.md started the tunnel with `ssh -N -D ... &` and ran the
/// check on the next line. `&` returns at once, before ssh has logged in, so the check
/// went out while nothing listened on 1080: the vantage reached nothing and came out
/// `degraded` (or, alone, "ok, reached 0 of 2"), even with the VPS on loopback. (A first
/// login's host key question also cannot be answered from the background.) Run as written
/// against a real sshd on loopback, the tunnel must listen when its command returns, the
/// check must go through it, and the recipe must close it again.
#[test]
fn the_ssh_tunnel_recipe_works_as_written() {
    if !have("sshd", "openssh-server") || !have("ssh", "openssh-client") {
        return;
    }
    let (w, _) = world(2);
    let p = profile(&w, "exampleos.toml", &names(2), &[]);
    let home = w.path().join("home");
    std::fs::create_dir_all(home.join(".ssh")).unwrap();
    let key = home.join(".ssh").join("id_ed25519");
    keygen(&key);
    let sshd = Sshd::start(w.path(), &key.with_extension("pub"));
    let user = String::from_utf8(
        std::process::Command::new("id")
            .arg("-un")
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let local = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let login = format!(
        "-p {} -i {} -o BatchMode=yes -o StrictHostKeyChecking=accept-new -o UserKnownHostsFile={} {}@127.0.0.1",
        sshd.port,
        key.display(),
        home.join(".ssh").join("known_hosts").display(),
        user.trim()
    );
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/VANTAGES.md"))
            .unwrap();
    let commands = recipe(&doc, "### A cheap VPS in a country");
    assert!(commands.len() >= 2, "{commands:?}");
    let sh = |command: &str| {
        let command = command
            .replace("user@vps-in-fr.example", &login)
            .replace("127.0.0.1:1080", &local.to_string())
            .replace("exampleos.toml", p.to_str().unwrap());
        let command = match command.strip_prefix("mirrorproof ") {
            Some(rest) => format!("{} {rest} --no-state", binary::BIN),
            None => command,
        };
        // Files, not pipes: a command the recipe sends to the background keeps whatever it
        // inherited open, and reading a pipe to its end would wait for it.
        let (out_path, err_path) = (w.path().join("sh.out"), w.path().join("sh.err"));
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg(&command)
            .current_dir(w.path())
            .env("HOME", &home)
            .env_remove("COLUMNS")
            .stdin(std::process::Stdio::null())
            .stdout(std::fs::File::create(&out_path).unwrap())
            .stderr(std::fs::File::create(&err_path).unwrap())
            .status()
            .unwrap();
        let out = std::process::Output {
            status,
            stdout: std::fs::read(&out_path).unwrap(),
            stderr: std::fs::read(&err_path).unwrap(),
        };
        (command, out)
    };

    let (first, out) = sh(&commands[0]);
    assert!(first.starts_with("ssh "), "{first}");
    assert!(out.status.success(), "{first}: {out:?}");
    assert!(
        std::net::TcpStream::connect(local).is_ok(),
        "the tunnel does not listen once `{first}` has returned"
    );
    let (check, out) = sh(&commands[1]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{check}:\n{stdout}");
    let item = vantage_item(&stdout, "fr-vps");
    assert!(
        item.starts_with("  ok") && item.contains("reached 2 of 2"),
        "{item}"
    );
    // The recipe closes what it opened.
    for close in &commands[2..] {
        let (close, out) = sh(close);
        assert!(out.status.success(), "{close}: {out:?}");
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::net::TcpStream::connect(local).is_ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "the recipe leaves the tunnel open"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    drop(sshd);
}

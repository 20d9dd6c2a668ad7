//! The private Tor network on loopback that the managed-Tor tests run against
//! (`scripts/tor-testnet.sh`): three authorities, a middle relay and exits placed in FR, DE
//! and US by a GeoIP file.
//!
//! With `MIRRORPROOF_TOR_TESTNET=DIR` the tests use the network already running in DIR
//! (scripts/test.sh starts one for the whole suite); without it, [`Testnet::get`] starts one in
//! a temporary directory and stops it when dropped. Without `tor` installed the tests skip,
//! saying so, except under `CI=true`, where they fail.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One exit of the network, from `DIR/exits`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exit {
    pub fingerprint: String,
    pub address: String,
}

pub struct Testnet {
    pub dir: PathBuf,
    /// Country (upper case) → its exit.
    pub exits: BTreeMap<String, Exit>,
    /// Set when this process started the network: stopped and removed on drop.
    owned: Option<tempfile::TempDir>,
}

impl Testnet {
    /// The running network, a fresh one, or `None` (after a loud message) when tor is not
    /// installed outside CI.
    pub fn get() -> Option<Testnet> {
        if let Some(dir) = std::env::var_os("MIRRORPROOF_TOR_TESTNET").filter(|d| !d.is_empty()) {
            return Some(Testnet::read(PathBuf::from(dir), None));
        }
        if !installed("tor") || !installed("tor-gencert") {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "tor is not installed under CI: the managed-Tor tests cannot run \
                 (scripts/install-reference-tools.sh installs Debian's tor)"
            );
            // Straight to the process's stderr: the test harness would capture eprintln!.
            let _ = std::io::stderr().write_all(
                b"\n*** tor_vantage: SKIPPED, tor (Debian's package `tor`) is not installed.\n\
                  *** Install it with scripts/install-reference-tools.sh.\n\n",
            );
            return None;
        }
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("net");
        let out = Command::new("bash")
            .arg(script())
            .arg("start")
            .arg(&dir)
            .env("TESTNET_OWNER_PID", std::process::id().to_string())
            .output()
            .expect("run scripts/tor-testnet.sh");
        if !out.status.success() {
            let _ = Command::new("bash")
                .arg(script())
                .arg("stop")
                .arg(&dir)
                .status();
            panic!(
                "scripts/tor-testnet.sh start failed ({}):\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Some(Testnet::read(dir, Some(tmp)))
    }

    fn read(dir: PathBuf, owned: Option<tempfile::TempDir>) -> Testnet {
        let exits_file = dir.join("exits");
        let text = std::fs::read_to_string(&exits_file)
            .unwrap_or_else(|e| panic!("{}: {e} (is the testnet running?)", exits_file.display()));
        let exits = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let w: Vec<&str> = l.split_whitespace().collect();
                assert_eq!(w.len(), 3, "bad line in {}: {l:?}", exits_file.display());
                (
                    w[0].to_string(),
                    Exit {
                        fingerprint: w[1].to_string(),
                        address: w[2].to_string(),
                    },
                )
            })
            .collect();
        Testnet { dir, exits, owned }
    }

    /// The torrc lines a client of this network needs (`TorOptions::extra_config`).
    pub fn client_torrc(&self) -> PathBuf {
        self.dir.join("client.torrc")
    }

    pub fn exit(&self, cc: &str) -> &Exit {
        self.exits
            .get(cc)
            .unwrap_or_else(|| panic!("the testnet has no exit in {cc}"))
    }
}

impl Drop for Testnet {
    fn drop(&mut self) {
        if self.owned.is_some() {
            let _ = Command::new("bash")
                .arg(script())
                .arg("stop")
                .arg(&self.dir)
                .status();
        }
    }
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scripts")
        .join("tor-testnet.sh")
}

fn installed(tool: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool} >/dev/null 2>&1"))
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

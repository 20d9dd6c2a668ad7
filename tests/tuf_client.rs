//! The TUF client, against real repositories served over loopback HTTP: the command line
//! the conformance suite drives, and the library's `Updater` and audit view under the
//! attacks the specification names (rollback, freeze, mix-and-match, endless data, wrong
//! hashes and lengths, bad rotations, fast-forward recovery, delegations).

#[path = "common/http.rs"]
mod http;
#[path = "common/tuf.rs"]
mod repo;

use std::process::Command;
use std::time::{Duration, Instant};

use http::{Behavior, Server};
use repo::Repo;

const BIN: &str = env!("CARGO_BIN_EXE_mirrorproof");

struct Client {
    dir: tempfile::TempDir,
    metadata_url: String,
    targets_url: String,
}

struct Ran {
    code: i32,
    stderr: String,
}

impl Client {
    fn new(server: &Server) -> Client {
        Client {
            dir: tempfile::tempdir().unwrap(),
            metadata_url: format!("{}metadata/", server.url()),
            targets_url: format!("{}targets/", server.url()),
        }
    }

    fn metadata_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("metadata")
    }

    fn target_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("targets")
    }

    fn run(&self, args: &[&str]) -> Ran {
        let out = Command::new(BIN)
            .arg("tuf-client")
            .args(args)
            .env("RUST_BACKTRACE", "0")
            .output()
            .unwrap();
        Ran {
            code: out.status.code().unwrap_or(-1),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn init(&self, root: &[u8]) -> Ran {
        let f = self.dir.path().join("initial_root.json");
        std::fs::write(&f, root).unwrap();
        let md = self.metadata_dir();
        self.run(&[
            "--metadata-dir",
            md.to_str().unwrap(),
            "init",
            f.to_str().unwrap(),
        ])
    }

    fn refresh(&self) -> Ran {
        let md = self.metadata_dir();
        self.run(&[
            "--metadata-url",
            &self.metadata_url,
            "--metadata-dir",
            md.to_str().unwrap(),
            "refresh",
        ])
    }

    fn download(&self, names: &[&str]) -> Ran {
        let md = self.metadata_dir();
        let td = self.target_dir();
        let mut args = vec![
            "--metadata-url",
            &self.metadata_url,
            "--metadata-dir",
            md.to_str().unwrap(),
        ];
        for n in names {
            args.push("--target-name");
            args.push(n);
        }
        args.extend([
            "--target-dir",
            td.to_str().unwrap(),
            "--target-base-url",
            &self.targets_url,
            "download",
        ]);
        self.run(&args)
    }

    /// The version of the trusted copy of `role`, if there is one.
    fn version(&self, role: &str) -> Option<u64> {
        let b = std::fs::read(self.metadata_dir().join(format!("{role}.json"))).ok()?;
        let v: serde_json::Value = serde_json::from_slice(&b).unwrap();
        v["signed"]["version"].as_u64()
    }

    fn downloaded(&self, file: &str) -> Option<Vec<u8>> {
        std::fs::read(self.target_dir().join(file)).ok()
    }
}

fn served(repo: &Repo) -> Server {
    Server::start(repo.path().to_path_buf(), Behavior::Normal)
}

#[track_caller]
fn ok(r: Ran) {
    assert_eq!(r.code, 0, "expected success, stderr: {}", r.stderr);
}

#[track_caller]
fn fails(r: Ran) -> String {
    assert_eq!(r.code, 1, "expected failure, stderr: {}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "one line: {}", r.stderr);
    r.stderr
}

#[test]
fn init_refresh_download_end_to_end() {
    let mut repo = Repo::new();
    repo.add_target("targets", "dir/file.txt", b"hello tuf");
    repo.update_targets();
    let server = served(&repo);
    let c = Client::new(&server);
    ok(c.init(&repo.root_bytes(1)));
    assert_eq!(server.requests(), 0, "init makes no request");
    ok(c.refresh());
    assert_eq!(c.version("root"), Some(1));
    assert_eq!(c.version("timestamp"), Some(2));
    assert_eq!(c.version("snapshot"), Some(2));
    assert_eq!(c.version("targets"), Some(2));
    ok(c.download(&["dir/file.txt"]));
    assert_eq!(
        c.downloaded("dir%2Ffile.txt").as_deref(),
        Some(&b"hello tuf"[..])
    );
    // Consistent snapshot: the hash-prefixed name was fetched, never the plain one.
    assert_eq!(server.requests_for("GET", "/targets/dir/file.txt"), 0);
    let h = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b"hello tuf"));
    assert_eq!(
        server.requests_for("GET", &format!("/targets/dir/{h}.file.txt")),
        1
    );
    // Already there with the signed hashes: not fetched again.
    ok(c.download(&["dir/file.txt"]));
    assert_eq!(
        server.requests_for("GET", &format!("/targets/dir/{h}.file.txt")),
        1
    );
    // A name no role lists.
    let e = fails(c.download(&["nope"]));
    assert!(e.contains("no trusted role lists target"), "{e}");
}

#[test]
fn init_refuses_a_root_that_does_not_verify() {
    let repo = Repo::new();
    let server = served(&repo);
    let c = Client::new(&server);
    let mut bad: serde_json::Value = serde_json::from_slice(&repo.root_bytes(1)).unwrap();
    bad["signed"]["version"] = serde_json::json!(7);
    let e = fails(c.init(&serde_json::to_vec(&bad).unwrap()));
    assert!(e.contains("threshold"), "{e}");
    // Refresh without a trusted root fails before any request.
    fails(c.refresh());
    assert_eq!(server.requests(), 0);
}

#[test]
fn slow_server_hits_the_deadline() {
    let repo = Repo::new();
    let server = Server::start(repo.path().to_path_buf(), Behavior::NeverAnswer);
    let c = Client::new(&server);
    ok(c.init(&repo.root_bytes(1)));
    let md = c.metadata_dir();
    let started = Instant::now();
    let e = fails(c.run(&[
        "--metadata-url",
        &c.metadata_url,
        "--metadata-dir",
        md.to_str().unwrap(),
        "--timeout",
        "1",
        "refresh",
    ]));
    assert!(started.elapsed() < Duration::from_secs(10), "{e}");
    assert!(e.contains("timed out"), "{e}");
}

//! A world for the signed-file schemes: keys and signatures made by the real reference
//! tools (signify-openbsd, minisign, ssh-keygen), mirrors as directories or loopback HTTP
//! servers, and a check run through the library exactly as `mirrorproof check` runs it.
//! `scripts/install-reference-tools.sh` installs the tools; CI runs it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use mirrorproof::fetch::{ArtifactMode, FetchConfig};
use mirrorproof::profile::Profile;
use mirrorproof::report::Report;
use mirrorproof::run::{self, CheckOptions, Outcome};
use mirrorproof::schemes::files::{self, Files, LatestSigned};
use mirrorproof::state::StateStore;

use super::http::Server;

/// Runs a reference tool and insists that it succeeded.
pub fn tool(program: &str, args: &[&str], cwd: &Path) -> std::process::Output {
    let out = Command::new(program)
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {program} ({e}); install the reference tools: scripts/install-reference-tools.sh")
        });
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs a reference tool and returns whether it accepted (exit 0).
pub fn tool_accepts(program: &str, args: &[&str], cwd: &Path) -> bool {
    Command::new(program)
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} ({e})"))
        .status
        .success()
}

pub struct Signify;
impl Signify {
    /// Makes `NAME.pub` and `NAME.sec` (no passphrase) in `dir`.
    pub fn keygen(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
        let (p, s) = (
            dir.join(format!("{name}.pub")),
            dir.join(format!("{name}.sec")),
        );
        tool(
            "signify-openbsd",
            &[
                "-G",
                "-n",
                "-p",
                p.to_str().unwrap(),
                "-s",
                s.to_str().unwrap(),
            ],
            dir,
        );
        (p, s)
    }
    /// An embedded signature over `message` (like OpenBSD's SHA256.sig).
    pub fn sign_embedded(sec: &Path, message: &Path, out: &Path) {
        tool(
            "signify-openbsd",
            &[
                "-S",
                "-e",
                "-s",
                sec.to_str().unwrap(),
                "-m",
                message.to_str().unwrap(),
                "-x",
                out.to_str().unwrap(),
            ],
            Path::new("/"),
        );
    }
    pub fn sign(sec: &Path, message: &Path, out: &Path) {
        tool(
            "signify-openbsd",
            &[
                "-S",
                "-s",
                sec.to_str().unwrap(),
                "-m",
                message.to_str().unwrap(),
                "-x",
                out.to_str().unwrap(),
            ],
            Path::new("/"),
        );
    }
}

pub struct Minisign;
impl Minisign {
    pub fn keygen(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
        let (p, s) = (
            dir.join(format!("{name}.pub")),
            dir.join(format!("{name}.key")),
        );
        tool(
            "minisign",
            &[
                "-G",
                "-W",
                "-f",
                "-p",
                p.to_str().unwrap(),
                "-s",
                s.to_str().unwrap(),
            ],
            dir,
        );
        (p, s)
    }
    /// Signs `file` into `file.minisig`; `legacy` makes an `Ed` (not prehashed) signature.
    pub fn sign(sec: &Path, file: &Path, legacy: bool, trusted: &str) -> PathBuf {
        let sig = PathBuf::from(format!("{}.minisig", file.display()));
        let mut args = vec!["-S", "-s", sec.to_str().unwrap(), "-t", trusted, "-m"];
        args.push(file.to_str().unwrap());
        args.extend(["-x", sig.to_str().unwrap()]);
        if legacy {
            args.push("-l");
        }
        tool("minisign", &args, Path::new("/"));
        sig
    }
}

pub struct Ssh;
impl Ssh {
    /// Makes an ed25519 key; returns (private key path, public key line).
    pub fn keygen(dir: &Path, name: &str) -> (PathBuf, String) {
        let k = dir.join(name);
        tool(
            "ssh-keygen",
            &[
                "-q",
                "-t",
                "ed25519",
                "-N",
                "",
                "-C",
                name,
                "-f",
                k.to_str().unwrap(),
            ],
            dir,
        );
        let line = std::fs::read_to_string(format!("{}.pub", k.display())).unwrap();
        (k, line.trim().to_owned())
    }
    /// `ssh-keygen -Y sign`: writes `file.sig`.
    pub fn sign(key: &Path, namespace: &str, file: &Path) -> PathBuf {
        tool(
            "ssh-keygen",
            &[
                "-q",
                "-Y",
                "sign",
                "-f",
                key.to_str().unwrap(),
                "-n",
                namespace,
                file.to_str().unwrap(),
            ],
            Path::new("/"),
        );
        PathBuf::from(format!("{}.sig", file.display()))
    }
}

/// Mirrors and profile for one signed-file scheme.
pub struct Eco {
    dir: tempfile::TempDir,
    pub artifacts: ArtifactMode,
    pub state: Option<StateStore>,
    pub fetch: FetchConfig,
    /// Profile lines other than name and mirrors (scheme, key, channel, file, ...).
    pub profile: String,
    mirrors: Vec<(String, String, PathBuf, Option<Server>)>,
}

impl Default for Eco {
    fn default() -> Self {
        Eco::new()
    }
}

impl Eco {
    pub fn new() -> Eco {
        Eco {
            dir: tempfile::tempdir().unwrap(),
            artifacts: ArtifactMode::Full,
            state: None,
            fetch: FetchConfig {
                timeout: std::time::Duration::from_secs(5),
                artifact_timeout: std::time::Duration::from_secs(10),
                ..FetchConfig::default()
            },
            profile: String::new(),
            mirrors: Vec::new(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A scratch directory for keys and files being signed.
    pub fn work(&self) -> PathBuf {
        let p = self.path().join("work");
        std::fs::create_dir_all(&p).unwrap();
        p
    }

    pub fn enable_state(&mut self) {
        self.state = Some(StateStore::new(self.path().join("state")));
    }

    /// Adds a mirror directory and returns it.
    pub fn mirror(&mut self, name: &str, country: &str) -> PathBuf {
        let d = self.path().join("mirrors").join(name);
        std::fs::create_dir_all(&d).unwrap();
        self.mirrors
            .push((name.into(), country.into(), d.clone(), None));
        d
    }

    pub fn dir_of(&self, name: &str) -> PathBuf {
        self.mirrors.iter().find(|m| m.0 == name).unwrap().2.clone()
    }

    /// Serves a mirror over loopback HTTP from now on.
    pub fn over_http(&mut self, name: &str) {
        let m = self.mirrors.iter_mut().find(|m| m.0 == name).unwrap();
        m.3 = Some(Server::serve_dir(m.2.clone()));
    }

    /// Serves a mirror over loopback HTTP with a misbehaving server.
    pub fn http_with(&mut self, name: &str, behavior: super::http::Behavior) {
        let m = self.mirrors.iter_mut().find(|m| m.0 == name).unwrap();
        m.3 = Some(Server::start(m.2.clone(), behavior));
    }

    /// Writes the profile (scheme lines + every mirror) and returns its path.
    pub fn write_profile(&self) -> PathBuf {
        let mut text = format!("name = \"eco\"\n{}\n", self.profile);
        for (name, country, dir, server) in &self.mirrors {
            let url = match server {
                Some(s) => s.url(),
                None => dir.display().to_string(),
            };
            text.push_str(&format!(
                "[[mirrors]]\nurl = {url:?}\ncountry = {country:?}\nname = {name:?}\n"
            ));
        }
        let p = self.path().join("profile.toml");
        std::fs::write(&p, text).unwrap();
        p
    }

    pub fn try_run(&self) -> Result<Outcome<Option<LatestSigned>>, String> {
        let path = self.write_profile();
        let profile = Profile::load(&path).map_err(|e| e.to_string())?;
        let (pinned, source) = files::load_pinned(&profile).map_err(|e| e.to_string())?;
        let opts = CheckOptions {
            channel: profile.channel.clone(),
            artifacts: self.artifacts,
            fetch: self.fetch.clone(),
            state: self.state.clone(),
            now: mirrorproof::time::now(),
            vantages: Default::default(),
            hooks: Default::default(),
        };
        let files = Files::new(pinned, source, &profile.name, &opts);
        run::check(files, &profile.name, profile.mirrors, opts, None).map_err(|e| e.to_string())
    }

    pub fn run(&self) -> Report {
        self.try_run()
            .unwrap_or_else(|e| panic!("check failed: {e}"))
            .report
    }
}

/// The status a report gives the mirror named `name`.
pub fn status_of(r: &Report, name: &str) -> String {
    let m = r
        .mirrors
        .iter()
        .find(|m| m.name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("no mirror {name} in the report"));
    m.status.as_str().to_owned()
}

pub fn error_of(r: &Report, name: &str) -> String {
    r.mirrors
        .iter()
        .find(|m| m.name.as_deref() == Some(name))
        .and_then(|m| m.error.clone())
        .unwrap_or_default()
}

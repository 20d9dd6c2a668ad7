//! Histories for the history tests, one fresh database per test, in either store: an
//! SQLite file in a temporary directory, or a new database on a real PostgreSQL server on
//! loopback.
//!
//! The server is the one `MIRRORPROOF_TEST_POSTGRES=postgres://...` names (scripts/test.sh
//! starts one for the whole suite), else one this process starts with
//! scripts/postgres-test.sh (it stops by itself when the process exits). Without
//! PostgreSQL installed the PostgreSQL half skips, saying so, except under `CI=true`, where
//! it fails.
#![allow(dead_code)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use mirrorproof::history::{self, Store};
use mirrorproof::profile::Profile;
use mirrorproof::run::{CheckOptions, ProfileCheck, ProfileOutcome};

use super::World;

/// One test's history.
pub enum Db {
    Sqlite {
        _dir: tempfile::TempDir,
        path: PathBuf,
    },
    Postgres {
        url: String,
    },
}

impl Db {
    pub fn sqlite() -> Db {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("history.sqlite");
        Db::Sqlite { _dir: dir, path }
    }

    /// A new, empty database on the test server; `None` (after a loud message) when
    /// PostgreSQL is not installed outside CI.
    pub fn postgres() -> Option<Db> {
        let base = server()?;
        static N: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "t_{}_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos()
        );
        let mut admin = postgres::Client::connect(base, postgres::NoTls)
            .unwrap_or_else(|e| panic!("connect to the test PostgreSQL: {e}"));
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        let mut url = url::Url::parse(base).unwrap();
        url.set_path(&format!("/{name}"));
        Some(Db::Postgres {
            url: url.to_string(),
        })
    }

    /// What `--history` is given.
    pub fn spec(&self) -> String {
        match self {
            Db::Sqlite { path, .. } => path.display().to_string(),
            Db::Postgres { url } => url.clone(),
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Db::Postgres { .. })
    }

    pub fn open(&self) -> Box<dyn Store> {
        history::open(&self.spec()).unwrap_or_else(|e| panic!("open the history: {e}"))
    }

    /// Rows of a query, every column read as text (the query casts what is not).
    pub fn query(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        match self {
            Db::Sqlite { path, .. } => {
                let c = rusqlite::Connection::open(path).unwrap();
                let mut st = c.prepare(sql).unwrap();
                let n = st.column_count();
                st.query_map([], |r| {
                    (0..n)
                        .map(|i| r.get::<_, Option<String>>(i))
                        .collect::<Result<Vec<_>, _>>()
                })
                .unwrap()
                .collect::<Result<Vec<_>, _>>()
                .unwrap()
            }
            Db::Postgres { url } => {
                let mut c = postgres::Client::connect(url, postgres::NoTls).unwrap();
                c.query(sql, &[])
                    .unwrap()
                    .iter()
                    .map(|r| {
                        (0..r.len())
                            .map(|i| r.get::<_, Option<String>>(i))
                            .collect()
                    })
                    .collect()
            }
        }
    }

    /// Runs statements directly on the database (tests that tamper with a history).
    pub fn execute(&self, sql: &str) {
        match self {
            Db::Sqlite { path, .. } => {
                rusqlite::Connection::open(path)
                    .unwrap()
                    .execute_batch(sql)
                    .unwrap();
            }
            Db::Postgres { url } => {
                postgres::Client::connect(url, postgres::NoTls)
                    .unwrap()
                    .batch_execute(sql)
                    .unwrap();
            }
        }
    }
}

/// The test server's URL, started once per test process when the suite did not.
fn server() -> Option<&'static str> {
    static URL: OnceLock<Option<String>> = OnceLock::new();
    URL.get_or_init(|| {
        if let Ok(url) = std::env::var("MIRRORPROOF_TEST_POSTGRES")
            && !url.is_empty()
        {
            return Some(url);
        }
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/postgres-test.sh");
        // Kept until the process exits: the server stops by itself then.
        let dir = tempfile::tempdir().expect("tempdir").keep().join("pg");
        let out = Command::new("bash")
            .arg(&script)
            .arg("start")
            .arg(&dir)
            .env("PG_OWNER_PID", std::process::id().to_string())
            .output()
            .expect("run scripts/postgres-test.sh");
        if out.status.success() {
            let url = String::from_utf8(out.stdout).unwrap();
            return url.lines().last().map(str::to_owned);
        }
        let why = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "PostgreSQL could not be started under CI (scripts/install-reference-tools.sh \
             installs Debian's postgresql): {why}"
        );
        let _ = std::io::stderr().write_all(
            format!(
                "\n*** history: PostgreSQL tests SKIPPED: {}\
                 *** Install it with scripts/install-reference-tools.sh.\n\n",
                why
            )
            .as_bytes(),
        );
        None
    })
    .as_deref()
}

/// Checks the world's profile the way `check --history` does, at `at` (RFC 3339), keeping
/// the documents the mirrors served.
pub fn check_at(w: &World, profile: &Path, at: &str) -> ProfileOutcome {
    let p = Profile::load(profile).unwrap();
    let opts = CheckOptions {
        channel: w.channel.clone(),
        artifacts: w.artifacts,
        fetch: w.fetch.clone(),
        state: None,
        now: mirrorproof::time::parse(at).unwrap(),
        vantages: Default::default(),
        hooks: Default::default(),
    };
    ProfileCheck::load(&p, opts)
        .unwrap()
        .keep_documents(true)
        .run(p.mirrors.clone(), None)
        .unwrap()
}

/// `mirrorproof check PROFILE --no-state --history DB` in `dir`, as a user records a run.
#[allow(dead_code)]
pub fn check_recording(dir: &Path, profile: &Path, history: &str) -> super::binary::Out {
    let profile = profile.to_str().unwrap();
    super::binary::run_in(dir, &["check", profile, "--no-state", "--history", history])
}

/// Records a run in `db`.
pub fn record(db: &Db, outcome: &ProfileOutcome) {
    db.open()
        .record(&history::RunRecord::from_outcome(outcome))
        .unwrap_or_else(|e| panic!("record: {e}"));
}

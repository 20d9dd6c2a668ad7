//! The real binary, run as a user would in a directory of their own: `HOME` is that
//! directory, and nothing from the caller's environment that changes the output (data
//! directory, terminal width, backtraces) leaks in.

use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;

use mirrorproof::text::shown;

pub const BIN: &str = env!("CARGO_BIN_EXE_mirrorproof");

/// What one run printed. Output must be UTF-8: a lossy conversion could hide bytes that a
/// terminal would obey.
pub struct Out {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    /// Both streams for a failed assertion, escaped so the test log itself stays safe.
    pub fn describe(&self) -> String {
        format!(
            "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.code,
            shown(&self.stdout),
            shown(&self.stderr)
        )
    }
}

pub fn run_in<S: AsRef<OsStr>>(dir: &Path, args: &[S]) -> Out {
    let out = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env("HOME", dir)
        .env_remove("XDG_DATA_HOME")
        .env_remove("COLUMNS")
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("run mirrorproof");
    Out {
        code: out.status.code(),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    }
}

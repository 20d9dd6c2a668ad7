#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used)]

mod cli;

fn main() {
    std::process::exit(cli::main());
}

//! `mirrorproof vantages tor`: which countries a `tor:CC` vantage can use right now.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};

use mirrorproof::text::shown;
use mirrorproof::vantage::tor::{TorOptions, exit_countries};

use super::{EXIT_OK, Fail, problem, usage};

#[derive(Subcommand)]
pub(crate) enum VantagesCmd {
    /// Start a tor client, wait for it to connect, and list the countries with usable exit
    /// relays (Running, Valid, Exit, not BadExit), by Tor's GeoIP.
    Tor(TorArgs),
}

#[derive(Args)]
pub(crate) struct TorArgs {
    /// The tor program [default: tor on the PATH]
    #[arg(long, value_name = "PATH")]
    tor: Option<PathBuf>,
    /// Lines to add to the tor client's configuration.
    #[arg(long, value_name = "FILE")]
    tor_config: Option<PathBuf>,
    /// Seconds tor may take to connect.
    #[arg(long, default_value_t = 120.0, value_name = "SECS")]
    tor_bootstrap_timeout: f64,
    /// Print JSON: {"schema": "mirrorproof.tor-exits/1", "countries": {CC: [exit, ...]}}.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(cmd: VantagesCmd) -> Result<i32, Fail> {
    let VantagesCmd::Tor(args) = cmd;
    let mut opts = TorOptions::default();
    if let Some(t) = args.tor {
        opts.binary = t;
    }
    opts.extra_config = args.tor_config;
    opts.bootstrap_timeout = Duration::try_from_secs_f64(args.tor_bootstrap_timeout)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| usage("--tor-bootstrap-timeout must be a positive number of seconds"))?;
    let countries = exit_countries(&opts).map_err(problem)?;
    if args.json {
        let doc = serde_json::json!({
            "schema": "mirrorproof.tor-exits/1",
            "countries": countries,
        });
        println!(
            "{}",
            mirrorproof::text::json_pretty(&doc).unwrap_or_default()
        );
    } else {
        for (cc, exits) in &countries {
            println!(
                "{}  {} usable exit{}  (--vantage tor:{})",
                shown(cc),
                exits.len(),
                if exits.len() == 1 { "" } else { "s" },
                shown(cc)
            );
        }
        if countries.is_empty() {
            println!("no usable exit relay with a known country");
        }
    }
    Ok(EXIT_OK)
}

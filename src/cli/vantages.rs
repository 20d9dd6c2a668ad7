//! `mirrorproof vantages tor`: which countries a `tor:CC` vantage can use right now.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};

use mirrorproof::text::shown;
use mirrorproof::vantage::tor::{TorError, TorOptions, exit_countries};

use super::{EXIT_OK, Fail, problem, usage};

#[derive(Subcommand)]
pub(crate) enum VantagesCmd {
    /// Start a tor client, wait for it to connect, and list the countries with usable exit
    /// relays (Running, Valid, Exit, not BadExit), by Tor's GeoIP.
    #[command(after_help = TOR_AFTER_HELP)]
    Tor(TorArgs),
}

/// What the listing needs that its options do not say.
const TOR_AFTER_HELP: &str = "\
Needs Debian's tor package (apt-get install tor; no torrc, no system service) and a network \
that reaches Tor: without one, tor cannot connect and this fails after \
--tor-bootstrap-timeout. Where Tor is blocked, give bridges in --tor-config FILE.";

#[derive(Args)]
pub(crate) struct TorArgs {
    #[command(flatten)]
    client: TorClientArgs,
    /// Print JSON: {"schema": "mirrorproof.tor-exits/1", "countries": {CC: [exit, ...]}}.
    #[arg(long)]
    json: bool,
}

/// How mirrorproof runs tor: the same options for `check`'s `tor:CC` vantages and for the
/// exit listing.
#[derive(Args)]
pub(crate) struct TorClientArgs {
    /// The tor program for tor:CC vantages [default: tor on the PATH]
    #[arg(long, value_name = "PATH")]
    tor: Option<PathBuf>,
    /// Lines to add to every managed tor's configuration (bridges, a private network's
    /// directory authorities).
    #[arg(long, value_name = "FILE")]
    tor_config: Option<PathBuf>,
    /// Seconds a managed tor may take to connect to the Tor network.
    #[arg(long, default_value_t = 120.0, value_name = "SECS")]
    tor_bootstrap_timeout: f64,
}

impl TorClientArgs {
    pub(crate) fn options(&self) -> Result<TorOptions, Fail> {
        let mut opts = TorOptions::default();
        if let Some(t) = &self.tor {
            opts.binary = t.clone();
        }
        opts.extra_config = self.tor_config.clone();
        opts.bootstrap_timeout = Duration::try_from_secs_f64(self.tor_bootstrap_timeout)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| usage("--tor-bootstrap-timeout must be a positive number of seconds"))?;
        Ok(opts)
    }
}

pub(crate) fn run(cmd: VantagesCmd) -> Result<i32, Fail> {
    let VantagesCmd::Tor(args) = cmd;
    let opts = args.client.options()?;
    let countries = exit_countries(&opts).map_err(|e| problem(listing_failed(e)))?;
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

/// The listing's failure in a user's words. The library names the tor it started "the
/// exit listing" (its vantage label), which reads oddly at the head of a message, and says
/// nothing of the usual cause when tor never connects: this machine has no way to the Tor
/// network.
fn listing_failed(e: TorError) -> String {
    match e {
        TorError::Spawn { binary, source, .. } => format!(
            "cannot start tor ({}): {source}; install Debian's tor package (apt-get install tor), or give --tor PATH",
            shown(&binary.display().to_string())
        ),
        TorError::Bootstrap { secs, phase, .. } => format!(
            "tor did not connect to the Tor network within {secs} s (last: {phase}): is this machine online? Where Tor is blocked, give bridges in --tor-config FILE; on a slow network, a longer --tor-bootstrap-timeout"
        ),
        TorError::Exited { status, detail, .. } => {
            format!("tor exited before it connected ({status}){detail}")
        }
        TorError::Control { reason, .. } => format!("tor's control port: {reason}"),
        other => format!("cannot list Tor's exits: {other}"),
    }
}

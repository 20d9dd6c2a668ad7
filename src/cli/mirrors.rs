//! `mirrorproof mirrors import`: another project's mirror list as profile entries.

use std::path::PathBuf;

use clap::{Subcommand, ValueEnum};

use mirrorproof::import::{self, TargetProfile};

use super::{EXIT_OK, Fail, line, path, plural_mirrors, usage};

#[derive(Subcommand)]
pub(crate) enum MirrorsCmd {
    /// Print another project's mirror list as profile `[[mirrors]]` entries, or put them
    /// into a profile with --into.
    Import {
        /// The list's format: OpenBSD mirror records, Debian Mirrors.masterlist, pacman
        /// mirrorlist, or CRAN_mirrors.csv.
        #[arg(long, value_enum)]
        format: ImportFormat,
        /// The mirror list file to read.
        file: PathBuf,
        /// Replace the mirror list of this existing profile (everything else in it is kept)
        /// instead of printing the entries.
        #[arg(long, value_name = "PROFILE")]
        into: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum ImportFormat {
    /// OpenBSD's mirror records (ftplist).
    Openbsd,
    /// Debian's Mirrors.masterlist.
    Debian,
    /// Arch Linux's pacman mirrorlist.
    Arch,
    /// CRAN's CRAN_mirrors.csv.
    Cran,
}

impl From<ImportFormat> for import::Format {
    fn from(f: ImportFormat) -> import::Format {
        match f {
            ImportFormat::Openbsd => import::Format::Openbsd,
            ImportFormat::Debian => import::Format::Debian,
            ImportFormat::Arch => import::Format::Arch,
            ImportFormat::Cran => import::Format::Cran,
        }
    }
}

pub(crate) fn run(c: MirrorsCmd) -> Result<i32, Fail> {
    let MirrorsCmd::Import { format, file, into } = c;
    // The profile is checked first: a typo'd --into fails before the list's warnings
    // scroll past, not after.
    let target = into
        .as_deref()
        .map(TargetProfile::open)
        .transpose()
        .map_err(usage)?;
    let imported = import::read_list(&file, format.into()).map_err(usage)?;
    // Already terminal-safe and one line each (the importer escapes what it quotes).
    for w in &imported.warnings {
        eprintln!("mirrorproof: warning: {}", line(w));
    }
    let entries = imported.entries;
    // An empty result is almost always the wrong --format; say so rather than print
    // nothing and succeed.
    if entries.is_empty() {
        return Err(usage(format!(
            "{}: no mirror with a usable http(s) URL found (is --format right?)",
            file.display()
        )));
    }
    match (into, target) {
        (Some(profile), Some(target)) => {
            let n = target.replace_mirrors(&entries).map_err(usage)?;
            println!(
                "{}: mirror list replaced with {} from {}",
                path(&profile),
                plural_mirrors(n),
                path(&file)
            );
        }
        _ => print!("{}", import::to_toml(&entries)),
    }
    Ok(EXIT_OK)
}

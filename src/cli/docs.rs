//! `mirrorproof completions SHELL` and `mirrorproof man`: generated from the same clap
//! definitions as `--help`, so the three never disagree.

use std::io::Write as _;

use clap::{Args, CommandFactory};

use super::{Cli, EXIT_OK, Fail, usage};

// No doc comment here: the variant's in `Command` is the command's help.
#[derive(Args)]
pub(crate) struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

pub(crate) fn completions(a: CompletionsArgs) -> Result<i32, Fail> {
    let mut cmd = Cli::command();
    clap_complete::generate(a.shell, &mut cmd, "mirrorproof", &mut std::io::stdout());
    Ok(EXIT_OK)
}

pub(crate) fn man() -> Result<i32, Fail> {
    let cmd = Cli::command();
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .render(&mut out)
        .map_err(|e| usage(format!("cannot render the manual page: {e}")))?;
    // One page: the subcommands follow the main page as sections.
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        render_sub_man(&mut out, sub, "mirrorproof")?;
    }
    std::io::stdout()
        .write_all(&out)
        .map_err(|e| usage(format!("cannot write the manual page: {e}")))?;
    Ok(EXIT_OK)
}

/// A subcommand's section of the manual page: its name, synopsis, description and options.
fn render_sub_man(out: &mut Vec<u8>, sub: &clap::Command, parent: &str) -> Result<(), Fail> {
    let name = format!("{parent} {}", sub.get_name());
    let fail = |e: std::io::Error| usage(format!("cannot render the manual page: {e}"));
    out.extend_from_slice(format!(".SH \"{}\"\n", name.to_uppercase()).as_bytes());
    let man = clap_mangen::Man::new(sub.clone().bin_name(name.clone()));
    man.render_synopsis_section(out).map_err(fail)?;
    man.render_description_section(out).map_err(fail)?;
    if sub.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(out).map_err(fail)?;
    }
    // What --help prints after the options (how `check` judges vantages, what `merge`
    // takes) belongs in the manual too.
    if sub.get_after_long_help().is_some() || sub.get_after_help().is_some() {
        man.render_extra_section(out).map_err(fail)?;
    }
    for s in sub.get_subcommands().filter(|s| !s.is_hide_set()) {
        render_sub_man(out, s, &name)?;
    }
    Ok(())
}

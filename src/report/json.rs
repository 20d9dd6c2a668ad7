//! The JSON report, schema `mirrorproof.report/1` (docs/CLI contract). Strings keep their
//! whole value; DEL, C1 and bidi characters are written as `\uXXXX` escapes, so a report
//! shown in a terminal cannot be reordered or retitle it, while every JSON reader gets the
//! same text back.

use super::{Render, Report};

/// The report as pretty-printed JSON.
#[derive(Debug, Clone, Copy)]
pub struct Json;

impl Render for Json {
    fn render(&self, report: &Report, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        out.write_all(
            crate::text::json_pretty(report)
                .unwrap_or_default()
                .as_bytes(),
        )
    }
}

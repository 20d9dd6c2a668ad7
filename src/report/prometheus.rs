//! Prometheus' text exposition format (`--format prometheus`), for node_exporter's textfile
//! collector.

use super::{Render, Report};

#[derive(Debug, Clone, Copy)]
pub struct Prometheus;

impl Render for Prometheus {
    fn render(&self, _report: &Report, _out: &mut dyn std::io::Write) -> std::io::Result<()> {
        Err(std::io::Error::other(
            "the prometheus format is not written yet",
        ))
    }
}

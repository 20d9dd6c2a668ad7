//! One self-contained HTML page (`--format html`): summary, a world map coloured by each
//! country's verdict, the mirrors per vantage, equivocation evidence, and with a history
//! each mirror's lag over time.

use super::{LagSeries, Render, Report};

#[derive(Debug, Clone, Default)]
pub struct Html {
    /// Each mirror's lag over time, when the run has a history.
    pub lag: Option<Vec<LagSeries>>,
}

impl Render for Html {
    fn render(&self, _report: &Report, _out: &mut dyn std::io::Write) -> std::io::Result<()> {
        Err(std::io::Error::other("the html format is not written yet"))
    }
}

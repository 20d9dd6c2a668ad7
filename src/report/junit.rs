//! JUnit XML (`--format junit`) for CI systems: one test case per mirror (per vantage), one
//! test suite per country, a failure with the reason for every status other than `ok`.

use super::{Render, Report};

#[derive(Debug, Clone, Copy)]
pub struct Junit;

impl Render for Junit {
    fn render(&self, _report: &Report, _out: &mut dyn std::io::Write) -> std::io::Result<()> {
        Err(std::io::Error::other("the junit format is not written yet"))
    }
}

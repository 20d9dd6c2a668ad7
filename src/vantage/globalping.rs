//! Globalping vantages (`globalping:CC`): written in issue 10.

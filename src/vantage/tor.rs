//! Managed Tor vantages (`tor:CC`): written in issue 10.

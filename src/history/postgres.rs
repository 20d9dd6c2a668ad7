//! The PostgreSQL store, for a team whose machines record into one history at once. The
//! async client runs on a single-threaded tokio runtime of the store's own, so the store is
//! called only outside any runtime (after a run returns), never from inside one.
//!
//! Every exchange is bounded by a deadline of ours, whatever the server does: the connection
//! and its handshake by [`CONNECT_DEADLINE`], each statement (and each row of an answer) by
//! [`STATEMENT_DEADLINE`]. A server that accepts and never speaks, or answers garbage that
//! never ends a message, costs that much, then the socket is closed (the store is dropped
//! with its runtime). The server's own `statement_timeout` and `lock_timeout` (the
//! migration lock included) end honest slow work before ours does, with its own words. The
//! password is never shown: messages name the URL without it, and any server text that
//! quotes it is scrubbed.

use std::collections::HashMap;
use std::time::Duration;

use futures_util::StreamExt as _;
use tokio::runtime::Runtime;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, NoTls, Statement};

use super::sql::{self, Conn, Db, Dialect, Row, Val};
use super::{Backend, HistoryError};

/// The TCP connect, TLS-less start-up and authentication together.
const CONNECT_DEADLINE: Duration = Duration::from_secs(15);
/// One statement, or the wait for the next row of its answer: longer than the server-side
/// limits below, so an honest server's own error comes first.
const STATEMENT_DEADLINE: Duration = Duration::from_secs(150);
const TCP_USER_TIMEOUT: Duration = Duration::from_secs(60);
/// Server-side limits on each statement and on each wait for a lock (milliseconds).
const SESSION: &str = "SET statement_timeout = 120000; SET lock_timeout = 120000; \
                       SET idle_in_transaction_session_timeout = 300000";

pub(super) struct PgConn {
    /// Drives the connection's task while a statement waits; dropped with the store, which
    /// closes the socket.
    rt: Runtime,
    client: Client,
    what: String,
    password: Option<String>,
    statements: HashMap<String, Statement>,
}

impl Val<'_> {
    fn pg(&self) -> &(dyn ToSql + Sync) {
        match self {
            Val::Int(v) => v,
            Val::OptInt(v) => v,
            Val::Text(s) => s,
            Val::OptText(s) => s,
            Val::OptBlob(b) => b,
        }
    }
}

impl Row for tokio_postgres::Row {
    fn int(&self, i: usize) -> Result<Option<i64>, HistoryError> {
        self.try_get::<_, Option<i64>>(i)
            .map_err(|e| HistoryError::Value(format!("column {i}: {e}")))
    }
    fn text(&self, i: usize) -> Result<Option<String>, HistoryError> {
        self.try_get::<_, Option<String>>(i)
            .map_err(|e| HistoryError::Value(format!("column {i}: {e}")))
    }
}

fn scrub(what: &str, password: Option<&str>, e: &tokio_postgres::Error) -> HistoryError {
    // The server's own words (a DbError: "password authentication failed for user ..."),
    // else the client's.
    let mut reason = match e.as_db_error() {
        Some(db) => format!("{}: {}", db.severity(), db.message()),
        None => {
            let mut r = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                r = format!("{r}: {s}");
                source = s.source();
            }
            r
        }
    };
    if let Some(p) = password.filter(|p| !p.is_empty()) {
        reason = reason.replace(p, "***");
    }
    HistoryError::Postgres {
        what: what.to_owned(),
        reason,
    }
}

/// The server did not finish within our deadline.
fn late(what: &str, doing: &str, limit: Duration) -> HistoryError {
    HistoryError::Postgres {
        what: what.to_owned(),
        reason: format!("no answer to {doing} within {}s", limit.as_secs()),
    }
}

impl PgConn {
    fn err(&self, e: &tokio_postgres::Error) -> HistoryError {
        scrub(&self.what, self.password.as_deref(), e)
    }

    /// Runs one exchange with the server under [`STATEMENT_DEADLINE`].
    fn bounded<T>(
        &self,
        doing: &str,
        fut: impl std::future::Future<Output = Result<T, tokio_postgres::Error>>,
    ) -> Result<T, HistoryError> {
        match self
            .rt
            .block_on(async { tokio::time::timeout(STATEMENT_DEADLINE, fut).await })
        {
            Ok(got) => got.map_err(|e| self.err(&e)),
            Err(_) => Err(late(&self.what, doing, STATEMENT_DEADLINE)),
        }
    }

    fn statement(&mut self, sql: &str) -> Result<Statement, HistoryError> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let st = self.bounded("a statement", self.client.prepare(sql))?;
        // The views build a few statements each; recording reuses a handful: a bound
        // keeps a long-lived store from preparing without end.
        if self.statements.len() >= 64 {
            self.statements.clear();
        }
        self.statements.insert(sql.to_owned(), st.clone());
        Ok(st)
    }
}

impl Conn for PgConn {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn batch(&mut self, sql: &str) -> Result<(), HistoryError> {
        self.bounded("a statement", self.client.batch_execute(sql))
    }

    fn exec(&mut self, sql: &str, params: &[Val<'_>]) -> Result<u64, HistoryError> {
        let st = self.statement(sql)?;
        let ps: Vec<&(dyn ToSql + Sync)> = params.iter().map(Val::pg).collect();
        self.bounded("a statement", self.client.execute(&st, &ps))
    }

    fn rows(
        &mut self,
        sql: &str,
        params: &[Val<'_>],
        each: &mut dyn FnMut(&dyn Row) -> Result<(), HistoryError>,
    ) -> Result<(), HistoryError> {
        let st = self.statement(sql)?;
        let ps: Vec<&(dyn ToSql + Sync)> = params.iter().map(Val::pg).collect();
        let rows = self.bounded("a query", self.client.query_raw(&st, ps))?;
        let mut rows = std::pin::pin!(rows);
        loop {
            let next = self
                .rt
                .block_on(async { tokio::time::timeout(STATEMENT_DEADLINE, rows.next()).await });
            match next {
                Ok(Some(r)) => each(&r.map_err(|e| self.err(&e))?)?,
                Ok(None) => return Ok(()),
                Err(_) => return Err(late(&self.what, "a query", STATEMENT_DEADLINE)),
            }
        }
    }

    fn has_migrations_table(&mut self) -> Result<bool, HistoryError> {
        let mut n = 0;
        self.rows(
            "SELECT COUNT(*) FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name = 'mirrorproof_migrations'",
            &[],
            &mut |r| {
                n = r.int(0)?.unwrap_or(0);
                Ok(())
            },
        )?;
        Ok(n > 0)
    }
}

/// Connects to the history at `url`; with `write`, brings its schema up to date (under
/// the migration lock), else only checks it is a history this build reads.
pub(super) fn open(url: &str, write: bool) -> Result<Db<PgConn>, HistoryError> {
    let what = crate::text::shown(&super::display_spec(url)).into_owned();
    let mut config: tokio_postgres::Config = url.parse().map_err(|_| HistoryError::Postgres {
        what: what.clone(),
        reason: "not a valid postgres:// URL".to_owned(),
    })?;
    let password = config
        .get_password()
        .map(|p| String::from_utf8_lossy(p).into_owned());
    config
        .connect_timeout(CONNECT_DEADLINE)
        .tcp_user_timeout(TCP_USER_TIMEOUT)
        .keepalives(true)
        .keepalives_idle(Duration::from_secs(30))
        .application_name("mirrorproof");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| HistoryError::Postgres {
            what: what.clone(),
            reason: format!("cannot start the client's runtime: {e}"),
        })?;
    let (client, connection) = match rt
        .block_on(async { tokio::time::timeout(CONNECT_DEADLINE, config.connect(NoTls)).await })
    {
        Ok(got) => got.map_err(|e| scrub(&what, password.as_deref(), &e))?,
        Err(_) => return Err(late(&what, "the connection", CONNECT_DEADLINE)),
    };
    // The connection's task carries every message; it runs whenever a statement waits, and
    // ends with the runtime. Its error is the statement's error.
    rt.spawn(async move {
        let _ = connection.await;
    });
    let mut c = PgConn {
        rt,
        client,
        what: what.clone(),
        password,
        statements: HashMap::new(),
    };
    c.batch(SESSION)?;
    if write {
        sql::migrate(&mut c, &what)?;
    } else {
        let found = sql::schema_version(&mut c)?;
        let known = super::SCHEMA_VERSION;
        if found == 0 {
            return Err(HistoryError::Empty(what));
        }
        if found > known {
            return Err(HistoryError::Newer { what, found, known });
        }
        if found < known {
            return Err(HistoryError::Older { what, found, known });
        }
    }
    Ok(Db {
        conn: c,
        backend: Backend::Postgres,
    })
}

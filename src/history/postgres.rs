//! The PostgreSQL store, for a team whose machines record into one history at once. The
//! `postgres` client is synchronous over a tokio runtime of its own: it is called only
//! outside any runtime (after a run returns), never from inside one.
//!
//! Every operation is bounded: the connection by `connect_timeout` and a TCP user timeout
//! (a server that stops answering), each statement by `statement_timeout` and
//! `lock_timeout` on the server (the migration lock included). The password is never
//! shown: messages name the URL without it, and any server text that quotes it is scrubbed.

use std::collections::HashMap;
use std::time::Duration;

use postgres::types::ToSql;
use postgres::{Client, NoTls, Statement};

use super::sql::{self, Conn, Db, Dialect, Row, Val};
use super::{Backend, HistoryError};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
const TCP_USER_TIMEOUT: Duration = Duration::from_secs(60);
/// Server-side limits on each statement and on each wait for a lock (milliseconds).
const SESSION: &str = "SET statement_timeout = 120000; SET lock_timeout = 120000; \
                       SET idle_in_transaction_session_timeout = 300000";

pub(super) struct PgConn {
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

impl Row for postgres::Row {
    fn int(&self, i: usize) -> Result<Option<i64>, HistoryError> {
        self.try_get::<_, Option<i64>>(i)
            .map_err(|e| HistoryError::Value(format!("column {i}: {e}")))
    }
    fn text(&self, i: usize) -> Result<Option<String>, HistoryError> {
        self.try_get::<_, Option<String>>(i)
            .map_err(|e| HistoryError::Value(format!("column {i}: {e}")))
    }
}

fn scrub(what: &str, password: Option<&str>, e: &postgres::Error) -> HistoryError {
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

impl PgConn {
    fn err(&self, e: &postgres::Error) -> HistoryError {
        scrub(&self.what, self.password.as_deref(), e)
    }

    fn statement(&mut self, sql: &str) -> Result<Statement, HistoryError> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let st = self.client.prepare(sql).map_err(|e| self.err(&e))?;
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
        self.client.batch_execute(sql).map_err(|e| self.err(&e))
    }

    fn exec(&mut self, sql: &str, params: &[Val<'_>]) -> Result<u64, HistoryError> {
        let st = self.statement(sql)?;
        let ps: Vec<&(dyn ToSql + Sync)> = params.iter().map(Val::pg).collect();
        self.client.execute(&st, &ps).map_err(|e| self.err(&e))
    }

    fn rows(
        &mut self,
        sql: &str,
        params: &[Val<'_>],
        each: &mut dyn FnMut(&dyn Row) -> Result<(), HistoryError>,
    ) -> Result<(), HistoryError> {
        use postgres::fallible_iterator::FallibleIterator as _;
        let st = self.statement(sql)?;
        let ps: Vec<&(dyn ToSql + Sync)> = params.iter().map(Val::pg).collect();
        let (what, password) = (self.what.clone(), self.password.clone());
        let mut it = self
            .client
            .query_raw(&st, ps)
            .map_err(|e| scrub(&what, password.as_deref(), &e))?;
        while let Some(r) = it
            .next()
            .map_err(|e| scrub(&what, password.as_deref(), &e))?
        {
            each(&r)?;
        }
        Ok(())
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
    let mut config: postgres::Config = url.parse().map_err(|_| HistoryError::Postgres {
        what: what.clone(),
        reason: "not a valid postgres:// URL".to_owned(),
    })?;
    let password = config
        .get_password()
        .map(|p| String::from_utf8_lossy(p).into_owned());
    config
        .connect_timeout(CONNECT_TIMEOUT)
        .tcp_user_timeout(TCP_USER_TIMEOUT)
        .keepalives(true)
        .keepalives_idle(Duration::from_secs(30))
        .application_name("mirrorproof");
    let client = config
        .connect(NoTls)
        .map_err(|e| scrub(&what, password.as_deref(), &e))?;
    let mut c = PgConn {
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

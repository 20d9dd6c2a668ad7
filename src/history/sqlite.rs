//! The SQLite store: one file, SQLite built in (rusqlite's bundled copy). WAL, so readers
//! never block the writer; `BEGIN IMMEDIATE` and a busy timeout, so two processes recording
//! at once queue and both land.

use std::io::Read as _;
use std::path::Path;
use std::time::Duration;

use rusqlite::types::ToSqlOutput;
use rusqlite::{Connection, OpenFlags, ToSql};

use super::sql::{self, Conn, Db, Dialect, Row, Val};
use super::{Backend, HistoryError};

/// How long a writer waits for another to finish before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);
const MAGIC: &[u8; 16] = b"SQLite format 3\0";

pub(super) struct SqliteConn {
    conn: Connection,
    what: String,
}

impl ToSql for Val<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        match self {
            Val::Int(v) => v.to_sql(),
            Val::OptInt(v) => v.to_sql(),
            Val::Text(s) => s.to_sql(),
            Val::OptText(s) => s.to_sql(),
            Val::OptBlob(b) => b.to_sql(),
        }
    }
}

impl Row for rusqlite::Row<'_> {
    fn int(&self, i: usize) -> Result<Option<i64>, HistoryError> {
        self.get::<_, Option<i64>>(i)
            .map_err(|e| HistoryError::Value(format!("column {i}: {e}")))
    }
    fn text(&self, i: usize) -> Result<Option<String>, HistoryError> {
        self.get::<_, Option<String>>(i)
            .map_err(|e| HistoryError::Value(format!("column {i}: {e}")))
    }
}

/// `$1` → `?1`: the SQL is written once, in PostgreSQL's spelling.
fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

impl SqliteConn {
    fn err(&self, e: rusqlite::Error) -> HistoryError {
        error(&self.what, e)
    }
}

fn error(what: &str, e: rusqlite::Error) -> HistoryError {
    HistoryError::Sqlite {
        what: what.to_owned(),
        reason: e.to_string(),
    }
}

impl Conn for SqliteConn {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn batch(&mut self, sql: &str) -> Result<(), HistoryError> {
        self.conn.execute_batch(sql).map_err(|e| self.err(e))
    }

    fn exec(&mut self, sql: &str, params: &[Val<'_>]) -> Result<u64, HistoryError> {
        let mut st = self
            .conn
            .prepare_cached(&numbered(sql))
            .map_err(|e| error(&self.what, e))?;
        st.execute(rusqlite::params_from_iter(params.iter()))
            .map(|n| n as u64)
            .map_err(|e| error(&self.what, e))
    }

    fn rows(
        &mut self,
        sql: &str,
        params: &[Val<'_>],
        each: &mut dyn FnMut(&dyn Row) -> Result<(), HistoryError>,
    ) -> Result<(), HistoryError> {
        let what = self.what.clone();
        let mut st = self
            .conn
            .prepare_cached(&numbered(sql))
            .map_err(|e| error(&what, e))?;
        let mut rows = st
            .query(rusqlite::params_from_iter(params.iter()))
            .map_err(|e| error(&what, e))?;
        while let Some(r) = rows.next().map_err(|e| error(&what, e))? {
            each(r)?;
        }
        Ok(())
    }

    fn has_migrations_table(&mut self) -> Result<bool, HistoryError> {
        let n: i64 = self
            .conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'mirrorproof_migrations'",
                [],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        Ok(n > 0)
    }
}

/// What an existing file holds, read without writing a byte to it.
enum Found {
    /// No file: a new history.
    Nothing,
    /// A history at this schema version (0: an empty file, or an SQLite database with no
    /// table at all).
    History(i64),
}

/// Looks at `path` before anything may write to it: the file's first bytes must be
/// SQLite's, its tables ours, its schema one this build knows.
fn inspect(path: &Path, what: &str) -> Result<Found, HistoryError> {
    let mut head = Vec::with_capacity(16);
    match std::fs::File::open(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Found::Nothing),
        Err(e) => {
            return Err(HistoryError::Sqlite {
                what: what.to_owned(),
                reason: e.to_string(),
            });
        }
        Ok(f) => {
            if f.metadata().is_ok_and(|m| m.is_dir()) {
                return Err(HistoryError::NotADatabase(what.to_owned()));
            }
            f.take(16)
                .read_to_end(&mut head)
                .map_err(|e| HistoryError::Sqlite {
                    what: what.to_owned(),
                    reason: e.to_string(),
                })?;
        }
    }
    if head.is_empty() {
        return Ok(Found::History(0));
    }
    if head != MAGIC {
        return Err(HistoryError::NotADatabase(what.to_owned()));
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| error(what, e))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(|e| error(what, e))?;
    let mut c = SqliteConn {
        conn,
        what: what.to_owned(),
    };
    // Any object counts, not only tables: a file of views and triggers is someone
    // else's, not an empty history to create ours in.
    let tables: i64 = c
        .conn
        .query_row("SELECT COUNT(*) FROM sqlite_master", [], |r| r.get(0))
        .map_err(|e| match e {
            rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::NotADatabase => {
                HistoryError::NotADatabase(what.to_owned())
            }
            e => error(what, e),
        })?;
    if tables == 0 {
        return Ok(Found::History(0));
    }
    if !c.has_migrations_table()? {
        return Err(HistoryError::Foreign(what.to_owned()));
    }
    let version = sql::schema_version(&mut c)?;
    if version > super::SCHEMA_VERSION {
        return Err(HistoryError::Newer {
            what: what.to_owned(),
            found: version,
            known: super::SCHEMA_VERSION,
        });
    }
    if version < 1 || schema(&c.conn, what)? != expected_schema(version, what)? {
        // A table replaced by a view, a trigger, an extra index or table, a schema
        // version that lies: written to, it would run someone else's SQL with each insert;
        // read, it would show what its author chose instead of what the runs recorded.
        return Err(HistoryError::Foreign(what.to_owned()));
    }
    Ok(Found::History(version))
}

/// Every object of the database's schema, as SQLite keeps it, in a fixed order.
type Schema = Vec<(String, String, String, Option<String>)>;

fn schema(conn: &Connection, what: &str) -> Result<Schema, HistoryError> {
    let mut st = conn
        .prepare("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name")
        .map_err(|e| error(what, e))?;
    let rows = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .map_err(|e| error(what, e))?;
    rows.collect::<Result<Schema, _>>()
        .map_err(|e| error(what, e))
}

/// The schema this build's migrations give a history at `version`, built in memory.
fn expected_schema(version: i64, what: &str) -> Result<Schema, HistoryError> {
    let conn = Connection::open_in_memory().map_err(|e| error(what, e))?;
    conn.execute_batch(&sql::schema_script(Dialect::Sqlite, version))
        .map_err(|e| error(what, e))?;
    schema(&conn, what)
}

/// Opens (with `write`: creates and migrates) the history at `path`.
pub(super) fn open(path: &Path, write: bool) -> Result<Db<SqliteConn>, HistoryError> {
    let what = crate::text::shown(&path.display().to_string()).into_owned();
    let found = inspect(path, &what)?;
    if !write {
        match found {
            Found::Nothing => return Err(HistoryError::Missing(what)),
            Found::History(0) => return Err(HistoryError::Empty(what)),
            Found::History(v) if v < super::SCHEMA_VERSION => {
                return Err(HistoryError::Older {
                    what,
                    found: v,
                    known: super::SCHEMA_VERSION,
                });
            }
            Found::History(_) => {}
        }
    }
    let flags = if write {
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let conn = Connection::open_with_flags(path, flags).map_err(|e| error(&what, e))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(|e| error(&what, e))?;
    conn.set_prepared_statement_cache_capacity(32);
    let mut c = SqliteConn { conn, what };
    if write {
        // WAL: readers (history lag while a run records) never wait for the writer.
        let mode: String = c
            .conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(|e| c.err(e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(HistoryError::Sqlite {
                what: c.what.clone(),
                reason: format!("cannot use write-ahead logging (journal mode {mode})"),
            });
        }
        c.batch("PRAGMA foreign_keys = ON")?;
        let what = c.what.clone();
        sql::migrate(&mut c, &what)?;
    }
    Ok(Db {
        conn: c,
        backend: Backend::Sqlite,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_numbered() {
        assert_eq!(numbered("a = $1 AND b = $12"), "a = ?1 AND b = ?12");
        assert_eq!(numbered("cost$ x"), "cost$ x");
    }
}

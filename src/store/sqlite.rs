//! SQLite's committer connection: rusqlite, on the committer's own thread, and the thread that
//! checkpoints its WAL.

use crate::config::{
    SQLITE_STATEMENT_CACHE, WAL_CHECKPOINT_INTERVAL, WAL_RESTART_FRAMES, WAL_RESTART_WAIT,
};
use std::cell::Cell;
use std::path::Path;

use super::connection::{Connection, DbError, Kind, Statement, Value};

impl From<rusqlite::Error> for DbError {
    fn from(error: rusqlite::Error) -> Self {
        use rusqlite::ffi;
        match &error {
            rusqlite::Error::SqliteFailure(failure, _)
                if matches!(
                    failure.extended_code,
                    ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                ) =>
            {
                DbError::Unique(error.to_string())
            }
            _ => DbError::Other(error.to_string()),
        }
    }
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(match self {
            Value::Int(value) => ToSqlOutput::Borrowed(ValueRef::Integer(*value)),
            Value::Text(value) => ToSqlOutput::Borrowed(ValueRef::Text(value.as_bytes())),
            Value::Blob(value) => ToSqlOutput::Borrowed(ValueRef::Blob(value)),
            Value::Null(_) => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Ints(_) | Value::Texts(_) => {
                return Err(rusqlite::Error::ToSqlConversionFailure(
                    "SQLite's statements take no arrays".into(),
                ));
            }
        })
    }
}

/// SQLite's committer connection: rusqlite, on the committer's own thread.
pub struct Sqlite {
    conn: rusqlite::Connection,
    /// Nudges the checkpointer after a commit (it runs at most once per interval).
    checkpoint: std::sync::mpsc::SyncSender<()>,
}

impl Sqlite {
    /// Opens the database file (already created, migrated and in WAL mode) for writing, and
    /// starts the thread that checkpoints its WAL.
    pub fn open(path: &Path, synchronous: &str) -> Result<Sqlite, DbError> {
        let conn = rusqlite::Connection::open(path)?;
        // The writer does not copy the WAL into the database as it commits (that took an eighth
        // of the committer's time, and every commit waits for the committer): a thread of its
        // own does, and the writer only finishes the job when the WAL has grown long.
        conn.execute_batch(&format!(
            "PRAGMA synchronous = {synchronous}; PRAGMA busy_timeout = 10000; \
             PRAGMA foreign_keys = ON; PRAGMA wal_autocheckpoint = 0;"
        ))?;
        conn.set_prepared_statement_cache_capacity(SQLITE_STATEMENT_CACHE);
        conn.wal_hook(Some(note_wal_frames));
        let checkpoint = start_checkpointer(path, synchronous)?;
        Ok(Sqlite { conn, checkpoint })
    }

    /// Prepares (or takes from the cache) and binds a statement: `$N` and `?N` take the N-th
    /// parameter, anonymous `?` the next one.
    fn bound(&self, statement: &Statement) -> Result<rusqlite::CachedStatement<'_>, DbError> {
        let mut prepared = self.conn.prepare_cached(&statement.sql)?;
        for index in 1..=prepared.parameter_count() {
            let position = match prepared.parameter_name(index) {
                None => index,
                Some(name) => name
                    .get(1..)
                    .and_then(|number| number.parse().ok())
                    .ok_or_else(|| DbError::other(format!("unsupported parameter {name}")))?,
            };
            let value = statement
                .params
                .get(position - 1)
                .ok_or_else(|| DbError::other(format!("no value for parameter {position}")))?;
            prepared.raw_bind_parameter(index, value)?;
        }
        Ok(prepared)
    }
}

thread_local! {
    /// The WAL's length in frames after the last commit on this thread (the committer's).
    static WAL_FRAMES: Cell<i64> = const { Cell::new(0) };
}

/// SQLite's WAL hook: the WAL's length after each commit.
fn note_wal_frames(_: &rusqlite::hooks::Wal, frames: std::ffi::c_int) -> rusqlite::Result<()> {
    WAL_FRAMES.set(frames.into());
    Ok(())
}

/// Runs a passive checkpoint (it never waits for readers or the writer) and answers the WAL's
/// length and how much of it is now in the database, in frames.
fn checkpoint(conn: &rusqlite::Connection) -> rusqlite::Result<(i64, i64)> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
        Ok((row.get(1)?, row.get(2)?))
    })
}

/// Starts the thread that checkpoints the WAL from its own connection, after commits and at
/// most once per [`WAL_CHECKPOINT_INTERVAL`], concurrently with the writer. Commits never stop, so
/// these passes never find the whole WAL copied and the writer would never start the WAL over:
/// the writer finishes the job between two batches once the WAL is long (see
/// [`Sqlite::committed`]), which costs it only the frames the last pass left. The thread ends
/// with the committer (when the sender it answers to is dropped).
fn start_checkpointer(
    path: &Path,
    synchronous: &str,
) -> Result<std::sync::mpsc::SyncSender<()>, DbError> {
    let conn = rusqlite::Connection::open(path)?;
    conn.execute_batch(&format!(
        "PRAGMA synchronous = {synchronous}; PRAGMA busy_timeout = 10000;"
    ))?;
    let (nudge, nudged) = std::sync::mpsc::sync_channel::<()>(1);
    std::thread::Builder::new()
        .name("p2p-checkpoint".into())
        .spawn(move || {
            while nudged.recv().is_ok() {
                let started = std::time::Instant::now();
                match checkpoint(&conn) {
                    Ok((frames, _)) => {
                        metrics::histogram!(crate::telemetry::STORE_CHECKPOINT_DURATION)
                            .record(started.elapsed().as_secs_f64());
                        metrics::gauge!(crate::telemetry::STORE_WAL_FRAMES).set(frames as f64);
                    }
                    // Another checkpoint is running (the writer's): try after the next commit.
                    Err(error) => tracing::debug!(%error, "WAL checkpoint skipped"),
                }
                std::thread::sleep(WAL_CHECKPOINT_INTERVAL);
            }
        })
        .map_err(|error| DbError::other(format!("starting the checkpointer: {error}")))?;
    Ok(nudge)
}

impl Connection for Sqlite {
    /// Nudges the checkpointer; once the WAL is long, copies what it left, so the next commit
    /// starts the WAL over.
    /// Past twice that length it waits, up to [`WAL_RESTART_WAIT`], for a checkpointer pass that
    /// holds the checkpoint lock (a starved checkpointer thread once let the WAL reach 70 MB).
    fn committed(&mut self) {
        if WAL_FRAMES.get() >= WAL_RESTART_FRAMES {
            let patient = WAL_FRAMES.get() >= 2 * WAL_RESTART_FRAMES;
            let started = std::time::Instant::now();
            loop {
                match checkpoint(&self.conn) {
                    // The whole WAL is in the database: the next commit starts it over.
                    Ok((frames, copied)) if frames >= 0 && frames == copied => {
                        WAL_FRAMES.set(0);
                        break;
                    }
                    _ if patient && started.elapsed() < WAL_RESTART_WAIT => {
                        std::thread::sleep(std::time::Duration::from_millis(1));
                    }
                    Ok(_) => break,
                    Err(error) => {
                        tracing::debug!(%error, "WAL checkpoint skipped");
                        break;
                    }
                }
            }
        }
        let _ = self.checkpoint.try_send(());
    }

    async fn execute(&mut self, statement: Statement) -> Result<u64, DbError> {
        let mut prepared = self.bound(&statement)?;
        let readonly = prepared.readonly();
        let mut rows = prepared.raw_query();
        while rows.next()?.is_some() {}
        drop(rows);
        Ok(if readonly { 0 } else { self.conn.changes() })
    }

    async fn fetch_optional(
        &mut self,
        statement: Statement,
    ) -> Result<Option<Vec<Value>>, DbError> {
        let mut prepared = self.bound(&statement)?;
        let width = prepared.column_count();
        let mut rows = prepared.raw_query();
        let first = match rows.next()? {
            Some(row) => Some(
                (0..width)
                    .map(|i| sqlite_value(row.get_ref(i)?))
                    .collect::<Result<Vec<_>, DbError>>()?,
            ),
            None => None,
        };
        // Step to the end, so a statement's every change is made.
        while rows.next()?.is_some() {}
        Ok(first)
    }
}

fn sqlite_value(value: rusqlite::types::ValueRef<'_>) -> Result<Value, DbError> {
    use rusqlite::types::ValueRef;
    match value {
        ValueRef::Null => Ok(Value::Null(Kind::Int)),
        ValueRef::Integer(value) => Ok(Value::Int(value)),
        ValueRef::Text(text) => Ok(Value::Text(String::from_utf8_lossy(text).into_owned())),
        other => Err(DbError::other(format!(
            "unsupported column type {:?}",
            other.data_type()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::connection::query;

    fn scratch() -> (Sqlite, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        // The file is in WAL mode before the committer opens it, as the store leaves it.
        let mode: String = rusqlite::Connection::open(&path)
            .unwrap()
            .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let conn = Sqlite::open(&path, "NORMAL").unwrap();
        conn.conn
            .execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE, n INTEGER)")
            .unwrap();
        (conn, dir)
    }

    #[tokio::test]
    async fn numbered_and_anonymous_parameters_bind_by_position() {
        let (mut conn, _dir) = scratch();
        let inserted = query("INSERT INTO t (name, n) VALUES (?, ?), (?, ?)")
            .bind("a")
            .bind(1)
            .bind("b")
            .bind(None::<i64>)
            .execute(&mut conn)
            .await
            .unwrap();
        assert_eq!(inserted, 2);
        // `$2` appears before `$1`: each still takes its own value.
        let changed = query("UPDATE t SET n = COALESCE(n, 0) + $2 WHERE name = $1 AND $2 > 0")
            .bind("b")
            .bind(5)
            .execute(&mut conn)
            .await
            .unwrap();
        assert_eq!(changed, 1);
        let row: Option<(String, Option<i64>)> = query("SELECT name, n FROM t WHERE n = $1")
            .bind(5)
            .fetch_optional(&mut conn)
            .await
            .unwrap();
        assert_eq!(row, Some(("b".to_string(), Some(5))));
        let id: i64 = query("UPDATE t SET n = n + 1 WHERE name = $1 RETURNING id")
            .bind("a")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(id, 1);
        let n: Option<i64> = query("SELECT n FROM t WHERE id = $1")
            .bind(1)
            .fetch_optional(&mut conn)
            .await
            .unwrap();
        assert_eq!(n, Some(2), "a RETURNING update applies");
    }

    #[tokio::test]
    async fn a_unique_violation_is_told_apart() {
        let (mut conn, _dir) = scratch();
        let insert = || query("INSERT INTO t (name) VALUES ($1)").bind("x");
        insert().execute(&mut conn).await.unwrap();
        let error = insert().execute(&mut conn).await.unwrap_err();
        assert!(matches!(error, DbError::Unique(_)), "{error:?}");
        let error = query("INSERT INTO t (name) VALUES ($1)")
            .execute(&mut conn)
            .await
            .unwrap_err();
        assert!(
            matches!(error, DbError::Other(_)),
            "a missing value: {error:?}"
        );
    }

    /// The writer never checkpoints as it commits, yet under commits that never pause the WAL
    /// stays bounded: the checkpointer copies it, the writer finishes the copy once it is long,
    /// and the next commit starts the WAL over.
    #[tokio::test]
    async fn the_wal_stays_bounded_under_endless_commits() {
        let (mut conn, dir) = scratch();
        let page = "x".repeat(4000);
        for _ in 0..12_000 {
            conn.run("BEGIN").await.unwrap();
            query("INSERT INTO t (n, name) VALUES (1, $1 || random())")
                .bind(page.as_str())
                .execute(&mut conn)
                .await
                .unwrap();
            conn.run("COMMIT").await.unwrap();
            conn.committed();
        }
        let wal = std::fs::metadata(dir.path().join("t.db-wal"))
            .unwrap()
            .len();
        // 12,000 commits of a 4 KB row wrote more than 96 MB of WAL frames.
        assert!(wal < 48 << 20, "the WAL grew to {wal} bytes");
    }
}

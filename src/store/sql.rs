//! The committer's connection, over either database.
//!
//! A [`Statement`] is SQL with `$N` placeholders (or anonymous `?`) and its parameters; a
//! [`Connection`] runs it. On PostgreSQL the connection is sqlx's. On SQLite it is a rusqlite
//! connection owned by the committer's own thread, so a batch of statements runs on the thread
//! that owns the database handle instead of paying sqlx-sqlite's two thread hand-offs per
//! statement (measured: a quarter of a batch's time went to waking threads).

use std::borrow::Cow;
use std::path::Path;

use sqlx::{AnyConnection, Row as _};

/// Why a statement failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DbError {
    /// A unique constraint refused the row.
    #[error("unique constraint: {0}")]
    Unique(String),
    /// A deadlock (40P01) or serialization failure (40001): the same statements may succeed if
    /// run again, in a new transaction.
    #[error("transient: {0}")]
    Transient(String),
    #[error("{0}")]
    Other(String),
}

impl DbError {
    pub fn other(message: impl Into<String>) -> DbError {
        DbError::Other(message.into())
    }
}

impl From<sqlx::Error> for DbError {
    fn from(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                DbError::Unique(error.to_string())
            }
            sqlx::Error::Database(db)
                if matches!(db.code().as_deref(), Some("40P01" | "40001")) =>
            {
                DbError::Transient(error.to_string())
            }
            _ => DbError::Other(error.to_string()),
        }
    }
}

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

/// The type of a parameter, which a `NULL` keeps (PostgreSQL infers a `VALUES` list's column
/// types from its parameters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Int,
    Text,
}

/// One parameter or column value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Int(i64),
    Text(String),
    Null(Kind),
}

impl From<i64> for Value {
    fn from(value: i64) -> Self {
        Value::Int(value)
    }
}

impl From<String> for Value {
    fn from(value: String) -> Self {
        Value::Text(value)
    }
}

impl From<&str> for Value {
    fn from(value: &str) -> Self {
        Value::Text(value.to_string())
    }
}

impl From<Option<i64>> for Value {
    fn from(value: Option<i64>) -> Self {
        value.map_or(Value::Null(Kind::Int), Value::Int)
    }
}

impl From<Option<String>> for Value {
    fn from(value: Option<String>) -> Self {
        value.map_or(Value::Null(Kind::Text), Value::Text)
    }
}

impl From<Option<&str>> for Value {
    fn from(value: Option<&str>) -> Self {
        value.map_or(Value::Null(Kind::Text), Value::from)
    }
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(match self {
            Value::Int(value) => ToSqlOutput::Borrowed(ValueRef::Integer(*value)),
            Value::Text(value) => ToSqlOutput::Borrowed(ValueRef::Text(value.as_bytes())),
            Value::Null(_) => ToSqlOutput::Borrowed(ValueRef::Null),
        })
    }
}

/// A column value as a Rust value.
pub trait FromValue: Sized {
    fn from_value(value: Value) -> Result<Self, DbError>;
}

impl FromValue for i64 {
    fn from_value(value: Value) -> Result<Self, DbError> {
        match value {
            Value::Int(value) => Ok(value),
            other => Err(DbError::other(format!(
                "expected an integer, got {other:?}"
            ))),
        }
    }
}

impl FromValue for String {
    fn from_value(value: Value) -> Result<Self, DbError> {
        match value {
            Value::Text(value) => Ok(value),
            other => Err(DbError::other(format!("expected text, got {other:?}"))),
        }
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(value: Value) -> Result<Self, DbError> {
        match value {
            Value::Null(_) => Ok(None),
            value => T::from_value(value).map(Some),
        }
    }
}

/// A result row as a Rust value: one column, or a tuple of them.
pub trait FromRow: Sized {
    fn from_row(row: Vec<Value>) -> Result<Self, DbError>;
}

fn column<T: FromValue>(columns: &mut impl Iterator<Item = Value>) -> Result<T, DbError> {
    T::from_value(
        columns
            .next()
            .ok_or_else(|| DbError::other("the row has too few columns"))?,
    )
}

impl<T: FromValue> FromRow for T {
    fn from_row(row: Vec<Value>) -> Result<Self, DbError> {
        column(&mut row.into_iter())
    }
}

macro_rules! tuple_from_row {
    ($($name:ident),+) => {
        impl<$($name: FromValue),+> FromRow for ($($name,)+) {
            fn from_row(row: Vec<Value>) -> Result<Self, DbError> {
                let mut columns = row.into_iter();
                Ok(($(column::<$name>(&mut columns)?,)+))
            }
        }
    };
}

tuple_from_row!(A, B);
tuple_from_row!(A, B, C);
tuple_from_row!(A, B, C, D);
tuple_from_row!(A, B, C, D, E, F, G);

/// SQL and its parameters.
#[derive(Debug, Clone)]
pub struct Statement {
    sql: Cow<'static, str>,
    params: Vec<Value>,
}

/// A statement with no parameters yet.
pub fn query(sql: impl Into<Cow<'static, str>>) -> Statement {
    Statement {
        sql: sql.into(),
        params: Vec::new(),
    }
}

impl Statement {
    pub fn bind(mut self, value: impl Into<Value>) -> Self {
        self.params.push(value.into());
        self
    }

    /// Runs the statement and answers how many rows it changed.
    pub async fn execute(self, conn: &mut impl Connection) -> Result<u64, DbError> {
        conn.execute(self).await
    }

    /// Runs the statement and answers its first row, if any.
    pub async fn fetch_optional<T: FromRow>(
        self,
        conn: &mut impl Connection,
    ) -> Result<Option<T>, DbError> {
        conn.fetch_optional(self)
            .await?
            .map(T::from_row)
            .transpose()
    }

    /// Runs the statement and answers its first row, which must exist.
    pub async fn fetch_one<T: FromRow>(self, conn: &mut impl Connection) -> Result<T, DbError> {
        self.fetch_optional(conn)
            .await?
            .ok_or_else(|| DbError::other("the statement returned no row"))
    }
}

/// Runs statements; the committer is written against this.
pub trait Connection: Send {
    /// Runs a statement and answers how many rows it changed.
    fn execute(
        &mut self,
        statement: Statement,
    ) -> impl Future<Output = Result<u64, DbError>> + Send;

    /// Runs a statement and answers its first row's columns, if any.
    fn fetch_optional(
        &mut self,
        statement: Statement,
    ) -> impl Future<Output = Result<Option<Vec<Value>>, DbError>> + Send;

    /// Runs SQL without parameters or rows (`BEGIN`, `COMMIT`, `SAVEPOINT …`).
    fn run(&mut self, sql: &'static str) -> impl Future<Output = Result<(), DbError>> + Send {
        async move { self.execute(query(sql)).await.map(|_| ()) }
    }
}

impl Connection for AnyConnection {
    async fn execute(&mut self, statement: Statement) -> Result<u64, DbError> {
        Ok(statement
            .into_sqlx()
            .execute(&mut *self)
            .await?
            .rows_affected())
    }

    async fn fetch_optional(
        &mut self,
        statement: Statement,
    ) -> Result<Option<Vec<Value>>, DbError> {
        let row = statement.into_sqlx().fetch_optional(&mut *self).await?;
        Ok(row.map(|row| (0..row.len()).map(|i| any_value(&row, i)).collect()))
    }
}

impl Statement {
    fn into_sqlx(self) -> sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments> {
        let mut query = sqlx::query(sqlx::AssertSqlSafe(self.sql.into_owned()));
        for value in self.params {
            query = match value {
                Value::Int(value) => query.bind(value),
                Value::Text(value) => query.bind(value),
                Value::Null(Kind::Int) => query.bind(None::<i64>),
                Value::Null(Kind::Text) => query.bind(None::<String>),
            };
        }
        query
    }
}

fn any_value(row: &sqlx::any::AnyRow, index: usize) -> Value {
    if let Ok(value) = row.try_get::<Option<i64>, _>(index) {
        return value.into();
    }
    match row.try_get::<Option<String>, _>(index) {
        Ok(value) => value.into(),
        Err(_) => Value::Null(Kind::Text),
    }
}

/// SQLite's committer connection: rusqlite, on the committer's own thread.
pub struct Sqlite(rusqlite::Connection);

impl Sqlite {
    /// Opens the database file (already created, migrated and in WAL mode) for writing.
    pub fn open(path: &Path, synchronous: &str) -> Result<Sqlite, DbError> {
        let conn = rusqlite::Connection::open(path)?;
        conn.execute_batch(&format!(
            "PRAGMA synchronous = {synchronous}; PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;"
        ))?;
        conn.set_prepared_statement_cache_capacity(SQLITE_STATEMENT_CACHE);
        Ok(Sqlite(conn))
    }

    /// Prepares (or takes from the cache) and binds a statement: `$N` and `?N` take the N-th
    /// parameter, anonymous `?` the next one.
    fn bound(&self, statement: &Statement) -> Result<rusqlite::CachedStatement<'_>, DbError> {
        let mut prepared = self.0.prepare_cached(&statement.sql)?;
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

/// Distinct statements kept prepared: the committer's own, and its multi-row statements of
/// recent sizes.
const SQLITE_STATEMENT_CACHE: usize = 256;

impl Connection for Sqlite {
    async fn execute(&mut self, statement: Statement) -> Result<u64, DbError> {
        let mut prepared = self.bound(&statement)?;
        let readonly = prepared.readonly();
        let mut rows = prepared.raw_query();
        while rows.next()?.is_some() {}
        drop(rows);
        Ok(if readonly { 0 } else { self.0.changes() })
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

    fn scratch() -> (Sqlite, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let conn = Sqlite::open(&dir.path().join("t.db"), "NORMAL").unwrap();
        conn.0
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
}

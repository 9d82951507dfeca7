//! The committer's connection, over either database.
//!
//! A [`Statement`] is SQL with `$N` placeholders (or anonymous `?`) and its parameters; a
//! [`Connection`] runs it. On PostgreSQL the connection is sqlx's (here). On SQLite it is a
//! rusqlite connection owned by the committer's own thread ([`super::sqlite`]), so a batch of
//! statements runs on the thread that owns the database handle instead of paying sqlx-sqlite's
//! two thread hand-offs per statement (measured: a quarter of a batch's time went to waking
//! threads).

use std::borrow::Cow;

use sqlx::{AnyConnection, PgConnection, Row as _};

use crate::domain::{AdId, Kopecks, OrderId, UserId};

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
    /// Bytes (an attachment's); written only.
    Blob(Vec<u8>),
    Null(Kind),
    /// A column of a PostgreSQL multi-row statement, or a set of ids: a `bigint[]` parameter.
    /// SQLite's statements take no arrays.
    Ints(Vec<Option<i64>>),
    /// A column of a PostgreSQL multi-row statement: a `text[]` parameter.
    Texts(Vec<Option<String>>),
}

impl From<Vec<u8>> for Value {
    fn from(value: Vec<u8>) -> Self {
        Value::Blob(value)
    }
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

/// The domain's integer newtypes (ids, amounts) bind and read as their integer.
macro_rules! integer_newtype {
    ($($name:ty),*) => {$(
        impl From<$name> for Value {
            fn from(value: $name) -> Self {
                Value::Int(value.into())
            }
        }

        impl From<Option<$name>> for Value {
            fn from(value: Option<$name>) -> Self {
                value.map(i64::from).into()
            }
        }

        impl FromValue for $name {
            fn from_value(value: Value) -> Result<Self, DbError> {
                i64::from_value(value).map(<$name>::from)
            }
        }
    )*};
}

integer_newtype!(UserId, AdId, OrderId, Kopecks);

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
tuple_from_row!(A, B, C, D, E);
tuple_from_row!(A, B, C, D, E, F, G, H);

/// SQL and its parameters.
#[derive(Debug, Clone)]
pub struct Statement {
    pub(super) sql: Cow<'static, str>,
    pub(super) params: Vec<Value>,
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
    /// A transaction just committed.
    fn committed(&mut self) {}

    /// Runs statements in turn and answers each one's first row, sending them all before
    /// reading any answer where the connection can (PostgreSQL's, see [`super::postgres`]);
    /// here, one at a time. A statement after one that failed is not run: it fails too.
    fn pipeline(&mut self, statements: Vec<Statement>) -> impl Future<Output = Answers> + Send {
        async move {
            let mut answers = Vec::with_capacity(statements.len());
            let mut failed = None;
            for statement in statements {
                if let Some(error) = &failed {
                    answers.push(Err(DbError::other(format!(
                        "not run after a failed statement: {error}"
                    ))));
                    continue;
                }
                let answer = self.fetch_optional(statement).await;
                if let Err(error) = &answer {
                    failed = Some(error.clone());
                }
                answers.push(answer);
            }
            answers
        }
    }
}

/// What the statements of a [`Connection::pipeline`] answered: each one's first row, if any.
pub type Answers = Vec<Result<Option<Vec<Value>>, DbError>>;

/// [`Connection`] for a sqlx connection type: `$into` makes its query of a [`Statement`], `$value`
/// reads a row's column.
macro_rules! sqlx_connection {
    ($conn:ty, $into:ident, $value:ident) => {
        impl Connection for $conn {
            /// Transaction control goes as a simple query, as sqlx's own transactions send it:
            /// one message, nothing prepared.
            async fn run(&mut self, sql: &'static str) -> Result<(), DbError> {
                sqlx::Executor::execute(&mut *self, sql).await?;
                Ok(())
            }

            async fn execute(&mut self, statement: Statement) -> Result<u64, DbError> {
                let done = statement.$into().execute(&mut *self).await?;
                Ok(done.rows_affected())
            }

            async fn fetch_optional(
                &mut self,
                statement: Statement,
            ) -> Result<Option<Vec<Value>>, DbError> {
                let row = statement.$into().fetch_optional(&mut *self).await?;
                row.map(|row| (0..row.len()).map(|i| $value(&row, i)).collect())
                    .transpose()
            }
        }
    };
}

sqlx_connection!(AnyConnection, into_sqlx, any_value);
// The committers' PostgreSQL connections: sqlx's own driver, so multi-row statements bind their
// columns as binary arrays (with `Any` their text took 6 % of the committer's backend to parse).
sqlx_connection!(PgConnection, into_postgres, pg_value);

/// A sqlx query of database `DB`.
type SqlxQuery<DB> = sqlx::query::Query<'static, DB, <DB as sqlx::Database>::Arguments>;

impl Statement {
    /// The statement for sqlx's `Any` driver, which binds no arrays: an array goes as its text
    /// (`{1,NULL,3}`), which the statement's cast (`$1::bigint[]`) reads.
    fn into_sqlx(self) -> SqlxQuery<sqlx::Any> {
        self.into_query(
            |query, ints| query.bind(ints_text(&ints)),
            |query, texts| query.bind(texts_text(&texts)),
        )
    }

    /// The statement for sqlx's PostgreSQL driver: arrays go as binary `bigint[]` and `text[]`,
    /// which PostgreSQL reads without parsing text.
    fn into_postgres(self) -> SqlxQuery<sqlx::Postgres> {
        self.into_query(
            |query, ints| query.bind(ints),
            |query, texts| query.bind(texts),
        )
    }

    /// The statement as a sqlx query of `DB`, its scalars bound as they are and its arrays by
    /// `ints` and `texts`.
    fn into_query<DB>(
        self,
        ints: impl Fn(SqlxQuery<DB>, Vec<Option<i64>>) -> SqlxQuery<DB>,
        texts: impl Fn(SqlxQuery<DB>, Vec<Option<String>>) -> SqlxQuery<DB>,
    ) -> SqlxQuery<DB>
    where
        DB: sqlx::Database,
        i64: for<'t> sqlx::Encode<'t, DB> + sqlx::Type<DB>,
        String: for<'t> sqlx::Encode<'t, DB> + sqlx::Type<DB>,
        Vec<u8>: for<'t> sqlx::Encode<'t, DB> + sqlx::Type<DB>,
        Option<i64>: for<'t> sqlx::Encode<'t, DB> + sqlx::Type<DB>,
        Option<String>: for<'t> sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    {
        let mut query = sqlx::query(sqlx::AssertSqlSafe(self.sql.into_owned()));
        for value in self.params {
            query = match value {
                Value::Int(value) => query.bind(value),
                Value::Text(value) => query.bind(value),
                Value::Blob(value) => query.bind(value),
                Value::Null(Kind::Int) => query.bind(None::<i64>),
                Value::Null(Kind::Text) => query.bind(None::<String>),
                Value::Ints(values) => ints(query, values),
                Value::Texts(values) => texts(query, values),
            };
        }
        query
    }
}

/// Integers as a PostgreSQL array's text: `{1,NULL,3}`.
fn ints_text(values: &[Option<i64>]) -> String {
    let elements: Vec<String> = (values.iter())
        .map(|value| value.map_or_else(|| "NULL".to_string(), |value| value.to_string()))
        .collect();
    format!("{{{}}}", elements.join(","))
}

/// Texts as a PostgreSQL array's text: `{"a",NULL,"b \"c\""}`.
fn texts_text(values: &[Option<String>]) -> String {
    let elements: Vec<String> = (values.iter())
        .map(|value| value.as_deref().map_or_else(|| "NULL".to_string(), quoted))
        .collect();
    format!("{{{}}}", elements.join(","))
}

/// `value` as a quoted element of an array's text.
fn quoted(value: &str) -> String {
    let mut text = String::with_capacity(value.len() + 2);
    text.push('"');
    for c in value.chars() {
        if c == '"' || c == '\\' {
            text.push('\\');
        }
        text.push(c);
    }
    text.push('"');
    text
}

/// A column of a PostgreSQL row: an integer of any width, or text.
fn pg_value(row: &sqlx::postgres::PgRow, index: usize) -> Result<Value, DbError> {
    if let Ok(value) = row.try_get::<Option<i64>, _>(index) {
        return Ok(value.into());
    }
    if let Ok(value) = row.try_get::<Option<i32>, _>(index) {
        return Ok(value.map(i64::from).into());
    }
    Ok(row.try_get::<Option<String>, _>(index)?.into())
}

/// A column of a row of the `Any` driver: an integer, or text.
fn any_value(row: &sqlx::any::AnyRow, index: usize) -> Result<Value, DbError> {
    if let Ok(value) = row.try_get::<Option<i64>, _>(index) {
        return Ok(value.into());
    }
    Ok(row.try_get::<Option<String>, _>(index)?.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_go_to_the_any_driver_as_their_text() {
        assert_eq!(ints_text(&[Some(1), None, Some(-3)]), "{1,NULL,-3}");
        assert_eq!(ints_text(&[]), "{}");
        assert_eq!(
            texts_text(&[Some(r#"x "y" \z, {NULL}"#.into()), None]),
            r#"{"x \"y\" \\z, {NULL}",NULL}"#
        );
    }
}

//! What every read shares: the query type, decoding rows on the read pool, SQL lists.

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::{Any, AssertSqlSafe};

use crate::domain::DomainError;
use crate::store::handle::Store;

/// A read query: SQL with `$N` placeholders and its values.
pub(crate) type Query = sqlx::query::Query<'static, Any, AnyArguments>;

/// Turns one row into a domain value.
pub(crate) type Decode<T> = fn(&AnyRow) -> Result<T, sqlx::Error>;

/// A query of SQL built at run time (column lists, `IN` lists of placeholders).
pub(crate) fn query(sql: String) -> Query {
    sqlx::query(AssertSqlSafe(sql))
}

/// `$from, $from+1, …`: `count` placeholders for an `IN (…)` list.
pub(crate) fn placeholders(from: usize, count: usize) -> String {
    (from..from + count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// An integer column as the domain value that wraps it (an id, an amount).
pub(crate) fn int<T: From<i64>>(row: &AnyRow, column: &str) -> Result<T, sqlx::Error> {
    sqlx::Row::try_get::<i64, _>(row, column).map(T::from)
}

/// A nullable integer column as the domain value that wraps it.
pub(crate) fn int_or_null<T: From<i64>>(
    row: &AnyRow,
    column: &str,
) -> Result<Option<T>, sqlx::Error> {
    Ok(sqlx::Row::try_get::<Option<i64>, _>(row, column)?.map(T::from))
}

/// A stored text that names no known value: the row is not one this service wrote.
pub(crate) fn unknown(column: &str) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: column.into(),
        source: "unknown value".into(),
    }
}

/// A read that failed is the store's fault, never the caller's.
pub(crate) fn read_error(error: sqlx::Error) -> DomainError {
    tracing::error!(%error, "store read failed");
    DomainError::new(
        crate::domain::ErrorCode::Overloaded,
        "The store is unavailable, retry later",
    )
}

impl Store {
    /// Every row `query` answers, decoded.
    pub(crate) async fn all<T>(
        &self,
        query: Query,
        decode: impl Fn(&AnyRow) -> Result<T, sqlx::Error>,
    ) -> Result<Vec<T>, DomainError> {
        let rows = query.fetch_all(&self.read).await.map_err(read_error)?;
        rows.iter()
            .map(decode)
            .collect::<Result<_, _>>()
            .map_err(read_error)
    }

    /// The first row `query` answers, if any, decoded.
    pub(crate) async fn optional<T>(
        &self,
        query: Query,
        decode: Decode<T>,
    ) -> Result<Option<T>, DomainError> {
        let row = query.fetch_optional(&self.read).await.map_err(read_error)?;
        row.as_ref().map(decode).transpose().map_err(read_error)
    }

    /// The one integer `query` answers (a count, a maximum).
    pub(crate) async fn scalar(&self, query: Query) -> Result<i64, DomainError> {
        self.optional(query, |row| sqlx::Row::try_get(row, 0))
            .await?
            .ok_or_else(|| read_error(sqlx::Error::RowNotFound))
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.read).await.is_ok()
    }
}

//! The shapes of multi-row statements: runs of rows, and their placeholders.

use crate::config::STATEMENT_ROWS_MAX;
use crate::store::connection::{Kind, Statement, Value};
use crate::store::dialect::Dialect;

/// The multi-row statements that write `rows`. On SQLite, runs whose lengths are powers of two
/// (largest first), so the statements come in a few shapes that stay prepared: preparing a
/// shape never seen cost a tenth of the committer's time when every batch had its own row
/// count. On PostgreSQL every statement is a round trip, so as few as can be.
pub(super) fn chunked<T>(rows: &[T], dialect: Dialect) -> Vec<&[T]> {
    match dialect {
        Dialect::Sqlite => pow2_chunks(rows).collect(),
        Dialect::Postgres => rows.chunks(STATEMENT_ROWS_MAX).collect(),
    }
}

/// Splits `rows` into runs whose lengths are powers of two, largest first, at most
/// [`STATEMENT_ROWS_MAX`].
pub(super) fn pow2_chunks<T>(mut rows: &[T]) -> impl Iterator<Item = &[T]> {
    std::iter::from_fn(move || {
        if rows.is_empty() {
            return None;
        }
        let len = 1usize << rows.len().min(STATEMENT_ROWS_MAX).ilog2();
        let (chunk, rest) = rows.split_at(len);
        rows = rest;
        Some(chunk)
    })
}

/// `(?, ?, …), (?, …), …`: `rows` tuples of `width` anonymous placeholders (SQLite's multi-row
/// statements; PostgreSQL's take their rows as arrays, see [`with_rows`]).
///
/// Anonymous, not `$N`: a named parameter is bound by asking SQLite its name, which walks a list
/// of all of them, so a statement with thousands of `$N` costs time quadratic in their number.
fn placeholders(rows: usize, width: usize) -> String {
    let row = format!("({})", vec!["?"; width].join(", "));
    vec![row; rows].join(", ")
}

/// Where a multi-row statement's SQL takes its rows: `WITH v(…) AS ({rows})`,
/// `INSERT INTO t (…) {rows}`; see [`with_rows`].
pub(super) const ROWS: &str = "{rows}";

/// Where a PostgreSQL statement's SQL takes its columns as a set-returning function, to add
/// `WITH ORDINALITY` or computed columns: `SELECT … FROM {unnest} WITH ORDINALITY AS r(…)`.
pub(super) const UNNEST: &str = "{unnest}";

/// A multi-row statement: its SQL names its rows [`ROWS`] (or, on PostgreSQL, [`UNNEST`]), and
/// its parameters are its rows' cells, row after row, `width` to a row.
/// - SQLite: `VALUES (?, …), …`, in the few shapes [`chunked`] makes.
/// - PostgreSQL: `SELECT * FROM unnest($1::bigint[], $2::text[], …)`: one parameter per
///   column, the column's cells as an array (binary on the committers' connections). The SQL is
///   the same whatever the row count, so each connection parses and plans it once; a `VALUES`
///   list of each count was a statement of its own, parsed and planned for nearly every batch.
pub(super) fn with_rows(mut statement: Statement, width: usize, dialect: Dialect) -> Statement {
    let rows = statement.params.len() / width.max(1);
    let sql = match dialect {
        Dialect::Sqlite => statement
            .sql
            .replace(ROWS, &format!("VALUES {}", placeholders(rows, width))),
        Dialect::Postgres => {
            statement.params = columns(&statement.params, width);
            let call = unnest_call(&statement.params);
            statement
                .sql
                .replace(ROWS, &format!("SELECT * FROM {call}"))
                .replace(UNNEST, &call)
        }
    };
    statement.sql = sql.into();
    statement
}

/// `unnest($1::bigint[], …)` over `columns`, each an array.
fn unnest_call(columns: &[Value]) -> String {
    let arrays: Vec<String> = (columns.iter().enumerate())
        .map(|(i, column)| {
            let element = match column {
                Value::Ints(_) => "bigint",
                _ => "text",
            };
            format!("${}::{element}[]", i + 1)
        })
        .collect();
    format!("unnest({})", arrays.join(", "))
}

/// Row-major `cells` as `width` columns, each its cells as an array parameter. A
/// column's type is its first cell's (a `NULL` keeps its type), and text if any cell is text:
/// a mistyped cell then fails in PostgreSQL, not as a silent `NULL`. Bytes have no place in
/// these statements and go as text.
fn columns(cells: &[Value], width: usize) -> Vec<Value> {
    (0..width)
        .map(|column| {
            let cells = cells.iter().skip(column).step_by(width);
            let first_int = matches!(
                cells.clone().next(),
                Some(Value::Int(_) | Value::Null(Kind::Int))
            );
            // The integers, in one pass that stops at the first cell that is not one.
            let ints: Option<Vec<Option<i64>>> = match first_int {
                true => (cells.clone())
                    .map(|cell| match cell {
                        Value::Int(value) => Some(Some(*value)),
                        Value::Null(_) => Some(None),
                        _ => None,
                    })
                    .collect(),
                false => None,
            };
            if let Some(ints) = ints {
                return Value::Ints(ints);
            }
            let texts = cells.map(|cell| match cell {
                Value::Text(value) => Some(value.clone()),
                Value::Int(value) => Some(value.to_string()),
                Value::Blob(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
                _ => None,
            });
            Value::Texts(texts.collect())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::connection::query;

    #[test]
    fn postgres_rows_go_as_one_array_per_column() {
        let statement = query("INSERT INTO t (a, b) {rows}")
            .bind(1i64)
            .bind("x \"y\" \\z, {NULL}")
            .bind(Value::Null(Kind::Int))
            .bind(Value::Null(Kind::Text));
        let statement = with_rows(statement, 2, Dialect::Postgres);
        assert_eq!(
            statement.sql,
            "INSERT INTO t (a, b) SELECT * FROM unnest($1::bigint[], $2::text[])"
        );
        assert_eq!(
            statement.params,
            [
                Value::Ints(vec![Some(1), None]),
                Value::Texts(vec![Some("x \"y\" \\z, {NULL}".into()), None]),
            ]
        );
    }

    #[test]
    fn a_text_cell_makes_its_column_text() {
        let statement = query("INSERT INTO t (a) {rows}").bind(1i64).bind("2");
        let statement = with_rows(statement, 1, Dialect::Postgres);
        assert!(statement.sql.contains("unnest($1::text[])"));
        assert_eq!(
            statement.params,
            [Value::Texts(vec![Some("1".into()), Some("2".into())])]
        );
    }

    #[test]
    fn a_column_of_nulls_keeps_its_type() {
        let statement = query("WITH v(a) AS ({rows}) SELECT 1")
            .bind(Value::Null(Kind::Text))
            .bind(Value::Null(Kind::Text));
        let statement = with_rows(statement, 1, Dialect::Postgres);
        assert!(statement.sql.contains("unnest($1::text[])"));
        assert_eq!(statement.params, [Value::Texts(vec![None, None])]);
    }

    #[test]
    fn sqlite_rows_stay_a_values_list() {
        let statement = query("INSERT INTO t (a, b) {rows}")
            .bind(1i64)
            .bind(2i64)
            .bind(3i64)
            .bind(4i64);
        let statement = with_rows(statement, 2, Dialect::Sqlite);
        assert_eq!(statement.sql, "INSERT INTO t (a, b) VALUES (?, ?), (?, ?)");
        assert_eq!(statement.params.len(), 4);
    }
}

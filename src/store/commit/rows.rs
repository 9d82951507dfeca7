//! The shapes of multi-row statements: runs of rows, and their placeholders.

use crate::config::STATEMENT_ROWS_MAX;
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

/// `($1, $2, …), ($n+1, …), …`: `rows` tuples of `width` placeholders.
///
/// SQLite gets anonymous `?`: a named parameter is bound by asking SQLite its name, which walks a
/// list of all of them, so a statement with thousands of `$N` costs time quadratic in their number.
pub(super) fn placeholders(rows: usize, width: usize, dialect: Dialect) -> String {
    (0..rows)
        .map(|row| {
            let cells: Vec<String> = (1..=width)
                .map(|col| match dialect {
                    Dialect::Sqlite => "?".to_string(),
                    Dialect::Postgres => format!("${}", row * width + col),
                })
                .collect();
            format!("({})", cells.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

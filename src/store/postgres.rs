//! PostgreSQL's committer connection: tokio-postgres, whose client pipelines. The statements of
//! a [`Connection::pipeline`] go to the database in one write and their answers come back in
//! one stream, so a batch's statements that need no answer from one another cost one round trip
//! instead of one each. sqlx sends a statement only after the last one's answer.
//!
//! Every statement is prepared once per connection, its parameters typed as sqlx typed them
//! (`bigint`, `text`, `bytea`, `bigint[]`, `text[]`), and kept: with `plan_cache_mode =
//! force_generic_plan` each is planned once (see `handle::open_committer`).

use std::collections::HashMap;

use futures_util::{StreamExt, future::join_all};
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use tokio_postgres::{Client, NoTls, Row};

use super::connection::{Answers, Connection, DbError, Kind, Statement, Value};
use crate::config::PG_STATEMENT_CACHE;
use crate::telemetry;

impl From<tokio_postgres::Error> for DbError {
    fn from(error: tokio_postgres::Error) -> Self {
        use tokio_postgres::error::SqlState;
        // The database's own message, its detail and where it arose, as sqlx gave them.
        let text = match error.as_db_error() {
            Some(db) => format!("{}: {}", db.code().code(), db),
            None => error.to_string(),
        };
        match error.code() {
            Some(&SqlState::UNIQUE_VIOLATION) => DbError::Unique(text),
            Some(&SqlState::T_R_DEADLOCK_DETECTED | &SqlState::T_R_SERIALIZATION_FAILURE) => {
                DbError::Transient(text)
            }
            _ => DbError::Other(text),
        }
    }
}

impl Value {
    /// The type the value binds as: what sqlx bound for the same Rust value.
    fn pg_type(&self) -> Type {
        match self {
            Value::Int(_) | Value::Null(Kind::Int) => Type::INT8,
            Value::Text(_) | Value::Null(Kind::Text) => Type::TEXT,
            Value::Blob(_) => Type::BYTEA,
            Value::Ints(_) => Type::INT8_ARRAY,
            Value::Texts(_) => Type::TEXT_ARRAY,
        }
    }
}

impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Value::Int(value) => value.to_sql(ty, out),
            Value::Text(value) => value.to_sql(ty, out),
            Value::Blob(value) => value.to_sql(ty, out),
            Value::Null(_) => Ok(IsNull::Yes),
            Value::Ints(values) => values.to_sql(ty, out),
            Value::Texts(values) => values.to_sql(ty, out),
        }
    }

    /// Each statement is prepared with its parameters' types taken from their values
    /// ([`Value::pg_type`]), so a value always meets its own type.
    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// A committer's PostgreSQL connection, its prepared statements by SQL text and parameter types.
pub struct Postgres {
    client: Client,
    prepared: HashMap<(String, Vec<Type>), tokio_postgres::Statement>,
}

impl Postgres {
    /// Connects to `url` (a `postgres://` URL or `key=value` settings) and runs the connection
    /// on the current runtime. No TLS, as the server's other connections (sqlx's, built without
    /// TLS).
    pub async fn connect(url: &str) -> Result<Postgres, DbError> {
        let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::error!(%error, "committer connection lost");
            }
        });
        Ok(Postgres {
            client,
            prepared: HashMap::new(),
        })
    }

    /// Runs SQL as a simple query: settings, several statements at once, no parameters.
    pub async fn batch_execute(&self, sql: &str) -> Result<(), DbError> {
        Ok(self.client.batch_execute(sql).await?)
    }

    /// Prepares what `statements` need that is not prepared yet (all in one round trip), and
    /// answers each one's prepared statement. Past [`PG_STATEMENT_CACHE`] texts, the cache
    /// starts over (its statements are closed on the server as they are dropped).
    async fn prepare(
        &mut self,
        statements: &[Statement],
    ) -> Result<Vec<tokio_postgres::Statement>, DbError> {
        let keys: Vec<(String, Vec<Type>)> = (statements.iter())
            .map(|s| {
                (
                    s.sql.to_string(),
                    s.params.iter().map(Value::pg_type).collect(),
                )
            })
            .collect();
        let mut missing: Vec<&(String, Vec<Type>)> = Vec::new();
        for key in &keys {
            if !self.prepared.contains_key(key) && !missing.contains(&key) {
                missing.push(key);
            }
        }
        if !missing.is_empty() {
            // The preparations go together: a flight of their own, before the statements'.
            flight();
            if self.prepared.len() + missing.len() > PG_STATEMENT_CACHE {
                self.prepared.clear();
            }
            let client = &self.client;
            let prepared =
                join_all((missing.iter()).map(|(sql, types)| client.prepare_typed(sql, types)))
                    .await;
            for (key, statement) in missing.into_iter().zip(prepared) {
                self.prepared.insert(key.clone(), statement?);
            }
        }
        Ok(keys.iter().map(|key| self.prepared[key].clone()).collect())
    }
}

impl Postgres {
    async fn prepare_one(
        &mut self,
        statement: &Statement,
    ) -> Result<tokio_postgres::Statement, DbError> {
        Ok(self
            .prepare(std::slice::from_ref(statement))
            .await?
            .remove(0))
    }
}

/// Runs a prepared statement: its first row's columns, and how many rows it changed.
async fn run(
    client: &Client,
    prepared: &tokio_postgres::Statement,
    params: &[Value],
) -> Result<(Option<Vec<Value>>, u64), DbError> {
    let rows = client.query_raw(prepared, params.iter()).await?;
    futures_util::pin_mut!(rows);
    let mut first = None;
    while let Some(row) = rows.next().await {
        let row = row?;
        if first.is_none() {
            first = Some(columns(&row)?);
        }
    }
    Ok((first, rows.rows_affected().unwrap_or(0)))
}

/// A row's columns: integers of any width, text, and truth as 0 or 1.
fn columns(row: &Row) -> Result<Vec<Value>, DbError> {
    (row.columns().iter().enumerate())
        .map(|(index, column)| {
            let ty = column.type_();
            Ok(match *ty {
                Type::INT8 => row.try_get::<_, Option<i64>>(index)?.into(),
                Type::INT4 => (row.try_get::<_, Option<i32>>(index)?)
                    .map(i64::from)
                    .into(),
                Type::INT2 => (row.try_get::<_, Option<i16>>(index)?)
                    .map(i64::from)
                    .into(),
                Type::BOOL => (row.try_get::<_, Option<bool>>(index)?)
                    .map(i64::from)
                    .into(),
                Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => {
                    row.try_get::<_, Option<String>>(index)?.into()
                }
                _ => return Err(DbError::other(format!("a column of type {ty} is not read"))),
            })
        })
        .collect()
}

/// Counts a flight of statements sent before their answers are read.
fn flight() {
    metrics::counter!(telemetry::STORE_ROUND_TRIPS).increment(1);
}

impl Connection for Postgres {
    async fn run(&mut self, sql: &'static str) -> Result<(), DbError> {
        flight();
        self.batch_execute(sql).await
    }

    async fn execute(&mut self, statement: Statement) -> Result<u64, DbError> {
        flight();
        let prepared = self.prepare_one(&statement).await?;
        Ok(run(&self.client, &prepared, &statement.params).await?.1)
    }

    async fn fetch_optional(
        &mut self,
        statement: Statement,
    ) -> Result<Option<Vec<Value>>, DbError> {
        flight();
        let prepared = self.prepare_one(&statement).await?;
        Ok(run(&self.client, &prepared, &statement.params).await?.0)
    }

    /// Sends every statement before reading any answer. A statement that fails aborts the
    /// transaction, and those after it fail too (PostgreSQL refuses them in an aborted one).
    async fn pipeline(&mut self, statements: Vec<Statement>) -> Answers {
        flight();
        let prepared = match self.prepare(&statements).await {
            Ok(prepared) => prepared,
            Err(error) => return statements.iter().map(|_| Err(error.clone())).collect(),
        };
        let client = &self.client;
        let answers = join_all(
            (prepared.iter().zip(&statements))
                .map(|(prepared, statement)| run(client, prepared, &statement.params)),
        )
        .await;
        (answers.into_iter())
            .map(|answer| answer.map(|(row, _)| row))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::connection::query;
    use crate::store::test_db::postgres_store;

    /// Values bind with the types sqlx gave them (arrays binary) and come back as integers or
    /// text; a statement answers how many rows it changed.
    #[tokio::test]
    async fn values_go_and_come_back_as_sqlx_bound_and_read_them() {
        let Some((_store, url)) = postgres_store("the pipelined connection's values").await else {
            return;
        };
        let mut conn = Postgres::connect(&url).await.unwrap();
        let row = query(
            "SELECT $1 + 1, $2 || '!', cardinality($3)::int, \
             array_to_string($4, '|', '-')::text, $5::bigint IS NULL, length($6)::smallint, \
             $7::text",
        )
        .bind(41i64)
        .bind("hi")
        .bind(Value::Ints(vec![Some(1), None, Some(-3)]))
        .bind(Value::Texts(vec![Some(r#"a "b" \c"#.into()), None]))
        .bind(None::<i64>)
        .bind(vec![1u8, 0, 255])
        .bind(None::<String>);
        assert_eq!(
            conn.fetch_optional(row).await.unwrap().unwrap(),
            [
                Value::Int(42),
                Value::Text("hi!".into()),
                Value::Int(3),
                Value::Text(r#"a "b" \c|-"#.into()),
                Value::Int(1),
                Value::Int(3),
                Value::Null(Kind::Text),
            ]
        );
        conn.batch_execute("CREATE TEMP TABLE t (id bigint PRIMARY KEY)")
            .await
            .unwrap();
        let insert = query("INSERT INTO t SELECT generate_series(1, $1)").bind(3i64);
        assert_eq!(conn.execute(insert).await.unwrap(), 3);
        let mut bad = query("SELECT $1::int").bind("not a number");
        assert!(matches!(
            conn.execute(bad.clone()).await,
            Err(DbError::Other(_))
        ));
        bad.sql = "SELECT FROM no_such_table".into();
        assert!(conn.fetch_optional(bad).await.is_err());
    }

    /// A pipeline's statements run in turn in one flight; after one fails, those behind it fail
    /// too (the transaction is aborted) and the transaction rolls back whole.
    #[tokio::test]
    async fn a_pipeline_runs_in_turn_and_fails_from_the_first_failure() {
        let Some((_store, url)) = postgres_store("the pipelined connection's flights").await else {
            return;
        };
        let mut conn = Postgres::connect(&url).await.unwrap();
        conn.batch_execute("CREATE TEMP TABLE t (id bigint PRIMARY KEY, turn bigint)")
            .await
            .unwrap();
        conn.batch_execute("CREATE TEMP SEQUENCE turns")
            .await
            .unwrap();
        let insert =
            |id: i64| query("INSERT INTO t VALUES ($1, nextval('turns')) RETURNING turn").bind(id);
        let answers = conn
            .pipeline(vec![
                query("BEGIN"),
                insert(1),
                insert(2),
                query("SELECT COUNT(*) FROM t"),
            ])
            .await;
        let answers: Vec<_> = answers.into_iter().map(Result::unwrap).collect();
        assert_eq!(
            answers,
            [
                None,
                Some(vec![Value::Int(1)]),
                Some(vec![Value::Int(2)]),
                Some(vec![Value::Int(2)])
            ]
        );
        let answers = conn
            .pipeline(vec![insert(3), insert(1), insert(4), query("COMMIT")])
            .await;
        assert!(answers[0].is_ok());
        assert!(matches!(answers[1], Err(DbError::Unique(_))));
        assert!(matches!(answers[2], Err(DbError::Other(_))));
        // PostgreSQL answers a `COMMIT` of an aborted transaction by rolling it back.
        assert!(answers[3].is_ok());
        let count = query("SELECT COUNT(*) FROM t");
        assert_eq!(
            conn.fetch_optional(count).await.unwrap(),
            Some(vec![Value::Int(0)])
        );
    }

    /// Past its size the cache of prepared statements starts over, and every statement still runs.
    #[tokio::test]
    async fn the_prepared_statements_stay_bounded() {
        let Some((_store, url)) = postgres_store("the pipelined connection's cache").await else {
            return;
        };
        let mut conn = Postgres::connect(&url).await.unwrap();
        for n in 0..PG_STATEMENT_CACHE as i64 + 10 {
            let statement = query(format!("SELECT {n} + $1")).bind(1i64);
            let row = conn.fetch_optional(statement).await.unwrap();
            assert_eq!(row, Some(vec![Value::Int(n + 1)]));
            assert!(conn.prepared.len() <= PG_STATEMENT_CACHE);
        }
        let prepared = "SELECT COUNT(*) FROM pg_prepared_statements";
        let Some(row) = conn.fetch_optional(query(prepared)).await.unwrap() else {
            panic!("a count");
        };
        assert!(matches!(row[..], [Value::Int(n)] if n <= PG_STATEMENT_CACHE as i64 + 1));
    }
}

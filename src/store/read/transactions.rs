//! `wallet_transactions`: the platform's deposits, bonuses, bets and wins.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::query::int;
use crate::domain::DomainError;
use crate::domain::wallet::{Transaction, TransactionKind};
use crate::store::handle::Store;

fn transaction_from(row: &AnyRow) -> Result<Transaction, sqlx::Error> {
    Ok(Transaction {
        id: row.try_get("id")?,
        user_id: int(row, "user_id")?,
        kind: TransactionKind::parse(row.try_get("kind")?)
            .ok_or_else(|| super::query::unknown("kind"))?,
        amount: int(row, "amount")?,
        reference: row.try_get("reference")?,
        wagering_multiplier: row.try_get("wagering_multiplier")?,
        created_at: row.try_get("created_at")?,
    })
}

impl Store {
    /// The transaction posted under `reference`, if any (references are unique).
    pub async fn transaction_by_reference(
        &self,
        reference: &str,
    ) -> Result<Option<Transaction>, DomainError> {
        let sql = "SELECT id, user_id, kind, amount, reference, wagering_multiplier, created_at \
                   FROM wallet_transactions WHERE reference = $1";
        let query = sqlx::query(sql).bind(reference.to_owned());
        self.optional(query, transaction_from).await
    }
}

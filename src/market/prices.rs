//! The platform's index prices: what floating ads price over. Each update is kept; the newest of
//! a currency is its price now, followed by the listing at once on this node and within a second
//! on the others (their listing refresh reads it).

use super::service::Market;
use crate::domain::idempotency::IdempotencyKey;
use crate::domain::pricing::IndexPrice;
use crate::domain::{DomainError, validate};
use crate::store::{Commit, Op};

impl Market {
    /// Sets `fiat_currency`'s index price to `price` kopecks per USDT.
    pub async fn set_index_price(
        &self,
        fiat_currency: String,
        price: i64,
        key: Option<IdempotencyKey>,
    ) -> Result<IndexPrice, DomainError> {
        validate::fiat_currency(&fiat_currency)?;
        let mut index = IndexPrice {
            id: 0,
            fiat_currency,
            price: validate::amount("price", price)?,
            created_at: self.now_ms(),
        };
        let op = Op::InsertIndexPrice(index.clone());
        let receipt = self
            .store()
            .commit(Commit::new(vec![op]).keyed(key))
            .await?;
        index.id = receipt.first_id();
        let read_model = &self.context.read_model;
        read_model.set_index_price(&index.fiat_currency, index.price);
        Ok(index)
    }

    /// The newest index price of each currency that has one.
    pub async fn index_prices(&self) -> Result<Vec<IndexPrice>, DomainError> {
        self.store().index_prices().await
    }

    /// `fiat_currency`'s index prices, newest first, and how many there are.
    pub async fn index_price_history(
        &self,
        fiat_currency: &str,
        page: (i64, i64),
    ) -> Result<(Vec<IndexPrice>, i64), DomainError> {
        validate::fiat_currency(fiat_currency)?;
        self.store().index_price_history(fiat_currency, page).await
    }

    /// Loads the newest index prices into the listing (at start, and on each refresh where
    /// other nodes may have set them).
    pub(super) async fn load_index_prices(&self) -> Result<(), DomainError> {
        for index in self.store().index_prices().await? {
            self.context
                .read_model
                .set_index_price(&index.fiat_currency, index.price);
        }
        Ok(())
    }
}

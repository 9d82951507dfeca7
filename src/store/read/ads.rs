//! `ads`: makers' standing offers.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::query::{int, query, unknown};
use crate::domain::Kopecks;
use crate::domain::ad::{Ad, AdStatus, AdType};
use crate::domain::pricing::{IndexPrice, PriceType};
use crate::domain::requirements::Requirements;
use crate::domain::{AdId, DomainError};
use crate::store::handle::Store;

const AD_COLUMNS: &str = "id, maker_id, ad_type, fiat_currency, price, min_amount, \
    max_amount, total_amount, available_amount, closed_amount, payment_methods, \
    payment_window_seconds, terms, payment_details, status, created_at, version, \
    min_completed_orders, min_account_age_days, min_completion_rate_bp, price_type, premium_bp, terms_version, \
    release_window_seconds";

fn ad_from(row: &AnyRow) -> Result<Ad, sqlx::Error> {
    let methods: String = row.try_get("payment_methods")?;
    let price_type =
        PriceType::parse(row.try_get("price_type")?).ok_or_else(|| unknown("price_type"))?;
    Ok(Ad {
        id: int(row, "id")?,
        maker_id: int(row, "maker_id")?,
        ad_type: AdType::parse(row.try_get("ad_type")?).ok_or_else(|| unknown("ad_type"))?,
        fiat_currency: row.try_get("fiat_currency")?,
        // A floating ad's price is the index's business: zero until repriced.
        price: match price_type {
            PriceType::Fixed => int(row, "price")?,
            PriceType::Floating => Kopecks::ZERO,
        },
        price_type,
        premium_bp: row.try_get("premium_bp")?,
        min_amount: int(row, "min_amount")?,
        max_amount: int(row, "max_amount")?,
        total_amount: int(row, "total_amount")?,
        available_amount: int(row, "available_amount")?,
        closed_amount: int(row, "closed_amount")?,
        payment_methods: serde_json::from_str(&methods).map_err(|_| unknown("payment_methods"))?,
        payment_window_seconds: row.try_get("payment_window_seconds")?,
        release_window_seconds: row.try_get("release_window_seconds")?,
        terms: row.try_get("terms")?,
        payment_details: crate::store::json::object(row.try_get("payment_details")?),
        requirements: Requirements {
            min_completed_orders: row.try_get("min_completed_orders")?,
            min_account_age_days: row.try_get("min_account_age_days")?,
            min_completion_rate_bp: row.try_get("min_completion_rate_bp")?,
        },
        status: AdStatus::parse(row.try_get("status")?).ok_or_else(|| unknown("status"))?,
        created_at_ms: row.try_get("created_at")?,
        version: row.try_get("version")?,
        terms_version: row.try_get("terms_version")?,
    })
}

impl Store {
    pub async fn ad(&self, id: AdId) -> Result<Option<Ad>, DomainError> {
        let sql = format!("SELECT {AD_COLUMNS} FROM ads WHERE id = $1");
        self.optional(query(sql).bind(id.get()), ad_from).await
    }

    /// Every ad that is not closed: what the service rebuilds its actors and listing from.
    pub async fn open_ads(&self) -> Result<Vec<Ad>, DomainError> {
        let sql = format!("SELECT {AD_COLUMNS} FROM ads WHERE status <> 'closed'");
        self.all(query(sql), ad_from).await
    }

    /// The newest index price of each fiat currency that has one.
    pub async fn index_prices(&self) -> Result<Vec<IndexPrice>, DomainError> {
        let sql = "SELECT id, fiat_currency, price, created_at FROM index_prices p \
                   WHERE id = (SELECT MAX(id) FROM index_prices n \
                               WHERE n.fiat_currency = p.fiat_currency)";
        self.all(query(sql.into()), index_price_from).await
    }

    /// A currency's index prices, newest first: `limit` of them after skipping `offset`, and
    /// how many there are.
    pub async fn index_price_history(
        &self,
        fiat_currency: &str,
        (limit, offset): (i64, i64),
    ) -> Result<(Vec<IndexPrice>, i64), DomainError> {
        let sql = "SELECT id, fiat_currency, price, created_at FROM index_prices \
                   WHERE fiat_currency = $1 ORDER BY id DESC LIMIT $2 OFFSET $3";
        let page = query(sql.into())
            .bind(fiat_currency.to_owned())
            .bind(limit)
            .bind(offset);
        let items = self.all(page, index_price_from).await?;
        let count = query("SELECT COUNT(*) FROM index_prices WHERE fiat_currency = $1".into())
            .bind(fiat_currency.to_owned());
        let total = self.scalar(count).await?;
        Ok((items, total))
    }
}

fn index_price_from(row: &AnyRow) -> Result<IndexPrice, sqlx::Error> {
    Ok(IndexPrice {
        id: row.try_get("id")?,
        fiat_currency: row.try_get("fiat_currency")?,
        price: int(row, "price")?,
        created_at: row.try_get("created_at")?,
    })
}

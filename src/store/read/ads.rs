//! `ads`: makers' standing offers.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::query::{int, query, unknown};
use crate::domain::ad::{Ad, AdStatus, AdType};
use crate::domain::requirements::Requirements;
use crate::domain::{AdId, DomainError};
use crate::store::handle::Store;

const AD_COLUMNS: &str = "id, maker_id, ad_type, fiat_currency, price, min_amount, \
    max_amount, total_amount, available_amount, closed_amount, payment_methods, \
    payment_window_seconds, terms, payment_details, status, created_at, version, \
    min_completed_orders, min_account_age_days, min_completion_rate_bp";

fn ad_from(row: &AnyRow) -> Result<Ad, sqlx::Error> {
    let methods: String = row.try_get("payment_methods")?;
    Ok(Ad {
        id: int(row, "id")?,
        maker_id: int(row, "maker_id")?,
        ad_type: AdType::parse(row.try_get("ad_type")?).ok_or_else(|| unknown("ad_type"))?,
        fiat_currency: row.try_get("fiat_currency")?,
        price: int(row, "price")?,
        min_amount: int(row, "min_amount")?,
        max_amount: int(row, "max_amount")?,
        total_amount: int(row, "total_amount")?,
        available_amount: int(row, "available_amount")?,
        closed_amount: int(row, "closed_amount")?,
        payment_methods: serde_json::from_str(&methods).map_err(|_| unknown("payment_methods"))?,
        payment_window_seconds: row.try_get("payment_window_seconds")?,
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
}

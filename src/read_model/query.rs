//! A listing query (SPEC.md §6, `GET /ads`) and its sort orders.

use std::collections::HashSet;

use crate::config::DEFAULT_PAGE_LIMIT;
use crate::domain::ad::AdType;
use crate::domain::vocabulary::vocabulary;
use crate::domain::{Kopecks, UserId};

vocabulary! {
    #[derive(Default)]
    pub enum SortBy {
        #[default]
        BestPrice = "best_price",
        Rating = "rating",
        OrdersCount = "orders_count",
        CompletionRate = "completion_rate",
    }
}

/// A listing query (SPEC.md §6, `GET /ads`).
#[derive(Debug, Clone)]
pub struct AdQuery {
    pub ad_type: AdType,
    pub fiat_currency: String,
    pub amount: Option<Kopecks>,
    pub payment_method: Option<String>,
    pub sort_by: SortBy,
    pub limit: usize,
    pub offset: usize,
    /// Makers the viewer does not see (blocks either way).
    pub hidden_makers: Option<HashSet<UserId>>,
}

impl AdQuery {
    /// A market's first page by best price, without filters.
    pub fn market(ad_type: AdType, fiat_currency: &str) -> Self {
        Self {
            ad_type,
            fiat_currency: fiat_currency.into(),
            amount: None,
            payment_method: None,
            sort_by: SortBy::BestPrice,
            limit: DEFAULT_PAGE_LIMIT as usize,
            offset: 0,
            hidden_makers: None,
        }
    }
}

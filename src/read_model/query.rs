//! A listing query (SPEC.md §6, `GET /ads`) and its sort orders.

use std::collections::HashSet;

use crate::config::DEFAULT_PAGE_LIMIT;
use crate::domain::ad::AdType;
use crate::domain::requirements::{Requirements, Standing};
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
    /// Who reads: a trader's listing marks each ad `eligible`.
    pub viewer: Viewer,
    /// Only the ads the trader is eligible for (ignored for anonymous listings).
    pub eligible_only: bool,
}

/// Who reads a listing, as far as counterparty requirements go.
#[derive(Debug, Clone, Copy, Default)]
pub enum Viewer {
    #[default]
    Anonymous,
    /// A trader with a token, with their standing if it was read (it is read only when an ad
    /// of the market has requirements; an unread one meets none).
    Trader(Option<Standing>),
}

impl Viewer {
    /// Whether this viewer may take an ad with `requirements`, if the listing says.
    pub fn eligible(&self, requirements: &Requirements) -> Option<bool> {
        match self {
            Self::Anonymous => None,
            Self::Trader(standing) => {
                Some(requirements.is_empty() || standing.is_some_and(|s| requirements.met_by(&s)))
            }
        }
    }
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
            viewer: Viewer::Anonymous,
            eligible_only: false,
        }
    }
}

//! Counts for the gauges: active orders by status and side, ads by type and status.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::domain::DomainError;
use crate::domain::ad::{AdStatus, AdType};
use crate::domain::order::{OrderStatus, Side};
use crate::store::handle::Store;

/// What the gauges show, counted in the database: every combination, zeros included, so a gauge
/// falls back to zero.
#[derive(Debug, Clone, Default)]
pub struct Gauges {
    pub active_orders: Vec<(OrderStatus, Side, i64)>,
    pub open_disputes: i64,
    pub ads: Vec<(AdType, AdStatus, i64)>,
}

type Counted = (String, String, i64);

fn counted(row: &AnyRow) -> Result<Counted, sqlx::Error> {
    Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?))
}

fn count(rows: &[Counted], a: &str, b: &str) -> i64 {
    rows.iter()
        .find(|(x, y, _)| x == a && y == b)
        .map_or(0, |(_, _, n)| *n)
}

impl Store {
    pub async fn gauges(&self) -> Result<Gauges, DomainError> {
        let sql = "SELECT status, side, COUNT(*) FROM active_orders GROUP BY status, side";
        let orders = self.all(sqlx::query(sql), counted).await?;
        let sql = "SELECT ad_type, status, COUNT(*) FROM ads GROUP BY ad_type, status";
        let ads = self.all(sqlx::query(sql), counted).await?;
        let mut gauges = Gauges::default();
        for status in OrderStatus::ACTIVE {
            for &side in Side::ALL {
                let n = count(&orders, status.as_str(), side.as_str());
                gauges.active_orders.push((status, side, n));
                if status == OrderStatus::Disputed {
                    gauges.open_disputes += n;
                }
            }
        }
        for &ad_type in AdType::ALL {
            for &status in AdStatus::ALL {
                let n = count(&ads, ad_type.as_str(), status.as_str());
                gauges.ads.push((ad_type, status, n));
            }
        }
        Ok(gauges)
    }

    /// `(open, idle)` connections of the read pool.
    pub fn pool_usage(&self) -> (u32, usize) {
        (self.read.size(), self.read.num_idle())
    }
}

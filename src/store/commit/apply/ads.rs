//! Ads: posting, changing and closing them, and the capacity orders take and return.

use super::writer::{Failure, Writer, refused};
use crate::domain::ErrorCode;
use crate::domain::ad::{Ad, AdStatus, AdType};
use crate::domain::pricing::{IndexPrice, PriceType};
use crate::domain::wallet::{LedgerKind, WalletDelta};
use crate::domain::{AdId, Kopecks, Millis, UserId};
use crate::store::commit::deferred::AdChange;
use crate::store::commit::op::{CapacityReturn, MoneyMove, RowRef};
use crate::store::connection::{Connection, query};
use crate::store::json;

impl<C: Connection> Writer<'_, C> {
    pub(super) async fn insert_ad(&mut self, ad: &Ad) -> Result<(), Failure> {
        let id = query(
            "INSERT INTO ads (maker_id, ad_type, fiat_currency, price, min_amount, max_amount, \
             total_amount, available_amount, closed_amount, payment_methods, \
             payment_window_seconds, terms, payment_details, status, created_at, \
             min_completed_orders, min_account_age_days, min_completion_rate_bp, price_type, \
             premium_bp, release_window_seconds) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
             $18, $19, $20) RETURNING id",
        )
        .bind(ad.maker_id)
        .bind(ad.ad_type.as_str())
        .bind(ad.fiat_currency.clone())
        .bind(stored_price(ad))
        .bind(ad.min_amount)
        .bind(ad.max_amount)
        .bind(ad.total_amount)
        .bind(ad.available_amount)
        .bind(serde_json::to_string(&ad.payment_methods).unwrap_or_default())
        .bind(ad.payment_window_seconds)
        .bind(ad.terms.clone())
        .bind(ad.payment_details.as_ref().map(json::text))
        .bind(ad.status.as_str())
        .bind(ad.created_at_ms)
        .bind(ad.requirements.min_completed_orders)
        .bind(ad.requirements.min_account_age_days)
        .bind(ad.requirements.min_completion_rate_bp)
        .bind(ad.price_type.as_str())
        .bind(ad.premium_bp)
        .bind(ad.release_window_seconds)
        .fetch_one(&mut *self.conn)
        .await?;
        self.receipt.inserted_ids.push(id);
        self.receipt.ad_version = Some(1);
        Ok(())
    }

    pub(super) async fn insert_index_price(&mut self, index: &IndexPrice) -> Result<(), Failure> {
        let id = query(
            "INSERT INTO index_prices (fiat_currency, price, created_at) VALUES ($1, $2, $3) \
             RETURNING id",
        )
        .bind(index.fiat_currency.clone())
        .bind(index.price)
        .bind(index.created_at)
        .fetch_one(&mut *self.conn)
        .await?;
        self.receipt.inserted_ids.push(id);
        Ok(())
    }

    pub(super) async fn update_ad(&mut self, ad: &Ad) -> Result<(), Failure> {
        self.hot_write_now()?;
        let version: Option<i64> = query(
            "UPDATE ads SET price = $1, min_amount = $2, max_amount = $3, payment_methods = $4, \
             terms = $5, status = $6, min_completed_orders = $7, min_account_age_days = $8, \
             min_completion_rate_bp = $9, price_type = $10, premium_bp = $11, \
             version = version + 1, terms_version = terms_version + 1 \
             WHERE id = $12 AND status <> 'closed' RETURNING version",
        )
        .bind(stored_price(ad))
        .bind(ad.min_amount)
        .bind(ad.max_amount)
        .bind(serde_json::to_string(&ad.payment_methods).unwrap_or_default())
        .bind(ad.terms.clone())
        .bind(ad.status.as_str())
        .bind(ad.requirements.min_completed_orders)
        .bind(ad.requirements.min_account_age_days)
        .bind(ad.requirements.min_completion_rate_bp)
        .bind(ad.price_type.as_str())
        .bind(ad.premium_bp)
        .bind(ad.id)
        .fetch_optional(&mut *self.conn)
        .await?;
        self.receipt.ad_version = Some(version.ok_or_else(|| refused(ErrorCode::AdNotActive))?);
        Ok(())
    }

    /// Closes the ad: its capacity is released, a sell ad's reserve unfrozen for its maker.
    pub(super) async fn close_ad(&mut self, ad_id: AdId, now: Millis) -> Result<(), Failure> {
        self.hot_write_now()?;
        let lock = format!(
            "SELECT maker_id, ad_type, available_amount, status FROM ads WHERE id = $1{}",
            self.dialect.for_update()
        );
        let row: Option<(i64, String, i64, String)> = query(lock)
            .bind(ad_id)
            .fetch_optional(&mut *self.conn)
            .await?;
        let Some((maker_id, ad_type, available, status)) = row else {
            return Err(refused(ErrorCode::NotFound));
        };
        if status == AdStatus::Closed.as_str() {
            return Err(refused(ErrorCode::AdNotActive));
        }
        let version: i64 = query(
            "UPDATE ads SET status = 'closed', closed_amount = closed_amount + available_amount, \
             available_amount = 0, version = version + 1 WHERE id = $1 RETURNING version",
        )
        .bind(ad_id)
        .fetch_one(&mut *self.conn)
        .await?;
        self.receipt.ad_version = Some(version);
        if ad_type == AdType::Sell.as_str() && available > 0 {
            let unreserve = MoneyMove {
                user_id: UserId(maker_id),
                kind: LedgerKind::AdUnreserve,
                delta: WalletDelta::unfreeze(Kopecks(available)),
                order: RowRef::None,
                ad: RowRef::Id(ad_id.get()),
                tx: RowRef::None,
                now,
                refusal: ErrorCode::Internal,
            };
            self.move_money(&unreserve).await?;
        }
        Ok(())
    }

    /// Takes `amount` of an open ad's capacity, guarded never to oversell.
    pub(super) async fn take_capacity(
        &mut self,
        ad_id: AdId,
        amount: Kopecks,
        terms_version: i64,
    ) -> Result<(), Failure> {
        if self.deferred.group_rows {
            let place = self.deferred.commit_place;
            self.deferred.ad_changes.push(AdChange {
                place,
                ad_id,
                amount,
                take_terms: Some(terms_version),
            });
            return Ok(());
        }
        let version: Option<i64> = query(
            "UPDATE ads SET available_amount = available_amount - $1, version = version + 1 \
             WHERE id = $2 AND status = 'active' AND terms_version = $3 \
             AND available_amount >= $1 RETURNING version",
        )
        .bind(amount)
        .bind(ad_id)
        .bind(terms_version)
        .fetch_optional(&mut *self.conn)
        .await?;
        let Some(version) = version else {
            let row: Option<(String, i64)> =
                query("SELECT status, terms_version FROM ads WHERE id = $1")
                    .bind(ad_id)
                    .fetch_optional(&mut *self.conn)
                    .await?;
            // Judged by terms that changed (on another node): the taker's actor reloads and
            // judges again; short of capacity, or not active, as it says.
            let unchanged = row.is_some_and(|(status, terms)| {
                status == AdStatus::Active.as_str() && terms == terms_version
            });
            return Err(refused(if unchanged {
                ErrorCode::AmountExceedsAvailable
            } else {
                ErrorCode::AdNotActive
            }));
        };
        self.receipt.ad_version = Some(version);
        Ok(())
    }

    /// Returns a cancelled order's amount: a closed ad takes it as released (and a closed sell
    /// ad's maker gets the escrow back), an open one as capacity; one statement either way.
    /// In a PostgreSQL fast batch the return waits for the batch's one update of ads, guarded
    /// to find the ad open (a closed ad's return, rare, runs carefully).
    pub(super) async fn return_capacity(&mut self, given: &CapacityReturn) -> Result<(), Failure> {
        if self.deferred.group_rows {
            let place = self.deferred.commit_place;
            self.deferred.ad_changes.push(AdChange {
                place,
                ad_id: given.ad_id,
                amount: given.amount,
                take_terms: None,
            });
            return Ok(());
        }
        let row: Option<(i64, String, String, i64)> = query(
            "UPDATE ads SET \
               available_amount = available_amount + CASE WHEN status = 'closed' THEN 0 ELSE $1 END, \
               closed_amount = closed_amount + CASE WHEN status = 'closed' THEN $1 ELSE 0 END, \
               version = version + 1 \
             WHERE id = $2 RETURNING maker_id, ad_type, status, version",
        )
        .bind(given.amount)
        .bind(given.ad_id)
        .fetch_optional(&mut *self.conn)
        .await?;
        let Some((maker_id, ad_type, status, version)) = row else {
            return Err(refused(ErrorCode::Internal));
        };
        self.receipt.ad_version = Some(version);
        if status == AdStatus::Closed.as_str() && ad_type == AdType::Sell.as_str() {
            let refund = MoneyMove {
                user_id: UserId(maker_id),
                kind: LedgerKind::EscrowRefund,
                delta: WalletDelta::unfreeze(given.amount),
                order: RowRef::Id(given.order_id.get()),
                ad: RowRef::Id(given.ad_id.get()),
                tx: RowRef::None,
                now: given.now,
                refusal: ErrorCode::Internal,
            };
            self.move_money(&refund).await?;
        }
        Ok(())
    }
}

/// The `price` column: a fixed ad's price; 1 for a floating ad, whose price the index sets and
/// which is read back as zero (the column keeps its `price > 0` check).
fn stored_price(ad: &Ad) -> Kopecks {
    match ad.price_type {
        PriceType::Fixed => ad.price,
        PriceType::Floating => Kopecks(1),
    }
}

//! Chat and ratings: messages, a party's rating of the counterparty, completed orders counted.

use super::writer::{Failure, Writer, refused, unique_or};
use crate::domain::attachment::MAX_ATTACHMENTS_PER_ORDER;
use crate::domain::{ErrorCode, Millis, OrderId, UserId};
use crate::store::commit::deferred::rating_values;
use crate::store::commit::op::{NewAttachment, NewMessage, NewRating};
use crate::store::connection::{Connection, query};

impl<C: Connection> Writer<'_, C> {
    pub(super) async fn insert_message(&mut self, message: &NewMessage) -> Result<(), Failure> {
        let id = query(
            "INSERT INTO messages (order_id, sender_id, sender_role, message, created_at, \
             attachment_sha256) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(message.order_id)
        .bind(message.sender_id)
        .bind(message.sender_role.as_str())
        .bind(message.message.clone())
        .bind(message.now)
        .bind(message.attachment.clone())
        .fetch_one(&mut *self.conn)
        .await?;
        self.receipt.inserted_ids.push(id);
        Ok(())
    }

    /// Keeps an attachment unless its order keeps the same file already, or the most allowed
    /// (counted under the order's row lock on PostgreSQL; SQLite has one writer).
    pub(super) async fn insert_attachment(
        &mut self,
        attachment: &NewAttachment,
    ) -> Result<(), Failure> {
        let kept: Option<i64> =
            query("SELECT id FROM attachments WHERE order_id = $1 AND sha256 = $2")
                .bind(attachment.order_id)
                .bind(attachment.sha256.clone())
                .fetch_optional(&mut *self.conn)
                .await?;
        if kept.is_some() {
            return Ok(());
        }
        let id: Option<i64> = query(
            "INSERT INTO attachments (order_id, uploader_id, uploader_role, content_type, size, \
             sha256, data, created_at) \
             SELECT $1, $2, $3, $4, $5, $6, $7, $8 \
             WHERE (SELECT COUNT(*) FROM attachments WHERE order_id = $9) < $10 RETURNING id",
        )
        .bind(attachment.order_id)
        .bind(attachment.uploader_id)
        .bind(attachment.uploader_role.as_str())
        .bind(attachment.content_type)
        .bind(attachment.data.len() as i64)
        .bind(attachment.sha256.clone())
        .bind(attachment.data.clone())
        .bind(attachment.now)
        .bind(attachment.order_id)
        .bind(MAX_ATTACHMENTS_PER_ORDER)
        .fetch_optional(&mut *self.conn)
        .await?;
        id.map(|_| ())
            .ok_or_else(|| refused(ErrorCode::AttachmentsLimit))
    }

    /// Marks an open dispute answered, once: a later message, or one after the dispute ended,
    /// changes nothing.
    pub(super) async fn answer_dispute(
        &mut self,
        order_id: OrderId,
        at: Millis,
    ) -> Result<(), Failure> {
        query(
            "UPDATE orders SET dispute_answered_at = $1 \
             WHERE id = $2 AND status = 'disputed' AND dispute_answered_at IS NULL",
        )
        .bind(at)
        .bind(order_id)
        .execute(&mut *self.conn)
        .await?;
        Ok(())
    }

    /// Keeps the signing key's seed, unless another node kept one first.
    pub(super) async fn save_signing_seed(
        &mut self,
        seed: &str,
        now: Millis,
    ) -> Result<(), Failure> {
        query(
            "INSERT INTO signing_keys (id, seed, created_at) VALUES (1, $1, $2) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(seed.to_owned())
        .bind(now)
        .execute(&mut *self.conn)
        .await?;
        Ok(())
    }

    /// Records a rating, once per rater and order, and adds it to the ratee's figures.
    /// In a PostgreSQL fast batch it waits for the batch's one insert.
    pub(super) async fn insert_rating(&mut self, rating: &NewRating) -> Result<(), Failure> {
        if self.deferred.group_rows {
            self.deferred.ratings.push(rating.clone());
        } else {
            let inserted = rating_values(
                query(
                    "INSERT INTO ratings (order_id, rater_id, ratee_id, rating, comment, \
                     created_at) VALUES ($1, $2, $3, $4, $5, $6)",
                ),
                rating,
            )
            .execute(&mut *self.conn)
            .await;
            unique_or(inserted, ErrorCode::AlreadyRated)?;
        }
        let figures = self.deferred.users.entry(rating.ratee_id).or_default();
        figures.rating_sum += rating.rating;
        figures.ratings_count += 1;
        Ok(())
    }

    /// Counts a completed order for both its parties.
    pub(super) fn count_completed(&mut self, user_ids: [UserId; 2]) {
        for id in user_ids {
            self.deferred.users.entry(id).or_default().orders_count += 1;
        }
    }
}

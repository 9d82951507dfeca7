//! `messages` and `ratings`: an order's chat, and who rated which order.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::query::{int, int_or_null, placeholders, query, unknown};
use crate::domain::attachment::Attachment;
use crate::domain::chat::Message;
use crate::domain::order::Participant;
use crate::domain::{DomainError, OrderId, UserId};
use crate::store::handle::Store;

fn message_from(row: &AnyRow) -> Result<Message, sqlx::Error> {
    Ok(Message {
        id: row.try_get("id")?,
        order_id: int(row, "order_id")?,
        sender_id: int_or_null(row, "sender_id")?,
        sender_role: Participant::parse(row.try_get("sender_role")?)
            .ok_or_else(|| unknown("sender_role"))?,
        message: row.try_get("message")?,
        attachment: row.try_get("attachment_sha256")?,
        created_at: row.try_get("created_at")?,
    })
}

fn attachment_from(row: &AnyRow) -> Result<Attachment, sqlx::Error> {
    Ok(Attachment {
        id: row.try_get("id")?,
        order_id: int(row, "order_id")?,
        uploader_id: int(row, "uploader_id")?,
        uploader_role: Participant::parse(row.try_get("uploader_role")?)
            .ok_or_else(|| unknown("uploader_role"))?,
        content_type: row.try_get("content_type")?,
        size: row.try_get("size")?,
        sha256: row.try_get("sha256")?,
        created_at: row.try_get("created_at")?,
    })
}

const ATTACHMENT_COLUMNS: &str =
    "id, order_id, uploader_id, uploader_role, content_type, size, sha256, created_at";

impl Store {
    /// An order's messages after `after_id`, oldest first.
    /// An order's attachment with its bytes, by its SHA-256.
    pub async fn attachment(
        &self,
        order_id: OrderId,
        sha256: &str,
    ) -> Result<Option<(Attachment, Vec<u8>)>, DomainError> {
        let sql = format!(
            "SELECT {ATTACHMENT_COLUMNS}, data FROM attachments \
             WHERE order_id = $1 AND sha256 = $2"
        );
        let query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(order_id.get())
            .bind(sha256.to_owned());
        self.optional(query, |row| {
            Ok((attachment_from(row)?, row.try_get("data")?))
        })
        .await
    }

    /// An order's attachments, without their bytes, oldest first.
    pub async fn attachments(&self, order_id: OrderId) -> Result<Vec<Attachment>, DomainError> {
        let sql =
            format!("SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE order_id = $1 ORDER BY id");
        let query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(order_id.get());
        self.all(query, attachment_from).await
    }

    /// The seed of the key evidence bundles are signed with, once a node has kept one.
    pub async fn signing_seed(&self) -> Result<Option<String>, DomainError> {
        let query = sqlx::query("SELECT seed FROM signing_keys WHERE id = 1");
        self.optional(query, |row| row.try_get("seed")).await
    }

    pub async fn messages(
        &self,
        order_id: OrderId,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<Message>, DomainError> {
        let sql = "SELECT id, order_id, sender_id, sender_role, message, attachment_sha256, \
                   created_at \
                   FROM messages \
                   WHERE order_id = $1 AND id > $2 ORDER BY id ASC LIMIT $3";
        let query = sqlx::query(sql)
            .bind(order_id.get())
            .bind(after_id)
            .bind(limit);
        self.all(query, message_from).await
    }

    /// Which of `order_ids` `rater_id` has rated.
    pub async fn rated(
        &self,
        rater_id: UserId,
        order_ids: &[OrderId],
    ) -> Result<Vec<OrderId>, DomainError> {
        if order_ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT order_id FROM ratings WHERE rater_id = $1 AND order_id IN ({})",
            placeholders(2, order_ids.len())
        );
        let query = order_ids
            .iter()
            .fold(query(sql).bind(rater_id.get()), |query, id| {
                query.bind(id.get())
            });
        self.all(query, |row| int(row, "order_id")).await
    }
}

//! `events`: what streams, webhooks and histories replay. The event that ended an order carries
//! no payload; its order's row, which never changes again, is read with it.

use std::collections::HashMap;

use sqlx::Row;
use sqlx::any::AnyRow;

use super::orders::{ORDER_COLUMNS, order_from};
use super::query::{int, int_or_null, placeholders, query, unknown};
use crate::domain::event::{Audience, Event};
use crate::domain::event_kind::EventKind;
use crate::domain::order::{Order, OrderStatus, Participant};
use crate::domain::{DomainError, OrderId};
use crate::store::handle::Store;

const EVENT_COLUMNS: &str = "id, kind, order_id, message_id, buyer_id, seller_id, disputed, \
     actor_id, actor_role, from_status, to_status, reason, payload, created_at";

fn event_from(row: &AnyRow) -> Result<Event, sqlx::Error> {
    Ok(Event {
        id: row.try_get("id")?,
        kind: EventKind::parse(row.try_get("kind")?).ok_or_else(|| unknown("kind"))?,
        order_id: int(row, "order_id")?,
        message_id: row.try_get("message_id")?,
        buyer_id: int(row, "buyer_id")?,
        seller_id: int(row, "seller_id")?,
        disputed: row.try_get::<i64, _>("disputed")? != 0,
        actor_id: int_or_null(row, "actor_id")?,
        actor_role: Participant::parse(row.try_get("actor_role")?)
            .ok_or_else(|| unknown("actor_role"))?,
        from_status: status(row, "from_status")?,
        to_status: status(row, "to_status")?,
        reason: row.try_get("reason")?,
        payload: row.try_get("payload")?,
        ended_order: None,
        created_at: row.try_get("created_at")?,
    })
}

/// An optional status column.
fn status(row: &AnyRow, column: &str) -> Result<Option<OrderStatus>, sqlx::Error> {
    row.try_get::<Option<String>, _>(column)?
        .map(|name| OrderStatus::parse(&name).ok_or_else(|| unknown(column)))
        .transpose()
}

impl Store {
    /// Events for `audience` after `after_id`, oldest first. A feed (every audience but one
    /// order's history) reads only below the horizon (see [`event_horizon`](crate::store::Dialect::event_horizon)), so it never
    /// passes an id that a smaller one could still follow.
    pub async fn events(
        &self,
        audience: Audience,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<Event>, DomainError> {
        let (filter, key) = match audience {
            Audience::All => ("", None),
            // A held order's `order.held` is not its buyer's to hear (EventKind::OrderHeld).
            Audience::Party(user) => (
                " AND order_id IN (SELECT id FROM orders WHERE buyer_id = $3 \
                 UNION ALL SELECT id FROM orders WHERE seller_id = $3) \
                 AND NOT (kind = 'order.held' AND buyer_id = $3) \
                 AND kind NOT IN ('order.resolution_proposed', 'order.resolution_rejected')",
                Some(user.get()),
            ),
            Audience::Operators => (" AND disputed = 1", None),
            // One order's steps commit one after another, each after the one before it was
            // read: its history needs no horizon, and shows a step as soon as it is answered.
            Audience::Order(order) => (
                " AND order_id = $3 AND message_id IS NULL",
                Some(order.get()),
            ),
        };
        let horizon = match audience {
            Audience::Order(_) => "",
            _ => self.dialect().event_horizon(),
        };
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE id > $1{filter}{horizon} \
             ORDER BY id ASC LIMIT $2"
        );
        let query = query(sql).bind(after_id).bind(limit);
        let query = match key {
            Some(key) => query.bind(key),
            None => query,
        };
        self.with_ended_orders(self.all(query, event_from).await?)
            .await
    }

    /// Events of the given kinds after `after_id`, oldest first (what a webhook delivers).
    pub async fn events_of_kinds(
        &self,
        kinds: &[EventKind],
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<Event>, DomainError> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE id > $1 AND kind IN ({}){} \
             ORDER BY id ASC LIMIT $2",
            placeholders(3, kinds.len()),
            self.dialect().event_horizon()
        );
        let query = kinds
            .iter()
            .fold(query(sql).bind(after_id).bind(limit), |query, kind| {
                query.bind(kind.as_str())
            });
        self.with_ended_orders(self.all(query, event_from).await?)
            .await
    }

    /// The newest event's id a feed may pass on (0 before any).
    pub async fn last_event_id(&self) -> Result<i64, DomainError> {
        let sql = format!("SELECT {}", self.dialect().newest_fed_event());
        self.scalar(query(sql)).await
    }

    /// Gives each event that ended an order (stored without a copy) that order's row.
    async fn with_ended_orders(&self, mut events: Vec<Event>) -> Result<Vec<Event>, DomainError> {
        let ended: Vec<OrderId> = events
            .iter()
            .filter(|event| event.ends_an_order())
            .map(|event| event.order_id)
            .collect();
        if ended.is_empty() {
            return Ok(events);
        }
        let sql = format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE id IN ({})",
            placeholders(1, ended.len())
        );
        let query = ended
            .iter()
            .fold(query(sql), |query, id| query.bind(id.get()));
        let orders: HashMap<OrderId, Order> = self
            .all(query, order_from)
            .await?
            .into_iter()
            .map(|order| (order.id, order))
            .collect();
        for event in events.iter_mut().filter(|event| event.ends_an_order()) {
            event.ended_order = orders.get(&event.order_id).cloned();
        }
        Ok(events)
    }
}

//! Events: each joins the batch's one insert, with the ids its commit gave its order or message.

use super::writer::Writer;
use crate::domain::OrderId;
use crate::store::commit::deferred::EventRow;
use crate::store::commit::op::NewEvent;
use crate::store::connection::Connection;

impl<C: Connection> Writer<'_, C> {
    pub(super) fn defer_event(&mut self, event: &NewEvent) {
        let row = EventRow {
            order_id: OrderId(self.resolve(event.order).unwrap_or_default()),
            message_id: self.resolve(event.message),
            event: Box::new(event.clone()),
        };
        self.deferred.events.push(row);
    }
}

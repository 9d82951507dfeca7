//! What an event says happened: the names streams, webhooks and histories carry.

/// An event's kind, as clients see it (`order.created`, …, `message.created`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    OrderCreated,
    OrderPaid,
    OrderCompleted,
    OrderCancelled,
    OrderExpired,
    OrderDisputed,
    OrderResolved,
    /// The seller changed the payment details of a pending order.
    OrderUpdated,
    /// A new order held for review (instead of `order.created`): the seller and the operators
    /// hear it, not the buyer.
    OrderHeld,
    /// An operator cleared a held order: the buyer sees it from now on.
    OrderCleared,
    /// An operator proposed a resolution that a second operator must approve (four eyes).
    OrderResolutionProposed,
    /// An operator rejected a proposed resolution: the dispute is back in the queue.
    OrderResolutionRejected,
    MessageCreated,
}

impl EventKind {
    pub const ALL: [EventKind; 13] = [
        Self::OrderCreated,
        Self::OrderPaid,
        Self::OrderCompleted,
        Self::OrderCancelled,
        Self::OrderExpired,
        Self::OrderDisputed,
        Self::OrderResolved,
        Self::OrderUpdated,
        Self::OrderHeld,
        Self::OrderCleared,
        Self::OrderResolutionProposed,
        Self::OrderResolutionRejected,
        Self::MessageCreated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::OrderCreated => "order.created",
            Self::OrderPaid => "order.paid",
            Self::OrderCompleted => "order.completed",
            Self::OrderCancelled => "order.cancelled",
            Self::OrderExpired => "order.expired",
            Self::OrderDisputed => "order.disputed",
            Self::OrderResolved => "order.resolved",
            Self::OrderUpdated => "order.updated",
            Self::OrderHeld => "order.held",
            Self::OrderCleared => "order.cleared",
            Self::OrderResolutionProposed => "order.resolution_proposed",
            Self::OrderResolutionRejected => "order.resolution_rejected",
            Self::MessageCreated => "message.created",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == s)
    }

    /// Whether only the dispute desk hears of it (a resolution proposed or rejected): the
    /// parties learn the outcome, not the operators' deliberation.
    pub fn is_desk_only(self) -> bool {
        matches!(
            self,
            Self::OrderResolutionProposed | Self::OrderResolutionRejected
        )
    }

    /// Whether the event is a step of an order's life (its history), not a chat message.
    pub fn is_transition(self) -> bool {
        self != Self::MessageCreated
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_names() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(EventKind::parse("order.lost"), None);
    }
}

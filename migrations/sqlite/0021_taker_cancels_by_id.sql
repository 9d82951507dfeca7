-- The cancels of pending orders, by id (as on PostgreSQL, where each node's refresh of the
-- takers' cancel pause reads only those after the last it read): the start finds the newest at
-- once.
CREATE INDEX events_taker_cancels ON events (id) WHERE kind = 'order.cancelled' AND from_status = 'pending';

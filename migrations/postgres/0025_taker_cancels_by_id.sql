-- The cancels of pending orders, by id: each node's refresh of the takers' cancel pause reads only
-- those after the last it read (below the feeds' horizon), instead of every cancel of the last day
-- every second. The start's load reads a day's cancels once, by this index or events_cancels
-- (created_at), whichever the planner finds cheaper.
CREATE INDEX events_taker_cancels ON events (id) WHERE kind = 'order.cancelled' AND from_status = 'pending';

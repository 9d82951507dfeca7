-- One word per concept: the capacity an ad's closing took off the market (and what orders
-- cancelled after the close return to it) is its closed amount; "release" is the escrow's move
-- to the buyer.
ALTER TABLE ads RENAME COLUMN released_amount TO closed_amount;

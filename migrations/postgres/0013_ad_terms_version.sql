-- Counts the changes to an ad's terms (price, limits, methods, requirements, pricing, status by
-- a patch). A take commits only against the terms its node judged it by, so a node whose copy
-- of the ad is stale cannot take past a change made on another node.
ALTER TABLE ads ADD COLUMN terms_version BIGINT NOT NULL DEFAULT 1;

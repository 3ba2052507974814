-- TODO: durability_durable
SELECT 1;

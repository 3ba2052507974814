-- TODO: durability_balanced
SELECT 1;

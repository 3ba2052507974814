-- TODO: durability_volatile
SELECT 1;

-- TODO: prune
SELECT 1;

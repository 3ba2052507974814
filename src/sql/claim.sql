-- TODO: claim
SELECT 1;

-- TODO: retry
SELECT 1;

-- TODO: list_failed
SELECT 1;

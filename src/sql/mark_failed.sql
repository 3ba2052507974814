-- TODO: mark_failed
SELECT 1;

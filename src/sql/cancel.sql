-- TODO: cancel
SELECT 1;

-- TODO: clear_all
SELECT 1;

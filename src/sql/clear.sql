-- TODO: clear
SELECT 1;

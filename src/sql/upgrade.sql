-- TODO: upgrade
SELECT 1;

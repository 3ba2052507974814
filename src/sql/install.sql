-- TODO: install
SELECT 1;

-- TODO: autovac
SELECT 1;

-- TODO: autovac_rollback
SELECT 1;

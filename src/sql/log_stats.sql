-- TODO: log_stats
SELECT 1;

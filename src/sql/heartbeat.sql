-- TODO: heartbeat
SELECT 1;

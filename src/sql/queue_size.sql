-- TODO: queue_size
SELECT 1;

-- TODO: enqueue
SELECT 1;

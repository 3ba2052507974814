-- TODO: requeue_failed
SELECT 1;

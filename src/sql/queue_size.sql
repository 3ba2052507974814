-- queue_size: counts of the queue table by entrypoint, priority, status.
SELECT entrypoint, priority, status::text AS status, count(*) AS count
FROM {Q:pgqueuer} q
GROUP BY entrypoint, priority, q.status
ORDER BY entrypoint, priority DESC, q.status;

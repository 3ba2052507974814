-- report_size: the queue table counted by entrypoint, priority and status
-- (`pgq size`; the fields of PgQueuer's queue-size statistics: count,
-- entrypoint, priority, status). Parameters: see report_stale.sql
-- ($2 limit, $5 entrypoint, $6 status).

SELECT count(*) AS count, q.entrypoint, q.priority, q.status::text AS status
FROM {Q:pgqueuer} q
WHERE ($5::text IS NULL OR q.entrypoint = $5::text)
  AND ($6::text IS NULL OR q.status::text = $6::text)
GROUP BY q.entrypoint, q.priority, q.status
ORDER BY q.entrypoint, q.priority DESC, q.status
LIMIT $2::int4;

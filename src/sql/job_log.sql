-- job_log: $1 bigint. Every log row of one job, oldest first.
SELECT id, extract(epoch FROM created) AS created, status::text AS status, priority, entrypoint, traceback::text AS traceback
FROM {Q:pgqueuer_log}
WHERE job_id = $1::bigint
ORDER BY created, id;

-- job_get: $1 bigint. The queue row of one job (no row once it finished).
SELECT id, priority, attempts, status::text AS status, entrypoint, payload, headers::text AS headers, dedupe_key, queue_manager_id::text AS queue_manager_id, extract(epoch FROM created) AS created, extract(epoch FROM updated) AS updated, extract(epoch FROM heartbeat) AS heartbeat, extract(epoch FROM execute_after) AS execute_after
FROM {Q:pgqueuer}
WHERE id = $1::bigint;

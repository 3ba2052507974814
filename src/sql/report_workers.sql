-- report_workers: one row per worker (queue_manager_id) holding picked
-- jobs: how many, its oldest and newest heartbeat, and the entrypoints it
-- runs, as a JSON array (`pgq workers`, PgQueuer's field names). Reads the
-- partial index on queue_manager_id IS NOT NULL. Parameters: see
-- report_stale.sql ($2 limit, $5 entrypoint).

SELECT q.queue_manager_id::text AS queue_manager_id,
       count(*) AS active_jobs,
       to_char(min(q.heartbeat) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS oldest_heartbeat,
       to_char(max(q.heartbeat) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS newest_heartbeat,
       to_jsonb(array_agg(DISTINCT q.entrypoint ORDER BY q.entrypoint))::text AS entrypoints
FROM {Q:pgqueuer} q
WHERE q.queue_manager_id IS NOT NULL
  AND q.status = 'picked'
  AND ($5::text IS NULL OR q.entrypoint = $5::text)
GROUP BY q.queue_manager_id
ORDER BY min(q.heartbeat), q.queue_manager_id
LIMIT $2::int4;

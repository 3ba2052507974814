-- report_stale: picked jobs whose heartbeat is older than $1 seconds, the
-- oldest heartbeat first (`pgq stale`, PgQueuer's field names). Every
-- report takes the same nine parameters (report.c): $1 threshold_s float8,
-- $2 limit int4 (NULL: none), $3 after_id int8, $4 before_id int8,
-- $5 entrypoint text, $6 status text, $7 job_id int8, $8 window_s float8,
-- $9 bucket_s float8; each uses the ones it needs. Only picked rows are
-- read, through a partial index on status = 'picked'.

SELECT q.id, q.priority, q.queue_manager_id::text AS queue_manager_id,
       to_char(q.created AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created,
       to_char(q.updated AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS updated,
       to_char(q.heartbeat AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS heartbeat,
       to_char(q.execute_after AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS execute_after,
       q.status::text AS status, q.entrypoint,
       round(extract(epoch FROM now() - q.heartbeat)::numeric, 3)::float8 AS seconds_since_heartbeat
FROM {Q:pgqueuer} q
WHERE q.status = 'picked'
  AND q.heartbeat < now() - make_interval(secs => $1::float8)
  AND ($5::text IS NULL OR q.entrypoint = $5::text)
ORDER BY q.heartbeat, q.id
LIMIT $2::int4;

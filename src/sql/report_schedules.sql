-- report_schedules: the rows of the schedules table in id order, read
-- only (`pgq schedules` and the web console list them). Parameters: see
-- report_stale.sql ($2 limit, $5 entrypoint).

SELECT s.id, s.expression, s.entrypoint,
       to_char(s.heartbeat AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS heartbeat,
       to_char(s.created AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created,
       to_char(s.updated AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS updated,
       to_char(s.next_run AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS next_run,
       to_char(s.last_run AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS last_run,
       s.status::text AS status
FROM {Q:pgqueuer_schedules} s
WHERE ($5::text IS NULL OR s.entrypoint = $5::text)
ORDER BY s.id
LIMIT $2::int4;

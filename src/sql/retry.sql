-- retry: put one job picked by $1 (uuid) back to `queued` (docs/design.md §4).
-- $2 bigint job id, $3 float8 delay in seconds, $4 text reason (NULL:
-- "retry requested"). execute_after = now() + delay, attempts + 1,
-- queue_manager_id NULL, a `queued` log row with the retry record of
-- docs/design.md §3.3 (additional_context as PgQueuer writes it: attempt before the
-- increment, retry_delay as Python prints a timedelta), and a table_changed_event (UPDATEs do not fire one). A job not
-- picked by $1 is left alone. Returns: retried (0 or 1).

WITH retried AS (
    UPDATE {Q:pgqueuer} q
    SET status = 'queued', queue_manager_id = NULL, updated = now(),
        slot = NULL, --@slot
        cancel_requested = false, --@cancel
        execute_after = now() + make_interval(secs => $3::float8),
        attempts = q.attempts + 1
    WHERE q.id = $2::bigint AND q.status = 'picked' AND q.queue_manager_id = $1::uuid
    RETURNING q.id, q.priority, q.entrypoint, q.attempts
),
logged AS (
    INSERT INTO {Q:pgqueuer_log} (job_id, status, priority, entrypoint, traceback)
    SELECT r.id, 'queued', r.priority, r.entrypoint, jsonb_build_object(
        'job_id', r.id,
        'timestamp', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        'exception_type', 'Retry',
        'exception_message', coalesce($4::text, 'retry requested'),
        'traceback', '',
        'additional_context', jsonb_build_object(
            'entrypoint', r.entrypoint, 'queue_manager_id', $1::uuid,
            'attempt', r.attempts - 1,
            'retry_delay', (SELECT CASE WHEN x.us >= 86400000000 THEN (x.us / 86400000000) || ' day' || CASE WHEN x.us / 86400000000 <> 1 THEN 's' ELSE '' END || ', ' ELSE '' END
                   || (x.us / 3600000000 % 24) || ':' || lpad((x.us / 60000000 % 60)::text, 2, '0') || ':' || lpad((x.us / 1000000 % 60)::text, 2, '0')
                   || CASE WHEN x.us % 1000000 <> 0 THEN '.' || lpad((x.us % 1000000)::text, 6, '0') ELSE '' END
                FROM (SELECT round(greatest($3::float8, 0) * 1000000)::bigint AS us) x),
            'reason', coalesce($4::text, 'retry requested')))
    FROM retried r
),
wakeup AS (
    SELECT count(*) AS sent FROM (
        SELECT pg_notify({CHANNEL}, json_build_object(
            'channel', {CHANNEL}, 'operation', 'update', 'sent_at', now(),
            'table', {L:pgqueuer}, 'type', 'table_changed_event')::text)
        WHERE EXISTS (SELECT 1 FROM retried)) s
)
SELECT (SELECT count(*) FROM retried) AS retried, w.sent AS notified
FROM wakeup w;

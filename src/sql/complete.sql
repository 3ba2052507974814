-- complete: resolve a batch of outcomes (docs/design.md §4). $1 uuid queue_manager_id,
-- $2 bigint[] job_id, $3 text[] status (successful, exception, canceled,
-- failed, or queued for a retry), $4 float8[] retry_delay in seconds,
-- $5 text[] error_type, $6 text[] error_message, $7 text[] error_detail.
-- Only rows still `picked` by $1 are touched; the condition sits in each
-- DELETE/UPDATE so it is re-checked on the row's latest version if a
-- concurrent cancel, mark-failed or take-over got there first, and such a
-- job is neither changed nor logged. Rows are found by primary key from $2
-- and each finds its outcome with array_position, so the first outcome
-- given for a job wins and no join can turn quadratic in the plan. The
-- status is compared with a sub-select, not a literal, so the planner
-- cannot pick the partial index of picked rows (it would scan every
-- running job of the fleet when its statistics say few are picked), and
-- the queue_manager_id with IS NOT DISTINCT FROM (the same test for a
-- non-NULL $1), which no index serves: a generic plan made while the
-- column was all NULL chose the queue_manager_id index, and the index scan
-- walked every entry this worker ever left there, dead ones included, so
-- each completion cost more than the last (a drain at batch 500 ran at 500
-- jobs/s). Each
-- DELETE/UPDATE starts with a test on the outcomes alone, which the
-- planner runs once: a batch without retries does not scan for them.
-- successful/exception/canceled delete the row; failed holds it with
-- queue_manager_id NULL; queued puts it back after retry_delay with
-- attempts + 1. Each resolved job gets one log row; exception, failed and
-- retry rows carry the error record of docs/design.md §3.3; a retry's
-- additional_context is PgQueuer's: attempt (the attempts before this
-- retry), retry_delay as Python prints a timedelta (0:00:00.010000,
-- 1 day, 2:03:04) and reason. A retry is an UPDATE,
-- which the trigger does not announce, so the statement sends the
-- table_changed_event itself. Returns: resolved, notified.

WITH deleted AS (
    DELETE FROM {Q:pgqueuer} q
    WHERE $3::text[] && '{successful,exception,canceled}' AND q.id = ANY ($2::bigint[])
      AND ($3::text[])[array_position($2::bigint[], q.id)] IN ('successful', 'exception', 'canceled')
      AND q.status = (SELECT 'picked'::{Q:pgqueuer_status}) AND q.queue_manager_id IS NOT DISTINCT FROM $1::uuid
    RETURNING q.id, q.priority, q.entrypoint, q.attempts, array_position($2::bigint[], q.id) AS pos
),
held AS (
    UPDATE {Q:pgqueuer} q
    SET status = 'failed', queue_manager_id = NULL, updated = now(),
        slot = NULL, --@slot
        cancel_requested = false, --@cancel
        priority = q.priority
    WHERE 'failed' = ANY ($3::text[]) AND q.id = ANY ($2::bigint[])
      AND ($3::text[])[array_position($2::bigint[], q.id)] = 'failed'
      AND q.status = (SELECT 'picked'::{Q:pgqueuer_status}) AND q.queue_manager_id IS NOT DISTINCT FROM $1::uuid
    RETURNING q.id, q.priority, q.entrypoint, q.attempts, array_position($2::bigint[], q.id) AS pos
),
retried AS (
    UPDATE {Q:pgqueuer} q
    SET status = 'queued', queue_manager_id = NULL, updated = now(),
        slot = NULL, --@slot
        cancel_requested = false, --@cancel
        execute_after = now() + make_interval(secs => ($4::float8[])[array_position($2::bigint[], q.id)]),
        attempts = q.attempts + 1
    WHERE 'queued' = ANY ($3::text[]) AND q.id = ANY ($2::bigint[])
      AND ($3::text[])[array_position($2::bigint[], q.id)] = 'queued'
      AND q.status = (SELECT 'picked'::{Q:pgqueuer_status}) AND q.queue_manager_id IS NOT DISTINCT FROM $1::uuid
    RETURNING q.id, q.priority, q.entrypoint, q.attempts, array_position($2::bigint[], q.id) AS pos
),
resolved AS (
    SELECT r.id, r.priority, r.entrypoint, r.attempts,
           ($3::text[])[r.pos] AS outcome, ($4::float8[])[r.pos] AS retry_delay,
           ($5::text[])[r.pos] AS error_type, ($6::text[])[r.pos] AS error_message,
           ($7::text[])[r.pos] AS error_detail
    FROM (SELECT * FROM deleted UNION ALL SELECT * FROM held UNION ALL SELECT * FROM retried) r
),
logged AS (
    INSERT INTO {Q:pgqueuer_log} (job_id, status, priority, entrypoint, traceback)
    SELECT r.id, r.outcome::{Q:pgqueuer_status}, r.priority, r.entrypoint,
        CASE WHEN r.outcome IN ('exception', 'failed', 'queued') THEN jsonb_build_object(
            'job_id', r.id,
            'timestamp', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
            'exception_type', coalesce(r.error_type, CASE WHEN r.outcome = 'queued' THEN 'Retry' ELSE 'Exception' END),
            'exception_message', coalesce(r.error_message, ''),
            'traceback', coalesce(r.error_detail, ''),
            'additional_context', jsonb_build_object(
                'entrypoint', r.entrypoint, 'queue_manager_id', $1::uuid)
              || CASE WHEN r.outcome = 'queued' THEN jsonb_build_object(
                    'attempt', r.attempts - 1,
                    'retry_delay', (SELECT CASE WHEN x.us >= 86400000000 THEN (x.us / 86400000000) || ' day' || CASE WHEN x.us / 86400000000 <> 1 THEN 's' ELSE '' END || ', ' ELSE '' END
                   || (x.us / 3600000000 % 24) || ':' || lpad((x.us / 60000000 % 60)::text, 2, '0') || ':' || lpad((x.us / 1000000 % 60)::text, 2, '0')
                   || CASE WHEN x.us % 1000000 <> 0 THEN '.' || lpad((x.us % 1000000)::text, 6, '0') ELSE '' END
                FROM (SELECT round(greatest(r.retry_delay, 0) * 1000000)::bigint AS us) x),
                    'reason', coalesce(r.error_message, 'retry requested'))
                 ELSE '{}'::jsonb END)
        END
    FROM resolved r
),
wakeup AS (
    SELECT count(*) AS sent FROM (
        SELECT pg_notify({CHANNEL}, json_build_object(
            'channel', {CHANNEL}, 'operation', 'update', 'sent_at', now(),
            'table', {L:pgqueuer}, 'type', 'table_changed_event')::text)
        WHERE EXISTS (SELECT 1 FROM retried)) s
)
SELECT (SELECT count(*) FROM resolved) AS resolved, w.sent AS notified
FROM wakeup w;

-- mark_failed: hold queued or picked jobs as `failed` by hand (docs/design.md §6).
-- $1 bigint[] ids, $2 text reason (NULL: "marked failed by hand").
-- Rows are locked in id order (so two operators never deadlock) and their
-- current status is read from the locked version, not the snapshot: a job
-- completed or cancelled meanwhile is reported as not found, a job failed
-- meanwhile as already failed. The worker that held a picked job no longer
-- owns it (queue_manager_id NULL), so its later completion resolves nothing.
-- Returns one row per distinct id: id, result (done, not_found,
-- wrong_status), status (the job's status now, NULL when not found).

WITH named AS (
    SELECT DISTINCT unnest($1::bigint[]) AS id
),
locked AS (
    SELECT q.id, q.status, q.queue_manager_id
    FROM {Q:pgqueuer} q
    WHERE q.id = ANY ($1::bigint[])
    ORDER BY q.id
    FOR UPDATE
),
held AS (
    UPDATE {Q:pgqueuer} q
    SET status = 'failed', queue_manager_id = NULL, updated = now(),
        slot = NULL, --@slot
        cancel_requested = false, --@cancel
        priority = q.priority
    FROM locked l
    WHERE q.id = l.id AND l.status IN ('queued', 'picked')
      AND q.status IN ('queued', 'picked')
    RETURNING q.id, q.priority, q.entrypoint, l.status AS was, l.queue_manager_id AS was_qm
),
logged AS (
    INSERT INTO {Q:pgqueuer_log} (job_id, status, priority, entrypoint, traceback)
    SELECT h.id, 'failed', h.priority, h.entrypoint, jsonb_build_object(
        'job_id', h.id,
        'timestamp', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        'exception_type', 'MarkedFailed',
        'exception_message', coalesce($2::text, 'marked failed by hand'),
        'traceback', format('job %s was marked failed by hand while %s', h.id, h.was),
        'additional_context', jsonb_build_object(
            'entrypoint', h.entrypoint, 'queue_manager_id', h.was_qm))
    FROM held h
    RETURNING job_id
)
SELECT n.id,
       CASE WHEN h.id IS NOT NULL THEN 'done'
            WHEN l.id IS NULL THEN 'not_found'
            ELSE 'wrong_status' END AS result,
       CASE WHEN h.id IS NOT NULL THEN 'failed' ELSE l.status::text END AS status
FROM named n
LEFT JOIN locked l ON l.id = n.id
LEFT JOIN held h ON h.id = n.id
ORDER BY n.id;

-- release: $1 uuid queue_manager_id, $2 bigint[] job ids (rows found by
-- primary key; see complete.sql for the status sub-select and the
-- queue_manager_id test). A stopping worker hands back jobs it claimed but
-- will not run: picked by $1 -> queued at once (execute_after is already
-- past), attempts unchanged,
-- queue_manager_id NULL, a `queued` log row, and a table_changed_event so
-- another worker picks them up now. Returns: released, notified.

WITH released AS (
    UPDATE {Q:pgqueuer} q
    SET status = 'queued', queue_manager_id = NULL, updated = now(),
        slot = NULL, --@slot
        cancel_requested = false, --@cancel
        priority = q.priority
    WHERE q.id = ANY ($2::bigint[]) AND q.status = (SELECT 'picked'::{Q:pgqueuer_status})
      AND q.queue_manager_id IS NOT DISTINCT FROM $1::uuid
    RETURNING q.id, q.priority, q.entrypoint
),
logged AS (
    INSERT INTO {Q:pgqueuer_log} (job_id, status, priority, entrypoint)
    SELECT id, 'queued', priority, entrypoint FROM released
),
wakeup AS (
    SELECT count(*) AS sent FROM (
        SELECT pg_notify({CHANNEL}, json_build_object(
            'channel', {CHANNEL}, 'operation', 'update', 'sent_at', now(),
            'table', {L:pgqueuer}, 'type', 'table_changed_event')::text)
        WHERE EXISTS (SELECT 1 FROM released)) s
)
SELECT (SELECT count(*) FROM released) AS released, w.sent AS notified
FROM wakeup w;

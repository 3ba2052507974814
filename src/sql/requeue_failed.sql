-- requeue_failed: move held (`failed`) jobs back to `queued` (docs/design.md §6).
-- $1 bigint[] ids, or NULL to select every failed job ($2 text entrypoint,
-- NULL: of any entrypoint); $3 boolean replace the payload with $4 bytea.
-- Rows are locked in id order and judged on their locked (current)
-- version, so two racing requeues of one job re-queue it once: the loser
-- sees it `queued` and reports it. A failed job whose dedupe key is now
-- held by another active (queued or picked) job is left failed and
-- reported, as is every failed job after the first sharing one key: the
-- partial unique index would otherwise abort the whole statement. UPDATEs
-- fire no wake-up from the trigger, so the statement sends the
-- table_changed_event itself when it moved anything.
-- Returns one row per named id (or per selected job): id, result (done,
-- not_found, wrong_status, dedupe_taken), status (now), notified.

WITH named AS (
    SELECT DISTINCT unnest($1::bigint[]) AS id
),
locked AS (
    SELECT q.id, q.status, q.dedupe_key
    FROM {Q:pgqueuer} q
    WHERE q.id = ANY (coalesce($1::bigint[], ARRAY(
            SELECT f.id FROM {Q:pgqueuer} f
            WHERE f.status = 'failed'
              AND ($2::text IS NULL OR f.entrypoint = $2::text))))
      AND ($1::bigint[] IS NOT NULL OR q.status = 'failed')
    ORDER BY q.id
    FOR UPDATE
),
judged AS (
    SELECT l.id, l.status,
           l.status = 'failed' AND l.dedupe_key IS NOT NULL AND (
               EXISTS (SELECT 1 FROM {Q:pgqueuer} a
                       WHERE a.dedupe_key = l.dedupe_key AND a.id <> l.id
                         AND a.status IN ('queued', 'picked'))
               OR row_number() OVER (PARTITION BY l.dedupe_key, l.status = 'failed'
                                     ORDER BY l.id) > 1) AS key_taken
    FROM locked l
),
moved AS (
    UPDATE {Q:pgqueuer} q
    SET status = 'queued', execute_after = now(), attempts = 0,
        queue_manager_id = NULL, updated = now(),
        slot = NULL, --@slot
        cancel_requested = false, --@cancel
        payload = CASE WHEN $3::boolean THEN $4::bytea ELSE q.payload END
    FROM judged j
    WHERE q.id = j.id AND j.status = 'failed' AND NOT j.key_taken
      AND q.status = 'failed'
    RETURNING q.id, q.priority, q.entrypoint
),
logged AS (
    INSERT INTO {Q:pgqueuer_log} (job_id, status, priority, entrypoint)
    SELECT id, 'queued', priority, entrypoint FROM moved
    RETURNING job_id
),
wakeup AS (
    SELECT count(*) AS sent FROM (
        SELECT pg_notify({CHANNEL}, json_build_object(
            'channel', {CHANNEL}, 'operation', 'update', 'sent_at', now(),
            'table', {L:pgqueuer}, 'type', 'table_changed_event')::text)
        WHERE EXISTS (SELECT 1 FROM moved)) s
)
SELECT coalesce(n.id, j.id) AS id,
       CASE WHEN m.id IS NOT NULL THEN 'done'
            WHEN j.id IS NULL THEN 'not_found'
            WHEN j.key_taken THEN 'dedupe_taken'
            ELSE 'wrong_status' END AS result,
       CASE WHEN m.id IS NOT NULL THEN 'queued' ELSE j.status::text END AS status,
       w.sent AS notified
FROM named n
FULL JOIN judged j ON j.id = n.id
LEFT JOIN moved m ON m.id = coalesce(n.id, j.id)
CROSS JOIN wakeup w
ORDER BY 1;

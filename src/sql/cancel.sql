-- cancel: $1 bigint[] of job ids. Deletes the rows, logs `canceled`, and
-- sends cancellation_event notifications (docs/design.md §3.6), at most 300 ids each
-- so no payload nears the 8000-byte limit. Where PgQueuer 2.3's
-- cancel_requested column exists (--@cancel lines, see shape.c), a picked
-- job is not deleted: its row, slot and dedupe key stay, cancel_requested is
-- set, and the worker running it records `canceled` when it has stopped.
-- Returns one row per distinct id: id, whether it was cancelled (deleted or
-- requested), its status before.
WITH ids AS (
    SELECT DISTINCT unnest($1::bigint[]) AS id
),
requested AS ( --@cancel
    UPDATE {Q:pgqueuer} q SET cancel_requested = true --@cancel
    WHERE q.id IN (SELECT id FROM ids) AND q.status = 'picked' --@cancel
    RETURNING q.id, q.entrypoint, q.priority, q.status --@cancel
), --@cancel
deleted AS (
    DELETE FROM {Q:pgqueuer} q
    WHERE q.id IN (SELECT id FROM ids)
      AND q.status <> 'picked' --@cancel
    RETURNING q.id, q.entrypoint, q.priority, q.status
),
done AS (
    SELECT id, status FROM deleted
    UNION ALL --@cancel
    SELECT id, status FROM requested --@cancel
),
logged AS (
    INSERT INTO {Q:pgqueuer_log} (job_id, status, priority, entrypoint)
    SELECT id, 'canceled', priority, entrypoint FROM deleted
),
stamp AS (
    SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS ts
),
chunks AS (
    SELECT (row_number() OVER (ORDER BY id) - 1) / 300 AS chunk, id FROM done
),
sent AS (
    SELECT pg_notify({CHANNEL}, json_build_object('channel', {CHANNEL}, 'sent_at', stamp.ts, 'type', 'cancellation_event', 'received_at', stamp.ts, 'ids', json_agg(chunks.id ORDER BY chunks.id))::text)
    FROM chunks CROSS JOIN stamp
    GROUP BY chunks.chunk, stamp.ts
)
SELECT i.id, d.id IS NOT NULL AS done, d.status::text AS status, n.sent
FROM ids i
LEFT JOIN done d ON d.id = i.id
CROSS JOIN (SELECT count(*) AS sent FROM sent) n
ORDER BY i.id;

-- heartbeat: $1 uuid queue_manager_id, $2 bigint[] job ids (rows found by
-- primary key; see complete.sql for the status sub-select and the
-- queue_manager_id test). Touches the heartbeat of those jobs still picked
-- by $1, which keeps them from being taken over as stale. Returns: touched;
-- touched_ids, the ids touched, only when some of $2 were not (they are no
-- longer this worker's: the worker must not start them), so the usual answer
-- stays one number; and cancel_ids, where PgQueuer 2.3's cancel_requested
-- exists, the ids whose cancel was requested in their row, so a worker that
-- missed the cancellation_event still stops them (NULL when none).

WITH touched AS (
    UPDATE {Q:pgqueuer} q
    SET heartbeat = now()
    WHERE q.id = ANY ($2::bigint[]) AND q.status = (SELECT 'picked'::{Q:pgqueuer_status})
      AND q.queue_manager_id IS NOT DISTINCT FROM $1::uuid
    RETURNING q.id,
        q.cancel_requested --@cancel
        false AS cancel_requested --@nocancel
)
SELECT count(*) AS touched,
       CASE WHEN count(*) < cardinality($2::bigint[]) THEN array_agg(id) END AS touched_ids,
       array_agg(id) FILTER (WHERE cancel_requested) AS cancel_ids
FROM touched;

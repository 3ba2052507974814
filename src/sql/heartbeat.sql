-- heartbeat: $1 uuid queue_manager_id, $2 bigint[] job ids (rows found by
-- primary key; see complete.sql for the status sub-select and the
-- queue_manager_id test). Touches the heartbeat of those jobs still picked
-- by $1, which keeps them from being taken over as stale. Returns: touched.

WITH touched AS (
    UPDATE {Q:pgqueuer} q
    SET heartbeat = now()
    WHERE q.id = ANY ($2::bigint[]) AND q.status = (SELECT 'picked'::{Q:pgqueuer_status})
      AND q.queue_manager_id IS NOT DISTINCT FROM $1::uuid
    RETURNING q.id
)
SELECT count(*) AS touched FROM touched;

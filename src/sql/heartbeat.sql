-- heartbeat: $1 uuid queue_manager_id, $2 bigint[] job ids. Touches the
-- heartbeat of those jobs still picked by $1, which keeps them from being
-- taken over as stale. Returns: touched.

WITH touched AS (
    UPDATE {Q:pgqueuer} q
    SET heartbeat = now()
    WHERE q.id = ANY ($2::bigint[]) AND q.status = 'picked'
      AND q.queue_manager_id = $1::uuid
    RETURNING q.id
)
SELECT count(*) AS touched FROM touched;

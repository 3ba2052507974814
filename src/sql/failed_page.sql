-- failed_page: one page of held (`failed`) jobs for the web console, newest
-- id first. $1 integer limit, $2 text entrypoint (NULL: all), $3 bigint:
-- only ids below it (NULL: from the newest). The same columns as
-- list_failed.sql with sizes only: the payload is not read, payload_bytes
-- gives its length. It walks the primary key backwards and stops after $1
-- held rows, so its cost follows the rows passed over, not the size of the
-- queue; list_failed.sql orders by `updated`, which has no index over held
-- rows, and sorts them all.
SELECT q.id, q.priority, q.attempts, q.status, q.entrypoint, NULL::bytea AS payload,
       octet_length(q.payload) AS payload_bytes,
       q.headers::text AS headers, q.dedupe_key, q.queue_manager_id::text AS queue_manager_id,
       extract(epoch FROM q.created)::float8 AS created,
       extract(epoch FROM q.updated)::float8 AS updated,
       extract(epoch FROM q.heartbeat)::float8 AS heartbeat,
       extract(epoch FROM q.execute_after)::float8 AS execute_after,
       extract(epoch FROM coalesce(l.created, q.updated))::float8 AS failed_at,
       l.traceback ->> 'exception_type' AS error_type,
       l.traceback ->> 'exception_message' AS error_message
FROM (
    SELECT h.* FROM {Q:pgqueuer} h
    WHERE h.status = 'failed'
      AND ($2::text IS NULL OR h.entrypoint = $2::text)
      AND ($3::bigint IS NULL OR h.id < $3::bigint)
    ORDER BY h.id DESC
    LIMIT $1::integer
) q
LEFT JOIN LATERAL (
    SELECT g.created, g.traceback
    FROM {Q:pgqueuer_log} g
    WHERE g.job_id = q.id AND g.status = 'failed'
    ORDER BY g.created DESC
    LIMIT 1
) l ON true
ORDER BY q.id DESC;

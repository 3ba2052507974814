-- list_failed: the held (`failed`) jobs with their latest error (docs/design.md §6).
-- $1 integer limit (NULL: all), $2 text entrypoint (NULL: all), $3 boolean
-- newest failure first, $4 boolean sizes only: the payload column is NULL
-- and only payload_bytes says how long it is (a listing then reads no
-- payload: octet_length of a stored value needs only its header). A job's `updated` is set by the statement that held
-- it, so the jobs are chosen and ordered by it first, and only the chosen
-- ones look up their latest `failed` log row: a short list of a long
-- backlog stays cheap. failed_at is that row's time (`updated` if the log
-- was pruned); the error comes from its traceback record, NULL when it has
-- none (e.g. a job held by an older PgQueuer).

WITH held AS (
    SELECT q.*
    FROM {Q:pgqueuer} q
    WHERE q.status = 'failed'
      AND ($2::text IS NULL OR q.entrypoint = $2::text)
    ORDER BY CASE WHEN $3::boolean THEN -extract(epoch FROM q.updated)
                  ELSE extract(epoch FROM q.updated) END,
             CASE WHEN $3::boolean THEN -q.id ELSE q.id END
    LIMIT $1::integer
)
SELECT q.id, q.priority, q.attempts, q.status, q.entrypoint,
       CASE WHEN $4::boolean THEN NULL ELSE q.payload END AS payload,
       octet_length(q.payload) AS payload_bytes,
       q.headers::text AS headers, q.dedupe_key, q.queue_manager_id::text AS queue_manager_id,
       extract(epoch FROM q.created)::float8 AS created,
       extract(epoch FROM q.updated)::float8 AS updated,
       extract(epoch FROM q.heartbeat)::float8 AS heartbeat,
       extract(epoch FROM q.execute_after)::float8 AS execute_after,
       extract(epoch FROM coalesce(l.created, q.updated))::float8 AS failed_at,
       l.traceback ->> 'exception_type' AS error_type,
       l.traceback ->> 'exception_message' AS error_message
FROM held q
LEFT JOIN LATERAL (
    SELECT g.created, g.traceback
    FROM {Q:pgqueuer_log} g
    WHERE g.job_id = q.id AND g.status = 'failed'
    ORDER BY g.created DESC
    LIMIT 1
) l ON true
ORDER BY CASE WHEN $3::boolean THEN -extract(epoch FROM q.updated)
              ELSE extract(epoch FROM q.updated) END,
         CASE WHEN $3::boolean THEN -q.id ELSE q.id END;

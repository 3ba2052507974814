-- enqueue_update_priority: enqueue.sql with PgQueuer 1.6's on-conflict
-- `update_priority`. Same parameters. A job whose dedupe key is held by an
-- active (queued or picked) job is not inserted: that job's priority is
-- raised to the greater of the two and its id is returned for the
-- position. Only inserted jobs get a `queued` log row. Returns one row per
-- input position, in input order: id. A key given twice in one batch is
-- an error (PostgreSQL cannot update a row twice in one statement).

WITH input AS (
    SELECT nextval((SELECT pg_get_serial_sequence({LQ:pgqueuer}, 'id'))::regclass) AS id, i.*
    FROM unnest($1::text[], $2::bytea[], $3::int4[], $4::float8[], $5::text[], $6::jsonb[])
         WITH ORDINALITY AS i(entrypoint, payload, priority, delay, dedupe_key, headers, ord)
),
upserted AS (
    INSERT INTO {Q:pgqueuer} AS q (id, priority, entrypoint, payload, execute_after, dedupe_key, headers, status)
    SELECT id, priority, entrypoint, payload, now() + make_interval(secs => delay), dedupe_key, headers, 'queued'
    FROM input
    ORDER BY ord
    ON CONFLICT (dedupe_key) WHERE status IN ('queued', 'picked') AND dedupe_key IS NOT NULL
    DO UPDATE SET priority = greatest(q.priority, EXCLUDED.priority)
    RETURNING q.id, q.priority, q.entrypoint, q.dedupe_key
),
logged AS (
    INSERT INTO {Q:pgqueuer_log} (job_id, status, priority, entrypoint)
    SELECT u.id, 'queued', u.priority, u.entrypoint
    FROM upserted u JOIN input i ON i.id = u.id
)
SELECT coalesce(n.id, u.id) AS id
FROM input i
LEFT JOIN upserted n ON n.id = i.id
LEFT JOIN upserted u ON n.id IS NULL AND u.dedupe_key = i.dedupe_key
ORDER BY i.ord;

-- enqueue_skip: enqueue.sql with on-conflict `skip` (docs/design.md §4). Same
-- parameters. A job whose dedupe key is held by an active (queued or
-- picked) job, or by an earlier job of the batch, is not inserted and not
-- logged; its position returns id 0. Returns one row per input position,
-- in input order: id.

WITH input AS (
    SELECT nextval((SELECT pg_get_serial_sequence({LQ:pgqueuer}, 'id'))::regclass) AS id, i.*
    FROM unnest($1::text[], $2::bytea[], $3::int4[], $4::float8[], $5::text[], $6::jsonb[])
         WITH ORDINALITY AS i(entrypoint, payload, priority, delay, dedupe_key, headers, ord)
),
inserted AS (
    INSERT INTO {Q:pgqueuer} (id, priority, entrypoint, payload, execute_after, dedupe_key, headers, status)
    SELECT id, priority, entrypoint, payload, now() + make_interval(secs => delay), dedupe_key, headers, 'queued'
    FROM input
    ORDER BY ord
    ON CONFLICT (dedupe_key) WHERE status IN ('queued', 'picked') AND dedupe_key IS NOT NULL
    DO NOTHING
    RETURNING id, priority, entrypoint
),
logged AS (
    INSERT INTO {Q:pgqueuer_log} (job_id, status, priority, entrypoint)
    SELECT id, 'queued', priority, entrypoint FROM inserted
)
SELECT coalesce(n.id, 0) AS id
FROM input i
LEFT JOIN inserted n ON n.id = i.id
ORDER BY i.ord;

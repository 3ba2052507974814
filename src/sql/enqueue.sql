-- enqueue: insert a batch of jobs (docs/design.md §4), raising on a dedupe conflict.
-- $1 text[] entrypoint, $2 bytea[] payload, $3 int4[] priority, $4 float8[]
-- delay in seconds, $5 text[] dedupe_key, $6 jsonb[] headers; one element
-- per job, sent in binary. Ids are drawn from the table's sequence before
-- the insert, so each input position knows its own id. A dedupe key held
-- by an active job (or twice in the batch) violates the partial unique
-- index and the whole statement fails: nothing is inserted. The `queued`
-- log rows are written by the same statement. Returns one row per input
-- position, in input order: id.

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
    RETURNING id, priority, entrypoint
),
logged AS (
    INSERT INTO {Q:pgqueuer_log} (job_id, status, priority, entrypoint)
    SELECT id, 'queued', priority, entrypoint FROM inserted
)
SELECT i.id FROM input i ORDER BY i.ord;

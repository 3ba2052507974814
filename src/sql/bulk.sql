-- bulk: one chunk of a streaming bulk enqueue (SPEC 4). The parameters of
-- enqueue.sql; dedupe keys are refused by the caller, so the chunk cannot
-- conflict. Returns no ids: the caller counts the rows. The `queued` log
-- rows are written by the same statement.

WITH inserted AS (
    INSERT INTO {Q:pgqueuer} (priority, entrypoint, payload, execute_after, dedupe_key, headers, status)
    SELECT i.priority, i.entrypoint, i.payload, now() + make_interval(secs => i.delay), i.dedupe_key, i.headers, 'queued'
    FROM unnest($1::text[], $2::bytea[], $3::int4[], $4::float8[], $5::text[], $6::jsonb[])
         AS i(entrypoint, payload, priority, delay, dedupe_key, headers)
    RETURNING id, priority, entrypoint
)
INSERT INTO {Q:pgqueuer_log} (job_id, status, priority, entrypoint)
SELECT id, 'queued', priority, entrypoint FROM inserted;

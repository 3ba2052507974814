-- clear: $1 text[] of entrypoints. Deletes their queued and failed jobs
-- (running ones are left to `cancel`) and logs each as `deleted`. Returns
-- the number deleted.
WITH deleted AS (
    DELETE FROM {Q:pgqueuer}
    WHERE entrypoint = ANY($1::text[]) AND status IN ('queued', 'failed')
    RETURNING id, entrypoint, priority
),
logged AS (
    INSERT INTO {Q:pgqueuer_log} (job_id, status, priority, entrypoint)
    SELECT id, 'deleted', priority, entrypoint FROM deleted
)
SELECT count(*) FROM deleted;

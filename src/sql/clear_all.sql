-- clear_all: deletes every queued and failed job (running ones are left to
-- `cancel`) and logs each as `deleted`, unlike PgQueuer's unlogged TRUNCATE.
-- Returns the number deleted.
WITH deleted AS (
    DELETE FROM {Q:pgqueuer}
    WHERE status IN ('queued', 'failed')
    RETURNING id, entrypoint, priority
),
logged AS (
    INSERT INTO {Q:pgqueuer_log} (job_id, status, priority, entrypoint)
    SELECT id, 'deleted', priority, entrypoint FROM deleted
)
SELECT count(*) FROM deleted;

-- complete_ok: complete.sql for the common batch, every outcome
-- `successful` (complete.c picks it). $1 uuid queue_manager_id, $2 bigint[]
-- job_id. The same contract as complete.sql for these outcomes: only rows
-- still `picked` by $1 are deleted (the condition re-checked on the row's
-- latest version, the status compared through a sub-select for the reason
-- given there), each gets one `successful` log row without a traceback,
-- and nothing is announced beyond the trigger's delete event. What it
-- leaves out is what costs complete.sql most per job when no job failed:
-- the five parallel outcome arrays to parse, an array_position and
-- subscripts per row, and the UPDATE statements for held and retried jobs
-- (planned, started and fired at even when they change nothing). A job id
-- given twice is deleted and logged once. Returns: resolved, notified.

WITH deleted AS (
    DELETE FROM {Q:pgqueuer} q
    WHERE q.id = ANY ($2::bigint[])
      AND q.status = (SELECT 'picked'::{Q:pgqueuer_status}) AND q.queue_manager_id IS NOT DISTINCT FROM $1::uuid
    RETURNING q.id, q.priority, q.entrypoint
),
logged AS (
    INSERT INTO {Q:pgqueuer_log} (job_id, status, priority, entrypoint)
    SELECT d.id, 'successful', d.priority, d.entrypoint FROM deleted d
)
SELECT count(*) AS resolved, 0 AS notified FROM deleted;

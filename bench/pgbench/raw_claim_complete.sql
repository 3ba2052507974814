-- raw-sql: claim a batch with SKIP LOCKED, then finish it: the rows are
-- deleted and their log rows written by one statement. Two transactions,
-- as a worker does (claim, run the handlers, record the outcomes).
UPDATE raw_job SET status = 'picked', owner = :client_id, updated = now()
WHERE id IN (SELECT id FROM raw_job WHERE status = 'queued'
             ORDER BY priority DESC, id LIMIT :batch FOR UPDATE SKIP LOCKED)
RETURNING id, priority, entrypoint, payload;
WITH done AS (
    DELETE FROM raw_job WHERE owner = :client_id AND status = 'picked'
    RETURNING id, entrypoint)
INSERT INTO raw_log (job_id, status, entrypoint)
SELECT id, 'successful', entrypoint FROM done;

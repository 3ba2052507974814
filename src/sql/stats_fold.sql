-- stats_fold: rolls up to $1 (int) log rows not yet aggregated into
-- per-second statistics buckets, as a running worker does every 30 s
-- (PgQueuer's periodic aggregation; src/worker/fold.c calls it until a
-- chunk comes back short, so each transaction stays short). It takes PgQueuer's own transaction advisory lock,
-- hashtext of the statistics table's name as PgQueuer spells it (unquoted,
-- schema-qualified when a schema is set), so in a mixed fleet one worker
-- folds at a time and no row is counted twice; a worker that loses the lock
-- skips the turn. Counting only the rows its UPDATE flagged keeps a racing
-- fold that does not take the lock from being counted twice as well.
-- Returns: folded (log rows rolled up).

WITH lock AS (
    SELECT pg_try_advisory_xact_lock(hashtext({UQ:pgqueuer_statistics})) AS got
),
flagged AS (
    UPDATE {Q:pgqueuer_log}
    SET aggregated = true
    WHERE id = ANY (ARRAY(SELECT l.id FROM {Q:pgqueuer_log} l WHERE NOT l.aggregated
                          LIMIT $1::int))
      AND NOT aggregated AND (SELECT got FROM lock)
    RETURNING created, entrypoint, priority, status
),
rolled AS (
    SELECT date_trunc('sec', created AT TIME ZONE 'UTC') AS bucket, entrypoint, priority, status, count(*) AS count
    FROM flagged
    GROUP BY 1, 2, 3, 4
),
upserted AS (
    INSERT INTO {Q:pgqueuer_statistics} AS s (created, entrypoint, priority, status, count)
    SELECT bucket AT TIME ZONE 'UTC', entrypoint, priority, status, count FROM rolled
    ON CONFLICT (priority, date_trunc('sec', created AT TIME ZONE 'UTC'), status, entrypoint)
    DO UPDATE SET count = s.count + EXCLUDED.count
)
SELECT count(*) AS folded FROM flagged;

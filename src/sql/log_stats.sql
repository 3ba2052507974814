-- log_stats: $1 float8 seconds (<= 0: all). Rolls unaggregated log rows
-- into per-second statistics buckets (upsert adding counts) and flags them,
-- under PgQueuer's transaction advisory lock (see stats_fold.sql) so
-- concurrent callers neither block nor
-- deadlock on the log; the loser just skips the roll-up. Counting the rows
-- the UPDATE actually flagged (RETURNING) keeps a racing roll-up from
-- counting a row twice. The buckets returned are the statement's snapshot of
-- the statistics plus the log rows not yet rolled up, which is exactly what
-- the table holds once the roll-up commits.
WITH lock AS (
    SELECT pg_try_advisory_xact_lock(hashtext({UQ:pgqueuer_statistics})) AS got
),
flagged AS (
    UPDATE {Q:pgqueuer_log}
    SET aggregated = true
    WHERE NOT aggregated AND (SELECT got FROM lock)
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
),
seen AS (
    SELECT date_trunc('sec', created AT TIME ZONE 'UTC') AS bucket, entrypoint, priority, status, count
    FROM {Q:pgqueuer_statistics}
    WHERE $1::float8 <= 0 OR created > now() - make_interval(secs => $1::float8)
    UNION ALL
    SELECT date_trunc('sec', created AT TIME ZONE 'UTC'), entrypoint, priority, status, 1
    FROM {Q:pgqueuer_log}
    WHERE NOT aggregated AND ($1::float8 <= 0 OR created > now() - make_interval(secs => $1::float8))
)
SELECT extract(epoch FROM bucket AT TIME ZONE 'UTC') AS created, entrypoint, priority, status::text AS status, sum(count)::bigint AS count
FROM seen
GROUP BY bucket, entrypoint, priority, status
ORDER BY bucket DESC, entrypoint, priority DESC, seen.status;

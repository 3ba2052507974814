-- report_backlog: queued jobs per entrypoint, with the oldest one's age
-- and the average age (`pgq backlog`, PgQueuer's field names). The
-- backlog is what it measures, so every queued row is read once, through
-- the partial index on status = 'queued'. Parameters: see
-- report_stale.sql ($2 limit, $5 entrypoint).

SELECT q.entrypoint,
       count(*) AS queued_count,
       to_char(min(q.created) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS oldest_created,
       round(extract(epoch FROM now() - min(q.created))::numeric, 3)::float8 AS oldest_age_seconds,
       round(avg(extract(epoch FROM now() - q.created))::numeric, 3)::float8 AS avg_age_seconds
FROM {Q:pgqueuer} q
WHERE q.status = 'queued'
  AND ($5::text IS NULL OR q.entrypoint = $5::text)
GROUP BY q.entrypoint
ORDER BY count(*) DESC, q.entrypoint
LIMIT $2::int4;

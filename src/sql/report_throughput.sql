-- report_throughput: log rows of the last $8 seconds counted in buckets of
-- $9 seconds (aligned to multiples of $9 since the Unix epoch) by
-- entrypoint and status, with the rate per second over each bucket
-- (`pgq throughput`). Only the window is read, through the index on the
-- log's created column, so the cost follows the traffic in the window,
-- not the log's length. Parameters: see report_stale.sql ($2 limit,
-- $5 entrypoint, $6 status, $8 window_s, $9 bucket_s).

WITH recent AS (
    SELECT to_timestamp(floor(extract(epoch FROM l.created) / $9::float8) * $9::float8) AS bucket,
           l.entrypoint, l.status
    FROM {Q:pgqueuer_log} l
    WHERE l.created >= now() - make_interval(secs => $8::float8)
      AND ($5::text IS NULL OR l.entrypoint = $5::text)
      AND ($6::text IS NULL OR l.status::text = $6::text)
)
SELECT to_char(r.bucket AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS bucket_start,
       $9::float8 AS bucket_seconds,
       r.entrypoint, r.status::text AS status, count(*) AS count,
       round(count(*) / $9::numeric, 3)::float8 AS per_second
FROM recent r
GROUP BY r.bucket, r.entrypoint, r.status
ORDER BY r.bucket DESC, r.entrypoint, r.status
LIMIT $2::int4;

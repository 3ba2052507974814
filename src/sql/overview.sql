-- overview: one pass over the queue table for the console and /metrics:
-- counts by entrypoint and status with the oldest row's created time (the
-- age of the oldest queued job is now() minus it), plus one total row
-- (entrypoint and status NULL) whose `workers` counts the distinct
-- queue managers holding picked jobs. `now` is the server's clock so ages
-- do not depend on the client's.
SELECT q.entrypoint, q.status::text AS status, count(*) AS count,
       extract(epoch FROM min(q.created))::float8 AS oldest,
       count(DISTINCT q.queue_manager_id) FILTER (WHERE q.status = 'picked') AS workers,
       extract(epoch FROM now())::float8 AS now
FROM {Q:pgqueuer} q
GROUP BY GROUPING SETS ((q.entrypoint, q.status), ())
ORDER BY q.entrypoint NULLS FIRST, q.status;

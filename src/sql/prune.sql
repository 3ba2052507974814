-- prune: $1 float8 seconds. Deletes log rows and statistics buckets older
-- than that. Log rows of jobs still in the queue table are kept: a held job's
-- `failed` row carries the error that list-failed and show display.
WITH log_gone AS (
    DELETE FROM {Q:pgqueuer_log} l
    WHERE l.created < now() - make_interval(secs => $1::float8)
      AND NOT EXISTS (SELECT 1 FROM {Q:pgqueuer} q WHERE q.id = l.job_id)
    RETURNING 1
),
stats_gone AS (
    DELETE FROM {Q:pgqueuer_statistics}
    WHERE created < now() - make_interval(secs => $1::float8)
    RETURNING 1
)
SELECT (SELECT count(*) FROM log_gone) AS log_rows,
       (SELECT count(*) FROM stats_gone) AS stat_rows;

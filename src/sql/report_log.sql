-- report_log: the newest log rows, newest first (`pgq log`; the log
-- table's columns). Filters: $7 job_id (through the job_id index), $5
-- entrypoint, $6 status, $8 window_s (only rows of the last $8 seconds).
-- Keyset paging by id: $4 before_id gives the page below an id (older),
-- $3 after_id the page just above one (newer), still shown newest first.
-- With custom plans (report.c runs it unprepared) the branch whose
-- condition is false is removed at planning, and the other walks the
-- primary key from the page's edge and stops after $2 rows.

SELECT s.id, to_char(s.created AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created,
       s.job_id, s.status::text AS status, s.priority, s.entrypoint,
       s.traceback::text AS traceback, s.aggregated
FROM (
    (SELECT l.* FROM {Q:pgqueuer_log} l
     WHERE $3::int8 IS NULL
       AND ($4::int8 IS NULL OR l.id < $4::int8)
       AND ($7::int8 IS NULL OR l.job_id = $7::int8)
       AND ($5::text IS NULL OR l.entrypoint = $5::text)
       AND ($6::text IS NULL OR l.status::text = $6::text)
       AND ($8::float8 IS NULL OR l.created >= now() - make_interval(secs => $8::float8))
     ORDER BY l.id DESC
     LIMIT $2::int4)
    UNION ALL
    (SELECT l.* FROM {Q:pgqueuer_log} l
     WHERE $3::int8 IS NOT NULL
       AND l.id > $3::int8
       AND ($4::int8 IS NULL OR l.id < $4::int8)
       AND ($7::int8 IS NULL OR l.job_id = $7::int8)
       AND ($5::text IS NULL OR l.entrypoint = $5::text)
       AND ($6::text IS NULL OR l.status::text = $6::text)
       AND ($8::float8 IS NULL OR l.created >= now() - make_interval(secs => $8::float8))
     ORDER BY l.id
     LIMIT $2::int4)
) s
ORDER BY s.id DESC;

-- report_jobs: rows of the queue table, newest first (`pgq jobs`; the
-- queue's columns, with payload_bytes instead of the payload). Filters:
-- $6 status, $5 entrypoint. Keyset paging by id as in report_log.sql:
-- $4 before_id the older page, $3 after_id the newer page; each branch
-- walks the primary key and stops after $2 rows.

SELECT s.id, s.priority, s.queue_manager_id::text AS queue_manager_id,
       to_char(s.created AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created,
       to_char(s.updated AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS updated,
       to_char(s.heartbeat AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS heartbeat,
       to_char(s.execute_after AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS execute_after,
       s.status::text AS status, s.entrypoint, s.dedupe_key, s.attempts,
       octet_length(s.payload) AS payload_bytes, s.headers::text AS headers
FROM (
    (SELECT q.* FROM {Q:pgqueuer} q
     WHERE $3::int8 IS NULL
       AND ($4::int8 IS NULL OR q.id < $4::int8)
       AND ($5::text IS NULL OR q.entrypoint = $5::text)
       AND ($6::text IS NULL OR q.status::text = $6::text)
     ORDER BY q.id DESC
     LIMIT $2::int4)
    UNION ALL
    (SELECT q.* FROM {Q:pgqueuer} q
     WHERE $3::int8 IS NOT NULL
       AND q.id > $3::int8
       AND ($4::int8 IS NULL OR q.id < $4::int8)
       AND ($5::text IS NULL OR q.entrypoint = $5::text)
       AND ($6::text IS NULL OR q.status::text = $6::text)
     ORDER BY q.id
     LIMIT $2::int4)
) s
ORDER BY s.id DESC;

-- job_status: $1 bigint[] of ids. The latest log status of each distinct
-- id, NULL when it has no log row.
SELECT i.id, l.status::text AS status
FROM (SELECT DISTINCT unnest($1::bigint[]) AS id) i
LEFT JOIN LATERAL (
    SELECT status FROM {Q:pgqueuer_log}
    WHERE job_id = i.id
    ORDER BY created DESC, id DESC
    LIMIT 1
) l ON true
ORDER BY i.id;

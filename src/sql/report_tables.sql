-- report_tables: the four tables with their persistence, the planner's
-- row estimate (NULL before the first ANALYZE) and sizes, read from the
-- catalog only (`pgq tables`). Tables that do not exist are left out.
-- Parameters: see report_stale.sql (none used).

SELECT t.name AS table_name,
       CASE c.relpersistence WHEN 'u' THEN 'unlogged' WHEN 't' THEN 'temporary'
                             ELSE 'logged' END AS persistence,
       CASE WHEN c.reltuples < 0 THEN NULL ELSE c.reltuples::int8 END AS estimated_rows,
       pg_total_relation_size(c.oid) AS total_bytes,
       pg_relation_size(c.oid) AS table_bytes,
       pg_indexes_size(c.oid) AS index_bytes,
       pg_size_pretty(pg_total_relation_size(c.oid)) AS total_size
FROM (VALUES (1, {L:pgqueuer}, {LQ:pgqueuer}),
             (2, {L:pgqueuer_log}, {LQ:pgqueuer_log}),
             (3, {L:pgqueuer_statistics}, {LQ:pgqueuer_statistics}),
             (4, {L:pgqueuer_schedules}, {LQ:pgqueuer_schedules})) AS t(ord, name, qualified)
JOIN pg_class c ON c.oid = to_regclass(t.qualified)
ORDER BY t.ord
LIMIT $2::int4;

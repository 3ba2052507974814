-- schema_present.sql: which of our objects exist, and the database name for
-- messages. Used before install and upgrade. Columns in the order of the
-- P_* enum in schema.c.

SELECT current_database(), to_regclass({LQ:pgqueuer}) IS NOT NULL, to_regclass({LQ:pgqueuer_log}) IS NOT NULL, to_regclass({LQ:pgqueuer_statistics}) IS NOT NULL, to_regclass({LQ:pgqueuer_schedules}) IS NOT NULL, to_regtype({LQ:pgqueuer_status}) IS NOT NULL, to_regprocedure({LQ:fn_pgqueuer_changed} || '()') IS NOT NULL, EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = {SCHEMA_L});

-- upgrade_widen.sql: the widening step of upgrade.sql (its WIDEN_ID token),
-- left out by `pgq upgrade --no-widen-id` or PGQUEUER_WIDEN_ID=false as in
-- PgQueuer: ALTER TYPE rewrites each table under an ACCESS EXCLUSIVE lock,
-- which an operator may prefer to do out of band on a large table.

-- Widens int4 ids (PgQueuer used serial) to bigint, and their sequences.
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT a.attrelid::regclass AS tbl, a.attname AS col
        FROM pg_attribute a
        WHERE a.attrelid IN (to_regclass({LQ:pgqueuer}), to_regclass({LQ:pgqueuer_log}), to_regclass({LQ:pgqueuer_statistics}), to_regclass({LQ:pgqueuer_schedules}))
          AND a.attname IN ('id', 'job_id') AND a.atttypid = 'int4'::regtype AND NOT a.attisdropped
    LOOP
        EXECUTE format('ALTER TABLE %s ALTER COLUMN %I TYPE bigint', r.tbl, r.col);
    END LOOP;
    FOR r IN
        SELECT s.seqrelid::regclass AS seq
        FROM pg_sequence s
        JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = s.seqrelid AND d.refclassid = 'pg_class'::regclass
        WHERE d.refobjid IN (to_regclass({LQ:pgqueuer}), to_regclass({LQ:pgqueuer_log}), to_regclass({LQ:pgqueuer_statistics}), to_regclass({LQ:pgqueuer_schedules}))
          AND s.seqtypid <> 'int8'::regtype
    LOOP
        EXECUTE format('ALTER SEQUENCE %s AS bigint', r.seq);
    END LOOP;
END
$$;

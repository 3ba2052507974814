-- upgrade_fingerprint.sql: one digest of everything upgrade.sql can change
-- (columns with their types, nullability and defaults; indexes; triggers;
-- enum labels; the trigger function's source; sequence types). schema.c
-- takes it around each upgrade statement: a statement counts as applied
-- when the digest moved or it changed rows, so `applied N statements` is
-- what happened, not what was attempted.

WITH tables AS (
    SELECT oid FROM pg_class
    WHERE oid IN (to_regclass({LQ:pgqueuer}), to_regclass({LQ:pgqueuer_log}), to_regclass({LQ:pgqueuer_statistics}), to_regclass({LQ:pgqueuer_schedules}))
),
facts(f) AS (
    SELECT format('col %s.%s %s %s %s %s', a.attrelid::regclass, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attidentity, pg_get_expr(d.adbin, d.adrelid))
    FROM tables t JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    UNION ALL
    SELECT 'idx ' || pg_get_indexdef(i.indexrelid) FROM tables t JOIN pg_index i ON i.indrelid = t.oid
    UNION ALL
    SELECT format('tg %s %s %s %s', tg.tgname, tg.tgtype, tg.tgfoid, tg.tgenabled) FROM tables t JOIN pg_trigger tg ON tg.tgrelid = t.oid AND NOT tg.tgisinternal
    UNION ALL
    SELECT format('seq %s %s', s.seqrelid::regclass, s.seqtypid) FROM tables t
    JOIN pg_depend d ON d.refobjid = t.oid AND d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
    JOIN pg_sequence s ON s.seqrelid = d.objid
    UNION ALL
    SELECT format('enum %s %s %s', e.enumtypid, e.enumsortorder, e.enumlabel) FROM pg_enum e
    WHERE e.enumtypid IN (to_regtype({LQ:pgqueuer_status}), to_regtype({LQ:pgqueuer_statistics_status}))
    UNION ALL
    SELECT 'type ' || t.oid FROM pg_type t WHERE t.oid IN (to_regtype({LQ:pgqueuer_status}), to_regtype({LQ:pgqueuer_statistics_status}))
    UNION ALL
    SELECT 'fn ' || md5(p.prosrc) FROM pg_proc p WHERE p.oid = to_regprocedure({LQ:fn_pgqueuer_changed} || '()')
    UNION ALL
    SELECT 'rel ' || t.oid FROM tables t
)
SELECT md5(string_agg(f, E'\n' ORDER BY f)) FROM facts;

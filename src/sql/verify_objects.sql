-- verify_objects.sql: the schema contract (docs/design.md §3) beside what the
-- catalogs hold, one row per fact: key, expected, actual, optional, since
-- (the PgQueuer release that added it: 13, 14, 16, 20, 23), alt (another
-- definition PgQueuer also made; alt_outdated when upgrade moves it to the
-- expected one) and shape (the release whose markers the database has). The
-- owner column of the contract names the table a fact belongs to. A NULL
-- expected means the object is not part of the contract; a NULL actual that
-- it is missing. verify.c runs it with search_path set to the configured
-- schema, so type names print unqualified, and turns rows into messages.

WITH expected(key, detail, owner, optional, since, alt, alt_outdated) AS (
    VALUES
    ('type ' || {L:pgqueuer_status}, 'enum (queued, picked, successful, exception, canceled, deleted, failed)', NULL, false, 13, NULL, false),
    ('table ' || {L:pgqueuer}, 'table', NULL, false, 13, NULL, false),
    ('column ' || {L:pgqueuer} || '.id', 'bigint not null default nextval (bigint sequence)', {L:pgqueuer}, false, 13, NULL, false),
    ('column ' || {L:pgqueuer} || '.priority', 'integer not null', {L:pgqueuer}, false, 13, NULL, false),
    ('column ' || {L:pgqueuer} || '.queue_manager_id', 'uuid', {L:pgqueuer}, false, 13, NULL, false),
    ('column ' || {L:pgqueuer} || '.created', 'timestamp with time zone not null default now()', {L:pgqueuer}, false, 13, NULL, false),
    ('column ' || {L:pgqueuer} || '.updated', 'timestamp with time zone not null default now()', {L:pgqueuer}, false, 13, NULL, false),
    ('column ' || {L:pgqueuer} || '.heartbeat', 'timestamp with time zone not null default now()', {L:pgqueuer}, false, 13, NULL, false),
    ('column ' || {L:pgqueuer} || '.execute_after', 'timestamp with time zone not null default now()', {L:pgqueuer}, false, 13, NULL, false),
    ('column ' || {L:pgqueuer} || '.status', quote_ident({L:pgqueuer_status}) || ' not null', {L:pgqueuer}, false, 13, NULL, false),
    ('column ' || {L:pgqueuer} || '.entrypoint', 'text not null', {L:pgqueuer}, false, 13, NULL, false),
    ('column ' || {L:pgqueuer} || '.dedupe_key', 'text', {L:pgqueuer}, false, 13, NULL, false),
    ('column ' || {L:pgqueuer} || '.payload', 'bytea', {L:pgqueuer}, false, 13, NULL, false),
    ('column ' || {L:pgqueuer} || '.headers', 'jsonb', {L:pgqueuer}, false, 13, NULL, false),
    ('column ' || {L:pgqueuer} || '.attempts', 'integer not null default 0', {L:pgqueuer}, false, 13, NULL, false),
    ('column ' || {L:pgqueuer} || '.slot', 'bigint', {L:pgqueuer}, false, 14, NULL, false),
    ('column ' || {L:pgqueuer} || '.cancel_requested', 'boolean not null default false', {L:pgqueuer}, false, 23, NULL, false),
    ('index ' || {L:pgqueuer_pkey}, 'UNIQUE btree (id)', {L:pgqueuer}, false, 13, NULL, false),
    ('index ' || {L:pgqueuer_priority_id_id1_idx}, 'btree (priority, id DESC) INCLUDE (id) WHERE (status = ''queued''::' || quote_ident({L:pgqueuer_status}) || ')', {L:pgqueuer}, false, 13, NULL, false),
    ('index ' || {L:pgqueuer_updated_id_id1_idx}, 'btree (updated, id DESC) INCLUDE (id) WHERE (status = ''picked''::' || quote_ident({L:pgqueuer_status}) || ')', {L:pgqueuer}, false, 13, NULL, false),
    ('index ' || {L:pgqueuer_queue_manager_id_idx}, 'btree (queue_manager_id) WHERE (queue_manager_id IS NOT NULL)', {L:pgqueuer}, false, 13, NULL, false),
    ('index ' || {L:pgqueuer_ep_prio_id_idx}, 'btree (entrypoint, priority DESC, execute_after, id) WHERE (status = ''queued''::' || quote_ident({L:pgqueuer_status}) || ')', {L:pgqueuer}, false, 13, 'btree (entrypoint, priority DESC, id) WHERE (status = ''queued''::' || quote_ident({L:pgqueuer_status}) || ')', true),
    ('index ' || {L:pgqueuer_ep_ea_idx}, 'btree (entrypoint, execute_after) WHERE (status = ''queued''::' || quote_ident({L:pgqueuer_status}) || ')', {L:pgqueuer}, false, 13, NULL, false),
    ('index ' || {L:pgqueuer_unique_dedupe_key}, 'UNIQUE btree (dedupe_key) WHERE ((status = ANY (ARRAY[''queued''::' || quote_ident({L:pgqueuer_status}) || ', ''picked''::' || quote_ident({L:pgqueuer_status}) || '])) AND (dedupe_key IS NOT NULL))', {L:pgqueuer}, false, 13, NULL, false),
    ('index ' || {L:pgqueuer_heartbeat_id_id1_idx}, 'btree (heartbeat, id DESC) INCLUDE (id) WHERE (status = ''picked''::' || quote_ident({L:pgqueuer_status}) || ')', {L:pgqueuer}, true, 13, NULL, false),
    ('index ' || {L:pgqueuer_picked_slot_idx}, 'UNIQUE btree (entrypoint, slot) WHERE ((status = ''picked''::' || quote_ident({L:pgqueuer_status}) || ') AND (slot IS NOT NULL))', {L:pgqueuer}, false, 14, NULL, false),
    ('index ' || {L:pgqueuer_picked_heartbeat_idx}, 'btree (heartbeat) WHERE (status = ''picked''::' || quote_ident({L:pgqueuer_status}) || ')', {L:pgqueuer}, false, 16, NULL, false),
    ('function ' || {L:fn_pgqueuer_changed} || '()', 'returns trigger, language plpgsql, notifies ' || {CHANNEL}, NULL, false, 13, NULL, false),
    ('trigger ' || {L:tg_pgqueuer_changed} || ' on ' || {L:pgqueuer}, 'AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE FOR EACH STATEMENT EXECUTE ' || {L:fn_pgqueuer_changed} || '()', {L:pgqueuer}, false, 13, NULL, false),
    ('table ' || {L:pgqueuer_log}, 'table', NULL, false, 13, NULL, false),
    ('column ' || {L:pgqueuer_log} || '.id', 'bigint not null generated by default as identity (bigint sequence)', {L:pgqueuer_log}, false, 13, NULL, false),
    ('column ' || {L:pgqueuer_log} || '.created', 'timestamp with time zone not null default now()', {L:pgqueuer_log}, false, 13, NULL, false),
    ('column ' || {L:pgqueuer_log} || '.job_id', 'bigint not null', {L:pgqueuer_log}, false, 13, NULL, false),
    ('column ' || {L:pgqueuer_log} || '.status', quote_ident({L:pgqueuer_status}) || ' not null', {L:pgqueuer_log}, false, 13, NULL, false),
    ('column ' || {L:pgqueuer_log} || '.priority', 'integer not null', {L:pgqueuer_log}, false, 13, NULL, false),
    ('column ' || {L:pgqueuer_log} || '.entrypoint', 'text not null', {L:pgqueuer_log}, false, 13, NULL, false),
    ('column ' || {L:pgqueuer_log} || '.traceback', 'jsonb', {L:pgqueuer_log}, false, 13, NULL, false),
    ('column ' || {L:pgqueuer_log} || '.aggregated', 'boolean default false', {L:pgqueuer_log}, false, 13, NULL, false),
    ('index ' || {L:pgqueuer_log_pkey}, 'UNIQUE btree (id)', {L:pgqueuer_log}, false, 13, NULL, false),
    ('index ' || {L:pgqueuer_log_not_aggregated}, 'btree ((1)) WHERE (NOT aggregated)', {L:pgqueuer_log}, false, 13, NULL, false),
    ('index ' || {L:pgqueuer_log_created}, 'btree (created)', {L:pgqueuer_log}, false, 13, NULL, false),
    ('index ' || {L:pgqueuer_log_status}, 'btree (status)', {L:pgqueuer_log}, false, 13, NULL, false),
    ('index ' || {L:pgqueuer_log_job_id_status}, 'btree (job_id, created DESC)', {L:pgqueuer_log}, false, 13, NULL, false),
    ('table ' || {L:pgqueuer_statistics}, 'table', NULL, false, 13, NULL, false),
    ('column ' || {L:pgqueuer_statistics} || '.id', 'bigint not null default nextval (bigint sequence)', {L:pgqueuer_statistics}, false, 13, NULL, false),
    ('column ' || {L:pgqueuer_statistics} || '.created', 'timestamp with time zone not null default date_trunc(''sec''::text, now())', {L:pgqueuer_statistics}, false, 13, 'timestamp with time zone not null default date_trunc(''sec''::text, (now() AT TIME ZONE ''UTC''::text))', true),
    ('column ' || {L:pgqueuer_statistics} || '.count', 'bigint not null', {L:pgqueuer_statistics}, false, 13, NULL, false),
    ('column ' || {L:pgqueuer_statistics} || '.priority', 'integer not null', {L:pgqueuer_statistics}, false, 13, NULL, false),
    ('column ' || {L:pgqueuer_statistics} || '.status', quote_ident({L:pgqueuer_status}) || ' not null', {L:pgqueuer_statistics}, false, 13, NULL, false),
    ('column ' || {L:pgqueuer_statistics} || '.entrypoint', 'text not null', {L:pgqueuer_statistics}, false, 13, NULL, false),
    ('index ' || {L:pgqueuer_statistics_pkey}, 'UNIQUE btree (id)', {L:pgqueuer_statistics}, false, 13, NULL, false),
    ('index ' || {L:pgqueuer_statistics_unique_count}, 'UNIQUE btree (priority, date_trunc(''sec''::text, timezone(''UTC''::text, created)), status, entrypoint)', {L:pgqueuer_statistics}, false, 13, 'UNIQUE btree (priority, date_trunc(''sec''::text, (created AT TIME ZONE ''UTC''::text)), status, entrypoint)', false),
    ('index ' || {L:pgqueuer_statistics_created}, 'btree (created)', {L:pgqueuer_statistics}, false, 20, NULL, false),
    ('table ' || {L:pgqueuer_schedules}, 'table', NULL, false, 13, NULL, false),
    ('column ' || {L:pgqueuer_schedules} || '.id', 'bigint not null default nextval (bigint sequence)', {L:pgqueuer_schedules}, false, 13, NULL, false),
    ('column ' || {L:pgqueuer_schedules} || '.expression', 'text not null', {L:pgqueuer_schedules}, false, 13, NULL, false),
    ('column ' || {L:pgqueuer_schedules} || '.entrypoint', 'text not null', {L:pgqueuer_schedules}, false, 13, NULL, false),
    ('column ' || {L:pgqueuer_schedules} || '.heartbeat', 'timestamp with time zone not null default now()', {L:pgqueuer_schedules}, false, 13, NULL, false),
    ('column ' || {L:pgqueuer_schedules} || '.created', 'timestamp with time zone not null default now()', {L:pgqueuer_schedules}, false, 13, NULL, false),
    ('column ' || {L:pgqueuer_schedules} || '.updated', 'timestamp with time zone not null default now()', {L:pgqueuer_schedules}, false, 13, NULL, false),
    ('column ' || {L:pgqueuer_schedules} || '.next_run', 'timestamp with time zone not null default now()', {L:pgqueuer_schedules}, false, 13, NULL, false),
    ('column ' || {L:pgqueuer_schedules} || '.last_run', 'timestamp with time zone', {L:pgqueuer_schedules}, false, 13, NULL, false),
    ('column ' || {L:pgqueuer_schedules} || '.status', quote_ident({L:pgqueuer_status}) || ' default ''queued''::' || quote_ident({L:pgqueuer_status}), {L:pgqueuer_schedules}, false, 13, NULL, false),
    ('index ' || {L:pgqueuer_schedules_pkey}, 'UNIQUE btree (id)', {L:pgqueuer_schedules}, false, 13, NULL, false),
    ('index ' || {L:pgqueuer_schedules_expression_entrypoint_key}, 'UNIQUE btree (expression, entrypoint)', {L:pgqueuer_schedules}, false, 13, NULL, false)
),
nsp AS (
    SELECT oid FROM pg_namespace WHERE nspname = {SCHEMA_L}
),
tables AS (
    SELECT c.oid, c.relname
    FROM pg_class c JOIN nsp ON c.relnamespace = nsp.oid
    WHERE c.relname IN ({L:pgqueuer}, {L:pgqueuer_log}, {L:pgqueuer_statistics}, {L:pgqueuer_schedules})
),
actual(key, detail) AS (
    SELECT 'table ' || t.relname, CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'table' WHEN 'v' THEN 'view' ELSE 'relation of kind ' || c.relkind::text END
    FROM tables t JOIN pg_class c ON c.oid = t.oid
    UNION ALL
    SELECT 'column ' || t.relname || '.' || a.attname,
           format_type(a.atttypid, a.atttypmod)
           || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
           || CASE a.attidentity WHEN 'd' THEN ' generated by default as identity' WHEN 'a' THEN ' generated always as identity'
              ELSE CASE WHEN pg_get_expr(d.adbin, d.adrelid) LIKE 'nextval(%' THEN ' default nextval' ELSE coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '') END END
           || coalesce(' (' || format_type(s.seqtypid, NULL) || ' sequence)', '')
    FROM tables t
    JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    LEFT JOIN (pg_depend dep JOIN pg_sequence s ON s.seqrelid = dep.objid) ON dep.classid = 'pg_class'::regclass AND dep.refclassid = 'pg_class'::regclass AND dep.refobjid = t.oid AND dep.refobjsubid = a.attnum AND dep.deptype IN ('a', 'i')
    UNION ALL
    SELECT 'index ' || ic.relname,
           CASE WHEN i.indisunique THEN 'UNIQUE ' ELSE '' END
           || regexp_replace(pg_get_indexdef(i.indexrelid), '^CREATE (UNIQUE )?INDEX \S+ ON (ONLY )?\S+ USING ', '')
    FROM tables t JOIN pg_index i ON i.indrelid = t.oid JOIN pg_class ic ON ic.oid = i.indexrelid
    UNION ALL
    SELECT 'trigger ' || tg.tgname || ' on ' || t.relname,
           CASE WHEN tg.tgtype & 2 <> 0 THEN 'BEFORE' WHEN tg.tgtype & 64 <> 0 THEN 'INSTEAD OF' ELSE 'AFTER' END || ' '
           || array_to_string(array_remove(ARRAY[
                  CASE WHEN tg.tgtype & 4 <> 0 THEN 'INSERT' END, CASE WHEN tg.tgtype & 16 <> 0 THEN 'UPDATE' END,
                  CASE WHEN tg.tgtype & 8 <> 0 THEN 'DELETE' END, CASE WHEN tg.tgtype & 32 <> 0 THEN 'TRUNCATE' END], NULL), ' OR ')
           || CASE WHEN tg.tgtype & 1 <> 0 THEN ' FOR EACH ROW' ELSE ' FOR EACH STATEMENT' END
           || ' EXECUTE ' || p.proname || '()'
           || CASE WHEN tg.tgenabled = 'D' THEN ' (disabled)' ELSE '' END
    FROM tables t JOIN pg_trigger tg ON tg.tgrelid = t.oid AND NOT tg.tgisinternal JOIN pg_proc p ON p.oid = tg.tgfoid
    UNION ALL
    SELECT 'type ' || ty.typname,
           CASE WHEN ty.typtype = 'e' THEN 'enum (' || (SELECT string_agg(e.enumlabel, ', ' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = ty.oid) || ')' ELSE 'type of kind ' || ty.typtype::text END
    FROM pg_type ty JOIN nsp ON ty.typnamespace = nsp.oid
    WHERE ty.typname IN ({L:pgqueuer_status}, {L:pgqueuer_statistics_status})
    UNION ALL
    SELECT 'function ' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')',
           'returns ' || format_type(p.prorettype, NULL) || ', language ' || l.lanname
           || CASE WHEN position(quote_literal({CHANNEL}) IN p.prosrc) > 0 THEN ', notifies ' || {CHANNEL} ELSE ', notifies another channel' END
    FROM pg_proc p JOIN nsp ON p.pronamespace = nsp.oid JOIN pg_language l ON l.oid = p.prolang
    WHERE p.proname = {L:fn_pgqueuer_changed}
),
-- The release whose shape the database has, from the markers each added:
-- 2.0's statistics index or 2.3's cancel_requested (20), 1.4's slot (14),
-- else 1.3 (13).
shape AS (
    SELECT CASE WHEN EXISTS (SELECT 1 FROM actual WHERE key IN ('index ' || {L:pgqueuer_statistics_created}, 'column ' || {L:pgqueuer} || '.cancel_requested')) THEN 20
                WHEN EXISTS (SELECT 1 FROM actual WHERE key IN ('column ' || {L:pgqueuer} || '.slot', 'index ' || {L:pgqueuer_picked_slot_idx})) THEN 14
                ELSE 13 END AS release
)
SELECT coalesce(e.key, a.key) AS key, e.detail AS expected, a.detail AS actual, coalesce(e.optional, false) AS optional,
       coalesce(e.since, 13) AS since, e.alt, coalesce(e.alt_outdated, false) AS alt_outdated, (SELECT release FROM shape) AS shape
FROM expected e FULL JOIN actual a ON a.key = e.key
-- The columns, indexes and trigger of a missing table are implied by it.
WHERE a.key IS NOT NULL OR e.owner IS NULL OR e.owner IN (SELECT relname FROM tables)
ORDER BY 1;

-- notify_function.sql: the trigger function of docs/design.md §3.2, shared by
-- install.sql and upgrade.sql (in place of their NOTIFY_FUNCTION token).

-- Statement level: OLD and NEW are NULL, so UPDATE never notifies (as in
-- PgQueuer); inserts, deletes and truncates wake the workers.
CREATE OR REPLACE FUNCTION {Q:fn_pgqueuer_changed}() RETURNS trigger AS $$
DECLARE
    to_emit boolean := false;
BEGIN
    IF TG_OP = 'UPDATE' AND OLD IS DISTINCT FROM NEW THEN
        to_emit := true;
    ELSIF TG_OP IN ('DELETE', 'INSERT', 'TRUNCATE') THEN
        to_emit := true;
    END IF;
    IF to_emit THEN
        PERFORM pg_notify(
            {CHANNEL},
            json_build_object(
                'channel', {CHANNEL},
                'operation', lower(TG_OP),
                'sent_at', now(),
                'table', TG_TABLE_NAME,
                'type', 'table_changed_event'
            )::text
        );
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        RETURN NEW;
    ELSIF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

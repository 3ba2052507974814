-- Test instrumentation for the scheduler tests (not part of pgq): a
-- row-level trigger records every claim of a schedule, by pgq or by
-- PgQueuer. A claim sets the row picked and moves next_run on (a heartbeat
-- moves neither), so OLD.next_run is the fire it claimed; OLD.status says
-- whether it took over a schedule whose runner stopped.
CREATE TABLE claims (
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    schedule_id bigint NOT NULL,
    entrypoint text NOT NULL,
    fire timestamptz NOT NULL,
    next_run timestamptz NOT NULL,
    takeover boolean NOT NULL,
    app text NOT NULL,
    pid integer NOT NULL
);
CREATE FUNCTION record_claim() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = 'picked' AND (OLD.status = 'queued' OR OLD.next_run <> NEW.next_run) THEN
        INSERT INTO claims (schedule_id, entrypoint, fire, next_run, takeover, app, pid)
        VALUES (NEW.id, NEW.entrypoint, OLD.next_run, NEW.next_run, OLD.status = 'picked',
                current_setting('application_name'), pg_backend_pid());
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER record_claim AFTER UPDATE ON pgqueuer_schedules
    FOR EACH ROW EXECUTE FUNCTION record_claim();

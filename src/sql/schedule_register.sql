-- schedule_register: $1 text[] expressions (normalised), $2 text[]
-- entrypoints, $3 float8[] each schedule's next fire time (Unix seconds).
-- PgQueuer's registration: a row per (expression, entrypoint), inserted
-- only if absent, so every scheduler of the fleet shares the first one's.

INSERT INTO {Q:pgqueuer_schedules} (expression, entrypoint, next_run)
SELECT p.expression, p.entrypoint, to_timestamp(p.next_run)
FROM unnest($1::text[], $2::text[], $3::float8[]) AS p (expression, entrypoint, next_run)
ON CONFLICT (expression, entrypoint) DO NOTHING;

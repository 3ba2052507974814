-- schedule_claim: one wake-up of a scheduler. $1 text[] expressions, $2
-- text[] entrypoints (the schedules this scheduler serves), $3 float8[]
-- the first fire of each after $4, $4 float8 the scheduler's reading of
-- the server clock (Unix seconds), $5 float8 seconds without heartbeat
-- after which a picked schedule's runner is taken for dead, $6 bigint[]
-- ids this scheduler is running.
--
-- PgQueuer's row protocol: lock the due rows (queued, next_run reached)
-- and the stale ones (picked, heartbeat too old) with SKIP LOCKED, so
-- each fire goes to one scheduler of the fleet, and set them picked with
-- next_run at the next fire. Due-ness is judged at $4, the same instant
-- the next fires were computed from, so a claimed row's new next_run is
-- always after the fire it claims (a fire is never run twice, whatever
-- the distance between the two clocks) and fires missed while nobody ran
-- collapse into this one run. Returns one row per claimed schedule (its
-- id NULL when none) with its fire time (the old next_run) and whether it
-- was a take-over; every row also carries the server clock and the
-- oldest heartbeat of schedules picked by other runners, for the
-- scheduler's next wake-up.

WITH params AS (
    SELECT p.expression, p.entrypoint, p.next_run
    FROM unnest($1::text[], $2::text[], $3::float8[]) AS p (expression, entrypoint, next_run)
), due AS (
    SELECT s.id, s.next_run AS fire, s.status AS was, p.next_run AS upcoming
    FROM {Q:pgqueuer_schedules} s
    JOIN params p ON p.expression = s.expression AND p.entrypoint = s.entrypoint
    WHERE (s.status = 'queued' AND s.next_run <= to_timestamp($4::float8))
       OR (s.status = 'picked' AND now() - s.heartbeat > make_interval(secs => $5::float8))
    FOR UPDATE OF s SKIP LOCKED
), claimed AS (
    UPDATE {Q:pgqueuer_schedules} s
    SET status = 'picked', updated = now(), heartbeat = now(),
        next_run = to_timestamp(d.upcoming)
    FROM due d
    WHERE s.id = d.id
    RETURNING s.id, s.expression, s.entrypoint, d.fire, d.was
)
SELECT c.id, c.expression, c.entrypoint, extract(epoch FROM c.fire) AS fire,
       c.was = 'picked' AS takeover, extract(epoch FROM now()) AS server_now,
       (SELECT extract(epoch FROM min(s.heartbeat))
        FROM {Q:pgqueuer_schedules} s
        JOIN params p ON p.expression = s.expression AND p.entrypoint = s.entrypoint
        WHERE s.status = 'picked' AND s.id <> ALL ($6::bigint[])
          AND s.id NOT IN (SELECT id FROM claimed)) AS oldest_heartbeat
FROM (SELECT 1) AS one
LEFT JOIN claimed c ON true;

-- claim: pick up to $1 jobs for a set of entrypoints (docs/design.md §4, dequeue).
-- $1 int batch size, $2 text[] entrypoint, $3 float8[] retry_timer in
-- seconds (> 0), $4 int4[] concurrency_limit (0: none), $5 float8[]
-- requests_per_second (0: none), $6 uuid queue_manager_id, $7 int
-- max_takeovers.
-- Queued jobs are due when execute_after <= now(); each entrypoint takes
-- them as PgQueuer 2.3 does, by priority DESC, then the job due first, then
-- the lowest id, at most its free slots: the concurrency
-- limit minus the rows picked now (counted from the table, across every
-- worker), and the rate budget minus its `picked` log rows of the rate
-- window. claim_lock.sql runs first in the same transaction for limited
-- entrypoints, so this statement's snapshot includes every racing
-- claimer's committed picks. Stale jobs (picked, heartbeat older than the
-- retry_timer) are taken over regardless of the limit: the dead worker's
-- slot passes to the new one. A stale job already picked $7 times since
-- its latest `queued` log row is poison: it is held as `failed` with a
-- record instead of being picked again. Every change gets its log row.
-- Lines marked --@slot are used where the table has PgQueuer 1.4's `slot`
-- column (--@noslot where it has not; client.c filters them): a claim of
-- a limited entrypoint gives each job a free slot number 0..limit-1 that
-- no picked row of the entrypoint holds, so pgq and PgQueuer workers share
-- one limit through pgqueuer_picked_slot_idx; an unlimited claim writes
-- NULL (clearing a slot a queued row may have kept), a take-over keeps the
-- job's slot and a poison hold clears it. A PgQueuer worker does not take
-- claim_lock, so a race for a slot can still end in a unique violation
-- there: claim.c turns it into an empty claim.
-- Returns the picked jobs, priority DESC, id ASC, timestamps as epoch
-- seconds (float8: date_part, which formats far faster than the numeric of
-- extract, and the client reads a double anyway).
-- Written so the plan stays right on a log of millions of rows: the rate
-- count reaches the log only through its `created` index (the upper bound
-- on created is there to make that range look narrow to the planner), a
-- job's log rows only through (job_id, created), and the UPDATE finds its
-- rows by primary key from an array rather than a join it might hash.
-- Stale candidates are searched through the index of picked rows by
-- `updated`: every writer sets updated and heartbeat together when it
-- picks, and heartbeats only move heartbeat forward, so a stale job was
-- also picked before the oldest cut-off; running jobs picked recently are
-- never scanned.

WITH params AS (
    SELECT p.entrypoint, p.concurrency_limit, p.rps,
           now() - make_interval(secs => p.retry_timer) AS stale_before,
           greatest(1.0, 1.0 / nullif(p.rps, 0)) AS rate_window
    FROM unnest($2::text[], $3::float8[], $4::int4[], $5::float8[])
         AS p(entrypoint, retry_timer, concurrency_limit, rps)
),
slots AS (
    SELECT p.entrypoint, least($1::int,
        CASE WHEN p.concurrency_limit > 0 THEN greatest(0, p.concurrency_limit - (
            SELECT count(*) FROM {Q:pgqueuer} r
            WHERE r.entrypoint = p.entrypoint AND r.status = 'picked')) END,
        CASE WHEN p.rps > 0 THEN greatest(0, greatest(1, floor(p.rps * p.rate_window))::int - (
            SELECT count(*) FILTER (WHERE l.entrypoint = p.entrypoint AND l.status = 'picked')
            FROM {Q:pgqueuer_log} l
            WHERE l.created > now() - make_interval(secs => p.rate_window)
              AND l.created < now() + interval '1 day')) END) AS free
    FROM params p
),
free_slots AS ( --@slot
    SELECT p.entrypoint, n.slot, row_number() OVER (PARTITION BY p.entrypoint ORDER BY n.slot) AS k --@slot
    FROM params p --@slot
    CROSS JOIN LATERAL generate_series(0, p.concurrency_limit - 1) AS n(slot) --@slot
    WHERE p.concurrency_limit > 0 --@slot
      AND n.slot NOT IN (SELECT r.slot FROM {Q:pgqueuer} r --@slot
                         WHERE r.entrypoint = p.entrypoint AND r.status = 'picked' AND r.slot IS NOT NULL) --@slot
), --@slot
queued AS (
    SELECT c.id, c.priority, s.entrypoint, --@slot
           row_number() OVER (PARTITION BY s.entrypoint ORDER BY c.priority DESC, c.execute_after, c.id) AS k --@slot
    SELECT c.id, c.priority --@noslot
    FROM slots s
    CROSS JOIN LATERAL (
        SELECT q.id, q.priority, q.execute_after
        FROM {Q:pgqueuer} q
        WHERE q.entrypoint = s.entrypoint AND q.status = 'queued'
          AND q.execute_after <= now()
        ORDER BY q.priority DESC, q.execute_after, q.id
        LIMIT s.free
        FOR UPDATE SKIP LOCKED
    ) c
),
stale AS (
    SELECT q.id, q.priority, q.queue_manager_id AS old_qm
    FROM {Q:pgqueuer} q
    JOIN params p ON p.entrypoint = q.entrypoint
    WHERE q.status = 'picked' AND q.heartbeat < p.stale_before
      AND q.updated < (SELECT max(stale_before) FROM params)
    ORDER BY q.heartbeat, q.id
    LIMIT $1::int
    FOR UPDATE OF q SKIP LOCKED
),
judged AS (
    SELECT s.id, s.priority, s.old_qm, (
        SELECT count(*) FROM (
            SELECT l.id, l.status,
                   max(l.id) FILTER (WHERE l.status = 'queued') OVER () AS last_queued
            FROM {Q:pgqueuer_log} l
            WHERE l.job_id = s.id) h
        WHERE h.status = 'picked' AND h.id > coalesce(h.last_queued, 0)
    ) AS picks
    FROM stale s
),
chosen AS (
    SELECT id, priority, picks >= $7::int AS poison, old_qm, picks, 0 AS rank FROM judged --@noslot
    SELECT id, priority, picks >= $7::int AS poison, old_qm, picks, 0 AS rank, true AS keep_slot, NULL::bigint AS slot FROM judged --@slot
    UNION ALL
    SELECT id, priority, false, NULL::uuid, 0, 1 FROM queued --@noslot
    SELECT q.id, q.priority, false, NULL::uuid, 0, 1, false, f.slot --@slot
    FROM queued q LEFT JOIN free_slots f ON f.entrypoint = q.entrypoint AND f.k = q.k --@slot
    ORDER BY rank, priority DESC, id
    LIMIT $1::int
),
updated AS (
    UPDATE {Q:pgqueuer} q
    SET status = CASE WHEN c.poison THEN 'failed'::{Q:pgqueuer_status} ELSE 'picked'::{Q:pgqueuer_status} END,
        queue_manager_id = CASE WHEN c.poison THEN NULL ELSE $6::uuid END,
        heartbeat = CASE WHEN c.poison THEN q.heartbeat ELSE now() END,
        slot = CASE WHEN c.poison THEN NULL WHEN c.keep_slot THEN q.slot ELSE c.slot END, --@slot
        updated = now()
    FROM chosen c
    WHERE q.id = c.id AND q.id = ANY (ARRAY(SELECT id FROM chosen))
    RETURNING q.*, c.poison, c.old_qm, c.picks
),
logged AS (
    INSERT INTO {Q:pgqueuer_log} (job_id, status, priority, entrypoint, traceback)
    SELECT u.id, u.status, u.priority, u.entrypoint, CASE WHEN u.poison THEN jsonb_build_object(
        'job_id', u.id,
        'timestamp', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        'exception_type', 'WorkerDied',
        'exception_message', format('the job''s workers died %s times', u.picks),
        'traceback', format('job %s was picked %s times since it was last queued and each time its heartbeat stopped; held as failed instead of being picked again (max_takeovers %s)', u.id, u.picks, $7::int),
        'additional_context', jsonb_build_object(
            'entrypoint', u.entrypoint, 'queue_manager_id', u.old_qm))
    END
    FROM updated u
)
SELECT u.id, u.priority, u.attempts, 'picked'::text AS status, u.entrypoint,
       u.payload, u.headers::text AS headers, u.dedupe_key,
       $6::uuid::text AS queue_manager_id,
       date_part('epoch', u.created) AS created,
       date_part('epoch', u.updated) AS updated,
       date_part('epoch', u.heartbeat) AS heartbeat,
       date_part('epoch', u.execute_after) AS execute_after
FROM updated u
WHERE NOT u.poison
ORDER BY u.priority DESC, u.id ASC;

-- worker_next: when should an idle worker look again? $1 text[] entrypoint,
-- $2 float8[] retry_timer in seconds (same order), $3 bigint[] ids of the
-- jobs this worker holds (left out: they are heartbeated). Asked only after
-- a claim came back empty, so the loop can sleep until the earliest queued
-- job is due or the earliest picked job of another worker may be taken
-- over (it died), instead of polling. Returns: due_in (seconds, <= 0 when
-- due now; NULL when nothing is queued), stale_in (NULL when no other
-- worker holds a job), any_picked (for drain mode).

SELECT extract(epoch FROM (
           SELECT min(n.execute_after)
           FROM unnest($1::text[]) AS e(entrypoint)
           CROSS JOIN LATERAL (
               SELECT q.execute_after FROM {Q:pgqueuer} q
               WHERE q.entrypoint = e.entrypoint AND q.status = 'queued'
               ORDER BY q.execute_after LIMIT 1) n) - now()) AS due_in,
       extract(epoch FROM (
           SELECT min(q.heartbeat + make_interval(secs => p.retry_timer))
           FROM {Q:pgqueuer} q
           JOIN unnest($1::text[], $2::float8[]) AS p(entrypoint, retry_timer)
             ON p.entrypoint = q.entrypoint
           WHERE q.status = 'picked' AND q.id <> ALL ($3::bigint[])) - now()) AS stale_in,
       EXISTS (SELECT 1 FROM {Q:pgqueuer} q
               WHERE q.status = 'picked' AND q.entrypoint = ANY ($1::text[])) AS any_picked;

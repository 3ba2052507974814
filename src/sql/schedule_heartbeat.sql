-- schedule_heartbeat: $1 bigint[] ids of running schedules. PgQueuer's
-- heartbeat, sent every second while they run.

UPDATE {Q:pgqueuer_schedules} SET heartbeat = now(), updated = now()
WHERE id = ANY ($1::bigint[]);
